//! Issue 6: with XDP, a Backup's steady-state adverts stay in the kernel. keepalived is
//! Master at advert_int 0.01 s (100 adverts/s), kad is Backup for 10 s: in XDP mode kad reads
//! no advert from its socket and takes at most a handful of ring-buffer events (the first
//! advert of a new sender), while `--no-xdp` reads ~1,000 datagrams. Failover still works:
//! keepalived killed with SIGKILL (no priority 0) → kad takes over on its master-down timer,
//! which in XDP mode reads the last-seen time from `KAD_VRRP_SEEN`.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::{router_id, vrrp_instance},
    lab::{Lab, ROUTERS, VIP},
    load::daemon_log,
    privilege::{Need, require},
};

const STEADY: Duration = Duration::from_secs(10);

fn config(router: &str, priority: u8) -> String {
    router_id(router)
        + &vrrp_instance("STEADY", 61, priority, VIP, "")
            .replace("advert_int 0.1", "advert_int 0.01")
}

/// The `receive statistics` fields kad logs when it stops.
fn receive_statistics(log: &str) -> Result<BTreeMap<String, u64>> {
    daemon_log::receive_statistics(log)
        .with_context(|| format!("kad logged no receive statistics:\n{log}"))
}

/// Runs keepalived as Master and kad as Backup for [`STEADY`], kills keepalived, checks kad
/// takes over, stops kad and returns its receive statistics.
fn steady_backup(test: &str, no_xdp: bool) -> Result<Option<BTreeMap<String, u64>>> {
    if !require(test, Need::Root) {
        return Ok(None);
    }
    let mut lab = Lab::with_hosts("ss", ROUTERS)?;
    if no_xdp {
        lab.kad_args.push("--no-xdp".into());
    }
    let keepalived = lab.start_keepalived("r2", &config("r2", 200))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    let kad = lab.start_kad("r1", &config("r1", 100))?;
    std::thread::sleep(STEADY);
    assert!(
        !lab.holds("r1", VIP)?,
        "kad must stay Backup under a live Master\n{}",
        lab.logs()
    );
    lab.daemon(keepalived)?.signal(libc::SIGKILL)?;
    lab.wait_for(
        "kad takes over from a silent master",
        Duration::from_secs(2),
        || lab.holds("r1", VIP),
    )?;
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?);
    let stats = receive_statistics(&lab.daemon(kad)?.log())?;
    eprintln!("{test}: {stats:?}");
    Ok(Some(stats))
}

fn field(stats: &BTreeMap<String, u64>, name: &str) -> u64 {
    stats.get(name).copied().unwrap_or(u64::MAX)
}

#[test]
fn xdp_backup_is_not_woken_by_steady_adverts() -> Result<()> {
    let Some(stats) = steady_backup(kad_tests::test_name!(), false)? else {
        return Ok(());
    };
    assert_eq!(
        field(&stats, "socket_packets"),
        0,
        "no advert may reach the socket in XDP mode: {stats:?}"
    );
    // The first advert (a new sender) must wake kad; a steady master must not, again.
    let events = field(&stats, "xdp_events");
    assert!((1..=5).contains(&events), "ring-buffer events: {stats:?}");
    // The master-down timer read KAD_VRRP_SEEN instead (≈ every 3 advert intervals).
    assert!(
        field(&stats, "seen_refreshes") >= 100,
        "master-down timer never consulted the seen map: {stats:?}"
    );
    Ok(())
}

#[test]
fn raw_socket_backup_is_woken_by_every_advert() -> Result<()> {
    let Some(stats) = steady_backup(kad_tests::test_name!(), true)? else {
        return Ok(());
    };
    let packets = field(&stats, "socket_packets");
    assert!(
        (800..=1_500).contains(&packets),
        "≈ 1,000 adverts in 10 s at 0.01 s: {stats:?}"
    );
    assert_eq!(field(&stats, "xdp_events"), 0, "{stats:?}");
    Ok(())
}
