//! BFD between kad (r1) and FRR 8.4's bfdd (r2) on a real segment, IPv4 and IPv6 single hop:
//! sessions come up, FRR's timer change (a poll sequence) is taken without a Down, a silent
//! bfdd is detected, FRR's `shutdown` (AdminDown) takes kad's session down without counting
//! as a failure for `track_bfd`, and a stopping kad's AdminDown reaches FRR. And RFC 5883
//! multihop (keepalived 2.4's `multihop`, UDP 4784) with r2 behind a router: sessions come
//! up, each side sees the other fall silent within its detection time, kad's AdminDown.

use std::time::{Duration, Instant};

use anyhow::Result;
use kad_tests::{
    bfd_peers::{BfdState, FrrBfd, FrrPeer},
    conf::lab_instance,
    lab::{Lab, ROUTERS, VIP},
    ops,
};

/// What a loaded CI machine may add to a detection time (scheduling, the status round trip).
const SLACK: Duration = Duration::from_millis(350);
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(15);

/// kad's sessions to r2 (IPv4 `v4`, IPv6 `v6`), 50 ms × 3 (behaviour, not timing, on a
/// loaded CI machine); the instance tracks `v4`.
fn kad_config() -> String {
    let session = |name: &str, peer: &str, me: &str, extra: &str| {
        format!(
            "bfd_instance {name} {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx 50\n  min_tx 50\n  multiplier 3\n{extra}}}\n"
        )
    };
    format!(
        "{}{}{}",
        session("v4", "10.77.0.2", "10.77.0.1", ""),
        // RFC 5881 §5: single hop is TTL/hop limit 255 (keepalived's IPv6 default is 64,
        // which FRR drops).
        session("v6", "fd77::2", "fd77::1", "  hoplimit 255\n"),
        lab_instance(150, "  track_bfd {\n    v4\n  }\n")
    )
}

/// The session `name` in kad's `kad status --json` on r1.
fn session(lab: &Lab, name: &str) -> Result<Value> {
    let status = ops::status_json(&lab.dir().join("kad-r1.sock"))?;
    Ok(status["bfd_sessions"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["name"] == name).cloned())
        .unwrap_or(Value::Null))
}

#[test]
fn kad_and_frr_bfdd_bring_sessions_up_renegotiate_detect_and_signal_admin_down() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bfr", ROUTERS)?;
    let frr = lab.start_frr_bfd("r2")?;
    let v4 = FrrPeer::single_hop("10.77.0.1", "10.77.0.2", "eth0").timers(50, 50, 3);
    let v6 = FrrPeer::single_hop("fd77::1", "fd77::2", "eth0").timers(50, 50, 3);
    frr.add_peer(&v4)?;
    frr.add_peer(&v6)?;
    let kad = lab.start_kad("r1", &kad_config())?;
    for peer in ["10.77.0.1", "fd77::1"] {
        frr.wait_state(&lab, peer, BfdState::Up, LIMIT)?;
    }
    lab.wait_for("kad's sessions are up at 50 ms", LIMIT, || {
        let (a, b) = (session(&lab, "v4")?, session(&lab, "v6")?);
        Ok(a["state"] == "up" && b["state"] == "up" && a["detect_time_us"] == 150_000)
    })?;
    lab.wait_for("kad, tracking v4, is master", LIMIT, || {
        lab.holds("r1", VIP)
    })?;

    // FRR slows to 100 ms: a poll sequence; kad's detection time follows, no Down.
    frr.set_timers(&v4, 100, 100, 3)?;
    lab.wait_for("kad takes FRR's new interval", LIMIT, || {
        let s = session(&lab, "v4")?;
        Ok(s["state"] == "up" && s["detect_time_us"] == 300_000)
    })?;
    assert_eq!(session(&lab, "v4")?["tx_interval_us"], 100_000);

    // bfdd falls silent: both of kad's sessions see it.
    frr.pause()?;
    let paused = Instant::now();
    lab.wait_for("kad sees bfdd silent", LIMIT, || {
        let (a, b) = (session(&lab, "v4")?, session(&lab, "v6")?);
        Ok(a["state"] != "up" && b["state"] != "up")
    })?;
    eprintln!("kad saw bfdd fall silent after {:?}", paused.elapsed());
    assert_eq!(
        session(&lab, "v6")?["last_down_reason"],
        "Control Detection Time Expired"
    );
    lab.wait_for(
        "track_bfd v4 (weight 0): kad gives the VIP up",
        LIMIT,
        || Ok(!lab.holds("r1", VIP)?),
    )?;
    frr.resume()?;
    lab.wait_for("sessions and mastership come back", LIMIT, || {
        Ok(session(&lab, "v4")?["state"] == "up"
            && session(&lab, "v6")?["state"] == "up"
            && lab.holds("r1", VIP)?)
    })?;

    // FRR shuts v4 down (AdminDown): kad's session goes down with the neighbour's signal,
    // and track_bfd does not count it as a failure (RFC 5882 §3.2, as keepalived).
    frr.shutdown(&v4, true)?;
    lab.wait_for("kad hears AdminDown", LIMIT, || {
        let s = session(&lab, "v4")?;
        Ok(s["state"] == "down" && s["remote_state"] == "admin_down")
    })?;
    let s = session(&lab, "v4")?;
    assert_eq!(s["local_diag"], "Neighbor Signaled Session Down", "{s:#}");
    assert_eq!(s["tracked_up"], true, "{s:#}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lab.holds("r1", VIP)?,
        "a peer's AdminDown must not take the tracking instance down\n{}",
        lab.logs()
    );
    frr.shutdown(&v4, false)?;
    lab.wait_for("v4 back up", LIMIT, || {
        Ok(session(&lab, "v4")?["state"] == "up")
    })?;

    // kad stops: FRR hears AdminDown on both sessions.
    frr_hears_admin_down_at_stop(&mut lab, kad, &frr)
}

/// kad (r1, on the segment) ⇄ FRR bfdd (r2, behind router gw): RFC 5883 multihop, IPv4 and
/// IPv6, 50 ms × 3. Both send at TTL / hop limit 255 and receive 254; kad says so with
/// `max_hops 1` (keepalived 2.4's rule: ttl − max_hops), FRR by its default minimum-ttl 254.
#[test]
fn kad_and_frr_bfdd_run_multihop_sessions_across_a_router() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bfm", &[("r1", 1), ("r2", 2), ("gw", 3)])?;
    let far = lab.put_behind("r2", 2, "gw")?;
    let frr = lab.start_frr_bfd("r2")?;
    let v4 = FrrPeer::multihop("10.77.0.1", &far.ipv4).timers(50, 50, 3);
    let v6 = FrrPeer::multihop("fd77::1", &far.ipv6).timers(50, 50, 3);
    frr.add_peer(&v4)?;
    frr.add_peer(&v6)?;
    let session_conf = |name: &str, peer: &str, me: &str| {
        format!(
            "bfd_instance {name} {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx 50\n  min_tx 50\n  multiplier 3\n  multihop\n  max_hops 1\n}}\n"
        )
    };
    let kad = lab.start_kad(
        "r1",
        &format!(
            "{}{}{}",
            session_conf("m4", &far.ipv4, "10.77.0.1"),
            session_conf("m6", &far.ipv6, "fd77::1"),
            lab_instance(150, "")
        ),
    )?;
    for peer in ["10.77.0.1", "fd77::1"] {
        frr.wait_state(&lab, peer, BfdState::Up, LIMIT)?;
        assert!(frr.peer(peer)?.multihop);
    }
    lab.wait_for("kad's multihop sessions are up at 50 ms", LIMIT, || {
        let (a, b) = (session(&lab, "m4")?, session(&lab, "m6")?);
        Ok(a["state"] == "up" && b["state"] == "up" && a["detect_time_us"] == 150_000)
    })?;
    assert_eq!(session(&lab, "m6")?["multihop"], true);

    // bfdd falls silent: kad sees both sessions go within the detection time.
    let detect = Duration::from_millis(150);
    frr.pause()?;
    let took = lab.wait_for("kad sees bfdd silent", LIMIT, || {
        let (a, b) = (session(&lab, "m4")?, session(&lab, "m6")?);
        Ok(a["state"] != "up" && b["state"] != "up")
    })?;
    eprintln!("kad saw the multihop peer fall silent after {took:?} (detect {detect:?})");
    for name in ["m4", "m6"] {
        assert_eq!(
            session(&lab, name)?["last_down_reason"],
            "Control Detection Time Expired"
        );
    }
    assert!(took <= detect + SLACK, "{took:?}");
    frr.resume()?;
    lab.wait_for("kad's sessions come back", LIMIT, || {
        Ok(session(&lab, "m4")?["state"] == "up" && session(&lab, "m6")?["state"] == "up")
    })?;
    for peer in ["10.77.0.1", "fd77::1"] {
        frr.wait_state(&lab, peer, BfdState::Up, LIMIT)?;
    }

    // kad falls silent: FRR sees it within its detection time (3 × 50 ms).
    let downs = frr.downs("10.77.0.1")?;
    lab.daemon(kad)?.signal(libc::SIGSTOP)?;
    let took = frr.wait_downs(&lab, "10.77.0.1", downs + 1, LIMIT);
    let six = frr.wait_state(&lab, "fd77::1", BfdState::Down, LIMIT);
    lab.daemon(kad)?.signal(libc::SIGCONT)?;
    let took = took?;
    six?;
    eprintln!("FRR saw kad fall silent after {took:?} (detect {detect:?})");
    assert!(took <= detect + SLACK, "{took:?}");
    lab.wait_for("kad's sessions come back after SIGCONT", LIMIT, || {
        Ok(session(&lab, "m4")?["state"] == "up" && session(&lab, "m6")?["state"] == "up")
    })?;

    // kad stops: FRR hears AdminDown on both multihop sessions.
    frr_hears_admin_down_at_stop(&mut lab, kad, &frr)
}

/// Stops kad (SIGTERM) and waits until FRR has heard its AdminDown on the IPv4 and the IPv6
/// session (RFC 5880 §6.8.16 at stop, as keepalived's BFD process sends it).
fn frr_hears_admin_down_at_stop(lab: &mut Lab, kad: usize, frr: &FrrBfd) -> Result<()> {
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    for peer in ["10.77.0.1", "fd77::1"] {
        lab.wait_for("FRR hears kad's AdminDown", LIMIT, || {
            let status = frr.peer(peer)?;
            Ok(status.state() == Some(BfdState::Down)
                && status.remote_diagnostic.contains("administratively down"))
        })?;
    }
    Ok(())
}
