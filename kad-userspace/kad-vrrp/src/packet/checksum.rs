//! Internet checksums: RFC 1071 arithmetic, the VRRPv3 pseudo-headers and the v2 form.

use std::net::{IpAddr, Ipv4Addr};

use kad_common::vrrp_wire::IPPROTO_VRRP;

use super::Version;

/// How a VRRPv3-over-IPv4 checksum is computed (keepalived's `vrrp_v3_checksum_as_v2`).
///
/// RFC 5798 §5.2.8 puts the IPv4 pseudo-header in the v3 checksum; some peers leave it out.
/// IPv6 always uses the pseudo-header (RFC 8200 §8.1), and v2 never does (RFC 3768 §5.3.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChecksumMode {
    /// RFC 5798 §5.2.8: pseudo-header + VRRP message (keepalived's default).
    #[default]
    PseudoHeader,
    /// keepalived.conf: `vrrp_v3_checksum_as_v2` — VRRP message only, for IPv4 v3 adverts.
    AsV2,
    /// keepalived.conf: `old_unicast_checksum` — keepalived before 2.2.0 put the multicast
    /// group (global `vrrp_mcast_group4`) in the IPv4 pseudo-header as destination, even for
    /// adverts sent to a unicast peer. IPv6 is unaffected (the kernel sums it).
    OldUnicast(Ipv4Addr),
}

/// RFC 1071: adds `data` as big-endian 16-bit words (odd tail padded with zero) to `acc`.
pub(crate) fn add_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        if let [hi, lo] = *word {
            acc += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    if let [last] = *words.remainder() {
        acc += u64::from(u16::from_be_bytes([last, 0]));
    }
    acc
}

/// RFC 1071: folds the carries of `acc` into 16 bits and complements the result.
pub(crate) fn finish(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc <= 0xffff, so the cast keeps every bit.
    !(acc as u16)
}

/// RFC 1071: the Internet checksum of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    finish(add_words(0, data))
}

/// Partial sum of the pseudo-header of an upper-layer message of `len` bytes carried
/// from `src` to `dst` with protocol VRRP: RFC 5798 §5.2.8 (IPv4, RFC 768 layout) and
/// RFC 8200 §8.1 (IPv6). Mixed families sum both addresses as they are.
fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    let mut acc = 0;
    for addr in [src, dst] {
        acc = match addr {
            IpAddr::V4(a) => add_words(acc, &a.octets()),
            IpAddr::V6(a) => add_words(acc, &a.octets()),
        };
    }
    // The length word(s) and the protocol: the same sum for both layouts
    // (IPv4: zero byte + protocol, 16-bit length; IPv6: 32-bit length, 3 zero bytes + next header).
    acc + (len as u64 & 0xffff) + ((len as u64) >> 16) + u64::from(IPPROTO_VRRP)
}

/// The checksum a VRRP message must carry, computed as if its checksum field (bytes 6..8)
/// were zero.
///
/// RFC 3768 §5.3.8: v2 sums the VRRP message only. RFC 5798 §5.2.8: v3 adds the
/// pseudo-header, except v3 over IPv4 with [`ChecksumMode::AsV2`]; with
/// [`ChecksumMode::OldUnicast`] its destination is the multicast group.
pub fn vrrp_checksum(
    msg: &[u8],
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
) -> u16 {
    let head = msg.get(..6).unwrap_or(msg);
    let tail = msg.get(8..).unwrap_or(&[]);
    let mut acc = add_words(add_words(0, head), tail);
    let pseudo_dst = match (version, mode) {
        (Version::V2, _) => None,
        (Version::V3, _) if src.is_ipv6() => Some(dst),
        (Version::V3, ChecksumMode::PseudoHeader) => Some(dst),
        (Version::V3, ChecksumMode::AsV2) => None,
        (Version::V3, ChecksumMode::OldUnicast(group)) => Some(IpAddr::V4(group)),
    };
    if let Some(pseudo_dst) = pseudo_dst {
        acc += pseudo_header_sum(src, pseudo_dst, msg.len());
    }
    finish(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 §3 worked example: words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            internet_checksum(&[0x12, 0x34, 0x56]),
            internet_checksum(&[0x12, 0x34, 0x56, 0x00])
        );
    }

    #[test]
    fn message_with_its_checksum_sums_to_zero() {
        let mut msg = [0x21, 0x33, 0xc8, 0x01, 0x01, 0x01, 0, 0, 10, 77, 0, 100];
        let c = vrrp_checksum(
            &msg,
            Version::V2,
            "10.77.0.1".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            ChecksumMode::PseudoHeader,
        );
        msg[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(internet_checksum(&msg), 0);
    }

    #[test]
    fn v3_ipv4_as_v2_differs_from_pseudo_header_but_ipv6_ignores_it() {
        let msg = [0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0, 0, 10, 77, 0, 100];
        let (s4, d4): (IpAddr, IpAddr) =
            ("10.77.0.1".parse().unwrap(), "224.0.0.18".parse().unwrap());
        let pseudo = vrrp_checksum(&msg, Version::V3, s4, d4, ChecksumMode::PseudoHeader);
        let plain = vrrp_checksum(&msg, Version::V3, s4, d4, ChecksumMode::AsV2);
        assert_ne!(pseudo, plain);
        assert_eq!(
            plain,
            vrrp_checksum(&msg, Version::V2, s4, d4, ChecksumMode::PseudoHeader)
        );
        let (s6, d6): (IpAddr, IpAddr) = ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap());
        assert_eq!(
            vrrp_checksum(&msg, Version::V3, s6, d6, ChecksumMode::AsV2),
            vrrp_checksum(&msg, Version::V3, s6, d6, ChecksumMode::PseudoHeader)
        );
    }

    #[test]
    fn old_unicast_checksum_sums_the_group_instead_of_the_peer() {
        // A VRRPv3 IPv4 unicast advert: VRID 51, priority 200, one VIP, 1 s interval.
        let msg = [0x31, 0x33, 0xc8, 0x01, 0x00, 0x64, 0, 0, 10, 77, 0, 100];
        let src: IpAddr = "10.77.0.1".parse().unwrap();
        let peer: IpAddr = "10.77.0.2".parse().unwrap();
        let group = Ipv4Addr::new(224, 0, 0, 18);
        let new = vrrp_checksum(&msg, Version::V3, src, peer, ChecksumMode::PseudoHeader);
        let old = vrrp_checksum(
            &msg,
            Version::V3,
            src,
            peer,
            ChecksumMode::OldUnicast(group),
        );
        assert_ne!(new, old);
        // The old form is the RFC form of the same message sent to the group.
        assert_eq!(
            old,
            vrrp_checksum(
                &msg,
                Version::V3,
                src,
                IpAddr::V4(group),
                ChecksumMode::PseudoHeader
            )
        );
        // Multicast adverts and IPv6 are the same in both forms.
        let (s6, d6): (IpAddr, IpAddr) = ("fe80::1".parse().unwrap(), "fe80::2".parse().unwrap());
        assert_eq!(
            vrrp_checksum(&msg, Version::V3, s6, d6, ChecksumMode::OldUnicast(group)),
            vrrp_checksum(&msg, Version::V3, s6, d6, ChecksumMode::PseudoHeader)
        );
    }
}
