//! The values of `ip route` / `ip rule` options (keepalived.conf `virtual_routes`,
//! `static_routes`, `virtual_rules`, `static_rules`) checked where they are written, so
//! `kad -t` reports a bad one with its file:line:col. Values that name an entry of the host's
//! iproute2 tables (`table`, `protocol`, `realms`, `tos`, `scope`, `suppress_ifgroup`,
//! `ipproto`) and `dev` names are left to the daemon, which alone can read them.

use std::{fmt, net::IpAddr};

use serde::Serialize;

use super::{error::ValueError, place::Word};

/// A bad option value: the word it concerns and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError<'a> {
    /// The offending word (the value, or the keyword when its value is missing).
    pub word: &'a Word,
    /// `KEYWORD: invalid value ...`.
    pub message: String,
}

/// A number as iproute2 writes it: decimal or `0x` hexadecimal.
pub fn parse_number(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// ip-route(8) `rtt`, `rttvar`, `rto_min`: `N` in the kernel's raw unit, or a time with
/// `s`/`ms`. Returns (milliseconds or raw value, whether it was raw), as iproute2's
/// `get_time_rtt`.
pub fn time_rtt(text: &str) -> Option<(u32, bool)> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" if !number.contains('.') => return parse_number(number).map(|n| (n, true)),
        "s" | "sec" | "secs" => 1000.0,
        "ms" | "msec" | "msecs" => 1.0,
        _ => return None,
    };
    let ms = (value * scale).ceil();
    (0.0..=f64::from(u32::MAX))
        .contains(&ms)
        .then_some((ms as u32, false))
}

/// ip-route(8) metrics that may be written `NAME lock VALUE`.
pub const ROUTE_METRICS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "initcwnd",
    "initrwnd",
    "hoplimit",
    "rto_min",
    "congctl",
];

/// The option words of an entry, read one at a time.
struct Words<'a> {
    words: std::slice::Iter<'a, Word>,
    errors: Vec<OptionError<'a>>,
}

impl<'a> Words<'a> {
    /// The value after `keyword`; a missing one is reported.
    fn value(&mut self, keyword: &'a Word) -> Option<&'a Word> {
        let value = self.words.next();
        if value.is_none() {
            self.errors.push(OptionError {
                word: keyword,
                message: format!("'{}' needs a value", keyword.as_str()),
            });
        }
        value
    }

    /// Reports `value` unless `ok`.
    fn check(&mut self, keyword: &str, value: &'a Word, ok: bool, expected: &str) {
        if !ok {
            self.errors.push(OptionError {
                word: value,
                message: format!("{keyword}: {}", ValueError::new(value.as_str(), expected)),
            });
        }
    }
}

/// ip-route(8) `rtt`, `rttvar`, `rto_min`: a time as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RttTime {
    /// Milliseconds, or the kernel's raw unit when `raw`.
    pub value: u32,
    /// Written without a unit.
    pub raw: bool,
}

/// ip-route(8) `METRIC [lock] VALUE`, `features`, `quickack`, `fastopen_no_cookie`: the
/// route metrics (RTAX_*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMetric {
    /// `mtu`.
    Mtu(u32),
    /// `window`.
    Window(u32),
    /// `rtt`.
    Rtt(RttTime),
    /// `rttvar`.
    RttVar(RttTime),
    /// `ssthresh`.
    SsThresh(u32),
    /// `cwnd`.
    Cwnd(u32),
    /// `advmss`.
    Advmss(u32),
    /// `reordering`.
    Reordering(u32),
    /// `hoplimit`.
    Hoplimit(u32),
    /// `initcwnd`.
    InitCwnd(u32),
    /// `rto_min`.
    RtoMin(RttTime),
    /// `initrwnd`.
    InitRwnd(u32),
    /// `congctl`.
    CongCtl(String),
    /// `features` (`ecn` is 1).
    Features(u32),
    /// `quickack`.
    QuickAck(u32),
    /// `fastopen_no_cookie`.
    FastopenNoCookie(u32),
}

/// A metric and whether it was written `lock`ed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Metric {
    /// The metric and its value.
    pub metric: RouteMetric,
    /// `NAME lock VALUE`: the kernel may not change it.
    pub lock: bool,
}

/// ip-route(8) `pref`: the IPv6 router preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutePref {
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

/// keepalived.conf `add`, `append`, `prepend`: how a route goes beside routes with the same
/// destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddMode {
    /// `add`: only when no route matches.
    Add,
    /// `append`: after matching routes.
    Append,
    /// `prepend`: before matching routes.
    Prepend,
}

/// ip-route(8) `nexthop via ADDR dev DEV weight N onlink realms R`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    /// `via [inet|inet6] ADDR`.
    pub via: Option<IpAddr>,
    /// `dev` (an interface name, resolved by the daemon).
    pub dev: Option<String>,
    /// `weight` 1..=256 (default 1).
    pub weight: u16,
    /// `onlink`.
    pub onlink: bool,
    /// `realms`.
    pub realms: Option<Realms>,
    /// `encap` written: kad cannot install the route.
    pub encap: bool,
    /// Words kad does not act on (the daemon warns about them).
    pub unsupported: Vec<String>,
}

/// The `ip route` options of a keepalived.conf `virtual_routes` / `static_routes` entry
/// beyond the destination, `src`, `via`, `dev`, `table`, `metric` and `scope` (ip-route(8)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouteOptions {
    /// `protocol` (names from `rt_protos`).
    pub protocol: Option<NameOrNumber>,
    /// `realms [FROM/]TO`.
    pub realms: Option<Realms>,
    /// `tos` / `dsfield` (names from `rt_dsfield`).
    pub tos: Option<NameOrNumber>,
    /// The metrics, in the order written.
    pub metrics: Vec<Metric>,
    /// `pref`.
    pub pref: Option<RoutePref>,
    /// `expires`.
    pub expires: Option<u32>,
    /// `ttl-propagate enabled|disabled`.
    pub ttl_propagate: Option<bool>,
    /// `onlink`.
    pub onlink: bool,
    /// `pervasive`.
    pub pervasive: bool,
    /// `inet6` written: a `default` route is IPv6.
    pub inet6: bool,
    /// The last of `add`, `append`, `prepend` written.
    pub mode: Option<AddMode>,
    /// `encap` written: kad cannot install the route.
    pub encap: bool,
    /// `weight` written outside a `nexthop` (the daemon warns it means nothing there).
    pub stray_weight: bool,
    /// `nexthop ...` groups.
    pub nexthops: Vec<Nexthop>,
}

/// A metric's value after `NAME [lock]`.
fn metric(keyword: &str, text: &str) -> Result<RouteMetric, &'static str> {
    let number = || parse_number(text).ok_or("a number");
    let time = || {
        time_rtt(text)
            .map(|(value, raw)| RttTime { value, raw })
            .ok_or("a time (N, Nms or Ns)")
    };
    Ok(match keyword {
        "mtu" => RouteMetric::Mtu(number()?),
        "window" => RouteMetric::Window(number()?),
        "rtt" => RouteMetric::Rtt(time()?),
        "rttvar" => RouteMetric::RttVar(time()?),
        "ssthresh" => RouteMetric::SsThresh(number()?),
        "cwnd" => RouteMetric::Cwnd(number()?),
        "advmss" => RouteMetric::Advmss(number()?),
        "reordering" => RouteMetric::Reordering(number()?),
        "hoplimit" => RouteMetric::Hoplimit(number()?),
        "initcwnd" => RouteMetric::InitCwnd(number()?),
        "rto_min" => RouteMetric::RtoMin(time()?),
        "initrwnd" => RouteMetric::InitRwnd(number()?),
        _ => RouteMetric::CongCtl(text.to_owned()),
    })
}

/// Reads the option words of an `ip route` entry (everything but the destination, `src`,
/// `via`, `dev`, `table`, `metric` and `scope`, which the caller reads), from the first
/// option to the end of the line, `nexthop` groups included; bad values are returned as
/// errors and left out.
pub fn parse_route(words: &[Word]) -> (RouteOptions, Vec<OptionError<'_>>) {
    let mut out = RouteOptions::default();
    let mut words = Words {
        words: words.iter(),
        errors: Vec::new(),
    };
    while let Some(word) = words.words.next() {
        let keyword = word.as_str();
        if keyword == "nexthop" {
            out.nexthops.push(Nexthop {
                via: None,
                dev: None,
                weight: 1,
                onlink: false,
                realms: None,
                encap: false,
                unsupported: Vec::new(),
            });
            continue;
        }
        if let Some(hop) = out.nexthops.last_mut() {
            if !nexthop_option(hop, &mut words, word) {
                break;
            }
            continue;
        }
        if ROUTE_METRICS.contains(&keyword) {
            let Some(mut value) = words.value(word) else {
                break;
            };
            let lock = value.as_str() == "lock";
            if lock {
                let Some(locked) = words.value(word) else {
                    break;
                };
                value = locked;
            }
            match metric(keyword, value.as_str()) {
                Ok(metric) => out.metrics.push(Metric { metric, lock }),
                Err(expected) => words.check(keyword, value, false, expected),
            }
            continue;
        }
        match keyword {
            "onlink" => out.onlink = true,
            "pervasive" => out.pervasive = true,
            "inet" => {}
            "inet6" => out.inet6 = true,
            "add" => out.mode = Some(AddMode::Add),
            "append" => out.mode = Some(AddMode::Append),
            "prepend" => out.mode = Some(AddMode::Prepend),
            // The rest of the line belongs to the encapsulation, which kad cannot install.
            "encap" => {
                out.encap = true;
                break;
            }
            _ => {
                let Some(value) = words.value(word) else {
                    break;
                };
                route_option(&mut out, &mut words, keyword, value);
            }
        }
    }
    (out, words.errors)
}

/// One `KEYWORD VALUE` option of an `ip route` entry outside `nexthop` groups.
fn route_option<'a>(out: &mut RouteOptions, words: &mut Words<'a>, keyword: &str, value: &'a Word) {
    let text = value.as_str();
    let mut report = |expected: &str| words.check(keyword, value, false, expected);
    let number = |push: fn(u32) -> RouteMetric| {
        parse_number(text).map(|n| Metric {
            metric: push(n),
            lock: false,
        })
    };
    match keyword {
        "features" => {
            let features = if text == "ecn" {
                Some(1)
            } else {
                parse_number(text)
            };
            match features {
                Some(n) => out.metrics.push(Metric {
                    metric: RouteMetric::Features(n),
                    lock: false,
                }),
                None => report("ecn or a number"),
            }
        }
        "quickack" | "fastopen_no_cookie" => {
            let push = if keyword == "quickack" {
                RouteMetric::QuickAck
            } else {
                RouteMetric::FastopenNoCookie
            };
            match number(push) {
                Some(metric) => out.metrics.push(metric),
                None => report("a number"),
            }
        }
        "expires" => match parse_number(text) {
            Some(n) => out.expires = Some(n),
            None => report("a number"),
        },
        "pref" => match text {
            "low" => out.pref = Some(RoutePref::Low),
            "medium" => out.pref = Some(RoutePref::Medium),
            "high" => out.pref = Some(RoutePref::High),
            _ => report("low, medium or high"),
        },
        "ttl-propagate" => match text {
            "enabled" => out.ttl_propagate = Some(true),
            "disabled" => out.ttl_propagate = Some(false),
            _ => report("enabled or disabled"),
        },
        "protocol" => match NameOrNumber::parse(text, u32::from(u8::MAX)) {
            Ok(protocol) => out.protocol = Some(protocol),
            Err(err) => report(&err.expected),
        },
        "tos" | "dsfield" => match NameOrNumber::parse(text, u32::from(u8::MAX)) {
            Ok(tos) => out.tos = Some(tos),
            Err(err) => report(&err.expected),
        },
        "realms" => match Realms::parse(text) {
            Ok(realms) => out.realms = Some(realms),
            Err(err) => report(&err.expected),
        },
        "weight" => out.stray_weight = true,
        _ => {}
    }
}

/// One word of a `nexthop` group; false: the rest of the line is not read (a missing value,
/// or `encap`).
fn nexthop_option<'a>(hop: &mut Nexthop, words: &mut Words<'a>, word: &'a Word) -> bool {
    let keyword = word.as_str();
    match keyword {
        "onlink" => hop.onlink = true,
        "encap" => {
            hop.encap = true;
            return false;
        }
        "via" | "dev" | "weight" | "realms" => {
            let Some(mut value) = words.value(word) else {
                return false;
            };
            match keyword {
                "via" => {
                    if matches!(value.as_str(), "inet" | "inet6") {
                        let Some(address) = words.value(word) else {
                            return false;
                        };
                        value = address;
                    }
                    match value.as_str().parse::<IpAddr>() {
                        Ok(address) => hop.via = Some(address),
                        Err(_) => {
                            words.check("nexthop via", value, false, "an IPv4 or IPv6 address")
                        }
                    }
                }
                "dev" => hop.dev = Some(value.text.clone()),
                "weight" => {
                    match parse_number(value.as_str())
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|n| (1..=256).contains(n))
                    {
                        Some(weight) => hop.weight = weight,
                        None => {
                            words.check("nexthop weight", value, false, "an integer in 1..=256")
                        }
                    }
                }
                _ => match Realms::parse(value.as_str()) {
                    Ok(realms) => hop.realms = Some(realms),
                    Err(err) => words.check("nexthop realms", value, false, &err.expected),
                },
            }
        }
        other => hop.unsupported.push(other.to_owned()),
    }
    true
}

/// A value written as a number or as a name from one of the host's iproute2 tables
/// (`rt_tables`, `rt_protos`, `rt_realms`, `rt_dsfield`, `group`, /etc/protocols): only the
/// daemon reads those, so a name stays a name here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum NameOrNumber {
    /// A name to look up on the host.
    Name(String),
    /// A number (decimal or `0x` hexadecimal).
    Number(u32),
}

impl NameOrNumber {
    /// `text` as a number no greater than `max`, else as a name; a number above `max` is an
    /// error.
    pub fn parse(text: &str, max: u32) -> Result<Self, ValueError> {
        match parse_number(text) {
            Some(number) if number <= max => Ok(Self::Number(number)),
            Some(_) => Err(ValueError::new(
                text,
                format!("a name or a number in 0..={max}"),
            )),
            None => Ok(Self::Name(text.to_owned())),
        }
    }
}

impl fmt::Display for NameOrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Number(number) => write!(f, "{number}"),
        }
    }
}

/// ip-route(8) / ip-rule(8) `realms [FROM/]TO` (names from `rt_realms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Realms {
    /// The source realm (0 when absent).
    pub from: Option<NameOrNumber>,
    /// The destination realm.
    pub to: NameOrNumber,
}

impl Realms {
    /// `[FROM/]TO`, each a realm name or a number in 0..=65535.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let realm = |part: &str| {
            NameOrNumber::parse(part, u32::from(u16::MAX)).map_err(|_| {
                ValueError::new(text, "[FROM/]TO, realm names or numbers in 0..=65535")
            })
        };
        Ok(match text.split_once('/') {
            Some((from, to)) => Self {
                from: Some(realm(from)?),
                to: realm(to)?,
            },
            None => Self {
                from: None,
                to: realm(text)?,
            },
        })
    }
}

/// ip-rule(8) `goto` and `type`: what a rule does instead of looking up its `table`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// `goto N`: jump to the rule of preference N.
    Goto(u32),
    /// `type blackhole`.
    Blackhole,
    /// `type unreachable`.
    Unreachable,
    /// `type prohibit`.
    Prohibit,
    /// `type nop`.
    Nop,
}

/// The `ip rule` options of a keepalived.conf `virtual_rules` / `static_rules` entry beyond
/// `from`, `to`, `table` and the preference (ip-rule(8)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleOptions {
    /// `not`: invert the match.
    pub not: bool,
    /// `l3mdev`.
    pub l3mdev: bool,
    /// `inet6` written: an IPv6 rule when neither `from` nor `to` says so.
    pub inet6: bool,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `tos` / `dsfield` (names from `rt_dsfield`).
    pub tos: Option<NameOrNumber>,
    /// `realms [FROM/]TO`.
    pub realms: Option<Realms>,
    /// The last `goto` or `type` written (`type unicast` changes nothing).
    pub action: Option<RuleAction>,
    /// `suppress_prefixlength N`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup GROUP` (names from `group`).
    pub suppress_ifgroup: Option<NameOrNumber>,
    /// `uidrange START-END`.
    pub uidrange: Option<(u32, u32)>,
    /// `sport N[-M]`.
    pub sport: Option<(u16, u16)>,
    /// `dport N[-M]`.
    pub dport: Option<(u16, u16)>,
    /// `ipproto` / `ip_proto` (names from /etc/protocols).
    pub ip_proto: Option<NameOrNumber>,
    /// `protocol` (names from `rt_protos`).
    pub protocol: Option<NameOrNumber>,
    /// `tun_id N`.
    pub tun_id: Option<u64>,
    /// `nat ADDR`, `map-to ADDR` or `type nat` written (Linux dropped NAT rules in 2.6): the
    /// daemon does not install the rule.
    pub nat: bool,
}

/// `N` or `N-M`, each fitting `T`.
fn range<T: TryFrom<u32>>(text: &str) -> Option<(T, T)> {
    let number = |part: &str| parse_number(part).and_then(|n| T::try_from(n).ok());
    match text.split_once('-') {
        Some((start, end)) => Some((number(start)?, number(end)?)),
        None => Some((number(text)?, number(text)?)),
    }
}

/// Reads the option words of an `ip rule` entry (everything but `from`, `to`, `table` and
/// the preference, which the caller reads); bad values are returned as errors and left out.
pub fn parse_rule(words: &[Word]) -> (RuleOptions, Vec<OptionError<'_>>) {
    let mut out = RuleOptions::default();
    let mut words = Words {
        words: words.iter(),
        errors: Vec::new(),
    };
    while let Some(word) = words.words.next() {
        let keyword = word.as_str();
        match keyword {
            "not" => out.not = true,
            "l3mdev" => out.l3mdev = true,
            "inet" => {}
            "inet6" => out.inet6 = true,
            _ => {
                let Some(value) = words.value(word) else {
                    break;
                };
                rule_option(&mut out, &mut words, keyword, value);
            }
        }
    }
    (out, words.errors)
}

/// One `KEYWORD VALUE` option of an `ip rule` entry.
fn rule_option<'a>(out: &mut RuleOptions, words: &mut Words<'a>, keyword: &str, value: &'a Word) {
    let text = value.as_str();
    let mut report = |expected: &str| words.check(keyword, value, false, expected);
    let named = |max: u32| NameOrNumber::parse(text, max);
    match keyword {
        "iif" | "dev" => out.iif = Some(text.to_owned()),
        "oif" => out.oif = Some(text.to_owned()),
        "fwmark" => {
            let parsed = match text.split_once('/') {
                Some((mark, mask)) => parse_number(mark).zip(parse_number(mask).map(Some)),
                None => parse_number(text).map(|mark| (mark, None)),
            };
            match parsed {
                Some(fwmark) => out.fwmark = Some(fwmark),
                None => report("MARK or MARK/MASK"),
            }
        }
        "goto" => match parse_number(text) {
            Some(n) => out.action = Some(RuleAction::Goto(n)),
            None => report("a number"),
        },
        "suppress_prefixlength" => match parse_number(text) {
            Some(n) => out.suppress_prefixlength = Some(n),
            None => report("a number"),
        },
        "uidrange" => match range(text) {
            Some(r) => out.uidrange = Some(r),
            None => report("N or N-M"),
        },
        "sport" | "dport" => match range(text) {
            Some(r) if keyword == "sport" => out.sport = Some(r),
            Some(r) => out.dport = Some(r),
            None => report("N or N-M"),
        },
        "tun_id" => match text.parse() {
            Ok(n) => out.tun_id = Some(n),
            Err(_) => report("a number"),
        },
        "type" => match text {
            "unicast" => {}
            "blackhole" => out.action = Some(RuleAction::Blackhole),
            "unreachable" => out.action = Some(RuleAction::Unreachable),
            "prohibit" => out.action = Some(RuleAction::Prohibit),
            "nop" => out.action = Some(RuleAction::Nop),
            "nat" => out.nat = true,
            _ => report("unicast, blackhole, unreachable, prohibit, nop or nat"),
        },
        "nat" | "map-to" => out.nat = true,
        "tos" | "dsfield" => match named(u32::from(u8::MAX)) {
            Ok(tos) => out.tos = Some(tos),
            Err(err) => report(&err.expected),
        },
        "protocol" => match named(u32::from(u8::MAX)) {
            Ok(protocol) => out.protocol = Some(protocol),
            Err(err) => report(&err.expected),
        },
        "ipproto" | "ip_proto" => match named(u32::from(u8::MAX)) {
            Ok(proto) => out.ip_proto = Some(proto),
            Err(err) => report(&err.expected),
        },
        "suppress_ifgroup" => match named(u32::MAX) {
            Ok(group) => out.suppress_ifgroup = Some(group),
            Err(err) => report(&err.expected),
        },
        "realms" => match Realms::parse(text) {
            Ok(realms) => out.realms = Some(realms),
            Err(err) => report(&err.expected),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::place::Place;

    fn words(line: &str) -> Vec<Word> {
        let file: Arc<str> = Arc::from("k.conf");
        let mut col = 1;
        line.split(' ')
            .map(|text| {
                let word = Word {
                    text: text.to_owned(),
                    place: Place::new(&file, 1, col),
                    quoted: false,
                };
                col += u32::try_from(text.len()).unwrap_or(0) + 1;
                word
            })
            .collect()
    }

    /// (column, message) of each error.
    fn route(line: &str) -> Vec<(u32, String)> {
        let words = words(line);
        parse_route(&words)
            .1
            .into_iter()
            .map(|e| (e.word.place.col, e.message))
            .collect()
    }

    fn rule(line: &str) -> Vec<(u32, String)> {
        let words = words(line);
        parse_rule(&words)
            .1
            .into_iter()
            .map(|e| (e.word.place.col, e.message))
            .collect()
    }

    #[test]
    fn good_route_options_pass() {
        assert_eq!(
            route(
                "mtu lock 1400 rtt 10ms rttvar 3 rto_min 0.5s congctl lock cubic features ecn \
                 quickack 1 fastopen_no_cookie 0 expires 0x10 pref high ttl-propagate enabled \
                 protocol bird realms 1/2 tos 0x04 onlink add \
                 nexthop via inet6 fd00::1 dev eth0 weight 256 onlink nexthop via 10.0.0.1 weight 1"
            ),
            Vec::new()
        );
    }

    #[test]
    fn route_options_are_typed_in_the_order_written() {
        let words = words(
            "ssthresh lock 107 rtt 10ms features ecn congctl lock cubic protocol bird tos 0x04 \
             realms 1/0x14 pref low expires 5 ttl-propagate disabled onlink inet6 add append \
             nexthop via inet6 fd00::1 dev eth0 weight 2 onlink realms 3 bogus nexthop encap",
        );
        let (options, errors) = parse_route(&words);
        assert!(errors.is_empty());
        let metric = |metric, lock| Metric { metric, lock };
        assert_eq!(
            options.metrics,
            vec![
                metric(RouteMetric::SsThresh(107), true),
                metric(
                    RouteMetric::Rtt(RttTime {
                        value: 10,
                        raw: false
                    }),
                    false
                ),
                metric(RouteMetric::Features(1), false),
                metric(RouteMetric::CongCtl("cubic".to_owned()), true),
            ]
        );
        assert_eq!(
            (
                &options.protocol,
                &options.tos,
                options.pref,
                options.expires,
                options.ttl_propagate,
                options.mode
            ),
            (
                &Some(NameOrNumber::Name("bird".to_owned())),
                &Some(NameOrNumber::Number(4)),
                Some(RoutePref::Low),
                Some(5),
                Some(false),
                Some(AddMode::Append)
            )
        );
        assert!(options.onlink && options.inet6 && !options.encap);
        assert_eq!(
            options.realms,
            Some(Realms {
                from: Some(NameOrNumber::Number(1)),
                to: NameOrNumber::Number(20)
            })
        );
        assert_eq!(
            options.nexthops,
            vec![
                Nexthop {
                    via: "fd00::1".parse().ok(),
                    dev: Some("eth0".to_owned()),
                    weight: 2,
                    onlink: true,
                    realms: Some(Realms {
                        from: None,
                        to: NameOrNumber::Number(3)
                    }),
                    encap: false,
                    unsupported: vec!["bogus".to_owned()],
                },
                Nexthop {
                    via: None,
                    dev: None,
                    weight: 1,
                    onlink: false,
                    realms: None,
                    encap: true,
                    unsupported: Vec::new(),
                },
            ]
        );
    }

    #[test]
    fn metric_values_are_numbers_after_an_optional_lock() {
        assert_eq!(
            route("mtu lock big"),
            vec![(10, "mtu: invalid value 'big': expected a number".to_owned())]
        );
        assert_eq!(
            route("advmss -1"),
            vec![(
                8,
                "advmss: invalid value '-1': expected a number".to_owned()
            )]
        );
        assert_eq!(
            route("mtu lock"),
            vec![(1, "'mtu' needs a value".to_owned())]
        );
    }

    #[test]
    fn rtt_metrics_are_times() {
        assert_eq!(
            route("rtt 3parsecs"),
            vec![(
                5,
                "rtt: invalid value '3parsecs': expected a time (N, Nms or Ns)".to_owned()
            )]
        );
        assert_eq!(route("rto_min 1.5").len(), 1);
    }

    #[test]
    fn enumerated_route_options_name_what_they_accept() {
        assert_eq!(
            route("pref highest ttl-propagate on features tcp expires soon quickack x"),
            vec![
                (
                    6,
                    "pref: invalid value 'highest': expected low, medium or high".to_owned()
                ),
                (
                    28,
                    "ttl-propagate: invalid value 'on': expected enabled or disabled".to_owned()
                ),
                (
                    40,
                    "features: invalid value 'tcp': expected ecn or a number".to_owned()
                ),
                (
                    52,
                    "expires: invalid value 'soon': expected a number".to_owned()
                ),
                (
                    66,
                    "quickack: invalid value 'x': expected a number".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn nexthop_gateways_and_weights_are_checked() {
        assert_eq!(
            route("nexthop via 10.0.0.300 weight 0 nexthop weight 257 dev"),
            vec![
                (
                    13,
                    "nexthop via: invalid value '10.0.0.300': expected an IPv4 or IPv6 address"
                        .to_owned()
                ),
                (
                    31,
                    "nexthop weight: invalid value '0': expected an integer in 1..=256".to_owned()
                ),
                (
                    48,
                    "nexthop weight: invalid value '257': expected an integer in 1..=256"
                        .to_owned()
                ),
                (52, "'dev' needs a value".to_owned()),
            ]
        );
    }

    #[test]
    fn encapsulation_words_are_not_checked() {
        assert_eq!(route("encap mpls 100 mtu x"), Vec::new());
    }

    #[test]
    fn good_rule_options_pass() {
        assert_eq!(
            rule(
                "not iif eth0 oif eth1 fwmark 0x10/0xff goto 40 suppress_prefixlength 0 \
                 uidrange 10000-19999 sport 10-20 dport 443 tun_id 18446744073709551615 \
                 type prohibit ipproto tcp protocol 12 l3mdev inet6 realms 1/2 tos 22"
            ),
            Vec::new()
        );
    }

    #[test]
    fn rule_options_are_typed_names_left_for_the_host() {
        let words = words(
            "not iif eth0 fwmark 0x10/0xff goto 40 type prohibit tos 0x04 protocol bird \
             ipproto tcp realms cosmos/7 suppress_ifgroup 3 uidrange 1-2 dport 443 inet6 nat 1.2.3.4",
        );
        let (options, errors) = parse_rule(&words);
        assert!(errors.is_empty());
        assert_eq!(
            options,
            RuleOptions {
                not: true,
                inet6: true,
                iif: Some("eth0".to_owned()),
                fwmark: Some((16, Some(255))),
                action: Some(RuleAction::Prohibit),
                tos: Some(NameOrNumber::Number(4)),
                protocol: Some(NameOrNumber::Name("bird".to_owned())),
                ip_proto: Some(NameOrNumber::Name("tcp".to_owned())),
                realms: Some(Realms {
                    from: Some(NameOrNumber::Name("cosmos".to_owned())),
                    to: NameOrNumber::Number(7),
                }),
                suppress_ifgroup: Some(NameOrNumber::Number(3)),
                uidrange: Some((1, 2)),
                dport: Some((443, 443)),
                nat: true,
                ..RuleOptions::default()
            }
        );
    }

    #[test]
    fn numbers_beyond_their_field_are_errors_names_are_not() {
        assert_eq!(
            rule("tos 300 protocol 0x100 realms 1/70000 ipproto 256"),
            vec![
                (
                    5,
                    "tos: invalid value '300': expected a name or a number in 0..=255".to_owned()
                ),
                (
                    18,
                    "protocol: invalid value '0x100': expected a name or a number in 0..=255"
                        .to_owned()
                ),
                (
                    31,
                    "realms: invalid value '1/70000': expected [FROM/]TO, realm names or \
                     numbers in 0..=65535"
                        .to_owned()
                ),
                (
                    47,
                    "ipproto: invalid value '256': expected a name or a number in 0..=255"
                        .to_owned()
                ),
            ]
        );
    }

    #[test]
    fn bad_rule_options_are_reported_at_their_value() {
        assert_eq!(
            rule("fwmark 1/x goto far sport 70000 uidrange 5-y tun_id -1 type drop"),
            vec![
                (
                    8,
                    "fwmark: invalid value '1/x': expected MARK or MARK/MASK".to_owned()
                ),
                (
                    17,
                    "goto: invalid value 'far': expected a number".to_owned()
                ),
                (
                    27,
                    "sport: invalid value '70000': expected N or N-M".to_owned()
                ),
                (
                    42,
                    "uidrange: invalid value '5-y': expected N or N-M".to_owned()
                ),
                (
                    53,
                    "tun_id: invalid value '-1': expected a number".to_owned()
                ),
                (
                    61,
                    "type: invalid value 'drop': expected unicast, blackhole, unreachable, \
                     prohibit, nop or nat"
                        .to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_loaded_configuration_reports_bad_options_at_their_place_and_skips_the_entries() {
        let loaded = crate::parse_str(
            "static_routes {\n  10.1.0.0/16 nexthop via 10.0.0.1 weight 0\n}\n\
             static_rules {\n  to 10.1.0.0/16 type drop preference 3\n}\n",
            &crate::LoadOptions::with_config_id("t"),
        );
        let messages: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "<string>:2:43: error: static_routes: nexthop weight: invalid value '0': \
                 expected an integer in 1..=256 - skipping route",
                "<string>:5:23: error: static_rules: type: invalid value 'drop': expected \
                 unicast, blackhole, unreachable, prohibit, nop or nat - skipping rule",
            ]
        );
        assert!(loaded.has_errors());
        assert!(loaded.config.static_routes.is_empty());
        assert!(loaded.config.static_rules.is_empty());
    }

    #[test]
    fn rtt_times_follow_iproute2() {
        assert_eq!(time_rtt("102"), Some((102, true)));
        assert_eq!(time_rtt("10ms"), Some((10, false)));
        assert_eq!(time_rtt("0.5s"), Some((500, false)));
        assert_eq!(time_rtt("1.5"), None);
        assert_eq!(time_rtt("3parsecs"), None);
    }
}
