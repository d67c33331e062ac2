//! A flood generator: AF_PACKET sockets in a lab host's namespace, one per thread, sending a
//! fixed list of Ethernet frames round robin with `sendmmsg(2)` as fast as the kernel takes
//! them, for a fixed time. Frames leave only through the host's `eth0`, onto the lab segment.

use std::{
    io,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad::net::interface::ifindex;

use crate::lab::Host;

/// Frames handed to the kernel per `sendmmsg` call.
const BATCH: usize = 64;

/// What a flood sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    /// Frames the kernel accepted.
    pub frames: u64,
    /// Wall time from the first send to the last.
    pub elapsed: Duration,
    /// Calls that failed with a full buffer (`ENOBUFS`/`EAGAIN`) and were retried.
    pub retries: u64,
}

impl Sent {
    /// Frames per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.frames as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Sends `frames` round robin out of `host`'s `eth0` from `threads` threads, each with its own
/// socket, for `duration`; returns the total.
pub fn flood(
    host: &Host,
    frames: Vec<Vec<u8>>,
    duration: Duration,
    threads: usize,
) -> Result<Sent> {
    if frames.is_empty() {
        bail!("nothing to send");
    }
    let frames = Arc::new(frames);
    let start = Instant::now();
    let deadline = start + duration;
    let workers = (0..threads.max(1))
        .map(|n| {
            let frames = Arc::clone(&frames);
            host.ns
                .spawn(move || send_until(&frames, n * BATCH, deadline))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut total = Sent::default();
    for worker in workers {
        let sent = worker
            .join()
            .map_err(|_| anyhow::anyhow!("generator thread panicked"))??;
        total.frames += sent.frames;
        total.retries += sent.retries;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// One thread's loop: batches of [`BATCH`] frames, from `first` on, until `deadline`.
fn send_until(frames: &[Vec<u8>], first: usize, deadline: Instant) -> Result<Sent> {
    let socket = PacketSocket::open(ifindex(Host::IFACE)?)?;
    let mut sent = Sent::default();
    let mut next = first % frames.len();
    while Instant::now() < deadline {
        let batch: Vec<&[u8]> = (0..BATCH)
            .map(|k| frames[(next + k) % frames.len()].as_slice())
            .collect();
        match socket.send_batch(&batch) {
            Ok(count) => {
                sent.frames += count as u64;
                next = (next + count) % frames.len();
            }
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)
                ) =>
            {
                sent.retries += 1;
                std::thread::yield_now();
            }
            Err(err) => return Err(err).context("sendmmsg on the packet socket"),
        }
    }
    Ok(sent)
}

/// An `AF_PACKET` socket that sends whole frames out of one interface, bypassing the qdisc
/// when the kernel allows it.
struct PacketSocket {
    fd: OwnedFd,
    address: libc::sockaddr_ll,
}

impl PacketSocket {
    fn open(ifindex: u32) -> Result<Self> {
        // SAFETY: plain socket(2); the fd is owned by OwnedFd at once. Protocol 0: the socket
        // receives nothing.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("socket(AF_PACKET)");
        }
        // SAFETY: raw is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let one: libc::c_int = 1;
        // SAFETY: setsockopt with a live c_int. Failure only means the qdisc path is used.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        // SAFETY: sockaddr_ll is plain old data; zero is valid.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_ifindex = i32::try_from(ifindex).context("ifindex")?;
        address.sll_halen = 6;
        Ok(Self { fd, address })
    }

    /// Sends `frames` (each from the destination MAC on) in one `sendmmsg`; how many went.
    fn send_batch(&self, frames: &[&[u8]]) -> io::Result<usize> {
        let mut iovecs: Vec<libc::iovec> = frames
            .iter()
            .map(|frame| libc::iovec {
                iov_base: frame.as_ptr().cast_mut().cast(),
                iov_len: frame.len(),
            })
            .collect();
        let mut address = self.address;
        let mut messages: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .map(|iov| {
                // SAFETY: mmsghdr is plain old data; all zeroes is a valid value.
                let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
                message.msg_hdr.msg_name = (&raw mut address).cast();
                message.msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                message.msg_hdr.msg_iov = iov;
                message.msg_hdr.msg_iovlen = 1;
                message
            })
            .collect();
        let count = u32::try_from(messages.len()).map_err(io::Error::other)?;
        // SAFETY: every header points at live iovecs, frames and the address for the call.
        let sent = unsafe { libc::sendmmsg(self.fd.as_raw_fd(), messages.as_mut_ptr(), count, 0) };
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    }
}
