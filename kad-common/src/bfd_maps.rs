//! The map through which kad's daemon and its XDP program share BFD sessions (RFC 5880).
//!
//! ```text
//! userspace ──KAD_BFD_SESSIONS[local discriminator] = BfdSession (expectations, detect time, armed)──▶ XDP
//! XDP ──KAD_BFD_SESSIONS[..] (last arrival, the peer's last control packet, counts)──▶ userspace
//! XDP (bpf_timer) ──KAD_VRRP_EVENTS: BfdEvent (EVENT_BFD_EXPIRED), once per arming──▶ userspace
//! ```
//!
//! # What XDP does with a control packet
//!
//! UDP to port 3784 (single hop) or 4784 (multihop) over IPv4 or IPv6 is checked without any
//! configuration (RFC 5880 §6.8.6, RFC 5881 §4–§5): lengths, version, detect mult, the M and
//! A bits, My Discriminator, Your Discriminator 0 outside Down/AdminDown, source port, and for
//! single hop TTL / hop limit 255. A failure is counted under its `XdpReason::Bfd*` and
//! dropped. A valid packet whose Your Discriminator is 0 or names no entry here goes to the
//! socket (`BfdNoSession`: session bring-up is userspace's). For an entry, the packet must come
//! from its peer (address, interface, hop mode, multihop least TTL; else `BfdNotPeer`); then
//! `last_ns` and `packets` are refreshed and the packet is compared with `last_control`: the
//! same bytes without Poll or Final are dropped (`BfdRecorded`: the steady state never reaches
//! userspace); anything else is recorded (`sequence` + 1) and passed (`BfdChanged`), so the
//! socket — the same code as `--no-xdp` — sees every change. A packet that would pass is
//! still dropped as `VipNoAccept` when addressed to a non-accepting VIP (as before BFD was
//! recognised; the steady path, dropped anyway, pays no VIP lookup).
//!
//! # Detection in the kernel
//!
//! While [`BFD_FLAG_ARMED`] is set, the first packet starts the entry's `bpf_timer` for
//! `detect_ns`. When it fires it compares the deadline `last_ns + detect_ns` with the clock:
//! packets came meanwhile → it re-starts itself for the rest of the time; none → it sets
//! `expired`, posts one [`BfdEvent`] and stops. So a steady packet costs no timer helper call
//! (one timer expiry per detect time instead), and the down is declared at the deadline
//! itself. An expired entry stays so until userspace writes the entry again (which resets the
//! XDP fields and the timer: the kernel frees the old element's timer on update).
//!
//! Every type is `#[repr(C)]`, padded explicitly and made of plain integers and byte arrays.

/// Name of the session hash map (a BTF map: its value holds a `bpf_timer`): local
/// discriminator (`u32`, kad's My Discriminator, the peer's Your Discriminator) →
/// [`BfdSession`].
pub const BFD_SESSIONS_MAP: &str = "KAD_BFD_SESSIONS";
/// Most sessions in [`BFD_SESSIONS_MAP`].
pub const MAX_BFD_SESSIONS: u32 = 1024;

/// [`BfdSession::flags`]: the session is multihop (RFC 5883, port 4784); without it, single
/// hop (RFC 5881, port 3784). A packet on the other port is not this session's (`BfdNotPeer`).
pub const BFD_FLAG_MULTIHOP: u8 = 1 << 0;
/// [`BfdSession::flags`]: detection runs in the kernel: the timer declares the session down
/// after `detect_ns` without a packet. Userspace sets it once the session is Up.
pub const BFD_FLAG_ARMED: u8 = 1 << 1;

/// [`BfdEvent::kind`]: the detect time passed without a packet (RFC 5880 §6.8.4). A bit
/// that no `VrrpEvent` kind uses, at the same offset as `VrrpEvent::kind`, so one ring buffer
/// carries both.
pub const EVENT_BFD_EXPIRED: u32 = 1 << 16;

/// `struct bpf_timer` of the kernel's UAPI: opaque, 16 bytes, 8-aligned. The kernel finds the
/// timer of a map value by this exact BTF type name, hence the C spelling.
#[allow(non_camel_case_types)]
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct bpf_timer {
    /// Owned by the kernel; userspace writes zeros (the kernel ignores them on update).
    pub opaque: [u64; 2],
}

/// One BFD session as XDP sees it. The first part is userspace's, written whole by
/// userspace (which zeroes the rest); the second is XDP's.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdSession {
    // --- written by userspace ---
    /// The peer's address (IP source of its packets); IPv4 in the first 4 bytes.
    pub peer: [u8; 16],
    /// Interface the packets must arrive on (`ingress_ifindex`); 0: any (multihop).
    pub ifindex: u32,
    /// `FAMILY_V4` or `FAMILY_V6` of `kad_common::xdp_maps`.
    pub family: u8,
    /// [`BFD_FLAG_MULTIHOP`], [`BFD_FLAG_ARMED`].
    pub flags: u8,
    /// The least TTL / hop limit accepted (keepalived: `ttl` − `max_hops`, so 255 for a
    /// single-hop session with the defaults, RFC 5881 §5); 0: any (`max_hops 255`).
    pub min_ttl: u8,
    /// Zero.
    pub pad0: u8,
    /// Detection time in ns (RFC 5880 §6.8.4: the peer's Detect Mult × the agreed interval).
    pub detect_ns: u64,
    // --- written by XDP ---
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) of the last valid packet from the peer.
    pub last_ns: u64,
    /// Valid packets from the peer since userspace wrote the entry.
    pub packets: u64,
    /// Changes recorded (packets passed as `BfdChanged`).
    pub sequence: u64,
    /// The peer's last recorded control packet (RFC 5880 §4.1 mandatory section, wire
    /// order); all zeros before the first. Read with the accessors.
    pub last_control: [u8; 24],
    /// 1 once the timer declared the session down; stays until userspace rewrites the entry.
    pub expired: u8,
    /// 1 while the timer is started (XDP's own bookkeeping).
    pub timer_running: u8,
    /// Zero.
    pub pad1: [u8; 6],
    /// `bpf_ktime_get_ns()` when the timer declared the session down.
    pub expired_ns: u64,
    /// The detection timer (kernel-owned).
    pub timer: bpf_timer,
}

impl BfdSession {
    /// The last packet's RFC 5880 §4.1 Sta (`STATE_*` of `bfd_wire`).
    pub fn peer_state(&self) -> u8 {
        self.last_control[crate::bfd_wire::OFF_STATE_FLAGS] >> crate::bfd_wire::STATE_SHIFT
    }
    /// The last packet's Diag.
    pub fn peer_diag(&self) -> u8 {
        self.last_control[crate::bfd_wire::OFF_VERS_DIAG] & crate::bfd_wire::DIAG_MASK
    }
    /// The last packet's P F C A D M bits (`FLAG_*` of `bfd_wire`).
    pub fn peer_flags(&self) -> u8 {
        self.last_control[crate::bfd_wire::OFF_STATE_FLAGS] & 0x3f
    }
    /// The last packet's Detect Mult.
    pub fn peer_detect_mult(&self) -> u8 {
        self.last_control[crate::bfd_wire::OFF_DETECT_MULT]
    }
    /// The last packet's My Discriminator (the peer's own).
    pub fn peer_discriminator(&self) -> u32 {
        self.word(crate::bfd_wire::OFF_MY_DISCRIMINATOR)
    }
    /// The last packet's Your Discriminator.
    pub fn peer_your_discriminator(&self) -> u32 {
        self.word(crate::bfd_wire::OFF_YOUR_DISCRIMINATOR)
    }
    /// The last packet's Desired Min TX Interval (µs).
    pub fn peer_desired_min_tx_us(&self) -> u32 {
        self.word(crate::bfd_wire::OFF_DESIRED_MIN_TX)
    }
    /// The last packet's Required Min RX Interval (µs).
    pub fn peer_required_min_rx_us(&self) -> u32 {
        self.word(crate::bfd_wire::OFF_REQUIRED_MIN_RX)
    }

    fn word(&self, at: usize) -> u32 {
        let b = &self.last_control;
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
}

/// The ring-buffer record (on `KAD_VRRP_EVENTS`) of an expired session: as long as a
/// `VrrpEvent`, with `kind` at the same offset, so readers tell them apart by `kind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdEvent {
    /// Zero (where a `VrrpEvent` has its key).
    pub pad0: [u32; 2],
    /// [`EVENT_BFD_EXPIRED`].
    pub kind: u32,
    /// The session's local discriminator (its key in [`BFD_SESSIONS_MAP`]).
    pub discriminator: u32,
    /// `bpf_ktime_get_ns()` when the timer fired.
    pub at_ns: u64,
    /// The last packet's arrival (`last_ns`; 0 if none came since arming).
    pub last_ns: u64,
    /// The detect time the session was armed with.
    pub detect_ns: u64,
    /// Packets seen since userspace wrote the entry.
    pub packets: u64,
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), integers and byte arrays with explicit padding: every bit pattern valid.
    unsafe impl aya::Pod for super::BfdSession {}
    // SAFETY: repr(C), integers with explicit padding: every bit pattern valid.
    unsafe impl aya::Pod for super::BfdEvent {}
}

// XDP reads `peer` and `last_control` as aligned u64 words; the timer must be 8-aligned.
const _: () = assert!(core::mem::offset_of!(BfdSession, peer) % 8 == 0);
const _: () = assert!(core::mem::offset_of!(BfdSession, last_control) % 8 == 0);
const _: () = assert!(core::mem::offset_of!(BfdSession, timer) % 8 == 0);
const _: () =
    assert!(core::mem::size_of::<BfdEvent>() == core::mem::size_of::<crate::xdp_maps::VrrpEvent>());
const _: () = assert!(
    core::mem::offset_of!(BfdEvent, kind)
        == core::mem::offset_of!(crate::xdp_maps::VrrpEvent, kind)
);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn sizes_have_no_implicit_padding() {
        assert_eq!(size_of::<bpf_timer>(), 16);
        assert_eq!(
            size_of::<BfdSession>(),
            16 + 8 + 8 + 8 + 8 + 8 + 24 + 8 + 8 + 16
        );
        assert_eq!(size_of::<BfdEvent>(), 48);
    }

    #[test]
    fn accessors_read_the_wire_fields() {
        let session = BfdSession {
            last_control: [
                0x20 | 3,
                0xc0 | 0x20,
                3,
                24,
                0,
                0,
                0,
                7,
                0,
                0,
                0,
                9,
                0,
                0,
                0x27,
                0x10,
                0,
                0,
                0x03,
                0xe8,
                0,
                0,
                0,
                0,
            ],
            ..BfdSession::default()
        };
        assert_eq!(session.peer_state(), crate::bfd_wire::STATE_UP);
        assert_eq!(session.peer_diag(), 3);
        assert_eq!(session.peer_flags(), crate::bfd_wire::FLAG_POLL);
        assert_eq!(session.peer_detect_mult(), 3);
        assert_eq!(session.peer_discriminator(), 7);
        assert_eq!(session.peer_your_discriminator(), 9);
        assert_eq!(session.peer_desired_min_tx_us(), 10_000);
        assert_eq!(session.peer_required_min_rx_us(), 1_000);
    }
}
