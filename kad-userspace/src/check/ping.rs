//! keepalived.conf `PING_CHECK`: one ICMP echo request (RFC 792) or ICMPv6
//! echo request (RFC 4443 §4.1); up when the matching echo reply arrives within
//! `connect_timeout`. Uses an unprivileged ICMP datagram socket when
//! `net.ipv4.ping_group_range` allows it, else a raw socket (root).

use std::io::Read as _;

use socket2::{Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::{Pass, ProbeError, endpoint::Endpoint};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const PAYLOAD: &[u8] = b"kad PING_CHECK..";

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
            [a] => u32::from(*a) << 8,
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with `id` and `seq` (the checksum is filled for ICMPv4; the kernel fills
/// ICMPv6's).
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut packet = vec![if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(PAYLOAD);
    if !v6 {
        let sum = checksum(&packet).to_be_bytes();
        packet[2] = sum[0];
        packet[3] = sum[1];
    }
    packet
}

/// Whether `data` (an ICMP message; for a raw IPv4 socket, with its IP header) is the echo
/// reply to (`id` if checked, `seq`).
pub fn is_reply(data: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> bool {
    let icmp = if raw && !v6 {
        let header = usize::from(data.first().map_or(0, |b| b & 0x0f)) * 4;
        data.get(header..).unwrap_or_default()
    } else {
        data
    };
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    let field = |at: usize| {
        icmp.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    icmp.first() == Some(&want) && field(6) == Some(seq) && (!raw || field(4) == Some(id))
}

/// One echo request and its reply.
pub async fn probe(endpoint: &Endpoint) -> Result<Pass, ProbeError> {
    let v6 = endpoint.addr.is_ipv6();
    let protocol = if v6 {
        Protocol::ICMPV6
    } else {
        Protocol::ICMPV4
    };
    let (socket, raw) = match endpoint.socket(Type::DGRAM, Some(protocol)) {
        Ok(socket) => (socket, false),
        Err(_) => (endpoint.socket(Type::RAW, Some(protocol))?, true),
    };
    let mut target = endpoint.target()?;
    target.set_port(0);
    let target = SockAddr::from(target);
    socket.connect(&target).map_err(ProbeError::socket)?;
    // SAFETY: the AsyncFd owns the socket, so its descriptor stays open and the same for
    // the AsyncFd's whole life.
    let socket = unsafe { AsyncFd::register(socket) }
        .map_err(|err| ProbeError::socket(err.into_parts().1))?;
    let id = fastrand::u16(..);
    let seq = fastrand::u16(..);
    let request = echo_request(v6, id, seq);
    send(&socket, &request).await?;
    let mut buf = vec![0u8; 2048];
    loop {
        let mut guard = socket.readable().await.map_err(ProbeError::io)?;
        match guard.try_io(|s| s.get_ref().read(&mut buf)) {
            Ok(Ok(n)) => {
                if buf.get(..n).is_some_and(|d| is_reply(d, v6, raw, id, seq)) {
                    return Ok(Pass::default());
                }
            }
            Ok(Err(err)) => return Err(ProbeError::Check(format!("ICMP: {err}"))),
            Err(_would_block) => {}
        }
    }
}

async fn send(socket: &AsyncFd<Socket>, request: &[u8]) -> Result<(), ProbeError> {
    loop {
        let mut guard = socket.writable().await.map_err(ProbeError::io)?;
        match guard.try_io(|s| s.get_ref().send(request)) {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err)) => return Err(ProbeError::Check(format!("sending echo: {err}"))),
            Err(_would_block) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_a_valid_checksum_and_replies_match_on_seq() {
        let request = echo_request(false, 0x1234, 7);
        assert_eq!(
            checksum(&request),
            0,
            "a packet with its checksum sums to zero"
        );
        let mut reply = request.clone();
        reply[0] = ECHO_REPLY_V4;
        assert!(is_reply(&reply, false, false, 0, 7));
        assert!(!is_reply(&reply, false, false, 0, 8));
        let mut with_ip = vec![0x45; 1];
        with_ip.extend_from_slice(&[0; 19]);
        with_ip.extend_from_slice(&reply);
        assert!(is_reply(&with_ip, false, true, 0x1234, 7));
        assert!(!is_reply(&with_ip, false, true, 0x1235, 7));
        let mut v6 = echo_request(true, 1, 2);
        v6[0] = ECHO_REPLY_V6;
        assert!(is_reply(&v6, true, true, 1, 2));
    }
}
