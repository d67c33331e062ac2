//! systemd readiness protocol (sd_notify(3)), as `packaging/kad.service` (`Type=notify`)
//! relies on: kad started with `NOTIFY_SOCKET` sends `READY=1` once its instance runs,
//! `RELOADING=1` (with `MONOTONIC_USEC`) then `READY=1` around a SIGHUP reload, and
//! `STOPPING=1` on SIGTERM. The test plays the service manager: it listens on the datagram
//! socket itself.

use std::{
    os::unix::net::UnixDatagram,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    conf::vrrp_instance,
    lab::{Lab, VIP},
};

/// Reads notification datagrams until one contains `line` (as a whole line) or `timeout`
/// passes; returns every message read, the matching one last.
fn wait_for_line(socket: &UnixDatagram, line: &str, timeout: Duration) -> Result<Vec<String>> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(err) => return Err(err).context("reading the notify socket"),
        };
        let message = String::from_utf8_lossy(&buf[..len]).into_owned();
        let found = message.lines().any(|l| l == line);
        seen.push(message);
        if found {
            return Ok(seen);
        }
    }
    bail!("no {line:?} within {timeout:?}; messages seen: {seen:?}")
}

#[test]
fn kad_reports_ready_reloading_and_stopping_to_systemd() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("sdn", &[("r1", 1)])?;
    let notify_path = lab.dir().join("notify.sock");
    let socket = UnixDatagram::bind(&notify_path)
        .with_context(|| format!("binding {}", notify_path.display()))?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;

    let config = lab.dir().join("kad.conf");
    std::fs::write(&config, vrrp_instance("SDN", 51, 200, VIP, ""))?;
    let control = lab.dir().join("kad.sock");
    let kad_bin = kad_tests::kad_bin()?;
    let env_notify = format!("NOTIFY_SOCKET={}", notify_path.display());
    let args = [
        env_notify.as_str(),
        &kad_bin.to_string_lossy(),
        "--dont-fork",
        "-f",
        &config.to_string_lossy(),
        "--control-socket",
        &control.to_string_lossy(),
    ]
    .map(|a| a.to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let kad = lab.start("r1", Path::new("/usr/bin/env"), &args)?;

    let start =
        wait_for_line(&socket, "READY=1", Duration::from_secs(30)).with_context(|| lab.logs())?;
    assert!(
        lab.daemon(kad)?.log().contains("Entering "),
        "READY=1 comes once the instance runs (its first state line is logged): {start:?}\n{}",
        lab.logs()
    );
    assert!(
        !start.iter().any(|m| m.contains("STOPPING=1")),
        "no STOPPING before the stop: {start:?}"
    );

    lab.daemon(kad)?.signal(libc::SIGHUP)?;
    let reload = wait_for_line(&socket, "RELOADING=1", Duration::from_secs(10))
        .with_context(|| lab.logs())?;
    let reloading = reload.last().cloned().unwrap_or_default();
    assert!(
        reloading.lines().any(|l| l
            .strip_prefix("MONOTONIC_USEC=")
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|usec| usec > 0))),
        "RELOADING=1 carries MONOTONIC_USEC: {reloading:?}"
    );
    wait_for_line(&socket, "READY=1", Duration::from_secs(10)).with_context(|| lab.logs())?;

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    wait_for_line(&socket, "STOPPING=1", Duration::from_secs(10)).with_context(|| lab.logs())?;
    assert!(
        lab.daemon(kad)?.wait_exit(Duration::from_secs(10))?,
        "kad exits after SIGTERM\n{}",
        lab.logs()
    );
    Ok(())
}
