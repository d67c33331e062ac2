//! From the keepalived.conf model to what the runtime runs: resolves interfaces and each
//! instance's primary address against the running kernel, and maps keepalived's keywords to
//! the core's settings.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use thiserror::Error;

use crate::{
    config::model::{
        AuthType, Config, GlobalDefs, Notify, Script, TrackProcess, TrackRef, Tracking,
        VirtualAddress, VrrpInstance,
    },
    net::{
        addr::{AddressControl, AddressError, InterfaceAddress, Scope},
        interface::{InterfaceError, ifindex},
        vmac,
    },
    scripts::{self, RunAs, ScriptCommand},
    track::{
        ScriptSpec, TrackerSource,
        process::{ParamMatch, ProcessSpec},
    },
    vrrp::fsm::SyncGroupConfig,
    vrrp::{
        fsm::{
            Centis, GarpConfig, InstanceConfig, TrackedObject, TrackerId, TrackerKind,
            TrackerStatus, Version,
        },
        packet::{AuthConfig, ChecksumMode},
    },
};

use super::routing::{self, Origin};
use super::spec::{
    GarpSpacing, GroupSpec, InstanceSpec, NotifySpec, RuntimeSpec, StaticSpec, UnicastRx,
};
use crate::exec::fifo::FifoSpec;

/// A `vrrp_instance` the runtime cannot run on this machine.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The instance names something that is not there or cannot work.
    #[error("{place}: vrrp_instance {instance}: {what}")]
    Instance {
        /// Where the instance is declared (file:line:col).
        place: String,
        /// Its name.
        instance: String,
        /// What is wrong.
        what: String,
    },
    /// A `static_ipaddress`, `static_routes` or `static_rules` entry cannot be installed.
    #[error("{0}")]
    Static(String),
    /// Reading the interface's addresses failed.
    #[error(transparent)]
    Netlink(#[from] AddressError),
    /// A global setting cannot work.
    #[error("global_defs: {what}")]
    Global {
        /// What is wrong.
        what: String,
    },
}

/// Builds the runtime's view of every `vrrp_instance` in `config`.
pub async fn runtime_spec(
    config: &Config,
    control: &AddressControl,
) -> Result<RuntimeSpec, BuildError> {
    let mut instances = Vec::with_capacity(config.vrrp_instances.len());
    let mut trackers = TrackerTable::new(config);
    for instance in &config.vrrp_instances {
        let mut spec = instance_spec(instance, control, &mut trackers).await?;
        spec.garp_spacing = garp_spacing(config, instance.interface.as_deref().unwrap_or_default());
        instances.push(spec);
    }
    let mut groups = Vec::with_capacity(config.sync_groups.len());
    for group in &config.sync_groups {
        let fail = |what: String| BuildError::Instance {
            place: group.place.to_string(),
            instance: group.name.clone(),
            what,
        };
        let mut members = Vec::new();
        for (name, _) in &group.group {
            let index = config
                .vrrp_instances
                .iter()
                .position(|instance| instance.name == *name)
                .ok_or_else(|| {
                    fail(format!(
                        "vrrp_sync_group member {name} is not a vrrp_instance"
                    ))
                })?;
            members.push(index);
        }
        let mut sync = SyncGroupConfig::new(&group.name);
        sync.tracking_weight = group.sync_group_tracking_weight || group.global_tracking;
        sync.tracked = trackers
            .tracked(&group.tracking, &group.name)
            .map_err(fail)?;
        groups.push(GroupSpec {
            config: sync,
            members,
            notify: notify_spec(&config.global, &group.notify, group.smtp_alert).map_err(fail)?,
        });
    }
    let mut notify_fifos = Vec::new();
    for keyword in ["notify_fifo", "vrrp_notify_fifo"] {
        if let Some(fifo) = config.global.fifos.get(keyword) {
            let script = config.global.fifos.get(&format!("{keyword}_script"));
            let script =
                command(&config.global, &script.cloned()).map_err(|what| BuildError::Global {
                    what: format!("{keyword}_script: {what}"),
                })?;
            // keepalived.conf `notify_fifo FILE [USER [GROUP]]`: the FIFO's owner.
            let owner = command(&config.global, &Some(fifo.clone()))
                .map_err(|what| BuildError::Global {
                    what: format!("{keyword}: {what}"),
                })?
                .map_or(crate::scripts::RunAs::ROOT, |c| c.run_as);
            notify_fifos.push(FifoSpec {
                path: fifo.command.clone().into(),
                owner,
                script,
            });
        }
    }
    Ok(RuntimeSpec {
        instances,
        groups,
        trackers: trackers.sources,
        notify_fifos,
        statics: static_spec(config)?,
        smtp: crate::exec::smtp::SmtpSpec::from_config(config),
    })
}

/// keepalived.conf `static_ipaddress`, `static_routes`, `static_rules`. An address without
/// `dev` goes on `default_interface` (keepalived.conf(5); default eth0).
fn static_spec(config: &Config) -> Result<StaticSpec, BuildError> {
    let default_dev = config.global.default_interface.as_deref().unwrap_or("eth0");
    let mut addresses = Vec::with_capacity(config.static_ipaddress.len());
    for address in &config.static_ipaddress {
        let dev = address.dev.as_deref().unwrap_or(default_dev);
        warn_unsupported_address_options(address, "static_ipaddress", None);
        addresses.push(interface_address(address, dev).map_err(|what| {
            BuildError::Static(format!("{}: static_ipaddress: {what}", address.place))
        })?);
    }
    let origin = |block| Origin {
        block,
        instance: None,
        vrid: None,
    };
    Ok(StaticSpec {
        addresses,
        routes: routing::ip_routes(&config.static_routes, &origin("static_routes"))
            .map_err(BuildError::Static)?,
        rules: routing::ip_rules(&config.static_rules, &origin("static_rules"))
            .map_err(BuildError::Static)?,
    })
}

/// Tracked objects by kind and name, each listed once however many instances track it.
struct TrackerTable<'a> {
    config: &'a Config,
    sources: Vec<TrackerSource>,
    index: HashMap<(TrackerKind, String), u32>,
}

impl<'a> TrackerTable<'a> {
    fn new(config: &'a Config) -> Self {
        Self {
            config,
            sources: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn intern(
        &mut self,
        kind: TrackerKind,
        name: &str,
        make: impl FnOnce() -> Result<TrackerSource, String>,
    ) -> Result<TrackerId, String> {
        if let Some(index) = self.index.get(&(kind, name.to_owned())) {
            return Ok(TrackerId(*index));
        }
        let index =
            u32::try_from(self.sources.len()).map_err(|_| "too many tracked objects".to_owned())?;
        self.sources.push(make()?);
        self.index.insert((kind, name.to_owned()), index);
        Ok(TrackerId(index))
    }

    /// `track_script`, `track_interface` and `track_file` entries of an instance or group.
    fn tracked(&mut self, tracking: &Tracking, owner: &str) -> Result<Vec<TrackedObject>, String> {
        let mut tracked = Vec::new();
        for reference in &tracking.scripts {
            tracked.push(self.script(reference)?);
        }
        for reference in &tracking.interfaces {
            let name = reference.name.clone();
            let id = self.intern(TrackerKind::Interface, &reference.name, || {
                let ifindex = ifindex(&name).map_err(|e| format!("track_interface {name}: {e}"))?;
                Ok(TrackerSource::Interface { name, ifindex })
            })?;
            let weight = reference.weight.unwrap_or(0);
            tracked.push(TrackedObject::new(
                id,
                TrackerKind::Interface,
                weight,
                reference.reverse,
            ));
        }
        for reference in &tracking.files {
            let Some(file) = self
                .config
                .track_files
                .iter()
                .find(|f| f.name == reference.name)
            else {
                return Err(format!("track_file {} is not defined", reference.name));
            };
            let path = file
                .file
                .clone()
                .ok_or_else(|| format!("track_file {} has no `file`", file.name))?;
            let name = file.name.clone();
            let id = self.intern(TrackerKind::File, &file.name, || {
                Ok(TrackerSource::File { name, path })
            })?;
            let weight = reference.weight.unwrap_or(file.weight);
            let mut object = TrackedObject::new(
                id,
                TrackerKind::File,
                weight,
                reference.reverse || file.reverse,
            );
            if let Some((value, _)) = file.init_file {
                object.initial = TrackerStatus::Value(value);
            }
            tracked.push(object);
        }
        for reference in &tracking.processes {
            tracked.push(self.process(reference)?);
        }
        if !tracking.bfds.is_empty() {
            tracing::warn!(
                instance = %owner,
                "track_bfd is parsed but not yet acted on by this build"
            );
        }
        Ok(tracked)
    }

    /// keepalived.conf `track_process { NAME [weight N] [reverse] }`.
    fn process(&mut self, reference: &TrackRef) -> Result<TrackedObject, String> {
        let Some(block) = self
            .config
            .track_processes
            .iter()
            .find(|p| p.name == reference.name)
        else {
            return Err(format!(
                "vrrp_track_process {} is not defined",
                reference.name
            ));
        };
        let spec = process_spec(block, &self.config.global)?;
        let id = self.intern(TrackerKind::Process, &block.name, || {
            Ok(TrackerSource::Process(spec))
        })?;
        let weight = reference.weight.unwrap_or(block.weight);
        Ok(TrackedObject::new(
            id,
            TrackerKind::Process,
            weight,
            reference.reverse || block.reverse,
        ))
    }

    fn script(&mut self, reference: &TrackRef) -> Result<TrackedObject, String> {
        let Some(script) = self
            .config
            .vrrp_scripts
            .iter()
            .find(|s| s.name == reference.name)
        else {
            return Err(format!("vrrp_script {} is not defined", reference.name));
        };
        let command = script
            .script
            .as_ref()
            .map(|s| s.command.clone())
            .ok_or_else(|| format!("vrrp_script {} has no `script`", script.name))?;
        let own = script
            .user
            .as_ref()
            .map(|(user, group)| (user.as_str(), group.as_deref()));
        let run_as = run_as(&self.config.global, own)
            .map_err(|e| format!("vrrp_script {}: {e}", script.name))?;
        let spec = ScriptSpec {
            name: script.name.clone(),
            command,
            interval: script.interval,
            timeout: script
                .timeout
                .unwrap_or(script.interval)
                .max(Duration::from_millis(10)),
            rise: script.rise,
            fall: script.fall,
            init_fail: script.init_fail,
            run_as,
        };
        let init_fail = script.init_fail;
        let id = self.intern(TrackerKind::Script, &script.name, || {
            Ok(TrackerSource::Script(spec))
        })?;
        let weight = reference.weight.unwrap_or(script.weight);
        let mut object = TrackedObject::new(
            id,
            TrackerKind::Script,
            weight,
            reference.reverse || script.weight_reverse,
        );
        if init_fail {
            object.initial = TrackerStatus::Down;
        }
        Ok(object)
    }
}

/// Who runs a script: keepalived.conf `user` (or the words after a notify script), else
/// `script_user`, else keepalived's default user (see [`crate::scripts`]). Validation has
/// already dropped the scripts for which this fails.
fn run_as(global: &GlobalDefs, own: Option<(&str, Option<&str>)>) -> Result<RunAs, String> {
    let global_user = global
        .script_user
        .as_ref()
        .map(|(user, group)| (user.as_str(), group.as_deref()));
    scripts::resolve(
        own,
        global_user,
        global.enable_script_security,
        scripts::lookup,
    )
    .map_err(|e| e.to_string())
}

/// keepalived.conf `vrrp_track_process` → what the process tracker follows. `delay` sets
/// both delays; global `vrrp_track_process_fork_delay`/`_terminate_delay` are the defaults.
fn process_spec(block: &TrackProcess, global: &GlobalDefs) -> Result<ProcessSpec, String> {
    let words = block
        .process
        .as_ref()
        .ok_or_else(|| format!("vrrp_track_process {} has no `process`", block.name))?;
    let (process, params) = words
        .split_first()
        .ok_or_else(|| format!("vrrp_track_process {} has no `process`", block.name))?;
    let param_match = match block.param_match.as_deref() {
        Some("initial") => ParamMatch::Initial,
        Some("partial") => ParamMatch::Partial,
        Some(_) => ParamMatch::Exact,
        None if params.is_empty() => ParamMatch::None,
        None => ParamMatch::Exact,
    };
    let quorum_max = block.quorum_max.unwrap_or(u32::MAX);
    Ok(ProcessSpec {
        name: block.name.clone(),
        process: process.clone(),
        params: params.to_vec(),
        param_match,
        full_command: block.full_command || param_match != ParamMatch::None,
        quorum: if quorum_max == 0 { 0 } else { block.quorum },
        quorum_max,
        fork_delay: block
            .fork_delay
            .or(block.delay)
            .or(global.vrrp_track_process_fork_delay)
            .unwrap_or(Duration::ZERO),
        terminate_delay: block
            .terminate_delay
            .or(block.delay)
            .or(global.vrrp_track_process_terminate_delay)
            .unwrap_or(Duration::ZERO),
    })
}

async fn instance_spec(
    instance: &VrrpInstance,
    control: &AddressControl,
    trackers: &mut TrackerTable<'_>,
) -> Result<InstanceSpec, BuildError> {
    let fail = |what: String| BuildError::Instance {
        place: instance.place.to_string(),
        instance: instance.name.clone(),
        what,
    };
    let interface = instance
        .interface
        .clone()
        .ok_or_else(|| fail("no `interface`".into()))?;
    let if_index = ifindex(&interface).map_err(|e: InterfaceError| fail(e.to_string()))?;
    let vrid = instance
        .virtual_router_id
        .ok_or_else(|| fail("no `virtual_router_id`".into()))?;
    let ipv6 = instance
        .virtual_ipaddress
        .first()
        .is_some_and(|vip| vip.addr.is_ipv6());

    let primary = match instance.mcast_src_ip.or(instance.unicast_src_ip) {
        Some(address) => address,
        None => primary_address(control, if_index, ipv6)
            .await?
            .ok_or_else(|| {
                fail(format!(
                    "interface {interface} has no {} address to send adverts from",
                    if ipv6 { "IPv6 link-local" } else { "IPv4" }
                ))
            })?,
    };

    let mut fsm = InstanceConfig::new(&instance.name, vrid, primary);
    fsm.version = if ipv6 || instance.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    fsm.priority = instance.priority;
    let centis = u16::try_from(instance.advert_int.as_millis() / 10).unwrap_or(u16::MAX);
    fsm.advert_interval = Centis::new(centis).ok_or_else(|| {
        fail(format!(
            "advert_int {:?} is out of range",
            instance.advert_int
        ))
    })?;
    fsm.nopreempt = !instance.preempt;
    fsm.preempt_delay = instance.preempt_delay;
    fsm.accept = instance.accept;
    fsm.down_timer_adverts = u8::try_from(instance.down_timer_adverts).unwrap_or(u8::MAX);
    fsm.higher_prio_send_advert = instance.higher_prio_send_advert;
    fsm.lower_prio_no_advert = instance.lower_prio_no_advert;
    fsm.notify_priority_changes = instance.notify_priority_changes.unwrap_or(false);
    fsm.garp = GarpConfig {
        master_delay: instance.garp_master_delay,
        master_repeat: instance.garp_master_repeat,
        master_refresh: instance.garp_master_refresh,
        master_refresh_repeat: instance.garp_master_refresh_repeat,
        lower_prio_delay: instance.garp_lower_prio_delay,
        lower_prio_repeat: instance.garp_lower_prio_repeat,
    };
    fsm.virtuals.addresses = instance
        .virtual_ipaddress
        .iter()
        .map(|vip| vip.addr)
        .collect();
    fsm.virtuals.excluded = instance
        .virtual_ipaddress_excluded
        .iter()
        .map(|vip| vip.addr)
        .collect();
    fsm.validate().map_err(|e| fail(e.to_string()))?;

    fsm.tracked = trackers
        .tracked(&instance.tracking, &instance.name)
        .map_err(fail)?;
    let origin = |block| Origin {
        block,
        instance: Some(&instance.name),
        vrid: Some(vrid),
    };
    let routes =
        routing::ip_routes(&instance.virtual_routes, &origin("virtual_routes")).map_err(fail)?;
    let rules =
        routing::ip_rules(&instance.virtual_rules, &origin("virtual_rules")).map_err(fail)?;
    let tracked_routes = instance.virtual_routes.iter().any(|r| !r.no_track)
        || instance.virtual_rules.iter().any(|r| !r.no_track);
    if tracked_routes {
        tracing::warn!(
            instance = %instance.name,
            vrid,
            "virtual_routes/virtual_rules: kad does not watch them for deletion by others \
             (keepalived leaves MASTER when a route or rule without no_track disappears); \
             they are reinstated at the next transition to MASTER"
        );
    }

    // use_vmac: adverts, VIPs and gratuitous ARPs move to a macvlan carrying the virtual MAC.
    let (socket_interface, vip_interface, vmac_name) = match &instance.use_vmac {
        Some(vmac) => {
            let name = vmac.name.clone().unwrap_or_else(|| format!("vrrp.{vrid}"));
            let mac = match &vmac.mac {
                Some(text) => parse_vmac(text, vrid)
                    .ok_or_else(|| fail(format!("use_vmac: bad MAC address {text:?}")))?,
                None => vmac::virtual_mac(vrid, ipv6),
            };
            vmac::ensure(control, &name, if_index, mac, ipv6)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let socket = if instance.vmac_xmit_base {
                interface.clone()
            } else {
                name.clone()
            };
            (socket, name.clone(), Some(name))
        }
        None => (interface.clone(), interface.clone(), None),
    };

    let mut addresses = Vec::new();
    for vip in instance
        .virtual_ipaddress
        .iter()
        .chain(instance.virtual_ipaddress_excluded.iter())
    {
        warn_unsupported_address_options(vip, "virtual_ipaddress", Some((&instance.name, vrid)));
        // keepalived: a VIP whose `dev` is the instance's own interface goes on the VMAC too.
        let dev = match vip.dev.as_deref() {
            None => vip_interface.as_str(),
            Some(dev) if dev == interface => vip_interface.as_str(),
            Some(dev) => dev,
        };
        addresses.push(interface_address(vip, dev).map_err(fail)?);
    }

    let auth = match &instance.authentication {
        Some(auth) if fsm.version == Version::V2 => {
            let pass = auth.auth_pass.as_deref().unwrap_or_default().as_bytes();
            match auth.auth_type {
                Some(AuthType::Pass) => AuthConfig::pass(pass),
                Some(AuthType::Ah) => AuthConfig::ah(pass),
                None => AuthConfig::None,
            }
        }
        _ => AuthConfig::None,
    };

    Ok(InstanceSpec {
        fsm,
        interface: socket_interface,
        vmac: vmac_name,
        addresses,
        auth,
        unicast_peers: instance
            .unicast_peers
            .iter()
            .map(|peer| peer.addr)
            .collect(),
        checksum: ChecksumMode::PseudoHeader,
        notify: notify_spec(
            &trackers.config.global,
            &instance.notify,
            instance.smtp_alert,
        )
        .map_err(fail)?,
        receive_interface: interface.clone(),
        strict: instance.strict_mode,
        primary_auto: instance.mcast_src_ip.or(instance.unicast_src_ip).is_none(),
        unicast_rx: unicast_rx(instance),
        garp_spacing: GarpSpacing::default(),
        routes,
        rules,
    })
}

/// The GARP/NA spacing on `interface`: its `garp_group`, else the global intervals.
fn garp_spacing(config: &Config, interface: &str) -> GarpSpacing {
    let global = GarpSpacing {
        arp: config.global.vrrp_garp_interval,
        na: config.global.vrrp_gna_interval,
    };
    config
        .garp_groups
        .iter()
        .find(|group| {
            group.interface.as_deref() == Some(interface)
                || group.interfaces.iter().any(|name| name == interface)
        })
        .map_or(global, |group| GarpSpacing {
            arp: group.garp_interval.unwrap_or(global.arp),
            na: group.gna_interval.unwrap_or(global.na),
        })
}

/// keepalived.conf `check_unicast_src` and each `unicast_peer`'s `min_ttl`/`max_ttl`.
fn unicast_rx(instance: &VrrpInstance) -> UnicastRx {
    let ttl_ranges: Vec<(IpAddr, u8, u8)> = instance
        .unicast_peers
        .iter()
        .filter(|peer| peer.min_ttl.is_some() || peer.max_ttl.is_some())
        .map(|peer| {
            (
                peer.addr,
                peer.min_ttl.unwrap_or(0),
                peer.max_ttl.unwrap_or(u8::MAX),
            )
        })
        .collect();
    UnicastRx {
        check_source: instance.check_unicast_src || !ttl_ranges.is_empty(),
        ttl_ranges,
    }
}

/// Logs each `ip addr` option of `address` that kad does not pass to the kernel.
fn warn_unsupported_address_options(
    address: &VirtualAddress,
    block: &str,
    owner: Option<(&str, u8)>,
) {
    let unsupported = [
        ("peer", address.peer.is_some()),
        ("home", address.home),
        ("mngtmpaddr", address.mngtmpaddr),
        ("noprefixroute", address.noprefixroute),
        ("autojoin", address.autojoin),
        ("preferred_lft", address.preferred_lft.is_some()),
    ];
    for (keyword, _) in unsupported.iter().filter(|(_, set)| *set) {
        tracing::warn!(
            instance = owner.map(|(name, _)| name),
            vrid = owner.map(|(_, vrid)| vrid),
            "{}: {block}: {}: '{keyword}' is not supported by kad - ignored",
            address.place,
            address.addr
        );
    }
}

/// keepalived.conf `use_vmac [NAME] [MAC]`: six octets, or five with the VRID as the sixth.
fn parse_vmac(text: &str, vrid: u8) -> Option<[u8; 6]> {
    let octets: Vec<u8> = text
        .split(':')
        .map(|part| u8::from_str_radix(part, 16).ok())
        .collect::<Option<_>>()?;
    match octets.as_slice() {
        [a, b, c, d, e] => Some([*a, *b, *c, *d, *e, vrid]),
        [a, b, c, d, e, f] => Some([*a, *b, *c, *d, *e, *f]),
        _ => None,
    }
}

fn notify_spec(
    global: &GlobalDefs,
    notify: &Notify,
    smtp_alert: Option<bool>,
) -> Result<NotifySpec, String> {
    Ok(NotifySpec {
        smtp_alert: crate::exec::smtp::alerts_enabled(global, smtp_alert),
        master: command(global, &notify.master)?,
        backup: command(global, &notify.backup)?,
        fault: command(global, &notify.fault)?,
        stop: command(global, &notify.stop)?,
        any: command(global, &notify.any)?,
    })
}

/// A notify or FIFO script with who runs it.
fn command(global: &GlobalDefs, script: &Option<Script>) -> Result<Option<ScriptCommand>, String> {
    let Some(script) = script else {
        return Ok(None);
    };
    let own = script
        .user
        .as_deref()
        .map(|user| (user, script.group.as_deref()));
    let run_as = run_as(global, own).map_err(|e| format!("script '{}': {e}", script.command))?;
    Ok(Some(ScriptCommand {
        command: script.command.clone(),
        run_as,
    }))
}

/// The address kad sends adverts from on `if_index`: its first IPv4 address, or its first
/// IPv6 link-local one (RFC 5798 §5.1.2.1), leaving out `exclude` (virtual addresses kad
/// itself holds).
pub(crate) async fn primary_address_excluding(
    control: &AddressControl,
    if_index: u32,
    ipv6: bool,
    exclude: &[IpAddr],
) -> Result<Option<IpAddr>, BuildError> {
    let addresses = control.list(if_index).await?;
    Ok(addresses
        .into_iter()
        .map(|(address, _)| address)
        .filter(|address| !exclude.contains(address))
        .find(|address| match address {
            IpAddr::V4(_) => !ipv6,
            IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
        }))
}

/// [`primary_address_excluding`] with nothing left out (at start).
async fn primary_address(
    control: &AddressControl,
    if_index: u32,
    ipv6: bool,
) -> Result<Option<IpAddr>, BuildError> {
    primary_address_excluding(control, if_index, ipv6, &[]).await
}

/// keepalived.conf `virtual_ipaddress` entry → an `ip addr add` request on `dev`.
fn interface_address(vip: &VirtualAddress, dev: &str) -> Result<InterfaceAddress, String> {
    let if_index = ifindex(dev).map_err(|e| format!("virtual_ipaddress {}: {e}", vip.addr))?;
    let scope = match vip.scope.as_deref() {
        None | Some("global") | Some("universe") => Scope::Global,
        Some("site") => Scope::Site,
        Some("link") => Scope::Link,
        Some("host") => Scope::Host,
        Some("nowhere") => Scope::Nowhere,
        Some(other) => {
            return Err(format!(
                "virtual_ipaddress {}: unsupported scope {other:?}",
                vip.addr
            ));
        }
    };
    let broadcast = match vip.broadcast {
        Some(IpAddr::V4(broadcast)) => Some(broadcast),
        _ => None,
    };
    Ok(InterfaceAddress {
        address: vip.addr,
        prefix_len: vip.prefix_len,
        ifindex: if_index,
        broadcast,
        scope,
        label: vip.label.clone(),
    })
}
