//! keepalived.conf `ha_suspend` (virtual_server): "If VS IP address is not set, suspend
//! healthchecker's activity". keepalived 2.2.7's checker process follows the host's
//! addresses by netlink: a checker of such a virtual server does not probe while the
//! virtual server's address is on no local interface, starts when the address appears (as
//! when VRRP adds it as MASTER) and stops when it goes; the real server keeps the state it
//! had meanwhile.
//!
//! kad runs here as `kad -C` in a namespace of this kernel, which has no IPVS: the checkers
//! run all the same (`lvs::without_ipvs`). The real server is a TCP listener of the test
//! that counts the TCP_CHECK's connections. keepalived cannot be compared here: its checker
//! process needs IPVS, which this kernel lacks.

use std::{
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Result, ensure};
use kad_tests::{lab::Lab, ops};

const VIP: &str = "10.77.0.100";

#[test]
fn ha_suspend_checkers_probe_only_while_the_virtual_server_address_is_local() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("hs", &[("lb", 1), ("rs", 2)])?;

    // The real server: counts the connections it accepts.
    let listener = lab
        .host("rs")?
        .ns
        .run(|| Ok(TcpListener::bind("10.77.0.2:8081")?))?;
    listener.set_nonblocking(true)?;
    let running = Arc::new(AtomicBool::new(true));
    let connections = Arc::new(AtomicUsize::new(0));
    let server = {
        let (running, connections) = (Arc::clone(&running), Arc::clone(&connections));
        std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        connections.fetch_add(1, Ordering::SeqCst);
                        drop(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };
    let seen = || connections.load(Ordering::SeqCst);

    // warmup 0: the first probe comes at once (when the checker is active).
    let config = format!(
        "virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
         \x20 ha_suspend\n\
         \x20 real_server 10.77.0.2 8081 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      warmup 0\n    }}\n  }}\n}}\n"
    );
    let outcome = (|| -> Result<()> {
        let (_kad, _socket) = ops::start_kad(&mut lab, "lb", &config, &[], &["-C"])?;
        let lb = lab.host("lb")?;

        // The address is on no interface: no probe at all.
        std::thread::sleep(Duration::from_secs(3));
        ensure!(
            seen() == 0,
            "{} probes while {VIP} was absent\n{}",
            seen(),
            lab.logs()
        );

        // The address appears: the checker starts (within a delay_loop).
        lb.ns
            .ip(&["addr", "add", &format!("{VIP}/32"), "dev", "eth0"])?;
        lab.wait_for(
            "probes once the address is added",
            Duration::from_secs(5),
            || Ok(seen() >= 2),
        )?;

        // The address goes: the checker stops (a probe in flight may still land).
        lb.ns
            .ip(&["addr", "del", &format!("{VIP}/32"), "dev", "eth0"])?;
        std::thread::sleep(Duration::from_millis(500));
        let after_delete = seen();
        std::thread::sleep(Duration::from_secs(3));
        ensure!(
            seen() == after_delete,
            "{} probes after {VIP} was removed\n{}",
            seen() - after_delete,
            lab.logs()
        );

        // And it starts again when the address comes back.
        lb.ns
            .ip(&["addr", "add", &format!("{VIP}/32"), "dev", "eth0"])?;
        lab.wait_for(
            "probes once the address is back",
            Duration::from_secs(5),
            || Ok(seen() > after_delete),
        )?;
        Ok(())
    })();
    running.store(false, Ordering::SeqCst);
    let _ = server.join();
    outcome
}
