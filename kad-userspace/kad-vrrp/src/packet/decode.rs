//! Receive side: zero-copy, allocation-free decode and validation of an advert.

use std::net::IpAddr;

use kad_common::vrrp_wire::{
    ETH_P_IP, ETH_P_IPV6, IPPROTO_AH, IPPROTO_VRRP, VRRP_HEADER_LEN, VRRP_TTL,
    VRRP_TYPE_ADVERTISEMENT, VRRP_V2_AUTH_DATA_LEN, VRRP_V3_ADVERT_INT_MASK,
};

use super::auth::{AuthConfig, AuthType, ah, pass, replay::ReplayGuard};
use super::{ChecksumMode, DecodeError, Family, Ipv4Header, Version, checksum, ip};

/// What the receive checks may relax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// keepalived.conf `vrrp_v3_checksum_as_v2`: how v3-over-IPv4 checksums are computed.
    pub checksum: ChecksumMode,
    /// RFC 5798 §7.1 / RFC 3768 §7.1: drop adverts whose TTL / hop limit is not 255
    /// (default true; a unicast deployment across routers may turn it off).
    pub check_ttl: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            checksum: ChecksumMode::PseudoHeader,
            check_ttl: true,
        }
    }
}

/// What the socket layer knows about a VRRP payload it received (IPv6 raw sockets deliver
/// addresses and hop limit as ancillary data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxMeta {
    /// Source address of the IP packet.
    pub src: IpAddr,
    /// Destination address of the IP packet.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
}

/// A received advert that passed every structural check, borrowed from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advertisement<'a> {
    meta: RxMeta,
    version: Version,
    header: &'a [u8; VRRP_HEADER_LEN],
    msg: &'a [u8],
    addresses: &'a [u8],
    auth_data: Option<&'a [u8; VRRP_V2_AUTH_DATA_LEN]>,
    ipv4: Option<Ipv4Header<'a>>,
    ah: Option<ah::AhHeader<'a>>,
}

impl<'a> Advertisement<'a> {
    /// RFC 5798 §5.2.1: protocol version.
    pub fn version(&self) -> Version {
        self.version
    }
    /// IP family the advert arrived in (that of its addresses).
    pub fn family(&self) -> Family {
        Family::of(self.meta.src)
    }
    /// Source address of the IP packet (RFC 5798 §6.4.3: compared on equal priority).
    pub fn src(&self) -> IpAddr {
        self.meta.src
    }
    /// Destination address of the IP packet.
    pub fn dst(&self) -> IpAddr {
        self.meta.dst
    }
    /// IPv4 TTL / IPv6 hop limit.
    pub fn ttl(&self) -> u8 {
        self.meta.ttl
    }
    /// RFC 5798 §5.2.3: Virtual Router ID.
    pub fn vrid(&self) -> u8 {
        self.header[1]
    }
    /// RFC 5798 §5.2.4: priority (0 = the master is leaving, 255 = address owner).
    pub fn priority(&self) -> u8 {
        self.header[2]
    }
    /// RFC 5798 §5.2.5: Count IPvX Addr.
    pub fn count(&self) -> u8 {
        self.header[3]
    }
    /// RFC 5798 §5.2.7 / RFC 3768 §5.3.7: advertisement interval in centiseconds
    /// (v2's whole seconds times 100). Never 0.
    pub fn advert_interval_cs(&self) -> u16 {
        match self.version {
            Version::V2 => u16::from(self.header[5]) * 100,
            Version::V3 => self.interval_raw(),
        }
    }
    /// The interval field as on the wire: v2 seconds, v3 centiseconds (reserved bits dropped).
    pub fn interval_raw(&self) -> u16 {
        match self.version {
            Version::V2 => u16::from(self.header[5]),
            Version::V3 => {
                u16::from_be_bytes([self.header[4], self.header[5]]) & VRRP_V3_ADVERT_INT_MASK
            }
        }
    }
    /// RFC 5798 §5.2.6: the 4 reserved bits in front of the v3 interval (0 for v2).
    pub fn reserved(&self) -> u8 {
        match self.version {
            Version::V2 => 0,
            Version::V3 => self.header[4] >> 4,
        }
    }
    /// RFC 3768 §5.3.6: Auth Type (always `None` for v3).
    pub fn auth_type(&self) -> AuthType {
        match self.version {
            Version::V2 => AuthType::from_wire(self.header[4]).unwrap_or(AuthType::None),
            Version::V3 => AuthType::None,
        }
    }
    /// RFC 3768 §5.3.10: the 8 bytes of Authentication Data (v2 only).
    pub fn auth_data(&self) -> Option<&'a [u8; VRRP_V2_AUTH_DATA_LEN]> {
        self.auth_data
    }
    /// RFC 5798 §5.2.8: checksum as carried (already verified).
    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.header[6], self.header[7]])
    }
    /// RFC 5798 §5.2.9: the IPvX addresses, in advert order.
    pub fn addresses(&self) -> Addresses<'a> {
        Addresses {
            bytes: self.addresses,
            family: self.family(),
        }
    }
    /// The VRRP message (header, addresses, v2 auth data).
    pub fn vrrp_bytes(&self) -> &'a [u8] {
        self.msg
    }
    /// The IPv4 header, when the advert was decoded with one.
    pub fn ipv4_header(&self) -> Option<Ipv4Header<'a>> {
        self.ipv4
    }
    /// The IPsec AH, for `auth_type AH` adverts.
    pub fn ah(&self) -> Option<ah::AhHeader<'a>> {
        self.ah
    }

    /// RFC 3768 §7.1: checks the advert's authentication against the configured one —
    /// Auth Type must match (`AuthTypeMismatch`), then the password or the AH ICV
    /// (`AuthMismatch`). With `AuthConfig::None` the Authentication Data is ignored.
    /// AH replay is checked apart, see [`Advertisement::authenticate`].
    pub fn verify_auth(&self, config: &AuthConfig) -> Result<(), DecodeError> {
        let found = self.auth_type();
        if found != config.auth_type() {
            return Err(DecodeError::AuthTypeMismatch {
                expected: config.auth_type().to_wire(),
                found: found.to_wire(),
            });
        }
        match config {
            AuthConfig::None => Ok(()),
            AuthConfig::Pass(secret) => match self.auth_data {
                Some(data) if pass::pass_matches(data, secret) => Ok(()),
                _ => Err(DecodeError::AuthMismatch),
            },
            AuthConfig::Ah(key) => match (self.ipv4, self.ah) {
                (Some(ipv4), Some(ah)) if ah::verify_icv(key, ipv4.bytes(), ah, self.msg) => Ok(()),
                _ => Err(DecodeError::AuthMismatch),
            },
        }
    }

    /// [`Advertisement::verify_auth`], then for AH adverts RFC 2402 §3.4.3 anti-replay:
    /// the sequence number must rise per sender (or start again after the sender's silence,
    /// see [`ReplayGuard`]); it is recorded, as received at `now`, only once the ICV is good.
    pub fn authenticate(
        &self,
        config: &AuthConfig,
        replay: &mut ReplayGuard,
        now: std::time::Instant,
    ) -> Result<(), DecodeError> {
        self.verify_auth(config)?;
        if let Some(ah) = self.ah {
            replay.check_and_record(self.meta.src, ah.sequence(), now)?;
        }
        Ok(())
    }
}

/// RFC 5798 §5.2.9: iterator over the addresses of an advert (no allocation).
#[derive(Clone, Debug)]
pub struct Addresses<'a> {
    bytes: &'a [u8],
    family: Family,
}

impl Iterator for Addresses<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        match self.family {
            Family::V4 => {
                let (addr, rest) = self.bytes.split_first_chunk::<4>()?;
                self.bytes = rest;
                Some(IpAddr::from(*addr))
            }
            Family::V6 => {
                let (addr, rest) = self.bytes.split_first_chunk::<16>()?;
                self.bytes = rest;
                Some(IpAddr::from(*addr))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len() / self.family.addr_len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Addresses<'_> {}

/// RFC 5798 §7.1 / RFC 3768 §7.1: decodes and validates a bare VRRP message, as an IPv6
/// raw socket delivers it; `meta` carries the addresses and hop limit from ancillary data.
pub fn decode_vrrp<'a>(
    payload: &'a [u8],
    meta: RxMeta,
    opts: &DecodeOptions,
) -> Result<Advertisement<'a>, DecodeError> {
    decode_message(payload, meta, opts, None, None)
}

/// RFC 5798 §7.1: decodes an IPv4 packet as an IPv4 raw socket delivers it — IP header
/// (version, IHL, total length, checksum, no fragment, TTL 255, protocol 112) then VRRP, or
/// protocol 51 (keepalived `auth_type AH`) with an AH before a VRRPv2 message.
pub fn decode_ipv4<'a>(
    packet: &'a [u8],
    opts: &DecodeOptions,
) -> Result<Advertisement<'a>, DecodeError> {
    let (header, payload) = ip::parse_ipv4(packet)?;
    let meta = RxMeta {
        src: header.src().into(),
        dst: header.dst().into(),
        ttl: header.ttl(),
    };
    match header.protocol() {
        IPPROTO_VRRP => decode_message(payload, meta, opts, Some(header), None),
        IPPROTO_AH => {
            let (ah, vrrp) = ah::parse_ah(payload)?;
            decode_message(vrrp, meta, opts, Some(header), Some(ah))
        }
        other => Err(DecodeError::BadProtocol(other)),
    }
}

/// RFC 5798 §7.1: decodes an IPv6 packet (fixed header, next header 112, hop limit 255).
pub fn decode_ipv6<'a>(
    packet: &'a [u8],
    opts: &DecodeOptions,
) -> Result<Advertisement<'a>, DecodeError> {
    let (fields, payload) = ip::parse_ipv6(packet)?;
    if fields.next_header != IPPROTO_VRRP {
        return Err(DecodeError::BadProtocol(fields.next_header));
    }
    let meta = RxMeta {
        src: fields.src.into(),
        dst: fields.dst.into(),
        ttl: fields.hop_limit,
    };
    decode_message(payload, meta, opts, None, None)
}

/// Decodes an advert from a whole Ethernet frame (at most one VLAN tag), as XDP and the
/// captures see it; trailing Ethernet padding is ignored.
pub fn decode_ethernet<'a>(
    frame: &'a [u8],
    opts: &DecodeOptions,
) -> Result<Advertisement<'a>, DecodeError> {
    let eth = ip::ethernet_payload(frame)?;
    match eth.ethertype {
        ETH_P_IP => decode_ipv4(eth.payload, opts),
        ETH_P_IPV6 => decode_ipv6(eth.payload, opts),
        other => Err(DecodeError::BadEtherType(other)),
    }
}

/// The checks of RFC 5798 §7.1 / RFC 3768 §7.1 that need no configuration, in order:
/// families, TTL, header, version, type, v2-only-IPv4, AH placement, length, checksum,
/// interval, auth type.
fn decode_message<'a>(
    msg: &'a [u8],
    meta: RxMeta,
    opts: &DecodeOptions,
    ipv4: Option<Ipv4Header<'a>>,
    ah: Option<ah::AhHeader<'a>>,
) -> Result<Advertisement<'a>, DecodeError> {
    let family = Family::of(meta.src);
    if family != Family::of(meta.dst) {
        return Err(DecodeError::FamilyMismatch);
    }
    if opts.check_ttl && meta.ttl != VRRP_TTL {
        return Err(DecodeError::BadTtl(meta.ttl));
    }
    let (header, rest) =
        msg.split_first_chunk::<VRRP_HEADER_LEN>()
            .ok_or(DecodeError::Truncated {
                need: VRRP_HEADER_LEN,
                have: msg.len(),
            })?;
    let version_nibble = header[0] >> 4;
    let version =
        Version::from_wire(version_nibble).ok_or(DecodeError::BadVersion(version_nibble))?;
    let kind = header[0] & 0x0f;
    if kind != VRRP_TYPE_ADVERTISEMENT {
        return Err(DecodeError::BadType(kind));
    }
    if version == Version::V2 && family == Family::V6 {
        return Err(DecodeError::V2OverIpv6);
    }
    if ah.is_some() && version == Version::V3 {
        return Err(DecodeError::AhOnV3);
    }

    let count = header[3];
    let addr_bytes = usize::from(count) * family.addr_len();
    let auth_len = match version {
        Version::V2 => VRRP_V2_AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    if rest.len() != addr_bytes + auth_len {
        return Err(DecodeError::CountMismatch {
            count,
            len: msg.len(),
        });
    }
    let (addresses, auth_bytes) =
        rest.split_at_checked(addr_bytes)
            .ok_or(DecodeError::CountMismatch {
                count,
                len: msg.len(),
            })?;

    let found = u16::from_be_bytes([header[6], header[7]]);
    let expected = checksum::vrrp_checksum(msg, version, meta.src, meta.dst, opts.checksum);
    if expected != found {
        return Err(DecodeError::BadChecksum { expected, found });
    }

    let interval = match version {
        Version::V2 => u16::from(header[5]),
        Version::V3 => u16::from_be_bytes([header[4], header[5]]) & VRRP_V3_ADVERT_INT_MASK,
    };
    if interval == 0 {
        return Err(DecodeError::BadInterval);
    }

    let auth_data = match version {
        Version::V2 => {
            let auth_type =
                AuthType::from_wire(header[4]).ok_or(DecodeError::UnknownAuthType(header[4]))?;
            match (auth_type, ah.is_some()) {
                (AuthType::Ah, false) => return Err(DecodeError::MissingAh),
                (other, true) if other != AuthType::Ah => {
                    return Err(DecodeError::AuthTypeMismatch {
                        expected: AuthType::Ah.to_wire(),
                        found: other.to_wire(),
                    });
                }
                _ => {}
            }
            auth_bytes.first_chunk::<VRRP_V2_AUTH_DATA_LEN>()
        }
        Version::V3 => None,
    };

    Ok(Advertisement {
        meta,
        version,
        header,
        msg,
        addresses,
        auth_data,
        ipv4,
        ah,
    })
}
