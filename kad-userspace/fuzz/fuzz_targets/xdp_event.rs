//! Fuzzes the decoding of `KAD_VRRP_EVENTS` ring-buffer records (the XDP program copies an
//! advert's sender, priority, interval and version into them): any bytes give an advert, an
//! authentication failure, or nothing, and never a panic.
#![no_main]

use kad::xdp::event::{XdpEvent, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(XdpEvent::Advert { key, advert }) = decode(data) {
        assert_eq!(key.vrid, advert.vrid);
    }
});
