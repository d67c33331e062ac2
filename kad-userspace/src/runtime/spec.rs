//! What the runtime runs: each instance's core settings plus what only IO needs (interface,
//! the full form of each virtual address, route and rule, authentication, unicast peers,
//! notify scripts), the sync groups binding instances, the tracked objects they watch, and
//! the static addresses, routes and rules that stay whatever the VRRP state.

use std::net::{IpAddr, Ipv4Addr};

use crate::{
    exec::scripts::ScriptCommand,
    net::{addr::InterfaceAddress, route::IpRoute, rule::IpRule},
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
    pub notify_fifos: Vec<crate::exec::fifo::FifoSpec>,
    /// `static_ipaddress`, `static_routes`, `static_rules`.
    pub statics: StaticSpec,
    /// Where `smtp_alert` mails go (`None`: no `smtp_server` or no `notification_email`).
    pub smtp: Option<crate::exec::smtp::SmtpSpec>,
    /// global `fifo_write_vrrp_states_on_reload`: a reload writes the state of every group
    /// and instance that kept running to the notify FIFOs.
    pub fifo_states_on_reload: bool,
    /// global `vrrp_startup_delay`: at start (not on reload), no instance becomes Master
    /// before this delay plus its Master_Down_Interval.
    pub startup_delay: std::time::Duration,
    /// global `dynamic_interfaces`: interfaces missing at start that instances wait for;
    /// when one comes up, kad reloads its configuration (as on SIGHUP) to start them.
    pub waiting_interfaces: Vec<String>,
    /// keepalived.conf `bfd_instance`: the interfaces the sessions' packets arrive on (the
    /// XDP program is attached there too, so that it receives them).
    pub bfd_interfaces: Vec<String>,
}

/// keepalived.conf `static_ipaddress`, `static_routes`, `static_rules`: "NOT moved by
/// vrrpd, they stay on the machine" (keepalived.conf(5)). Installed once at start and kept
/// whatever any instance's state; a reload removes those no longer configured and adds the
/// new ones; they are removed when kad stops, as keepalived's `stop_vrrp` clears its static
/// entries at exit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaticSpec {
    /// `static_ipaddress`.
    pub addresses: Vec<InterfaceAddress>,
    /// `static_routes`.
    pub routes: Vec<IpRoute>,
    /// `static_rules`.
    pub rules: Vec<IpRule>,
    /// `static_ipaddress` entries with `no_track`: not restored when deleted.
    pub untracked_addresses: Vec<IpAddr>,
}

impl StaticSpec {
    /// Whether nothing static is configured.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }

    /// The entries of `self` that `other` does not have (what a reload removes; keepalived:
    /// `clear_diff_saddresses`, `clear_diff_sroutes`, `clear_diff_srules`).
    pub fn without(&self, other: &StaticSpec) -> StaticSpec {
        fn missing<T: Clone + PartialEq>(mine: &[T], theirs: &[T]) -> Vec<T> {
            mine.iter()
                .filter(|entry| !theirs.contains(entry))
                .cloned()
                .collect()
        }
        StaticSpec {
            addresses: missing(&self.addresses, &other.addresses),
            routes: missing(&self.routes, &other.routes),
            rules: missing(&self.rules, &other.rules),
            untracked_addresses: Vec::new(),
        }
    }
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
    /// The multicast group adverts go to and the socket joins: `mcast_dst_ip`, else global
    /// `vrrp_mcast_group4` / `vrrp_mcast_group6` (default 224.0.0.18 / ff02::12, RFC 5798
    /// §5.1.1.2 / §5.1.2.2).
    pub multicast_group: IpAddr,
    /// `unicast_ttl` (default 255): the IPv4 TTL / IPv6 hop limit of adverts sent to
    /// `unicast_peers` (multicast adverts always carry 255, RFC 5798 §5.1.1.3).
    pub unicast_ttl: u8,
    /// `kernel_rx_buf_size` (0 or absent: none): this instance's share of its receive
    /// socket's `SO_RCVBUF` (keepalived sums the sizes of a socket's instances).
    pub kernel_rx_buf_size: u64,
    /// global `log_unknown_vrids`: adverts for a VRID no instance has on this instance's
    /// interface are logged (XDP: through the interface marker's flag).
    pub log_unknown_vrids: bool,
    /// `track_src_ip` with a configured source (`mcast_src_ip` / `unicast_src_ip`; keepalived
    /// drops it otherwise): FAULT while that address is not on the interface.
    pub track_src_ip: bool,
    /// global `vrrp_v3_checksum_as_v2`.
    pub checksum: ChecksumMode,
    /// `old_unicast_checksum [never]`, and whether detection switched the instance to it.
    pub old_checksum: OldChecksum,
    /// global `vrrp_mcast_group4`: the destination the old VRRPv3 checksum sums.
    pub checksum_group: Ipv4Addr,
    /// `notify_*` scripts.
    pub notify: NotifySpec,
    /// `use_vmac`: the macvlan kad created for this instance (removed when kad stops).
    pub vmac: Option<String>,
    /// `use_vmac_addr`: the VMACs kad made for virtual addresses on other interfaces
    /// (removed when kad stops).
    pub address_vmacs: Vec<String>,
    /// Where adverts for the instance arrive from the wire: `interface` itself, or the
    /// VMAC's parent (the XDP program is attached here).
    pub receive_interface: String,
    /// keepalived.conf `strict_mode` / global `vrrp_strict`.
    pub strict: bool,
    /// The advert source is the interface's primary address (no `mcast_src_ip` /
    /// `unicast_src_ip`), so it follows that address when it is removed.
    pub primary_auto: bool,
    /// Which unicast adverts are accepted (`check_unicast_src`, `min_ttl`/`max_ttl`).
    pub unicast_rx: UnicastRx,
    /// `dont_track_primary`: the instance's interface going down does not put it in FAULT.
    pub dont_track_primary: bool,
    /// `promote_secondaries` (not with `use_vmac`, as keepalived): the interface's
    /// `promote_secondaries` sysctl is set while kad runs.
    pub promote_secondaries: bool,
    /// `garp_extra_if ... all` / `vrrp_garp_extra_if ... all`: the periodic messages go on
    /// every other interface holding a virtual address, not only on VMACs kad made.
    pub garp_extra_all: bool,
    /// Minimum gaps between gratuitous ARPs / NAs on the instance's interface.
    pub garp_spacing: GarpSpacing,
    /// `virtual_routes`: installed after the addresses on becoming Master, removed before
    /// them on leaving it.
    pub routes: Vec<IpRoute>,
    /// `virtual_rules`: installed after the routes, removed before them.
    pub rules: Vec<IpRule>,
    /// kad extension `bfd_master NAME`: the bfd_instance whose session runs to the Master;
    /// its going down is [`crate::vrrp::fsm::Event::MasterPeerDown`] for this instance.
    pub bfd_master: Option<String>,
}

impl InstanceSpec {
    /// The VRRPv3 checksum the instance sends and accepts: keepalived's old form
    /// (`old_unicast_checksum`, or detected) for VRRPv3 over IPv4, else [`Self::checksum`].
    pub fn checksum_mode(&self) -> ChecksumMode {
        if self.old_checksum == OldChecksum::Use && self.v3_ipv4() {
            ChecksumMode::OldUnicast(self.checksum_group)
        } else {
            self.checksum
        }
    }

    /// keepalived's checksum auto-detection (no `old_unicast_checksum`): a VRRPv3 IPv4
    /// unicast instance tries an advert that fails the RFC checksum in the old form.
    pub fn detects_old_checksum(&self) -> bool {
        self.old_checksum == OldChecksum::Detect
            && !self.unicast_peers.is_empty()
            && self.v3_ipv4()
            && self.checksum == ChecksumMode::PseudoHeader
    }

    fn v3_ipv4(&self) -> bool {
        self.fsm.version == crate::vrrp::packet::Version::V3 && self.multicast_group.is_ipv4()
    }

    /// Points everything resolved to interface index `old` (virtual addresses, virtual
    /// routes and their next hops) at `new`: the interface was deleted and re-created.
    pub fn renumber_interface(&mut self, old: u32, new: u32) {
        let swap = |index: &mut u32| {
            if *index == old {
                *index = new;
            }
        };
        for address in &mut self.addresses {
            swap(&mut address.ifindex);
        }
        for route in &mut self.routes {
            if let Some(index) = route.ifindex.as_mut() {
                swap(index);
            }
            for hop in &mut route.nexthops {
                if let Some(index) = hop.ifindex.as_mut() {
                    swap(index);
                }
            }
        }
    }
}

/// keepalived.conf `garp_group { garp_interval, gna_interval }` for the interface, else
/// global `vrrp_garp_interval` / `vrrp_gna_interval` (default 0: back to back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GarpSpacing {
    /// Between gratuitous ARPs.
    pub arp: std::time::Duration,
    /// Between unsolicited neighbour advertisements.
    pub na: std::time::Duration,
}

/// keepalived.conf `old_unicast_checksum [never]`: keepalived before 2.2.0 summed the
/// VRRPv3-over-IPv4 pseudo-header with the multicast group as destination, even for adverts
/// to a unicast peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OldChecksum {
    /// No keyword: the RFC 5798 form; a unicast instance receiving an advert in the old form
    /// switches to the old form for good, sending and receiving (keepalived's detection).
    #[default]
    Detect,
    /// `old_unicast_checksum never`: the RFC 5798 form only, no detection.
    Never,
    /// `old_unicast_checksum`, or switched by detection: the old form only.
    Use,
}

/// keepalived.conf receive rules for a unicast instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnicastRx {
    /// `check_unicast_src` / global `vrrp_check_unicast_src` (implied by a TTL range):
    /// adverts from an address that is not a `unicast_peer` are dropped.
    pub check_source: bool,
    /// `unicast_peer { ADDR min_ttl N max_ttl M }`: the TTL / hop-limit range accepted from
    /// that peer (a bound not given is 0 or 255). Peers without a range are not TTL-checked,
    /// as keepalived does for unicast.
    pub ttl_ranges: Vec<(IpAddr, u8, u8)>,
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
    /// `notify_deleted`: set, an instance removed by a reload notifies DELETED (and runs
    /// `deleted`) instead of FAULT.
    pub notify_deleted: bool,
    /// The script of `notify_deleted SCRIPT`.
    pub deleted: Option<ScriptCommand>,
    /// `notify_master_rx_lower_pri`: run (with its own arguments only) when the Master
    /// receives an advert of lower priority.
    pub master_rx_lower_pri: Option<ScriptCommand>,
    /// `notify`: called with `INSTANCE|GROUP NAME STATE PRIORITY` on every change.
    pub any: Option<ScriptCommand>,
    /// `smtp_alert` (own, else global `smtp_alert_vrrp`, else global `smtp_alert`): state
    /// changes are mailed to `notification_email`.
    pub smtp_alert: bool,
    /// global `no_email_faults`: entering FAULT is not mailed.
    pub no_email_faults: bool,
}

impl NotifySpec {
    /// Whether entering `kind` is mailed: `smtp_alert` is on, and the change is not to
    /// FAULT under `no_email_faults` (keepalived's vrrp_smtp_notifier).
    pub fn mails(&self, kind: crate::vrrp::fsm::NotifyKind) -> bool {
        self.smtp_alert && !(self.no_email_faults && kind == crate::vrrp::fsm::NotifyKind::Fault)
    }
}

#[cfg(test)]
mod tests {
    use super::NotifySpec;
    use crate::vrrp::fsm::NotifyKind;

    #[test]
    fn no_email_faults_mails_every_change_but_fault() {
        let mut notify = NotifySpec {
            smtp_alert: true,
            ..NotifySpec::default()
        };
        assert!(notify.mails(NotifyKind::Fault));
        notify.no_email_faults = true;
        assert!(!notify.mails(NotifyKind::Fault));
        for kind in [NotifyKind::Master, NotifyKind::Backup, NotifyKind::Stop] {
            assert!(notify.mails(kind), "{kind:?}");
        }
        notify.smtp_alert = false;
        assert!(!notify.mails(NotifyKind::Master));
    }
}
