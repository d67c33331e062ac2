//! Fuzzes what kad reads back from the kernel's IPVS generic netlink family: a receive
//! buffer of netlink messages (dump parts, done, errors) split and decoded, then each reply's
//! attributes read as services and as destinations. Must never panic.
#![no_main]

use kad::lvs::ipvs::{Family, reply};
use libfuzzer_sys::fuzz_target;
use netlink_packet_generic::GenlMessage;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let acked = flags & 1 != 0;
    let family = if flags & 2 != 0 {
        Family::Inet6
    } else {
        Family::Inet
    };
    let seq = u32::from(flags >> 2);
    let Ok(batch) =
        reply::decode_batch::<GenlMessage<kad::lvs::ipvs::message::IpvsMessage>>(bytes, seq, acked)
    else {
        return;
    };
    let attrs: Vec<_> = batch.replies.into_iter().map(|r| r.payload.attrs).collect();
    let _ = reply::services(attrs.clone());
    let _ = reply::dests(attrs, family);
});
