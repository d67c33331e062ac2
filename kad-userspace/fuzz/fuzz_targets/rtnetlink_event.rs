//! Fuzzes the rtnetlink messages kad reads (link changes, address changes): any bytes are
//! decoded as a route netlink message, then read the way kad's link and address monitors read
//! them. Neither the decoding nor kad's reading may panic.
#![no_main]

use kad::net::link_monitor::{address_change, link_event};
use libfuzzer_sys::fuzz_target;
use rtnetlink::{
    packet_core::{NetlinkMessage, NetlinkPayload},
    packet_route::RouteNetlinkMessage,
};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(data) else {
        return;
    };
    if let NetlinkPayload::InnerMessage(inner) = &message.payload {
        let _ = link_event(inner);
        let _ = address_change(inner);
        if let RouteNetlinkMessage::NewAddress(address) = inner {
            let _ = kad::net::addr::interface_address(address);
        }
    }
});
