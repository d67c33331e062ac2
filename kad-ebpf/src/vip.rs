//! keepalived `no_accept` / `vrrp_strict` in the kernel: IP traffic addressed to a virtual
//! address listed in `KAD_VIP_V4` / `KAD_VIP_V6` is dropped, as keepalived's iptables/nftables
//! rules drop it (RFC 5798 §6.4.3: a Master not in Accept_Mode "MUST NOT accept packets
//! addressed to the IPvX address(es) associated with the virtual router" unless it owns them).

use kad_common::{xdp_counters::XdpReason, xdp_maps::FAMILY_V4};

use crate::{
    maps::{KAD_VIP_V4, KAD_VIP_V6},
    packet::OtherIp,
};

/// `VipNoAccept` for a listed destination, `NotVrrp` (passed) otherwise. IPv6 neighbour
/// solicitations and advertisements pass: without them neighbours could not resolve the VIP.
#[inline(always)]
pub fn filter(packet: &OtherIp) -> XdpReason {
    let listed = if packet.family == FAMILY_V4 {
        KAD_VIP_V4.get_ptr(packet.dst.v4_bytes()).is_some()
    } else {
        !packet.neighbour_discovery && KAD_VIP_V6.get_ptr(packet.dst.to_bytes()).is_some()
    };
    if listed {
        XdpReason::VipNoAccept
    } else {
        XdpReason::NotVrrp
    }
}
