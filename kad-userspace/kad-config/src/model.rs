//! The typed configuration: one type per keepalived.conf block, defaults as
//! keepalived.conf(5) documents them, every set keyword's place in `places`.

use std::{collections::BTreeMap, net::IpAddr, time::Duration};

use serde::Serialize;

use super::{
    place::{Place, Places},
    route_options::{RouteOptions, RuleOptions},
};

/// The whole resolved configuration (keepalived.conf top level).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    /// keepalived.conf: global_defs.
    pub global: GlobalDefs,
    /// keepalived.conf: static_ipaddress.
    pub static_ipaddress: Vec<VirtualAddress>,
    /// keepalived.conf: static_routes.
    pub static_routes: Vec<Route>,
    /// keepalived.conf: static_rules.
    pub static_rules: Vec<Rule>,
    /// keepalived.conf: linkbeat_interfaces.
    pub linkbeat_interfaces: Vec<String>,
    /// keepalived.conf: interface_up_down_delays (its entries' words).
    pub interface_up_down_delays: Vec<String>,
    /// keepalived.conf: track_group (static track groups).
    pub track_groups: Vec<TrackGroup>,
    /// keepalived.conf: vrrp_script.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// keepalived.conf: track_file (and the older vrrp_track_file).
    pub track_files: Vec<TrackFile>,
    /// keepalived.conf: vrrp_track_process.
    pub track_processes: Vec<TrackProcess>,
    /// keepalived.conf: vrrp_sync_group.
    pub sync_groups: Vec<SyncGroup>,
    /// keepalived.conf: garp_group.
    pub garp_groups: Vec<GarpGroup>,
    /// keepalived.conf: vrrp_instance.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// keepalived.conf: bfd_instance.
    pub bfd_instances: Vec<BfdInstance>,
    /// keepalived.conf: SSL.
    pub ssl: Option<SslConfig>,
    /// keepalived.conf: virtual_server_group.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// keepalived.conf: virtual_server.
    pub virtual_servers: Vec<VirtualServer>,
}

/// A script to run, with the user/group to run it as (keepalived.conf "SCRIPTS").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Script {
    /// The command line (path and arguments, as one string).
    pub command: String,
    /// keepalived.conf: `username` after the script.
    pub user: Option<String>,
    /// keepalived.conf: `groupname` after the user.
    pub group: Option<String>,
    /// Where the script is named.
    pub place: Place,
}

/// keepalived.conf: global_defs.
#[derive(Clone, Debug, Serialize)]
pub struct GlobalDefs {
    /// keepalived.conf: router_id (default: the host name).
    pub router_id: Option<String>,
    /// keepalived.conf: notification_email.
    pub notification_email: Vec<String>,
    /// keepalived.conf: notification_email_from.
    pub notification_email_from: Option<String>,
    /// keepalived.conf: smtp_server HOST [PORT] (an address or a host name; port default 25).
    pub smtp_server: Option<(String, u16)>,
    /// keepalived.conf: smtp_helo_name.
    pub smtp_helo_name: Option<String>,
    /// keepalived.conf: smtp_connect_timeout (default 30 s).
    #[serde(serialize_with = "secs")]
    pub smtp_connect_timeout: Duration,
    /// keepalived.conf: smtp_alert.
    pub smtp_alert: Option<bool>,
    /// keepalived.conf: smtp_alert_vrrp.
    pub smtp_alert_vrrp: Option<bool>,
    /// keepalived.conf: smtp_alert_checker.
    pub smtp_alert_checker: Option<bool>,
    /// keepalived.conf: vrrp_mcast_group4 (default 224.0.0.18).
    pub vrrp_mcast_group4: IpAddr,
    /// keepalived.conf: vrrp_mcast_group6 (default ff02::12).
    pub vrrp_mcast_group6: IpAddr,
    /// keepalived.conf: default_interface.
    pub default_interface: Option<String>,
    /// keepalived.conf: vrrp_garp_master_delay (default 5 s).
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_master_delay: Duration,
    /// keepalived.conf: vrrp_garp_master_repeat (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// keepalived.conf: vrrp_garp_lower_prio_delay (default vrrp_garp_master_delay).
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_lower_prio_delay: Duration,
    /// keepalived.conf: vrrp_garp_lower_prio_repeat (default vrrp_garp_master_repeat).
    pub vrrp_garp_lower_prio_repeat: u32,
    /// keepalived.conf: vrrp_garp_master_refresh (default 0: no refresh).
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_master_refresh: Duration,
    /// keepalived.conf: vrrp_garp_master_refresh_repeat (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// keepalived.conf: vrrp_garp_interval (default 0).
    #[serde(serialize_with = "secs")]
    pub vrrp_garp_interval: Duration,
    /// keepalived.conf: vrrp_gna_interval (default 0).
    #[serde(serialize_with = "secs")]
    pub vrrp_gna_interval: Duration,
    /// keepalived.conf: vrrp_min_garp.
    pub vrrp_min_garp: bool,
    /// keepalived.conf: vrrp_garp_extra_if [all] SECS.
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// keepalived.conf: vrrp_down_timer_adverts (default 3).
    pub vrrp_down_timer_adverts: u32,
    /// keepalived.conf: vrrp_lower_prio_no_advert.
    pub vrrp_lower_prio_no_advert: Option<bool>,
    /// keepalived.conf: vrrp_higher_prio_send_advert.
    pub vrrp_higher_prio_send_advert: Option<bool>,
    /// keepalived.conf: vrrp_version (default 2).
    pub vrrp_version: u8,
    /// keepalived.conf: vrrp_strict.
    pub vrrp_strict: bool,
    /// keepalived.conf: vrrp_check_unicast_src.
    pub vrrp_check_unicast_src: bool,
    /// keepalived.conf: vrrp_skip_check_adv_addr.
    pub vrrp_skip_check_adv_addr: bool,
    /// keepalived.conf: vrrp_notify_priority_changes.
    pub vrrp_notify_priority_changes: Option<bool>,
    /// keepalived.conf: vrrp_startup_delay (default 0).
    #[serde(serialize_with = "secs")]
    pub vrrp_startup_delay: Duration,
    /// keepalived.conf: enable_script_security.
    pub enable_script_security: bool,
    /// keepalived.conf: script_user USER [GROUP].
    pub script_user: Option<(String, Option<String>)>,
    /// kad: vrrp_track_process_fork_delay, the default `fork_delay` of vrrp_track_process
    /// blocks (keepalived 2.2.7 does not know this keyword).
    #[serde(serialize_with = "opt_secs")]
    pub vrrp_track_process_fork_delay: Option<Duration>,
    /// kad: vrrp_track_process_terminate_delay, the default `terminate_delay` of
    /// vrrp_track_process blocks (keepalived 2.2.7 does not know this keyword).
    #[serde(serialize_with = "opt_secs")]
    pub vrrp_track_process_terminate_delay: Option<Duration>,
    /// keepalived.conf: dynamic_interfaces [allow_if_changes].
    pub dynamic_interfaces: Option<bool>,
    /// keepalived.conf: lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP].
    pub lvs_sync_daemon: Option<Vec<String>>,
    /// keepalived.conf: startup_script SCRIPT [USER [GROUP]], run once before anything
    /// starts (not at reload).
    pub startup_script: Option<Script>,
    /// keepalived.conf: startup_script_timeout (1..=1000 s, default 10 s).
    #[serde(serialize_with = "secs")]
    pub startup_script_timeout: Duration,
    /// keepalived.conf: shutdown_script SCRIPT [USER [GROUP]], run once after everything
    /// stopped.
    pub shutdown_script: Option<Script>,
    /// keepalived.conf: shutdown_script_timeout (1..=1000 s, default 10 s).
    #[serde(serialize_with = "secs")]
    pub shutdown_script_timeout: Duration,
    /// keepalived.conf: notify_fifo / vrrp_notify_fifo / lvs_notify_fifo and their scripts.
    pub fifos: BTreeMap<String, Script>,
    /// keepalived.conf: umask (octal/decimal/hex number or `IWGRP|IWOTH...`); `None`: kad's
    /// default, [`crate::global::DEFAULT_UMASK`].
    pub umask: Option<u32>,
    /// Every other global_defs keyword, checked against its table row and kept as words.
    pub other: BTreeMap<String, Vec<String>>,
    /// Where each keyword was set.
    pub places: Places,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            umask: None,
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            default_interface: None,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_lower_prio_delay: Duration::from_secs(5),
            vrrp_garp_lower_prio_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: None,
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_notify_priority_changes: None,
            vrrp_startup_delay: Duration::ZERO,
            enable_script_security: false,
            script_user: None,
            vrrp_track_process_fork_delay: None,
            vrrp_track_process_terminate_delay: None,
            dynamic_interfaces: None,
            lvs_sync_daemon: None,
            startup_script: None,
            startup_script_timeout: Duration::from_secs(10),
            shutdown_script: None,
            shutdown_script_timeout: Duration::from_secs(10),
            fifos: BTreeMap::new(),
            other: BTreeMap::new(),
            places: Places::new(),
        }
    }
}

/// keepalived.conf: (vrrp_)garp_extra_if [all] SECS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GarpExtraIf {
    /// Refresh interval (0 disables).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// `all`: every interface of the instance, not only VMACs.
    pub all: bool,
}

/// An address in `ip addr` syntax (keepalived.conf: virtual_ipaddress, static_ipaddress).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// `/prefix` (default 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// keepalived.conf: brd.
    pub broadcast: Option<IpAddr>,
    /// keepalived.conf: dev (default: the instance's interface).
    pub dev: Option<String>,
    /// keepalived.conf: scope (default global).
    pub scope: Option<String>,
    /// keepalived.conf: label.
    pub label: Option<String>,
    /// keepalived.conf: peer.
    pub peer: Option<(IpAddr, u8)>,
    /// keepalived.conf: use_vmac (address on the VMAC interface).
    pub use_vmac: bool,
    /// keepalived.conf: home (IPv6).
    pub home: bool,
    /// keepalived.conf: -nodad (IPv6).
    pub nodad: bool,
    /// keepalived.conf: mngtmpaddr.
    pub mngtmpaddr: bool,
    /// keepalived.conf: noprefixroute.
    pub noprefixroute: bool,
    /// keepalived.conf: autojoin.
    pub autojoin: bool,
    /// keepalived.conf: no_track.
    pub no_track: bool,
    /// keepalived.conf: track_group GROUP (static entries only): the group's instances
    /// track the entry's interface (`dev` / `iif`).
    pub track_group: Option<String>,
    /// keepalived.conf: preferred_lft nn|forever (None: forever).
    pub preferred_lft: Option<u32>,
    /// Where the address is written.
    pub place: Place,
}

/// A route in `ip route` syntax (keepalived.conf: virtual_routes, static_routes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Route type when not unicast: blackhole, unreachable, prohibit, throw, local...
    pub route_type: Option<String>,
    /// Destination and prefix length.
    pub dest: (IpAddr, u8),
    /// keepalived.conf: src.
    pub src: Option<IpAddr>,
    /// keepalived.conf: via / gw (more than one with the deprecated `or`).
    pub via: Vec<IpAddr>,
    /// keepalived.conf: dev.
    pub dev: Option<String>,
    /// keepalived.conf: table.
    pub table: Option<String>,
    /// keepalived.conf: metric / preference / priority.
    pub metric: Option<u32>,
    /// keepalived.conf: scope.
    pub scope: Option<String>,
    /// keepalived.conf: no_track.
    pub no_track: bool,
    /// keepalived.conf: track_group GROUP (static entries only): the group's instances
    /// track the entry's interface (`dev` / `iif`).
    pub track_group: Option<String>,
    /// The other `ip route` options.
    pub options: RouteOptions,
    /// Where the route is written.
    pub place: Place,
}

/// A rule in `ip rule` syntax (keepalived.conf: virtual_rules, static_rules).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// keepalived.conf: from PREFIX.
    pub from: Option<(IpAddr, u8)>,
    /// keepalived.conf: to PREFIX.
    pub to: Option<(IpAddr, u8)>,
    /// keepalived.conf: table / lookup.
    pub table: Option<String>,
    /// keepalived.conf: preference / priority / order (keepalived invents one when absent).
    pub preference: Option<u32>,
    /// keepalived.conf: no_track.
    pub no_track: bool,
    /// keepalived.conf: track_group GROUP (static entries only): the group's instances
    /// track the entry's interface (`dev` / `iif`).
    pub track_group: Option<String>,
    /// The other `ip rule` options.
    pub options: RuleOptions,
    /// Where the rule is written.
    pub place: Place,
}

/// A reference from an instance or sync group to something tracked, with its weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    /// Interface, script, file, process or BFD name.
    pub name: String,
    /// keepalived.conf: weight N (None: the tracked item's own default).
    pub weight: Option<i32>,
    /// keepalived.conf: reverse.
    pub reverse: bool,
    /// Where the reference is written.
    pub place: Place,
}

/// keepalived.conf: vrrp_script.
#[derive(Clone, Debug, Serialize)]
pub struct VrrpScript {
    /// The script's name.
    pub name: String,
    /// keepalived.conf: script (required).
    pub script: Option<Script>,
    /// keepalived.conf: interval (default 1 s).
    #[serde(serialize_with = "secs")]
    pub interval: Duration,
    /// keepalived.conf: timeout (default: interval).
    #[serde(serialize_with = "opt_secs")]
    pub timeout: Option<Duration>,
    /// keepalived.conf: weight -253..253 (default 0) [reverse].
    pub weight: i32,
    /// keepalived.conf: weight ... reverse.
    pub weight_reverse: bool,
    /// keepalived.conf: rise (default 1).
    pub rise: u32,
    /// keepalived.conf: fall (default 1).
    pub fall: u32,
    /// keepalived.conf: user USER [GROUP].
    pub user: Option<(String, Option<String>)>,
    /// keepalived.conf: init_fail.
    pub init_fail: bool,
    /// The block's place.
    pub place: Place,
    /// Where the block ends.
    pub end: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: track_file.
#[derive(Clone, Debug, Serialize)]
pub struct TrackFile {
    /// The name.
    pub name: String,
    /// keepalived.conf: file PATH.
    pub file: Option<String>,
    /// keepalived.conf: weight (default 1) [reverse].
    pub weight: i32,
    /// keepalived.conf: weight ... reverse.
    pub reverse: bool,
    /// keepalived.conf: init_file [VALUE] [overwrite].
    pub init_file: Option<(i64, bool)>,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: vrrp_track_process.
#[derive(Clone, Debug, Serialize)]
pub struct TrackProcess {
    /// The name.
    pub name: String,
    /// keepalived.conf: process NAME [ARGS].
    pub process: Option<Vec<String>>,
    /// keepalived.conf: param_match [initial|partial] (`exact` when written alone; default
    /// none, or exact when `process` has parameters).
    pub param_match: Option<String>,
    /// keepalived.conf: weight (default 1) [reverse].
    pub weight: i32,
    /// keepalived.conf: weight ... reverse.
    pub reverse: bool,
    /// keepalived.conf: quorum (default 1).
    pub quorum: u32,
    /// keepalived.conf: quorum_max.
    pub quorum_max: Option<u32>,
    /// keepalived.conf: fork_delay.
    #[serde(serialize_with = "opt_secs")]
    pub fork_delay: Option<Duration>,
    /// keepalived.conf: terminate_delay.
    #[serde(serialize_with = "opt_secs")]
    pub terminate_delay: Option<Duration>,
    /// keepalived.conf: delay (both of the above).
    #[serde(serialize_with = "opt_secs")]
    pub delay: Option<Duration>,
    /// keepalived.conf: full_command.
    pub full_command: bool,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: track_group (static track group).
#[derive(Clone, Debug, Serialize)]
pub struct TrackGroup {
    /// The name.
    pub name: String,
    /// keepalived.conf: group { INSTANCE... }.
    pub group: Vec<String>,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// The notify scripts shared by instances and sync groups.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Notify {
    /// keepalived.conf: notify_master.
    pub master: Option<Script>,
    /// keepalived.conf: notify_backup.
    pub backup: Option<Script>,
    /// keepalived.conf: notify_fault.
    pub fault: Option<Script>,
    /// keepalived.conf: notify_stop.
    pub stop: Option<Script>,
    /// keepalived.conf: notify_deleted (Some(None): flag without script).
    pub deleted: Option<Option<Script>>,
    /// keepalived.conf: notify.
    pub any: Option<Script>,
    /// keepalived.conf: notify_master_rx_lower_pri.
    pub master_rx_lower_pri: Option<Script>,
}

impl Notify {
    /// Every script configured.
    pub fn scripts(&self) -> impl Iterator<Item = &Script> {
        [
            self.master.as_ref(),
            self.backup.as_ref(),
            self.fault.as_ref(),
            self.stop.as_ref(),
            self.deleted.as_ref().and_then(Option::as_ref),
            self.any.as_ref(),
            self.master_rx_lower_pri.as_ref(),
        ]
        .into_iter()
        .flatten()
    }
}

/// The tracking lists shared by instances and sync groups.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tracking {
    /// keepalived.conf: track_interface.
    pub interfaces: Vec<TrackRef>,
    /// keepalived.conf: track_script.
    pub scripts: Vec<TrackRef>,
    /// keepalived.conf: track_file.
    pub files: Vec<TrackRef>,
    /// keepalived.conf: track_process.
    pub processes: Vec<TrackRef>,
    /// keepalived.conf: track_bfd.
    pub bfds: Vec<TrackRef>,
}

/// keepalived.conf: vrrp_sync_group.
#[derive(Clone, Debug, Serialize)]
pub struct SyncGroup {
    /// The name.
    pub name: String,
    /// keepalived.conf: group { INSTANCE... }.
    pub group: Vec<(String, Place)>,
    /// keepalived.conf: track_* blocks.
    pub tracking: Tracking,
    /// keepalived.conf: notify_* scripts.
    pub notify: Notify,
    /// keepalived.conf: notify_priority_changes.
    pub notify_priority_changes: Option<bool>,
    /// keepalived.conf: smtp_alert.
    pub smtp_alert: Option<bool>,
    /// keepalived.conf: global_tracking (deprecated).
    pub global_tracking: bool,
    /// keepalived.conf: sync_group_tracking_weight.
    pub sync_group_tracking_weight: bool,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: garp_group.
#[derive(Clone, Debug, Serialize)]
pub struct GarpGroup {
    /// keepalived.conf: garp_interval.
    #[serde(serialize_with = "opt_secs")]
    pub garp_interval: Option<Duration>,
    /// keepalived.conf: gna_interval.
    #[serde(serialize_with = "opt_secs")]
    pub gna_interval: Option<Duration>,
    /// keepalived.conf: interface.
    pub interface: Option<String>,
    /// keepalived.conf: interfaces { ... }.
    pub interfaces: Vec<String>,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: vrrp_instance state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum InitialState {
    /// MASTER.
    Master,
    /// BACKUP (the default).
    Backup,
}

/// keepalived.conf: authentication auth_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AuthType {
    /// PASS: simple password.
    Pass,
    /// AH: IPSEC AH.
    Ah,
}

/// keepalived.conf: authentication { auth_type, auth_pass }.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Authentication {
    /// keepalived.conf: auth_type.
    pub auth_type: Option<AuthType>,
    /// keepalived.conf: auth_pass (only the first 8 characters are used).
    pub auth_pass: Option<String>,
    /// The block's place.
    pub place: Place,
}

/// keepalived.conf: use_vmac [NAME] [MAC].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vmac {
    /// Interface name (default vrrp.VRID).
    pub name: Option<String>,
    /// MAC address (5 octets: the VRID is the sixth).
    pub mac: Option<String>,
}

/// keepalived.conf: unicast_peer entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    /// The peer address.
    pub addr: IpAddr,
    /// keepalived.conf: min_ttl.
    pub min_ttl: Option<u8>,
    /// keepalived.conf: max_ttl.
    pub max_ttl: Option<u8>,
    /// Where the peer is written.
    pub place: Place,
}

/// keepalived.conf: vrrp_instance.
#[derive(Clone, Debug, Serialize)]
pub struct VrrpInstance {
    /// The instance name.
    pub name: String,
    /// keepalived.conf: state MASTER|BACKUP (default BACKUP).
    pub state: InitialState,
    /// keepalived.conf: interface.
    pub interface: Option<String>,
    /// keepalived.conf: vrf.
    pub vrf: Option<String>,
    /// keepalived.conf: use_vmac [NAME] [MAC].
    pub use_vmac: Option<Vmac>,
    /// keepalived.conf: use_vmac_addr.
    pub use_vmac_addr: bool,
    /// keepalived.conf: vmac_xmit_base.
    pub vmac_xmit_base: bool,
    /// keepalived.conf: use_ipvlan [NAME] [IP] [bridge|private|vepa], as words.
    pub use_ipvlan: Option<Vec<String>>,
    /// keepalived.conf: native_ipv6.
    pub native_ipv6: bool,
    /// The address family (true: IPv6) fixed by the first of `virtual_ipaddress`,
    /// `unicast_peer`, `unicast_src_ip`, `mcast_dst_ip` and `native_ipv6` in the block, as
    /// keepalived fixes it while reading; None when none of them gave an address.
    pub family_ipv6: Option<bool>,
    /// keepalived.conf: dont_track_primary.
    pub dont_track_primary: bool,
    /// keepalived.conf: track_interface, track_script, track_file, track_process, track_bfd.
    pub tracking: Tracking,
    /// kad extension `bfd_master NAME`: the bfd_instance whose session runs to the Master;
    /// its going down is taken as Master_Down_Timer expiry while Backup.
    pub bfd_master: Option<String>,
    /// keepalived.conf: mcast_src_ip.
    pub mcast_src_ip: Option<IpAddr>,
    /// keepalived.conf: unicast_src_ip.
    pub unicast_src_ip: Option<IpAddr>,
    /// keepalived.conf: mcast_dst_ip (default: global vrrp_mcast_group4/6).
    pub mcast_dst_ip: Option<IpAddr>,
    /// keepalived.conf: track_src_ip.
    pub track_src_ip: bool,
    /// keepalived.conf: version 2|3 (default: global vrrp_version; IPv6 forces 3).
    pub version: u8,
    /// keepalived.conf: check_unicast_src.
    pub check_unicast_src: bool,
    /// keepalived.conf: unicast_peer { ... }.
    pub unicast_peers: Vec<UnicastPeer>,
    /// keepalived.conf: unicast_fault_no_peer.
    pub unicast_fault_no_peer: bool,
    /// keepalived.conf: unicast_ttl (default 255).
    pub unicast_ttl: u8,
    /// keepalived.conf: old_unicast_checksum [never] (Some(true): never).
    pub old_unicast_checksum: Option<bool>,
    /// keepalived.conf: garp_master_delay (default: global vrrp_garp_master_delay).
    #[serde(serialize_with = "secs")]
    pub garp_master_delay: Duration,
    /// keepalived.conf: garp_master_repeat (default: global vrrp_garp_master_repeat).
    pub garp_master_repeat: u32,
    /// keepalived.conf: garp_lower_prio_delay (default: global).
    #[serde(serialize_with = "secs")]
    pub garp_lower_prio_delay: Duration,
    /// keepalived.conf: garp_lower_prio_repeat (default: global).
    pub garp_lower_prio_repeat: u32,
    /// keepalived.conf: garp_master_refresh (default: global, 0 = none).
    #[serde(serialize_with = "secs")]
    pub garp_master_refresh: Duration,
    /// keepalived.conf: garp_master_refresh_repeat (default: global, 1).
    pub garp_master_refresh_repeat: u32,
    /// keepalived.conf: garp_extra_if [all] SECS (default: global).
    pub garp_extra_if: Option<GarpExtraIf>,
    /// keepalived.conf: down_timer_adverts 1..100 (default: global, 3).
    pub down_timer_adverts: u32,
    /// keepalived.conf: lower_prio_no_advert (default: global, else strict_mode).
    pub lower_prio_no_advert: bool,
    /// keepalived.conf: higher_prio_send_advert (default: global, false).
    pub higher_prio_send_advert: bool,
    /// keepalived.conf: virtual_router_id 1..255 (required).
    pub virtual_router_id: Option<u8>,
    /// keepalived.conf: priority 1..255 (default 100).
    pub priority: u8,
    /// keepalived.conf: advert_int (default 1 s; 0.01..255; integer for VRRPv2).
    #[serde(serialize_with = "secs")]
    pub advert_int: Duration,
    /// keepalived.conf: authentication { ... }.
    pub authentication: Option<Authentication>,
    /// keepalived.conf: virtual_ipaddress.
    pub virtual_ipaddress: Vec<VirtualAddress>,
    /// keepalived.conf: virtual_ipaddress_excluded.
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    /// keepalived.conf: promote_secondaries.
    pub promote_secondaries: bool,
    /// keepalived.conf: virtual_routes.
    pub virtual_routes: Vec<Route>,
    /// keepalived.conf: virtual_rules.
    pub virtual_rules: Vec<Rule>,
    /// keepalived.conf: accept / no_accept (default accept, no_accept under strict mode).
    pub accept: bool,
    /// keepalived.conf: nopreempt / preempt (default preempt).
    pub preempt: bool,
    /// keepalived.conf: preempt_delay 0..1000 s (default 0).
    #[serde(serialize_with = "secs")]
    pub preempt_delay: Duration,
    /// keepalived.conf: skip_check_adv_addr (default: global vrrp_skip_check_adv_addr).
    pub skip_check_adv_addr: bool,
    /// keepalived.conf: strict_mode (default: global vrrp_strict).
    pub strict_mode: bool,
    /// keepalived.conf: debug 0..4.
    pub debug: u8,
    /// keepalived.conf: notify_* scripts.
    pub notify: Notify,
    /// keepalived.conf: notify_priority_changes (default: global).
    pub notify_priority_changes: Option<bool>,
    /// keepalived.conf: smtp_alert (default: global smtp_alert_vrrp/smtp_alert).
    pub smtp_alert: Option<bool>,
    /// keepalived.conf: kernel_rx_buf_size.
    pub kernel_rx_buf_size: Option<u64>,
    /// keepalived.conf: linkbeat_use_polling.
    pub linkbeat_use_polling: bool,
    /// keepalived.conf: lvs_sync_daemon_interface (deprecated).
    pub lvs_sync_daemon_interface: Option<String>,
    /// The block's place.
    pub place: Place,
    /// Where the block ends.
    pub end: Place,
    /// Where each keyword was set.
    pub places: Places,
}

impl VrrpInstance {
    /// An instance with every keepalived.conf(5) default, before global defaults apply.
    pub fn new(name: String, place: Place) -> Self {
        Self {
            name,
            state: InitialState::Backup,
            interface: None,
            vrf: None,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            use_ipvlan: None,
            native_ipv6: false,
            family_ipv6: None,
            dont_track_primary: false,
            bfd_master: None,
            tracking: Tracking::default(),
            mcast_src_ip: None,
            unicast_src_ip: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            version: 2,
            check_unicast_src: false,
            unicast_peers: Vec::new(),
            unicast_fault_no_peer: false,
            unicast_ttl: 255,
            old_unicast_checksum: None,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_lower_prio_delay: Duration::from_secs(5),
            garp_lower_prio_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_extra_if: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            virtual_router_id: None,
            priority: 100,
            advert_int: Duration::from_secs(1),
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            promote_secondaries: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            accept: true,
            preempt: true,
            preempt_delay: Duration::ZERO,
            skip_check_adv_addr: false,
            strict_mode: false,
            debug: 0,
            notify: Notify::default(),
            notify_priority_changes: None,
            smtp_alert: None,
            kernel_rx_buf_size: None,
            linkbeat_use_polling: false,
            lvs_sync_daemon_interface: None,
            end: place.clone(),
            place,
            places: Places::new(),
        }
    }

    /// The address family of the instance (IPv6 with `native_ipv6`, else
    /// [`VrrpInstance::family_ipv6`], else its first VIP's), None when nothing fixed it.
    pub fn is_ipv6(&self) -> Option<bool> {
        if self.native_ipv6 {
            return Some(true);
        }
        self.family_ipv6
            .or_else(|| self.virtual_ipaddress.first().map(|a| a.addr.is_ipv6()))
    }
}

/// keepalived.conf: bfd_instance (keepalived 2.2.7's limits and defaults).
#[derive(Clone, Debug, Serialize)]
pub struct BfdInstance {
    /// The name (at most 31 characters, unique).
    pub name: String,
    /// False when keepalived's BFD process drops the instance (no or malformed
    /// `neighbor_ip`, `source_ip` of the other family, or the neighbour/source pair of an
    /// instance above): no session runs, yet `track_bfd` and `BFD_CHECK` still find the
    /// name (keepalived's VRRP and checker processes read only names), so whatever tracks
    /// it sees it down.
    pub enabled: bool,
    /// keepalived.conf: neighbor_ip / neighbour_ip (required).
    pub neighbor_ip: Option<IpAddr>,
    /// keepalived.conf: source_ip (same family as `neighbor_ip`).
    pub source_ip: Option<IpAddr>,
    /// keepalived.conf: min_rx (ms with µs resolution, 1 ms..=4294967 ms; default 10 ms).
    #[serde(rename = "min_rx_us", serialize_with = "micros")]
    pub min_rx: Duration,
    /// keepalived.conf: min_tx (ms with µs resolution, 1 ms..=4294967 ms; default 10 ms).
    #[serde(rename = "min_tx_us", serialize_with = "micros")]
    pub min_tx: Duration,
    /// keepalived.conf: idle_tx (ms with µs resolution, 1000 ms..=4294967 ms; default
    /// 1000 ms).
    #[serde(rename = "idle_tx_us", serialize_with = "micros")]
    pub idle_tx: Duration,
    /// keepalived.conf: multiplier (1..=255, default 5).
    pub multiplier: u8,
    /// keepalived.conf: passive.
    pub passive: bool,
    /// keepalived.conf (2.4): multihop [BOOL]: RFC 5883, UDP port 4784 instead of 3784
    /// (a session apart from a single-hop one to the same neighbour). The received-TTL
    /// check stays `ttl` − `max_hops`: across routers, `max_hops` says how many.
    pub multihop: bool,
    /// keepalived.conf: ttl / hoplimit (1..=255): the outgoing TTL or hop limit; default
    /// 255 for an IPv4 neighbour, 64 for IPv6, 255 for a multihop session (kad).
    pub ttl: u8,
    /// keepalived.conf: max_hops (-1..=255, default 0): how far below `ttl` a received
    /// packet's TTL may be; 255 (also `-1`) turns the check off (multihop). Never above
    /// `ttl` (keepalived lowers it to `ttl` with an error).
    pub max_hops: u8,
    /// keepalived.conf: weight N (-253..=253, default 0): the default weight of the
    /// `track_bfd` entries naming this instance.
    pub weight: i32,
    /// keepalived.conf: weight N reverse: the default `reverse` of those entries.
    pub weight_reverse: bool,
    /// keepalived.conf: vrrp / checker: whether the VRRP side gets this session's events
    /// (`track_bfd` finds it). Both sides when neither keyword is given.
    pub vrrp: bool,
    /// keepalived.conf: vrrp / checker: whether the checker side gets this session's
    /// events (`BFD_CHECK` finds it). Both sides when neither keyword is given.
    pub checker: bool,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

impl BfdInstance {
    /// `max_hops 255` (or `-1`) turns off the received TTL check (keepalived 2.2.7's only
    /// multihop, on port 3784; with `multihop`, any number of hops on port 4784).
    pub fn ttl_check_disabled(&self) -> bool {
        self.max_hops == u8::MAX
    }

    /// The lowest TTL / hop limit a received packet may have (keepalived drops one with
    /// `max_hops + ttl_received < ttl`); None when the check is off.
    pub fn min_received_ttl(&self) -> Option<u8> {
        (!self.ttl_check_disabled()).then(|| self.ttl.saturating_sub(self.max_hops))
    }
}

/// Durations as microseconds (BFD intervals, `*_us` in the JSON dump).
fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_micros())
}

/// keepalived.conf: SSL { password, ca, certificate, key }.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SslConfig {
    /// keepalived.conf: password.
    pub password: Option<String>,
    /// keepalived.conf: ca.
    pub ca: Option<String>,
    /// keepalived.conf: certificate.
    pub certificate: Option<String>,
    /// keepalived.conf: key.
    pub key: Option<String>,
    /// Where each keyword was set.
    pub places: Places,
}

/// An entry of a virtual_server_group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum VsgEntry {
    /// `IP[-LAST] [PORT]`: an address or a range (last octet/hextet).
    Address {
        /// First address.
        addr: IpAddr,
        /// Last value of the final octet/hextet of a range.
        range_end: Option<u32>,
        /// Port.
        port: Option<u16>,
        /// Where written.
        place: Place,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// Family, when given.
        family: Option<String>,
        /// Where written.
        place: Place,
    },
}

/// keepalived.conf: virtual_server_group.
#[derive(Clone, Debug, Serialize)]
pub struct VirtualServerGroup {
    /// The name.
    pub name: String,
    /// The entries.
    pub entries: Vec<VsgEntry>,
    /// The block's place.
    pub place: Place,
}

/// What a virtual_server is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum VsAddress {
    /// keepalived.conf: virtual_server IP [PORT].
    Ip(IpAddr, Option<u16>),
    /// keepalived.conf: virtual_server fwmark N.
    Fwmark(u32),
    /// keepalived.conf: virtual_server group NAME.
    Group(String),
}

/// keepalived.conf: lb_kind / lvs_method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum LvsMethod {
    /// NAT.
    Nat,
    /// DR.
    Dr,
    /// TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum].
    Tun {
        /// Tunnel type (default ipip).
        tunnel: String,
        /// GUE port.
        port: Option<u16>,
        /// Checksum option.
        csum: Option<String>,
    },
}

/// keepalived.conf: virtual_server.
#[derive(Clone, Debug, Serialize)]
pub struct VirtualServer {
    /// The address, fwmark or group.
    pub address: VsAddress,
    /// keepalived.conf: lb_algo / lvs_sched (default wlc).
    pub lvs_sched: String,
    /// keepalived.conf: flag-1/2/3, sh-port, sh-fallback, mh-port, mh-fallback.
    pub sched_flags: Vec<String>,
    /// keepalived.conf: ops.
    pub ops: bool,
    /// keepalived.conf: lb_kind / lvs_method (default NAT).
    pub lvs_method: LvsMethod,
    /// keepalived.conf: persistence_engine.
    pub persistence_engine: Option<String>,
    /// keepalived.conf: persistence_timeout (default 360 s when given without value).
    pub persistence_timeout: Option<u32>,
    /// keepalived.conf: persistence_granularity.
    pub persistence_granularity: Option<String>,
    /// keepalived.conf: protocol TCP|UDP|SCTP (keepalived 2.2.7 defaults to UDP, with a warning).
    pub protocol: String,
    /// keepalived.conf: ha_suspend.
    pub ha_suspend: bool,
    /// keepalived.conf: smtp_alert.
    pub smtp_alert: Option<bool>,
    /// keepalived.conf: virtualhost.
    pub virtualhost: Option<String>,
    /// keepalived.conf: alpha.
    pub alpha: bool,
    /// keepalived.conf: omega.
    pub omega: bool,
    /// keepalived.conf: quorum (default 1).
    pub quorum: u32,
    /// keepalived.conf: hysteresis (default 0).
    pub hysteresis: u32,
    /// keepalived.conf: quorum_up.
    pub quorum_up: Option<Script>,
    /// keepalived.conf: quorum_down.
    pub quorum_down: Option<Script>,
    /// keepalived.conf: ip_family inet|inet6.
    pub ip_family: Option<String>,
    /// keepalived.conf: sorry_server IP [PORT].
    pub sorry_server: Option<(IpAddr, Option<u16>)>,
    /// keepalived.conf: sorry_server_inhibit.
    pub sorry_server_inhibit: bool,
    /// keepalived.conf: sorry_server_lvs_method.
    pub sorry_server_lvs_method: Option<LvsMethod>,
    /// keepalived.conf: connect_timeout (default 5 s).
    #[serde(serialize_with = "secs")]
    pub connect_timeout: Duration,
    /// keepalived.conf: retry.
    pub retry: Option<u32>,
    /// keepalived.conf: delay_before_retry.
    #[serde(serialize_with = "opt_secs")]
    pub delay_before_retry: Option<Duration>,
    /// keepalived.conf: warmup (default: delay_loop).
    #[serde(serialize_with = "opt_secs")]
    pub warmup: Option<Duration>,
    /// keepalived.conf: delay_loop (default 60 s).
    #[serde(serialize_with = "secs")]
    pub delay_loop: Duration,
    /// keepalived.conf: inhibit_on_failure.
    pub inhibit_on_failure: bool,
    /// keepalived.conf: snmp_name.
    pub snmp_name: Option<String>,
    /// keepalived.conf: real_server.
    pub real_servers: Vec<RealServer>,
    /// The block's place.
    pub place: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// keepalived.conf: real_server.
#[derive(Clone, Debug, Serialize)]
pub struct RealServer {
    /// The address.
    pub addr: IpAddr,
    /// The port (default: the virtual server's).
    pub port: Option<u16>,
    /// keepalived.conf: weight (default 1).
    pub weight: i32,
    /// keepalived.conf: lvs_method (default: the virtual server's).
    pub lvs_method: Option<LvsMethod>,
    /// keepalived.conf: notify_up.
    pub notify_up: Option<Script>,
    /// keepalived.conf: notify_down.
    pub notify_down: Option<Script>,
    /// keepalived.conf: uthreshold.
    pub uthreshold: Option<u32>,
    /// keepalived.conf: lthreshold.
    pub lthreshold: Option<u32>,
    /// keepalived.conf: smtp_alert.
    pub smtp_alert: Option<bool>,
    /// keepalived.conf: virtualhost.
    pub virtualhost: Option<String>,
    /// keepalived.conf: inhibit_on_failure.
    pub inhibit_on_failure: Option<bool>,
    /// keepalived.conf: connect_timeout, retry, delay_before_retry, warmup, delay_loop.
    pub timing: CheckTiming,
    /// keepalived.conf: snmp_name.
    pub snmp_name: Option<String>,
    /// The health checkers.
    pub checkers: Vec<Checker>,
    /// The block's place.
    pub place: Place,
    /// Where the block ends.
    pub end: Place,
    /// Where each keyword was set.
    pub places: Places,
}

/// Timing options common to real servers and checkers (None: inherited).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckTiming {
    /// keepalived.conf: connect_timeout.
    #[serde(serialize_with = "opt_secs")]
    pub connect_timeout: Option<Duration>,
    /// keepalived.conf: retry (nb_get_retry).
    pub retry: Option<u32>,
    /// keepalived.conf: delay_before_retry.
    #[serde(serialize_with = "opt_secs")]
    pub delay_before_retry: Option<Duration>,
    /// keepalived.conf: warmup.
    #[serde(serialize_with = "opt_secs")]
    pub warmup: Option<Duration>,
    /// keepalived.conf: delay_loop.
    #[serde(serialize_with = "opt_secs")]
    pub delay_loop: Option<Duration>,
}

/// keepalived.conf: url { path, digest, status_code, virtualhost, regex... } of HTTP_GET/SSL_GET.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Url {
    /// keepalived.conf: path.
    pub path: Option<String>,
    /// keepalived.conf: digest (MD5, 32 hex digits).
    pub digest: Option<String>,
    /// keepalived.conf: status_code (codes or ranges; default 200-299).
    pub status_code: Vec<(u16, u16)>,
    /// keepalived.conf: virtualhost.
    pub virtualhost: Option<String>,
    /// keepalived.conf: regex.
    pub regex: Option<String>,
    /// keepalived.conf: regex_no_match.
    pub regex_no_match: bool,
    /// Other url keywords (regex_options, regex_stack, regex_min_offset...).
    pub other: BTreeMap<String, Vec<String>>,
    /// Where written.
    pub place: Place,
}

/// One health checker of a real server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checker {
    /// keepalived.conf: TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK,
    /// UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK.
    pub kind: String,
    /// keepalived.conf: connect_ip.
    pub connect_ip: Option<IpAddr>,
    /// keepalived.conf: connect_port.
    pub connect_port: Option<u16>,
    /// keepalived.conf: bindto.
    pub bindto: Option<IpAddr>,
    /// keepalived.conf: bind_port.
    pub bind_port: Option<u16>,
    /// keepalived.conf: bind_if.
    pub bind_if: Option<String>,
    /// keepalived.conf: fwmark.
    pub fwmark: Option<u32>,
    /// keepalived.conf: timing keywords.
    pub timing: CheckTiming,
    /// keepalived.conf: url { } (HTTP_GET, SSL_GET).
    pub urls: Vec<Url>,
    /// keepalived.conf: misc_path (MISC_CHECK).
    pub misc_path: Option<Script>,
    /// keepalived.conf: misc_timeout (MISC_CHECK).
    #[serde(serialize_with = "opt_secs")]
    pub misc_timeout: Option<Duration>,
    /// keepalived.conf: misc_dynamic (MISC_CHECK).
    pub misc_dynamic: bool,
    /// keepalived.conf: log_all_failures `[<BOOL>]` (None: global checker_log_all_failures).
    pub log_all_failures: Option<bool>,
    /// keepalived.conf: alpha `[<BOOL>]` in a checker (None: the real server's).
    pub alpha: Option<bool>,
    /// keepalived.conf: name NAME (BFD_CHECK): the bfd_instance whose session state is
    /// this checker's result.
    pub bfd: Option<String>,
    /// Every other checker keyword (helo_name, type, name, payload, track_file...), as words.
    pub other: BTreeMap<String, Vec<String>>,
    /// Where each keyword of `other` is (the last one written).
    pub places: Places,
    /// Where the checker block is.
    pub place: Place,
    /// Where the checker block ends.
    pub end: Place,
}

impl Checker {
    /// A checker block `kind` written from `place` to `end`, with nothing set yet.
    pub fn new(kind: &str, place: &Place, end: &Place) -> Self {
        Checker {
            kind: kind.to_owned(),
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            timing: CheckTiming::default(),
            urls: Vec::new(),
            misc_path: None,
            misc_timeout: None,
            misc_dynamic: false,
            log_all_failures: None,
            alpha: None,
            bfd: None,
            other: Default::default(),
            places: Places::new(),
            place: place.clone(),
            end: end.clone(),
        }
    }
}

/// Durations as seconds (keepalived.conf `<TIMER>` values) in the JSON dump.
fn secs<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Optional durations as seconds in the JSON dump.
fn opt_secs<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}
