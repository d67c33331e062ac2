//! Typed errors of the VRRP codec: one variant per malformed class, naming the field.

use thiserror::Error;

/// Why a received frame, IP packet or VRRP message was rejected.
///
/// RFC 3768 §7.1 / RFC 5798 §7.1: every receive check that makes a router discard an
/// advertisement has its own variant, so the daemon can count and log them apart.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the header being read needs.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes the header needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Ethernet frame carries neither IPv4 nor IPv6 (after at most one VLAN tag).
    #[error("ethertype {0:#06x} is neither IPv4 nor IPv6")]
    BadEtherType(u16),
    /// IP header version nibble is not the one of the header being read.
    #[error("IP version {0} in an IP header")]
    BadIpVersion(u8),
    /// RFC 791 §3.1: IPv4 IHL below 5 words or past the packet.
    #[error("IPv4 header length {0} words")]
    BadIhl(u8),
    /// IP total / payload length disagrees with the bytes received.
    #[error("IP length field says {total} bytes, {have} available")]
    BadIpLength {
        /// Length claimed by the IP header (whole packet for IPv4, payload for IPv6).
        total: usize,
        /// Bytes actually available.
        have: usize,
    },
    /// RFC 791 §3.1: IPv4 header checksum does not match.
    #[error("IPv4 header checksum {found:#06x}, expected {expected:#06x}")]
    BadIpChecksum {
        /// Checksum computed over the header.
        expected: u16,
        /// Checksum carried in the header.
        found: u16,
    },
    /// A fragment (MF set or non-zero offset): adverts are never fragmented.
    #[error("IPv4 fragment")]
    Fragmented,
    /// RFC 5798 §5.1.1.4: IP protocol / IPv6 next header is not VRRP (112) or AH (51).
    #[error("IP protocol {0} is not VRRP")]
    BadProtocol(u8),
    /// RFC 5798 §5.1.1.3 / RFC 3768 §5.2.3: TTL or hop limit is not 255.
    #[error("TTL / hop limit {0}, must be 255")]
    BadTtl(u8),
    /// Source and destination addresses are of different families.
    #[error("source and destination addresses of different families")]
    FamilyMismatch,
    /// RFC 5798 §5.2.1: VRRP version is neither 2 nor 3.
    #[error("VRRP version {0}")]
    BadVersion(u8),
    /// RFC 3768: VRRPv2 is defined for IPv4 only.
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    /// RFC 5798 §5.2.2: type is not ADVERTISEMENT (1).
    #[error("VRRP type {0}")]
    BadType(u8),
    /// RFC 5798 §5.2.5 / RFC 3768 §5.3.5: address count disagrees with the message length.
    #[error("{count} addresses announced, message is {len} bytes")]
    CountMismatch {
        /// Count IPvX Addr field.
        count: u8,
        /// Length of the VRRP message.
        len: usize,
    },
    /// RFC 5798 §5.2.8 / RFC 3768 §5.3.8: VRRP checksum does not match.
    #[error("VRRP checksum {found:#06x}, expected {expected:#06x}")]
    BadChecksum {
        /// Checksum computed over the message (and pseudo-header for v3).
        expected: u16,
        /// Checksum carried in the message.
        found: u16,
    },
    /// RFC 5798 §5.2.7 / RFC 3768 §5.3.7: advertisement interval of 0.
    #[error("advertisement interval 0")]
    BadInterval,
    /// RFC 3768 §5.3.6: Auth Type other than 0, 1 or 2.
    #[error("unknown VRRPv2 auth type {0}")]
    UnknownAuthType(u8),
    /// RFC 3768 §7.1: Auth Type differs from the locally configured one.
    #[error("auth type {found}, configured {expected}")]
    AuthTypeMismatch {
        /// Configured auth type (0 none, 1 PASS, 2 AH).
        expected: u8,
        /// Auth type seen (from the VRRP header, or 2 when an AH header is present).
        found: u8,
    },
    /// RFC 3768 §7.1 / RFC 2402 §3.4.4: password or AH ICV does not match the configured key.
    #[error("authentication data mismatch")]
    AuthMismatch,
    /// RFC 2402 §2: AH header malformed (payload length other than HMAC-MD5-96's 4 words).
    #[error("AH payload length {0}, expected 4")]
    BadAhLength(u8),
    /// AH carries a VRRPv3 message: AH exists only with VRRPv2 (keepalived `auth_type AH`).
    #[error("AH around a VRRPv3 message")]
    AhOnV3,
    /// VRRPv2 Auth Type 2 (AH) received without an AH header.
    #[error("auth type AH without an AH header")]
    MissingAh,
    /// RFC 2402 §3.4.3: AH sequence number not above the highest already seen from this sender.
    #[error("AH sequence {seq} replayed (highest seen {highest})")]
    Replayed {
        /// Sequence number received.
        seq: u32,
        /// Highest sequence number accepted from this sender so far.
        highest: u32,
    },
}

/// Why an advertisement could not be built from the values given.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is too small.
    #[error("buffer of {have} bytes, need {need}")]
    BufferTooSmall {
        /// Bytes the packet needs.
        need: usize,
        /// Bytes in the buffer.
        have: usize,
    },
    /// RFC 5798 §5.2.5: more than 255 addresses.
    #[error("{0} addresses, at most 255 fit")]
    TooManyAddresses(usize),
    /// An address (or the destination) is not of the source address's family.
    #[error("addresses of mixed families")]
    FamilyMismatch,
    /// RFC 3768: VRRPv2 is defined for IPv4 only.
    #[error("VRRPv2 over IPv6")]
    V2OverIpv6,
    /// RFC 3768 §5.3.7 (1..=255 whole seconds) / RFC 5798 §5.2.7 (1..=4095 cs).
    #[error("advertisement interval {0} cs not representable in this version")]
    BadInterval(u16),
    /// RFC 5798 §9: VRRPv3 has no authentication; PASS and AH need version 2.
    #[error("authentication needs VRRPv2")]
    AuthNeedsV2,
    /// RFC 2402 §3.3.3: the AH ICV covers the IP header, so AH needs `encode_ipv4`.
    #[error("AH adverts must be built with their IPv4 header")]
    AhNeedsIpHeader,
}
