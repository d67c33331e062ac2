//! keepalived `no_accept` / `vrrp_strict` in the kernel: IP traffic arriving on an interface
//! and addressed to a virtual address listed for that interface in `KAD_VIP_V4` /
//! `KAD_VIP_V6` is dropped, as keepalived's iptables/nftables rules drop it while it is Master
//! (RFC 5798 §6.4.3: a Master not in Accept_Mode "MUST NOT accept packets addressed to the
//! IPvX address(es) associated with the virtual router" unless it owns them).

use kad_common::{
    xdp_counters::XdpReason,
    xdp_maps::{FAMILY_V4, VipV4Key, VipV6Key},
};

use crate::{
    maps::{KAD_VIP_V4, KAD_VIP_V6},
    packet::OtherIp,
};

/// `VipNoAccept` for a destination listed for `ifindex` (the ingress interface), `NotVrrp`
/// (passed) otherwise. IPv6 neighbour solicitations and advertisements pass: without them
/// neighbours could not resolve the VIP.
#[inline(always)]
pub fn filter(ifindex: u32, packet: &OtherIp) -> XdpReason {
    let listed = if packet.family == FAMILY_V4 {
        let key = VipV4Key {
            ifindex,
            addr: packet.dst.v4_bytes(),
        };
        KAD_VIP_V4.get_ptr(&key).is_some()
    } else {
        let key = VipV6Key {
            ifindex,
            addr: packet.dst.to_bytes(),
        };
        !packet.neighbour_discovery && KAD_VIP_V6.get_ptr(&key).is_some()
    };
    if listed {
        XdpReason::VipNoAccept
    } else {
        XdpReason::NotVrrp
    }
}
