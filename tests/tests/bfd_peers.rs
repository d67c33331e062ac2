//! The BFD peers of the test kit (`kad_tests::bfd_peers`) against each other, without kad:
//! keepalived 2.2.7 ⇄ FRR 8.4 bfdd come Up over IPv4 and IPv6 single hop, see each other
//! fall silent (SIGSTOP) within the detect time, recover, and handle AdminDown and a
//! parameter change (poll/final); FRR ⇄ FRR multihop comes Up (keepalived 2.2.7 has no
//! multihop); keepalived with VRRP and `track_bfd` gives its VIP up when the FRR upstream
//! falls silent. These pin down that the peers work here, so that kad's BFD tests only add kad.

use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use kad_tests::{
    bfd_peers::{BfdDaemon, BfdInstance, BfdState, FrrBfd, FrrPeer},
    lab::Lab,
    skip_unless,
};

/// Slack over a detect time for a loaded 2-core machine (keepalived's log is read every ms).
const SLACK: Duration = Duration::from_millis(150);

/// Slack over a detect time when FRR detects: its state is sampled through `vtysh`, a
/// process run per sample that takes tens of ms on a loaded machine.
const FRR_SLACK: Duration = Duration::from_millis(400);

/// Time for a session to come up (keepalived and bfdd start at 1 s intervals until Up).
const UP: Duration = Duration::from_secs(15);

/// The daemons' nice: above the other tests' processes, so that a busy machine does not make
/// a 10 ms × 3 session flap (`cargo xtask bench bfd` counts how often it does at equal nice).
const NICE: i32 = -10;

/// Waits (up to 20 s) until `check` says every session is Up and its count of Downs stays the
/// same for 300 ms: the sessions are steady, so the Downs that follow are the test's.
fn steady(what: &str, check: impl Fn() -> Result<(bool, u64)>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let (up, downs) = check()?;
        if up {
            std::thread::sleep(Duration::from_millis(300));
            if check()? == (true, downs) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    bail!("{what}: not steadily Up within 20 s")
}

/// Whether keepalived's `instances` and FRR's sessions to `peers` are all Up, and their
/// Downs so far.
fn both_up(
    lab: &Lab,
    keepalived: &BfdDaemon,
    instances: &[&str],
    frr: &FrrBfd,
    peers: &[&str],
) -> Result<(bool, u64)> {
    let mut up = true;
    let mut downs = 0;
    for name in instances {
        up &= keepalived.state(lab, name)? == Some(BfdState::Up);
        downs += keepalived.downs(lab, name)? as u64;
    }
    for peer in peers {
        up &= frr.peer(peer)?.state() == Some(BfdState::Up);
        downs += frr.downs(peer)?;
    }
    Ok((up, downs))
}

#[test]
fn keepalived_and_frr_single_hop_ipv4_ipv6() -> Result<()> {
    skip_unless!(Root);
    let mut lab = Lab::new("bfk")?;
    lab.nice = Some(NICE);
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    let v4 = BfdInstance::new("up4", "10.77.0.2", "10.77.0.1");
    let v6 = BfdInstance::new("up6", "fd77::2", "fd77::1");
    let keepalived = lab.start_keepalived_bfd("r1", &(v4.conf() + &v6.conf()))?;
    let frr = lab.start_frr_bfd("r2")?;
    let frr4 = FrrPeer::single_hop("10.77.0.1", "10.77.0.2", "eth0");
    let frr6 = FrrPeer::single_hop("fd77::1", "fd77::2", "eth0");
    frr.add_peer(&frr4)?;
    frr.add_peer(&frr6)?;

    let configured = Instant::now();
    for (instance, peer) in [(&v4, &frr4.peer), (&v6, &frr6.peer)] {
        keepalived.wait_state(&lab, &instance.name, BfdState::Up, UP)?;
        frr.wait_state(&lab, peer, BfdState::Up, UP)?;
        eprintln!(
            "{}: Up on both sides {:?} after FRR's configuration",
            instance.name,
            configured.elapsed()
        );
    }
    // Both sides settled on 10 ms × 3 (the poll sequence after Up is over).
    lab.wait_for(
        "FRR sees keepalived's 10 ms",
        Duration::from_secs(5),
        || {
            let status = frr.peer("10.77.0.1")?;
            Ok(status.remote_transmit_interval == 10 && status.remote_detect_multiplier == 3)
        },
    )?;

    let all = || {
        both_up(
            &lab,
            &keepalived,
            &["up4", "up6"],
            &frr,
            &["10.77.0.1", "fd77::1"],
        )
    };
    steady("keepalived ⇄ FRR", all)?;

    // bfdd falls silent: keepalived declares both sessions Down within the detect time.
    // (Counting Downs, not looking for the Down state: a busy machine may show a session
    // already past Down when the log or vtysh is next read.)
    let before = [
        keepalived.downs(&lab, "up4")?,
        keepalived.downs(&lab, "up6")?,
    ];
    let paused = Instant::now();
    frr.pause()?;
    for (instance, before) in [(&v4, before[0]), (&v6, before[1])] {
        keepalived.wait_downs(&lab, &instance.name, before + 1, Duration::from_secs(2))?;
        let took = paused.elapsed();
        eprintln!(
            "{}: keepalived saw FRR's bfdd stop after {took:?} (detect time {:?}; keepalived's own timer: {:?})",
            instance.name,
            instance.detect_time(),
            keepalived.expiries(&lab, &instance.name)?.last()
        );
        ensure!(
            took <= instance.detect_time() + SLACK,
            "{}: Down after {took:?}, detect time {:?}",
            instance.name,
            instance.detect_time()
        );
        let events = keepalived.events(&lab, &instance.name)?;
        let down = events
            .iter()
            .filter(|e| e.state == BfdState::Down)
            .nth(before);
        ensure!(
            down.is_some_and(|e| e.detect_time_expired()),
            "{}: {events:?}",
            instance.name
        );
    }
    frr.resume()?;
    steady("keepalived ⇄ FRR after SIGCONT", all)?;

    // keepalived's BFD process falls silent: bfdd declares Down within its detect time.
    let before = frr.downs("10.77.0.1")?;
    keepalived.pause(&lab)?;
    let took = frr.wait_downs(&lab, "10.77.0.1", before + 1, Duration::from_secs(2))?;
    eprintln!("up4: FRR saw keepalived's BFD stop after {took:?} (detect time 30 ms)");
    ensure!(
        took <= v4.detect_time() + FRR_SLACK,
        "FRR Down after {took:?}"
    );
    ensure!(
        frr.peer("10.77.0.1")?.diagnostic == "control detection time expired",
        "{:?}",
        frr.peer("10.77.0.1")?
    );
    keepalived.resume(&lab)?;
    steady("keepalived ⇄ FRR after keepalived's SIGCONT", all)?;

    // A parameter change on an Up session (FRR runs a poll sequence): both stay Up and
    // keepalived adopts FRR's new transmit interval.
    let downs = keepalived.downs(&lab, "up4")?;
    frr.set_timers(&frr4, 10, 20, 3)?;
    lab.wait_for(
        "keepalived logs FRR's 20 ms",
        Duration::from_secs(5),
        || {
            Ok(lab
                .daemon_log(keepalived.daemon())?
                .lines()
                .any(|line| line.contains("remote    20000")))
        },
    )?;
    ensure!(frr.peer("10.77.0.1")?.state() == Some(BfdState::Up));
    ensure!(
        keepalived.downs(&lab, "up4")? == downs,
        "a poll sequence took the session down"
    );
    frr.set_timers(&frr4, 10, 10, 3)?;

    // AdminDown from FRR: keepalived goes Down with "Neighbor Signaled Session Down", and
    // back Up after `no shutdown`.
    frr.shutdown(&frr4, true)?;
    keepalived.wait_state(&lab, "up4", BfdState::Down, Duration::from_secs(2))?;
    let events = keepalived.events(&lab, "up4")?;
    ensure!(
        events
            .last()
            .is_some_and(|e| e.local_diagnostic() == Some("Neighbor Signaled Session Down")),
        "{events:?}"
    );
    ensure!(frr.peer("10.77.0.1")?.state() == Some(BfdState::AdminDown));
    frr.shutdown(&frr4, false)?;
    steady("keepalived ⇄ FRR after no shutdown", all)?;

    // keepalived 2.2.7 stopping sends no AdminDown: FRR times out.
    let before = frr.downs("10.77.0.1")?;
    keepalived.stop(&mut lab)?;
    frr.wait_downs(&lab, "10.77.0.1", before + 1, Duration::from_secs(2))?;
    let status = frr.peer("10.77.0.1")?;
    eprintln!("keepalived stopped: FRR diagnostic {:?}", status.diagnostic);
    Ok(())
}

/// keepalived 2.2.7 has no multihop (it listens on port 3784 only), so FRR ⇄ FRR: the
/// kit's multihop configuration works here (kad's multihop tests pair kad with FRR).
#[test]
fn frr_multihop_up_and_stop_detected() -> Result<()> {
    skip_unless!(Root);
    let mut lab = Lab::new("bfm")?;
    lab.nice = Some(NICE);
    lab.add_host("r2", 2)?;
    lab.add_host("r3", 3)?;
    let a = lab.start_frr_bfd("r2")?;
    let b = lab.start_frr_bfd("r3")?;
    for (frr, peer, local) in [
        (&a, "10.77.0.3", "10.77.0.2"),
        (&b, "10.77.0.2", "10.77.0.3"),
    ] {
        frr.add_peer(&FrrPeer::multihop(peer, local))?;
    }
    for (frr, peer, local) in [(&a, "fd77::3", "fd77::2"), (&b, "fd77::2", "fd77::3")] {
        frr.add_peer(&FrrPeer::multihop(peer, local))?;
    }
    for peer in ["10.77.0.3", "fd77::3"] {
        let took = a.wait_state(&lab, peer, BfdState::Up, UP)?;
        eprintln!("multihop to {peer}: Up after {took:?}");
        ensure!(a.peer(peer)?.multihop);
    }
    steady("FRR ⇄ FRR multihop", || {
        let mut up = true;
        let mut downs = 0;
        for (frr, peer) in [(&a, "10.77.0.3"), (&a, "fd77::3"), (&b, "10.77.0.2")] {
            up &= frr.peer(peer)?.state() == Some(BfdState::Up);
            downs += frr.downs(peer)?;
        }
        Ok((up, downs))
    })?;
    let before = a.downs("10.77.0.3")?;
    b.pause()?;
    let took = a.wait_downs(&lab, "10.77.0.3", before + 1, Duration::from_secs(2))?;
    eprintln!("multihop: FRR saw its peer stop after {took:?} (detect time 30 ms)");
    ensure!(
        took <= Duration::from_millis(30) + FRR_SLACK,
        "Down after {took:?}"
    );
    b.resume()?;
    a.wait_state(&lab, "10.77.0.3", BfdState::Up, UP)?;
    Ok(())
}

/// [`Lab::start_keepalived_bfd`] runs VRRP with `track_bfd` too: a Master (alone, priority
/// 200) tracking its upstream FRR's session (weight 0) gives the VIP up (FAULT) when the
/// upstream falls silent, and takes it back when it returns — the scenario kad's BFD
/// tracking is compared with.
#[test]
fn keepalived_track_bfd_to_frr_upstream() -> Result<()> {
    skip_unless!(Root);
    let mut lab = Lab::new("bft")?;
    lab.nice = Some(NICE);
    lab.add_host("r1", 1)?;
    lab.add_host("up", 3)?;
    let upstream = BfdInstance::new("upstream", "10.77.0.3", "10.77.0.1");
    let config =
        upstream.conf() + &kad_tests::conf::lab_instance(200, "  track_bfd {\n    upstream\n  }\n");
    let keepalived = lab.start_keepalived_bfd("r1", &config)?;
    let frr = lab.start_frr_bfd("up")?;
    frr.add_peer(&FrrPeer::single_hop("10.77.0.1", "10.77.0.3", "eth0"))?;
    keepalived.wait_state(&lab, "upstream", BfdState::Up, UP)?;
    lab.wait_for("keepalived takes the VIP", Duration::from_secs(10), || {
        lab.holds("r1", kad_tests::lab::VIP)
    })?;
    steady("keepalived ⇄ FRR upstream", || {
        Ok((
            keepalived.state(&lab, "upstream")? == Some(BfdState::Up),
            keepalived.downs(&lab, "upstream")? as u64 + frr.downs("10.77.0.1")?,
        ))
    })?;

    let paused = Instant::now();
    frr.pause()?;
    lab.wait_for(
        "keepalived gives the VIP up (FAULT)",
        Duration::from_secs(2),
        || Ok(!lab.holds("r1", kad_tests::lab::VIP)?),
    )?;
    eprintln!(
        "track_bfd: VIP removed {:?} after the upstream's bfdd stopped (detect time 30 ms)",
        paused.elapsed()
    );
    ensure!(
        lab.daemon_log(keepalived.daemon())?
            .contains("(LAB) Entering FAULT STATE"),
        "no FAULT in keepalived's log"
    );
    frr.resume()?;
    lab.wait_for("keepalived takes the VIP back", UP, || {
        lab.holds("r1", kad_tests::lab::VIP)
    })?;
    Ok(())
}
