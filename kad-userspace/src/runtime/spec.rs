//! What the runtime runs: each instance's core settings plus what only IO needs (interface,
//! the full form of each virtual address, authentication, unicast peers, notify scripts).

use std::net::IpAddr;

use crate::{
    net::addr::InterfaceAddress,
    track::TrackerSource,
    vrrp::{
        fsm::InstanceConfig,
        packet::{AuthConfig, ChecksumMode},
    },
};

/// Every instance kad runs.
#[derive(Clone, Debug, Default)]
pub struct RuntimeSpec {
    /// `vrrp_instance` blocks, in configuration order.
    pub instances: Vec<InstanceSpec>,
    /// Tracked objects; an instance's `TrackedObject::id` is an index into this list.
    pub trackers: Vec<TrackerSource>,
}

/// One `vrrp_instance` as the runtime needs it.
#[derive(Clone, Debug)]
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
}

/// keepalived.conf `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySpec {
    /// `notify_master`.
    pub master: Option<String>,
    /// `notify_backup`.
    pub backup: Option<String>,
    /// `notify_fault`.
    pub fault: Option<String>,
    /// `notify_stop`.
    pub stop: Option<String>,
    /// `notify`: called with `INSTANCE|GROUP NAME STATE PRIORITY` on every change.
    pub any: Option<String>,
}
