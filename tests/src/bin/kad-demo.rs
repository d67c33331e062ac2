//! `cargo xtask run` with no arguments: two kad routers and a client on one bridged segment
//! (network namespaces), election, failures, and the client's outage in milliseconds; last,
//! a BFD-driven failover (kad extension `bfd_master`: r2 follows the BFD session to r1).

use std::time::Duration;

use anyhow::{Result, bail};
use kad_tests::{
    kad_bin,
    lab::{Lab, ROUTERS_AND_CLIENT},
    privilege::is_root,
    probe::{Prober, unix_now},
};

const VIP: &str = "10.77.0.100";

/// A router's configuration; with `bfd`, a BFD session to the other router at 10 ms × 3,
/// which r2 (the backup) names with `bfd_master`. r1 runs none until step 4, so r2's
/// session is not up before (and steps 1–3 are plain VRRP).
fn config(router: &str, priority: u8, bfd: bool) -> String {
    let (me, peer) = if router == "r1" {
        ("10.77.0.1", "10.77.0.2")
    } else {
        ("10.77.0.2", "10.77.0.1")
    };
    let session = if bfd {
        format!(
            "bfd_instance peer {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx 10\n  min_tx 10\n  multiplier 3\n}}\n\n"
        )
    } else {
        String::new()
    };
    let follow = if bfd && router == "r2" {
        "  bfd_master peer\n"
    } else {
        ""
    };
    format!(
        "! kad demo: router {router}\n\
         global_defs {{\n  router_id {router}\n}}\n\n{session}\
         vrrp_instance DEMO {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n{follow}\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

fn holder(lab: &Lab) -> Result<&'static str> {
    for name in ["r1", "r2"] {
        if lab.host(name)?.has_address(VIP)? {
            return Ok(if name == "r1" { "r1" } else { "r2" });
        }
    }
    Ok("nobody")
}

fn main() -> Result<()> {
    if !is_root() {
        bail!("the demo builds network namespaces: run it as root");
    }
    let kad = kad_bin()?;
    if !kad.exists() {
        bail!(
            "{} not found: build it first (cargo xtask run does)",
            kad.display()
        );
    }
    println!(
        "kad demo: routers r1 (priority 200) and r2 (priority 100) and a client on one bridge,"
    );
    println!(
        "          VRRPv3, advert_int 0.1 s, VIP {VIP}; each router runs `kad -f` in its own namespace\n"
    );
    let mut lab = Lab::with_hosts("demo", ROUTERS_AND_CLIENT)?;
    let start = |lab: &mut Lab, router: &str, priority: u8, bfd: bool| -> Result<usize> {
        let conf = lab.dir().join(format!("{router}.conf"));
        std::fs::write(&conf, config(router, priority, bfd))?;
        let conf = conf.to_string_lossy().into_owned();
        lab.start(router, &kad, &["-f", &conf])
    };
    let r1 = start(&mut lab, "r1", 200, false)?;
    let r2 = start(&mut lab, "r2", 100, true)?;
    let elected = lab.wait_for("r1 becomes master", Duration::from_secs(10), || {
        lab.host("r1")?.has_address(VIP)
    })?;
    println!(
        "election: r1 holds the VIP {} ms after start (r2 holds it: {})",
        elected.as_millis(),
        lab.host("r2")?.has_address(VIP)?
    );
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let prober = Prober::start(lab.host("c")?, VIP)?;
    std::thread::sleep(Duration::from_millis(500));

    let at = unix_now();
    lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?;
    let outage = prober.outage_since(at)?;
    println!(
        "1) r1's link goes down      -> {} takes over; client outage {:>4} ms   (keepalived 2.2.7: 304 ms; RFC floor 3x0.1 s + skew = 361 ms)",
        holder(&lab)?,
        outage.as_millis()
    );

    std::thread::sleep(Duration::from_millis(500));
    let at = unix_now();
    lab.host("r1")?.ns.ip(&["link", "set", "eth0", "up"])?;
    lab.wait_for("r2 gives the VIP back", Duration::from_secs(5), || {
        Ok(!lab.host("r2")?.has_address(VIP)?)
    })?;
    let outage = prober.outage_since(at)?;
    println!(
        "2) r1's link comes back     -> r1 preempts (priority 200); client outage {:>4} ms",
        outage.as_millis()
    );

    std::thread::sleep(Duration::from_millis(500));
    let at = unix_now();
    lab.daemon(r1)?.signal(libc::SIGTERM)?;
    let outage = prober.outage_since(at)?;
    println!(
        "3) kad on r1 gets SIGTERM   -> priority-0 advert, {} takes over; client outage {:>4} ms   (keepalived 2.2.7: 72 ms, the backup's skew; kad keeps the VIP until r2 speaks)",
        holder(&lab)?,
        outage.as_millis()
    );

    // 4) kad on r1 again, now with a BFD session to r2 at 10 ms x 3, which r2 follows.
    lab.daemon(r1)?.wait_exit(Duration::from_secs(5))?;
    start(&mut lab, "r1", 200, true)?;
    lab.wait_for("r1 preempts with BFD up", Duration::from_secs(10), || {
        Ok(lab.host("r1")?.has_address(VIP)?
            && lab.daemon_log(r2)?.contains("(peer) Entering Up state"))
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let at = unix_now();
    lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?;
    let outage = prober.outage_since(at)?;
    println!(
        "4) with BFD 10 ms x 3 (r2: bfd_master), r1's link goes down -> {} takes over; client outage {:>4} ms   (BFD detect time 30 ms; without BFD see 1)",
        holder(&lab)?,
        outage.as_millis()
    );
    drop(prober);
    drop(lab);
    println!("\ncleanup: namespaces and processes removed");
    Ok(())
}
