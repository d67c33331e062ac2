//! Adverts for a configured instance (an entry in `KAD_VRRP_CONFIG`): the checks that need
//! the configuration (RFC 5798 §7.1 / RFC 3768 §7.1: version, authentication; keepalived's
//! unicast rules), then `KAD_VRRP_SEEN` and, only when something changed, a `KAD_VRRP_EVENTS`
//! record. The XDP program never decides state (DESIGN.md): it records and wakes.

use aya_ebpf::{helpers::bpf_ktime_get_ns, programs::XdpContext};
use kad_common::{
    vrrp_wire::{VRRP_AUTH_PASS, VRRP_VERSION_2},
    xdp_counters::XdpReason,
    xdp_maps::{
        AUTH_FAILURE_EVENT_GAP_NS, EVENT_AUTH_FAILURE, EVENT_INTERVAL, EVENT_NEW_SENDER,
        EVENT_PREEMPTED, EVENT_PRIORITY, EVENT_UNKNOWN_VRID, FLAG_CHECK_PEERS, FLAG_PREEMPT,
        FLAG_UNICAST, ROLE_MASTER, VrrpConfig, VrrpEvent, VrrpKey, VrrpSeen,
    },
};

use crate::{
    advert::{self, Advert},
    maps::{self, KAD_VRRP_AUTH_FAILURES, KAD_VRRP_EVENTS, KAD_VRRP_SEEN},
    packet::{Addr, VrrpPacket},
};

/// Judges an advert (checksums already good) for the instance `config` of `key`, found at
/// `index` of the arrays: an error is a drop reason; `Ok` is `VrrpV2` (AH, passed to
/// userspace), `Recorded` or `Event`, or the advert's `VrrpV2`/`VrrpV3` when the event ring
/// was full.
#[inline(always)]
pub fn accept(
    ctx: &XdpContext,
    packet: &VrrpPacket,
    advert: &Advert,
    key: &VrrpKey,
    index: u32,
    config: &VrrpConfig,
) -> Result<XdpReason, XdpReason> {
    if advert.version != config.version {
        return Err(XdpReason::BadVersion);
    }
    if !authentic(ctx, packet, advert, config)? {
        auth_failure_event(key, packet, advert);
        return Err(XdpReason::BadAuth);
    }
    if packet.ah {
        // RFC 2402: userspace holds the key and verifies the ICV and the sequence number.
        return Ok(XdpReason::VrrpV2);
    }
    check_source(packet, key, config)?;
    // RFC 5798 §6.4.3 (Master) and §6.4.2 (a Backup that preempts at once): an advert of
    // lower priority is discarded; neither the seen entry nor userspace need it, so forged
    // lower-priority senders cost no wake-up.
    let lower = advert.priority != 0 && advert.priority < config.own_priority;
    if lower && (config.role == ROLE_MASTER || config.flags & FLAG_PREEMPT != 0) {
        return Ok(XdpReason::Discarded);
    }
    Ok(record(packet, advert, key, index, config))
}

/// RFC 3768 §7.1: the Auth Type must be the instance's (v3 adverts have none) and, for PASS,
/// the Authentication Data must equal `auth_pass`.
#[inline(always)]
fn authentic(
    ctx: &XdpContext,
    packet: &VrrpPacket,
    advert: &Advert,
    config: &VrrpConfig,
) -> Result<bool, XdpReason> {
    if advert.auth_type != config.auth_type {
        return Ok(false);
    }
    if config.auth_type != VRRP_AUTH_PASS {
        return Ok(true);
    }
    let data = advert::auth_data(ctx, packet, advert)?;
    // SAFETY: `auth_pass` sits at offset 8 of a map value (asserted below): 8-byte aligned.
    let pass = unsafe { core::ptr::read(config.auth_pass.as_ptr().cast::<u64>()) };
    Ok(data == pass)
}

/// keepalived's source rules: not our own advert; multicast exactly when the instance has no
/// unicast peers; when the instance checks its peers (`check_unicast_src`, decided by
/// userspace's accept policy: `FLAG_CHECK_PEERS`), from one of them.
#[inline(always)]
fn check_source(packet: &VrrpPacket, key: &VrrpKey, config: &VrrpConfig) -> Result<(), XdpReason> {
    if packet.src == own_addr(config) {
        return Err(XdpReason::NotPeer);
    }
    let unicast = config.flags & FLAG_UNICAST != 0;
    if packet.dst.is_multicast(packet.family) == unicast {
        return Err(XdpReason::NotPeer);
    }
    if unicast && config.flags & FLAG_CHECK_PEERS != 0 && !maps::is_peer(key, packet.src.to_bytes())
    {
        return Err(XdpReason::NotPeer);
    }
    Ok(())
}

// The address and password fields are read as aligned u64 words straight from map values
// (which the kernel aligns to 8 bytes; array entries are rounded up to 8 bytes each).
const _: () = assert!(core::mem::offset_of!(VrrpConfig, auth_pass) % 8 == 0);
const _: () = assert!(core::mem::offset_of!(VrrpConfig, own_addr) % 8 == 0);
const _: () = assert!(core::mem::offset_of!(VrrpSeen, sender) % 8 == 0);

/// The instance's own primary address.
#[inline(always)]
fn own_addr(config: &VrrpConfig) -> Addr {
    // SAFETY: `own_addr` sits at an 8-aligned offset of a map value (asserted above).
    unsafe { Addr::from_map_field(&config.own_addr) }
}

/// RFC 5798 §6.4.3: a Master receiving this advert must become Backup — higher priority, or
/// equal priority from a higher primary address.
#[inline(always)]
fn preempts(packet: &VrrpPacket, advert: &Advert, config: &VrrpConfig) -> bool {
    config.role == ROLE_MASTER
        && (advert.priority > config.own_priority
            || (advert.priority == config.own_priority
                && packet.src.greater_than(own_addr(config))))
}

/// Refreshes `KAD_VRRP_SEEN[index]` and sends an event when the sender, its priority or its
/// interval changed, or when the advert preempts this Master. See `VrrpEvent` in kad-common
/// for what happens when the ring buffer is full.
#[inline(always)]
fn record(
    packet: &VrrpPacket,
    advert: &Advert,
    key: &VrrpKey,
    index: u32,
    config: &VrrpConfig,
) -> XdpReason {
    let Some(seen) = KAD_VRRP_SEEN.get_ptr_mut(index) else {
        // Not reachable: `index` comes from `vrrp_index` of a slot below MAX_INTERFACES.
        return advert.passed();
    };
    // SAFETY: an array entry; XDP is its only writer and userspace only reads or zeroes it.
    let (count, sender, priority, interval_cs) = unsafe {
        (
            (*seen).count,
            Addr::from_map_field(&(*seen).sender),
            (*seen).priority,
            (*seen).interval_cs,
        )
    };
    let mut kind = if count == 0 || sender != packet.src {
        EVENT_NEW_SENDER
    } else {
        let priority = if priority != advert.priority {
            EVENT_PRIORITY
        } else {
            0
        };
        let interval = if interval_cs != advert.interval_cs {
            EVENT_INTERVAL
        } else {
            0
        };
        priority | interval
    };
    if preempts(packet, advert, config) {
        kind |= EVENT_PREEMPTED;
    }
    // SAFETY: a helper without arguments or preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    if kind == 0 {
        // SAFETY: as above; racing CPUs can at worst lose one count.
        unsafe {
            (*seen).last_ns = now;
            (*seen).count = count + 1;
        }
        return XdpReason::Recorded;
    }
    let Some(mut entry) = KAD_VRRP_EVENTS.reserve::<VrrpEvent>(0) else {
        return advert.passed();
    };
    // SAFETY: as above.
    unsafe {
        *seen = VrrpSeen {
            last_ns: now,
            count: count + 1,
            sender: packet.src.to_bytes(),
            priority: advert.priority,
            version: advert.version,
            interval_cs: advert.interval_cs,
            pad: [0; 4],
        };
    }
    entry.write(event(key, kind, now, packet, advert));
    entry.submit(0);
    XdpReason::Event
}

/// An `EVENT_AUTH_FAILURE` record, unless one was sent for `key` less than
/// `AUTH_FAILURE_EVENT_GAP_NS` ago or the ring buffer is full.
#[inline(always)]
fn auth_failure_event(key: &VrrpKey, packet: &VrrpPacket, advert: &Advert) {
    rate_limited_event(key, EVENT_AUTH_FAILURE, packet, advert);
}

/// keepalived `log_unknown_vrids`: an `EVENT_UNKNOWN_VRID` record for an advert whose VRID
/// has no instance on the interface, rate-limited as authentication failures are.
#[inline(always)]
pub fn unknown_vrid_event(key: &VrrpKey, packet: &VrrpPacket, advert: &Advert) {
    rate_limited_event(key, EVENT_UNKNOWN_VRID, packet, advert);
}

/// A `kind` record for `key`, unless one was sent for `key` less than
/// `AUTH_FAILURE_EVENT_GAP_NS` ago or the ring buffer is full.
#[inline(always)]
fn rate_limited_event(key: &VrrpKey, kind: u32, packet: &VrrpPacket, advert: &Advert) {
    // SAFETY: a helper without arguments or preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    if let Some(last) = KAD_VRRP_AUTH_FAILURES.get_ptr(key) {
        // SAFETY: a u64 map value, read once.
        if now.wrapping_sub(unsafe { *last }) < AUTH_FAILURE_EVENT_GAP_NS {
            return;
        }
    }
    let Some(mut entry) = KAD_VRRP_EVENTS.reserve::<VrrpEvent>(0) else {
        return;
    };
    let _ = KAD_VRRP_AUTH_FAILURES.insert(key, now, 0);
    entry.write(event(key, kind, now, packet, advert));
    entry.submit(0);
}

#[inline(always)]
fn event(key: &VrrpKey, kind: u32, now: u64, packet: &VrrpPacket, advert: &Advert) -> VrrpEvent {
    VrrpEvent {
        key: *key,
        kind,
        pad: 0,
        at_ns: now,
        sender: packet.src.to_bytes(),
        priority: advert.priority,
        version: advert.version,
        interval_cs: advert.interval_cs,
        count_ip: advert.count,
        pad2: [0; 3],
    }
}

impl Advert {
    /// The reason under which this advert is passed to userspace's socket.
    #[inline(always)]
    pub fn passed(&self) -> XdpReason {
        if self.version == VRRP_VERSION_2 {
            XdpReason::VrrpV2
        } else {
            XdpReason::VrrpV3
        }
    }
}
