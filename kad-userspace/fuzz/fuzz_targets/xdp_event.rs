//! Fuzzes the decoding of `KAD_VRRP_EVENTS` ring-buffer records (the XDP program copies an
//! advert's sender, priority, interval and version into them, or a BFD session's expiry):
//! any bytes give an advert, an authentication failure, a BFD expiry, or nothing, and never
//! a panic; a BFD record is never taken for an advert.
#![no_main]

use kad::xdp::event::{Record, XdpEvent, decode, decode_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(XdpEvent::Advert { key, advert }) = decode(data) {
        assert_eq!(key.vrid, advert.vrid);
    }
    match decode_record(data) {
        Some(Record::BfdExpired(_)) => assert_eq!(decode(data), None),
        Some(Record::Vrrp(event)) => assert_eq!(decode(data), Some(event)),
        None => assert_eq!(decode(data), None),
    }
});
