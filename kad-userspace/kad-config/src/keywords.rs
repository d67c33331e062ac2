//! Grammar as data: each block is a table of `keyword → handler`; helpers that read and
//! check values and report errors with the offending text, its place and what was expected.

use std::{net::IpAddr, time::Duration};

use super::{
    error::{Diagnostic, Severity, ValueError},
    place::{Place, Places, Word},
    tree::Node,
};

/// A model item whose keyword places are recorded.
pub trait HasPlaces {
    /// The item's place table.
    fn places_mut(&mut self) -> &mut Places;
}

/// A keyword handler: reads `node` into the block's model.
pub type Handler<T> = fn(&mut T, &Node, &mut Ctx);

/// Why a keyword is ignored: kad does not implement it yet.
pub const UNUSED: &str = "not implemented: the value is checked, then unused";

/// What kad does with a keyword it parses (docs/keywords.md is generated from these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Parsed, checked and acted on as keepalived.conf(5) describes.
    Supported,
    /// Acted on in part; the text says what is missing.
    Partial(&'static str),
    /// Parsed and checked (so `kad -t` reports bad values) but not acted on; the text
    /// says why. Using it is reported as a note.
    Ignored(&'static str),
    /// Not a keepalived keyword: a kad extension (keepalived 2.2.7 warns "Unknown keyword"
    /// and skips the line); the text says what it does.
    Extension(&'static str),
}

impl Status {
    /// The reason of a partial or ignored keyword.
    pub const fn reason(self) -> Option<&'static str> {
        match self {
            Self::Supported => None,
            Self::Partial(why) | Self::Ignored(why) | Self::Extension(why) => Some(why),
        }
    }
}

/// A keyword of a block parsed without a [`Keyword`] table (checkers, url, authentication),
/// with its status.
pub type Listed = (&'static str, Status);

/// One row of a block's keyword table.
pub struct Keyword<T: 'static> {
    /// The keyword as written in keepalived.conf.
    pub name: &'static str,
    /// Its parser.
    pub handler: Handler<T>,
    /// What kad does with it.
    pub status: Status,
}

/// Shorthand for a table row of a supported keyword.
pub const fn kw<T>(name: &'static str, handler: Handler<T>) -> Keyword<T> {
    Keyword {
        name,
        handler,
        status: Status::Supported,
    }
}

/// A table row of a keyword kad parses and checks but does not act on, because `why`.
pub const fn ignored<T>(why: &'static str, mut row: Keyword<T>) -> Keyword<T> {
    row.status = Status::Ignored(why);
    row
}

/// A table row of a keyword kad acts on in part; `why` says what is missing.
pub const fn partial<T>(why: &'static str, mut row: Keyword<T>) -> Keyword<T> {
    row.status = Status::Partial(why);
    row
}

/// What handlers share: the diagnostics so far.
#[derive(Debug, Default)]
pub struct Ctx {
    /// Everything reported so far, in order.
    pub diagnostics: Vec<Diagnostic>,
    /// The bfd_instances read so far, as `track_bfd` and `BFD_CHECK` look them up.
    pub bfd_names: super::bfd_track::BfdNames,
}

/// Dispatches each child of a block through `table`; unknown keywords are warnings.
pub fn apply<T: HasPlaces>(target: &mut T, table: &[Keyword<T>], nodes: &[Node], ctx: &mut Ctx) {
    for node in nodes {
        match table.iter().find(|k| k.name == node.keyword()) {
            Some(keyword) => {
                let place = node
                    .arg(0)
                    .map_or_else(|| node.place().clone(), |w| w.place.clone());
                target.places_mut().insert(keyword.name.to_owned(), place);
                (keyword.handler)(target, node, ctx);
                ctx.not_acted_on(node, keyword.status);
            }
            None => ctx.unknown(node),
        }
    }
}

impl Ctx {
    /// Reports at `place`.
    pub fn report(&mut self, severity: Severity, place: &Place, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::at(severity, place, message));
    }

    /// Reports about the whole configuration.
    pub fn report_global(&mut self, severity: Severity, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::global(severity, message));
    }

    /// keepalived: "Unknown keyword 'X'" (a warning; the rest still loads).
    pub fn unknown(&mut self, node: &Node) {
        self.report(
            Severity::Warning,
            node.place(),
            format!("Unknown keyword '{}'", node.keyword()),
        );
        if let Some(open) = &node.stray_open {
            self.report(Severity::Warning, open, "Unexpected '{' - ignoring");
        }
    }

    /// A note when `node`'s keyword is parsed but ignored (its [`Status`] says why).
    pub fn not_acted_on(&mut self, node: &Node, status: Status) {
        if let Status::Ignored(why) = status {
            self.report(
                Severity::Note,
                node.place(),
                format!(
                    "{}: parsed, but kad does not act on it: {why}",
                    node.keyword()
                ),
            );
        }
    }

    /// A bad value for `node`'s keyword: error with the text and what was expected.
    pub fn bad(&mut self, node: &Node, word: &Word, err: &ValueError) {
        self.report(
            Severity::Error,
            &word.place,
            format!("{}: {err} - ignoring", node.keyword()),
        );
    }

    /// Argument `i` of `node`, or an error saying what was expected.
    pub fn need<'n>(&mut self, node: &'n Node, i: usize, expected: &str) -> Option<&'n Word> {
        let word = node.arg(i);
        if word.is_none() {
            self.report(
                Severity::Error,
                node.place(),
                format!("{}: missing value: expected {expected}", node.keyword()),
            );
        }
        word
    }

    /// Parses argument `i` with `parse`; reports a missing or bad value.
    pub fn value<V>(
        &mut self,
        node: &Node,
        i: usize,
        expected: &str,
        parse: impl FnOnce(&str) -> Result<V, ValueError>,
    ) -> Option<V> {
        let word = self.need(node, i, expected)?;
        match parse(word.as_str()) {
            Ok(v) => Some(v),
            Err(err) => {
                self.bad(node, word, &err);
                None
            }
        }
    }

    /// An integer in `min..=max` at argument `i`.
    pub fn int(&mut self, node: &Node, i: usize, min: i64, max: i64) -> Option<i64> {
        let expected = format!("an integer in {min}..={max}");
        self.value(node, i, &expected.clone(), |s| parse_int(s, min, max))
    }

    /// A `<TIMER>` (seconds, fractions allowed, microsecond resolution) in `min..=max`.
    pub fn timer(&mut self, node: &Node, i: usize, min: f64, max: f64) -> Option<Duration> {
        self.value(node, i, &timer_expected(min, max), |s| {
            parse_timer(s, min, max)
        })
    }

    /// A `[<BOOL>]` flag: absent means true.
    pub fn flag(&mut self, node: &Node, i: usize) -> Option<bool> {
        match node.arg(i) {
            None => Some(true),
            Some(word) => match parse_bool(word.as_str()) {
                Ok(v) => Some(v),
                Err(err) => {
                    self.bad(node, word, &err);
                    None
                }
            },
        }
    }

    /// An IP address at argument `i`.
    pub fn ip(&mut self, node: &Node, i: usize) -> Option<IpAddr> {
        self.value(node, i, "an IPv4 or IPv6 address", parse_ip)
    }

    /// A single string argument `i`.
    pub fn string(&mut self, node: &Node, i: usize, expected: &str) -> Option<String> {
        self.need(node, i, expected).map(|w| w.text.clone())
    }

    /// Words of a block's children as a list of entries (`{ a b c }` style).
    pub fn list(&mut self, node: &Node) -> Vec<Word> {
        if node.block.is_none() {
            self.report(
                Severity::Error,
                node.place(),
                format!("{}: expected a '{{' block", node.keyword()),
            );
        }
        let mut words = Vec::new();
        for child in node.children() {
            words.push(child.key.clone());
            words.extend(child.args.iter().cloned());
        }
        words
    }
}

/// The wording of a timer's range.
pub fn timer_expected(min: f64, max: f64) -> String {
    format!("a time in seconds in {min}..={max}")
}

/// keepalived.conf numbers: decimal (or 0x hex), optional sign.
pub fn parse_int(text: &str, min: i64, max: i64) -> Result<i64, ValueError> {
    let expected = || format!("an integer in {min}..={max}");
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let parsed = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<i64>().ok()
    } else {
        None
    };
    let value = parsed
        .map(|v| if neg { -v } else { v })
        .ok_or_else(|| ValueError::new(text, expected()))?;
    if value < min || value > max {
        return Err(ValueError::new(text, expected()));
    }
    Ok(value)
}

/// keepalived.conf `<TIMER>`: seconds with optional fraction, resolution microseconds.
pub fn parse_timer(text: &str, min: f64, max: f64) -> Result<Duration, ValueError> {
    let err = || ValueError::new(text, timer_expected(min, max));
    let ok_chars = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|&b| b == b'.').count() <= 1
        && text.bytes().any(|b| b.is_ascii_digit());
    if !ok_chars {
        return Err(err());
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err())?
    };
    let mut micros: u64 = 0;
    let mut scale = 100_000u64;
    for b in frac.bytes() {
        micros += u64::from(b - b'0') * scale;
        scale /= 10;
    }
    let value = secs as f64 + micros as f64 / 1e6;
    if value < min || value > max || secs > 1_000_000_000 {
        return Err(err());
    }
    Ok(Duration::from_secs(secs) + Duration::from_micros(micros))
}

/// keepalived.conf `<BOOL>`: on|off|true|false|yes|no.
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(ValueError::new(text, "one of on|off|true|false|yes|no")),
    }
}

/// An IPv4 or IPv6 address (no prefix).
pub fn parse_ip(text: &str) -> Result<IpAddr, ValueError> {
    text.parse()
        .map_err(|_| ValueError::new(text, "an IPv4 or IPv6 address"))
}

/// A port number 0..=65535 (or a well-known service name keepalived accepts).
pub fn parse_port(text: &str) -> Result<u16, ValueError> {
    match text {
        "http" => return Ok(80),
        "https" => return Ok(443),
        "smtp" => return Ok(25),
        "ftp" => return Ok(21),
        "ssh" => return Ok(22),
        "domain" => return Ok(53),
        _ => {}
    }
    parse_int(text, 0, 65535)
        .map(|v| u16::try_from(v).unwrap_or(0))
        .map_err(|_| ValueError::new(text, "a port number in 0..=65535"))
}

/// A script with optional `username [groupname]` (keepalived.conf "SCRIPTS").
pub fn script(ctx: &mut Ctx, node: &Node, first: usize) -> Option<super::model::Script> {
    let word = ctx.need(node, first, "a script path (quoted if it has arguments)")?;
    Some(super::model::Script {
        command: word.text.clone(),
        user: node.arg(first + 1).map(|w| w.text.clone()),
        group: node.arg(first + 2).map(|w| w.text.clone()),
        place: word.place.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_keep_microseconds_and_check_ranges() {
        assert_eq!(
            parse_timer("2.71828", 0.0, 10.0),
            Ok(Duration::from_micros(2_718_280))
        );
        assert_eq!(parse_timer(".5", 0.0, 10.0), Ok(Duration::from_millis(500)));
        assert_eq!(
            parse_timer("1.2.3", 0.0, 10.0).map_err(|e| e.to_string()),
            Err("invalid value '1.2.3': expected a time in seconds in 0..=10".to_owned())
        );
        assert!(parse_timer("11", 0.0, 10.0).is_err());
        assert!(parse_timer("-1", 0.0, 10.0).is_err());
    }

    #[test]
    fn integers_accept_sign_and_hex_and_check_ranges() {
        assert_eq!(parse_int("-253", -253, 253), Ok(-253));
        assert_eq!(parse_int("0x10", 0, 255), Ok(16));
        assert!(parse_int("256", 0, 255).is_err());
        assert!(parse_int("12a", 0, 255).is_err());
        assert!(parse_int("", 0, 255).is_err());
    }

    #[test]
    fn booleans_are_the_six_words() {
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("off"), Ok(false));
        assert!(parse_bool("1").is_err());
    }
}
