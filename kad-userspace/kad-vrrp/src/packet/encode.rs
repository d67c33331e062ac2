//! Send side: the exact bytes of an advert, built from plain values.

use std::net::IpAddr;

use kad_common::vrrp_wire::{
    IPPROTO_AH, IPPROTO_VRRP, IPV4_HEADER_LEN, VRRP_AH_LEN, VRRP_HEADER_LEN,
    VRRP_TYPE_ADVERTISEMENT, VRRP_V2_AUTH_DATA_LEN, VRRP_V3_ADVERT_INT_MASK,
};

use super::auth::{AuthConfig, ah};
use super::{ChecksumMode, EncodeError, Family, Ipv4Options, Version, checksum, ip};

/// Everything an advert is built from (RFC 5798 §5.2 / RFC 3768 §5.3 fields, plus the
/// addresses the v3 pseudo-header and the AH need).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertSpec<'a> {
    /// RFC 5798 §5.2.1: version.
    pub version: Version,
    /// RFC 5798 §5.2.3: Virtual Router ID.
    pub vrid: u8,
    /// RFC 5798 §5.2.4: priority (0 when leaving master).
    pub priority: u8,
    /// Advertisement interval in centiseconds. v3 (RFC 5798 §5.2.7): 1..=4095;
    /// v2 (RFC 3768 §5.3.7): whole seconds 1..=255, i.e. a multiple of 100.
    pub interval_cs: u16,
    /// RFC 5798 §5.2.9: the virtual addresses, all of the family of `src`.
    pub addresses: &'a [IpAddr],
    /// RFC 3768 §5.3.6: authentication (v2 only; `AuthConfig::None` for v3).
    pub auth: AuthConfig,
    /// RFC 2402 §2.5: AH sequence number (used only with `AuthConfig::Ah`; the caller
    /// increments it per advert, starting at 1).
    pub ah_seq: u32,
    /// Source address of the IP packet (pseudo-header, AH SPI, IPv4 header).
    pub src: IpAddr,
    /// Destination address of the IP packet (224.0.0.18 / ff02::12, or a unicast peer).
    pub dst: IpAddr,
    /// keepalived.conf `vrrp_v3_checksum_as_v2` for v3 over IPv4.
    pub checksum: ChecksumMode,
}

impl AdvertSpec<'_> {
    /// Length of the VRRP message, after checking every field can be represented.
    pub fn vrrp_len(&self) -> Result<usize, EncodeError> {
        let family = Family::of(self.src);
        if Family::of(self.dst) != family || self.addresses.iter().any(|a| Family::of(*a) != family)
        {
            return Err(EncodeError::FamilyMismatch);
        }
        if self.version == Version::V2 && family == Family::V6 {
            return Err(EncodeError::V2OverIpv6);
        }
        if self.addresses.len() > usize::from(u8::MAX) {
            return Err(EncodeError::TooManyAddresses(self.addresses.len()));
        }
        self.interval_wire()?;
        let auth_len = match self.version {
            Version::V2 => VRRP_V2_AUTH_DATA_LEN,
            Version::V3 if self.auth != AuthConfig::None => return Err(EncodeError::AuthNeedsV2),
            Version::V3 => 0,
        };
        Ok(VRRP_HEADER_LEN + self.addresses.len() * family.addr_len() + auth_len)
    }

    /// Length of the IPv4 packet [`encode_ipv4`] builds (header, AH if any, VRRP).
    pub fn ipv4_len(&self) -> Result<usize, EncodeError> {
        let ah_len = if matches!(self.auth, AuthConfig::Ah(_)) {
            VRRP_AH_LEN
        } else {
            0
        };
        Ok(IPV4_HEADER_LEN + ah_len + self.vrrp_len()?)
    }

    /// Bytes 4..6 of the header: v2 auth type + seconds, v3 reserved (0) + centiseconds.
    fn interval_wire(&self) -> Result<[u8; 2], EncodeError> {
        let cs = self.interval_cs;
        match self.version {
            Version::V2 => {
                let secs = u8::try_from(cs / 100).map_err(|_| EncodeError::BadInterval(cs))?;
                if !cs.is_multiple_of(100) || secs == 0 {
                    return Err(EncodeError::BadInterval(cs));
                }
                Ok([self.auth.auth_type().to_wire(), secs])
            }
            Version::V3 => {
                if cs == 0 || cs > VRRP_V3_ADVERT_INT_MASK {
                    return Err(EncodeError::BadInterval(cs));
                }
                Ok(cs.to_be_bytes())
            }
        }
    }

    /// Writes the VRRP message into `out` (exactly `vrrp_len` bytes), checksum included.
    fn write_message(&self, out: &mut [u8]) -> Result<(), EncodeError> {
        let [b4, b5] = self.interval_wire()?;
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| EncodeError::TooManyAddresses(self.addresses.len()))?;
        let too_small = EncodeError::BufferTooSmall {
            need: VRRP_HEADER_LEN,
            have: out.len(),
        };
        let (header, mut rest) = out
            .split_first_chunk_mut::<VRRP_HEADER_LEN>()
            .ok_or(too_small)?;
        *header = [
            (self.version.to_wire() << 4) | VRRP_TYPE_ADVERTISEMENT,
            self.vrid,
            self.priority,
            count,
            b4,
            b5,
            0,
            0,
        ];
        for addr in self.addresses {
            rest = match addr {
                IpAddr::V4(a) => put(rest, &a.octets())?,
                IpAddr::V6(a) => put(rest, &a.octets())?,
            };
        }
        if self.version == Version::V2 {
            let data = match self.auth {
                AuthConfig::Pass(secret) => secret,
                AuthConfig::None | AuthConfig::Ah(_) => [0; VRRP_V2_AUTH_DATA_LEN],
            };
            put(rest, &data)?;
        }
        let sum = checksum::vrrp_checksum(out, self.version, self.src, self.dst, self.checksum);
        if let Some(field) = out.get_mut(6..8) {
            field.copy_from_slice(&sum.to_be_bytes());
        }
        Ok(())
    }
}

/// Copies `bytes` to the front of `out` and returns what follows.
fn put<'o>(out: &'o mut [u8], bytes: &[u8]) -> Result<&'o mut [u8], EncodeError> {
    let have = out.len();
    let (head, rest) =
        out.split_at_mut_checked(bytes.len())
            .ok_or(EncodeError::BufferTooSmall {
                need: bytes.len(),
                have,
            })?;
    head.copy_from_slice(bytes);
    Ok(rest)
}

/// RFC 5798 §5.2 / RFC 3768 §5.3: writes the VRRP message (as an IPv6 raw socket, or an
/// IPv4 raw socket without `IP_HDRINCL`, sends it) to the front of `out`; returns its length.
/// AH adverts need their IPv4 header: use [`encode_ipv4`].
pub fn encode_vrrp(spec: &AdvertSpec<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    if matches!(spec.auth, AuthConfig::Ah(_)) {
        return Err(EncodeError::AhNeedsIpHeader);
    }
    let len = spec.vrrp_len()?;
    let have = out.len();
    let msg = out
        .get_mut(..len)
        .ok_or(EncodeError::BufferTooSmall { need: len, have })?;
    spec.write_message(msg)?;
    Ok(len)
}

/// RFC 5798 §5.1.1 / RFC 3768 §5.2: writes the whole IPv4 packet — a 20-byte header as
/// `ip` says (keepalived: [`Ipv4Options::keepalived`]), then for `AuthConfig::Ah` the AH
/// (RFC 2402: SPI = source address, `spec.ah_seq`, HMAC-MD5-96 ICV), then the VRRP
/// message — to the front of `out`; returns its length.
pub fn encode_ipv4(
    spec: &AdvertSpec<'_>,
    ip: &Ipv4Options,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (spec.src, spec.dst) else {
        return Err(EncodeError::FamilyMismatch);
    };
    let total = spec.ipv4_len()?;
    let total_u16 =
        u16::try_from(total).map_err(|_| EncodeError::TooManyAddresses(spec.addresses.len()))?;
    let have = out.len();
    let packet = out
        .get_mut(..total)
        .ok_or(EncodeError::BufferTooSmall { need: total, have })?;
    let too_small = EncodeError::BufferTooSmall { need: total, have };
    let (header, rest) = packet
        .split_first_chunk_mut::<IPV4_HEADER_LEN>()
        .ok_or(too_small)?;
    match spec.auth {
        AuthConfig::Ah(key) => {
            let (ah_bytes, msg) = rest
                .split_first_chunk_mut::<VRRP_AH_LEN>()
                .ok_or(too_small)?;
            spec.write_message(msg)?;
            ip::write_ipv4_header(header, ip, total_u16, IPPROTO_AH, src, dst);
            ah::write_ah_without_icv(ah_bytes, u32::from(src), spec.ah_seq);
            let icv = ah::compute_icv(&key, header, ah_bytes, msg);
            if let Some(field) = ah_bytes.get_mut(VRRP_AH_LEN - ah::ICV_LEN..) {
                field.copy_from_slice(&icv);
            }
        }
        AuthConfig::None | AuthConfig::Pass(_) => {
            spec.write_message(rest)?;
            ip::write_ipv4_header(header, ip, total_u16, IPPROTO_VRRP, src, dst);
        }
    }
    Ok(total)
}

/// [`encode_vrrp`] into a new vector.
pub fn encode_vrrp_vec(spec: &AdvertSpec<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![0; spec.vrrp_len()?];
    encode_vrrp(spec, &mut out)?;
    Ok(out)
}

/// [`encode_ipv4`] into a new vector.
pub fn encode_ipv4_vec(spec: &AdvertSpec<'_>, ip: &Ipv4Options) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![0; spec.ipv4_len()?];
    encode_ipv4(spec, ip, &mut out)?;
    Ok(out)
}
