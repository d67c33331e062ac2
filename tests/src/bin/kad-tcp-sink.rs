//! `kad-tcp-sink --port P --servers N --out PREFIX`: the real servers of the checkers
//! benchmark (`cargo xtask bench checkers`), run inside the UML guest. One socket listens on
//! `0.0.0.0:P` (every address of 127.0.0.0/8 is local, so it takes the TCP_CHECKs of all the
//! real servers `127.1.x.y`), accepts and closes each connection, and counts it against the
//! real server whose address it was made to (the accepted socket's local address). On
//! SIGUSR1 it writes its counts to `PREFIX.<n>` (n = 0, 1, …; written to a temporary name
//! and renamed, so a reader never sees half a file). See `kad_tests::load::sink`.

use std::{
    net::Ipv4Addr,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use kad_tests::load::{check_conf::server_index, sink::Snapshot};

const USAGE: &str = "usage: kad-tcp-sink --port P --servers N --out PREFIX";

/// Set by the SIGUSR1 handler, cleared when the snapshot is written.
static SNAPSHOT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_: libc::c_int) {
    SNAPSHOT.store(true, Ordering::SeqCst);
}

fn check(ret: libc::c_int, what: &str) -> Result<libc::c_int> {
    if ret < 0 {
        bail!("{what}: {}", std::io::Error::last_os_error());
    }
    Ok(ret)
}

/// A listening socket on 0.0.0.0:`port` whose accept(2) gives up after 100 ms (so a
/// snapshot request is seen even when no check comes).
fn listen(port: u16) -> Result<libc::c_int> {
    // SAFETY: plain socket calls on a descriptor this function owns; every pointer passed
    // points at a live local of the size given.
    unsafe {
        let fd = check(
            libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0),
            "socket",
        )?;
        let one: libc::c_int = 1;
        check(
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            ),
            "SO_REUSEADDR",
        )?;
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        check(
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            ),
            "SO_RCVTIMEO",
        )?;
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        check(
            libc::bind(
                fd,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            "bind",
        )?;
        // The kernel caps the backlog at net.core.somaxconn.
        check(libc::listen(fd, 65_535), "listen")?;
        Ok(fd)
    }
}

/// Accepts one connection and closes it; its local address, or `None` when accept timed out
/// or was interrupted.
fn accept_one(listener: libc::c_int) -> Result<Option<Ipv4Addr>> {
    // SAFETY: `addr`/`len` are live locals of the size given; the accepted descriptor is
    // closed before returning.
    unsafe {
        let fd = libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        );
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN | libc::EINTR | libc::ECONNABORTED) => Ok(None),
                _ => Err(err).context("accept"),
            };
        }
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let named = libc::getsockname(fd, (&raw mut addr).cast(), &raw mut len);
        libc::close(fd);
        if named < 0 {
            return Ok(Some(Ipv4Addr::UNSPECIFIED));
        }
        Ok(Some(Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr))))
    }
}

fn monotonic() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

fn main() -> Result<()> {
    let mut port = None;
    let mut servers = None;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--port" => port = Some(value.parse::<u16>()?),
            "--servers" => servers = Some(value.parse::<usize>()?),
            "--out" => out = Some(value),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let (Some(port), Some(servers), Some(out)) = (port, servers, out) else {
        bail!("{USAGE}");
    };
    // SAFETY: installs a handler that only stores to an atomic; no SA_RESTART, so a blocked
    // accept returns EINTR and the snapshot is written at once.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&raw mut action.sa_mask);
        check(
            libc::sigaction(libc::SIGUSR1, &raw const action, std::ptr::null_mut()),
            "sigaction",
        )?;
    }
    let listener = listen(port)?;
    let mut counts = Snapshot {
        per_server: vec![0; servers],
        ..Snapshot::default()
    };
    let mut written = 0u64;
    loop {
        if let Some(addr) = accept_one(listener)? {
            counts.total += 1;
            match server_index(addr).and_then(|i| counts.per_server.get_mut(i)) {
                Some(count) => *count += 1,
                None => counts.outside += 1,
            }
        }
        if SNAPSHOT.swap(false, Ordering::SeqCst) {
            counts.at = monotonic();
            let path = format!("{out}.{written}");
            let staging = format!("{path}.tmp");
            std::fs::write(&staging, counts.to_text())
                .with_context(|| format!("writing {staging}"))?;
            std::fs::rename(&staging, &path).with_context(|| format!("renaming to {path}"))?;
            written += 1;
        }
    }
}
