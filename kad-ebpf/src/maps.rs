//! The program's maps, laid out in kad-common (`xdp_maps`, `xdp_counters`), and the per-reason
//! counting every frame ends with.

use aya_ebpf::{
    bindings::BPF_F_MMAPABLE,
    macros::map,
    maps::{Array, HashMap, PerCpuArray, RingBuf},
    programs::XdpContext,
};
use kad_common::{
    xdp_counters::XdpReason,
    xdp_maps::{
        EVENTS_RING_BYTES, MAX_IFINDEX, MAX_INTERFACES, MAX_VIPS, MAX_VRRP_KEYS, MAX_VRRP_PEERS,
        VRRP_ENTRIES, VipV4Key, VipV6Key, VrrpConfig, VrrpKey, VrrpPeerKey, VrrpSeen,
    },
};

/// One `u64` per [`XdpReason`], per CPU, over all interfaces (`XDP_COUNTERS_MAP`).
#[map(name = "KAD_XDP_COUNTERS")]
static KAD_XDP_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XdpReason::COUNT, 0);

/// `slot * XdpReason::COUNT + reason`, per CPU (`IF_COUNTERS_MAP`).
#[map(name = "KAD_XDP_IF_COUNTERS")]
static KAD_XDP_IF_COUNTERS: PerCpuArray<u64> =
    PerCpuArray::with_max_entries(MAX_INTERFACES * XdpReason::COUNT, 0);

/// Counter slot per ifindex (`IF_SLOTS_MAP`), written by userspace.
#[map(name = "KAD_XDP_IF_SLOTS")]
static KAD_XDP_IF_SLOTS: Array<u32> = Array::with_max_entries(MAX_IFINDEX, 0);

/// [`VrrpConfig`] per `vrrp_index` (`VRRP_CONFIG_MAP`), written by userspace, with one
/// `INTERFACE_MARKER_VRID` entry per configured slot and family.
#[map(name = "KAD_VRRP_CONFIG")]
static KAD_VRRP_CONFIG: Array<VrrpConfig> = Array::with_max_entries(VRRP_ENTRIES, 0);

/// [`VrrpSeen`] per `vrrp_index` (`VRRP_SEEN_MAP`), written here; memory-mappable, so the
/// daemon reads it without system calls.
#[map(name = "KAD_VRRP_SEEN")]
pub static KAD_VRRP_SEEN: Array<VrrpSeen> = Array::with_max_entries(VRRP_ENTRIES, BPF_F_MMAPABLE);

/// Event records (`VRRP_EVENTS_MAP`).
#[map(name = "KAD_VRRP_EVENTS")]
pub static KAD_VRRP_EVENTS: RingBuf = RingBuf::with_byte_size(EVENTS_RING_BYTES, 0);

/// (instance, peer) → 1 (`VRRP_PEERS_MAP`), written by userspace.
#[map(name = "KAD_VRRP_PEERS")]
static KAD_VRRP_PEERS: HashMap<VrrpPeerKey, u8> = HashMap::with_max_entries(MAX_VRRP_PEERS, 0);

/// [`VrrpKey`] → when the last auth-failure event was sent (`AUTH_FAILURES_MAP`).
#[map(name = "KAD_VRRP_AUTH_FAILURES")]
pub static KAD_VRRP_AUTH_FAILURES: HashMap<VrrpKey, u64> =
    HashMap::with_max_entries(MAX_VRRP_KEYS, 0);

/// (interface, IPv4 virtual address) to drop traffic for (`VIP_V4_MAP`), written by userspace.
#[map(name = "KAD_VIP_V4")]
pub static KAD_VIP_V4: HashMap<VipV4Key, u8> = HashMap::with_max_entries(MAX_VIPS, 0);

/// (interface, IPv6 virtual address) to drop traffic for (`VIP_V6_MAP`), written by userspace.
#[map(name = "KAD_VIP_V6")]
pub static KAD_VIP_V6: HashMap<VipV6Key, u8> = HashMap::with_max_entries(MAX_VIPS, 0);

/// The counter slot of the interface the frame arrived on (0: none, or an index beyond the
/// slot array).
#[inline(always)]
pub fn slot(ctx: &XdpContext) -> u32 {
    let ifindex = ctx.ingress_ifindex() as u32;
    let slot = KAD_XDP_IF_SLOTS.get(ifindex).copied().unwrap_or(0);
    if slot < MAX_INTERFACES { slot } else { 0 }
}

/// The instance at `vrrp_index` `index`, if userspace configured one.
#[inline(always)]
pub fn config(index: u32) -> Option<&'static VrrpConfig> {
    // A userspace update rewrites the entry in place: this run may read a mix of the old and
    // new configuration of one instance, which only decides one frame.
    KAD_VRRP_CONFIG
        .get(index)
        .filter(|config| config.version != 0)
}

/// Whether `peer` is a configured unicast peer of `key`.
#[inline(always)]
pub fn is_peer(key: &VrrpKey, peer: [u8; 16]) -> bool {
    let peer = VrrpPeerKey {
        key: *key,
        addr: peer,
    };
    KAD_VRRP_PEERS.get_ptr(&peer).is_some()
}

/// Counts one frame under `reason`, globally and in the ingress interface's `slot`.
#[inline(always)]
pub fn count(slot: u32, reason: XdpReason) {
    if let Some(counter) = KAD_XDP_COUNTERS.get_ptr_mut(reason as u32) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU while the program runs.
        unsafe { *counter += 1 };
    }
    if let Some(counter) = KAD_XDP_IF_COUNTERS.get_ptr_mut(slot * XdpReason::COUNT + reason as u32)
    {
        // SAFETY: as above.
        unsafe { *counter += 1 };
    }
}
