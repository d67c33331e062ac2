//! keepalived `no_accept` in kad's XDP program, with real daemons: traffic to the VIPs is
//! dropped only by the Master (which holds them), on the instance's interface, as keepalived
//! sets its firewall drop rules on becoming Master and removes them on leaving it. A Backup
//! leaves traffic to the VIPs to its kernel; a reload keeps a Master's filters; a Backup
//! that becomes Master starts filtering.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::{Context as _, Result};
use kad::net::{garp::FrameSender, interface::ifindex};
use kad_tests::{
    conf::vrrp_instance,
    lab::{Host, Lab, VIP},
    xdp_frames::udp_frame,
};

/// Frames sent to each router.
const FRAMES: u64 = 200;

/// Sends `count` copies of `frame` from `host`'s interface.
fn send(host: &Host, frame: Vec<u8>, count: u64) -> Result<()> {
    host.ns.run(move || {
        let sender = FrameSender::open(ifindex(Host::IFACE)?).context("packet socket")?;
        for _ in 0..count {
            sender.send(&frame).context("sending a frame")?;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    })
}

/// The `vip_no_accept` counter kad logged at stop.
fn vip_drops(lab: &mut Lab, daemon: usize) -> Result<u64> {
    lab.daemon(daemon)?.signal(libc::SIGTERM)?;
    lab.daemon(daemon)?.wait_exit(Duration::from_secs(5))?;
    let log = lab.daemon(daemon)?.log();
    let counters = kad_tests::load::daemon_log::xdp_counters(&log)
        .with_context(|| format!("no XDP counters\n{log}"))?;
    counters
        .get("vip_no_accept")
        .copied()
        .with_context(|| format!("no vip_no_accept counter: {counters:?}"))
}

#[test]
fn only_the_master_drops_traffic_to_no_accept_vips() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("na", &[("r1", 1), ("r2", 2), ("g", 66)])?;
    let r1 = lab.start_kad("r1", &vrrp_instance("NA", 51, 200, VIP, "  no_accept\n"))?;
    let r2 = lab.start_kad("r2", &vrrp_instance("NA", 51, 100, VIP, "  no_accept\n"))?;
    lab.wait_for("r1 becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(!lab.holds("r2", VIP)?, "r2 is backup");

    let to_vip = udp_frame(Ipv4Addr::new(10, 77, 0, 66), Ipv4Addr::new(10, 77, 0, 100))?;
    let frame_to = |lab: &Lab, host: &str| -> Result<Vec<u8>> {
        let mut frame = to_vip.clone();
        frame[..6].copy_from_slice(&lab.host(host)?.mac()?);
        Ok(frame)
    };
    // r1 Master, r2 Backup.
    for host in ["r1", "r2"] {
        send(lab.host("g")?, frame_to(&lab, host)?, FRAMES)?;
    }
    // A reload (SIGHUP, same configuration) keeps the Master's filters.
    lab.daemon(r1)?.signal(libc::SIGHUP)?;
    std::thread::sleep(Duration::from_millis(500));
    send(lab.host("g")?, frame_to(&lab, "r1")?, FRAMES)?;
    std::thread::sleep(Duration::from_millis(200));
    let master = vip_drops(&mut lab, r1)?;
    assert!(
        master >= 2 * FRAMES,
        "the Master drops traffic to its no_accept VIP, before and after a reload: {master} \
         of {}\n{}",
        2 * FRAMES,
        lab.logs()
    );
    // r1 has stopped: r2 becomes Master and starts filtering.
    lab.wait_for("r2 becomes master", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    std::thread::sleep(Duration::from_millis(100));
    send(lab.host("g")?, frame_to(&lab, "r2")?, FRAMES)?;
    std::thread::sleep(Duration::from_millis(200));
    let backup_then_master = vip_drops(&mut lab, r2)?;
    assert!(
        (FRAMES..2 * FRAMES).contains(&backup_then_master),
        "r2 dropped nothing while Backup and every frame once Master: {backup_then_master} \
         (expected {FRAMES})\n{}",
        lab.logs()
    );
    Ok(())
}
