//! keepalived's `auth_type AH`: an IPsec Authentication Header (RFC 2402 §2) between the
//! IPv4 header and the VRRPv2 message, with an HMAC-MD5-96 ICV (RFC 2403) keyed with the
//! 8-byte `auth_pass`.
//!
//! Layout (24 bytes): next header = 112 (VRRP), payload length = 4 (RFC 2402 §2.2: AH
//! length in 32-bit words minus 2), reserved = 0, SPI = the sender's IPv4 address, sequence
//! number, 12 bytes of ICV. The ICV covers the IPv4 header with its mutable fields (TOS,
//! flags + fragment offset, TTL, header checksum) zeroed (RFC 2402 §3.3.3.1.1.1), the AH
//! with a zero ICV, and the VRRP message. The VRRPv2 header carries Auth Type 2 and eight
//! zero bytes of Authentication Data.

use hmac::{Hmac, Mac};
use md5::Md5;

use kad_common::vrrp_wire::{IPPROTO_VRRP, VRRP_AH_LEN, VRRP_V2_AUTH_DATA_LEN};

use crate::packet::DecodeError;

/// RFC 2403: length of the HMAC-MD5-96 ICV.
pub const ICV_LEN: usize = 12;
/// RFC 2402 §2: bytes of AH before the ICV.
const AH_FIXED_LEN: usize = VRRP_AH_LEN - ICV_LEN;
/// RFC 2402 §2.2: payload length of a 24-byte AH (6 words minus 2).
const AH_PAYLOAD_LEN: u8 = (VRRP_AH_LEN / 4 - 2) as u8;
/// RFC 791 §3.1: longest IPv4 header (IHL 15).
const IPV4_MAX_HEADER_LEN: usize = 60;

/// A parsed Authentication Header, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhHeader<'a> {
    bytes: &'a [u8; VRRP_AH_LEN],
}

impl<'a> AhHeader<'a> {
    /// The 24 bytes of the header.
    pub fn bytes(&self) -> &'a [u8; VRRP_AH_LEN] {
        self.bytes
    }
    /// RFC 2402 §2.1: protocol of what follows (VRRP).
    pub fn next_header(&self) -> u8 {
        self.bytes[0]
    }
    /// RFC 2402 §2.3: Security Parameters Index (keepalived: the sender's IPv4 address).
    pub fn spi(&self) -> u32 {
        u32::from_be_bytes([self.bytes[4], self.bytes[5], self.bytes[6], self.bytes[7]])
    }
    /// RFC 2402 §2.5: anti-replay sequence number.
    pub fn sequence(&self) -> u32 {
        u32::from_be_bytes([self.bytes[8], self.bytes[9], self.bytes[10], self.bytes[11]])
    }
    /// RFC 2402 §2.6: the Integrity Check Value (HMAC-MD5-96).
    pub fn icv(&self) -> &'a [u8] {
        self.bytes.get(AH_FIXED_LEN..).unwrap_or(&[])
    }
}

/// RFC 2402 §2: splits an AH (HMAC-MD5-96 size) from the front of `bytes`; checks that it
/// protects VRRP and has the 4-word payload length.
pub fn parse_ah(bytes: &[u8]) -> Result<(AhHeader<'_>, &[u8]), DecodeError> {
    let (head, rest) = bytes
        .split_first_chunk::<VRRP_AH_LEN>()
        .ok_or(DecodeError::Truncated {
            need: VRRP_AH_LEN,
            have: bytes.len(),
        })?;
    if head[0] != IPPROTO_VRRP {
        return Err(DecodeError::BadProtocol(head[0]));
    }
    if head[1] != AH_PAYLOAD_LEN {
        return Err(DecodeError::BadAhLength(head[1]));
    }
    Ok((AhHeader { bytes: head }, rest))
}

/// RFC 2402 §2: writes an AH protecting VRRP with `spi` and `seq` and a zero ICV.
pub(crate) fn write_ah_without_icv(out: &mut [u8; VRRP_AH_LEN], spi: u32, seq: u32) {
    out.fill(0);
    out[0] = IPPROTO_VRRP;
    out[1] = AH_PAYLOAD_LEN;
    out[4..8].copy_from_slice(&spi.to_be_bytes());
    out[8..12].copy_from_slice(&seq.to_be_bytes());
}

/// RFC 2104 + RFC 2403: HMAC-MD5 of the concatenated `parts`, truncated to 96 bits.
pub fn hmac_md5_96(key: &[u8], parts: &[&[u8]]) -> [u8; ICV_LEN] {
    let mac = keyed_mac(key, parts);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; ICV_LEN];
    for (slot, byte) in out.iter_mut().zip(full.iter()) {
        *slot = *byte;
    }
    out
}

/// HMAC-MD5 over `parts`. HMAC accepts keys of any length, so `new_from_slice` cannot fail;
/// the fallback (an empty key) only satisfies the type system.
fn keyed_mac(key: &[u8], parts: &[&[u8]]) -> Hmac<Md5> {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Md5> as Mac>::new(&Default::default()));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// RFC 2402 §3.3.3.1.1.1: the IPv4 header as the ICV sees it, mutable fields zeroed.
/// Returns the buffer and the header's length in it.
fn immutable_ipv4_header(ip_header: &[u8]) -> ([u8; IPV4_MAX_HEADER_LEN], usize) {
    let mut buf = [0u8; IPV4_MAX_HEADER_LEN];
    let len = ip_header.len().min(IPV4_MAX_HEADER_LEN);
    for (slot, byte) in buf.iter_mut().zip(ip_header) {
        *slot = *byte;
    }
    // TOS, flags + fragment offset, TTL, header checksum.
    for index in [1, 6, 7, 8, 10, 11] {
        buf[index] = 0;
    }
    (buf, len)
}

/// The parts the ICV is computed over, in order.
fn icv_input<'b>(
    ip: &'b ([u8; IPV4_MAX_HEADER_LEN], usize),
    ah_fixed: &'b [u8],
    vrrp: &'b [u8],
) -> [&'b [u8]; 4] {
    const ZERO_ICV: [u8; ICV_LEN] = [0; ICV_LEN];
    [ip.0.get(..ip.1).unwrap_or(&[]), ah_fixed, &ZERO_ICV, vrrp]
}

/// RFC 2402 §3.3.3: the HMAC-MD5-96 ICV of an AH-protected VRRP advert.
/// `ip_header` is the IPv4 header as sent (options included), `ah` the AH (its ICV bytes are
/// ignored), `vrrp` the VRRP message.
pub fn compute_icv(
    key: &[u8; VRRP_V2_AUTH_DATA_LEN],
    ip_header: &[u8],
    ah: &[u8; VRRP_AH_LEN],
    vrrp: &[u8],
) -> [u8; ICV_LEN] {
    let ip = immutable_ipv4_header(ip_header);
    let ah_fixed = ah.get(..AH_FIXED_LEN).unwrap_or(&[]);
    hmac_md5_96(key, &icv_input(&ip, ah_fixed, vrrp))
}

/// RFC 2402 §3.4.4: whether the ICV carried in `ah` is the one `key` gives. The comparison
/// is constant-time (the `hmac` crate's `verify_truncated_left`).
pub fn verify_icv(
    key: &[u8; VRRP_V2_AUTH_DATA_LEN],
    ip_header: &[u8],
    ah: AhHeader<'_>,
    vrrp: &[u8],
) -> bool {
    let ip = immutable_ipv4_header(ip_header);
    let ah_fixed = ah.bytes.get(..AH_FIXED_LEN).unwrap_or(&[]);
    keyed_mac(key, &icv_input(&ip, ah_fixed, vrrp))
        .verify_truncated_left(ah.icv())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2202 §2: the seven HMAC-MD5 test cases (ICV = the first 96 bits of each digest;
    /// case 5 is the RFC's own truncation case).
    #[test]
    fn hmac_md5_96_matches_rfc2202_test_cases() {
        let long_key = [0xaau8; 80];
        let key4: Vec<u8> = (1..=25).collect();
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "750c783e6ab0b503eaa86e310a5db738",
            ),
            (&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6"),
            (&key4, &[0xcd; 50], "697eaf0aca3a3aea3a75164746ffaa79"),
            (
                &[0x0c; 16],
                b"Test With Truncation",
                "56461ef2342edc00f9bab995690efd4c",
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ),
        ];
        for (n, (key, data, digest)) in cases.iter().enumerate() {
            let expected = hex(digest);
            assert_eq!(
                &hmac_md5_96(key, &[data])[..],
                &expected[..ICV_LEN],
                "case {}",
                n + 1
            );
            // Split input gives the same MAC as one piece.
            let (a, b) = data.split_at(data.len() / 2);
            assert_eq!(
                hmac_md5_96(key, &[a, b]),
                hmac_md5_96(key, &[data]),
                "case {}",
                n + 1
            );
        }
    }

    fn sample() -> ([u8; 20], [u8; VRRP_AH_LEN], Vec<u8>) {
        let ip = [
            0x45, 0xc0, 0, 60, 0, 1, 0, 0, 255, 51, 0x12, 0x34, 10, 77, 0, 1, 224, 0, 0, 18,
        ];
        let mut ah = [0u8; VRRP_AH_LEN];
        write_ah_without_icv(&mut ah, u32::from_be_bytes([10, 77, 0, 1]), 7);
        let vrrp = vec![
            0x21, 0x33, 0xc8, 1, 2, 1, 0, 0, 10, 77, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        (ip, ah, vrrp)
    }

    #[test]
    fn icv_ignores_mutable_ip_fields_but_covers_the_rest() {
        let key = *b"secret\0\0";
        let (ip, ah, vrrp) = sample();
        let icv = compute_icv(&key, &ip, &ah, &vrrp);
        let mut mutated = ip;
        mutated[1] = 0;
        mutated[6] = 0x40;
        mutated[8] = 64;
        mutated[10] = 0;
        assert_eq!(compute_icv(&key, &mutated, &ah, &vrrp), icv);
        let mut other_id = ip;
        other_id[5] = 2;
        assert_ne!(compute_icv(&key, &other_id, &ah, &vrrp), icv);
        let mut other_prio = vrrp.clone();
        other_prio[2] = 100;
        assert_ne!(compute_icv(&key, &ip, &ah, &other_prio), icv);
        let mut other_seq = ah;
        other_seq[11] = 8;
        assert_ne!(compute_icv(&key, &ip, &other_seq, &vrrp), icv);
        assert_ne!(compute_icv(b"Secret\0\0", &ip, &ah, &vrrp), icv);
    }

    #[test]
    fn verify_accepts_its_own_icv_and_rejects_a_flipped_bit() {
        let key = *b"secret\0\0";
        let (ip, mut ah, vrrp) = sample();
        let icv = compute_icv(&key, &ip, &ah, &vrrp);
        ah[AH_FIXED_LEN..].copy_from_slice(&icv);
        let (view, rest) = parse_ah(&ah).unwrap();
        assert!(rest.is_empty());
        assert_eq!((view.sequence(), view.spi()), (7, 0x0a4d_0001));
        assert!(verify_icv(&key, &ip, view, &vrrp));
        ah[VRRP_AH_LEN - 1] ^= 1;
        let (view, _) = parse_ah(&ah).unwrap();
        assert!(!verify_icv(&key, &ip, view, &vrrp));
    }

    #[test]
    fn parse_rejects_other_next_header_and_length() {
        let (_, ah, _) = sample();
        let mut bad = ah;
        bad[0] = 6;
        assert_eq!(parse_ah(&bad).map(|_| ()), Err(DecodeError::BadProtocol(6)));
        let mut bad = ah;
        bad[1] = 5;
        assert_eq!(parse_ah(&bad).map(|_| ()), Err(DecodeError::BadAhLength(5)));
        assert_eq!(
            parse_ah(&ah[..23]).map(|_| ()),
            Err(DecodeError::Truncated { need: 24, have: 23 })
        );
    }
}
