//! The values of `ip route` / `ip rule` options (keepalived.conf `virtual_routes`,
//! `static_routes`, `virtual_rules`, `static_rules`) checked where they are written, so
//! `kad -t` reports a bad one with its file:line:col. Values that name an entry of the host's
//! iproute2 tables (`table`, `protocol`, `realms`, `tos`, `scope`, `suppress_ifgroup`,
//! `ipproto`) and `dev` names are left to the daemon, which alone can read them.

use std::net::IpAddr;

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

    fn number(&mut self, keyword: &str, value: &'a Word) {
        let ok = parse_number(value.as_str()).is_some();
        self.check(keyword, value, ok, "a number");
    }
}

/// Checks the option words of an `ip route` entry (everything but the destination, `src`,
/// `via`, `dev`, `table`, `metric` and `scope`, which the caller reads), from the first
/// option to the end of the line, `nexthop` groups included.
pub fn check_route(words: &[Word]) -> Vec<OptionError<'_>> {
    let mut words = Words {
        words: words.iter(),
        errors: Vec::new(),
    };
    let mut in_nexthop = false;
    while let Some(word) = words.words.next() {
        let keyword = word.as_str();
        if keyword == "nexthop" {
            in_nexthop = true;
            continue;
        }
        if in_nexthop {
            match keyword {
                "via" => {
                    let Some(mut value) = words.value(word) else {
                        break;
                    };
                    if matches!(value.as_str(), "inet" | "inet6") {
                        let Some(address) = words.value(word) else {
                            break;
                        };
                        value = address;
                    }
                    let ok = value.as_str().parse::<IpAddr>().is_ok();
                    words.check("nexthop via", value, ok, "an IPv4 or IPv6 address");
                }
                "weight" => {
                    let Some(value) = words.value(word) else {
                        break;
                    };
                    let ok = parse_number(value.as_str()).is_some_and(|n| (1..=256).contains(&n));
                    words.check("nexthop weight", value, ok, "an integer in 1..=256");
                }
                "dev" | "realms" => {
                    words.value(word);
                }
                "encap" => break,
                _ => {}
            }
            continue;
        }
        if ROUTE_METRICS.contains(&keyword) {
            let Some(mut value) = words.value(word) else {
                break;
            };
            if value.as_str() == "lock" {
                let Some(locked) = words.value(word) else {
                    break;
                };
                value = locked;
            }
            match keyword {
                "rtt" | "rttvar" | "rto_min" => {
                    let ok = time_rtt(value.as_str()).is_some();
                    words.check(keyword, value, ok, "a time (N, Nms or Ns)");
                }
                "congctl" => {}
                _ => words.number(keyword, value),
            }
            continue;
        }
        match keyword {
            "features" => {
                if let Some(value) = words.value(word) {
                    let ok = value.as_str() == "ecn" || parse_number(value.as_str()).is_some();
                    words.check(keyword, value, ok, "ecn or a number");
                }
            }
            "quickack" | "fastopen_no_cookie" | "expires" => {
                if let Some(value) = words.value(word) {
                    words.number(keyword, value);
                }
            }
            "pref" => {
                if let Some(value) = words.value(word) {
                    let ok = matches!(value.as_str(), "low" | "medium" | "high");
                    words.check(keyword, value, ok, "low, medium or high");
                }
            }
            "ttl-propagate" => {
                if let Some(value) = words.value(word) {
                    let ok = matches!(value.as_str(), "enabled" | "disabled");
                    words.check(keyword, value, ok, "enabled or disabled");
                }
            }
            // Looked up in the host's tables by the daemon.
            "protocol" | "realms" | "tos" | "dsfield" | "weight" => {
                words.value(word);
            }
            // The rest of the line belongs to the encapsulation, which kad skips.
            "encap" => break,
            _ => {}
        }
    }
    words.errors
}

/// `N` or `N-M`, each fitting `T`.
fn is_range<T: TryFrom<u32>>(text: &str) -> bool {
    let number = |part: &str| parse_number(part).is_some_and(|n| T::try_from(n).is_ok());
    match text.split_once('-') {
        Some((start, end)) => number(start) && number(end),
        None => number(text),
    }
}

/// Checks the option words of an `ip rule` entry (everything but `from`, `to`, `table` and
/// the preference, which the caller reads).
pub fn check_rule(words: &[Word]) -> Vec<OptionError<'_>> {
    let mut words = Words {
        words: words.iter(),
        errors: Vec::new(),
    };
    while let Some(word) = words.words.next() {
        let keyword = word.as_str();
        if matches!(keyword, "not" | "l3mdev" | "inet" | "inet6") {
            continue;
        }
        let Some(value) = words.value(word) else {
            break;
        };
        let text = value.as_str();
        match keyword {
            "fwmark" => {
                let ok = match text.split_once('/') {
                    Some((mark, mask)) => {
                        parse_number(mark).is_some() && parse_number(mask).is_some()
                    }
                    None => parse_number(text).is_some(),
                };
                words.check(keyword, value, ok, "MARK or MARK/MASK");
            }
            "goto" | "suppress_prefixlength" => words.number(keyword, value),
            "uidrange" => words.check(keyword, value, is_range::<u32>(text), "N or N-M"),
            "sport" | "dport" => words.check(keyword, value, is_range::<u16>(text), "N or N-M"),
            "tun_id" => {
                let ok = text.parse::<u64>().is_ok();
                words.check(keyword, value, ok, "a number");
            }
            "type" => {
                let ok = matches!(
                    text,
                    "unicast" | "blackhole" | "unreachable" | "prohibit" | "nop" | "nat"
                );
                words.check(
                    keyword,
                    value,
                    ok,
                    "unicast, blackhole, unreachable, prohibit, nop or nat",
                );
            }
            _ => {}
        }
    }
    words.errors
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
        check_route(&words)
            .into_iter()
            .map(|e| (e.word.place.col, e.message))
            .collect()
    }

    fn rule(line: &str) -> Vec<(u32, String)> {
        let words = words(line);
        check_rule(&words)
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
    fn a_loaded_configuration_reports_bad_options_at_their_place_and_keeps_the_entries() {
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
                 expected an integer in 1..=256",
                "<string>:5:23: error: static_rules: type: invalid value 'drop': expected \
                 unicast, blackhole, unreachable, prohibit, nop or nat",
            ]
        );
        assert!(loaded.has_errors());
        assert_eq!(loaded.config.static_routes.len(), 1);
        assert_eq!(loaded.config.static_rules.len(), 1);
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
