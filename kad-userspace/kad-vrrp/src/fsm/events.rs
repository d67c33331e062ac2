//! What the runtime feeds the state machine.

use std::net::IpAddr;

use super::{
    config::Version,
    priority::{TrackerId, TrackerStatus},
};

/// The fields of a received, already validated advertisement (checksum, TTL 255,
/// authentication and length are the decoder's and runtime's job: a packet that fails them
/// never becomes an event, so it can never touch a timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert {
    /// Source address of the IP packet (the sender's primary address).
    pub source: IpAddr,
    /// Version field.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0: the Master is leaving).
    pub priority: u8,
    /// Advert interval in centiseconds. VRRPv2 carries seconds: the runtime multiplies by
    /// 100. 0 is invalid and is discarded.
    pub interval_cs: u16,
}

/// One input to [`Instance::handle`](super::Instance::handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// RFC 5798 §6.4.1 Startup: leave Initialize.
    Startup,
    /// RFC 5798 §6.4.2/§6.4.3 Shutdown (a Master sends priority 0).
    Shutdown,
    /// Shutdown for a planned stop (kad extension): a Master sends priority 0 at once but
    /// keeps its virtual addresses until another router's advert (priority > 0) shows the
    /// new Master, or one advert interval and a quarter passed (longer than any Backup's
    /// Skew_Time, RFC 5798 §6.1) — so clients never see the gap between the two. Then as
    /// [`Event::Shutdown`]. A later `Shutdown` releases at once.
    GracefulShutdown,
    /// A received advertisement for this instance's interface and family.
    Advert(Advert),
    /// The time returned by `next_deadline()` has come (spurious calls are harmless).
    Timeout,
    /// The instance's own interface went up or down (down → FAULT).
    Interface {
        /// Link state.
        up: bool,
    },
    /// A tracked object changed (script result, tracked interface, file value, process).
    Tracker {
        /// Which object.
        id: TrackerId,
        /// Its new status.
        status: TrackerStatus,
    },
    /// The configured base priority changed (reload).
    SetPriority(u8),
    /// The interface's primary address changed (the old one was removed and the instance
    /// has no `mcast_src_ip`/`unicast_src_ip`): adverts go out from this one from now on and
    /// break priority ties with it (RFC 5798 §6.4.3). No state change.
    PrimaryAddress(IpAddr),
    /// kad extension `bfd_master` (keepalived.conf has no such keyword): the BFD session to
    /// `peer` went down. A Backup whose current Master (the source of the last advert it
    /// accepted) is `peer` acts at once as on Master_Down_Timer expiry (RFC 5798 §6.4.2);
    /// in any other state, or for another peer, nothing happens. A false down makes two
    /// Masters at most until the real Master's next advert (§6.4.3: the higher priority wins).
    MasterPeerDown {
        /// The session's neighbour address.
        peer: IpAddr,
    },
    /// keepalived.conf `track_src_ip`: the configured source address (`mcast_src_ip` /
    /// `unicast_src_ip`) was removed from (`present: false`: → FAULT) or added back to the
    /// interface.
    SourceAddress {
        /// Whether the address is on the interface.
        present: bool,
    },
}
