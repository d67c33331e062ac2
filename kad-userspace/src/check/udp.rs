//! keepalived.conf `UDP_CHECK`: send `payload` (hex) to the real server. With
//! `require_reply` a reply must arrive within `connect_timeout` and its length lie in
//! `min_reply_length..=max_reply_length`; without it the check fails only when the host
//! answers with an ICMP error (port unreachable), seen as a receive error on the connected
//! socket.

use super::{Pass, ProbeError, endpoint::Endpoint};

/// A UDP_CHECK's options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UdpSpec {
    /// keepalived.conf `payload`, decoded from hex.
    pub payload: Vec<u8>,
    /// keepalived.conf `require_reply`.
    pub require_reply: bool,
    /// keepalived.conf `min_reply_length`.
    pub min_reply: usize,
    /// keepalived.conf `max_reply_length` (none: any).
    pub max_reply: Option<usize>,
}

/// Decodes keepalived's hex `payload` (an optional `0x` prefix, an even number of digits).
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if !digits.len().is_multiple_of(2) {
        return Err(format!(
            "UDP_CHECK payload '{text}': odd number of hex digits"
        ));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("UDP_CHECK payload '{text}': not hex"))
        })
        .collect()
}

/// Sends the payload and judges the reply (or its absence).
pub async fn probe(endpoint: &Endpoint, spec: &UdpSpec) -> Result<Pass, ProbeError> {
    let socket = endpoint.connect_udp().await?;
    socket.send(&spec.payload).await.map_err(ProbeError::io)?;
    let mut buf = vec![0u8; 65536];
    // Without require_reply, silence until (just before) the hard timeout means up.
    let wait = if spec.require_reply {
        endpoint.connect_timeout
    } else {
        endpoint.connect_timeout.mul_f64(0.8)
    };
    match tokio::time::timeout(wait, socket.recv(&mut buf)).await {
        Ok(Ok(n)) => {
            if !spec.require_reply {
                return Ok(Pass::default());
            }
            if n < spec.min_reply || spec.max_reply.is_some_and(|max| n > max) {
                return Err(ProbeError::Check(format!(
                    "reply of {n} bytes, expected {}..={}",
                    spec.min_reply,
                    spec.max_reply.map_or("any".to_owned(), |m| m.to_string())
                )));
            }
            Ok(Pass::default())
        }
        Ok(Err(err)) => Err(ProbeError::Check(format!("ICMP error: {err}"))),
        Err(_) if spec.require_reply => Err(ProbeError::Timeout("reply")),
        Err(_) => Ok(Pass::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn payload_is_hex() {
        assert_eq!(parse_hex("0x0a0B"), Ok(vec![10, 11]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
