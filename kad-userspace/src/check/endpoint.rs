//! Where a checker connects and from where: keepalived.conf `connect_ip`, `connect_port`,
//! `bindto`, `bind_port`, `bind_if`, `fwmark` (SO_MARK) and `connect_timeout`, applied to
//! the sockets of every network checker.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6},
    time::Duration,
};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::ProbeError;

/// The socket options of one checker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Where to connect: `connect_ip`/`connect_port`, else the real server's address/port.
    pub addr: SocketAddr,
    /// keepalived.conf `bindto` / `bind_port`: the local address (unspecified address when
    /// only `bind_port` is given).
    pub bind: Option<SocketAddr>,
    /// keepalived.conf `bind_if`: SO_BINDTODEVICE (needed for IPv6 link-local addresses).
    pub bind_if: Option<String>,
    /// keepalived.conf `fwmark`: SO_MARK on the checker's packets.
    pub fwmark: Option<u32>,
    /// keepalived.conf `connect_timeout`.
    pub connect_timeout: Duration,
}

impl Endpoint {
    /// A non-blocking socket of `ty`/`protocol` in the family of the target, with the bind
    /// options set. Created non-blocking (`SOCK_NONBLOCK`) rather than switched afterwards:
    /// two `fcntl(2)` calls fewer per probe, which at thousands of checks a second counts.
    pub fn socket(&self, ty: Type, protocol: Option<Protocol>) -> Result<Socket, ProbeError> {
        let domain = Domain::for_address(self.addr);
        let socket = Socket::new(domain, ty.nonblocking(), protocol).map_err(ProbeError::socket)?;
        self.prepare(&socket)?;
        Ok(socket)
    }

    /// Sets SO_MARK, SO_BINDTODEVICE and the local address on `socket`.
    pub fn prepare(&self, socket: &Socket) -> Result<(), ProbeError> {
        if let Some(mark) = self.fwmark {
            socket.set_mark(mark).map_err(ProbeError::socket)?;
        }
        if let Some(dev) = &self.bind_if {
            socket
                .bind_device(Some(dev.as_bytes()))
                .map_err(ProbeError::socket)?;
        }
        if let Some(bind) = self.bind {
            let bind = match (bind.ip().is_unspecified(), self.addr.ip()) {
                (true, IpAddr::V6(_)) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), bind.port()),
                (true, IpAddr::V4(_)) => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), bind.port()),
                _ => bind,
            };
            let bind = self.scoped(bind)?;
            if bind.port() != 0 {
                socket.set_reuse_address(true).map_err(ProbeError::socket)?;
            }
            socket
                .bind(&SockAddr::from(bind))
                .map_err(ProbeError::socket)?;
        }
        Ok(())
    }

    /// The address to connect to: an IPv6 link-local target gets `bind_if`'s index as its
    /// scope (RFC 4007 §11), which connect(2) needs.
    pub fn target(&self) -> Result<SocketAddr, ProbeError> {
        self.scoped(self.addr)
    }

    /// `addr` with `bind_if`'s index as scope when it is IPv6 link-local (keepalived.conf(5):
    /// bind_if is "needed if the bindto address is IPv6 link local").
    fn scoped(&self, addr: SocketAddr) -> Result<SocketAddr, ProbeError> {
        match (addr, &self.bind_if) {
            (SocketAddr::V6(v6), Some(dev))
                if v6.ip().is_unicast_link_local() && v6.scope_id() == 0 =>
            {
                let index = crate::net::interface::ifindex(dev)
                    .map_err(|e| ProbeError::Socket(e.to_string()))?;
                Ok(SocketAddr::V6(SocketAddrV6::new(
                    *v6.ip(),
                    v6.port(),
                    v6.flowinfo(),
                    index,
                )))
            }
            _ => Ok(addr),
        }
    }

    /// A TCP connection to the target within `connect_timeout`.
    pub async fn connect_tcp(&self) -> Result<TcpStream, ProbeError> {
        let target = self.target()?;
        let socket = self.socket(Type::STREAM, Some(Protocol::TCP))?;
        let socket = TcpSocket::from_std_stream(socket.into());
        match tokio::time::timeout(self.connect_timeout, socket.connect(target)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(err)) => Err(ProbeError::Connect(err.to_string())),
            Err(_) => Err(ProbeError::Timeout("connect")),
        }
    }

    /// A UDP socket connected to the target (ICMP errors then come back as receive errors).
    pub async fn connect_udp(&self) -> Result<UdpSocket, ProbeError> {
        let socket = self.socket(Type::DGRAM, Some(Protocol::UDP))?;
        let socket = UdpSocket::from_std(socket.into()).map_err(ProbeError::socket)?;
        socket
            .connect(self.target()?)
            .await
            .map_err(|e| ProbeError::Connect(e.to_string()))?;
        Ok(socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_created_non_blocking() {
        let endpoint = Endpoint {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 9)),
            bind: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Duration::from_secs(1),
        };
        for (ty, protocol) in [(Type::STREAM, Protocol::TCP), (Type::DGRAM, Protocol::UDP)] {
            let socket = endpoint.socket(ty, Some(protocol)).expect("socket");
            assert!(socket.nonblocking().expect("flags"), "{ty:?}");
        }
    }
}
