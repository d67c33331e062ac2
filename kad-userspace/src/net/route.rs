//! Routes over rtnetlink: what `ip route add/del` does for keepalived.conf's
//! `virtual_routes` and `static_routes`. Each entry is tagged `proto keepalived` unless the
//! configuration names a `protocol`, and deletes carry the same tag, so kad never removes a
//! matching route some other program installed.

use std::{fmt, net::IpAddr};

use rtnetlink::{
    Handle,
    packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL},
    packet_route::{
        AddressFamily, RouteNetlinkMessage,
        route::{
            RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteMetric,
            RouteMplsTtlPropagation, RouteNextHop, RouteNextHopFlags, RoutePreference,
            RouteProtocol, RouteRealm, RouteScope, RouteType, RouteVia,
        },
    },
};
use thiserror::Error;

use super::netlink::{errno, request};

/// `RTPROT_KEEPALIVED`: the protocol keepalived tags its routes and rules with (shown by
/// `ip route` as `proto keepalived`); kad uses it too, so either daemon recognises them.
pub const PROTOCOL_KEEPALIVED: u8 = 18;

/// The main routing table (`RT_TABLE_MAIN`).
pub const TABLE_MAIN: u32 = 254;

/// keepalived.conf route types: `[TYPE] PREFIX` in `ip route` syntax (default unicast).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteKind {
    /// `unicast`.
    #[default]
    Unicast,
    /// `local`.
    Local,
    /// `broadcast`.
    Broadcast,
    /// `anycast`.
    Anycast,
    /// `multicast`.
    Multicast,
    /// `blackhole`: drop silently.
    Blackhole,
    /// `unreachable`: drop with ICMP host unreachable.
    Unreachable,
    /// `prohibit`: drop with ICMP administratively prohibited.
    Prohibit,
    /// `throw`: continue the rule lookup.
    Throw,
    /// `nat` (refused by Linux since 2.6; passed on as written).
    Nat,
}

impl RouteKind {
    /// The type keyword as `ip route` spells it.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word {
            "unicast" => Self::Unicast,
            "local" => Self::Local,
            "broadcast" => Self::Broadcast,
            "anycast" => Self::Anycast,
            "multicast" => Self::Multicast,
            "blackhole" => Self::Blackhole,
            "unreachable" => Self::Unreachable,
            "prohibit" => Self::Prohibit,
            "throw" => Self::Throw,
            "nat" => Self::Nat,
            _ => return None,
        })
    }

    fn keyword(self) -> &'static str {
        match self {
            Self::Unicast => "unicast",
            Self::Local => "local",
            Self::Broadcast => "broadcast",
            Self::Anycast => "anycast",
            Self::Multicast => "multicast",
            Self::Blackhole => "blackhole",
            Self::Unreachable => "unreachable",
            Self::Prohibit => "prohibit",
            Self::Throw => "throw",
            Self::Nat => "nat",
        }
    }

    /// Whether routes of this type forward to a next hop (and so may name one).
    pub fn has_next_hop(self) -> bool {
        matches!(self, Self::Unicast | Self::Multicast | Self::Anycast)
    }
}

impl From<RouteKind> for RouteType {
    fn from(kind: RouteKind) -> Self {
        match kind {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Anycast => RouteType::Anycast,
            RouteKind::Multicast => RouteType::Multicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Throw => RouteType::Throw,
            RouteKind::Nat => RouteType::Nat,
        }
    }
}

/// keepalived.conf `prepend` (the default), `add`, `append`: how a route is inserted beside
/// routes with the same destination, TOS and metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddMode {
    /// Before matching routes (`ip route prepend`; keepalived's default).
    #[default]
    Prepend,
    /// Only if no route matches (`ip route add`).
    Exclusive,
    /// After matching routes (`ip route append`).
    Append,
}

/// One next hop of a multipath route (`nexthop via ADDR dev DEV weight N onlink`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NextHop {
    /// `via`: the gateway (of either family; another family than the route's is sent as
    /// `RTA_VIA`).
    pub gateway: Option<IpAddr>,
    /// `dev`: the outgoing interface's index.
    pub ifindex: Option<u32>,
    /// `weight` 1..=256 (default 1).
    pub weight: u16,
    /// `onlink`: the gateway is on the link even without a matching prefix.
    pub onlink: bool,
    /// `realms`.
    pub realm: Option<RouteRealm>,
}

/// A route, resolved: interfaces as indexes, names (tables, protocols, scopes, realms) as
/// numbers. keepalived.conf: one entry of `virtual_routes` / `static_routes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRoute {
    /// The route type.
    pub kind: RouteKind,
    /// Destination prefix (`default` is the family's `/0`).
    pub destination: IpAddr,
    /// Its length.
    pub prefix_len: u8,
    /// `table` (default main).
    pub table: u32,
    /// `protocol` (default keepalived).
    pub protocol: u8,
    /// `scope`; None: what `ip route add` would choose.
    pub scope: Option<u8>,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `src`: preferred source address.
    pub preferred_source: Option<IpAddr>,
    /// `via` / `gw`: the gateway of a single-path route.
    pub gateway: Option<IpAddr>,
    /// `dev` / `oif`: the outgoing interface of a single-path route.
    pub ifindex: Option<u32>,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `onlink`.
    pub onlink: bool,
    /// `pervasive`.
    pub pervasive: bool,
    /// `nexthop ...` (or the deprecated `or`): multipath next hops.
    pub nexthops: Vec<NextHop>,
    /// `mtu`, `advmss`, `rtt`, `window`, ... (`RTA_METRICS`).
    pub metrics: Vec<RouteMetric>,
    /// Metrics given with `lock`, as the kernel's `RTAX_LOCK` bit mask.
    pub locked: u32,
    /// `realms`.
    pub realm: Option<RouteRealm>,
    /// `pref low|medium|high` (IPv6 router preference).
    pub preference: Option<RoutePreference>,
    /// `expires SECS` (IPv6).
    pub expires: Option<u32>,
    /// `ttl-propagate enabled|disabled` (MPLS).
    pub ttl_propagate: Option<bool>,
    /// `prepend` / `add` / `append`.
    pub mode: AddMode,
}

impl IpRoute {
    /// A unicast route to `destination/prefix_len` in the main table, tagged keepalived.
    pub fn new(destination: IpAddr, prefix_len: u8) -> Self {
        Self {
            kind: RouteKind::Unicast,
            destination,
            prefix_len,
            table: TABLE_MAIN,
            protocol: PROTOCOL_KEEPALIVED,
            scope: None,
            tos: 0,
            preferred_source: None,
            gateway: None,
            ifindex: None,
            metric: None,
            onlink: false,
            pervasive: false,
            nexthops: Vec::new(),
            metrics: Vec::new(),
            locked: 0,
            realm: None,
            preference: None,
            expires: None,
            ttl_propagate: None,
            mode: AddMode::Prepend,
        }
    }

    /// The scope `ip route add` gives a route without `scope`: host for local and nat
    /// routes, link for broadcast, multicast, anycast and for unicast routes without a
    /// gateway, universe otherwise.
    pub fn default_scope(&self) -> u8 {
        const HOST: u8 = 254;
        const LINK: u8 = 253;
        match self.kind {
            RouteKind::Local | RouteKind::Nat => HOST,
            RouteKind::Broadcast | RouteKind::Multicast | RouteKind::Anycast => LINK,
            RouteKind::Unicast if self.gateway.is_none() && self.nexthops.is_empty() => LINK,
            _ => 0,
        }
    }

    /// The `RTM_NEWROUTE` (`add`) or `RTM_DELROUTE` body for this route. A delete names
    /// everything an add sets except the scope (unless configured), so it matches exactly
    /// this route: same table, type, protocol, gateway(s), interface, source and metric.
    pub fn message(&self, add: bool) -> RouteMessage {
        let mut message = RouteMessage::default();
        let header = &mut message.header;
        header.address_family = family(self.destination);
        header.destination_prefix_length = self.prefix_len;
        header.tos = self.tos;
        header.table = u8::try_from(self.table).unwrap_or(0);
        header.protocol = RouteProtocol::from(self.protocol);
        header.scope = RouteScope::from(match (add, self.scope) {
            (_, Some(scope)) => scope,
            (true, None) => self.default_scope(),
            (false, None) => 255, // RT_SCOPE_NOWHERE: any scope
        });
        header.kind = self.kind.into();
        if self.onlink && self.nexthops.is_empty() {
            header.flags |= RouteFlags::Onlink;
        }
        if self.pervasive {
            header.flags |= RouteFlags::Pervasive;
        }

        let attributes = &mut message.attributes;
        attributes.push(RouteAttribute::Destination(self.destination.into()));
        if self.table > 255 {
            attributes.push(RouteAttribute::Table(self.table));
        }
        if let Some(source) = self.preferred_source {
            attributes.push(RouteAttribute::PrefSource(source.into()));
        }
        if let Some(gateway) = self.gateway {
            attributes.push(gateway_attribute(self.destination, gateway));
        }
        if let Some(ifindex) = self.ifindex {
            attributes.push(RouteAttribute::Oif(ifindex));
        }
        if let Some(metric) = self.metric {
            attributes.push(RouteAttribute::Priority(metric));
        }
        if let Some(realm) = self.realm {
            attributes.push(RouteAttribute::Realm(realm));
        }
        if !self.metrics.is_empty() {
            let mut metrics = self.metrics.clone();
            if self.locked != 0 {
                metrics.push(RouteMetric::Lock(self.locked));
            }
            attributes.push(RouteAttribute::Metrics(metrics));
        }
        if !self.nexthops.is_empty() {
            let hops = self
                .nexthops
                .iter()
                .map(|hop| next_hop(self.destination, hop))
                .collect();
            attributes.push(RouteAttribute::MultiPath(hops));
        }
        if let Some(preference) = self.preference {
            attributes.push(RouteAttribute::Preference(preference));
        }
        if let Some(expires) = self.expires {
            attributes.push(RouteAttribute::Expires(expires));
        }
        if let Some(enabled) = self.ttl_propagate {
            attributes.push(RouteAttribute::TtlPropagate(if enabled {
                RouteMplsTtlPropagation::Enabled
            } else {
                RouteMplsTtlPropagation::Disabled
            }));
        }
        message
    }

    /// `NLM_F_*` flags of the add request for [`Self::mode`].
    pub fn add_flags(&self) -> u16 {
        NLM_F_CREATE
            | match self.mode {
                AddMode::Prepend => 0,
                AddMode::Exclusive => NLM_F_EXCL,
                AddMode::Append => NLM_F_APPEND,
            }
    }
}

impl fmt::Display for IpRoute {
    /// `ip route` style: `blackhole 10.9.0.0/24 table 100`, `10.8.0.0/24 via 10.77.0.254
    /// src 10.77.0.100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind.keyword())?;
        }
        write!(f, "{}/{}", self.destination, self.prefix_len)?;
        if let Some(gateway) = self.gateway {
            write!(f, " via {gateway}")?;
        }
        if let Some(ifindex) = self.ifindex {
            write!(f, " dev #{ifindex}")?;
        }
        for hop in &self.nexthops {
            write!(f, " nexthop")?;
            if let Some(gateway) = hop.gateway {
                write!(f, " via {gateway}")?;
            }
            if let Some(ifindex) = hop.ifindex {
                write!(f, " dev #{ifindex}")?;
            }
        }
        if let Some(source) = self.preferred_source {
            write!(f, " src {source}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

fn family(address: IpAddr) -> AddressFamily {
    match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// `RTA_GATEWAY` for a gateway of the route's family, `RTA_VIA` for the other (an IPv4 route
/// via an IPv6 next hop).
fn gateway_attribute(destination: IpAddr, gateway: IpAddr) -> RouteAttribute {
    match (destination, gateway) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            RouteAttribute::Gateway(RouteAddress::from(gateway))
        }
        (_, IpAddr::V4(v4)) => RouteAttribute::Via(RouteVia::Inet(v4)),
        (_, IpAddr::V6(v6)) => RouteAttribute::Via(RouteVia::Inet6(v6)),
    }
}

fn next_hop(destination: IpAddr, hop: &NextHop) -> RouteNextHop {
    let mut out = RouteNextHop::default();
    if hop.onlink {
        out.flags |= RouteNextHopFlags::Onlink;
    }
    // rtnh_hops holds weight - 1.
    out.hops = u8::try_from(hop.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
    out.interface_index = hop.ifindex.unwrap_or(0);
    if let Some(gateway) = hop.gateway {
        out.attributes.push(gateway_attribute(destination, gateway));
    }
    if let Some(realm) = hop.realm {
        out.attributes.push(RouteAttribute::Realm(realm));
    }
    out
}

/// A route request the kernel refused.
#[derive(Debug, Error)]
pub enum RouteError {
    /// `ip route add` or `del` failed.
    #[error("{op} route {route}: {source}")]
    Request {
        /// `add` or `del`.
        op: &'static str,
        /// The route, `ip route` style.
        route: String,
        /// What the kernel said.
        #[source]
        source: rtnetlink::Error,
    },
}

/// Adds and removes routes through an rtnetlink connection.
#[derive(Clone)]
pub struct RouteControl {
    handle: Handle,
}

impl RouteControl {
    /// Route requests over `handle`'s connection.
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// `ip route prepend|add|append`: installs `route`. An identical route already there is
    /// success (idempotent: a restart re-adds what a crashed run left).
    pub async fn add(&self, route: &IpRoute) -> Result<(), RouteError> {
        let message = RouteNetlinkMessage::NewRoute(route.message(true));
        match request(&self.handle, message, route.add_flags()).await {
            Ok(()) => Ok(()),
            Err(err) if errno(&err) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(RouteError::Request {
                op: "add",
                route: route.to_string(),
                source,
            }),
        }
    }

    /// `ip route del`: removes `route`. Already absent is success (idempotent).
    pub async fn remove(&self, route: &IpRoute) -> Result<(), RouteError> {
        let message = RouteNetlinkMessage::DelRoute(route.message(false));
        match request(&self.handle, message, 0).await {
            Ok(()) => Ok(()),
            Err(err) if matches!(errno(&err), Some(libc::ESRCH | libc::ENOENT)) => Ok(()),
            Err(source) => Err(RouteError::Request {
                op: "del",
                route: route.to_string(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn a_route_with_a_vip_source_in_another_table_names_all_of_it() {
        let mut route = IpRoute::new(v4(10, 8, 0, 0), 24);
        route.gateway = Some(v4(10, 77, 0, 254));
        route.preferred_source = Some(v4(10, 77, 0, 100));
        route.ifindex = Some(7);
        route.table = 100;
        route.metric = Some(5);
        let message = route.message(true);
        assert_eq!(message.header.address_family, AddressFamily::Inet);
        assert_eq!(message.header.destination_prefix_length, 24);
        assert_eq!(message.header.table, 100);
        assert_eq!(message.header.kind, RouteType::Unicast);
        assert_eq!(message.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(message.header.scope, RouteScope::Universe);
        assert_eq!(
            message.attributes,
            vec![
                RouteAttribute::Destination(RouteAddress::Inet(Ipv4Addr::new(10, 8, 0, 0))),
                RouteAttribute::PrefSource(RouteAddress::Inet(Ipv4Addr::new(10, 77, 0, 100))),
                RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(10, 77, 0, 254))),
                RouteAttribute::Oif(7),
                RouteAttribute::Priority(5),
            ]
        );
    }

    #[test]
    fn delete_matches_any_scope_but_the_same_protocol_and_type() {
        let mut route = IpRoute::new(v4(10, 9, 0, 0), 24);
        route.kind = RouteKind::Blackhole;
        let add = route.message(true);
        let del = route.message(false);
        assert_eq!(add.header.scope, RouteScope::Universe);
        assert_eq!(del.header.scope, RouteScope::NoWhere);
        assert_eq!(del.header.kind, RouteType::BlackHole);
        assert_eq!(del.header.protocol, RouteProtocol::KeepAlived);
        assert_eq!(add.attributes, del.attributes);
    }

    #[test]
    fn a_route_without_gateway_gets_link_scope_as_ip_route_gives_it() {
        let mut route = IpRoute::new(v4(10, 10, 0, 0), 16);
        route.ifindex = Some(2);
        assert_eq!(route.message(true).header.scope, RouteScope::Link);
        route.kind = RouteKind::Local;
        assert_eq!(route.message(true).header.scope, RouteScope::Host);
        route.kind = RouteKind::Unicast;
        route.scope = Some(0);
        assert_eq!(route.message(true).header.scope, RouteScope::Universe);
        assert_eq!(route.message(false).header.scope, RouteScope::Universe);
    }

    #[test]
    fn tables_above_255_go_in_rta_table() {
        let mut route = IpRoute::new(v4(10, 11, 0, 0), 24);
        route.table = 6909;
        let message = route.message(true);
        assert_eq!(message.header.table, 0);
        assert!(message.attributes.contains(&RouteAttribute::Table(6909)));
    }

    #[test]
    fn nexthops_become_one_multipath_attribute_with_weights() {
        let mut route = IpRoute::new(v4(192, 168, 100, 0), 24);
        route.nexthops = vec![
            NextHop {
                gateway: Some(v4(192, 168, 101, 1)),
                ifindex: Some(3),
                weight: 1,
                onlink: true,
                realm: None,
            },
            NextHop {
                gateway: Some(v4(192, 168, 101, 2)),
                ifindex: Some(3),
                weight: 2,
                onlink: false,
                realm: None,
            },
        ];
        let message = route.message(true);
        assert_eq!(message.header.scope, RouteScope::Universe);
        let hops = message
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(hops) => Some(hops.clone()),
                _ => None,
            })
            .unwrap_or_default();
        assert_eq!(hops.len(), 2);
        assert_eq!(
            (hops[0].hops, hops[0].interface_index, hops[0].flags),
            (0, 3, RouteNextHopFlags::Onlink)
        );
        assert_eq!(hops[1].hops, 1);
        assert_eq!(
            hops[1].attributes,
            vec![RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(
                192, 168, 101, 2
            )))]
        );
    }

    #[test]
    fn metrics_carry_the_lock_mask_and_ipv6_gateways_of_ipv4_routes_use_via() {
        let mut route = IpRoute::new(v4(10, 12, 0, 0), 24);
        route.metrics = vec![RouteMetric::Mtu(1400)];
        route.locked = 1 << 2;
        route.gateway = Some(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let message = route.message(true);
        assert!(message.attributes.contains(&RouteAttribute::Metrics(vec![
            RouteMetric::Mtu(1400),
            RouteMetric::Lock(4)
        ])));
        assert!(
            message
                .attributes
                .contains(&RouteAttribute::Via(RouteVia::Inet6(Ipv6Addr::LOCALHOST)))
        );
    }

    #[test]
    fn add_modes_map_to_netlink_flags() {
        let mut route = IpRoute::new(v4(10, 13, 0, 0), 24);
        assert_eq!(route.add_flags(), NLM_F_CREATE);
        route.mode = AddMode::Exclusive;
        assert_eq!(route.add_flags(), NLM_F_CREATE | NLM_F_EXCL);
        route.mode = AddMode::Append;
        assert_eq!(route.add_flags(), NLM_F_CREATE | NLM_F_APPEND);
    }

    #[test]
    fn display_reads_like_ip_route() {
        let mut route = IpRoute::new(v4(10, 9, 0, 0), 24);
        route.kind = RouteKind::Blackhole;
        route.table = 100;
        assert_eq!(route.to_string(), "blackhole 10.9.0.0/24 table 100");
    }
}
