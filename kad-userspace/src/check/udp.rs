//! keepalived.conf `UDP_CHECK`: send `payload` (a random payload when none is given) to the
//! real server. With `require_reply` a reply must arrive within `connect_timeout`, its
//! length lie in `min_reply_length..=max_reply_length` (default 0..=255) and, when
//! `require_reply HEX_STR` gives one, match that pattern over the shorter of the two (`X`
//! nibbles match anything). Without `require_reply` the check fails only when the host
//! answers with an ICMP error (port, host or net unreachable), seen as a receive error on
//! the connected socket.

use super::{Pass, ProbeError, endpoint::Endpoint, plan_error::PlanError};

/// keepalived.conf(5): `max_reply_length` default.
pub const DEFAULT_MAX_REPLY: usize = 255;

/// A UDP_CHECK's options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UdpSpec {
    /// keepalived.conf `payload`, decoded (None: random bytes each time).
    pub payload: Option<Vec<u8>>,
    /// keepalived.conf `require_reply`.
    pub require_reply: bool,
    /// keepalived.conf `require_reply HEX_STR`: (value, mask) per byte.
    pub reply_pattern: Option<Vec<(u8, u8)>>,
    /// keepalived.conf `min_reply_length`.
    pub min_reply: usize,
    /// keepalived.conf `max_reply_length`.
    pub max_reply: usize,
}

/// keepalived's free-format HEX_STR, as (value, mask) nibble pairs: blank-separated groups,
/// two digits per byte, a group's odd last digit a byte of its own (`Ab12f 3` is AB 12 0F
/// 03); with `wildcards`, `X`/`x` is a nibble that matches anything.
fn parse(text: &str, wildcards: bool) -> Result<Vec<(u8, u8)>, PlanError> {
    let nibble = |c: char| -> Result<(u8, u8), PlanError> {
        match c.to_digit(16) {
            Some(d) => Ok((d as u8, 0xf)),
            None if wildcards && (c == 'x' || c == 'X') => Ok((0, 0)),
            None => Err(PlanError::NotHex {
                text: text.to_owned(),
                digit: c,
            }),
        }
    };
    let mut bytes = Vec::new();
    for group in text.split_whitespace() {
        let digits = group.chars().map(nibble).collect::<Result<Vec<_>, _>>()?;
        for pair in digits.chunks(2) {
            let ((hv, hm), (lv, lm)) = match pair {
                [high, low] => (*high, *low),
                [low] => ((0, 0xf), *low),
                _ => continue,
            };
            bytes.push(((hv << 4) | lv, (hm << 4) | lm));
        }
    }
    Ok(bytes)
}

/// Decodes `payload HEX_STR`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, PlanError> {
    Ok(parse(text, false)?.into_iter().map(|(v, _)| v).collect())
}

/// Decodes `require_reply HEX_STR` (with `X` wildcards).
pub fn parse_pattern(text: &str) -> Result<Vec<(u8, u8)>, PlanError> {
    parse(text, true)
}

/// How a UDP_CHECK reply fails its spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyMismatch {
    /// keepalived.conf `min_reply_length` / `max_reply_length`.
    #[error("reply of {got} bytes, expected {min}..={max}")]
    Length {
        /// The reply's length.
        got: usize,
        /// min_reply_length.
        min: usize,
        /// max_reply_length.
        max: usize,
    },
    /// keepalived.conf `require_reply`: the first byte that differs.
    #[error("reply differs from require_reply at byte {0}")]
    Pattern(usize),
}

/// Whether `reply` satisfies the spec (how it does not, when it does not).
pub fn judge(spec: &UdpSpec, reply: &[u8]) -> Result<(), ReplyMismatch> {
    let n = reply.len();
    if n < spec.min_reply || n > spec.max_reply {
        return Err(ReplyMismatch::Length {
            got: n,
            min: spec.min_reply,
            max: spec.max_reply,
        });
    }
    if let Some(pattern) = &spec.reply_pattern
        && let Some(at) = reply
            .iter()
            .zip(pattern)
            .position(|(byte, (value, mask))| byte & mask != *value)
    {
        return Err(ReplyMismatch::Pattern(at));
    }
    Ok(())
}

/// Sends the payload and judges the reply (or its absence).
pub async fn probe(endpoint: &Endpoint, spec: &UdpSpec) -> Result<Pass, ProbeError> {
    let socket = endpoint.connect_udp().await?;
    let random: Vec<u8>;
    let payload = match &spec.payload {
        Some(payload) => payload.as_slice(),
        None => {
            random = (0..16).map(|_| fastrand::u8(..)).collect();
            &random
        }
    };
    socket.send(payload).await.map_err(ProbeError::io)?;
    let mut buf = vec![0u8; 65536];
    // Without require_reply, silence until (just before) the hard timeout means up.
    let wait = if spec.require_reply {
        endpoint.connect_timeout
    } else {
        endpoint.connect_timeout.mul_f64(0.8)
    };
    match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
        Ok(Ok(n)) if spec.require_reply => {
            judge(spec, buf.get(..n).unwrap_or_default())
                .map_err(|why| ProbeError::Check(why.to_string()))?;
            Ok(Pass::default())
        }
        Ok(Ok(_)) => Ok(Pass::default()),
        Ok(Err(err)) => Err(ProbeError::Check(format!("ICMP error: {err}"))),
        Err(_) if spec.require_reply => Err(ProbeError::Timeout("reply")),
        Err(_) => Ok(Pass::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_strings_are_free_format_like_keepalived() {
        // keepalived.conf(5)'s own example.
        assert_eq!(
            parse_hex("Ab12f 3 456 546443123"),
            Ok(vec![
                0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03
            ])
        );
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("1x").is_err(), "no wildcards in a payload");
    }

    #[test]
    fn replies_are_checked_for_length_and_pattern() {
        let spec = UdpSpec {
            payload: None,
            require_reply: true,
            reply_pattern: parse_pattern("6bX1 64").ok(),
            min_reply: 2,
            max_reply: 4,
        };
        assert_eq!(judge(&spec, &[0x6b, 0xf1, 0x64]), Ok(()));
        assert_eq!(
            judge(&spec, &[0x6b, 0x01]),
            Ok(()),
            "compared over the shorter"
        );
        assert_eq!(
            judge(&spec, &[0x6b, 0xf2, 0x64]),
            Err(ReplyMismatch::Pattern(1))
        );
        assert!(
            judge(&spec, &[0x6b]).is_err(),
            "shorter than min_reply_length"
        );
        assert!(judge(&spec, &[0x6b, 0x01, 0x64, 0, 0]).is_err());
    }
}
