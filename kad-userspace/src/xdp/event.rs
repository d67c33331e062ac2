//! Reading one `KAD_VRRP_EVENTS` ring-buffer record: the XDP program's note that something
//! about an advert changed. The kernel writes these records, but their fields come from the
//! wire (sender, priority, interval, version), so decoding never trusts them: a record too
//! short, or with a version kad does not speak, is dropped (fuzz target `xdp_event`). The same
//! ring carries BFD expiries (`kad_common::bfd_maps::BfdEvent`), read by [`decode_record`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kad_common::{
    bfd_maps::{BfdEvent, EVENT_BFD_EXPIRED},
    xdp_maps::{EVENT_AUTH_FAILURE, EVENT_UNKNOWN_VRID, FAMILY_V6, VrrpKey},
};

use super::parse_event;
use crate::vrrp::{fsm::Advert, packet::Version};

/// What one ring-buffer record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpEvent {
    /// An advert for `key` failed authentication in XDP and was dropped.
    AuthFailure {
        /// The instance the advert claimed.
        key: VrrpKey,
        /// Its IP source.
        sender: IpAddr,
    },
    /// An advert for a VRID no instance has on the interface (keepalived
    /// `log_unknown_vrids`), dropped; `key` names the interface, family and VRID.
    UnknownVrid {
        /// The interface, family and VRID of the advert.
        key: VrrpKey,
        /// Its IP source.
        sender: IpAddr,
    },
    /// An advert for `key` that the protocol core must see.
    Advert {
        /// The instance it is for.
        key: VrrpKey,
        /// Its fields.
        advert: Advert,
    },
}

/// A BFD session's detect time passed without a packet: XDP's timer marked it expired
/// (`kad_common::bfd_maps`), once, until userspace writes the session again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdExpiry {
    /// The session's local discriminator.
    pub discriminator: u32,
    /// CLOCK_MONOTONIC ns when the timer fired.
    pub at_ns: u64,
    /// CLOCK_MONOTONIC ns of the last packet from the peer.
    pub last_ns: u64,
    /// The detect time the session was armed with, in ns.
    pub detect_ns: u64,
    /// Packets seen since the session was written.
    pub packets: u64,
}

/// Any record of the ring buffer: a VRRP one, or a BFD expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A VRRP record ([`decode`]).
    Vrrp(XdpEvent),
    /// A BFD session expired in the kernel.
    BfdExpired(BfdExpiry),
}

/// Decodes one record of either protocol; `None` for a record kad cannot use.
pub fn decode_record(bytes: &[u8]) -> Option<Record> {
    match parse_bfd_event(bytes) {
        Some(event) => Some(Record::BfdExpired(BfdExpiry {
            discriminator: event.discriminator,
            at_ns: event.at_ns,
            last_ns: event.last_ns,
            detect_ns: event.detect_ns,
            packets: event.packets,
        })),
        None => decode(bytes).map(Record::Vrrp),
    }
}

/// The record as a [`BfdEvent`] if its kind says it is one (`None` otherwise, or if short).
pub fn parse_bfd_event(bytes: &[u8]) -> Option<BfdEvent> {
    if bytes.len() < size_of::<BfdEvent>() {
        return None;
    }
    // SAFETY: BfdEvent is #[repr(C)] and made of integers only (every bit pattern is valid);
    // the length was checked and read_unaligned needs no alignment.
    let event = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<BfdEvent>()) };
    (event.kind & EVENT_BFD_EXPIRED != 0).then_some(event)
}

/// Decodes one VRRP record; `None` for a record kad cannot use (short, unknown version) and
/// for BFD records ([`decode_record`] reads those).
pub fn decode(bytes: &[u8]) -> Option<XdpEvent> {
    let event = parse_event(bytes)?;
    if event.kind & EVENT_BFD_EXPIRED != 0 {
        return None;
    }
    let sender = address(event.key.family, &event.sender);
    if event.kind & EVENT_AUTH_FAILURE != 0 {
        return Some(XdpEvent::AuthFailure {
            key: event.key,
            sender,
        });
    }
    if event.kind & EVENT_UNKNOWN_VRID != 0 {
        return Some(XdpEvent::UnknownVrid {
            key: event.key,
            sender,
        });
    }
    Some(XdpEvent::Advert {
        key: event.key,
        advert: Advert {
            source: sender,
            version: version(event.version)?,
            vrid: event.key.vrid,
            priority: event.priority,
            interval_cs: event.interval_cs,
        },
    })
}

/// An address as the maps hold it (IPv4 in the first 4 of 16 bytes).
pub fn address(family: u8, bytes: &[u8; 16]) -> IpAddr {
    if family == FAMILY_V6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

/// The VRRP version of a record's `version` byte.
pub fn version(wire: u8) -> Option<Version> {
    match wire {
        2 => Some(Version::V2),
        3 => Some(Version::V3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use kad_common::xdp_maps::{EVENT_AUTH_FAILURE, FAMILY_V4, VrrpEvent};

    use super::*;
    use crate::xdp::address_bytes;

    fn bytes_of(event: &VrrpEvent) -> Vec<u8> {
        // SAFETY: reading the bytes of a plain #[repr(C)] value without implicit padding.
        unsafe {
            std::slice::from_raw_parts(
                (event as *const VrrpEvent).cast::<u8>(),
                size_of::<VrrpEvent>(),
            )
        }
        .to_vec()
    }

    fn record(kind: u32, version: u8) -> VrrpEvent {
        VrrpEvent {
            key: VrrpKey {
                ifindex: 7,
                vrid: 51,
                family: FAMILY_V4,
                pad: [0; 2],
            },
            kind,
            sender: address_bytes("10.77.0.1".parse().unwrap()).1,
            priority: 200,
            version,
            interval_cs: 100,
            ..VrrpEvent::default()
        }
    }

    #[test]
    fn a_record_becomes_the_advert_it_describes() {
        let Some(XdpEvent::Advert { key, advert }) = decode(&bytes_of(&record(1, 3))) else {
            panic!("not an advert");
        };
        assert_eq!((key.ifindex, key.vrid), (7, 51));
        assert_eq!(advert.source, "10.77.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            (advert.version, advert.priority, advert.interval_cs),
            (Version::V3, 200, 100)
        );
    }

    #[test]
    fn bfd_expiries_are_told_apart_from_adverts() {
        let event = BfdEvent {
            kind: EVENT_BFD_EXPIRED,
            discriminator: 0x1234,
            at_ns: 50,
            last_ns: 20,
            detect_ns: 30,
            packets: 9,
            ..BfdEvent::default()
        };
        // SAFETY: reading the bytes of a plain #[repr(C)] value without implicit padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&event as *const BfdEvent).cast::<u8>(),
                size_of::<BfdEvent>(),
            )
        };
        assert_eq!(decode(bytes), None);
        assert_eq!(
            decode_record(bytes),
            Some(Record::BfdExpired(BfdExpiry {
                discriminator: 0x1234,
                at_ns: 50,
                last_ns: 20,
                detect_ns: 30,
                packets: 9
            }))
        );
        assert_eq!(decode_record(&bytes[..bytes.len() - 1]), None);
        let advert = decode_record(&bytes_of(&record(1, 3)));
        assert!(
            matches!(advert, Some(Record::Vrrp(XdpEvent::Advert { .. }))),
            "{advert:?}"
        );
    }

    #[test]
    fn auth_failures_and_unknown_versions_never_become_adverts() {
        let failure = decode(&bytes_of(&record(EVENT_AUTH_FAILURE, 2)));
        assert!(
            matches!(failure, Some(XdpEvent::AuthFailure { .. })),
            "{failure:?}"
        );
        assert_eq!(decode(&bytes_of(&record(1, 4))), None);
        let whole = bytes_of(&record(1, 3));
        assert_eq!(decode(&whole[..whole.len() - 1]), None);
    }
}
