//! BFD between two kad daemons on a real segment: sessions survive a SIGHUP reload that leaves
//! them unchanged, renegotiate changed timers with a poll sequence without going down
//! (RFC 5880 §6.8.3), and an IPv6 session comes up; `kad status --json` shows each session.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS},
    ops,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(10);

/// A BFD session from `me` to `peer` (addresses) at `interval_ms` × 3.
fn bfd(name: &str, me: &str, peer: &str, interval_ms: u32) -> String {
    format!(
        "bfd_instance {name} {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx {interval_ms}\n  min_tx {interval_ms}\n  multiplier 3\n}}\n"
    )
}

/// The session `name` in `host`'s `kad status --json`.
fn session(lab: &Lab, host: &str, name: &str) -> Result<Value> {
    let status = ops::status_json(&lab.dir().join(format!("kad-{host}.sock")))?;
    let sessions = status["bfd_sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(sessions
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or(Value::Null))
}

#[test]
fn a_reload_keeps_an_unchanged_session_up_and_renegotiates_changed_timers() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bkk", ROUTERS)?;
    let r1_conf = |interval| {
        format!(
            "{}{}",
            bfd("peer", "10.77.0.1", "10.77.0.2", interval),
            lab_instance(150, "")
        )
    };
    lab.start_kad("r1", &r1_conf(50))?;
    lab.start_kad(
        "r2",
        &format!(
            "{}{}",
            bfd("peer", "10.77.0.2", "10.77.0.1", 50),
            lab_instance(100, "")
        ),
    )?;
    lab.wait_for("both sessions up at 50 ms", LIMIT, || {
        let (a, b) = (session(&lab, "r1", "peer")?, session(&lab, "r2", "peer")?);
        Ok(a["state"] == "up" && b["state"] == "up" && b["detect_time_us"] == 150_000)
    })?;

    // The same configuration again: the session object lives on (a new one would have a new
    // local discriminator and start Down, taking r2 down too).
    let discriminator = session(&lab, "r1", "peer")?["local_discriminator"].clone();
    let r1 = 0;
    lab.daemon(r1)?.signal(libc::SIGHUP)?;
    lab.wait_for("r1 reloaded", LIMIT, || {
        Ok(lab.daemon_log(r1)?.contains("configuration reloaded"))
    })?;
    lab.wait_for("r2 up with r1's same session", LIMIT, || {
        let b = session(&lab, "r2", "peer")?;
        Ok(b["state"] == "up" && b["remote_discriminator"] == discriminator)
    })?;
    let a = session(&lab, "r1", "peer")?;
    assert_eq!(a["local_discriminator"], discriminator, "{a:#}");

    // r1 now asks for 100 ms: r2 detects at 3 × 100 ms once the poll sequence is through,
    // on the same session. (That the poll sequence itself never takes a session down is
    // shown on a virtual clock by kad-bfd's tests; a loaded CI machine may delay packets.)
    std::fs::write(lab.dir().join("kad-r1.conf"), r1_conf(100))?;
    lab.daemon(r1)?.signal(libc::SIGHUP)?;
    lab.wait_for("r2 follows r1's new interval", LIMIT, || {
        let s = session(&lab, "r2", "peer")?;
        Ok(s["state"] == "up" && s["detect_time_us"] == 300_000)
    })?;
    let a = session(&lab, "r1", "peer")?;
    assert_eq!(a["tx_interval_us"], 100_000, "{a:#}");
    assert_eq!(a["local_discriminator"], discriminator, "{a:#}");
    assert_eq!(a["state"], "up", "{a:#}");
    eprintln!(
        "down transitions through both reloads: r1 {}, r2 {}",
        a["down_transitions"],
        session(&lab, "r2", "peer")?["down_transitions"]
    );
    Ok(())
}

#[test]
fn an_ipv6_session_comes_up_and_sees_its_peer_stop() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bk6", ROUTERS)?;
    // The lab gives every host fd77::OCTET/64 on eth0.
    lab.start_kad(
        "r1",
        &format!(
            "{}{}",
            bfd("six", "fd77::1", "fd77::2", 50),
            lab_instance(150, "")
        ),
    )?;
    let r2 = lab.start_kad(
        "r2",
        &format!(
            "{}{}",
            bfd("six", "fd77::2", "fd77::1", 50),
            lab_instance(100, "")
        ),
    )?;
    lab.wait_for("the IPv6 session is up on both", LIMIT, || {
        Ok(session(&lab, "r1", "six")?["state"] == "up"
            && session(&lab, "r2", "six")?["state"] == "up")
    })?;
    // r2 stops: it says AdminDown, so r1 goes down with "neighbor signaled session down".
    lab.daemon(r2)?.signal(libc::SIGTERM)?;
    lab.wait_for("r1 hears r2's AdminDown", LIMIT, || {
        let s = session(&lab, "r1", "six")?;
        Ok(s["state"] == "down" && s["local_diag"] == "Neighbor Signaled Session Down")
    })?;
    Ok(())
}
