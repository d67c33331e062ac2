//! BFD control packets (RFC 5880 §6.8.6, RFC 5881, RFC 5883): validated here, recorded in
//! `KAD_BFD_SESSIONS` per session, passed to the socket only when something changed; and the
//! per-session `bpf_timer` that declares a session down when its detect time passes without
//! a packet. See `kad_common::bfd_maps` for the contract with userspace.
//!
//! Per steady packet of a known session: one hash lookup (inlined by the verifier) and one
//! helper call (`bpf_ktime_get_ns`); the timer is not touched (it re-arms itself from
//! `last_ns` when it fires, see [`bfd_expire`]).

use core::ffi::c_void;

use aya_ebpf::{
    bindings::bpf_timer,
    btf_maps::HashMap,
    helpers::{
        bpf_ktime_get_ns,
        generated::{bpf_timer_init, bpf_timer_set_callback, bpf_timer_start},
    },
    macros::btf_map,
    programs::XdpContext,
};
use kad_common::{
    bfd_maps::{
        BFD_FLAG_ARMED, BFD_FLAG_MULTIHOP, BfdEvent, BfdSession, EVENT_BFD_EXPIRED,
        MAX_BFD_SESSIONS,
    },
    bfd_wire::{
        BFD_VERSION, CONTROL_LEN, FLAG_AUTH, FLAG_FINAL, FLAG_MULTIPOINT, FLAG_POLL,
        OFF_DETECT_MULT, OFF_LENGTH, OFF_MY_DISCRIMINATOR, OFF_STATE_FLAGS, OFF_YOUR_DISCRIMINATOR,
        PORT_MULTI_HOP, SOURCE_PORT_MIN, STATE_INIT, STATE_SHIFT, STATE_UP, UDP_HEADER_LEN,
        VERSION_SHIFT,
    },
    xdp_counters::XdpReason,
};

use crate::{
    maps::KAD_VRRP_EVENTS,
    packet::{Addr, BfdPacket, be16, ne32, ne64, window},
};

/// Local discriminator → [`BfdSession`] (`BFD_SESSIONS_MAP`). A BTF map: the kernel finds
/// the value's `bpf_timer` through its BTF.
#[btf_map(name = "KAD_BFD_SESSIONS")]
pub static KAD_BFD_SESSIONS: HashMap<u32, BfdSession, { MAX_BFD_SESSIONS as usize }> =
    HashMap::new();

/// `CLOCK_MONOTONIC`, the clock of `bpf_ktime_get_ns` and of the timer.
const CLOCK_MONOTONIC: u64 = 1;
/// When the ring buffer is full at expiry, the timer tries again this much later.
const RING_FULL_RETRY_NS: u64 = 1_000_000;

/// Judges one control packet; the reason decides the verdict.
#[inline(always)]
pub fn classify(ctx: &XdpContext, packet: &BfdPacket) -> XdpReason {
    check(ctx, packet).unwrap_or_else(|reason| reason)
}

#[inline(always)]
fn check(ctx: &XdpContext, packet: &BfdPacket) -> Result<XdpReason, XdpReason> {
    let udp = window::<UDP_HEADER_LEN>(ctx, packet.udp_offset)?;
    let (src_port, dst_port, udp_len) = (be16(udp, 0), be16(udp, 2), usize::from(be16(udp, 4)));
    if udp_len < UDP_HEADER_LEN + CONTROL_LEN || udp_len > packet.ip_payload_len {
        return Err(XdpReason::BfdBadLength);
    }
    let multihop = dst_port == PORT_MULTI_HOP;
    // The TTL rule is the session's (keepalived's `ttl` − `max_hops`: RFC 5881 §5's 255 for
    // single hop by default, but keepalived's IPv6 default is 64): judged below for a known
    // session, in userspace for the others.
    // RFC 5881 §4 / RFC 5883 §5: the source port is in 49152..=65535.
    if src_port < SOURCE_PORT_MIN {
        return Err(XdpReason::BfdBadSourcePort);
    }
    let control = window::<CONTROL_LEN>(ctx, packet.udp_offset + UDP_HEADER_LEN)?;
    // RFC 5880 §6.8.6, in its order.
    if control[0] >> VERSION_SHIFT != BFD_VERSION {
        return Err(XdpReason::BfdBadVersion);
    }
    let length = usize::from(control[OFF_LENGTH]);
    if length < CONTROL_LEN || length > udp_len - UDP_HEADER_LEN {
        return Err(XdpReason::BfdBadLength);
    }
    if control[OFF_DETECT_MULT] == 0 {
        return Err(XdpReason::BfdBadDetectMult);
    }
    let flags = control[OFF_STATE_FLAGS];
    if flags & FLAG_MULTIPOINT != 0 {
        return Err(XdpReason::BfdMultipoint);
    }
    if ne32(control, OFF_MY_DISCRIMINATOR) == 0 {
        return Err(XdpReason::BfdBadDiscriminator);
    }
    let your = u32::from_be(ne32(control, OFF_YOUR_DISCRIMINATOR));
    let state = flags >> STATE_SHIFT;
    if your == 0 && (state == STATE_INIT || state == STATE_UP) {
        return Err(XdpReason::BfdBadDiscriminator);
    }
    // kad, as keepalived, has no BFD authentication: a packet with the A bit is for none of
    // its sessions (RFC 5880 §6.8.6: "bfd.AuthType is zero, discard").
    if flags & FLAG_AUTH != 0 {
        return Err(XdpReason::BfdAuthentication);
    }
    if your == 0 {
        return Ok(XdpReason::BfdNoSession);
    }
    let Some(session) = KAD_BFD_SESSIONS.get_ptr_mut(your) else {
        return Ok(XdpReason::BfdNoSession);
    };
    // SAFETY: a value of the session map, alive for this run (RCU); userspace replaces whole
    // elements (never in place), XDP on other CPUs may race on the counters (a lost count).
    unsafe {
        from_peer(ctx, packet, multihop, &*session)?;
        Ok(record(control, flags, session))
    }
}

/// Whether a packet that names `session` came from its peer, on its interface, in its hop
/// mode, with at least its least TTL.
#[inline(always)]
fn from_peer(
    ctx: &XdpContext,
    packet: &BfdPacket,
    multihop: bool,
    session: &BfdSession,
) -> Result<(), XdpReason> {
    // SAFETY: `peer` sits at offset 0 of a map value (asserted in kad-common): 8-aligned.
    let peer = unsafe { Addr::from_map_field(&session.peer) };
    if session.family != packet.family
        || peer != packet.src
        || (session.flags & BFD_FLAG_MULTIHOP != 0) != multihop
        || (session.ifindex != 0 && session.ifindex != ctx.ingress_ifindex() as u32)
    {
        return Err(XdpReason::BfdNotPeer);
    }
    if packet.ttl < session.min_ttl {
        return Err(XdpReason::BfdBadTtl);
    }
    Ok(())
}

/// Refreshes the session's arrival time and count, starts its timer when armed and idle, and
/// records the packet when it differs from the last one (or carries Poll/Final).
///
/// # Safety
///
/// `session` points to a live value of `KAD_BFD_SESSIONS`.
#[inline(always)]
unsafe fn record(control: &[u8; CONTROL_LEN], flags: u8, session: *mut BfdSession) -> XdpReason {
    let words = [ne64(control, 0), ne64(control, 8), ne64(control, 16)];
    // SAFETY: the caller's promise; `last_control` is 8-aligned (asserted in kad-common).
    unsafe {
        let last = (*session).last_control.as_mut_ptr().cast::<u64>();
        let now = bpf_ktime_get_ns();
        (*session).last_ns = now;
        (*session).packets += 1;
        if (*session).flags & BFD_FLAG_ARMED != 0
            && (*session).expired == 0
            && (*session).timer_running == 0
        {
            start_timer(session);
        }
        let same = core::ptr::read(last) == words[0]
            && core::ptr::read(last.add(1)) == words[1]
            && core::ptr::read(last.add(2)) == words[2];
        if same && flags & (FLAG_POLL | FLAG_FINAL) == 0 {
            return XdpReason::BfdRecorded;
        }
        core::ptr::write(last, words[0]);
        core::ptr::write(last.add(1), words[1]);
        core::ptr::write(last.add(2), words[2]);
        (*session).sequence += 1;
    }
    XdpReason::BfdChanged
}

/// Starts `session`'s detection timer for its detect time (initialising it first: a
/// fresh element's timer is not, and `bpf_timer_init` of an initialised one only fails).
///
/// # Safety
///
/// `session` points to a live value of `KAD_BFD_SESSIONS`.
#[inline(always)]
unsafe fn start_timer(session: *mut BfdSession) {
    // SAFETY: the caller's promise; the timer field is the kernel's `struct bpf_timer`
    // (same size and alignment, same BTF name), inside a value of the map passed.
    unsafe {
        let timer = core::ptr::addr_of_mut!((*session).timer).cast::<bpf_timer>();
        let map = core::ptr::addr_of!(KAD_BFD_SESSIONS)
            .cast_mut()
            .cast::<c_void>();
        let _ = bpf_timer_init(timer, map, CLOCK_MONOTONIC);
        if bpf_timer_set_callback(timer, bfd_expire as *mut c_void) == 0
            && bpf_timer_start(timer, (*session).detect_ns, 0) == 0
        {
            (*session).timer_running = 1;
        }
    }
}

/// The timer callback: the session's detect time passed since the timer was (re)started.
/// If a packet came since, the deadline moved: start again for what is left of it.
/// Otherwise the session is down: mark it expired and post one `EVENT_BFD_EXPIRED` record.
#[inline(never)]
extern "C" fn bfd_expire(_map: *mut c_void, key: *mut u32, session: *mut BfdSession) -> i64 {
    // SAFETY: the kernel calls this with the element (key and value) that holds the timer,
    // alive for the call.
    unsafe {
        let timer = core::ptr::addr_of_mut!((*session).timer).cast::<bpf_timer>();
        if (*session).flags & BFD_FLAG_ARMED == 0 || (*session).expired != 0 {
            (*session).timer_running = 0;
            return 0;
        }
        let now = bpf_ktime_get_ns();
        let deadline = (*session).last_ns + (*session).detect_ns;
        if now < deadline {
            let _ = bpf_timer_start(timer, deadline - now, 0);
            return 0;
        }
        let Some(mut entry) = KAD_VRRP_EVENTS.reserve::<BfdEvent>(0) else {
            let _ = bpf_timer_start(timer, RING_FULL_RETRY_NS, 0);
            return 0;
        };
        (*session).expired = 1;
        (*session).expired_ns = now;
        (*session).timer_running = 0;
        entry.write(BfdEvent {
            pad0: [0; 2],
            kind: EVENT_BFD_EXPIRED,
            discriminator: *key,
            at_ns: now,
            last_ns: (*session).last_ns,
            detect_ns: (*session).detect_ns,
            packets: (*session).packets,
        });
        entry.submit(0);
    }
    0
}
