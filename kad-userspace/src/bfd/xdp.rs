//! The BFD thread's share of the XDP dataplane (issue 16, "Dataplane"): the session map
//! `KAD_BFD_SESSIONS` (contract in `kad_common::bfd_maps`), owned by the thread once the VRRP
//! runtime's `XdpPath` loaded the program and handed it over, and the interfaces the program
//! is attached to.
//!
//! - A session has an entry only while it is Up on an interface with the program: XDP then
//!   drops its steady packets (`BfdRecorded`) and its `bpf_timer` declares the session down
//!   (`EVENT_BFD_EXPIRED`, forwarded here as [`super::engine::Command::Expired`]); the
//!   session's own detection is off (`external_detection`). Outside Up there is no entry, so
//!   every packet reaches the socket as with `--no-xdp`: the handshake and the Init/Down
//!   detection need the peer's repeated packets, which an entry would keep in the kernel.
//! - Every write replaces the element, which frees its timer; the kernel starts a new one only
//!   at the next packet. So each write also sets a check in userspace one detect time later:
//!   if no packet came since the write (`packets == 0`), no timer runs and the thread declares
//!   the session down itself; otherwise the kernel's timer owns detection. If the socket read
//!   the session's packets meanwhile, XDP does not see them (the program is not on the link
//!   they arrive on): the session goes back to userspace detection, for good.
//! - The entry names no interface (`ifindex` 0, any): the interface is only the one kad
//!   attaches the program to (the link of the session's source address, else the neighbour's
//!   prefix), and a wrong guess must not make XDP drop the session's packets as not the
//!   peer's. The peer's address and, for single hop, GTSM's TTL 255 identify the packets.

use std::{collections::HashSet, net::IpAddr, time::Instant};

use aya::maps::MapData;

use crate::xdp::{BfdExpect, BfdSessions, XdpError};

/// The map and the interfaces, as the runtime's `XdpPath` hands them to the BFD thread.
pub struct BfdDataplane {
    /// `KAD_BFD_SESSIONS`, taken out of the loaded program.
    pub sessions: BfdSessions<MapData>,
    /// Indexes of the interfaces the program is attached to.
    pub attached: HashSet<u32>,
}

/// What was written for one session, and the check for a timer that never started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) expect: BfdExpect,
    /// When to look whether a packet came since the write (`None`: one did).
    pub(super) check_at: Option<Instant>,
    /// The session's socket count at the write.
    pub(super) socket_packets: u64,
}

/// What the check one detect time after a write found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// A packet came: the kernel's timer runs.
    TimerRuns,
    /// No packet since the write: the session is down (RFC 5880 §6.8.4).
    Silent,
    /// The entry is gone or unreadable: detection goes back to the session.
    Lost,
}

impl BfdDataplane {
    /// Writes `expect` for `discriminator`.
    pub(super) fn write(&mut self, discriminator: u32, expect: &BfdExpect) -> Result<(), XdpError> {
        self.sessions.insert(discriminator, expect)
    }

    /// Removes the entry of `discriminator`.
    pub(super) fn remove(&mut self, discriminator: u32) -> Result<(), XdpError> {
        self.sessions.remove(discriminator)
    }

    /// The check of [`Entry::check_at`].
    pub(super) fn check(&self, discriminator: u32) -> Check {
        match self.sessions.read(discriminator) {
            Ok(Some(entry)) if entry.packets > 0 || entry.expired != 0 => Check::TimerRuns,
            Ok(Some(_)) => Check::Silent,
            Ok(None) | Err(_) => Check::Lost,
        }
    }

    /// Whether an `EVENT_BFD_EXPIRED` for `discriminator` still holds: its entry is armed and
    /// expired (a write since then cleared `expired`: the event is stale).
    pub(super) fn expired(&self, discriminator: u32) -> bool {
        matches!(
            self.sessions.read(discriminator),
            Ok(Some(entry)) if entry.expired != 0
                && entry.flags & kad_common::bfd_maps::BFD_FLAG_ARMED != 0
        )
    }
}

/// The expectation for a session that is Up with detection time `detect`.
pub(super) fn expectation(spec: &super::SessionSpec, detect: std::time::Duration) -> BfdExpect {
    BfdExpect {
        peer: spec.neighbor,
        ifindex: 0,
        multihop: spec.multihop,
        min_ttl: spec.min_ttl(),
        detect,
        armed: true,
    }
}

/// The interface a session's packets arrive on (single hop: the neighbour's link).
pub(super) fn interface_of(neighbor: IpAddr, source: Option<IpAddr>) -> Option<u32> {
    crate::net::on_link::interface_of(neighbor, source).map(|(ifindex, _)| ifindex)
}
