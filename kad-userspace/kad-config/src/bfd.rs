//! bfd_instance (keepalived.conf(5) "BFD CONFIGURATION"): its keyword table, and the
//! checks keepalived 2.2.7 makes while reading one (ranges, units, the neighbour and
//! source addresses, ttl/max_hops), with keepalived's messages at keepalived's lines; and
//! keepalived 2.4's `multihop` (RFC 5883), which 2.2.7 does not know.

use std::{net::IpAddr, time::Duration};

use super::{
    error::Severity,
    keywords::{Ctx, HasPlaces, Keyword, kw},
    model::BfdInstance,
    place::Places,
    tree::Node,
};

impl HasPlaces for BfdInstance {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}

/// The longest bfd_instance name keepalived 2.2.7 accepts (BFD_INAME_MAX - 1).
pub const NAME_MAX: usize = 31;

/// The largest min_rx / min_tx / idle_tx in ms (keepalived: UINT32_MAX / 1000).
const INTERVAL_MAX_MS: u64 = u32::MAX as u64 / 1000;

/// keepalived's defaults (ms).
const MIN_RX_DEFAULT: Duration = Duration::from_millis(10);
const MIN_TX_DEFAULT: Duration = Duration::from_millis(10);
const IDLE_TX_DEFAULT: Duration = Duration::from_millis(1000);
const MULTIPLIER_DEFAULT: u8 = 5;
/// The outgoing TTL (IPv4) and hop limit (IPv6) without `ttl` / `hoplimit`.
const TTL_DEFAULT_V4: u8 = 255;
const HOPLIMIT_DEFAULT_V6: u8 = 64;
/// The outgoing TTL / hop limit of a `multihop` session without `ttl` / `hoplimit`, both
/// families (kad: RFC 5883 keeps RFC 5881's encapsulation, and FRR's bfdd drops multihop
/// packets that arrive below 254 by default; keepalived 2.4 keeps 64 for IPv6).
const TTL_DEFAULT_MULTIHOP: u8 = 255;

/// What kad says at a `multihop` line: keepalived 2.2.7 flags it ("Unknown keyword"), so
/// `kad -t` flags the line too, without counting it as an error.
pub const MULTIHOP_NOTICE: &str = "multihop: keepalived 2.2.7 does not know this keyword \
     (\"Unknown keyword\"); kad acts on it as keepalived 2.4 does (RFC 5883: UDP port 4784)";

/// The keyword table of bfd_instance.
pub const BFD_INSTANCE: &[Keyword<BfdInstance>] = &[
    kw("neighbor_ip", neighbor),
    kw("neighbour_ip", neighbor),
    kw("source_ip", source),
    kw("min_rx", |b, n, c| {
        if let Some(v) = interval(b, n, c, 1) {
            b.min_rx = v;
        }
    }),
    kw("min_tx", |b, n, c| {
        if let Some(v) = interval(b, n, c, 1) {
            b.min_tx = v;
        }
    }),
    kw("idle_tx", |b, n, c| {
        if let Some(v) = interval(b, n, c, 1000) {
            b.idle_tx = v;
        }
    }),
    kw("multiplier", |b, n, c| {
        if let Some(v) = whole(b, n, c, 1, 255, "not valid") {
            b.multiplier = u8::try_from(v).unwrap_or(MULTIPLIER_DEFAULT);
        }
    }),
    kw("passive", |b, _, _| b.passive = true),
    kw("ttl", ttl),
    kw("hoplimit", ttl),
    kw("max_hops", |b, n, c| {
        if let Some(v) = whole(b, n, c, -1, 255, "not valid") {
            // keepalived keeps it in a uint8_t: -1 is 255 (no TTL check).
            b.max_hops = u8::try_from(v).unwrap_or(u8::MAX);
        }
    }),
    kw("multihop", multihop),
    kw("weight", weight),
    kw("vrrp", |b, _, _| b.vrrp = true),
    kw("checker", |b, _, _| b.checker = true),
];

/// How keepalived names the neighbour in messages: as the instance spelled it.
fn neighbour_word(b: &BfdInstance) -> &'static str {
    if b.places.contains_key("neighbour_ip") {
        "neighbour"
    } else {
        "neighbor"
    }
}

/// The value word of `n` (keepalived stops at a missing value before this is reached:
/// [`super::missing_value`]).
fn word(n: &Node) -> &str {
    n.arg(0).map_or("", |w| w.as_str())
}

fn neighbor(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    if n.arg(0).is_none() {
        // keepalived 2.2.7 crashes (SIGSEGV) on this line.
        c.report(
            Severity::Error,
            n.place(),
            format!(
                "Configuration error: BFD instance {} has no {} address after {} (keepalived \
                 2.2.7 crashes here), ignoring instance",
                b.name,
                neighbour_word(b),
                n.keyword()
            ),
        );
        b.enabled = false;
        return;
    }
    match word(n).parse::<IpAddr>() {
        Ok(ip) => b.neighbor_ip = Some(ip),
        Err(_) => {
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "Configuration error: BFD instance {} has malformed {} address {}, ignoring \
                     instance",
                    b.name,
                    neighbour_word(b),
                    word(n)
                ),
            );
            // keepalived drops the instance and skips the rest of its block.
            b.enabled = false;
        }
    }
}

fn source(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    match word(n).parse::<IpAddr>() {
        Ok(ip) => b.source_ip = Some(ip),
        Err(_) => c.report(
            Severity::Error,
            n.place(),
            format!(
                "Configuration error: BFD instance {} has malformed source address {}, ignoring",
                b.name,
                word(n)
            ),
        ),
    }
}

fn ttl(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    if let Some(v) = whole(b, n, c, 1, 255, "not valid") {
        b.ttl = u8::try_from(v).unwrap_or(TTL_DEFAULT_V4);
    }
}

/// keepalived 2.4: multihop [<BOOL>] (true|on|yes, false|off|no, as written); a bad word
/// is an error and the setting stays.
fn multihop(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    let value = match n.arg(0).map(|w| w.as_str()) {
        None | Some("true" | "on" | "yes") => true,
        Some("false" | "off" | "no") => false,
        Some(other) => {
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "Configuration error: BFD instance {} multihop setting not valid - {other}",
                    b.name
                ),
            );
            return;
        }
    };
    b.multihop = value;
}

fn weight(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    if let Some(v) = whole(b, n, c, -253, 253, "not valid") {
        b.weight = i32::try_from(v).unwrap_or(0);
    }
    if let Some(option) = n.arg(1) {
        if option.as_str() == "reverse" {
            b.weight_reverse = true;
        } else {
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "Configuration error: BFD instance {} unknown weight option {}",
                    b.name,
                    option.as_str()
                ),
            );
        }
    }
}

/// The name keepalived's messages give a keyword's range error (`ttl` and `hoplimit`
/// share one).
fn what(n: &Node) -> &str {
    match n.keyword() {
        "ttl" | "hoplimit" => "ttl/hoplimit",
        other => other,
    }
}

/// An integer keyword (keepalived's read_unsigned_strvec / read_int_strvec): the parser's
/// complaint and the BFD one, both at the keyword's line.
fn whole(b: &BfdInstance, n: &Node, c: &mut Ctx, min: i64, max: i64, verb: &str) -> Option<i64> {
    let text = word(n);
    match integer(text, min, max) {
        Ok(v) => Some(v),
        Err(why) => {
            c.report(Severity::Error, n.place(), why);
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "Configuration error: BFD instance {} {} value {text} {verb} (must be in \
                     range [{min}-{max}]), ignoring",
                    b.name,
                    what(n)
                ),
            );
            None
        }
    }
}

/// keepalived's integer reading (strtol, base 10): the message it gives a bad one.
pub fn integer(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let body = text.trim_start();
    if min >= 0 && body.starts_with('-') {
        return Err(format!("negative number '{text}'"));
    }
    let (neg, digits) = match body.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, body.strip_prefix('+').unwrap_or(body)),
    };
    if digits.is_empty() || !digits.bytes().all(|d| d.is_ascii_digit()) {
        return Err(format!("invalid number '{text}'"));
    }
    let magnitude = digits
        .parse::<i64>()
        .map_err(|_| format!("number '{text}' outside integer range"))?;
    let value = if neg { -magnitude } else { magnitude };
    if value < min || value > max {
        return Err(format!("number '{text}' outside range [{min}, {max}]"));
    }
    Ok(value)
}

/// min_rx / min_tx / idle_tx: milliseconds with up to 3 decimals (µs resolution), from
/// `min_ms` to 4294967 ms. More decimals are an error, but the value is rounded on the
/// next digit and kept, as keepalived does.
fn interval(b: &BfdInstance, n: &Node, c: &mut Ctx, min_ms: u64) -> Option<Duration> {
    let text = word(n);
    let (value, warning) = millis(text, min_ms * 1000, INTERVAL_MAX_MS * 1000);
    if let Some(w) = warning {
        c.report(Severity::Error, n.place(), w);
    }
    match value {
        Ok(us) => Some(Duration::from_micros(us)),
        Err(why) => {
            c.report(Severity::Error, n.place(), why);
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "Configuration error: BFD instance {} {} value {text} is not valid (must be \
                     in range [{min_ms}-{INTERVAL_MAX_MS}]), ignoring",
                    b.name,
                    n.keyword()
                ),
            );
            None
        }
    }
}

/// keepalived's read_decimal_unsigned_strvec with 3 decimals: `text` ms as µs in
/// `min_us..=max_us`, or the message for a bad value; and the message for too many
/// decimals (the value then rounded on the 4th decimal).
pub fn millis(text: &str, min_us: u64, max_us: u64) -> (Result<u64, String>, Option<String>) {
    if text.starts_with('-') {
        return (Err(format!("negative number '{text}'")), None);
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut warning = None;
    let mut round_up = false;
    let mut frac = frac.to_owned();
    if frac.len() > 3 {
        warning = Some(format!("number '{text}' has too many decimal places"));
        round_up = frac.as_bytes()[3] >= b'5';
        frac.truncate(3);
    }
    while frac.len() < 3 {
        frac.push('0');
    }
    let digits = format!("{}{frac}", int.trim_start().trim_start_matches('+'));
    if digits.is_empty() || !digits.bytes().all(|d| d.is_ascii_digit()) {
        return (Err(format!("invalid number '{text}'")), warning);
    }
    let Ok(mut us) = digits.parse::<u64>() else {
        return (
            Err(format!("number '{text}' outside unsigned decimal range")),
            warning,
        );
    };
    if round_up {
        us = us.saturating_add(1);
    }
    if us < min_us || us > max_us {
        return (
            Err(format!(
                "number '{text}' outside range [{}.{:03}, {}.{:03}]",
                min_us / 1000,
                min_us % 1000,
                max_us / 1000,
                max_us % 1000
            )),
            warning,
        );
    }
    (Ok(us), warning)
}

/// The keywords keepalived's VRRP and checker processes still read in a block whose
/// neighbour address was malformed (the BFD process skips the rest of the block).
const READ_BY_OTHERS: &[&str] = &["weight", "vrrp", "checker"];

/// keepalived.conf: bfd_instance NAME { ... }. `defined` are the instances above it.
/// None when keepalived ignores the whole block (name too long or already used); an
/// instance keepalived's BFD process drops is returned with `enabled: false` (its name is
/// still known to `track_bfd` and `BFD_CHECK`).
pub fn bfd_instance(c: &mut Ctx, n: &Node, defined: &[BfdInstance]) -> Option<BfdInstance> {
    let name = c.string(n, 0, "a BFD instance name")?;
    if name.len() > NAME_MAX {
        c.report(
            Severity::Error,
            n.place(),
            format!(
                "Configuration error: BFD instance {name} name too long (maximum length is \
                 {NAME_MAX} characters) - ignoring"
            ),
        );
        return None;
    }
    if defined.iter().any(|d| d.name == name) {
        c.report(
            Severity::Error,
            n.place(),
            format!("Configuration error: BFD instance {name} already configured - ignoring"),
        );
        return None;
    }
    let mut b = BfdInstance {
        name,
        enabled: true,
        neighbor_ip: None,
        source_ip: None,
        min_rx: MIN_RX_DEFAULT,
        min_tx: MIN_TX_DEFAULT,
        idle_tx: IDLE_TX_DEFAULT,
        multiplier: MULTIPLIER_DEFAULT,
        passive: false,
        multihop: false,
        ttl: 0,
        max_hops: 0,
        weight: 0,
        weight_reverse: false,
        vrrp: false,
        checker: false,
        place: n.place().clone(),
        places: Places::new(),
    };
    for child in n.children() {
        let Some(keyword) = BFD_INSTANCE.iter().find(|k| k.name == child.keyword()) else {
            c.unknown(child);
            continue;
        };
        if keyword.name == "multihop" {
            // Wherever 2.2.7 says "Unknown keyword" (also in a block it stopped reading).
            c.report(Severity::Notice, child.place(), MULTIHOP_NOTICE);
        }
        if !b.enabled && !READ_BY_OTHERS.contains(&keyword.name) {
            continue;
        }
        let place = child
            .arg(0)
            .map_or_else(|| child.place().clone(), |w| w.place.clone());
        b.places.insert(keyword.name.to_owned(), place);
        (keyword.handler)(&mut b, child, c);
        c.not_acted_on(child, keyword.status);
    }
    if !b.vrrp && !b.checker {
        b.vrrp = true;
        b.checker = true;
    }
    if b.enabled {
        finish(&mut b, defined, c, n);
    }
    if b.ttl == 0 {
        b.ttl = default_ttl(b.neighbor_ip, b.multihop);
    }
    Some(b)
}

/// keepalived: 255 for IPv4, 64 for IPv6; kad: 255 for a multihop session of either family.
fn default_ttl(neighbor: Option<IpAddr>, multihop: bool) -> u8 {
    match neighbor {
        _ if multihop => TTL_DEFAULT_MULTIHOP,
        Some(IpAddr::V6(_)) => HOPLIMIT_DEFAULT_V6,
        _ => TTL_DEFAULT_V4,
    }
}

/// keepalived's checks at the end of the block, reported at its closing brace: the
/// neighbour address, the source's family, a neighbour/source pair already used (by a
/// session of the same kind: keepalived 2.4 keeps single hop and multihop apart), the
/// default ttl/hoplimit and max_hops within it.
fn finish(b: &mut BfdInstance, defined: &[BfdInstance], c: &mut Ctx, n: &Node) {
    let end = n.end_place();
    let nb = neighbour_word(b);
    let Some(neighbor) = b.neighbor_ip else {
        c.report(
            Severity::Error,
            end,
            format!(
                "Configuration error: BFD instance {} has no {nb} address set, disabling \
                 instance",
                b.name
            ),
        );
        b.enabled = false;
        return;
    };
    if let Some(src) = b.source_ip
        && src.is_ipv6() != neighbor.is_ipv6()
    {
        c.report(
            Severity::Error,
            end,
            format!(
                "Configuration error: BFD instance {} source address {src} and {nb} address \
                 {neighbor} are not of the same family, disabling instance",
                b.name
            ),
        );
        b.enabled = false;
        return;
    }
    let clash = defined.iter().filter(|d| d.enabled).any(|d| {
        d.neighbor_ip == Some(neighbor)
            && d.multihop == b.multihop
            && (d.source_ip.is_none() || b.source_ip.is_none() || d.source_ip == b.source_ip)
    });
    if clash {
        let message = match b.source_ip {
            Some(src) => format!(
                "Configuration error: BFD instance {} has duplicate source/{nb} address \
                 {src}/{neighbor}, ignoring instance",
                b.name
            ),
            None => format!(
                "Configuration error: BFD instance {} has duplicate {nb} address {neighbor}, \
                 ignoring instance",
                b.name
            ),
        };
        c.report(Severity::Error, end, message);
        b.enabled = false;
        return;
    }
    if b.ttl == 0 {
        b.ttl = default_ttl(Some(neighbor), b.multihop);
    }
    if b.max_hops > b.ttl {
        c.report(
            Severity::Error,
            end,
            format!(
                "BFD instance {}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit",
                b.name
            ),
        );
        b.max_hops = b.ttl;
    }
}
