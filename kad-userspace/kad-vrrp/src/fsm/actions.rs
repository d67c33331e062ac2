//! What the state machine asks the runtime to do, and the records it keeps for status.

use std::{net::IpAddr, sync::Arc};

use super::{
    config::{ItemRef, Version},
    timers::Centis,
};

/// RFC 5798 §6.4 states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or shut down.
    Initialize,
    /// Listening to a Master.
    Backup,
    /// Forwarding for the virtual addresses and advertising.
    Master,
    /// keepalived's FAULT: the interface or a tracked object is down.
    Fault,
}

/// The fields of an advertisement to send. The runtime encodes them with
/// `crate::packet` (adding checksum, TTL 255, auth data) and sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvertOut {
    /// Version field.
    pub version: Version,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority (0 when leaving Master).
    pub priority: u8,
    /// Advert interval (v2: the encoder writes whole seconds).
    pub interval: Centis,
    /// Source address (the instance's primary address).
    pub source: IpAddr,
    /// `virtual_ipaddress` carried in the packet.
    pub addresses: Arc<[IpAddr]>,
}

/// What a Master installs (or removes): keepalived.conf `virtual_ipaddress`,
/// `virtual_ipaddress_excluded`, `virtual_routes`, `virtual_rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualSet {
    /// Advertised virtual addresses.
    pub addresses: Arc<[IpAddr]>,
    /// Excluded virtual addresses.
    pub excluded: Arc<[IpAddr]>,
    /// Virtual routes.
    pub routes: Arc<[ItemRef]>,
    /// Virtual rules.
    pub rules: Arc<[ItemRef]>,
    /// RFC 5798 §6.1 Accept_Mode (keepalived `accept`/`no_accept`; always true for an
    /// address owner): false means the runtime must drop traffic to these addresses.
    pub accept: bool,
}

/// Why gratuitous ARPs / unsolicited NAs are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GarpReason {
    /// RFC 5798 §6.4.1/§6.4.2: just became Master (`garp_master_repeat`).
    BecameMaster,
    /// keepalived `garp_master_delay`: second burst.
    MasterDelay,
    /// keepalived `garp_master_refresh`.
    Refresh,
    /// keepalived `garp_lower_prio_repeat` (first burst or after `garp_lower_prio_delay`).
    LowerPriority,
    /// keepalived `garp_extra_if`: one message on each other interface holding a virtual
    /// address (the runtime picks the interfaces and one address on each).
    ExtraInterfaces,
}

/// Who a notify is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotifyTarget {
    /// `notify` argument "INSTANCE".
    Instance(Arc<str>),
    /// `notify` argument "GROUP" (a `vrrp_sync_group`).
    Group(Arc<str>),
}

/// What a notify reports (the state argument of keepalived's `notify` and FIFO lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    /// `notify_master` / "MASTER".
    Master,
    /// `notify_backup` / "BACKUP".
    Backup,
    /// `notify_fault` / "FAULT".
    Fault,
    /// `notify_stop` / "STOP".
    Stop,
    /// `notify_deleted` / "DELETED": the instance was removed by a reload (keepalived's
    /// clear_diff_vrrp; the runtime decides, the state machine never emits it).
    Deleted,
    /// `notify_master_rx_lower_pri` / "MASTER_RX_LOWER_PRI".
    MasterRxLowerPri,
    /// `notify_priority_changes` / "MASTER_PRIORITY" (`master`) or "BACKUP_PRIORITY": the
    /// effective priority changed while Master or Backup.
    Priority {
        /// Whether the instance is Master.
        master: bool,
    },
}

/// Why a state changed (kept for status output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup as address owner (RFC 5798 §6.4.1).
    Owner,
    /// Startup or fault cleared, non-owner.
    Startup,
    /// Master_Down_Timer fired.
    MasterDown,
    /// kad extension `bfd_master`: the BFD session to the Master went down, taken as
    /// Master_Down_Timer expiry ([`super::Event::MasterPeerDown`]).
    MasterPeerDown,
    /// Higher priority (or equal priority, higher address) advert seen as Master.
    Preempted,
    /// The interface or a tracked object went down.
    Fault,
    /// Fault condition cleared.
    FaultCleared,
    /// Shutdown requested.
    Shutdown,
    /// A sync group member moved the group.
    SyncGroup,
}

/// Why a received advert was ignored (for counters; never touches a timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// Not this instance's VRID.
    Vrid,
    /// Not this instance's version.
    Version,
    /// Interval 0, or (v2) not the configured interval (RFC 3768 §7.1).
    Interval,
    /// Our own advert looped back.
    Own,
    /// Lower priority than ours while preempting (RFC 5798 §6.4.2), or lower priority
    /// seen as Master (§6.4.3).
    LowerPriority,
    /// Not listening (Initialize or Fault).
    NotListening,
}

/// One thing for the runtime to do or record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send one advertisement.
    SendAdvert(AdvertOut),
    /// Install the virtual addresses, routes and rules (becoming Master).
    AddVirtuals(VirtualSet),
    /// Remove them (leaving Master).
    RemoveVirtuals(VirtualSet),
    /// Send `repeat` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each address,
    /// spaced by `garp_interval` / `gna_interval` (the runtime's business).
    SendGratuitous {
        /// Virtual addresses (advertised and excluded).
        addresses: Arc<[IpAddr]>,
        /// Messages per address.
        repeat: u32,
        /// Which schedule asked for it.
        reason: GarpReason,
    },
    /// Run notify scripts / write the notify FIFO.
    Notify {
        /// Instance or sync group.
        target: NotifyTarget,
        /// What happened.
        kind: NotifyKind,
        /// Effective priority at the time.
        priority: u8,
    },
    /// Record: the state changed.
    StateChanged {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// Record: the effective priority changed.
    PriorityChanged {
        /// Old value.
        from: u8,
        /// New value.
        to: u8,
    },
    /// Record: a received advert was ignored.
    Discarded(DiscardReason),
}
