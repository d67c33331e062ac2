//! BFD's UDP sockets (RFC 5881 single hop, RFC 5883 multihop), as keepalived opens them:
//! one receive socket per family and port (3784, or 4784 for multihop), reporting each
//! datagram's TTL / hop limit and destination address; and one send socket per session,
//! bound to the session's source address and a source port taken at random from the local
//! port range clipped to 49152–65535 (RFC 5881 §4), with the session's TTL (255 unless `ttl`
//! says otherwise: RFC 5881 §5, GTSM).
//!
//! Non-blocking; the BFD thread polls the descriptors itself.

use std::{
    io::{self, IoSliceMut},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::{AsFd, AsRawFd as _, BorrowedFd, RawFd},
};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;

/// RFC 5881 §4 / §4: the lowest source port a BFD control packet may come from.
pub const SOURCE_PORT_MIN: u16 = 49152;
/// The highest.
pub const SOURCE_PORT_MAX: u16 = u16::MAX;

/// A BFD socket could not be set up.
#[derive(Debug, Error)]
#[error("BFD socket {what} {address}: {source}")]
pub struct BfdSocketError {
    /// What was being done (`binding`, `setting the TTL of`, …).
    pub what: &'static str,
    /// The address concerned.
    pub address: SocketAddr,
    /// The system error.
    #[source]
    pub source: io::Error,
}

/// One received datagram's addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The sender (address and source port).
    pub source: SocketAddr,
    /// The destination address (our address the packet was sent to), when reported.
    pub destination: Option<IpAddr>,
    /// TTL / hop limit, when reported (keepalived logs a warning when it is not).
    pub ttl: Option<u8>,
}

/// A receive socket: UDP `port` on every address of one family.
pub struct BfdListener {
    socket: Socket,
    ipv6: bool,
    port: u16,
}

impl BfdListener {
    /// Binds `port` on the wildcard address of the family (`ipv6`), asking for the TTL /
    /// hop limit and destination of every datagram.
    pub fn bind(ipv6: bool, port: u16) -> Result<Self, BfdSocketError> {
        let address = if ipv6 {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
        };
        let fail = |what| {
            move |source| BfdSocketError {
                what,
                address,
                source,
            }
        };
        let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
        let socket =
            Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(fail("opening"))?;
        socket.set_nonblocking(true).map_err(fail("configuring"))?;
        socket
            .set_reuse_address(true)
            .map_err(fail("configuring"))?;
        if ipv6 {
            socket.set_only_v6(true).map_err(fail("configuring"))?;
            socket
                .set_recv_hoplimit_v6(true)
                .map_err(fail("asking for the hop limit on"))?;
            set_flag(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
                .map_err(fail("asking for the destination on"))?;
        } else {
            set_flag(&socket, libc::IPPROTO_IP, libc::IP_RECVTTL)
                .map_err(fail("asking for the TTL on"))?;
            set_flag(&socket, libc::IPPROTO_IP, libc::IP_PKTINFO)
                .map_err(fail("asking for the destination on"))?;
        }
        socket.bind(&address.into()).map_err(fail("binding"))?;
        Ok(Self { socket, ipv6, port })
    }

    /// The descriptor to poll.
    pub fn raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Whether this is the IPv6 socket.
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// The UDP port it receives on (3784 single hop, 4784 multihop).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Reads one datagram into `buffer`; `Ok(None)` when none is waiting.
    pub fn receive(&self, buffer: &mut [u8]) -> io::Result<Option<Received>> {
        let mut control = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let mut iov = [IoSliceMut::new(buffer)];
        let message = match recvmsg::<SockaddrStorage>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut control),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(message) => message,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(err) => return Err(io::Error::from(err)),
        };
        let source = message.address.and_then(|address| {
            address
                .as_sockaddr_in()
                .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                .or_else(|| {
                    address
                        .as_sockaddr_in6()
                        .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
                })
        });
        let (mut destination, mut ttl) = (None, None);
        if let Ok(cmsgs) = message.cmsgs() {
            for cmsg in cmsgs {
                match cmsg {
                    ControlMessageOwned::Ipv4Ttl(value) => ttl = u8::try_from(value).ok(),
                    ControlMessageOwned::Ipv6HopLimit(value) => ttl = u8::try_from(value).ok(),
                    ControlMessageOwned::Ipv4PacketInfo(info) => {
                        destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            info.ipi_addr.s_addr,
                        ))));
                    }
                    ControlMessageOwned::Ipv6PacketInfo(info) => {
                        destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
        }
        let Some(source) = source else {
            return Ok(None);
        };
        let source = match source {
            // A v4-mapped sender on the IPv6 socket cannot happen (IPV6_V6ONLY); keep the
            // canonical form anyway.
            SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
                Some(v4) => SocketAddr::from((v4, v6.port())),
                None => SocketAddr::V6(v6),
            },
            v4 => v4,
        };
        Ok(Some(Received {
            len: message.bytes,
            source,
            destination,
            ttl,
        }))
    }
}

impl AsFd for BfdListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// A session's send socket.
pub struct BfdSender {
    socket: Socket,
    local: SocketAddr,
}

impl BfdSender {
    /// Opens a socket bound to `source` (or the wildcard address of `neighbor`'s family) and
    /// a free port picked from `random` in the allowed range, with `ttl` as TTL / hop limit.
    pub fn open(
        neighbor: IpAddr,
        source: Option<IpAddr>,
        ttl: u8,
        random: u32,
    ) -> Result<Self, BfdSocketError> {
        let ip = source.unwrap_or(match neighbor {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        let fail = |what, address| {
            move |source| BfdSocketError {
                what,
                address,
                source,
            }
        };
        let domain = if ip.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let any = SocketAddr::new(ip, 0);
        let socket =
            Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(fail("opening", any))?;
        socket
            .set_nonblocking(true)
            .map_err(fail("configuring", any))?;
        if ip.is_ipv6() {
            socket
                .set_unicast_hops_v6(u32::from(ttl))
                .map_err(fail("setting the hop limit of", any))?;
        } else {
            socket
                .set_ttl_v4(u32::from(ttl))
                .map_err(fail("setting the TTL of", any))?;
        }
        let (low, high) = port_range();
        let span = u32::from(high - low) + 1;
        let first = low + u16::try_from(random % span).unwrap_or(0);
        let mut port = first;
        loop {
            let address = SocketAddr::new(ip, port);
            match socket.bind(&address.into()) {
                Ok(()) => {
                    return Ok(Self {
                        socket,
                        local: address,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AddrInUse => {}
                Err(err) => return Err(fail("binding", address)(err)),
            }
            port = if port == high { low } else { port + 1 };
            if port == first {
                return Err(fail("binding", any)(io::Error::from(
                    io::ErrorKind::AddrInUse,
                )));
            }
        }
    }

    /// The address and port packets leave from.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Sends one packet to `to` (the neighbor's control port). A full send buffer drops the
    /// packet (BFD does not retransmit; the next one follows on its interval).
    pub fn send(&self, packet: &[u8], to: SocketAddr) -> io::Result<()> {
        match self.socket.send_to(packet, &to.into()) {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// The source ports BFD may use: `net.ipv4.ip_local_port_range` clipped to 49152–65535, or
/// all of 49152–65535 when that leaves fewer than 1024 (keepalived's rule).
fn port_range() -> (u16, u16) {
    let configured = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut words = text.split_whitespace().map(str::parse::<u16>);
            match (words.next(), words.next()) {
                (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
                _ => None,
            }
        });
    let (low, high) = configured.unwrap_or((SOURCE_PORT_MIN, 60999));
    // (The top of the range is 65535, u16's maximum: nothing to clip there.)
    let low = low.max(SOURCE_PORT_MIN);
    if u32::from(low) + 1023 > u32::from(high) {
        (SOURCE_PORT_MIN, SOURCE_PORT_MAX)
    } else {
        (low, high)
    }
}

fn set_flag(socket: &Socket, level: libc::c_int, name: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads size_of::<c_int>() bytes from a valid c_int for the duration
    // of the call; the descriptor is owned by `socket`.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const one).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
                .unwrap_or(libc::socklen_t::MAX),
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_range_stays_within_rfc_5881() {
        let (low, high) = port_range();
        assert!(low >= SOURCE_PORT_MIN && u32::from(low) + 1023 <= u32::from(high));
    }
}
