//! BFD on kad's XDP dataplane (issue 16, "Dataplane") against keepalived 2.2.7's BFD on a real
//! segment: once the session is Up, XDP keeps the peer's steady packets in the kernel
//! (`bfd_recorded`) so kad's socket reads only the changes, and XDP's `bpf_timer` declares a
//! silent peer down. With `--no-xdp` the same session runs on the socket alone.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kad_tests::{conf::lab_instance, lab::Lab, ops};
use serde_json::Value;

/// r1 runs kad, gw keepalived's BFD (10.77.0.3).
const HOSTS: &[(&str, u8)] = &[("r1", 1), ("gw", 3)];

const LIMIT: Duration = Duration::from_secs(10);

/// 50 ms × 3 (lab tests assert behaviour, not timing, on a loaded 2-core machine).
const KAD_BFD: &str = "bfd_instance gw {\n  neighbor_ip 10.77.0.3\n  source_ip 10.77.0.1\n  min_rx 50\n  min_tx 50\n  multiplier 3\n}\n";

const GW_BFD: &str = "global_defs {\n  router_id gw\n}\nbfd_instance r1 {\n  neighbor_ip 10.77.0.1\n  source_ip 10.77.0.3\n  min_rx 50\n  min_tx 50\n  multiplier 3\n}\n";

/// How long the steady state is watched.
const WATCH: Duration = Duration::from_secs(2);

/// What `kad status` says of the session and of XDP on its interface.
struct Seen {
    session: Value,
    bfd_recorded: u64,
}

fn seen(socket: &std::path::Path) -> Result<Seen> {
    let status = ops::status_json(socket)?;
    let session = status["bfd_sessions"][0].clone();
    let bfd_recorded = status["instances"][0]["xdp"]["counters"]["bfd_recorded"]
        .as_u64()
        .unwrap_or(0);
    Ok(Seen {
        session,
        bfd_recorded,
    })
}

fn count(session: &Value, field: &str) -> Result<u64> {
    session[field]
        .as_u64()
        .with_context(|| format!("{field} in {session:#}"))
}

/// Brings the session up at 50 ms, watches the steady state for [`WATCH`], then silences the
/// peer; returns the session's socket-read and XDP-recorded growth over the watch, the
/// status after the down and the time the down took.
fn run(tag: &str, no_xdp: bool) -> Result<(u64, u64, Value, Duration, String)> {
    let mut lab = Lab::with_hosts(tag, HOSTS)?;
    if no_xdp {
        lab.kad_args.push("--no-xdp".into());
    }
    let gw = lab.start_keepalived_bfd("gw", GW_BFD)?;
    let kad = lab.start_kad("r1", &format!("{KAD_BFD}{}", lab_instance(100, "")))?;
    let socket = lab.dir().join("kad-r1.sock");
    let validator = ops::schema()?;
    lab.wait_for("the session is up at 50 ms", LIMIT, || {
        let status = ops::status_json(&socket)?;
        let session = &status["bfd_sessions"][0];
        Ok(status["pid"] != 0
            && session["state"] == "up"
            && session["detect_time_us"] == 150_000
            && session["xdp_detection"] == !no_xdp)
    })?;
    ops::assert_valid(&validator, &ops::status_json(&socket)?);
    // The status is refreshed every second: read at a refresh, then one watch later.
    let before = seen(&socket)?;
    std::thread::sleep(WATCH);
    let mut after = seen(&socket)?;
    lab.wait_for("the status is refreshed", LIMIT, || {
        after = seen(&socket)?;
        Ok(
            count(&after.session, "socket_packets")? != count(&before.session, "socket_packets")?
                || after.bfd_recorded > before.bfd_recorded + 20,
        )
    })?;
    let read = count(&after.session, "socket_packets")? - count(&before.session, "socket_packets")?;
    let recorded = after.bfd_recorded - before.bfd_recorded;

    gw.pause(&lab)?;
    let stopped = Instant::now();
    lab.wait_for("kad sees the silent peer", LIMIT, || {
        Ok(lab.daemon_log(kad)?.contains(
            "(gw) Entering Down state (Local diagnostic - Control Detection Time Expired",
        ))
    })?;
    let detected = stopped.elapsed();
    let mut down = Value::Null;
    lab.wait_for("the status shows the down", LIMIT, || {
        down = seen(&socket)?.session;
        Ok(down["state"] == "down")
    })?;
    let log = lab.daemon_log(kad)?;
    gw.resume(&lab)?;
    lab.wait_for("the session comes back up", LIMIT, || {
        let session = seen(&socket)?.session;
        Ok(session["state"] == "up" && session["xdp_detection"] == !no_xdp)
    })?;
    Ok((read, recorded, down, detected, log))
}

#[test]
fn with_xdp_steady_packets_stay_in_the_kernel_and_its_timer_sees_a_silent_peer() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (read, recorded, down, detected, log) = run("bx", false)?;
    eprintln!(
        "XDP: socket read {read}, XDP recorded {recorded} over {WATCH:?}; down after {detected:?}"
    );
    // The peer sends every 37.5–50 ms: at least 40 packets in 2 s.
    ensure!(
        recorded >= 30,
        "XDP recorded only {recorded} steady packets"
    );
    ensure!(
        read <= 4,
        "kad's socket read {read} packets in {WATCH:?} (XDP recorded {recorded}): steady packets reach userspace"
    );
    ensure!(
        detected >= Duration::from_millis(90) && detected < Duration::from_secs(2),
        "down {detected:?} after the peer went silent; the detection time is 150 ms"
    );
    ensure!(
        down["xdp_expiries"] == 1 && down["last_down_reason"] == "Control Detection Time Expired",
        "the down came from XDP's timer: {down:#}"
    );
    ensure!(
        log.contains("(gw) detection time expired in XDP (kernel timer)"),
        "{log}"
    );
    Ok(())
}

/// A scripted peer on gw (no BFD daemon): answers kad's handshake (Down every 40 ms, then Up
/// naming kad's discriminator once kad is Init) and then falls silent, so that kad arms XDP for the session
/// and no packet ever follows the write.
const SILENT_AFTER_UP: &str = r#"
import socket, struct, sys, time
deadline = time.time() + 8
kad = ("10.77.0.1", 3784)
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("10.77.0.3", 3784))
rx.settimeout(10)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
tx.bind(("10.77.0.3", 49152))
def packet(state, your):
    return struct.pack("!BBBBIIIII", 1 << 5, state << 6, 3, 24, 0x1234, your, 50000, 50000, 0)
tx.sendto(packet(1, 0), kad)
while True:
    # Down every 40 ms (as announced) until kad's scheduled packet says Init.
    rx.settimeout(0.04)
    try:
        data, _ = rx.recvfrom(64)
    except socket.timeout:
        if time.time() > deadline:
            sys.exit("kad never said Init")
        tx.sendto(packet(1, 0), kad)
        continue
    if data[1] >> 6 == 2:
        break
tx.sendto(packet(3, struct.unpack("!I", data[4:8])[0]), kad)
print("up sent")
"#;

#[test]
fn a_peer_silent_from_the_moment_xdp_takes_over_is_still_declared_down() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("bs", HOSTS)?;
    let kad = lab.start_kad("r1", &format!("{KAD_BFD}{}", lab_instance(100, "")))?;
    lab.wait_for("kad's BFD runs", LIMIT, || {
        Ok(lab.daemon_log(kad)?.contains("BFD instance started"))
    })?;
    let peer = lab
        .host("gw")?
        .command("/usr/bin/python3")
        .args(["-c", SILENT_AFTER_UP])
        .output()?;
    ensure!(
        peer.status.success(),
        "scripted peer: {}\n{}",
        String::from_utf8_lossy(&peer.stderr),
        lab.logs()
    );
    let up = Instant::now();
    lab.wait_for("kad comes up, then sees the silence", LIMIT, || {
        Ok(lab.daemon_log(kad)?.contains(
            "(gw) Entering Down state (Local diagnostic - Control Detection Time Expired",
        ))
    })?;
    let detected = up.elapsed();
    let log = lab.daemon_log(kad)?;
    ensure!(log.contains("(gw) Entering Up state"), "{log}");
    ensure!(
        log.contains("(gw) no packet since XDP took the session over"),
        "the down came from the check after arming: {log}"
    );
    ensure!(
        detected < Duration::from_secs(2),
        "down {detected:?} after the last packet; the detection time is 150 ms"
    );
    Ok(())
}

#[test]
fn without_xdp_every_packet_reaches_the_socket_and_kad_sees_a_silent_peer() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (read, recorded, down, detected, _) = run("bn", true)?;
    eprintln!("--no-xdp: socket read {read} over {WATCH:?}; down after {detected:?}");
    ensure!(recorded == 0, "no XDP, yet {recorded} recorded");
    ensure!(
        read >= 15,
        "the socket read only {read} packets in {WATCH:?}"
    );
    ensure!(
        detected >= Duration::from_millis(90) && detected < Duration::from_secs(2),
        "down {detected:?} after the peer went silent; the detection time is 150 ms"
    );
    ensure!(
        down["xdp_expiries"] == 0 && down["last_down_reason"] == "Control Detection Time Expired",
        "{down:#}"
    );
    Ok(())
}
