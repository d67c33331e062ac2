//! The kernel's process events: the netlink proc connector (`NETLINK_CONNECTOR`,
//! `CN_IDX_PROC`), opened here or in the initial network namespace, and its datagrams
//! parsed.

use std::{
    ffi::CString,
    io,
    mem::size_of,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use thiserror::Error;
use tokio::io::unix::AsyncFd;

use super::monitor::ProcEvent;

/// Why the kernel's process events cannot be followed.
#[derive(Debug, Error)]
pub enum ConnectorError {
    /// The netlink socket could not be opened or bound.
    #[error("opening the proc connector socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel refused the subscription (no connector in this network namespace, or no
    /// `CONFIG_PROC_EVENTS`).
    #[error("subscribing to process events: {0}")]
    Subscribe(#[source] io::Error),
    /// Neither this network namespace nor the initial one offers the connector.
    #[error("{here}; through /proc/1/ns/net: {init}")]
    Unavailable {
        /// Trying in kad's own network namespace.
        here: Box<ConnectorError>,
        /// Trying in the initial network namespace.
        init: Box<ConnectorError>,
    },
    /// Entering the initial network namespace failed.
    #[error("entering the initial network namespace: {0}")]
    Namespace(#[source] io::Error),
    /// The kernel dropped events (the receive buffer overflowed): resync from `/proc`.
    #[error("process events were lost")]
    Overrun,
    /// Receiving failed.
    #[error("receiving process events: {0}")]
    Receive(#[source] io::Error),
}

// linux/connector.h, linux/cn_proc.h.
pub(super) const CN_IDX_PROC: u32 = 1;
pub(super) const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
pub(super) const PROC_EVENT_FORK: u32 = 0x0000_0001;
pub(super) const PROC_EVENT_EXEC: u32 = 0x0000_0002;
pub(super) const PROC_EVENT_COMM: u32 = 0x0000_0200;
pub(super) const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// `struct nlmsghdr`.
pub(super) const NLMSG_HDRLEN: usize = 16;
/// `struct cn_msg` (without data).
pub(super) const CN_MSG_LEN: usize = 20;
/// `struct proc_event` up to `event_data`: what, cpu, timestamp_ns.
pub(super) const PROC_EVENT_HDR: usize = 16;
const RECEIVE_BUFFER: libc::c_int = 1 << 20;

/// The kernel's process events (`NETLINK_CONNECTOR`, `CN_IDX_PROC`).
pub struct Connector {
    fd: AsyncFd<OwnedFd>,
}

impl Connector {
    /// Subscribes in kad's network namespace, else in the initial one (see the module
    /// documentation). Must be called inside a tokio runtime.
    pub fn open() -> Result<Self, ConnectorError> {
        let fd = match open_here() {
            Ok(fd) => fd,
            Err(here) => match open_in_initial_namespace() {
                Ok(fd) => fd,
                Err(init) => {
                    return Err(ConnectorError::Unavailable {
                        here: Box::new(here),
                        init: Box::new(init),
                    });
                }
            },
        };
        // SAFETY: the OwnedFd owns its descriptor and AsyncFd owns the OwnedFd, so the
        // descriptor stays open and unchanged for as long as it is registered.
        let fd = unsafe { AsyncFd::register(fd) }
            .map_err(|err| ConnectorError::Socket(err.into_parts().1))?;
        Ok(Self { fd })
    }

    /// Waits for the next datagram and returns its events.
    pub async fn receive(&self, buffer: &mut [u8]) -> Result<Vec<ProcEvent>, ConnectorError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(ConnectorError::Receive)?;
            match guard.try_io(|fd| receive_from_kernel(fd.get_ref(), buffer)) {
                Ok(Ok(Some(len))) => return Ok(parse(buffer.get(..len).unwrap_or_default())),
                Ok(Ok(None)) => continue,
                Ok(Err(err)) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(ConnectorError::Overrun);
                }
                Ok(Err(err)) => return Err(ConnectorError::Receive(err)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        // The kernel counts listeners; tell it this one is leaving.
        let _ = subscribe(self.fd.get_ref(), PROC_CN_MCAST_IGNORE);
    }
}

/// One datagram; None when it did not come from the kernel.
fn receive_from_kernel(fd: &OwnedFd, buffer: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: sockaddr_nl is plain data; zeroes are a valid value.
    let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut from_len = socklen::<libc::sockaddr_nl>();
    // SAFETY: recvfrom writes at most buffer.len() bytes into buffer and at most from_len
    // bytes into from, both valid for writes.
    let len = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            0,
            (&raw mut from).cast(),
            &raw mut from_len,
        )
    };
    let len = usize::try_from(len).map_err(|_| io::Error::last_os_error())?;
    Ok((from.nl_pid == 0).then_some(len))
}

fn socklen<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// Opens, binds and subscribes a connector socket in the calling thread's network namespace.
fn open_here() -> Result<OwnedFd, ConnectorError> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_CONNECTOR,
        )
    };
    if raw < 0 {
        return Err(ConnectorError::Socket(io::Error::last_os_error()));
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_nl is plain data; zeroes are a valid value.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::sa_family_t::try_from(libc::AF_NETLINK).unwrap_or_default();
    address.nl_groups = CN_IDX_PROC;
    // SAFETY: address is a valid sockaddr_nl of the length given.
    let bound = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const address).cast(),
            socklen::<libc::sockaddr_nl>(),
        )
    };
    if bound != 0 {
        return Err(ConnectorError::Socket(io::Error::last_os_error()));
    }
    // Bursts of exits (a service stopping its workers) must not overflow the buffer.
    let buffer_size = RECEIVE_BUFFER;
    // SAFETY: the option value is a c_int of the length given.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const buffer_size).cast(),
            socklen::<libc::c_int>(),
        )
    };
    subscribe(&fd, PROC_CN_MCAST_LISTEN).map_err(ConnectorError::Subscribe)?;
    Ok(fd)
}

/// [`open_here`] from a short-lived thread that first enters PID 1's network namespace (the
/// socket stays there; kad's own threads never move).
fn open_in_initial_namespace() -> Result<OwnedFd, ConnectorError> {
    let worker = std::thread::Builder::new()
        .name("kad-proc-connector".into())
        .spawn(|| {
            let path = CString::new("/proc/1/ns/net").map_err(|e| {
                ConnectorError::Namespace(io::Error::new(io::ErrorKind::InvalidInput, e))
            })?;
            // SAFETY: path is a valid C string; the result is checked.
            let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if raw < 0 {
                return Err(ConnectorError::Namespace(io::Error::last_os_error()));
            }
            // SAFETY: raw is a fresh descriptor we own.
            let namespace = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: setns on a namespace descriptor, for this thread only.
            if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(ConnectorError::Namespace(io::Error::last_os_error()));
            }
            open_here()
        })
        .map_err(ConnectorError::Namespace)?;
    worker.join().unwrap_or_else(|_| {
        Err(ConnectorError::Namespace(io::Error::other(
            "connector thread panicked",
        )))
    })
}

/// Sends `PROC_CN_MCAST_LISTEN` or `_IGNORE`.
fn subscribe(fd: &OwnedFd, op: u32) -> io::Result<()> {
    let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&u32::try_from(total).unwrap_or_default().to_ne_bytes());
    message.extend_from_slice(
        &u16::try_from(libc::NLMSG_DONE)
            .unwrap_or_default()
            .to_ne_bytes(),
    );
    message.extend_from_slice(&0u16.to_ne_bytes()); // flags
    message.extend_from_slice(&0u32.to_ne_bytes()); // seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes()); // seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // ack
    message.extend_from_slice(&4u16.to_ne_bytes()); // len
    message.extend_from_slice(&0u16.to_ne_bytes()); // flags
    message.extend_from_slice(&op.to_ne_bytes());
    // SAFETY: message is valid for reads of its length.
    let sent = unsafe { libc::send(fd.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The process events in one datagram from the connector (malformed parts are skipped).
pub fn parse(datagram: &[u8]) -> Vec<ProcEvent> {
    let mut events = Vec::new();
    let mut rest = datagram;
    while let Some(len) = u32_at(rest, 0).and_then(|l| usize::try_from(l).ok()) {
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        let message_type = rest
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes);
        let body = rest.get(NLMSG_HDRLEN..len).unwrap_or_default();
        let is_data = !matches!(
            message_type.map(libc::c_int::from),
            Some(libc::NLMSG_ERROR | libc::NLMSG_NOOP)
        );
        if is_data && let Some(event) = parse_cn_msg(body) {
            events.push(event);
        }
        // NLMSG_ALIGN
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
    events
}

fn parse_cn_msg(body: &[u8]) -> Option<ProcEvent> {
    if u32_at(body, 0)? != CN_IDX_PROC || u32_at(body, 4)? != CN_VAL_PROC || u32_at(body, 12)? != 0
    {
        return None;
    }
    let event = body.get(CN_MSG_LEN..)?;
    let what = u32_at(event, 0)?;
    let data = event.get(PROC_EVENT_HDR..)?;
    match what {
        PROC_EVENT_FORK => {
            let parent = i32_at(data, 4)?; // parent_tgid
            let child_pid = i32_at(data, 8)?;
            let child = i32_at(data, 12)?; // child_tgid
            (child == child_pid).then_some(ProcEvent::Fork { parent, child })
        }
        PROC_EVENT_EXEC => {
            let pid = i32_at(data, 0)?;
            (i32_at(data, 4)? == pid).then_some(ProcEvent::Exec { pid })
        }
        PROC_EVENT_COMM => {
            let pid = i32_at(data, 0)?;
            let raw = data.get(8..8 + 16)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            (i32_at(data, 4)? == pid).then(|| ProcEvent::Comm {
                pid,
                comm: raw.get(..end).unwrap_or_default().to_vec(),
            })
        }
        PROC_EVENT_EXIT => {
            let pid = i32_at(data, 0)?;
            (i32_at(data, 4)? == pid).then_some(ProcEvent::Exit { pid })
        }
        _ => None,
    }
}
