//! VRRP packet codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) adverts over IPv4 and IPv6.
//!
//! Receive: [`decode_ipv4`] (IPv4 raw socket: IP header + VRRP, or + AH + VRRP),
//! [`decode_vrrp`] (IPv6 raw socket: VRRP payload, addresses and hop limit from ancillary
//! data), [`decode_ethernet`] (whole frames, at most one VLAN tag: XDP and the vectors).
//! Each returns a zero-copy [`Advertisement`] that has passed every structural check
//! (TTL, version, type, length, checksum, interval); [`Advertisement::verify_auth`] then
//! checks the configured authentication and [`ReplayGuard`] the AH sequence numbers.
//!
//! Send: [`encode_vrrp`] / [`encode_ipv4`] build the exact bytes from plain values in an
//! [`AdvertSpec`].

pub mod auth;
mod checksum;
mod decode;
mod encode;
mod error;
mod ip;

use std::net::IpAddr;

use kad_common::vrrp_wire::{VRRP_VERSION_2, VRRP_VERSION_3};

pub use auth::{AuthConfig, AuthType, ah::AhHeader, replay::ReplayGuard};
pub use checksum::{ChecksumMode, internet_checksum, vrrp_checksum};
pub use decode::{
    Addresses, Advertisement, DecodeOptions, RxMeta, decode_ethernet, decode_ipv4, decode_ipv6,
    decode_vrrp,
};
pub use encode::{AdvertSpec, encode_ipv4, encode_ipv4_vec, encode_vrrp, encode_vrrp_vec};
pub use error::{DecodeError, EncodeError};
pub use ip::{
    EthernetPayload, Ipv4Header, Ipv4Options, Ipv6Fields, VRRP_IPV4_TOS, ethernet_payload,
    parse_ipv4, parse_ipv6,
};

/// RFC 5798 §5.2.1: the protocol version of an advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: VRRPv2 (IPv4 only, interval in seconds, v2 authentication).
    V2,
    /// RFC 5798: VRRPv3 (IPv4 and IPv6, interval in centiseconds).
    V3,
}

impl Version {
    /// RFC 5798 §5.2.1: the version nibble.
    pub fn to_wire(self) -> u8 {
        match self {
            Version::V2 => VRRP_VERSION_2,
            Version::V3 => VRRP_VERSION_3,
        }
    }

    /// RFC 5798 §5.2.1: the version of a version nibble, if it is 2 or 3.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            VRRP_VERSION_2 => Some(Version::V2),
            VRRP_VERSION_3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// The IP family an advert travels in; it fixes the size of its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    V4,
    /// IPv6: 16-byte addresses.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// RFC 5798 §5.2.9: bytes of one IPvX address in the advert.
    pub fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

#[cfg(test)]
mod tests;
