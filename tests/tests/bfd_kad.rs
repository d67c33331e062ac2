//! BFD between two kad daemons on a real segment: sessions survive a SIGHUP reload that leaves
//! them unchanged, renegotiate changed timers with a poll sequence without going down
//! (RFC 5880 §6.8.3), and an IPv6 session comes up; `kad status --json` shows each session.
//! RFC 5883 multihop (`multihop`, UDP 4784): across a router, IPv4 and IPv6, and beside a
//! single-hop session to the same neighbour on one link.

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
    bfd_with(name, me, peer, interval_ms, "")
}

/// [`bfd`] with `extra` lines in the block.
fn bfd_with(name: &str, me: &str, peer: &str, interval_ms: u32, extra: &str) -> String {
    format!(
        "bfd_instance {name} {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx {interval_ms}\n  min_tx {interval_ms}\n  multiplier 3\n{extra}}}\n"
    )
}

/// The UDP ports `host` listens on (`ss -Hnlu`).
fn udp_ports(lab: &Lab, host: &str) -> Result<Vec<u16>> {
    let out = lab.host(host)?.command("ss").args(["-Hnlu"]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .nth(3)?
                .rsplit(':')
                .next()?
                .parse()
                .ok()
        })
        .collect())
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

#[test]
fn two_kads_run_multihop_sessions_across_a_router_on_port_4784() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bkm", &[("r1", 1), ("r2", 2), ("gw", 3)])?;
    let far = lab.put_behind("r2", 2, "gw")?;
    // One router between: packets sent at 255 arrive at 254 (keepalived 2.4: max_hops 1).
    let hop = "  multihop\n  max_hops 1\n";
    lab.start_kad(
        "r1",
        &format!(
            "{}{}{}",
            bfd_with("m4", "10.77.0.1", &far.ipv4, 50, hop),
            bfd_with("m6", "fd77::1", &far.ipv6, 50, hop),
            lab_instance(150, "")
        ),
    )?;
    let r2 = lab.start_kad(
        "r2",
        &format!(
            "{}{}{}",
            bfd_with("m4", &far.ipv4, "10.77.0.1", 50, hop),
            bfd_with("m6", &far.ipv6, "fd77::1", 50, hop),
            kad_tests::conf::vrrp_instance("FAR", 52, 100, "10.78.0.100", "")
        ),
    )?;
    lab.wait_for("both multihop sessions up on both", LIMIT, || {
        let mut all = Vec::new();
        for host in ["r1", "r2"] {
            for name in ["m4", "m6"] {
                all.push(session(&lab, host, name)?);
            }
        }
        Ok(all
            .iter()
            .all(|s| s["state"] == "up" && s["multihop"] == true))
    })?;
    // RFC 5883 §5: the multihop port, and no single-hop listener for them.
    let ports = udp_ports(&lab, "r1")?;
    assert!(ports.contains(&4784) && !ports.contains(&3784), "{ports:?}");

    // r2 falls silent: r1 sees both sessions expire within the detection time.
    lab.daemon(r2)?.signal(libc::SIGSTOP)?;
    let took = lab.wait_for("r1 sees r2 silent", LIMIT, || {
        Ok(session(&lab, "r1", "m4")?["state"] != "up"
            && session(&lab, "r1", "m6")?["state"] != "up")
    });
    lab.daemon(r2)?.signal(libc::SIGCONT)?;
    let took = took?;
    eprintln!("r1 saw r2 fall silent after {took:?} (detect 150 ms)");
    for name in ["m4", "m6"] {
        assert_eq!(
            session(&lab, "r1", name)?["last_down_reason"],
            "Control Detection Time Expired"
        );
    }
    assert!(took <= Duration::from_millis(500), "{took:?}");
    Ok(())
}

#[test]
fn a_single_hop_and_a_multihop_session_to_one_neighbour_run_side_by_side() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bks", ROUTERS)?;
    for (host, me, peer, priority) in [
        ("r1", "10.77.0.1", "10.77.0.2", 150),
        ("r2", "10.77.0.2", "10.77.0.1", 100),
    ] {
        lab.start_kad(
            host,
            &format!(
                "{}{}{}",
                bfd("one", me, peer, 50),
                bfd_with("multi", me, peer, 50, "  multihop\n"),
                lab_instance(priority, "")
            ),
        )?;
    }
    lab.wait_for("all four sessions up", LIMIT, || {
        let mut all = Vec::new();
        for host in ["r1", "r2"] {
            for name in ["one", "multi"] {
                all.push(session(&lab, host, name)?);
            }
        }
        Ok(all.iter().all(|s| s["state"] == "up"))
    })?;
    // Each session found its own peer (by port: RFC 5883 §3), not the other kind's.
    for name in ["one", "multi"] {
        let (a, b) = (session(&lab, "r1", name)?, session(&lab, "r2", name)?);
        assert_eq!(a["remote_discriminator"], b["local_discriminator"], "{a:#}");
        assert_eq!(b["remote_discriminator"], a["local_discriminator"], "{b:#}");
        assert_eq!(a["multihop"], name == "multi");
    }
    let ports = udp_ports(&lab, "r1")?;
    assert!(ports.contains(&4784) && ports.contains(&3784), "{ports:?}");
    Ok(())
}
