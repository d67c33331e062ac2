//! The maps through which kad's daemon and its XDP program share VRRP state.
//!
//! ```text
//! userspace ──KAD_XDP_IF_SLOTS[ifindex] = slot──▶ XDP (which interfaces kad manages)
//! userspace ──KAD_VRRP_CONFIG[vrrp_index(slot, family, vrid)] = VrrpConfig──▶ XDP (what to expect)
//! XDP ──KAD_VRRP_SEEN[vrrp_index(..)] = VrrpSeen──▶ userspace (last advert: time, sender, priority; no wake-up)
//! XDP ──KAD_VRRP_EVENTS (ring buffer) VrrpEvent──▶ userspace (only when something changed)
//! XDP ──KAD_XDP_IF_COUNTERS[slot * XdpReason::COUNT + reason]──▶ userspace (per interface)
//! userspace ──KAD_VRRP_PEERS[(key, address)]──▶ XDP (unicast peers, checked under FLAG_CHECK_PEERS)
//! userspace ──KAD_VIP_V4 / KAD_VIP_V6[(ifindex, address)]──▶ XDP (virtual addresses not to accept)
//! ```
//!
//! # What XDP does with an advert
//!
//! After the checks that need no configuration (RFC 5798 §7.1 / RFC 3768 §7.1: TTL, version,
//! type, length, interval, IPv4 header and VRRP checksums), XDP reads the ingress interface's
//! slot in `KAD_XDP_IF_SLOTS` and then `KAD_VRRP_CONFIG[vrrp_index(slot, family, vrid)]`:
//!
//! - no entry (`version` 0), and no [`INTERFACE_MARKER_VRID`] entry for the slot and family
//!   either (always so for slot 0): the interface is not XDP-managed; the advert is passed to
//!   the socket (`VrrpV2`/`VrrpV3`);
//! - no entry, but the marker exists: another router's VRID; dropped (`UnknownVrid`);
//! - an entry: version, authentication and peers are checked (`BadVersion`, `BadAuth`,
//!   `NotPeer`), AH adverts are passed to the socket (`VrrpV2`: userspace checks the ICV), and
//!   the others are recorded in `KAD_VRRP_SEEN` and dropped (`Recorded`), with a
//!   `KAD_VRRP_EVENTS` record when something changed (`Event`).
//!
//! # Why arrays indexed by slot
//!
//! Every advert needs its configuration and its last-seen entry. As hash maps keyed by
//! [`VrrpKey`] those two lookups cost ≈ 45 ns per advert on the project's machines (measured
//! with `cargo xtask bench xdp`: a steady advert took 125 ns against 80 ns with arrays), more
//! than the whole rest of the program; the verifier inlines array lookups. So both maps are
//! arrays of [`VRRP_ENTRIES`] entries indexed by [`vrrp_index`]: the interface's counter slot
//! (which XDP reads for every frame anyway), the family and the VRID. The price is that an
//! interface must have a slot before it can have instances, and that userspace's writes
//! replace an entry in place (a frame may see a half-written configuration once; the next
//! advert is judged on the whole one).
//!
//! Every type is `#[repr(C)]`, padded explicitly (no implicit holes the verifier or a
//! `memcmp` could trip on) and made of plain integers and byte arrays.

/// Name of the configuration array, written by userspace: [`vrrp_index`] → [`VrrpConfig`]
/// (`version` 0: no instance).
pub const VRRP_CONFIG_MAP: &str = "KAD_VRRP_CONFIG";
/// Name of the last-seen array, written by XDP: [`vrrp_index`] → [`VrrpSeen`] (`count` 0:
/// nothing seen yet). Userspace zeroes an entry when its instance goes.
pub const VRRP_SEEN_MAP: &str = "KAD_VRRP_SEEN";
/// Name of the ring buffer of [`VrrpEvent`] records.
pub const VRRP_EVENTS_MAP: &str = "KAD_VRRP_EVENTS";
/// Name of the array giving each attached interface its slot, indexed by ifindex
/// (`0..MAX_IFINDEX`): slot (`u32`, `1..MAX_INTERFACES`), 0 for none. The slot places the
/// interface's counters in [`IF_COUNTERS_MAP`] and its instances in [`VRRP_CONFIG_MAP`] /
/// [`VRRP_SEEN_MAP`] ([`vrrp_index`]). Slot 0 counts frames of interfaces with no slot, and
/// of interfaces whose index is `MAX_IFINDEX` or more; they have no instances. An array
/// rather than a hash map because every frame looks its slot up: the verifier inlines an
/// array lookup (a few ns), while a hash lookup measured ≈ 20 ns per frame
/// (`cargo xtask bench xdp`, BENCHMARKS.md).
pub const IF_SLOTS_MAP: &str = "KAD_XDP_IF_SLOTS";
/// Size of [`IF_SLOTS_MAP`]: interface indexes below this can have their own counter slot.
pub const MAX_IFINDEX: u32 = 16384;
/// Name of the per-CPU counter array indexed by `slot * XdpReason::COUNT + reason`.
pub const IF_COUNTERS_MAP: &str = "KAD_XDP_IF_COUNTERS";

/// Name of the hash map of IPv4 virtual addresses whose traffic XDP drops on one interface:
/// [`VipV4Key`] → `u8` (1). Filled by userspace with the VIPs of instances that do not accept
/// (keepalived `no_accept` or `vrrp_strict`, and not the address owner), keyed by the
/// interface the instance receives on, and only while the instance holds them (Master), as
/// keepalived installs its iptables/nftables drop rules on becoming Master and removes them
/// on leaving it.
pub const VIP_V4_MAP: &str = "KAD_VIP_V4";
/// Like [`VIP_V4_MAP`] for IPv6: [`VipV6Key`] → `u8` (1).
pub const VIP_V6_MAP: &str = "KAD_VIP_V6";

/// Key of [`VIP_V4_MAP`]: traffic to `addr` arriving on `ifindex` is dropped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VipV4Key {
    /// The ingress interface (`ingress_ifindex`: the receive interface of the instance).
    pub ifindex: u32,
    /// The virtual address's octets.
    pub addr: [u8; 4],
}

/// Key of [`VIP_V6_MAP`]: traffic to `addr` arriving on `ifindex` is dropped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VipV6Key {
    /// The ingress interface (`ingress_ifindex`: the receive interface of the instance).
    pub ifindex: u32,
    /// The virtual address's octets.
    pub addr: [u8; 16],
}
/// Most virtual addresses per family in [`VIP_V4_MAP`] / [`VIP_V6_MAP`].
pub const MAX_VIPS: u32 = 4096;

/// Most instances the hash maps keyed by [`VrrpKey`] hold ([`AUTH_FAILURES_MAP`]).
pub const MAX_VRRP_KEYS: u32 = 8192;
/// Size of [`VRRP_CONFIG_MAP`] and [`VRRP_SEEN_MAP`]: 256 VRIDs × 2 families per slot.
pub const VRRP_ENTRIES: u32 = MAX_INTERFACES * 2 * 256;

/// Index of (counter slot, family, VRID) in [`VRRP_CONFIG_MAP`] and [`VRRP_SEEN_MAP`]. Slot 0
/// (interfaces without one) never has entries.
pub const fn vrrp_index(slot: u32, family: u8, vrid: u8) -> u32 {
    let family = if family == FAMILY_V6 { 1 } else { 0 };
    (slot * 2 + family) * 256 + vrid as u32
}

/// The VRID of the marker entry that userspace keeps in [`VRRP_CONFIG_MAP`] for every
/// (slot, family) that has at least one configured instance: a [`VrrpConfig`] whose `version`
/// is not 0 at `vrrp_index(slot, family, 0)` (nothing else in it is read). VRID 0 is invalid
/// on the wire (RFC 5798 §5.2.3: 1..255), so the marker never matches an advert; it tells XDP
/// that an advert whose VRID has no entry belongs to another router (`UnknownVrid`) rather
/// than to an interface XDP does not manage (passed to the socket).
pub const INTERFACE_MARKER_VRID: u8 = 0;

/// Name of the unicast-peer hash map, written by userspace: [`VrrpPeerKey`] → `u8` (1). Read
/// only for instances with both [`FLAG_UNICAST`] and [`FLAG_CHECK_PEERS`].
pub const VRRP_PEERS_MAP: &str = "KAD_VRRP_PEERS";
/// Most (instance, peer) pairs in [`VRRP_PEERS_MAP`].
pub const MAX_VRRP_PEERS: u32 = 4096;

/// Name of the hash map in which XDP notes when it last sent an [`EVENT_AUTH_FAILURE`] for a
/// [`VrrpKey`] (`u64`, `bpf_ktime_get_ns()`), so that a flood of badly authenticated adverts
/// wakes userspace at most once per [`AUTH_FAILURE_EVENT_GAP_NS`] per instance (every one of
/// them is still counted under `BadAuth`). Written by XDP; userspace only removes entries.
pub const AUTH_FAILURES_MAP: &str = "KAD_VRRP_AUTH_FAILURES";
/// Least time between two [`EVENT_AUTH_FAILURE`] records for one [`VrrpKey`]: one second.
pub const AUTH_FAILURE_EVENT_GAP_NS: u64 = 1_000_000_000;

/// Slots: at most `MAX_INTERFACES - 1` interfaces have their own (slot 0 is "unknown
/// interface").
pub const MAX_INTERFACES: u32 = 64;
/// Size of the event ring buffer in bytes (a power of two, a multiple of the page size).
pub const EVENTS_RING_BYTES: u32 = 256 * 1024;

/// Address family of a [`VrrpKey`]: IPv4.
pub const FAMILY_V4: u8 = 4;
/// Address family of a [`VrrpKey`]: IPv6.
pub const FAMILY_V6: u8 = 6;

/// Identifies one VRRP instance as the wire sees it: the receiving interface, the address
/// family and the VRID (RFC 5798 §5.2.3). The daemon's handle for an instance (and the key
/// of [`VrrpEvent`]s); the arrays are indexed by [`vrrp_index`] of the interface's slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VrrpKey {
    /// The receiving interface's index (`ingress_ifindex`; the macvlan's parent for
    /// `use_vmac`, since adverts arrive on the parent).
    pub ifindex: u32,
    /// RFC 5798 §5.2.3 Virtual Router ID.
    pub vrid: u8,
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
    /// Zero.
    pub pad: [u8; 2],
}

/// [`VrrpConfig::role`]: the instance is not Master (Initialize, Backup or Fault).
pub const ROLE_BACKUP: u8 = 0;
/// [`VrrpConfig::role`]: the instance is Master.
pub const ROLE_MASTER: u8 = 1;

/// [`VrrpConfig::flags`]: VRRPv3 over IPv4 checksummed without the pseudo-header
/// (keepalived global `vrrp_v3_checksum_as_v2`); both forms are accepted, as keepalived does.
pub const FLAG_CHECKSUM_AS_V2: u8 = 1 << 0;
/// [`VrrpConfig::flags`]: keepalived `check_unicast_src` (or `vrrp_check_unicast_src`, a
/// peer TTL range, or `vrrp_strict` with unicast peers; userspace's accept policy decides):
/// with [`FLAG_UNICAST`], adverts from a source that is not in [`VRRP_PEERS_MAP`] for the
/// instance are dropped (`NotPeer`). Without [`FLAG_UNICAST`] it changes nothing here.
pub const FLAG_CHECK_PEERS: u8 = 1 << 1;
/// [`VrrpConfig::flags`]: the instance uses `unicast_peer`. As keepalived's `vrrp_in_chk`
/// ("Expected unicast packet but received multicast" and the converse), an advert whose
/// destination is multicast is dropped for an instance with this flag, and one whose
/// destination is unicast for an instance without it (`NotPeer`).
pub const FLAG_UNICAST: u8 = 1 << 2;
/// [`VrrpConfig::flags`]: the instance preempts at once (keepalived `preempt` without
/// `preempt_delay`): as a Backup it discards lower-priority adverts (`Discarded`).
pub const FLAG_PREEMPT: u8 = 1 << 3;
/// [`VrrpConfig::flags`]: pass this instance's valid adverts to the socket instead of
/// recording them (a unicast instance with `min_ttl`/`max_ttl`: userspace applies the ranges).
/// A unicast instance's adverts are never dropped for their TTL here (keepalived checks TTL
/// only against a peer's range).
pub const FLAG_TO_SOCKET: u8 = 1 << 4;

/// [`VrrpConfig::flags`]: keepalived.conf `old_unicast_checksum` detection (no keyword, a
/// unicast VRRPv3 IPv4 instance; keepalived before 2.2.0 summed the multicast group in the
/// VRRPv3-over-IPv4 pseudo-header): an advert failing the RFC 5798 checksum is tried in that
/// old form, with [`VrrpConfig::checksum_group`] as the pseudo-header destination; if it
/// passes it goes to the socket (which detects the peer's form), otherwise it is dropped
/// (`BadChecksum`) like any other.
pub const FLAG_OLD_CHECKSUM: u8 = 1 << 6;
/// [`VrrpConfig::flags`]: keepalived.conf `old_unicast_checksum` (configured, or detected):
/// VRRPv3 IPv4 adverts must carry the old form (pseudo-header destination
/// [`VrrpConfig::checksum_group`]); one carrying only the RFC 5798 form is dropped
/// (`BadChecksum`), as keepalived refuses it.
pub const FLAG_OLD_CHECKSUM_ONLY: u8 = 1 << 7;

/// [`VrrpConfig::flags`]: keepalived global `log_unknown_vrids`. Read on the interface marker
/// ([`INTERFACE_MARKER_VRID`]; userspace copies it there from the instances' entries): an
/// advert for a VRID without an entry sends an [`EVENT_UNKNOWN_VRID`] record before it is
/// dropped (`UnknownVrid`).
pub const FLAG_LOG_UNKNOWN_VRIDS: u8 = 1 << 5;

/// What XDP should expect of the adverts for one [`VrrpKey`], written by userspace at start,
/// on every state change of the instance, and on reload (in place, never detaching). An entry
/// whose `version` is 0 stands for "no instance".
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpConfig {
    /// Expected VRRP version (2 or 3); adverts of the other version are dropped
    /// ([`crate::xdp_counters::XdpReason`] `BadVersion`).
    pub version: u8,
    /// RFC 3768 §5.3.6 Auth Type expected (0 none, 1 PASS, 2 AH). AH adverts are passed to
    /// userspace untouched, which verifies the ICV.
    pub auth_type: u8,
    /// [`ROLE_BACKUP`] or [`ROLE_MASTER`].
    pub role: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// The instance's own effective priority (1..=255).
    pub own_priority: u8,
    /// Zero.
    pub pad: [u8; 3],
    /// keepalived `authentication { auth_pass }`: the 8 bytes expected in a PASS advert.
    pub auth_pass: [u8; 8],
    /// The instance's own primary address (IPv4 in the first 4 bytes), to ignore its own
    /// looped-back adverts (dropped, `NotPeer`) and to break priority ties (RFC 5798 §6.4.3).
    pub own_addr: [u8; 16],
    /// keepalived.conf `old_unicast_checksum`: the multicast group (default 224.0.0.18,
    /// global `vrrp_mcast_group4`) the old VRRPv3 IPv4 checksum sums as pseudo-header
    /// destination; read under [`FLAG_OLD_CHECKSUM`] / [`FLAG_OLD_CHECKSUM_ONLY`].
    pub checksum_group: [u8; 4],
}

/// Key of [`VRRP_PEERS_MAP`]: one unicast peer of one instance.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VrrpPeerKey {
    /// The instance.
    pub key: VrrpKey,
    /// The peer's address (IPv4 in the first 4 bytes, the rest zero).
    pub addr: [u8; 16],
}

/// What XDP last saw for one [`VrrpKey`]: refreshed by every accepted advert, so userspace's
/// master-down timer can read when the master last spoke instead of being re-armed per packet.
/// An entry whose `count` is 0 has seen nothing yet.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpSeen {
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) when the last accepted advert arrived.
    pub last_ns: u64,
    /// Accepted adverts since the entry was created.
    pub count: u64,
    /// Sender (IP source address) of the last accepted advert; IPv4 in the first 4 bytes.
    pub sender: [u8; 16],
    /// Its priority (RFC 5798 §5.2.4).
    pub priority: u8,
    /// Its VRRP version.
    pub version: u8,
    /// Its advert interval in centiseconds (v3 Max Adver Int; v2 Adver Int × 100).
    pub interval_cs: u16,
    /// Zero.
    pub pad: [u8; 4],
}

/// [`VrrpEvent::kind`] bit: the first advert for the key, or one from another sender than
/// the one in `KAD_VRRP_SEEN` (then [`EVENT_PRIORITY`] and [`EVENT_INTERVAL`] are not set:
/// there is nothing of the same sender to compare with).
pub const EVENT_NEW_SENDER: u32 = 1 << 0;
/// [`VrrpEvent::kind`] bit: the same sender's priority changed (including to 0, RFC 5798
/// §6.4.2).
pub const EVENT_PRIORITY: u32 = 1 << 1;
/// [`VrrpEvent::kind`] bit: the same sender's advert interval changed.
pub const EVENT_INTERVAL: u32 = 1 << 2;
/// [`VrrpEvent::kind`] bit: the instance is Master and the advert has a higher priority (or
/// equal priority from a higher address) — RFC 5798 §6.4.3, it must step down.
pub const EVENT_PREEMPTED: u32 = 1 << 3;
/// [`VrrpEvent::kind`] bit: authentication failed (RFC 3768 §7.1: auth type or PASS data differ
/// from the instance's); the advert was dropped and `KAD_VRRP_SEEN` left alone. Sent at most
/// once per [`AUTH_FAILURE_EVENT_GAP_NS`] per key; never combined with other bits.
pub const EVENT_AUTH_FAILURE: u32 = 1 << 4;

/// [`VrrpEvent::kind`] bit: an advert for a VRID no instance has on the interface (keepalived
/// `log_unknown_vrids`), dropped. Sent only under [`FLAG_LOG_UNKNOWN_VRIDS`], at most once per
/// [`AUTH_FAILURE_EVENT_GAP_NS`] per key (noted in [`AUTH_FAILURES_MAP`]: such a key has no
/// instance, so no authentication failures); never combined with other bits.
pub const EVENT_UNKNOWN_VRID: u32 = 1 << 5;

/// One ring-buffer record: an advert userspace must see, with everything the state machine
/// reads from it (RFC 5798 §6.4), so no raw packet crosses the boundary.
///
/// `KAD_VRRP_SEEN` is updated before the record is submitted, so a reader woken by it finds
/// the entry already refreshed. When the ring buffer is full, XDP leaves `KAD_VRRP_SEEN`
/// untouched (neither time nor fields move: the next advert sees the same change and tries
/// again, and a lost priority-0 advert falls back to the Master_Down timer instead of keeping
/// a leaving master alive) and passes the advert to the socket (`VrrpV2`/`VrrpV3`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VrrpEvent {
    /// Which instance.
    pub key: VrrpKey,
    /// `EVENT_*` bits: why userspace is woken.
    pub kind: u32,
    /// Zero.
    pub pad: u32,
    /// `bpf_ktime_get_ns()` at arrival.
    pub at_ns: u64,
    /// The advert's sender (IP source); IPv4 in the first 4 bytes.
    pub sender: [u8; 16],
    /// RFC 5798 §5.2.4 priority.
    pub priority: u8,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Advert interval in centiseconds (v2 Adver Int × 100).
    pub interval_cs: u16,
    /// RFC 5798 §5.2.5 Count IPvX Addr.
    pub count_ip: u8,
    /// Zero.
    pub pad2: [u8; 3],
}

#[cfg(feature = "user")]
mod pod {
    // All seven are #[repr(C)], contain only integers and byte arrays, and have explicit
    // padding fields (the VIP keys need none: a u32 then bytes), so every bit pattern is a
    // valid value.
    // SAFETY: repr(C), a u32 then bytes: no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::VipV4Key {}
    // SAFETY: repr(C), a u32 then bytes: no padding, every bit pattern valid.
    unsafe impl aya::Pod for super::VipV6Key {}
    // SAFETY: repr(C), integers with explicit padding fields: every bit pattern valid.
    unsafe impl aya::Pod for super::VrrpKey {}
    // SAFETY: repr(C), integers with explicit padding fields: every bit pattern valid.
    unsafe impl aya::Pod for super::VrrpPeerKey {}
    // SAFETY: repr(C), integers with explicit padding fields: every bit pattern valid.
    unsafe impl aya::Pod for super::VrrpConfig {}
    // SAFETY: repr(C), integers with explicit padding fields: every bit pattern valid.
    unsafe impl aya::Pod for super::VrrpSeen {}
    // SAFETY: repr(C), integers with explicit padding fields: every bit pattern valid.
    unsafe impl aya::Pod for super::VrrpEvent {}
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::mem::size_of;

    /// The layouts are part of the kernel/userspace contract: no implicit padding.
    #[test]
    fn sizes_have_no_implicit_padding() {
        assert_eq!(size_of::<VrrpKey>(), 8);
        assert_eq!(size_of::<VrrpConfig>(), 8 + 8 + 16 + 4);
        assert_eq!(size_of::<VrrpSeen>(), 8 + 8 + 16 + 8);
        assert_eq!(size_of::<VrrpEvent>(), 8 + 8 + 8 + 16 + 8);
        assert_eq!(size_of::<VrrpPeerKey>(), 8 + 16);
        assert_eq!(size_of::<VipV4Key>(), 4 + 4);
        assert_eq!(size_of::<VipV6Key>(), 4 + 16);
    }

    #[test]
    fn vrrp_indexes_are_distinct_and_inside_the_arrays() {
        let mut seen = std::collections::HashSet::new();
        for slot in 0..MAX_INTERFACES {
            for family in [FAMILY_V4, FAMILY_V6] {
                for vrid in 0..=u8::MAX {
                    let index = vrrp_index(slot, family, vrid);
                    assert!(index < VRRP_ENTRIES);
                    assert!(seen.insert(index), "{slot} {family} {vrid}");
                }
            }
        }
    }
}
