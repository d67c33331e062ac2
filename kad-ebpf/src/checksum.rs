//! RFC 1071 Internet checksums over frame bytes, computed exactly as kad-userspace's
//! `vrrp/packet/checksum.rs` does: the IPv4 header (RFC 791 §3.1), the VRRPv2 message alone
//! (RFC 3768 §5.3.8), and the VRRPv3 message with the IPv4 (RFC 5798 §5.2.8) or IPv6 (RFC 8200
//! §8.1) pseudo-header.
//!
//! Sums are kept in a `u64` over 16-bit words read in memory (native) byte order, and folded
//! once at the end. RFC 1071 §2(B): the one's-complement sum is independent of byte order —
//! summing byte-swapped words gives the byte-swapped sum — so comparing a native sum with the
//! checksum field read natively is the same test as in network order, without a swap per
//! word; only constants (the pseudo-header's length and protocol) are converted. A checksum is
//! verified by removing the carried value from the sum and comparing the complement of the
//! rest with it, as the decoder does (so 0x0000 and 0xffff, the two one's-complement zeros,
//! are not confused).

use aya_ebpf::programs::XdpContext;
use kad_common::{
    vrrp_wire::{IPPROTO_VRRP, IPV4_HEADER_LEN},
    xdp_counters::XdpReason,
    xdp_maps::FAMILY_V4,
};

use crate::{
    advert::Advert,
    packet::{VrrpPacket, ne16, window},
};

/// Longest VRRP message in 32-bit words: v3 over IPv6 with 255 addresses (RFC 5798 §5.2.5),
/// 8 + 255 × 16 bytes. Every valid message is a whole number of words (8-byte header,
/// 4- or 16-byte addresses, 8-byte v2 trailer), and `advert::check` has matched the length
/// against Count IPvX Addr, so nothing longer reaches the loop.
const MAX_VRRP_WORDS: usize = (8 + 255 * 16) / 4;
/// RFC 791 §3.1: at most 40 bytes of IPv4 options (IHL 15).
const MAX_IPV4_OPTION_WORDS: usize = 10;

/// Sum of the 16-bit halves of the `words` 32-bit words at `off` (at most `MAX` of them: the
/// bound the verifier walks), in memory byte order.
#[inline(always)]
fn sum_words<const MAX: usize>(
    ctx: &XdpContext,
    off: usize,
    words: usize,
) -> Result<u64, XdpReason> {
    let mut acc = 0u64;
    for i in 0..MAX {
        if i >= words {
            break;
        }
        let word = window::<4>(ctx, off + i * 4)?;
        acc += u64::from(ne16(word, 0)) + u64::from(ne16(word, 2));
    }
    Ok(acc)
}

/// RFC 1071 §4.1: folds the carries into 16 bits. Four rounds cover any sum below 2^48
/// (ours stay below 2^24).
#[inline(always)]
fn fold(mut acc: u64) -> u16 {
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc as u16
}

/// Whether `carried` is the checksum of data whose word sum, `carried` included, is `sum`.
#[inline(always)]
fn carries(sum: u64, carried: u16) -> bool {
    !fold(sum - u64::from(carried)) == carried
}

/// RFC 791 §3.1: the IPv4 header checksum, options included.
#[inline(always)]
pub fn ipv4_header_ok(ctx: &XdpContext, packet: &VrrpPacket) -> Result<bool, XdpReason> {
    let ip = window::<IPV4_HEADER_LEN>(ctx, packet.ip_offset)?;
    let mut sum = 0u64;
    for at in (0..IPV4_HEADER_LEN).step_by(2) {
        sum += u64::from(ne16(ip, at));
    }
    let carried = ne16(ip, 10);
    let options = (packet.ip_header_len - IPV4_HEADER_LEN) / 4;
    sum += sum_words::<MAX_IPV4_OPTION_WORDS>(ctx, packet.ip_offset + IPV4_HEADER_LEN, options)?;
    Ok(carries(sum, carried))
}

/// Which VRRPv3-over-IPv4 checksums are good (keepalived `vrrp_v3_checksum_as_v2`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum V3Ipv4 {
    /// RFC 5798 §5.2.8: with the pseudo-header only.
    PseudoHeader,
    /// With the pseudo-header, or over the message alone as v2 does.
    EitherForm,
}

/// Which forms of the VRRP checksum an advert carries.
#[derive(Clone, Copy)]
pub struct Forms {
    /// RFC 3768 §5.3.8 / RFC 5798 §5.2.8 (or the v2 form under [`V3Ipv4::EitherForm`]).
    pub rfc: bool,
    /// keepalived.conf `old_unicast_checksum`: VRRPv3 over IPv4 with the multicast group as
    /// the pseudo-header destination (false when no group was given).
    pub old: bool,
}

/// RFC 3768 §5.3.8 / RFC 5798 §5.2.8: the VRRP checksum, and with `old_group` (the group's
/// four octets) keepalived's pre-2.2.0 VRRPv3 IPv4 form too. The old form's sum is the RFC
/// one with the pseudo-header destination replaced by the group: the message sum is shared.
#[inline(always)]
pub fn vrrp_forms(
    ctx: &XdpContext,
    packet: &VrrpPacket,
    advert: &Advert,
    v3_ipv4: V3Ipv4,
    old_group: Option<[u8; 4]>,
) -> Result<Forms, XdpReason> {
    let message = sum_words::<MAX_VRRP_WORDS>(ctx, packet.offset, packet.len / 4)?;
    if advert.version == kad_common::vrrp_wire::VRRP_VERSION_2 {
        return Ok(Forms {
            rfc: carries(message, advert.checksum),
            old: false,
        });
    }
    // The IPv4 (RFC 768 layout) and IPv6 pseudo-headers have the same word sum: both
    // addresses, the upper-layer length and the protocol (in memory order, like the rest).
    let len = u16::from_ne_bytes((packet.len as u16).to_be_bytes());
    let protocol = u16::from_ne_bytes([0, IPPROTO_VRRP]);
    let base = message + packet.src.word_sum() + u64::from(len) + u64::from(protocol);
    let v4 = packet.family == FAMILY_V4;
    let rfc = carries(base + packet.dst.word_sum(), advert.checksum)
        || (v4 && v3_ipv4 == V3Ipv4::EitherForm && carries(message, advert.checksum));
    let old = match old_group {
        Some(group) if v4 => {
            let group = u64::from(u16::from_ne_bytes([group[0], group[1]]))
                + u64::from(u16::from_ne_bytes([group[2], group[3]]));
            carries(base + group, advert.checksum)
        }
        _ => false,
    };
    Ok(Forms { rfc, old })
}
