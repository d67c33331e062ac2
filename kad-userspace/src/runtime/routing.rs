//! keepalived.conf `ip route` / `ip rule` entries (`virtual_routes`, `static_routes`,
//! `virtual_rules`, `static_rules`) → the kernel requests of [`crate::net::route`] and
//! [`crate::net::rule`]: interfaces, tables, protocols, scopes and realms resolved to
//! numbers; every option the kernel cannot be given is reported by its keyword.
//!
//! Family: a route to `default` / `0.0.0.0/0` or a rule without addresses is IPv4 unless the
//! entry says `inet6` (keepalived.conf(5): "If a route or rule could apply to either IPv4 or
//! IPv6 it will default to IPv4"); a default route whose first gateway or source is IPv6 is
//! IPv6, as `ip route add default via ADDR` infers it.

use std::{
    fmt::Display,
    net::{IpAddr, Ipv6Addr},
};

use rtnetlink::packet_route::route::{RouteMetric, RoutePreference, RouteRealm};

use super::interfaces::Interfaces;
use crate::{
    config::{
        model::{Route, Rule},
        place::Place,
        route_options::{
            self as config, NameOrNumber, Realms, RouteOptions, RoutePref, RttTime, RuleOptions,
        },
    },
    net::{
        names::{NameTable, lookup, parse_number},
        route::{AddMode, IpRoute, NextHop, RouteKind},
        rule::{IpRule, RuleAction},
    },
};

/// Where entries come from, for messages: a block, and the instance owning it (none for the
/// `static_*` blocks).
#[derive(Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// `virtual_routes`, `static_rules`, ...
    pub(crate) block: &'static str,
    /// The `vrrp_instance`.
    pub(crate) instance: Option<&'a str>,
    /// Its VRID.
    pub(crate) vrid: Option<u8>,
    /// Where `dev` names are looked up.
    pub(crate) interfaces: &'a dyn Interfaces,
}

/// An entry that cannot be installed as written: where, in which block, and why.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {block}: {what}")]
pub struct RoutingError {
    /// Where the entry is (file:line:col).
    pub place: String,
    /// `virtual_routes`, `static_rules`, ...
    pub block: &'static str,
    /// What is wrong.
    pub what: String,
}

impl Origin<'_> {
    fn warn(&self, place: &Place, what: impl Display) {
        tracing::warn!(
            instance = self.instance,
            vrid = self.vrid,
            "{place}: {}: {what}",
            self.block
        );
    }

    fn error(&self, place: &Place, what: impl Display) -> RoutingError {
        RoutingError {
            place: place.to_string(),
            block: self.block,
            what: what.to_string(),
        }
    }
}

/// Every route of a block; an entry that cannot be installed as written is an error, one the
/// kernel has no equivalent for (`encap`) is skipped with a warning.
pub(crate) fn ip_routes(
    routes: &[Route],
    origin: &Origin<'_>,
) -> Result<Vec<IpRoute>, RoutingError> {
    let mut out = Vec::with_capacity(routes.len());
    for route in routes {
        if let Some(route) = ip_route(route, origin)? {
            out.push(route);
        }
    }
    Ok(out)
}

/// Every rule of a block (as [`ip_routes`]).
pub(crate) fn ip_rules(rules: &[Rule], origin: &Origin<'_>) -> Result<Vec<IpRule>, RoutingError> {
    let mut out = Vec::with_capacity(rules.len());
    for rule in rules {
        if let Some(rule) = ip_rule(rule, origin)? {
            out.push(rule);
        }
    }
    Ok(out)
}

/// One keepalived.conf route entry; `Ok(None)`: skipped with a warning.
pub(crate) fn ip_route(
    route: &Route,
    origin: &Origin<'_>,
) -> Result<Option<IpRoute>, RoutingError> {
    let place = &route.place;
    let fail = |what: String| origin.error(place, what);
    let kind = match route.route_type.as_deref() {
        None => RouteKind::Unicast,
        Some(word) => RouteKind::from_keyword(word)
            .ok_or_else(|| fail(format!("unknown route type '{word}'")))?,
    };
    let options = &route.options;
    let Some(mut nexthops) = next_hops(&options.nexthops, origin, place)? else {
        return Ok(None);
    };

    let (mut destination, prefix_len) = route.dest;
    if prefix_len == 0 && destination.is_unspecified() && destination.is_ipv4() {
        let first_address = route
            .via
            .first()
            .or(route.src.as_ref())
            .or_else(|| nexthops.iter().find_map(|hop| hop.gateway.as_ref()));
        if options.inet6 || first_address.is_some_and(IpAddr::is_ipv6) {
            destination = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        }
    }
    let mut out = IpRoute::new(destination, prefix_len);
    out.kind = kind;
    out.preferred_source = route.src;
    out.metric = route.metric;
    if let Some(table) = &route.table {
        out.table = lookup(NameTable::Tables, table)
            .ok_or_else(|| fail(format!("unknown routing table '{table}'")))?;
    }
    if let Some(scope) = &route.scope {
        out.scope = Some(
            lookup(NameTable::Scopes, scope)
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| fail(format!("unknown scope '{scope}'")))?,
        );
    }
    let dev = match &route.dev {
        Some(dev) => Some(
            origin
                .interfaces
                .ifindex(dev)
                .map_err(|e| fail(format!("dev {dev}: {e}")))?,
        ),
        None => None,
    };
    match route.via.as_slice() {
        [] => out.ifindex = dev,
        [gateway] if nexthops.is_empty() => {
            out.gateway = Some(*gateway);
            out.ifindex = dev;
        }
        // `via A or B` (deprecated): a multipath route over both, each on `dev`.
        gateways => {
            let or = gateways.iter().map(|gateway| NextHop {
                gateway: Some(*gateway),
                ifindex: dev,
                weight: 1,
                ..NextHop::default()
            });
            nexthops.splice(0..0, or);
        }
    }
    out.nexthops = nexthops;

    if options.encap {
        origin.warn(
            place,
            format!(
                "'encap' (lightweight tunnel encapsulation) is not supported by kad - route {out} not installed"
            ),
        );
        return Ok(None);
    }
    if options.stray_weight {
        origin.warn(place, "'weight' outside a nexthop has no meaning - ignored");
    }
    route_options(&mut out, options).map_err(fail)?;
    Ok(Some(out))
}

/// The typed `ip route` options of an entry, names resolved.
fn route_options(out: &mut IpRoute, options: &RouteOptions) -> Result<(), String> {
    for metric in &options.metrics {
        if metric.lock {
            out.locked |= 1 << metric_number(&metric.metric);
        }
        out.metrics.push(route_metric(&metric.metric));
    }
    if let Some(protocol) = &options.protocol {
        out.protocol = named(NameTable::Protocols, protocol)
            .ok_or_else(|| format!("unknown protocol '{protocol}'"))?;
    }
    if let Some(realms) = &options.realms {
        out.realm = Some(realm(realms)?);
    }
    if let Some(tos) = &options.tos {
        out.tos = named(NameTable::DsField, tos)
            .ok_or_else(|| format!("tos: '{tos}' is not a TOS value"))?;
    }
    if let Some(pref) = options.pref {
        out.preference = Some(match pref {
            RoutePref::Low => RoutePreference::Low,
            RoutePref::Medium => RoutePreference::Medium,
            RoutePref::High => RoutePreference::High,
        });
    }
    if options.expires.is_some() {
        out.expires = options.expires;
    }
    if options.ttl_propagate.is_some() {
        out.ttl_propagate = options.ttl_propagate;
    }
    out.onlink |= options.onlink;
    out.pervasive |= options.pervasive;
    match options.mode {
        None => {}
        Some(config::AddMode::Add) => out.mode = AddMode::Exclusive,
        Some(config::AddMode::Append) => out.mode = AddMode::Append,
        Some(config::AddMode::Prepend) => out.mode = AddMode::Prepend,
    }
    Ok(())
}

/// The RTAX_* number of a metric: its lock bit is 1 << it.
fn metric_number(metric: &config::RouteMetric) -> u32 {
    use config::RouteMetric as M;
    match metric {
        M::Mtu(_) => 2,
        M::Window(_) => 3,
        M::Rtt(_) => 4,
        M::RttVar(_) => 5,
        M::SsThresh(_) => 6,
        M::Cwnd(_) => 7,
        M::Advmss(_) => 8,
        M::Reordering(_) => 9,
        M::Hoplimit(_) => 10,
        M::InitCwnd(_) => 11,
        M::Features(_) => 12,
        M::RtoMin(_) => 13,
        M::InitRwnd(_) => 14,
        M::QuickAck(_) => 15,
        M::CongCtl(_) => 16,
        M::FastopenNoCookie(_) => 17,
    }
}

/// A metric as the kernel takes it: `rtt` in 1/8 ms and `rttvar` in 1/4 ms unless written
/// raw, as iproute2 sends them.
fn route_metric(metric: &config::RouteMetric) -> RouteMetric {
    use config::RouteMetric as M;
    let scaled = |time: &RttTime, scale: u32| {
        if time.raw {
            time.value
        } else {
            time.value.saturating_mul(scale)
        }
    };
    match metric {
        M::Mtu(n) => RouteMetric::Mtu(*n),
        M::Window(n) => RouteMetric::Window(*n),
        M::Rtt(time) => RouteMetric::Rtt(scaled(time, 8)),
        M::RttVar(time) => RouteMetric::RttVar(scaled(time, 4)),
        M::SsThresh(n) => RouteMetric::SsThresh(*n),
        M::Cwnd(n) => RouteMetric::Cwnd(*n),
        M::Advmss(n) => RouteMetric::Advmss(*n),
        M::Reordering(n) => RouteMetric::Reordering(*n),
        M::Hoplimit(n) => RouteMetric::Hoplimit(*n),
        M::InitCwnd(n) => RouteMetric::InitCwnd(*n),
        M::RtoMin(time) => RouteMetric::RtoMin(time.value),
        M::InitRwnd(n) => RouteMetric::InitRwnd(*n),
        M::CongCtl(name) => RouteMetric::CcAlgo(name.clone()),
        M::Features(n) => RouteMetric::Features(*n),
        M::QuickAck(n) => RouteMetric::QuickAck(*n),
        M::FastopenNoCookie(n) => RouteMetric::FastopenNoCookie(*n),
    }
}

/// The `nexthop` groups, interfaces and realms resolved; `Ok(None)`: the route is skipped
/// (warned).
fn next_hops(
    hops: &[config::Nexthop],
    origin: &Origin<'_>,
    place: &Place,
) -> Result<Option<Vec<NextHop>>, RoutingError> {
    let fail = |what: String| origin.error(place, what);
    let mut out = Vec::with_capacity(hops.len());
    for hop in hops {
        let ifindex = match &hop.dev {
            Some(dev) => Some(
                origin
                    .interfaces
                    .ifindex(dev)
                    .map_err(|e| fail(format!("nexthop dev {dev}: {e}")))?,
            ),
            None => None,
        };
        let realm = match &hop.realms {
            Some(realms) => Some(realm(realms).map_err(fail)?),
            None => None,
        };
        for word in &hop.unsupported {
            origin.warn(
                place,
                format!("'{word}' is not a nexthop option kad supports - ignored"),
            );
        }
        if hop.encap {
            origin.warn(
                place,
                "nexthop 'encap' (lightweight tunnel encapsulation) is not supported by kad - route not installed",
            );
            return Ok(None);
        }
        out.push(NextHop {
            gateway: hop.via,
            ifindex,
            weight: hop.weight,
            onlink: hop.onlink,
            realm,
        });
    }
    Ok(Some(out))
}

/// One keepalived.conf rule entry; `Ok(None)`: skipped with a warning.
pub(crate) fn ip_rule(rule: &Rule, origin: &Origin<'_>) -> Result<Option<IpRule>, RoutingError> {
    let place = &rule.place;
    let fail = |what: String| origin.error(place, what);
    let from_v6 = rule.from.map(|(address, _)| address.is_ipv6());
    let to_v6 = rule.to.map(|(address, _)| address.is_ipv6());
    let said_v6 = rule.options.inet6;
    let ipv6 = match (from_v6, to_v6) {
        (Some(a), Some(b)) if a != b => {
            return Err(fail("'from' and 'to' are of different families".into()));
        }
        (Some(v6), _) | (None, Some(v6)) => v6,
        (None, None) => said_v6,
    };
    let mut out = IpRule::new(ipv6);
    out.from = rule.from;
    out.to = rule.to;
    out.priority = rule.preference;
    if let Some(table) = &rule.table {
        out.action = RuleAction::Table(
            lookup(NameTable::Tables, table)
                .ok_or_else(|| fail(format!("unknown routing table '{table}'")))?,
        );
    }
    if rule.options.nat {
        origin.warn(
            place,
            format!("'nat' (Linux dropped NAT rules in 2.6) - rule {out} not installed"),
        );
        return Ok(None);
    }
    rule_options(&mut out, &rule.options).map_err(fail)?;
    Ok(Some(out))
}

/// An IP protocol by number or name (`tcp`, `UDP`, ... as in /etc/protocols).
fn ip_protocol(text: &str) -> Option<u8> {
    if let Some(number) = parse_number(text) {
        return u8::try_from(number).ok();
    }
    let name = text.to_ascii_lowercase();
    let known = [
        ("icmp", 1),
        ("igmp", 2),
        ("tcp", 6),
        ("udp", 17),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("icmpv6", 58),
        ("ipv6-icmp", 58),
        ("vrrp", 112),
        ("sctp", 132),
        ("udplite", 136),
    ];
    if let Some((_, number)) = known.iter().find(|(known, _)| *known == name) {
        return Some(*number);
    }
    let protocols = std::fs::read_to_string("/etc/protocols").ok()?;
    protocols.lines().find_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let first = fields.next()?;
        let number: u8 = fields.next()?.parse().ok()?;
        (first == name || fields.any(|alias| alias.eq_ignore_ascii_case(&name))).then_some(number)
    })
}

/// A value of one of the host's iproute2 tables (`table`), as a number that fits `T`.
fn named<T: TryFrom<u32>>(table: NameTable, value: &NameOrNumber) -> Option<T> {
    let number = match value {
        NameOrNumber::Number(number) => Some(*number),
        NameOrNumber::Name(name) => lookup(table, name),
    };
    number.and_then(|n| T::try_from(n).ok())
}

/// The typed `ip rule` options of an entry, names resolved.
fn rule_options(out: &mut IpRule, options: &RuleOptions) -> Result<(), String> {
    out.invert = options.not;
    out.l3mdev = options.l3mdev;
    out.iif.clone_from(&options.iif);
    out.oif.clone_from(&options.oif);
    out.fwmark = options.fwmark;
    if let Some(tos) = &options.tos {
        out.tos = named(NameTable::DsField, tos)
            .ok_or_else(|| format!("tos: '{tos}' is not a TOS value"))?;
    }
    if let Some(realms) = &options.realms {
        out.realm = Some(realm(realms)?);
    }
    match options.action {
        None => {}
        Some(config::RuleAction::Goto(n)) => out.action = RuleAction::Goto(n),
        Some(config::RuleAction::Blackhole) => out.action = RuleAction::Blackhole,
        Some(config::RuleAction::Unreachable) => out.action = RuleAction::Unreachable,
        Some(config::RuleAction::Prohibit) => out.action = RuleAction::Prohibit,
        Some(config::RuleAction::Nop) => out.action = RuleAction::Nop,
    }
    out.suppress_prefixlen = options.suppress_prefixlength;
    if let Some(group) = &options.suppress_ifgroup {
        out.suppress_ifgroup = Some(
            named(NameTable::Groups, group)
                .ok_or_else(|| format!("unknown interface group '{group}'"))?,
        );
    }
    out.uid_range = options.uidrange;
    out.sport = options.sport;
    out.dport = options.dport;
    if let Some(proto) = &options.ip_proto {
        let number = match proto {
            NameOrNumber::Number(n) => u8::try_from(*n).ok(),
            NameOrNumber::Name(name) => ip_protocol(name),
        };
        out.ip_proto = Some(number.ok_or_else(|| format!("unknown IP protocol '{proto}'"))?);
    }
    if let Some(protocol) = &options.protocol {
        out.protocol = named(NameTable::Protocols, protocol)
            .ok_or_else(|| format!("unknown protocol '{protocol}'"))?;
    }
    out.tun_id = options.tun_id;
    Ok(())
}

/// `realms [FROM/]TO` with names from rt_realms.
fn realm(realms: &Realms) -> Result<RouteRealm, String> {
    let one = |value: &NameOrNumber| {
        named(NameTable::Realms, value).ok_or_else(|| format!("realms: unknown realm '{value}'"))
    };
    Ok(RouteRealm {
        source: match &realms.from {
            Some(from) => one(from)?,
            None => 0,
        },
        destination: one(&realms.to)?,
    })
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rtnetlink::packet_route::route::RouteMetric;

    use super::*;
    use crate::config::{LoadOptions, parse_str};

    const ORIGIN: Origin<'static> = Origin {
        block: "static_routes",
        instance: None,
        vrid: None,
        interfaces: &crate::runtime::interfaces::KernelInterfaces,
    };

    fn config(body: &str) -> crate::config::model::Config {
        parse_str(body, &LoadOptions::with_config_id("test")).config
    }

    fn routes(lines: &str) -> Result<Vec<IpRoute>, String> {
        let config = config(&format!("static_routes {{\n{lines}\n}}\n"));
        ip_routes(&config.static_routes, &ORIGIN).map_err(|e| e.to_string())
    }

    fn rules(lines: &str) -> Result<Vec<IpRule>, String> {
        let config = config(&format!("static_rules {{\n{lines}\n}}\n"));
        ip_rules(&config.static_rules, &ORIGIN).map_err(|e| e.to_string())
    }

    fn v4(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn source_table_metric_and_type_are_carried() -> Result<(), String> {
        let got = routes(
            "src 10.77.0.100 to 10.8.0.0/24 via 10.77.0.254 table 100 metric 7\nblackhole 10.9.0.0/24 table main",
        )?;
        assert_eq!(got.len(), 2);
        let mut expected = IpRoute::new(v4("10.8.0.0"), 24);
        expected.preferred_source = Some(v4("10.77.0.100"));
        expected.gateway = Some(v4("10.77.0.254"));
        expected.table = 100;
        expected.metric = Some(7);
        assert_eq!(got.first(), Some(&expected));
        let mut blackhole = IpRoute::new(v4("10.9.0.0"), 24);
        blackhole.kind = RouteKind::Blackhole;
        assert_eq!(got.get(1), Some(&blackhole));
        Ok(())
    }

    #[test]
    fn the_man_page_metrics_example_resolves() -> Result<(), String> {
        let got = routes(
            "192.168.200.0/24 table 6909 tos 0x04 protocol bird scope link priority 12 mtu 1000 \
             hoplimit 100 advmss 101 rtt 102 rttvar 103 reordering 104 window 105 cwnd 106 \
             ssthresh lock 107 realms 1/0x14 rto_min 108ms initcwnd 109 initrwnd 110 features ecn add",
        )?;
        let route = got.first().ok_or("no route")?;
        assert_eq!(
            (
                route.table,
                route.tos,
                route.protocol,
                route.scope,
                route.metric
            ),
            (6909, 4, 12, Some(253), Some(12))
        );
        assert_eq!(route.mode, AddMode::Exclusive);
        assert_eq!(route.locked, 1 << 6);
        assert_eq!(
            route.realm,
            Some(RouteRealm {
                source: 1,
                destination: 20
            })
        );
        for metric in [
            RouteMetric::Mtu(1000),
            RouteMetric::Rtt(102),
            RouteMetric::RttVar(103),
            RouteMetric::SsThresh(107),
            RouteMetric::RtoMin(108),
            RouteMetric::Features(1),
        ] {
            assert!(route.metrics.contains(&metric), "{metric:?}");
        }
        Ok(())
    }

    #[test]
    fn nexthops_and_or_become_multipath() -> Result<(), String> {
        let got = routes(
            "192.168.100.0/24 table 6909 nexthop via 127.0.0.2 dev lo onlink weight 1 nexthop via 127.0.0.3 dev lo weight 2\n\
             10.1.0.0/16 via 127.0.0.4 or 127.0.0.5 dev lo",
        )?;
        let multipath = got.first().ok_or("no route")?;
        assert_eq!(multipath.nexthops.len(), 2);
        assert!(multipath.gateway.is_none());
        let second = multipath.nexthops.get(1).ok_or("one hop")?;
        assert_eq!((second.gateway, second.weight), (Some(v4("127.0.0.3")), 2));
        assert!(multipath.nexthops.first().is_some_and(|hop| hop.onlink));
        let or = got.get(1).ok_or("no or route")?;
        let gateways: Vec<_> = or.nexthops.iter().map(|hop| hop.gateway).collect();
        assert_eq!(gateways, vec![Some(v4("127.0.0.4")), Some(v4("127.0.0.5"))]);
        assert!(or.nexthops.iter().all(|hop| hop.ifindex.is_some()));
        Ok(())
    }

    #[test]
    fn default_routes_take_the_family_of_their_gateway_or_inet6() -> Result<(), String> {
        let got = routes("default via fd77::1\ndefault via 10.0.0.1\ninet6 default dev lo")?;
        let families: Vec<bool> = got.iter().map(|r| r.destination.is_ipv6()).collect();
        assert_eq!(families, vec![true, false, true]);
        Ok(())
    }

    #[test]
    fn unsupported_entries_are_skipped_or_refused() {
        assert_eq!(routes("10.2.0.0/16 encap mpls 100 dev lo"), Ok(Vec::new()));
        assert!(
            routes("10.2.0.0/16 dev no-such-if0")
                .is_err_and(|e| e.contains("no-such-if0") && e.contains("static_routes"))
        );
        assert!(routes("10.2.0.0/16 table no-such-table").is_err());
    }

    #[test]
    fn rules_carry_selectors_and_actions() -> Result<(), String> {
        let got = rules(
            "from 10.77.0.100/32 table 100 preference 1000\n\
             from 192.168.28.0/24 to 192.168.29.0/26 table 200 iif eth0 oif eth1 tos 22 fwmark 24/12 preference 39 realms 30/20 goto 40\n\
             to 1:2:3:4:5:6:7:0/112 from 7:6:5:4:3:2::/96 table 6908 uidrange 10000-19999 preference 5\n\
             inet6 to all table 2 l3mdev protocol 12 ip_proto UDP sport 10-20 dport 20-30 preference 6\n\
             from 10.0.0.0/8 type prohibit preference 7",
        )?;
        assert_eq!(got.len(), 5);
        let first = got.first().ok_or("no rule")?;
        assert_eq!(
            (first.from, first.action, first.priority, first.ipv6),
            (
                Some((v4("10.77.0.100"), 32)),
                RuleAction::Table(100),
                Some(1000),
                false
            )
        );
        let second = got.get(1).ok_or("no rule")?;
        assert_eq!(second.action, RuleAction::Goto(40));
        assert_eq!(second.fwmark, Some((24, Some(12))));
        assert_eq!((second.tos, second.iif.as_deref()), (22, Some("eth0")));
        let third = got.get(2).ok_or("no rule")?;
        assert!(third.ipv6);
        assert_eq!(third.uid_range, Some((10000, 19999)));
        let fourth = got.get(3).ok_or("no rule")?;
        assert!(fourth.ipv6 && fourth.l3mdev);
        assert_eq!(
            (fourth.ip_proto, fourth.sport, fourth.protocol),
            (Some(17), Some((10, 20)), 12)
        );
        assert_eq!(got.get(4).map(|r| r.action), Some(RuleAction::Prohibit));
        Ok(())
    }

    #[test]
    fn nat_rules_are_skipped_and_mixed_families_refused() {
        assert_eq!(
            rules("from 10.0.0.0/8 nat 192.168.0.1 preference 3"),
            Ok(Vec::new())
        );
        assert!(rules("from 10.0.0.0/8 to fd00::/8 table 1 preference 3").is_err());
    }
}
