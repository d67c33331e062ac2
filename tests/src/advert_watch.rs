//! Watching one router's VRRP adverts as they reach the switch, live: a packet socket on the
//! router's bridge port (in the switch namespace) that reports each IPv4 VRRP frame the
//! router sends (RFC 5798 §5.1: IP protocol 112), stamped by the kernel on arrival. The
//! failover benchmark uses it to inject a fault at a known offset after an advert.

use std::{
    ffi::CString,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::{netns::NetNs, probe::unix_now};

/// `SIOCGSTAMPNS` (linux/sockios.h, 64-bit `struct timespec`): the kernel's receive time of
/// the last packet read from a socket. Not exported by the libc crate.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4).
const IPPROTO_VRRP: u8 = 112;

/// A live watch on the adverts one host sends onto the segment.
pub struct AdvertWatch {
    fd: OwnedFd,
}

/// The advertised priority when `frame` (from the destination MAC on) is an IPv4 VRRP
/// packet, `None` otherwise.
pub fn vrrp_priority(frame: &[u8]) -> Option<u8> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    let header = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || header < 20 || *ip.get(9)? != IPPROTO_VRRP {
        return None;
    }
    // VRRP: version/type, VRID, priority.
    ip.get(header + 2).copied()
}

/// Whether `frame` (from the destination MAC on) is an IPv4 or IPv6 VRRP packet.
pub fn is_vrrp(frame: &[u8]) -> bool {
    match frame.get(12..14) {
        Some([0x08, 0x00]) => frame.get(14 + 9) == Some(&IPPROTO_VRRP),
        Some([0x86, 0xdd]) => frame.get(14 + 6) == Some(&IPPROTO_VRRP),
        _ => false,
    }
}

impl AdvertWatch {
    /// Opens a packet socket on `port` (an interface of `switch`) that sees the frames
    /// arriving from the host behind it.
    pub fn open(switch: &NetNs, port: &str) -> Result<Self> {
        let port = port.to_owned();
        let fd = switch.run(move || {
            let name = CString::new(port.clone()).context("interface name")?;
            // SAFETY: if_nametoindex reads a NUL-terminated string.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if index == 0 {
                bail!("no interface {port} in the switch namespace");
            }
            // Every protocol: a bridge port hands its frames to the bridge before protocol
            // handlers run, so only an ETH_P_ALL tap sees them.
            let protocol = (libc::ETH_P_ALL as u16).to_be();
            // SAFETY: socket(2) with constant arguments; the fd is owned right away.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(protocol),
                )
            };
            if raw < 0 {
                bail!("packet socket: {}", std::io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
            let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            address.sll_family = libc::AF_PACKET as u16;
            address.sll_protocol = protocol;
            address.sll_ifindex = i32::try_from(index).context("ifindex")?;
            // SAFETY: bind(2) with a sockaddr_ll of the size given.
            let bound = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&raw const address).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if bound != 0 {
                bail!("binding to {port}: {}", std::io::Error::last_os_error());
            }
            Ok(fd)
        })?;
        Ok(Self { fd })
    }

    /// Drops every frame queued so far (older than the adverts a caller waits for).
    pub fn drain(&self) {
        let mut buffer = [0u8; 128];
        // SAFETY: recv(2) into a buffer of the length given, non-blocking.
        while unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_DONTWAIT,
            )
        } > 0
        {}
    }

    /// Waits up to `timeout` for the next advert the host sends, and returns its priority
    /// and its arrival time (unix seconds, the kernel's receive stamp when it gives one).
    /// `None` when no advert came in time.
    pub fn next(&self, timeout: Duration) -> Result<Option<(u8, f64)>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(frame) = self.next_frame(left)? else {
                return Ok(None);
            };
            if let Some(priority) = vrrp_priority(&frame) {
                return Ok(Some((priority, self.last_stamp().unwrap_or_else(unix_now))));
            }
        }
    }

    /// Waits up to `timeout` for the next IPv4 or IPv6 VRRP frame (IP protocol / next
    /// header 112, behind no extension header) the host sends; returns its first 128 bytes
    /// from the destination MAC on (every header up to the VRRP addresses).
    pub fn next_frame(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        let mut buffer = [0u8; 128];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let mut poll = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let millis = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
            // SAFETY: poll(2) on one valid pollfd.
            if unsafe { libc::poll(&raw mut poll, 1, millis) } <= 0 {
                continue;
            }
            // SAFETY: sockaddr_ll is plain old data; all zeroes is a valid value.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: recvfrom(2) into buffers of the lengths given.
            let read = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    libc::MSG_DONTWAIT,
                    (&raw mut from).cast(),
                    &raw mut from_len,
                )
            };
            let Ok(read) = usize::try_from(read) else {
                continue;
            };
            // Frames the bridge sends to the host leave through the port: not the host's.
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let frame = &buffer[..read.min(buffer.len())];
            if is_vrrp(frame) {
                return Ok(Some(frame.to_vec()));
            }
        }
    }

    /// The kernel's receive time of the frame just read (unix seconds).
    fn last_stamp(&self) -> Option<f64> {
        let mut stamp = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: SIOCGSTAMPNS writes one timespec through a valid pointer.
        let done = unsafe { libc::ioctl(self.fd.as_raw_fd(), SIOCGSTAMPNS, &raw mut stamp) };
        (done == 0 && stamp.tv_sec > 0).then(|| stamp.tv_sec as f64 + stamp.tv_nsec as f64 / 1e9)
    }
}

/// Takes an interface of a namespace down with one `SIOCSIFFLAGS` ioctl, at a moment the
/// caller chooses to the microsecond (an `ip link set` child process would add
/// milliseconds of fork and exec between the decision and the fault).
pub struct LinkSwitch {
    fd: OwnedFd,
    name: CString,
}

impl LinkSwitch {
    /// Prepares to switch `interface` of `ns`.
    pub fn new(ns: &NetNs, interface: &str) -> Result<Self> {
        let fd = ns.run(|| {
            // SAFETY: socket(2) with constant arguments; the fd is owned right away.
            let raw =
                unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
            if raw < 0 {
                bail!("control socket: {}", std::io::Error::last_os_error());
            }
            // SAFETY: `raw` is a fresh descriptor nobody else owns.
            Ok(unsafe { OwnedFd::from_raw_fd(raw) })
        })?;
        let name = CString::new(interface).context("interface name")?;
        if name.as_bytes().len() >= libc::IFNAMSIZ {
            bail!("interface name {interface} too long");
        }
        Ok(Self { fd, name })
    }

    /// `ip link set INTERFACE down`, done when this returns.
    pub fn down(&self) -> Result<()> {
        // SAFETY: an all-zero ifreq is valid.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(self.name.as_bytes()) {
            *slot = *byte as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS / SIOCSIFFLAGS read and write the ifreq given.
        unsafe {
            if libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) != 0 {
                bail!("SIOCGIFFLAGS: {}", std::io::Error::last_os_error());
            }
            request.ifr_ifru.ifru_flags &= !(libc::IFF_UP as libc::c_short);
            if libc::ioctl(self.fd.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut request) != 0 {
                bail!("SIOCSIFFLAGS: {}", std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ethertype: [u8; 2], version_ihl: u8, protocol: u8, priority: u8) -> Vec<u8> {
        let mut frame = vec![0u8; 14 + 20 + 8];
        frame[12..14].copy_from_slice(&ethertype);
        frame[14] = version_ihl;
        frame[14 + 9] = protocol;
        frame[14 + 20] = 0x31;
        frame[14 + 21] = 51;
        frame[14 + 22] = priority;
        frame
    }

    #[test]
    fn reads_the_priority_of_vrrp_frames_only() {
        assert_eq!(vrrp_priority(&frame([8, 0], 0x45, 112, 200)), Some(200));
        assert_eq!(vrrp_priority(&frame([8, 0], 0x45, 112, 0)), Some(0));
        assert_eq!(vrrp_priority(&frame([8, 0], 0x45, 1, 200)), None, "ICMP");
        assert_eq!(
            vrrp_priority(&frame([0x86, 0xdd], 0x45, 112, 1)),
            None,
            "IPv6"
        );
        assert_eq!(vrrp_priority(&frame([8, 0], 0x44, 112, 1)), None, "IHL 4");
        assert_eq!(
            vrrp_priority(&frame([8, 0], 0x45, 112, 1)[..36]),
            None,
            "short"
        );
    }
}
