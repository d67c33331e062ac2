//! Checks across blocks, global defaults applied to instances, and the checks against
//! this machine (interfaces, script files) that `keepalived -t` makes. Items keepalived
//! drops are dropped here too, with the diagnostic saying so.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use crate::{
    lvs_checks, script_users,
    scripts::{self, Checked, Refusal, ResolveError, RunAs, UserError},
    vrid_conflicts::VridUses,
};

use super::{
    error::{Diagnostic, Severity},
    model::{
        AuthType, Config, GlobalDefs, InitialState, LvsMethod, Notify, RealServer, Route, Script,
        TrackRef, Tracking, VirtualAddress, VirtualServer, VrrpInstance, VsAddress,
    },
    place::Place,
    vrrp::place_of,
};

/// What validation may ask of the machine it runs on (the checks `keepalived -t` makes
/// against the host). The daemon implements it for the running system.
pub trait Environment {
    /// Whether a network interface of that name exists.
    fn interface_exists(&self, name: &str) -> bool;
    /// Whether a script's program exists (absolute path, or found on PATH).
    fn program_exists(&self, program: &str) -> bool;
    /// keepalived.conf `script_user` / `user`: the ids to run scripts as. By default every
    /// user and group exists (root as 0:0, any other as 65534:65534).
    fn script_user(&self, user: &str, group: Option<&str>) -> Result<RunAs, UserError> {
        let id = |name: &str| if name == "root" { 0 } else { 65534 };
        Ok(RunAs {
            uid: id(user),
            gid: id(group.unwrap_or(user)),
        })
    }
    /// Whether `host` (global_defs `smtp_server`, not an IP address) resolves to an address
    /// for `port`: keepalived resolves it (getaddrinfo) while it parses. By default every
    /// name resolves.
    fn host_resolves(&self, _host: &str, _port: u16) -> bool {
        true
    }
    /// keepalived's script checks (the daemon's `scripts::check`) for `program` run as `run_as`. By
    /// default a script passes when [`Environment::program_exists`] says it exists, and
    /// is not counted as a script otherwise.
    fn check_script(
        &self,
        program: &str,
        _run_as: RunAs,
        _script_security: bool,
    ) -> Result<Option<Checked>, Refusal> {
        Ok(self.program_exists(program).then(|| Checked {
            program: program.into(),
            searched: false,
            insecure: None,
        }))
    }
}

/// No machine: every interface and program exists (pure parsing, tests, fuzzing).
#[derive(Clone, Copy, Debug, Default)]
pub struct AssumeAllExist;

impl Environment for AssumeAllExist {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
    fn program_exists(&self, _: &str) -> bool {
        true
    }
}

/// The outcome of validation beyond diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Scripts that would run as root are configured but enable_script_security is off.
    pub script_security_violation: bool,
    /// An interface named in the configuration does not exist on this machine.
    pub missing_interface: bool,
}

struct V<'a> {
    diags: &'a mut Vec<Diagnostic>,
    env: &'a dyn Environment,
    missing_interface: bool,
    skip_interfaces: bool,
    /// keepalived's "Unable to set default user keepalived_script" was said (it says it
    /// once, at the first script that needs that user).
    default_user_reported: bool,
}

impl V<'_> {
    fn at(&mut self, severity: Severity, place: &Place, message: String) {
        self.diags.push(Diagnostic::at(severity, place, message));
    }
    fn global(&mut self, severity: Severity, message: String) {
        self.diags.push(Diagnostic::global(severity, message));
    }
    /// A finding keepalived prints without a line (see [`Diagnostic::in_block`]).
    fn in_block(&mut self, severity: Severity, block: &str, place: &Place, message: String) {
        self.diags
            .push(Diagnostic::in_block(severity, block, place, message));
    }
    /// A finding of keepalived's `vrrp_complete_instance` about instance `inst`: no line.
    fn instance(&mut self, severity: Severity, inst: &VrrpInstance, message: String) {
        let block = format!("vrrp_instance {}", inst.name);
        self.in_block(severity, &block, &inst.place, message);
    }
    /// A finding of keepalived's `validate_check_config` about `vs`: no line.
    fn virtual_server(&mut self, severity: Severity, vs: &VirtualServer, message: String) {
        self.in_block(severity, "virtual_server", &vs.place, message);
    }
    fn interface_exists(&self, name: &str) -> bool {
        self.skip_interfaces || self.env.interface_exists(name)
    }
    fn check_if(&mut self, name: &str, place: &Place, what: &str) {
        if !self.interface_exists(name) {
            self.missing_interface = true;
            self.at(
                Severity::Warning,
                place,
                format!("WARNING - interface {name} for {what} doesn't exist"),
            );
        }
    }
    fn addresses(&mut self, addrs: &[VirtualAddress]) {
        for a in addrs {
            if let Some(dev) = &a.dev {
                self.check_if(dev, &a.place, &format!("ip address {}", a.addr));
            }
        }
    }
    fn routes(&mut self, routes: &[Route], tracked: bool) {
        for r in routes {
            match &r.dev {
                Some(dev) => self.check_if(dev, &r.place, "VROUTE nexthop"),
                None if tracked && !r.no_track => self.at(
                    Severity::Warning,
                    &r.place,
                    format!(
                        "Warning - cannot track route {}/{} with no interface specified, not tracking",
                        r.dest.0, r.dest.1
                    ),
                ),
                None => {}
            }
        }
    }
}

/// How keepalived names a virtual server in messages.
fn vs_name(address: &VsAddress) -> String {
    match address {
        VsAddress::Ip(ip, port) => format!("[{ip}]:{}", port.unwrap_or(0)),
        VsAddress::Fwmark(mark) => format!("FWM {mark}"),
        VsAddress::Group(g) => format!("group {g}"),
    }
}

/// Validates `config` in place; returns what the exit status needs beyond diagnostics.
///
/// Sections in keepalived's order (the order of the diagnostics): static addresses and
/// routes, trackers, vrrp_instances, vrrp_sync_groups, virtual_servers, then (unless an
/// interface is missing, where `keepalived -t` stops) scripts and script security.
pub fn validate(
    config: &mut Config,
    env: &dyn Environment,
    diags: &mut Vec<Diagnostic>,
) -> Verdict {
    let mut v = V {
        diags,
        env,
        missing_interface: false,
        // Interfaces of another network namespace cannot be seen from here.
        // keepalived: with dynamic_interfaces a missing interface is created on demand, not
        // reported.
        skip_interfaces: config.global.other.contains_key("net_namespace")
            || config.global.dynamic_interfaces.is_some(),
        default_user_reported: false,
    };
    smtp_server(config, &mut v);
    v.addresses(&config.static_ipaddress);
    v.routes(&config.static_routes, false);
    static_track_groups(config, &mut v);
    drop_incomplete_trackers(config, &mut v);
    // keepalived settles script users while parsing: a script removed here is unknown to
    // the instances read after it.
    v.default_user_reported |=
        script_users::drop_scripts_without_user(config, env, v.diags).default_user_reported;
    let known = Trackers::of(config);
    let (names, vrrp_stop) = vrrp_instances(config, &known, &mut v);
    if vrrp_stop != Some(VrrpStop::MinConfig) {
        sync_groups(config, &names, &known, &mut v);
    }
    // keepalived's VRRP process exits when it stops completing the instances: none runs.
    let stop_vrrp = |config: &mut Config| {
        if vrrp_stop.is_some() {
            config.vrrp_instances.clear();
            config.sync_groups.clear();
        }
    };
    virtual_servers(config, &mut v);

    // keepalived -t stops at a missing interface, before looking at scripts.
    if v.missing_interface {
        stop_vrrp(config);
        v.global(
            Severity::Warning,
            "Non-existent interface specified in configuration".to_owned(),
        );
        return Verdict {
            script_security_violation: false,
            missing_interface: true,
        };
    }

    // Scripts and script security (keepalived.conf(5) "SCRIPTS").
    let violation = check_scripts(config, &mut v);
    stop_vrrp(config);
    Verdict {
        script_security_violation: violation,
        missing_interface: false,
    }
}

/// global_defs `smtp_server HOST [PORT]`: a host name that does not resolve is "Invalid
/// smtp server HOST PORT" at its line and dropped (keepalived 2.2.7 resolves it while
/// parsing and then has no server: no alert is mailed).
fn smtp_server(config: &mut Config, v: &mut V<'_>) {
    let global = &mut config.global;
    let Some((host, port)) = &global.smtp_server else {
        return;
    };
    if host.parse::<std::net::IpAddr>().is_ok() || v.env.host_resolves(host, *port) {
        return;
    }
    let message = format!("Invalid smtp server {host} {port}");
    match global.places.get("smtp_server") {
        Some(place) => v.at(Severity::Error, &place.clone(), message),
        None => v.global(Severity::Error, message),
    }
    global.smtp_server = None;
}

/// keepalived.conf `track_group GROUP` on static addresses, routes and rules: a group
/// that no `track_group` block defines is "track_group GROUP not found" and the entry
/// tracks nothing (keepalived looks the group up as it reads the entry).
fn static_track_groups(config: &mut Config, v: &mut V<'_>) {
    let known: BTreeSet<String> = config.track_groups.iter().map(|g| g.name.clone()).collect();
    let mut check = |group: &mut Option<String>, place: &Place| {
        if let Some(name) = group.as_ref().filter(|name| !known.contains(*name)) {
            v.at(
                Severity::Error,
                place,
                format!("track_group {name} not found"),
            );
            *group = None;
        }
    };
    for address in &mut config.static_ipaddress {
        check(&mut address.track_group, &address.place);
    }
    for route in &mut config.static_routes {
        check(&mut route.track_group, &route.place);
    }
    for rule in &mut config.static_rules {
        check(&mut rule.track_group, &rule.place);
    }
}

/// vrrp_script, track_file, vrrp_track_process without their required keyword are removed.
fn drop_incomplete_trackers(config: &mut Config, v: &mut V<'_>) {
    config.vrrp_scripts.retain(|s| {
        if s.script.is_none() {
            v.at(
                Severity::Error,
                &s.end,
                format!("No script set for vrrp_script {} - removing", s.name),
            );
        }
        s.script.is_some()
    });
    config.track_files.retain(|t| t.file.is_some());
    config.track_processes.retain(|t| t.process.is_some());
}

/// The names of the configured trackers a `track_*` block may refer to.
struct Trackers {
    scripts: BTreeSet<String>,
    files: BTreeSet<String>,
    processes: BTreeSet<String>,
    bfds: BTreeSet<String>,
}

impl Trackers {
    fn of(config: &Config) -> Self {
        Trackers {
            scripts: config.vrrp_scripts.iter().map(|s| s.name.clone()).collect(),
            files: config.track_files.iter().map(|s| s.name.clone()).collect(),
            processes: config
                .track_processes
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            bfds: config
                .bfd_instances
                .iter()
                .map(|s| s.name.clone())
                .collect(),
        }
    }

    /// track_script, track_file, track_process, track_bfd of instance or sync group
    /// `owner`: references to trackers that are not configured are dropped.
    fn retain_known(&self, tracking: &mut Tracking, owner: &str, v: &mut V<'_>) {
        for (list, known, what) in [
            (&mut tracking.scripts, &self.scripts, "track script"),
            (&mut tracking.files, &self.files, "track file"),
            (&mut tracking.processes, &self.processes, "track process"),
            (&mut tracking.bfds, &self.bfds, "track bfd"),
        ] {
            list.retain(|t| {
                let ok = known.contains(&t.name);
                if !ok {
                    v.at(
                        Severity::Warning,
                        &t.place,
                        format!("({owner}) {what} {} not found, ignoring...", t.name),
                    );
                }
                ok
            });
            unique(list, owner, &what.replace(' ', "_"), v);
        }
    }
}

/// vrrp_instance, in keepalived's two stages. What keepalived finds while reading a block
/// (a duplicate name, the interface, address families, tracked names) is checked for every
/// instance. Then keepalived's `vrrp_complete_init`: it stops at the first instance
/// without `virtual_router_id` or interface (`chk_min_cfg`), or at the first that cannot
/// be completed (no VIP where one is required), and reports nothing of the instances after
/// it nor the VRID conflicts; kad then drops every instance (keepalived's VRRP process
/// exits). `keepalived -t` reports none of the second stage when an interface is missing.
/// Returns the names of the instances defined and where the second stage stopped; the
/// instances are kept (the script checks still read them) until [`validate`] drops them.
fn vrrp_instances(
    config: &mut Config,
    known: &Trackers,
    v: &mut V<'_>,
) -> (BTreeSet<String>, Option<VrrpStop>) {
    let instances = std::mem::take(&mut config.vrrp_instances);
    let global = &config.global;
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut read = Vec::with_capacity(instances.len());
    for mut inst in instances {
        if !names.insert(inst.name.clone()) {
            v.at(
                Severity::Error,
                &inst.place,
                format!("vrrp instance {} already defined", inst.name),
            );
            continue;
        }
        apply_global_defaults(&mut inst, global);
        instance_interface(&mut inst, global, v);
        instance_addresses(&mut inst, v);
        instance_mcast_dst_ip(&mut inst, v);
        instance_unicast_src_ip(&mut inst, v);
        instance_unicast_peers(&mut inst, v);
        instance_tracking(&mut inst, known, v);
        read.push(inst);
    }
    // keepalived -t stops at a missing interface before completing the instances: their
    // checks still run (the daemon needs them), their findings are not reported.
    let mut found = Vec::new();
    let quiet = v.missing_interface;
    let mut second = V {
        diags: &mut found,
        env: v.env,
        missing_interface: false,
        skip_interfaces: v.skip_interfaces,
        default_user_reported: v.default_user_reported,
    };
    let weights = TrackWeights::of(config);
    let global = &config.global;
    let stop = complete_instances(&mut read, global, &weights, &mut second);
    if !quiet {
        v.diags.append(&mut found);
    }
    config.vrrp_instances = read;
    (names, stop)
}

/// What keepalived's vrrp_complete_instance needs to drop tracking weights: the trackers'
/// own weights and which sync group (with or without `sync_group_tracking_weight`) each
/// instance is in.
struct TrackWeights {
    scripts: BTreeMap<String, i32>,
    files: BTreeMap<String, i32>,
    /// Instance → its sync group's `sync_group_tracking_weight`.
    synced: BTreeMap<String, bool>,
}

impl TrackWeights {
    fn of(config: &Config) -> Self {
        let mut synced = BTreeMap::new();
        for group in &config.sync_groups {
            for (member, _) in &group.group {
                synced
                    .entry(member.clone())
                    .or_insert(group.sync_group_tracking_weight);
            }
        }
        TrackWeights {
            scripts: config
                .vrrp_scripts
                .iter()
                .map(|s| (s.name.clone(), s.weight))
                .collect(),
            files: config
                .track_files
                .iter()
                .map(|f| (f.name.clone(), f.weight))
                .collect(),
            synced,
        }
    }

    /// An address owner (priority 255) ignores weighted tracking (RFC 5798 §6.1: its
    /// priority is fixed), and so does a sync group member without
    /// `sync_group_tracking_weight` (its group moves together): weighted interfaces and
    /// files are made unweighted (the owner stops tracking such an interface), weighted
    /// scripts, files and BFD instances are no longer tracked; each said without a line.
    fn unweight(&self, inst: &mut VrrpInstance, v: &mut V<'_>) {
        let sync = self
            .synced
            .get(&inst.name)
            .is_some_and(|weighted| !weighted);
        if !sync && inst.priority != 255 {
            return;
        }
        let why = if sync { "SYNC group" } else { "address_owner" };
        let name = inst.name.clone();
        let mut said = Vec::new();
        inst.tracking.interfaces.retain_mut(|t| {
            if t.weight.unwrap_or(0) == 0 {
                return true;
            }
            said.push(if sync {
                format!(
                    "({name}) ignoring {} tracked interface weight due to SYNC group",
                    t.name
                )
            } else {
                format!(
                    "({name}) ignoring {} tracked interface due to address owner",
                    t.name
                )
            });
            t.weight = Some(0);
            sync
        });
        inst.tracking.scripts.retain(|t| {
            let weight = t.weight.or_else(|| self.scripts.get(&t.name).copied());
            if weight.unwrap_or(0) == 0 {
                return true;
            }
            said.push(format!(
                "({name}) ignoring tracked script {} with weights due to {why}",
                t.name
            ));
            false
        });
        inst.tracking.files.retain_mut(|t| {
            let weight = t
                .weight
                .or_else(|| self.files.get(&t.name).copied())
                .unwrap_or(0);
            match weight {
                0 => true,
                1 => {
                    said.push(format!(
                        "({name}) ignoring weight from tracked file {} due to {why}. specify \
                         weight 0",
                        t.name
                    ));
                    t.weight = Some(0);
                    true
                }
                _ => {
                    said.push(format!(
                        "({name}) ignoring tracked file {} with weight {weight} due to {why}",
                        t.name
                    ));
                    false
                }
            }
        });
        inst.tracking.bfds.retain(|t| {
            let weight = t.weight.unwrap_or(0);
            if weight == 0 {
                return true;
            }
            said.push(format!(
                "({name}) ignoring tracked bfd {} with weight {weight} due to {why}",
                t.name
            ));
            false
        });
        for message in said {
            v.instance(Severity::Error, inst, message);
        }
    }
}

/// Where keepalived's `vrrp_complete_init` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VrrpStop {
    /// At an instance without `virtual_router_id` or interface (`chk_min_cfg`), before the
    /// sync groups.
    MinConfig,
    /// At an instance it could not complete.
    Instance,
}

/// keepalived's `vrrp_complete_init` over the instances read (completed in place); where
/// it stopped, if it did.
fn complete_instances(
    read: &mut [VrrpInstance],
    global: &GlobalDefs,
    weights: &TrackWeights,
    v: &mut V<'_>,
) -> Option<VrrpStop> {
    for inst in read.iter() {
        let missing = if inst.virtual_router_id.is_none() {
            "the virtual router id must be set"
        } else if inst.interface.is_none() {
            "Unknown interface!"
        } else {
            continue;
        };
        v.instance(Severity::Error, inst, missing.to_owned());
        return Some(VrrpStop::MinConfig);
    }
    for inst in read.iter_mut() {
        instance_owner_state(inst, v);
        instance_advert_int(inst, v);
        instance_preemption(inst, v);
        instance_authentication(inst, v);
        instance_unicast(inst, v);
        instance_own_interface(inst, v);
        if !instance_has_vip(inst, v) {
            return Some(VrrpStop::Instance);
        }
        weights.unweight(inst, v);
    }
    let mut vrids = VridUses::default();
    for inst in read.iter() {
        vrids.check(inst, global, v.diags);
    }
    None
}

/// Global defaults (keepalived.conf(5): "default: global ...") for what the instance does
/// not set itself.
fn apply_global_defaults(inst: &mut VrrpInstance, global: &GlobalDefs) {
    let placed = inst.places.clone();
    let set = |k: &str| placed.contains_key(k);
    if !set("strict_mode") {
        inst.strict_mode = global.vrrp_strict;
    }
    if !set("garp_master_delay") {
        inst.garp_master_delay = global.vrrp_garp_master_delay;
    }
    if !set("garp_master_repeat") {
        inst.garp_master_repeat = global.vrrp_garp_master_repeat;
    }
    if !set("garp_lower_prio_delay") {
        inst.garp_lower_prio_delay = if set("garp_master_delay") {
            inst.garp_master_delay
        } else {
            global.vrrp_garp_lower_prio_delay
        };
    }
    if !set("garp_lower_prio_repeat") {
        inst.garp_lower_prio_repeat = if set("garp_master_repeat") {
            inst.garp_master_repeat
        } else {
            global.vrrp_garp_lower_prio_repeat
        };
    }
    if !set("garp_master_refresh") {
        inst.garp_master_refresh = global.vrrp_garp_master_refresh;
    }
    if !set("garp_master_refresh_repeat") {
        inst.garp_master_refresh_repeat = global.vrrp_garp_master_refresh_repeat;
    }
    if !set("garp_extra_if") {
        inst.garp_extra_if = global.vrrp_garp_extra_if;
    }
    if !set("down_timer_adverts") {
        inst.down_timer_adverts = global.vrrp_down_timer_adverts;
    }
    if !set("lower_prio_no_advert") {
        inst.lower_prio_no_advert = global.vrrp_lower_prio_no_advert.unwrap_or(inst.strict_mode);
    }
    if !set("higher_prio_send_advert") {
        inst.higher_prio_send_advert = global.vrrp_higher_prio_send_advert.unwrap_or(false);
    }
    if !set("skip_check_adv_addr") {
        inst.skip_check_adv_addr = global.vrrp_skip_check_adv_addr;
    }
    if !set("check_unicast_src") {
        inst.check_unicast_src = global.vrrp_check_unicast_src;
    }
    if !set("notify_priority_changes") {
        inst.notify_priority_changes = global.vrrp_notify_priority_changes;
    }
    if !set("smtp_alert") {
        inst.smtp_alert = global.smtp_alert_vrrp.or(global.smtp_alert);
    }
    if !set("accept") && !set("no_accept") {
        inst.accept = !inst.strict_mode;
    }
    if !set("version") {
        inst.version = global.vrrp_version;
    }
    // keepalived: an initial MASTER without a configured priority is the address owner.
    if !set("priority") && inst.state == InitialState::Master {
        inst.priority = 255;
    }
}

/// `interface` (else global `default_interface`): set, not loopback, and present.
fn instance_interface(inst: &mut VrrpInstance, global: &GlobalDefs, v: &mut V<'_>) {
    let name = &inst.name;
    if inst.interface.is_none() {
        inst.interface = global.default_interface.clone();
    }
    // None is keepalived's "Unknown interface!", reported by `complete_instances`.
    match inst.interface.clone() {
        None => {}
        Some(ifname) => {
            let place = place_of(&inst.places, "interface", &inst.place).clone();
            if ifname == "lo" {
                v.at(
                    Severity::Error,
                    &place,
                    format!("({name}) cannot use a loopback interface (lo) for vrrp - ignoring"),
                );
                inst.interface = None;
            } else {
                v.check_if(&ifname, &place, &format!("vrrp_instance {name}"));
            }
        }
    }
}

/// `virtual_ipaddress`: one family per instance (from the first address; IPv6 means
/// VRRPv3); the interfaces of addresses and routes exist.
fn instance_addresses(inst: &mut VrrpInstance, v: &mut V<'_>) {
    let name = &inst.name;
    if let Some(v6) = inst.is_ipv6() {
        inst.virtual_ipaddress.retain(|a| {
            let ok = a.addr.is_ipv6() == v6;
            if !ok {
                v.at(
                    Severity::Error,
                    &a.place,
                    format!(
                        "({name}): address family must match VRRP instance [{}] - ignoring",
                        a.addr
                    ),
                );
            }
            ok
        });
        if v6 {
            inst.version = 3;
        }
    }
    v.addresses(&inst.virtual_ipaddress);
    v.addresses(&inst.virtual_ipaddress_excluded);
    v.routes(&inst.virtual_routes, true);
}

/// No VIP: required under VRRPv3, IPv6 or strict mode (false: keepalived stops), else a
/// warning.
fn instance_has_vip(inst: &VrrpInstance, v: &mut V<'_>) -> bool {
    if !inst.virtual_ipaddress.is_empty() {
        return true;
    }
    if inst.version == 3 || inst.is_ipv6() == Some(true) || inst.strict_mode {
        v.instance(
            Severity::Error,
            inst,
            "No VIP specified; at least one is required".to_owned(),
        );
        return false;
    }
    v.instance(
        Severity::Warning,
        inst,
        "No VIP specified; at least one is sensible".to_owned(),
    );
    true
}

/// `unicast_src_ip` of the other family than the instance's is dropped.
fn instance_unicast_src_ip(inst: &mut VrrpInstance, v: &mut V<'_>) {
    let (Some(ip), Some(v6)) = (inst.unicast_src_ip, inst.is_ipv6()) else {
        return;
    };
    if ip.is_ipv6() != v6 {
        let place = place_of(&inst.places, "unicast_src_ip", &inst.place).clone();
        v.at(
            Severity::Error,
            &place,
            format!(
                "Configuration error: VRRP instance[{}] and src address[{ip}] MUST be of the \
                 same family !!! Skipping...",
                inst.name
            ),
        );
        inst.unicast_src_ip = None;
    }
}

/// `mcast_dst_ip` of the other family than the instance's is dropped, as keepalived does.
fn instance_mcast_dst_ip(inst: &mut VrrpInstance, v: &mut V<'_>) {
    let (Some(ip), Some(v6)) = (inst.mcast_dst_ip, inst.is_ipv6()) else {
        return;
    };
    if ip.is_ipv6() != v6 {
        let place = place_of(&inst.places, "mcast_dst_ip", &inst.place).clone();
        v.at(
            Severity::Error,
            &place,
            format!(
                "({}) mcast dest address {ip} MUST match VRRP instance family. Skipping...",
                inst.name
            ),
        );
        inst.mcast_dst_ip = None;
    }
}

/// In strict mode (`vrrp_strict`, `strict_mode`) an initial `state MASTER` is the address
/// owner's (priority 255, RFC 5798 §6.4.1) and only its: keepalived reports a mismatch
/// without a line number and takes the state from the priority.
fn instance_owner_state(inst: &mut VrrpInstance, v: &mut V<'_>) {
    if !inst.strict_mode || !inst.places.contains_key("state") {
        return;
    }
    let owner = inst.priority == 255;
    if (inst.state == InitialState::Master) != owner {
        v.global(
            Severity::Error,
            format!(
                "({}) State MASTER must match being address owner",
                inst.name
            ),
        );
        inst.state = if owner {
            InitialState::Master
        } else {
            InitialState::Backup
        };
    }
}

/// `advert_int` for VRRPv2 must be whole seconds (RFC 3768 §5.3.7); for VRRPv3 a multiple
/// of 10 ms (RFC 5798 §5.2.7, centiseconds): keepalived rounds both.
fn instance_advert_int(inst: &mut VrrpInstance, v: &mut V<'_>) {
    // VRRPv3's Max Adver Int field holds 12 bits of centiseconds.
    if inst.version == 3 && inst.advert_int >= Duration::from_millis(40_960) {
        v.global(
            Severity::Warning,
            format!(
                "({}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                inst.name,
                inst.advert_int.as_secs_f64()
            ),
        );
        inst.advert_int = Duration::from_millis(40_950);
    } else if inst.version == 3 && !inst.advert_int.subsec_micros().is_multiple_of(10_000) {
        v.global(
            Severity::Warning,
            format!(
                "({}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                inst.name,
                inst.advert_int.as_secs_f64()
            ),
        );
        let centis = (inst.advert_int.as_micros() + 5_000) / 10_000;
        inst.advert_int =
            Duration::from_millis(u64::try_from(centis.max(1) * 10).unwrap_or(u64::MAX));
    }
    if inst.version == 2 && inst.advert_int.subsec_micros() != 0 {
        let secs = inst.advert_int.as_secs_f64().round().max(1.0);
        v.instance(
            Severity::Warning,
            inst,
            format!(
                "VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                inst.advert_int.as_secs_f64()
            ),
        );
        inst.advert_int = Duration::from_secs_f64(secs);
    }
}

/// `nopreempt` / `preempt_delay` against priority and the initial state (keepalived's
/// order of checks).
fn instance_preemption(inst: &mut VrrpInstance, v: &mut V<'_>) {
    if inst.priority == 255 && !inst.preempt {
        v.instance(
            Severity::Warning,
            inst,
            "nopreempt is incompatible with priority 255. resetting nopreempt".to_owned(),
        );
        inst.preempt = true;
    }
    if inst.state == InitialState::Master && !inst.preempt {
        v.instance(
            Severity::Warning,
            inst,
            "Warning - nopreempt will not work with initial state MASTER - clearing".to_owned(),
        );
        inst.preempt = true;
    }
    if inst.state == InitialState::Master && !inst.preempt_delay.is_zero() {
        v.instance(
            Severity::Warning,
            inst,
            "Warning - preempt delay will not work with initial state MASTER - clearing".to_owned(),
        );
        inst.preempt_delay = Duration::ZERO;
    }
}

/// `authentication` (RFC 3768 §5.3.6; none in VRRPv3 or strict mode): dropped when it
/// cannot apply; AH clears an initial MASTER state. keepalived's order of checks; without
/// a valid `auth_type` there is no authentication and nothing to say (keepalived has
/// already flagged a bad type at its line).
fn instance_authentication(inst: &mut VrrpInstance, v: &mut V<'_>) {
    let Some(auth) = &inst.authentication else {
        return;
    };
    let problem = if auth.auth_type.is_none() {
        Some(None)
    } else if inst.strict_mode {
        Some(Some(
            "Strict mode does not support authentication. Ignoring.",
        ))
    } else if inst.version == 3 {
        Some(Some(
            "VRRP version 3 does not support authentication. Ignoring.",
        ))
    } else if auth.auth_pass.is_none() {
        Some(Some(
            "Authentication specified but no password given. Ignoring",
        ))
    } else {
        None
    };
    match problem {
        Some(message) => {
            if let Some(message) = message {
                v.instance(Severity::Warning, inst, message.to_owned());
            }
            inst.authentication = None;
        }
        None => {
            if auth.auth_type == Some(AuthType::Ah)
                && inst.state == InitialState::Master
                && inst.priority != 255
            {
                v.instance(
                    Severity::Warning,
                    inst,
                    "Initial state master is incompatible with AH authentication - clearing"
                        .to_owned(),
                );
                inst.state = InitialState::Backup;
            }
        }
    }
}

/// `unicast_peer`: of the instance's family; with `use_vmac`, `vmac_xmit_base` is set (both
/// found by keepalived while reading the block).
fn instance_unicast_peers(inst: &mut VrrpInstance, v: &mut V<'_>) {
    let name = &inst.name;
    if let Some(v6) = inst.is_ipv6() {
        for peer in &inst.unicast_peers {
            if peer.addr.is_ipv6() != v6 {
                v.at(
                    Severity::Error,
                    &peer.place,
                    format!(
                        "({name}) unicast peer {} does not match the instance's address family",
                        peer.addr
                    ),
                );
            }
        }
    }
    if inst.unicast_peers.is_empty() && inst.places.contains_key("unicast_ttl") {
        // keepalived resets it; kad's multicast adverts carry 255 whatever it says.
        v.at(
            Severity::Error,
            &inst.end,
            format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        inst.unicast_ttl = 255;
    }
    if inst.use_vmac.is_some() && !inst.unicast_peers.is_empty() && !inst.vmac_xmit_base {
        v.at(
            Severity::Warning,
            &inst.end,
            format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
        );
        inst.vmac_xmit_base = true;
    }
}

/// Unicast keywords without a peer (keepalived's vrrp_complete_instance).
fn instance_unicast(inst: &VrrpInstance, v: &mut V<'_>) {
    let name = &inst.name;
    // keepalived's VRRP_FLAG_UNICAST_CONFIGURED: any of these keywords without a peer
    // (unicast_fault_no_peer instead makes the instance start in FAULT, without a message).
    const UNICAST: [&str; 4] = [
        "unicast_peer",
        "unicast_src_ip",
        "check_unicast_src",
        "old_unicast_checksum",
    ];
    if inst.unicast_peers.is_empty()
        && !inst.unicast_fault_no_peer
        && UNICAST.iter().any(|k| inst.places.contains_key(*k))
    {
        v.instance(
            Severity::Warning,
            inst,
            format!(
                "({name}) A unicast keyword has been specified without any unicast peers. \
                 Defaulting to multicast. This usage is deprecated - please update your \
                 configuration."
            ),
        );
    }
}

/// Tracked interfaces and trackers must exist; the others are dropped.
fn instance_tracking(inst: &mut VrrpInstance, known: &Trackers, v: &mut V<'_>) {
    let name = &inst.name;
    inst.tracking.interfaces.retain(|t| {
        let ok = v.interface_exists(&t.name);
        if !ok {
            v.missing_interface = true;
            v.at(
                Severity::Warning,
                &t.place,
                format!("({name}) tracked interface {} doesn't exist", t.name),
            );
        }
        ok
    });
    unique(&mut inst.tracking.interfaces, name, "track_interface", v);
    known.retain_known(&mut inst.tracking, &inst.name, v);
}

/// A second reference to the same tracked item: "(OWNER) duplicate KEYWORD NAME -
/// ignoring" at its line, as keepalived's parser says.
fn unique(list: &mut Vec<TrackRef>, owner: &str, keyword: &str, v: &mut V<'_>) {
    let mut seen = BTreeSet::new();
    list.retain(|t| {
        let first = seen.insert(t.name.clone());
        if !first {
            v.at(
                Severity::Error,
                &t.place,
                format!("({owner}) duplicate {keyword} {} - ignoring", t.name),
            );
        }
        first
    });
}

/// keepalived's vrrp_complete_instance: tracking the instance's own interface is pointless
/// (a fault there is already the instance's fault); dropped, without a line.
fn instance_own_interface(inst: &mut VrrpInstance, v: &mut V<'_>) {
    if let Some(own) = inst.interface.clone() {
        let before = inst.tracking.interfaces.len();
        inst.tracking.interfaces.retain(|t| t.name != own);
        if inst.tracking.interfaces.len() != before {
            v.instance(
                Severity::Warning,
                inst,
                format!("Ignoring track_interface {own} since own interface"),
            );
        }
    }
}

/// keepalived 2.2.7 (vrrp_complete_init): a sync group with an address owner (priority
/// 255) among its members cannot track a BFD instance with a weight; the weight becomes 0,
/// said without a line.
fn owner_group_bfds(config: &mut Config, v: &mut V<'_>) {
    let owners: BTreeSet<&str> = config
        .vrrp_instances
        .iter()
        .filter(|i| i.priority == 255)
        .map(|i| i.name.as_str())
        .collect();
    for group in &mut config.sync_groups {
        if !group.group.iter().any(|(m, _)| owners.contains(m.as_str())) {
            continue;
        }
        let block = format!("vrrp_sync_group {}", group.name);
        for t in &mut group.tracking.bfds {
            if t.weight.unwrap_or(0) != 0 {
                v.in_block(
                    Severity::Error,
                    &block,
                    &group.place,
                    format!(
                        "({}) Cannot have weighted track bfd '{}' with member having priority \
                         255 - setting weight 0",
                        group.name, t.name
                    ),
                );
                t.weight = Some(0);
            }
        }
    }
}

/// vrrp_sync_group: members exist and belong to one group only, trackers exist; a group
/// left empty is removed.
fn sync_groups(config: &mut Config, names: &BTreeSet<String>, known: &Trackers, v: &mut V<'_>) {
    let mut grouped: BTreeMap<String, String> = BTreeMap::new();
    for group in &mut config.sync_groups {
        let gname = &group.name;
        // keepalived's vrrp_sync_set_group runs after parsing: its findings have no line.
        let block = format!("vrrp_sync_group {gname}");
        let at = &group.place;
        group.group.retain(|(member, _)| {
            if !names.contains(member) {
                v.in_block(
                    Severity::Warning,
                    &block,
                    at,
                    format!("Virtual router {member} specified in sync group {gname} doesn't exist - ignoring"),
                );
                return false;
            }
            if let Some(other) = grouped.insert(member.clone(), gname.clone()) {
                v.in_block(
                    Severity::Error,
                    &block,
                    at,
                    format!("VRRP instance {member} cannot be in sync group {gname}: already in {other}"),
                );
                return false;
            }
            true
        });
        if group.group.is_empty() {
            v.in_block(
                Severity::Warning,
                &block,
                at,
                format!("Sync group {gname} has no virtual router(s). removing"),
            );
        } else if group.group.len() < 2 {
            v.in_block(
                Severity::Warning,
                &block,
                at,
                format!(
                    "Sync group {gname} has only {} virtual router(s) - this probably isn't what you want",
                    group.group.len()
                ),
            );
        }
        known.retain_known(&mut group.tracking, gname, v);
    }
    config.sync_groups.retain(|g| !g.group.is_empty());
    owner_group_bfds(config, v);
    // keepalived 2.2.7 (vrrp_complete_instance): an instance that does not set
    // notify_priority_changes takes its sync group's, else the global one.
    for group in &config.sync_groups {
        let Some(notify) = group.notify_priority_changes else {
            continue;
        };
        for inst in config.vrrp_instances.iter_mut().filter(|inst| {
            group.group.iter().any(|(member, _)| *member == inst.name)
                && !inst.places.contains_key("notify_priority_changes")
        }) {
            inst.notify_priority_changes = Some(notify);
        }
    }
}

/// virtual_server: keepalived's defaults reported, the address checked, real servers of the
/// wrong family (or link-local without `bind_if` checkers) dropped.
fn virtual_servers(config: &mut Config, v: &mut V<'_>) {
    let groups: BTreeSet<String> = config
        .virtual_server_groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    for vs in &mut config.virtual_servers {
        virtual_server_defaults(vs, v);
        virtual_server_address(vs, &groups, v);
        for rs in &mut vs.real_servers {
            link_local_checkers(rs, v);
        }
        real_server_families(vs, v);
        // keepalived drops a virtual server without real servers before these checks.
        if !vs.real_servers.is_empty() {
            let group = match &vs.address {
                VsAddress::Group(g) => config.virtual_server_groups.iter().find(|x| &x.name == g),
                _ => None,
            };
            lvs_checks::ha_suspend(vs, group, v.diags);
            lvs_checks::quorum(vs, v.diags);
            lvs_checks::ports(vs, group, v.diags);
        }
        if vs.real_servers.is_empty() && vs.sorry_server.is_none() {
            v.virtual_server(
                Severity::Warning,
                vs,
                format!(
                    "Virtual server {} has no real servers - ignoring",
                    vs_name(&vs.address)
                ),
            );
        }
    }
}

/// `protocol` (UDP), `lb_algo` (wlc) and `lb_kind` (NAT) when not set, as keepalived says.
fn virtual_server_defaults(vs: &mut VirtualServer, v: &mut V<'_>) {
    let is_fwmark = matches!(vs.address, VsAddress::Fwmark(_));
    if !is_fwmark && !vs.places.contains_key("protocol") {
        v.virtual_server(
            Severity::Warning,
            vs,
            format!(
                "Virtual server {}: no protocol set - defaulting to UDP",
                vs_name(&vs.address)
            ),
        );
        vs.protocol = "UDP".to_owned();
    }
    if !vs.places.contains_key("lb_algo") && !vs.places.contains_key("lvs_sched") {
        v.virtual_server(
            Severity::Warning,
            vs,
            format!(
                "Virtual server {}: no scheduler set, setting default 'wlc'",
                vs_name(&vs.address)
            ),
        );
    }
    if !vs.places.contains_key("lb_kind") && !vs.places.contains_key("lvs_method") {
        v.virtual_server(
            Severity::Warning,
            vs,
            format!(
                "Virtual server {}: no forwarding method set, setting default NAT",
                vs_name(&vs.address)
            ),
        );
    }
}

/// The virtual server's address: no protocol with a fwmark, a configured group, a port
/// or persistence.
fn virtual_server_address(vs: &VirtualServer, groups: &BTreeSet<String>, v: &mut V<'_>) {
    match &vs.address {
        VsAddress::Fwmark(mark) if vs.places.contains_key("protocol") => v.virtual_server(
            Severity::Warning,
            vs,
            format!("Warning: Virtual server FWM {mark}: protocol specified for fwmark - protocol will be ignored"),
        ),
        VsAddress::Group(g) if !groups.contains(g) => v.at(
            Severity::Error,
            &vs.place,
            format!(
                "Virtual server group {g} specified but not configured - ignoring virtual server"
            ),
        ),
        VsAddress::Ip(_, None) if vs.persistence_timeout.is_none() => v.virtual_server(
            Severity::Error,
            vs,
            "Virtual server without a port must be persistent (persistence_timeout) - ignoring"
                .to_owned(),
        ),
        _ => {}
    }
}

/// A link-local real server: its network checkers need `bind_if`; the others are dropped.
fn link_local_checkers(rs: &mut RealServer, v: &mut V<'_>) {
    let addr = rs.addr;
    let link_local = matches!(addr, std::net::IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
    if link_local {
        rs.checkers.retain(|ck| {
            let ok = ck.bind_if.is_some()
                || matches!(ck.kind.as_str(), "MISC_CHECK" | "FILE_CHECK" | "BFD_CHECK");
            if !ok {
                v.at(
                    Severity::Error,
                    &ck.end,
                    format!("Checker link local address {addr} requires a bind_if"),
                );
            }
            ok
        });
    }
}

/// Real servers of the virtual server's address family (any family through a tunnel).
fn real_server_families(vs: &mut VirtualServer, v: &mut V<'_>) {
    if let VsAddress::Ip(vip, _) = &vs.address {
        let vs_method = &vs.lvs_method;
        let vip = *vip;
        vs.real_servers.retain(|rs| {
            let tunnel = matches!(
                rs.lvs_method.as_ref().unwrap_or(vs_method),
                LvsMethod::Tun { .. }
            );
            let ok = tunnel || rs.addr.is_ipv6() == vip.is_ipv6();
            if !ok {
                v.at(
                    Severity::Error,
                    &rs.end,
                    format!(
                        "Address family of virtual server and real server {} don't match - skipping real server.",
                        rs.addr
                    ),
                );
            }
            ok
        });
    }
}

/// What the script checks found across the configuration.
#[derive(Default)]
struct Tally {
    /// A script was found (keepalived's "scripts are being executed").
    scripts: bool,
    /// A script runs as root and could be replaced by a non-root user.
    insecure: bool,
}

/// What a script is, for keepalived's messages and for what is dropped.
#[derive(Clone, Copy)]
enum ScriptRole<'a> {
    /// `vrrp_script NAME` defined at the place: dropped (and untracked) when it cannot run.
    Track(&'a str, &'a Place),
    /// A notify or FIFO script: dropped when it cannot run.
    Notify,
    /// A script checked when it runs (MISC_CHECK): counted only.
    Other,
}

/// Where a script's findings are reported.
#[derive(Clone, Copy)]
struct ScriptPlaces<'a> {
    /// Its `user` (or the script itself).
    user: &'a Place,
    /// Its block's closing line (keepalived reports the default user there).
    block: &'a Place,
    /// The script's command line.
    script: &'a Place,
}

/// What becomes of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// It runs.
    Keep,
    /// No user to run it as (a notify script; a vrrp_script or MISC_CHECK without one is
    /// gone before this, [`script_users`]).
    NoUser,
    /// It cannot or may not run: keepalived drops it (and references to it) silently.
    Refused,
}

/// One script: who runs it (keepalived.conf `user`, `script_user`, the default user) and
/// whether it may run (`enable_script_security`). A script that may run has its program
/// replaced by the path that was checked ([`scripts::with_program`], keepalived's
/// `replace_cmd_name`), so that path is the one executed.
fn check_script(
    v: &mut V<'_>,
    tally: &mut Tally,
    global: &GlobalDefs,
    command: &mut String,
    own: Option<(&str, Option<&str>)>,
    places: ScriptPlaces<'_>,
    role: ScriptRole<'_>,
) -> Outcome {
    let ScriptPlaces {
        user: user_place,
        block: place,
        script: script_place,
    } = places;
    let words = scripts::split_words(command);
    let Some(program) = words.first() else {
        return Outcome::Keep;
    };
    // keepalived: `</path` tests that a file can be opened; nothing is executed.
    if program.starts_with('<') {
        return Outcome::Keep;
    }
    let security = global.enable_script_security;
    let global_user = global
        .script_user
        .as_ref()
        .map(|(user, group)| (user.as_str(), group.as_deref()));
    let run_as = match scripts::resolve(own, global_user, security, |user, group| {
        v.env.script_user(user, group)
    }) {
        Ok(run_as) => run_as,
        Err(err) => {
            let (at, message) = match (&err, role) {
                (ResolveError::Own(_), _) => (
                    user_place,
                    format!("Unable to set uid/gid for script '{command}' - {err}"),
                ),
                (_, ScriptRole::Track(name, _)) => (
                    place,
                    format!("Unable to set default user for vrrp script {name} - removing ({err})"),
                ),
                _ => (
                    place,
                    format!("Unable to set default user for script '{command}' - {err}"),
                ),
            };
            if matches!(role, ScriptRole::Other) {
                return Outcome::Keep;
            }
            // keepalived flags a missing default user once (a configuration error), and a
            // vrrp_script it removes; a notify script it cannot run as its own or the
            // global user, or as the default user after the first time, it only logs.
            let first_default = matches!(err, ResolveError::NoDefault) && !v.default_user_reported;
            v.default_user_reported |= matches!(err, ResolveError::NoDefault);
            let severity = match role {
                ScriptRole::Notify if !first_default => Severity::Note,
                _ => Severity::Error,
            };
            v.at(severity, at, message);
            return Outcome::NoUser;
        }
    };
    // Scripts run in kad's own mount namespace whatever `net_namespace` says, so they are
    // checked with it too (interfaces of the other namespace are not).
    match v.env.check_script(program, run_as, security) {
        Ok(None) => Outcome::Keep,
        Ok(Some(checked)) => {
            tally.scripts = true;
            if checked.program.as_os_str() != std::ffi::OsStr::new(program.as_str()) {
                *command = scripts::with_program(command, &checked.program);
            }
            if matches!(role, ScriptRole::Other) {
                tally.insecure |= checked.insecure.is_some();
                return Outcome::Keep;
            }
            if checked.searched {
                v.at(
                    Severity::Note,
                    script_place,
                    format!(
                        "WARNING - script `{program}` resolved by path search to `{}`. Please specify full path.",
                        checked.program.display()
                    ),
                );
            }
            if let Some(why) = checked.insecure {
                tally.insecure = true;
                v.at(
                    Severity::Note,
                    script_place,
                    format!("Unsafe permissions found for script '{command}': {why} (runs as root; enable_script_security would refuse it)"),
                );
            }
            Outcome::Keep
        }
        // With net_namespace, keepalived -t says nothing of a script it cannot find (as of
        // the namespace's interfaces); it is kept, and fails when run. A script found
        // unsafe is refused as anywhere else.
        Err(Refusal::NotFound { .. }) if v.skip_interfaces => Outcome::Keep,
        Err(refusal) => {
            tally.scripts |= refusal.found();
            match role {
                ScriptRole::Other => return Outcome::Keep,
                // keepalived's check_vrrp_script_security runs after parsing: no line.
                ScriptRole::Track(name, defined) => match refusal {
                    Refusal::NotFound { .. } => v.in_block(
                        Severity::Error,
                        &format!("vrrp_script {name}"),
                        defined,
                        format!(
                            "Disabling track script {name} since not found/accessible: {refusal}"
                        ),
                    ),
                    Refusal::Unsafe(_) | Refusal::WrongType { .. } => v.in_block(
                        Severity::Error,
                        &format!("vrrp_script {name}"),
                        defined,
                        format!("Disabling track script {name} due to insecure: {refusal}"),
                    ),
                    Refusal::NotExecutable { .. } => v.at(
                        Severity::Note,
                        script_place,
                        format!("WARNING - {refusal} - disabling track script {name}."),
                    ),
                },
                ScriptRole::Notify => v.at(
                    Severity::Note,
                    script_place,
                    format!("{refusal} - disabling script '{command}'"),
                ),
            }
            Outcome::Refused
        }
    }
}

/// Checks every script of `config` (keepalived.conf(5) "SCRIPTS"), dropping what keepalived
/// drops: vrrp_scripts (and the instances' references to them), notify and FIFO scripts.
/// Returns keepalived's security violation: scripts are found but `enable_script_security`
/// is off.
fn check_scripts(config: &mut Config, v: &mut V<'_>) -> bool {
    let global = config.global.clone();
    let mut tally = Tally::default();
    // Scripts without a usable user are gone already (script_users).
    let mut dropped = BTreeSet::new();
    config.vrrp_scripts.retain_mut(|s| {
        let Some(script) = &mut s.script else {
            return true;
        };
        let own = s.user.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
        let user_place = s.places.get("user").unwrap_or(&s.place);
        let outcome = check_script(
            v,
            &mut tally,
            &global,
            &mut script.command,
            own,
            ScriptPlaces {
                user: user_place,
                block: &s.end,
                script: &script.place,
            },
            ScriptRole::Track(&s.name, &s.place),
        );
        if outcome != Outcome::Keep {
            dropped.insert(s.name.clone());
        }
        outcome == Outcome::Keep
    });
    // keepalived removes a disabled script from the instances and groups tracking it: it
    // then neither adds its weight nor causes FAULT.
    let untrack = |scripts: &mut Vec<TrackRef>| scripts.retain(|t| !dropped.contains(&t.name));
    for inst in &mut config.vrrp_instances {
        untrack(&mut inst.tracking.scripts);
        notify_scripts(v, &mut tally, &global, &mut inst.notify);
    }
    for group in &mut config.sync_groups {
        untrack(&mut group.tracking.scripts);
        notify_scripts(v, &mut tally, &global, &mut group.notify);
    }
    config.global.fifos.retain(|keyword, script| {
        !keyword.ends_with("_script")
            || one_script(v, &mut tally, &global, script, ScriptRole::Notify) == Outcome::Keep
    });

    // keepalived's check_check_script_security: quorum_up/quorum_down and the real
    // servers' notify_up/notify_down are dropped when they may not run, like notify
    // scripts (so neither a quorum change nor `omega` at stop runs them).
    for vs in &mut config.virtual_servers {
        let mut notify: Vec<&mut Option<Script>> = vec![&mut vs.quorum_up, &mut vs.quorum_down];
        let mut misc = Vec::new();
        for rs in &mut vs.real_servers {
            notify.push(&mut rs.notify_up);
            notify.push(&mut rs.notify_down);
            for ck in &mut rs.checkers {
                let own = script_users::misc_user(ck)
                    .map(|(user, group)| (user.to_owned(), group.map(str::to_owned)));
                if let Some(script) = ck.misc_path.as_mut() {
                    misc.push((own, script));
                }
            }
        }
        for slot in notify {
            if let Some(script) = slot.as_mut()
                && one_script(v, &mut tally, &global, script, ScriptRole::Notify) != Outcome::Keep
            {
                *slot = None;
            }
        }
        // MISC_CHECK: the checker refuses a script that may not run when it is built.
        for (own, script) in misc {
            let own = own.as_ref().map(|(u, g)| (u.as_str(), g.as_deref()));
            let places = ScriptPlaces {
                user: &script.place,
                block: &script.place,
                script: &script.place,
            };
            let command = &mut script.command;
            check_script(
                v,
                &mut tally,
                &global,
                command,
                own,
                places,
                ScriptRole::Other,
            );
        }
    }
    // keepalived's check_start_stop_script_secure: a startup or shutdown script that may
    // not run is not run.
    for slot in [
        &mut config.global.startup_script,
        &mut config.global.shutdown_script,
    ] {
        if let Some(script) = slot.as_mut()
            && one_script(v, &mut tally, &global, script, ScriptRole::Notify) != Outcome::Keep
        {
            *slot = None;
        }
    }

    let violation = tally.scripts && !global.enable_script_security;
    if violation {
        v.global(
            Severity::Error,
            format!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{}",
                if tally.insecure {
                    " There are insecure scripts."
                } else {
                    ""
                }
            ),
        );
    }
    violation
}

/// A script written with optional `username [groupname]` after it (notify, FIFO, checker).
fn one_script(
    v: &mut V<'_>,
    tally: &mut Tally,
    global: &GlobalDefs,
    script: &mut Script,
    role: ScriptRole<'_>,
) -> Outcome {
    let own = script
        .user
        .as_deref()
        .map(|user| (user, script.group.as_deref()));
    check_script(
        v,
        tally,
        global,
        &mut script.command,
        own,
        ScriptPlaces {
            user: &script.place,
            block: &script.place,
            script: &script.place,
        },
        role,
    )
}

/// An instance's or group's notify scripts; those that cannot run are dropped.
fn notify_scripts(v: &mut V<'_>, tally: &mut Tally, global: &GlobalDefs, notify: &mut Notify) {
    let mut slots = vec![
        &mut notify.master,
        &mut notify.backup,
        &mut notify.fault,
        &mut notify.stop,
        &mut notify.any,
        &mut notify.master_rx_lower_pri,
    ];
    if let Some(deleted) = notify.deleted.as_mut() {
        slots.push(deleted);
    }
    for slot in slots {
        if let Some(script) = slot.as_mut()
            && one_script(v, tally, global, script, ScriptRole::Notify) != Outcome::Keep
        {
            *slot = None;
        }
    }
}
