//! The layers under VRRP: Ethernet (+ one 802.1Q tag), IPv4 and IPv6 headers.

use std::net::{Ipv4Addr, Ipv6Addr};

use kad_common::vrrp_wire::{
    ETH_HEADER_LEN, ETH_P_8021AD, ETH_P_8021Q, IPV4_HEADER_LEN, IPV6_HEADER_LEN, VLAN_TAG_LEN,
};

use super::{DecodeError, checksum};

/// keepalived's IPv4 TOS for adverts: precedence "internetwork control" (0xc0).
pub const VRRP_IPV4_TOS: u8 = 0xc0;

const IPV4_DF: u16 = 0x4000;
const IPV4_MF: u16 = 0x2000;
const IPV4_OFFSET_MASK: u16 = 0x1fff;

/// The payload of an Ethernet frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetPayload<'a> {
    /// EtherType of the payload (after the VLAN tag, if any).
    pub ethertype: u16,
    /// VLAN id (low 12 bits of the TCI) of the one 802.1Q / 802.1ad tag, if present.
    pub vlan: Option<u16>,
    /// Bytes after the Ethernet header (may include trailing padding).
    pub payload: &'a [u8],
}

/// IEEE 802.3 / 802.1Q: splits an Ethernet frame into EtherType, VLAN and payload.
/// At most one VLAN tag is understood; a second one is reported as `BadEtherType`.
pub fn ethernet_payload(frame: &[u8]) -> Result<EthernetPayload<'_>, DecodeError> {
    let (head, rest) =
        frame
            .split_first_chunk::<ETH_HEADER_LEN>()
            .ok_or(DecodeError::Truncated {
                need: ETH_HEADER_LEN,
                have: frame.len(),
            })?;
    let outer = u16::from_be_bytes([head[12], head[13]]);
    if outer != ETH_P_8021Q && outer != ETH_P_8021AD {
        return Ok(EthernetPayload {
            ethertype: outer,
            vlan: None,
            payload: rest,
        });
    }
    let (tag, payload) =
        rest.split_first_chunk::<VLAN_TAG_LEN>()
            .ok_or(DecodeError::Truncated {
                need: ETH_HEADER_LEN + VLAN_TAG_LEN,
                have: frame.len(),
            })?;
    let tci = u16::from_be_bytes([tag[0], tag[1]]);
    let ethertype = u16::from_be_bytes([tag[2], tag[3]]);
    Ok(EthernetPayload {
        ethertype,
        vlan: Some(tci & 0x0fff),
        payload,
    })
}

/// A validated IPv4 header (RFC 791 §3.1), options included, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header<'a> {
    fixed: &'a [u8; IPV4_HEADER_LEN],
    full: &'a [u8],
}

impl<'a> Ipv4Header<'a> {
    /// The header bytes, options included.
    pub fn bytes(&self) -> &'a [u8] {
        self.full
    }
    /// Type of service / DSCP+ECN byte.
    pub fn tos(&self) -> u8 {
        self.fixed[1]
    }
    /// Total length of the packet.
    pub fn total_len(&self) -> u16 {
        u16::from_be_bytes([self.fixed[2], self.fixed[3]])
    }
    /// Identification.
    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.fixed[4], self.fixed[5]])
    }
    /// Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        u16::from_be_bytes([self.fixed[6], self.fixed[7]]) & IPV4_DF != 0
    }
    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.fixed[8]
    }
    /// Protocol of the payload.
    pub fn protocol(&self) -> u8 {
        self.fixed[9]
    }
    /// Header checksum as carried.
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.fixed[10], self.fixed[11]])
    }
    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.fixed[12],
            self.fixed[13],
            self.fixed[14],
            self.fixed[15],
        )
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.fixed[16],
            self.fixed[17],
            self.fixed[18],
            self.fixed[19],
        )
    }
}

/// RFC 791 §3.1: validates an IPv4 header (version, IHL, total length, no fragment, header
/// checksum) and returns it with its payload, cut at the total length (Ethernet padding
/// dropped). TTL and protocol are left to the caller.
pub fn parse_ipv4(packet: &[u8]) -> Result<(Ipv4Header<'_>, &[u8]), DecodeError> {
    let fixed = packet
        .first_chunk::<IPV4_HEADER_LEN>()
        .ok_or(DecodeError::Truncated {
            need: IPV4_HEADER_LEN,
            have: packet.len(),
        })?;
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(DecodeError::BadIpVersion(version));
    }
    let ihl = fixed[0] & 0x0f;
    let header_len = usize::from(ihl) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(DecodeError::BadIhl(ihl));
    }
    let total = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if total > packet.len() || total < header_len {
        return Err(DecodeError::BadIpLength {
            total,
            have: packet.len(),
        });
    }
    let frag = u16::from_be_bytes([fixed[6], fixed[7]]);
    if frag & IPV4_MF != 0 || frag & IPV4_OFFSET_MASK != 0 {
        return Err(DecodeError::Fragmented);
    }
    let packet = packet.get(..total).unwrap_or(packet);
    let (full, payload) = packet
        .split_at_checked(header_len)
        .ok_or(DecodeError::BadIhl(ihl))?;
    let found = u16::from_be_bytes([fixed[10], fixed[11]]);
    let expected = checksum::finish(checksum::add_words(
        checksum::add_words(0, full.get(..10).unwrap_or(&[])),
        full.get(12..).unwrap_or(&[]),
    ));
    if expected != found {
        return Err(DecodeError::BadIpChecksum { expected, found });
    }
    Ok((Ipv4Header { fixed, full }, payload))
}

/// The fields of a fixed IPv6 header (RFC 8200 §3) that VRRP reception needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fields {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Hop limit.
    pub hop_limit: u8,
    /// Next header (extension headers are not walked).
    pub next_header: u8,
}

/// RFC 8200 §3: validates a fixed IPv6 header and returns it with its payload, cut at the
/// payload length. Extension headers are not walked (VRRP adverts carry none).
pub fn parse_ipv6(packet: &[u8]) -> Result<(Ipv6Fields, &[u8]), DecodeError> {
    let (fixed, rest) =
        packet
            .split_first_chunk::<IPV6_HEADER_LEN>()
            .ok_or(DecodeError::Truncated {
                need: IPV6_HEADER_LEN,
                have: packet.len(),
            })?;
    let version = fixed[0] >> 4;
    if version != 6 {
        return Err(DecodeError::BadIpVersion(version));
    }
    let payload_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    let payload = rest.get(..payload_len).ok_or(DecodeError::BadIpLength {
        total: payload_len,
        have: rest.len(),
    })?;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&fixed[8..24]);
    dst.copy_from_slice(&fixed[24..40]);
    let fields = Ipv6Fields {
        src: Ipv6Addr::from(src),
        dst: Ipv6Addr::from(dst),
        hop_limit: fixed[7],
        next_header: fixed[6],
    };
    Ok((fields, payload))
}

/// How the IPv4 header of an outgoing advert is filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Options {
    /// Identification (keepalived increments it per packet).
    pub id: u16,
    /// Type of service byte.
    pub tos: u8,
    /// Don't Fragment flag (keepalived leaves it clear; FRR sets it).
    pub dont_fragment: bool,
    /// Time to live: RFC 5798 §5.1.1.3 wants 255 (keepalived's `unicast_ttl` may lower it).
    pub ttl: u8,
}

impl Ipv4Options {
    /// The header keepalived 2.2.7 sends (seen in the vectors): TOS 0xc0, DF clear, TTL 255.
    pub fn keepalived(id: u16) -> Self {
        Self {
            id,
            tos: VRRP_IPV4_TOS,
            dont_fragment: false,
            ttl: kad_common::vrrp_wire::VRRP_TTL,
        }
    }
}

/// RFC 791 §3.1: writes a 20-byte IPv4 header (no options) with its checksum into `out`.
pub(crate) fn write_ipv4_header(
    out: &mut [u8; IPV4_HEADER_LEN],
    opts: &Ipv4Options,
    total_len: u16,
    protocol: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
) {
    let flags: u16 = if opts.dont_fragment { IPV4_DF } else { 0 };
    out[0] = 0x45;
    out[1] = opts.tos;
    out[2..4].copy_from_slice(&total_len.to_be_bytes());
    out[4..6].copy_from_slice(&opts.id.to_be_bytes());
    out[6..8].copy_from_slice(&flags.to_be_bytes());
    out[8] = opts.ttl;
    out[9] = protocol;
    out[10..12].copy_from_slice(&[0, 0]);
    out[12..16].copy_from_slice(&src.octets());
    out[16..20].copy_from_slice(&dst.octets());
    let sum = checksum::internet_checksum(out);
    out[10..12].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(opts: &Ipv4Options) -> [u8; 20] {
        let mut h = [0u8; 20];
        write_ipv4_header(
            &mut h,
            opts,
            20,
            112,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(224, 0, 0, 18),
        );
        h
    }

    #[test]
    fn written_header_parses_back_with_the_same_fields() {
        let opts = Ipv4Options {
            id: 0x1234,
            tos: 0xc0,
            dont_fragment: true,
            ttl: 255,
        };
        let h = header(&opts);
        let (view, payload) = parse_ipv4(&h).unwrap();
        assert!(payload.is_empty());
        assert_eq!(
            (
                view.id(),
                view.tos(),
                view.dont_fragment(),
                view.ttl(),
                view.protocol()
            ),
            (0x1234, 0xc0, true, 255, 112)
        );
        assert_eq!(view.src(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(view.dst(), Ipv4Addr::new(224, 0, 0, 18));
    }

    #[test]
    fn ipv4_header_errors_are_typed() {
        let good = header(&Ipv4Options::keepalived(1));
        assert_eq!(
            parse_ipv4(&good[..19]),
            Err(DecodeError::Truncated { need: 20, have: 19 })
        );
        let mut bad = good;
        bad[0] = 0x65;
        assert_eq!(parse_ipv4(&bad), Err(DecodeError::BadIpVersion(6)));
        let mut bad = good;
        bad[0] = 0x44;
        assert_eq!(parse_ipv4(&bad), Err(DecodeError::BadIhl(4)));
        let mut bad = good;
        bad[3] = 21;
        assert_eq!(
            parse_ipv4(&bad),
            Err(DecodeError::BadIpLength {
                total: 21,
                have: 20
            })
        );
        let mut bad = good;
        bad[6] = 0x20;
        assert_eq!(parse_ipv4(&bad), Err(DecodeError::Fragmented));
        let mut bad = good;
        bad[11] ^= 1;
        assert!(matches!(
            parse_ipv4(&bad),
            Err(DecodeError::BadIpChecksum { .. })
        ));
    }

    #[test]
    fn ethernet_with_one_vlan_tag() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x20, 0x2a, 0x08, 0x00, 0xaa]);
        let eth = ethernet_payload(&frame).unwrap();
        assert_eq!(
            (eth.ethertype, eth.vlan, eth.payload),
            (0x0800, Some(42), &[0xaa][..])
        );
        assert_eq!(
            ethernet_payload(&frame[..16]),
            Err(DecodeError::Truncated { need: 18, have: 16 })
        );
    }
}
