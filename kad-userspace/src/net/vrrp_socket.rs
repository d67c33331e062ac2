//! Raw IP protocol 112 sockets, one per interface and family, as RFC 5798 §5.1 and keepalived
//! use them: bound to the interface, joined to the multicast group of each instance on it
//! (224.0.0.18 / ff02::12 unless `mcast_dst_ip` / `vrrp_mcast_group4/6` say otherwise; see
//! [`VrrpSocket::join`]), TTL / hop limit 255, multicast loopback off. Sending to a unicast peer (`unicast_peer`) uses the same socket.
//!
//! IPv4 sockets send and receive whole IP packets (`IP_HDRINCL`), so kad controls every header
//! byte as keepalived does (TOS 0xc0, id, DF clear) and the decoder sees the TTL. IPv6 raw
//! sockets never carry the IPv6 header: the kernel fills in and verifies the VRRP checksum
//! (`IPV6_CHECKSUM`, offset 6) and reports the hop limit and destination as ancillary data.

use std::{
    io,
    mem::{MaybeUninit, size_of},
    net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6},
    os::fd::AsRawFd as _,
};

use kad_common::vrrp_wire::{IPPROTO_AH, IPPROTO_VRRP, VRRP_TTL};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use thiserror::Error;
use tokio::io::unix::AsyncFd;

/// Receive buffer asked for each VRRP socket, in bytes.
const RECEIVE_BUFFER: libc::c_int = 16 << 20;

/// RFC 5798 §5.1.2.2: offset of the checksum within the VRRP header.
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

/// A VRRP socket operation failed.
#[derive(Debug, Error)]
#[error("VRRP socket on ifindex {ifindex}: {op}: {source}")]
pub struct SocketError {
    /// The interface.
    pub ifindex: u32,
    /// What was being done.
    pub op: &'static str,
    /// The system error.
    #[source]
    pub source: io::Error,
}

/// A received VRRP datagram's addressing. For IPv4, `buf[..len]` is the whole IP packet; for
/// IPv6 it is the VRRP message, and the hop limit and destination come from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the buffer.
    pub len: usize,
    /// Sender's address.
    pub source: IpAddr,
    /// IPv6 only: destination address (multicast group or our unicast address).
    pub destination: Option<IpAddr>,
    /// IPv6 only: hop limit (RFC 5798 §7.1 requires 255).
    pub hop_limit: Option<u8>,
}

/// One raw VRRP socket bound to an interface.
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    ifindex: u32,
    ipv6: bool,
}

impl VrrpSocket {
    /// Opens the IPv4 socket on `interface` (`ifindex`); [`VrrpSocket::join`] adds its groups.
    pub fn open_v4(interface: &str, ifindex: u32) -> Result<Self, SocketError> {
        let err = error_at(ifindex);
        let socket = raw_socket(Domain::IPV4, interface, ifindex, IPPROTO_VRRP)?;
        socket
            .set_header_included_v4(true)
            .map_err(err("IP_HDRINCL"))?;
        socket
            .set_multicast_loop_v4(false)
            .map_err(err("IP_MULTICAST_LOOP"))?;
        socket
            .set_multicast_ttl_v4(u32::from(VRRP_TTL))
            .map_err(err("IP_MULTICAST_TTL"))?;
        Self::registered(socket, ifindex, false)
    }

    /// keepalived.conf `auth_type AH`: opens a receive-only raw IP protocol 51 socket on
    /// `interface` (`ifindex`) (joined to the instances' groups by [`VrrpSocket::join`]):
    /// AH-protected adverts (RFC 2402 §2: the IPv4
    /// header's protocol is AH, not VRRP) never reach the protocol 112 socket. Adverts are
    /// sent on the protocol 112 socket, whose header kad writes itself.
    pub fn open_v4_ah(interface: &str, ifindex: u32) -> Result<Self, SocketError> {
        let socket = raw_socket(Domain::IPV4, interface, ifindex, IPPROTO_AH)?;
        Self::registered(socket, ifindex, false)
    }

    /// `socket` on `ifindex`, registered with tokio.
    fn registered(socket: Socket, ifindex: u32, ipv6: bool) -> Result<Self, SocketError> {
        Ok(Self {
            fd: register(socket).map_err(error_at(ifindex)("register with tokio"))?,
            ifindex,
            ipv6,
        })
    }

    /// Joins multicast `group` on the socket's interface (keepalived: `if_join_vrrp_group`
    /// for the instance's `mcast_dst_ip`, else global `vrrp_mcast_group4` /
    /// `vrrp_mcast_group6`), so that the kernel delivers adverts sent to it (and the NIC
    /// lets their frames in). Joining a group the socket is already in is not an error.
    pub fn join(&self, group: IpAddr) -> Result<(), SocketError> {
        let socket = self.fd.get_ref();
        let (result, op) = match group {
            IpAddr::V4(v4) => (
                socket.join_multicast_v4_n(&v4, &InterfaceIndexOrAddress::Index(self.ifindex)),
                "IP_ADD_MEMBERSHIP",
            ),
            IpAddr::V6(v6) => (
                socket.join_multicast_v6(&v6, self.ifindex),
                "IPV6_JOIN_GROUP",
            ),
        };
        match result {
            Err(err) if err.raw_os_error() != Some(libc::EADDRINUSE) => Err(self.error(op, err)),
            _ => Ok(()),
        }
    }

    /// Opens the IPv6 socket on `interface` (`ifindex`), sending from `source` (the
    /// interface's link-local address, RFC 5798 §5.1.2.1); [`VrrpSocket::join`] adds its
    /// groups.
    pub fn open_v6(interface: &str, ifindex: u32, source: Ipv6Addr) -> Result<Self, SocketError> {
        let err = error_at(ifindex);
        let socket = raw_socket(Domain::IPV6, interface, ifindex, IPPROTO_VRRP)?;
        set_int(
            &socket,
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            VRRP_CHECKSUM_OFFSET,
        )
        .map_err(err("IPV6_CHECKSUM"))?;
        set_int(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)
            .map_err(err("IPV6_RECVHOPLIMIT"))?;
        set_int(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
            .map_err(err("IPV6_RECVPKTINFO"))?;
        socket
            .set_multicast_loop_v6(false)
            .map_err(err("IPV6_MULTICAST_LOOP"))?;
        socket
            .set_multicast_hops_v6(u32::from(VRRP_TTL))
            .map_err(err("IPV6_MULTICAST_HOPS"))?;
        socket
            .set_unicast_hops_v6(u32::from(VRRP_TTL))
            .map_err(err("IPV6_UNICAST_HOPS"))?;
        socket
            .set_multicast_if_v6(ifindex)
            .map_err(err("IPV6_MULTICAST_IF"))?;
        let scope = if source.is_unicast_link_local() {
            ifindex
        } else {
            0
        };
        socket
            .bind(&SockAddr::from(SocketAddrV6::new(source, 0, 0, scope)))
            .map_err(err("bind source address"))?;
        Self::registered(socket, ifindex, true)
    }

    /// keepalived.conf `kernel_rx_buf_size`: sets `SO_RCVBUF` to `bytes` (the kernel doubles
    /// it and caps it at `net.core.rmem_max`), replacing kad's own large default.
    pub fn set_receive_buffer(&self, bytes: u64) -> Result<(), SocketError> {
        let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        set_int(self.fd.get_ref(), libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)
            .map_err(|source| self.error("SO_RCVBUF", source))
    }

    /// The interface this socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends every `(packet, destination, ttl)` of `batch` with as few `sendmmsg(2)` calls as
    /// the kernel allows (one, normally), without waiting. Returns, per packet, whether it
    /// went; a packet the kernel refuses is reported and the rest are still tried. This is
    /// what keeps a Master of hundreds of instances at one system call per advert interval.
    ///
    /// `ttl` is the IPv6 hop limit of the packet (an `IPV6_HOPLIMIT` control message:
    /// keepalived's `unicast_ttl`); IPv4 packets carry their TTL in the header kad wrote.
    pub fn try_send_batch(&self, batch: &[(&[u8], IpAddr, u8)]) -> Vec<Result<(), SocketError>> {
        let targets: Vec<SockAddr> = batch.iter().map(|(_, dst, _)| self.target(*dst)).collect();
        let mut iovecs: Vec<libc::iovec> = batch
            .iter()
            .map(|(packet, _, _)| libc::iovec {
                iov_base: packet.as_ptr() as *mut libc::c_void,
                iov_len: packet.len(),
            })
            .collect();
        let mut controls: Vec<HopLimitControl> = batch
            .iter()
            .map(|(_, _, ttl)| HopLimitControl::new(*ttl))
            .collect();
        let ipv6 = self.ipv6;
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .zip(&targets)
            .zip(controls.iter_mut())
            .map(|((iov, target), control)| {
                // SAFETY: mmsghdr is plain old data; all-zero is a valid empty header.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_name = target.as_ptr() as *mut libc::c_void;
                header.msg_hdr.msg_namelen = target.len();
                header.msg_hdr.msg_iov = iov;
                header.msg_hdr.msg_iovlen = 1;
                if ipv6 {
                    header.msg_hdr.msg_control = (&raw mut control.buffer).cast();
                    header.msg_hdr.msg_controllen = control.len();
                }
                header
            })
            .collect();
        let mut results: Vec<Result<(), SocketError>> = Vec::with_capacity(batch.len());
        let fd = self.fd.get_ref().as_raw_fd();
        while results.len() < headers.len() {
            let start = results.len();
            let rest = &mut headers[start..];
            let count = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            // SAFETY: `rest` points at `count` initialised headers whose names, iovecs,
            // control messages and buffers (`targets`, `iovecs`, `controls`, `batch`) all
            // outlive this call; MSG_DONTWAIT keeps it from blocking.
            let sent = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), count, libc::MSG_DONTWAIT) };
            let Ok(sent @ 1..) = usize::try_from(sent) else {
                // The first remaining message failed: report it, go on with the next.
                results.push(Err(self.error("sendmmsg", io::Error::last_os_error())));
                continue;
            };
            for index in start..start + sent {
                let expected = batch.get(index).map_or(0, |(packet, _, _)| packet.len());
                let got = headers
                    .get(index)
                    .map_or(0, |header| header.msg_len as usize);
                results.push(if got == expected {
                    Ok(())
                } else {
                    Err(self.error(
                        "sendmmsg",
                        io::Error::other(format!("sent {got} of {expected} bytes")),
                    ))
                });
            }
        }
        results
    }

    fn target(&self, destination: IpAddr) -> SockAddr {
        match destination {
            IpAddr::V4(v4) => SockAddr::from(SocketAddr::new(IpAddr::V4(v4), 0)),
            IpAddr::V6(v6) => {
                let scope = if v6.is_multicast() || v6.is_unicast_link_local() {
                    self.ifindex
                } else {
                    0
                };
                SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope))
            }
        }
    }

    /// Sends `packet` to `destination`: for IPv4 a whole IP packet (its header names the
    /// destination too), for IPv6 a VRRP message (the kernel fills in the checksum).
    pub async fn send(&self, packet: &[u8], destination: IpAddr) -> Result<(), SocketError> {
        let target = self.target(destination);
        loop {
            let mut guard = self
                .fd
                .writable()
                .await
                .map_err(|source| self.error("poll", source))?;
            match guard.try_io(|fd| fd.get_ref().send_to(packet, &target)) {
                Ok(Ok(sent)) if sent == packet.len() => return Ok(()),
                Ok(Ok(sent)) => {
                    return Err(self.error(
                        "send",
                        io::Error::other(format!("sent {sent} of {} bytes", packet.len())),
                    ));
                }
                Ok(Err(source)) => return Err(self.error("send", source)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Receives one datagram into `buf`.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<Received, SocketError> {
        loop {
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|source| self.error("poll", source))?;
            match guard.try_io(|fd| recv_msg(fd.get_ref(), buf, self.ipv6)) {
                Ok(result) => return result.map_err(|source| self.error("recv", source)),
                Err(_would_block) => continue,
            }
        }
    }

    fn error(&self, op: &'static str, source: io::Error) -> SocketError {
        SocketError {
            ifindex: self.ifindex,
            op,
            source,
        }
    }
}

/// One `IPV6_HOPLIMIT` control message (RFC 3542 §6.3): the hop limit of one IPv6 packet.
struct HopLimitControl {
    /// Room for one `cmsghdr` and its `c_int`, 8-byte aligned as `cmsghdr` wants.
    buffer: [u64; 4],
}

impl HopLimitControl {
    fn new(hop_limit: u8) -> Self {
        let mut control = Self { buffer: [0; 4] };
        let data_len = size_of::<libc::c_int>() as u32;
        // SAFETY: CMSG_LEN / CMSG_SPACE are pure arithmetic; the header and its data fit in
        // the 32-byte buffer (CMSG_SPACE(4) is 24 on Linux), which is 8-byte aligned.
        unsafe {
            let header = control.buffer.as_mut_ptr().cast::<libc::cmsghdr>();
            (*header).cmsg_len = libc::CMSG_LEN(data_len) as usize;
            (*header).cmsg_level = libc::IPPROTO_IPV6;
            (*header).cmsg_type = libc::IPV6_HOPLIMIT;
            let data = libc::CMSG_DATA(header).cast::<libc::c_int>();
            std::ptr::write_unaligned(data, libc::c_int::from(hop_limit));
        }
        control
    }

    /// The message's length for `msg_controllen`.
    fn len(&self) -> usize {
        // SAFETY: pure arithmetic.
        unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) as usize }
    }
}

/// Builds a [`SocketError`] for `ifindex` from an operation name and an I/O error.
fn error_at(ifindex: u32) -> impl Fn(&'static str) -> Box<dyn FnOnce(io::Error) -> SocketError> {
    move |op| {
        Box::new(move |source| SocketError {
            ifindex,
            op,
            source,
        })
    }
}

/// A non-blocking raw IP socket for `protocol` (112 VRRP, 51 AH) bound to `interface`.
fn raw_socket(
    domain: Domain,
    interface: &str,
    ifindex: u32,
    protocol: u8,
) -> Result<Socket, SocketError> {
    let err = error_at(ifindex);
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(i32::from(protocol))))
        .map_err(err("socket"))?;
    socket.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
    socket
        .bind_device(Some(interface.as_bytes()))
        .map_err(err("SO_BINDTODEVICE"))?;
    // A burst of garbage must not crowd valid adverts out of the queue while the receive
    // task catches up (keepalived's kernel_rx_buf_size): ask for a large buffer, beyond
    // rmem_max when privileged (SO_RCVBUFFORCE), else whatever the kernel allows.
    if set_int(
        &socket,
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        RECEIVE_BUFFER,
    )
    .is_err()
    {
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER as usize);
    }
    Ok(socket)
}

/// Hands `socket` to tokio's reactor.
fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the Socket owns its fd and AsyncFd owns the Socket, so the fd stays open and is
    // not reused for as long as it is registered.
    unsafe { AsyncFd::register(socket) }.map_err(|err| err.into_parts().1)
}

fn set_int(
    socket: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// recvmsg(2) with room for the IPv6 hop-limit and packet-info control messages.
fn recv_msg(socket: &Socket, buf: &mut [u8], ipv6: bool) -> io::Result<Received> {
    let mut from = socket2::SockAddrStorage::zeroed();
    let mut control = [MaybeUninit::<u64>::uninit(); 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut from).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>();
    // SAFETY: every pointer in msg refers to a live buffer of the stated length.
    let len = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, 0) };
    let len = usize::try_from(len).map_err(|_| io::Error::last_os_error())?;
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "datagram larger than the buffer",
        ));
    }
    // SAFETY: the kernel wrote a sockaddr of msg_namelen bytes into `from`.
    let source = unsafe { SockAddr::new(from, msg.msg_namelen) }
        .as_socket()
        .map(|addr| addr.ip())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "sender is not an IP address"))?;
    let mut received = Received {
        len,
        source,
        destination: None,
        hop_limit: None,
    };
    if ipv6 {
        // SAFETY: walking the control buffer the kernel filled, with the libc CMSG macros.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
            while !cmsg.is_null() {
                let header = &*cmsg;
                if header.cmsg_level == libc::IPPROTO_IPV6 {
                    let data = libc::CMSG_DATA(cmsg);
                    if header.cmsg_type == libc::IPV6_HOPLIMIT {
                        let hops = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                        received.hop_limit = u8::try_from(hops).ok();
                    } else if header.cmsg_type == libc::IPV6_PKTINFO {
                        let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                        received.destination =
                            Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
            }
        }
    }
    Ok(received)
}
