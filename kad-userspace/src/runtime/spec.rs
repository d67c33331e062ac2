//! What the runtime runs: each instance's core settings plus what only IO needs (interface,
//! the full form of each virtual address, authentication, unicast peers, notify scripts),
//! the sync groups binding instances, and the tracked objects they watch.

use std::net::IpAddr;

use crate::{
    net::addr::InterfaceAddress,
    scripts::ScriptCommand,
    track::TrackerSource,
    vrrp::{
        fsm::{InstanceConfig, SyncGroupConfig},
        packet::{AuthConfig, ChecksumMode},
    },
};

/// Every instance kad runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimeSpec {
    /// `vrrp_instance` blocks, in configuration order.
    pub instances: Vec<InstanceSpec>,
    /// `vrrp_sync_group` blocks; an instance belongs to at most one.
    pub groups: Vec<GroupSpec>,
    /// Tracked objects; a `TrackedObject::id` is an index into this list.
    pub trackers: Vec<TrackerSource>,
    /// global `notify_fifo` / `vrrp_notify_fifo` (opened at start; a reload keeps them).
    pub notify_fifos: Vec<super::fifo::FifoSpec>,
}

/// One `vrrp_instance` as the runtime needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSpec {
    /// The state machine's settings (name, VRID, priority, timers, virtual addresses).
    pub fsm: InstanceConfig,
    /// keepalived.conf `interface`: where adverts are sent and received.
    pub interface: String,
    /// Every virtual address (`virtual_ipaddress` and `virtual_ipaddress_excluded`) with its
    /// `ip addr` attributes; the core names them by address.
    pub addresses: Vec<InterfaceAddress>,
    /// `authentication` (VRRPv2 only).
    pub auth: AuthConfig,
    /// `unicast_peer`: send adverts to these addresses instead of the multicast group.
    pub unicast_peers: Vec<IpAddr>,
    /// global `vrrp_v3_checksum_as_v2`.
    pub checksum: ChecksumMode,
    /// `notify_*` scripts.
    pub notify: NotifySpec,
    /// `use_vmac`: the macvlan kad created for this instance (removed when kad stops).
    pub vmac: Option<String>,
}

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    /// Name, tracking weight rule and the group's own tracked objects.
    pub config: SyncGroupConfig,
    /// Member instances, as indexes into [`RuntimeSpec::instances`].
    pub members: Vec<usize>,
    /// The group's `notify_*` scripts (called with `GROUP`).
    pub notify: NotifySpec,
}

/// keepalived.conf `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify`,
/// each with the user that runs it (the words after the script, `script_user`, default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySpec {
    /// `notify_master`.
    pub master: Option<ScriptCommand>,
    /// `notify_backup`.
    pub backup: Option<ScriptCommand>,
    /// `notify_fault`.
    pub fault: Option<ScriptCommand>,
    /// `notify_stop`.
    pub stop: Option<ScriptCommand>,
    /// `notify`: called with `INSTANCE|GROUP NAME STATE PRIORITY` on every change.
    pub any: Option<ScriptCommand>,
}
