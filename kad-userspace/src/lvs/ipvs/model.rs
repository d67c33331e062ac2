//! Services and destinations as kad reasons about them, and their translation to and from
//! the IPVS attributes (`include/uapi/linux/ip_vs.h` semantics).

use std::{
    collections::BTreeMap,
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use super::{
    attr::{DaemonAttr, DestAttr, SvcAttr},
    error::AttrError,
    uapi::{self, AF_INET, AF_INET6, fwd, svc_flags, tunnel},
};

/// Address family of a service or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// AF_INET.
    Inet,
    /// AF_INET6.
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Self {
        if addr.is_ipv4() {
            Self::Inet
        } else {
            Self::Inet6
        }
    }

    fn af(self) -> u16 {
        match self {
            Self::Inet => AF_INET,
            Self::Inet6 => AF_INET6,
        }
    }

    fn from_af(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(Self::Inet),
            AF_INET6 => Some(Self::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based service (keepalived.conf: protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
}

impl Protocol {
    /// keepalived.conf `protocol TCP|UDP|SCTP` (case-insensitive).
    pub fn from_keyword(word: &str) -> Option<Self> {
        match word.to_ascii_uppercase().as_str() {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }

    fn number(self) -> u16 {
        match self {
            Self::Tcp => libc::IPPROTO_TCP as u16,
            Self::Udp => libc::IPPROTO_UDP as u16,
            Self::Sctp => libc::IPPROTO_SCTP as u16,
        }
    }

    fn from_number(n: u16) -> Option<Self> {
        match i32::from(n) {
            libc::IPPROTO_TCP => Some(Self::Tcp),
            libc::IPPROTO_UDP => Some(Self::Udp),
            libc::IPPROTO_SCTP => Some(Self::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        })
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// keepalived.conf: virtual_server IP PORT (with its protocol).
    Addr {
        /// The protocol.
        protocol: Protocol,
        /// The virtual address and port.
        addr: SocketAddr,
    },
    /// keepalived.conf: virtual_server fwmark N (per address family).
    Fwmark {
        /// The family.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            Self::Addr { addr, .. } => Family::of(addr.ip()),
            Self::Fwmark { family, .. } => *family,
        }
    }

    /// The attributes that name this service in a request.
    pub fn attrs(&self) -> Vec<SvcAttr> {
        match *self {
            Self::Addr { protocol, addr } => vec![
                SvcAttr::Af(Family::of(addr.ip()).af()),
                SvcAttr::Protocol(protocol.number()),
                SvcAttr::Addr(addr_bytes(addr.ip())),
                SvcAttr::Port(addr.port()),
            ],
            Self::Fwmark { family, mark } => {
                vec![SvcAttr::Af(family.af()), SvcAttr::Fwmark(mark)]
            }
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr { protocol, addr } => write!(f, "{protocol} {addr}"),
            Self::Fwmark {
                family: Family::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            Self::Fwmark {
                family: Family::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// A virtual service and its options (`ipvsadm -A/-E`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Which service.
    pub key: ServiceKey,
    /// keepalived.conf: lvs_sched (scheduler module name without `ip_vs_`).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` bits kad sets: persistent, one-packet, scheduler flags (never
    /// `HASHED`, which is the kernel's own).
    pub flags: u32,
    /// keepalived.conf: persistence_timeout (seconds; 0 when not persistent).
    pub timeout: u32,
    /// keepalived.conf: persistence_granularity: for IPv4 the mask as an integer
    /// (0xffffffff = one client address), for IPv6 a prefix length (128).
    pub netmask: u32,
    /// keepalived.conf: persistence_engine.
    pub pe_name: Option<String>,
}

impl Service {
    /// The default netmask of a family (one client address).
    pub fn default_netmask(family: Family) -> u32 {
        match family {
            Family::Inet => u32::MAX,
            Family::Inet6 => 128,
        }
    }

    /// The full attribute set of `IPVS_CMD_NEW_SERVICE`/`SET_SERVICE`.
    pub fn attrs(&self) -> Vec<SvcAttr> {
        let mut attrs = self.key.attrs();
        attrs.push(SvcAttr::SchedName(self.scheduler.clone()));
        if let Some(pe) = &self.pe_name {
            attrs.push(SvcAttr::PeName(pe.clone()));
        }
        attrs.push(SvcAttr::Flags {
            flags: self.flags,
            mask: u32::MAX,
        });
        attrs.push(SvcAttr::Timeout(self.timeout));
        attrs.push(SvcAttr::Netmask(match self.key.family() {
            // __be32: the mask's octets in network order.
            Family::Inet => self.netmask.to_be_bytes(),
            // The kernel compares the raw value against 1..=128.
            Family::Inet6 => self.netmask.to_ne_bytes(),
        }));
        attrs
    }

    /// Reads a service from the kernel's attributes (a `GET_SERVICE` reply).
    pub fn from_attrs(attrs: &[SvcAttr]) -> Result<Self, AttrError> {
        let mut af = None;
        let mut protocol = None;
        let mut addr = None;
        let mut port = None;
        let mut fwmark = None;
        let mut scheduler = None;
        let mut flags = 0;
        let mut timeout = 0;
        let mut netmask = None;
        let mut pe_name = None;
        for attr in attrs {
            match attr {
                SvcAttr::Af(v) => af = Some(*v),
                SvcAttr::Protocol(v) => protocol = Some(*v),
                SvcAttr::Addr(v) => addr = Some(*v),
                SvcAttr::Port(v) => port = Some(*v),
                SvcAttr::Fwmark(v) => fwmark = Some(*v),
                SvcAttr::SchedName(v) => scheduler = Some(v.clone()),
                SvcAttr::Flags { flags: f, .. } => flags = *f & !svc_flags::HASHED,
                SvcAttr::Timeout(v) => timeout = *v,
                SvcAttr::Netmask(v) => netmask = Some(*v),
                SvcAttr::PeName(v) if !v.is_empty() => pe_name = Some(v.clone()),
                SvcAttr::PeName(_) | SvcAttr::Other(_) => {}
            }
        }
        let af = af.ok_or(AttrError::Missing("service without address family"))?;
        let family = Family::from_af(af).ok_or(AttrError::Family {
            what: "service",
            af,
        })?;
        let key = match fwmark.filter(|&m| m != 0) {
            Some(mark) => ServiceKey::Fwmark { family, mark },
            None => {
                let number = protocol.ok_or(AttrError::Missing("service without protocol"))?;
                let protocol = Protocol::from_number(number).ok_or(AttrError::Protocol(number))?;
                let ip = ip_from_bytes(
                    family,
                    &addr.ok_or(AttrError::Missing("service without address"))?,
                );
                ServiceKey::Addr {
                    protocol,
                    addr: SocketAddr::new(
                        ip,
                        port.ok_or(AttrError::Missing("service without port"))?,
                    ),
                }
            }
        };
        let netmask = match (family, netmask) {
            (Family::Inet, Some(m)) => u32::from_be_bytes(m),
            (Family::Inet6, Some(m)) => u32::from_ne_bytes(m),
            (family, None) => Self::default_netmask(family),
        };
        Ok(Self {
            key,
            scheduler: scheduler.ok_or(AttrError::Missing("service without scheduler"))?,
            flags,
            timeout,
            netmask,
            pe_name,
        })
    }
}

/// The checksum option of a tunnel (keepalived.conf: TUN ... nocsum|csum|remcsum).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelCsum {
    /// nocsum (the default).
    #[default]
    NoCsum,
    /// csum.
    Csum,
    /// remcsum.
    RemCsum,
}

/// The encapsulation of an LVS-TUN destination (keepalived.conf: TUN type ipip|gue|gre).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// IP in IP (the default).
    Ipip,
    /// Generic UDP encapsulation to a port.
    Gue(u16),
    /// GRE.
    Gre,
}

/// How packets reach a destination (keepalived.conf: lvs_method).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forwarding {
    /// NAT (`Masq`).
    Masq,
    /// Local node.
    Local,
    /// DR (`Route`).
    DirectRoute,
    /// TUN (`Tunnel`), with its encapsulation.
    Tunnel(TunnelKind, TunnelCsum),
    /// Cache bypass.
    Bypass,
}

impl fmt::Display for Forwarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Masq => f.write_str("masq"),
            Self::Local => f.write_str("local"),
            Self::DirectRoute => f.write_str("dr"),
            Self::Tunnel(TunnelKind::Ipip, _) => f.write_str("tun ipip"),
            Self::Tunnel(TunnelKind::Gue(port), _) => write!(f, "tun gue port {port}"),
            Self::Tunnel(TunnelKind::Gre, _) => f.write_str("tun gre"),
            Self::Bypass => f.write_str("bypass"),
        }
    }
}

/// A destination (real server) of a service (`ipvsadm -a/-e`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// The real server's address and port.
    pub addr: SocketAddr,
    /// keepalived.conf: lvs_method.
    pub forwarding: Forwarding,
    /// keepalived.conf: weight (0: no new connections).
    pub weight: i32,
    /// keepalived.conf: uthreshold (0: none).
    pub u_threshold: u32,
    /// keepalived.conf: lthreshold (0: none).
    pub l_threshold: u32,
}

impl Dest {
    /// The full attribute set of `IPVS_CMD_NEW_DEST`/`SET_DEST`.
    pub fn attrs(&self) -> Vec<DestAttr> {
        let (method, tun) = match self.forwarding {
            Forwarding::Masq => (fwd::MASQ, None),
            Forwarding::Local => (fwd::LOCALNODE, None),
            Forwarding::DirectRoute => (fwd::DROUTE, None),
            Forwarding::Bypass => (fwd::BYPASS, None),
            Forwarding::Tunnel(kind, csum) => (fwd::TUNNEL, Some((kind, csum))),
        };
        let mut attrs = vec![
            DestAttr::AddrFamily(Family::of(self.addr.ip()).af()),
            DestAttr::Addr(addr_bytes(self.addr.ip())),
            DestAttr::Port(self.addr.port()),
            DestAttr::FwdMethod(method),
            DestAttr::Weight(self.weight.max(0) as u32),
            DestAttr::UThresh(self.u_threshold),
            DestAttr::LThresh(self.l_threshold),
        ];
        if let Some((kind, csum)) = tun {
            let (kind, port) = match kind {
                TunnelKind::Ipip => (tunnel::TYPE_IPIP, None),
                TunnelKind::Gue(port) => (tunnel::TYPE_GUE, Some(port)),
                TunnelKind::Gre => (tunnel::TYPE_GRE, None),
            };
            attrs.push(DestAttr::TunType(kind));
            if let Some(port) = port {
                attrs.push(DestAttr::TunPort(port));
            }
            attrs.push(DestAttr::TunFlags(match csum {
                TunnelCsum::NoCsum => tunnel::FLAG_NOCSUM,
                TunnelCsum::Csum => tunnel::FLAG_CSUM,
                TunnelCsum::RemCsum => tunnel::FLAG_REMCSUM,
            }));
        }
        attrs
    }

    /// The attributes that name this destination in a delete request.
    pub fn key_attrs(addr: SocketAddr) -> Vec<DestAttr> {
        vec![
            DestAttr::AddrFamily(Family::of(addr.ip()).af()),
            DestAttr::Addr(addr_bytes(addr.ip())),
            DestAttr::Port(addr.port()),
        ]
    }

    /// Reads a destination from the kernel's attributes; `service_family` is used when
    /// the reply carries no `ADDR_FAMILY` (kernels before 3.18).
    pub fn from_attrs(attrs: &[DestAttr], service_family: Family) -> Result<Self, AttrError> {
        let mut family = service_family;
        let mut addr = None;
        let mut port = None;
        let mut method = None;
        let mut weight = 0;
        let mut u_threshold = 0;
        let mut l_threshold = 0;
        let mut tun_type = tunnel::TYPE_IPIP;
        let mut tun_port = 0;
        let mut tun_flags = tunnel::FLAG_NOCSUM;
        for attr in attrs {
            match attr {
                DestAttr::AddrFamily(af) => {
                    family = Family::from_af(*af).ok_or(AttrError::Family {
                        what: "dest",
                        af: *af,
                    })?
                }
                DestAttr::Addr(v) => addr = Some(*v),
                DestAttr::Port(v) => port = Some(*v),
                DestAttr::FwdMethod(v) => method = Some(*v & fwd::MASK),
                DestAttr::Weight(v) => weight = *v as i32,
                DestAttr::UThresh(v) => u_threshold = *v,
                DestAttr::LThresh(v) => l_threshold = *v,
                DestAttr::TunType(v) => tun_type = *v,
                DestAttr::TunPort(v) => tun_port = *v,
                DestAttr::TunFlags(v) => tun_flags = *v,
                _ => {}
            }
        }
        let forwarding = match method.ok_or(AttrError::Missing("dest without forwarding method"))? {
            fwd::MASQ => Forwarding::Masq,
            fwd::LOCALNODE => Forwarding::Local,
            fwd::DROUTE => Forwarding::DirectRoute,
            fwd::BYPASS => Forwarding::Bypass,
            fwd::TUNNEL => {
                let kind = match tun_type {
                    tunnel::TYPE_GUE => TunnelKind::Gue(tun_port),
                    tunnel::TYPE_GRE => TunnelKind::Gre,
                    _ => TunnelKind::Ipip,
                };
                let csum = if tun_flags & tunnel::FLAG_REMCSUM != 0 {
                    TunnelCsum::RemCsum
                } else if tun_flags & tunnel::FLAG_CSUM != 0 {
                    TunnelCsum::Csum
                } else {
                    TunnelCsum::NoCsum
                };
                Forwarding::Tunnel(kind, csum)
            }
            other => return Err(AttrError::Forwarding(other)),
        };
        let ip = ip_from_bytes(
            family,
            &addr.ok_or(AttrError::Missing("dest without address"))?,
        );
        Ok(Self {
            addr: SocketAddr::new(ip, port.ok_or(AttrError::Missing("dest without port"))?),
            forwarding,
            weight,
            u_threshold,
            l_threshold,
        })
    }
}

/// A service with its destinations, by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub dests: BTreeMap<SocketAddr, Dest>,
}

/// A whole IPVS table: what the kernel holds, or what kad wants it to hold.
pub type IpvsTable = BTreeMap<ServiceKey, ServiceEntry>;

/// Connection timeouts (keepalived.conf: lvs_timeouts tcp N tcpfin N udp N); 0 leaves one
/// unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP established, seconds.
    pub tcp: u32,
    /// TCP after FIN, seconds.
    pub tcp_fin: u32,
    /// UDP, seconds.
    pub udp: u32,
}

/// Role of the connection-sync daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
}

impl SyncState {
    /// `IP_VS_STATE_*`.
    pub fn number(self) -> u32 {
        match self {
            Self::Master => uapi::state::MASTER,
            Self::Backup => uapi::state::BACKUP,
        }
    }
}

/// keepalived.conf: lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N]
/// [group IP].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// The multicast interface.
    pub interface: String,
    /// `id` (keepalived's default: the instance's virtual_router_id).
    pub sync_id: u32,
    /// `maxlen`.
    pub maxlen: Option<u16>,
    /// `port`.
    pub port: Option<u16>,
    /// `ttl`.
    pub ttl: Option<u8>,
    /// `group`.
    pub group: Option<IpAddr>,
}

impl SyncDaemon {
    /// The attributes of `IPVS_CMD_NEW_DAEMON`.
    pub fn attrs(&self) -> Vec<DaemonAttr> {
        let mut attrs = vec![
            DaemonAttr::State(self.state.number()),
            DaemonAttr::McastIfn(self.interface.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        if let Some(v) = self.maxlen {
            attrs.push(DaemonAttr::SyncMaxlen(v));
        }
        match self.group {
            Some(IpAddr::V4(a)) => attrs.push(DaemonAttr::McastGroup(a.octets())),
            Some(IpAddr::V6(a)) => attrs.push(DaemonAttr::McastGroup6(a.octets())),
            None => {}
        }
        if let Some(v) = self.port {
            attrs.push(DaemonAttr::McastPort(v));
        }
        if let Some(v) = self.ttl {
            attrs.push(DaemonAttr::McastTtl(v));
        }
        attrs
    }
}

/// The 16 bytes of `union nf_inet_addr` for an address (IPv4 in the first four).
pub fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(a) => bytes[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => bytes = a.octets(),
    }
    bytes
}

fn ip_from_bytes(family: Family, bytes: &[u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(*bytes)),
    }
}
