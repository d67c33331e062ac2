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
        route_options::{self as config, NameOrNumber, Realms, RuleOptions, time_rtt},
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

/// The words of an entry's options, read one at a time.
struct Words<'a> {
    words: &'a [String],
    at: usize,
}

impl<'a> Words<'a> {
    fn new(words: &'a [String]) -> Self {
        Self { words, at: 0 }
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.at)?;
        self.at += 1;
        Some(word.as_str())
    }

    /// The value after `keyword`.
    fn value(&mut self, keyword: &str) -> Result<&'a str, String> {
        self.next()
            .ok_or_else(|| format!("'{keyword}' needs a value"))
    }
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
    let (top, nexthop_words) = match route.options.iter().position(|w| w == "nexthop") {
        Some(at) => route.options.split_at(at),
        None => (route.options.as_slice(), &[][..]),
    };
    let nexthops = next_hops(nexthop_words, origin, place)?;
    let Some(mut nexthops) = nexthops else {
        return Ok(None);
    };

    let (mut destination, prefix_len) = route.dest;
    if prefix_len == 0 && destination.is_unspecified() && destination.is_ipv4() {
        let first_address = route
            .via
            .first()
            .or(route.src.as_ref())
            .or_else(|| nexthops.iter().find_map(|hop| hop.gateway.as_ref()));
        if top.iter().any(|w| w == "inet6") || first_address.is_some_and(IpAddr::is_ipv6) {
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

    let mut words = Words::new(top);
    while let Some(word) = words.next() {
        let result = route_option(&mut out, word, &mut words);
        match result {
            Ok(Handled::Yes) => {}
            Ok(Handled::Ignored(why)) => origin.warn(place, format!("'{word}' {why} - ignored")),
            Ok(Handled::Skip(why)) => {
                origin.warn(place, format!("'{word}' {why} - route {out} not installed"));
                return Ok(None);
            }
            Err(what) => return Err(fail(what)),
        }
    }
    Ok(Some(out))
}

/// What an option did.
enum Handled {
    /// Carried into the request.
    Yes,
    /// Not expressible; the entry goes on without it.
    Ignored(&'static str),
    /// Not expressible, and the entry would do something else without it: not installed.
    Skip(&'static str),
}

fn parse_u32(keyword: &str, text: &str) -> Result<u32, String> {
    parse_number(text).ok_or_else(|| format!("{keyword}: '{text}' is not a number"))
}

/// `realms [FROM/]TO` (names from rt_realms or numbers).
fn parse_realm(text: &str) -> Result<RouteRealm, String> {
    let realm = |word: &str| {
        lookup(NameTable::Realms, word)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("realms: unknown realm '{word}'"))
    };
    Ok(match text.split_once('/') {
        Some((from, to)) => RouteRealm {
            source: realm(from)?,
            destination: realm(to)?,
        },
        None => RouteRealm {
            source: 0,
            destination: realm(text)?,
        },
    })
}

fn dsfield(text: &str) -> Result<u8, String> {
    lookup(NameTable::DsField, text)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| format!("tos: '{text}' is not a TOS value"))
}

/// One top-level `ip route` option of `options`.
fn route_option(out: &mut IpRoute, word: &str, words: &mut Words<'_>) -> Result<Handled, String> {
    // RTAX_* numbers: the lock bit of a metric is 1 << its number.
    let metric_number = |name: &str| -> Option<u32> {
        Some(match name {
            "mtu" => 2,
            "window" => 3,
            "rtt" => 4,
            "rttvar" => 5,
            "ssthresh" => 6,
            "cwnd" => 7,
            "advmss" => 8,
            "reordering" => 9,
            "hoplimit" => 10,
            "initcwnd" => 11,
            "rto_min" => 13,
            "initrwnd" => 14,
            "congctl" => 16,
            _ => return None,
        })
    };
    if let Some(number) = metric_number(word) {
        let mut value = words.value(word)?;
        if value == "lock" {
            out.locked |= 1 << number;
            value = words.value(word)?;
        }
        let time = || time_rtt(value).ok_or_else(|| format!("{word}: '{value}' is not a time"));
        let metric = match word {
            "mtu" => RouteMetric::Mtu(parse_u32(word, value)?),
            "window" => RouteMetric::Window(parse_u32(word, value)?),
            "rtt" => RouteMetric::Rtt(match time()? {
                (raw, true) => raw,
                (ms, false) => ms.saturating_mul(8),
            }),
            "rttvar" => RouteMetric::RttVar(match time()? {
                (raw, true) => raw,
                (ms, false) => ms.saturating_mul(4),
            }),
            "ssthresh" => RouteMetric::SsThresh(parse_u32(word, value)?),
            "cwnd" => RouteMetric::Cwnd(parse_u32(word, value)?),
            "advmss" => RouteMetric::Advmss(parse_u32(word, value)?),
            "reordering" => RouteMetric::Reordering(parse_u32(word, value)?),
            "hoplimit" => RouteMetric::Hoplimit(parse_u32(word, value)?),
            "initcwnd" => RouteMetric::InitCwnd(parse_u32(word, value)?),
            "rto_min" => RouteMetric::RtoMin(time()?.0),
            "initrwnd" => RouteMetric::InitRwnd(parse_u32(word, value)?),
            _ => RouteMetric::CcAlgo(value.to_owned()),
        };
        out.metrics.push(metric);
        return Ok(Handled::Yes);
    }
    match word {
        "protocol" => {
            let value = words.value(word)?;
            out.protocol = lookup(NameTable::Protocols, value)
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| format!("unknown protocol '{value}'"))?;
        }
        "realms" => out.realm = Some(parse_realm(words.value(word)?)?),
        "tos" | "dsfield" => out.tos = dsfield(words.value(word)?)?,
        "features" => {
            let value = words.value(word)?;
            let features = match value {
                "ecn" => 1, // RTAX_FEATURE_ECN
                other => parse_u32(word, other)?,
            };
            out.metrics.push(RouteMetric::Features(features));
        }
        "quickack" => {
            let value = parse_u32(word, words.value(word)?)?;
            out.metrics.push(RouteMetric::QuickAck(value));
        }
        "fastopen_no_cookie" => {
            let value = parse_u32(word, words.value(word)?)?;
            out.metrics.push(RouteMetric::FastopenNoCookie(value));
        }
        "pref" => {
            let value = words.value(word)?;
            out.preference = Some(match value {
                "low" => RoutePreference::Low,
                "medium" => RoutePreference::Medium,
                "high" => RoutePreference::High,
                other => return Err(format!("pref: '{other}' is not low|medium|high")),
            });
        }
        "expires" => out.expires = Some(parse_u32(word, words.value(word)?)?),
        "ttl-propagate" => {
            out.ttl_propagate = Some(match words.value(word)? {
                "enabled" => true,
                "disabled" => false,
                other => return Err(format!("ttl-propagate: '{other}' is not enabled|disabled")),
            });
        }
        "encap" => {
            words.next();
            return Ok(Handled::Skip(
                "(lightweight tunnel encapsulation) is not supported by kad",
            ));
        }
        "weight" => {
            words.next();
            return Ok(Handled::Ignored("outside a nexthop has no meaning"));
        }
        "onlink" => out.onlink = true,
        "pervasive" => out.pervasive = true,
        "inet" | "inet6" => {}
        "add" => out.mode = AddMode::Exclusive,
        "append" => out.mode = AddMode::Append,
        "prepend" => out.mode = AddMode::Prepend,
        _ => return Ok(Handled::Ignored("is not a route option kad supports")),
    }
    Ok(Handled::Yes)
}

/// `nexthop via ADDR dev DEV weight N onlink realms R [nexthop ...]`; `Ok(None)`: the route
/// is skipped (warned).
fn next_hops(
    words: &[String],
    origin: &Origin<'_>,
    place: &Place,
) -> Result<Option<Vec<NextHop>>, RoutingError> {
    let fail = |what: String| origin.error(place, what);
    let mut hops: Vec<NextHop> = Vec::new();
    let mut words = Words::new(words);
    while let Some(word) = words.next() {
        if word == "nexthop" {
            hops.push(NextHop {
                weight: 1,
                ..NextHop::default()
            });
            continue;
        }
        let Some(hop) = hops.last_mut() else {
            continue;
        };
        match word {
            "via" => {
                let mut value = words.value(word).map_err(fail)?;
                if matches!(value, "inet" | "inet6") {
                    value = words.value(word).map_err(fail)?;
                }
                hop.gateway = Some(
                    value
                        .parse()
                        .map_err(|_| fail(format!("nexthop via: '{value}' is not an address")))?,
                );
            }
            "dev" => {
                let dev = words.value(word).map_err(fail)?;
                hop.ifindex = Some(
                    origin
                        .interfaces
                        .ifindex(dev)
                        .map_err(|e| fail(format!("nexthop dev {dev}: {e}")))?,
                );
            }
            "weight" => {
                let value = words.value(word).map_err(fail)?;
                hop.weight = parse_number(value)
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| fail(format!("nexthop weight: '{value}' is not 1..256")))?;
            }
            "onlink" => hop.onlink = true,
            "realms" => {
                hop.realm = Some(parse_realm(words.value(word).map_err(fail)?).map_err(fail)?);
            }
            "encap" => {
                origin.warn(
                    place,
                    "nexthop 'encap' (lightweight tunnel encapsulation) is not supported by kad - route not installed",
                );
                return Ok(None);
            }
            other => origin.warn(
                place,
                format!("'{other}' is not a nexthop option kad supports - ignored"),
            ),
        }
    }
    Ok(Some(hops))
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
