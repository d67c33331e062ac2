//! Logging to syslog, as keepalived does by default (`-S/--log-facility`, `-G/--no-syslog`).
//!
//! Written here rather than taken from a crate: the maintained syslog writers call libc's
//! `syslog(3)`, which blocks when the syslog daemon stops reading, and kad must never stall
//! its protocol loop on a log line. This writer sends each formatted event as one RFC 3164
//! datagram to `/dev/log` on a non-blocking socket and drops (and counts) what the socket
//! will not take at once; it reconnects at most once a second while `/dev/log` is missing.

use std::{
    io,
    os::unix::net::UnixDatagram,
    path::PathBuf,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// The socket syslog daemons (rsyslog, syslog-ng, systemd-journald) listen on.
pub const DEV_LOG: &str = "/dev/log";

/// How long to wait before trying a missing `/dev/log` again.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// RFC 3164 §4.1.1 facility codes keepalived's `-S 0..7` selects (LOG_LOCAL0..LOG_LOCAL7);
/// without `-S`, LOG_DAEMON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facility(u8);

impl Facility {
    /// LOG_DAEMON (3), keepalived's default.
    pub const DAEMON: Facility = Facility(3);

    /// keepalived `-S N`: LOG_LOCALN (16 + N), for N in 0..=7.
    pub fn local(n: u8) -> Option<Facility> {
        (n <= 7).then_some(Facility(16 + n))
    }

    /// The facility code.
    pub fn code(self) -> u8 {
        self.0
    }
}

/// RFC 5424 §6.2.1 severity of a tracing level (keepalived logs state changes at INFO).
fn severity(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

struct Connection {
    socket: Option<UnixDatagram>,
    last_attempt: Option<Instant>,
}

/// A [`MakeWriter`] that sends each event to syslog.
pub struct SyslogWriter {
    path: PathBuf,
    facility: Facility,
    ident: String,
    connection: Mutex<Connection>,
    dropped: AtomicU64,
}

impl SyslogWriter {
    /// Logs as `ident[pid]` with `facility` to the socket at `path` (normally [`DEV_LOG`]).
    pub fn new(path: impl Into<PathBuf>, facility: Facility, ident: &str) -> Self {
        Self {
            path: path.into(),
            facility,
            ident: format!("{ident}[{}]", std::process::id()),
            connection: Mutex::new(Connection {
                socket: None,
                last_attempt: None,
            }),
            dropped: AtomicU64::new(0),
        }
    }

    /// Messages the socket refused (syslog daemon absent or not keeping up).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn send(&self, datagram: &[u8]) {
        let Ok(mut connection) = self.connection.lock() else {
            return;
        };
        if connection.socket.is_none() {
            let now = Instant::now();
            if connection
                .last_attempt
                .is_some_and(|at| now.duration_since(at) < RECONNECT_EVERY)
            {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            connection.last_attempt = Some(now);
            connection.socket = connect(&self.path).ok();
        }
        let sent = match &connection.socket {
            Some(socket) => socket.send(datagram),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        match sent {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                // The daemon went away (restarted): reconnect on a later message.
                connection.socket = None;
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// RFC 3164 §4.1: `<PRI>TIMESTAMP TAG: CONTENT`, TIMESTAMP in local time.
    fn header(&self, level: Level) -> String {
        let pri = u16::from(self.facility.code()) * 8 + u16::from(severity(level));
        format!("<{pri}>{} {}: ", timestamp(), self.ident)
    }
}

fn connect(path: &PathBuf) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// `Mmm dd hh:mm:ss` in local time (RFC 3164 §4.1.2).
fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: time(NULL) has no preconditions; localtime_r writes one `tm` through a valid
    // pointer and reads one `time_t`.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::from("Jan  1 00:00:00");
        }
        tm
    };
    let month = usize::try_from(tm.tm_mon)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{month} {:>2} {:02}:{:02}:{:02}",
        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
    )
}

/// One event being formatted; sent as one datagram when dropped.
pub struct EventWriter<'a> {
    sink: &'a SyslogWriter,
    buffer: Vec<u8>,
}

impl io::Write for EventWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter<'_> {
    fn drop(&mut self) {
        while self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
        }
        self.sink.send(&self.buffer);
    }
}

impl SyslogWriter {
    /// A writer for one event of `level`.
    fn writer(&self, level: Level) -> EventWriter<'_> {
        EventWriter {
            sink: self,
            buffer: self.header(level).into_bytes(),
        }
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        self.writer(Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        self.writer(*meta.level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn one_datagram_per_event_with_priority_and_tag() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("kad-syslog-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path)?;
        let facility = Facility::local(3).ok_or(io::ErrorKind::InvalidInput)?;
        let sink = SyslogWriter::new(&path, facility, "kad");
        {
            let mut writer = sink.writer(Level::WARN);
            writer.write_all(b"(VI_1) Entering MASTER STATE\n")?;
        }
        let mut buf = [0u8; 512];
        let len = listener.recv(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        // local3 = 19, warning = 4: 19 * 8 + 4 = 156.
        assert!(text.starts_with("<156>"), "{text}");
        assert!(
            text.ends_with(&format!(
                " kad[{}]: (VI_1) Entering MASTER STATE",
                std::process::id()
            )),
            "{text}"
        );
        assert_eq!(sink.dropped(), 0);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_missing_socket_drops_instead_of_blocking() {
        let sink = SyslogWriter::new("/nonexistent/kad/log", Facility::DAEMON, "kad");
        sink.send(b"<30>x");
        sink.send(b"<30>y");
        assert_eq!(sink.dropped(), 2);
    }

    #[test]
    fn facilities_follow_keepalived_dash_s() {
        assert_eq!(Facility::local(0).map(Facility::code), Some(16));
        assert_eq!(Facility::local(7).map(Facility::code), Some(23));
        assert_eq!(Facility::local(8), None);
    }
}
