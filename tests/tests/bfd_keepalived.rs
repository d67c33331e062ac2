//! BFD (keepalived.conf `bfd_instance`, `track_bfd`) against keepalived 2.2.7's own BFD on a
//! real segment: kad on r1, keepalived's BFD process on the gateway `gw` (10.77.0.3), and in
//! the VRRP scenarios keepalived as the backup router r2. The gateway's BFD is silenced with
//! SIGSTOP (the peer vanishing without a word) and resumed with SIGCONT.

use std::time::{Duration, Instant};

use anyhow::Result;
use kad_tests::{
    bfd_peers::{BfdDaemon, BfdState},
    conf::lab_instance,
    lab::{Lab, VIP},
    ops,
};

/// The hosts: r1 (kad), r2 (keepalived VRRP), gw (keepalived BFD).
const HOSTS: &[(&str, u8)] = &[("r1", 1), ("r2", 2), ("gw", 3)];

const LIMIT: Duration = Duration::from_secs(10);

/// kad's side of the session to the gateway: 50 ms × 3 (timings at 10 ms belong in the
/// benchmarks; lab tests on a loaded 2-core CI machine assert behaviour, not timing).
const KAD_BFD: &str = "bfd_instance gw {\n  neighbor_ip 10.77.0.3\n  source_ip 10.77.0.1\n  min_rx 50\n  min_tx 50\n  multiplier 3\n}\n";

/// keepalived's side, on the gateway.
const GW_BFD: &str = "global_defs {\n  router_id gw\n}\nbfd_instance r1 {\n  neighbor_ip 10.77.0.1\n  source_ip 10.77.0.3\n  min_rx 50\n  min_tx 50\n  multiplier 3\n}\n";

fn log_count(lab: &Lab, daemon: usize, needle: &str) -> Result<usize> {
    Ok(lab.daemon_log(daemon)?.matches(needle).count())
}

#[test]
fn a_session_with_keepalived_comes_up_sees_a_silent_peer_and_says_admin_down_at_stop() -> Result<()>
{
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bk", HOSTS)?;
    let gw = lab.start_keepalived_bfd("gw", GW_BFD)?;
    let kad = lab.start_kad("r1", &format!("{KAD_BFD}{}", lab_instance(100, "")))?;
    lab.wait_for("kad's session is up", LIMIT, || {
        Ok(log_count(&lab, kad, "(gw) Entering Up state")? >= 1)
    })?;
    lab.wait_for("keepalived's session is up", LIMIT, || {
        Ok(gw.state(&lab, "r1")? == Some(BfdState::Up))
    })?;
    // Up at 1 s (idle_tx) first; keepalived's poll sequence then brings both sides to the
    // configured 50 ms: kad status shows the negotiated detection time, 3 × 50 ms.
    let socket = lab.dir().join("kad-r1.sock");
    let validator = ops::schema()?;
    let mut status = serde_json::Value::Null;
    lab.wait_for("the 50 ms intervals are negotiated", LIMIT, || {
        status = ops::status_json(&socket)?;
        let session = &status["bfd_sessions"][0];
        Ok(status["pid"] != 0 && session["state"] == "up" && session["detect_time_us"] == 150_000)
    })?;
    ops::assert_valid(&validator, &status);
    let session = &status["bfd_sessions"][0];
    assert_eq!(session["name"], "gw");
    assert_eq!(session["remote_state"], "up");
    assert_eq!(session["tx_interval_us"], 50_000);
    assert_eq!(session["up_transitions"], 1, "{session:#}\n{}", lab.logs());

    // The gateway goes silent: kad declares the session down after the detection time
    // (3 × 50 ms), with keepalived's diagnostic.
    gw.pause(&lab)?;
    let stopped = Instant::now();
    lab.wait_for("kad sees the silent peer", LIMIT, || {
        Ok(log_count(
            &lab,
            kad,
            "(gw) Entering Down state (Local diagnostic - Control Detection Time Expired",
        )? >= 1)
    })?;
    let detected = stopped.elapsed();
    eprintln!("kad saw keepalived's BFD go silent after {detected:?} (detect time 150 ms)");
    assert!(
        detected >= Duration::from_millis(90) && detected < Duration::from_secs(2),
        "down {detected:?} after the peer went silent; the detection time is 150 ms"
    );

    gw.resume(&lab)?;
    lab.wait_for("the session comes back up", LIMIT, || {
        Ok(log_count(&lab, kad, "(gw) Entering Up state")? >= 2)
    })?;

    // kad stops: keepalived hears AdminDown (its diagnostic names the neighbour's signal).
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    lab.wait_for("keepalived hears AdminDown", LIMIT, || {
        let events = gw.events(&lab, "r1")?;
        Ok(events.last().is_some_and(|e| {
            e.state == BfdState::Down
                && e.local_diagnostic() == Some("Neighbor Signaled Session Down")
        }))
    })?;
    Ok(())
}

/// r1 (kad, priority 200, tracking the gateway's BFD with `track`), r2 (keepalived, 100).
fn tracking_lab(tag: &str, track: &str) -> Result<(Lab, usize, BfdDaemon)> {
    let mut lab = Lab::with_hosts(tag, HOSTS)?;
    let gw = lab.start_keepalived_bfd("gw", GW_BFD)?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let config = format!(
        "{KAD_BFD}{}",
        lab_instance(200, &format!("  track_bfd {{\n    {track}\n  }}\n"))
    );
    let kad = lab.start_kad("r1", &config)?;
    lab.wait_for("kad (200, BFD up) is master", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    lab.wait_for("keepalived is backup", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;
    Ok((lab, kad, gw))
}

#[test]
fn a_master_tracking_its_gateways_bfd_goes_fault_when_it_dies_and_comes_back() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (mut lab, kad, gw) = tracking_lab("bf", "gw")?;
    gw.pause(&lab)?;
    let stopped = Instant::now();
    lab.wait_for("the backup takes the VIP", LIMIT, || lab.holds("r2", VIP))?;
    eprintln!(
        "BFD silent → keepalived backup holds the VIP after {:?}",
        stopped.elapsed()
    );
    lab.wait_for("kad gives it up", LIMIT, || Ok(!lab.holds("r1", VIP)?))?;
    assert!(
        lab.daemon(kad)?.log().contains("Entering FAULT STATE"),
        "{}",
        lab.logs()
    );
    gw.resume(&lab)?;
    lab.wait_for("BFD back: kad (200) preempts", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    lab.wait_for("keepalived backs off", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;
    Ok(())
}

#[test]
fn a_weighted_track_bfd_lowers_the_priority_below_the_backups() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (mut lab, kad, gw) = tracking_lab("bw", "gw weight -150")?;
    gw.pause(&lab)?;
    lab.wait_for("200-150 = 50 < 100: keepalived preempts", LIMIT, || {
        lab.holds("r2", VIP)
    })?;
    lab.wait_for("kad gives it up", LIMIT, || Ok(!lab.holds("r1", VIP)?))?;
    assert!(
        !lab.daemon(kad)?.log().contains("Entering FAULT STATE"),
        "a weight lowers the priority, no FAULT:\n{}",
        lab.logs()
    );
    gw.resume(&lab)?;
    lab.wait_for("BFD back: kad (200) preempts", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    Ok(())
}
