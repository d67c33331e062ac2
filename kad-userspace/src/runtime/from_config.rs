//! From the keepalived.conf model to what the VRRP runtime runs, as pure mapping:
//! keepalived's keywords to the core's settings, tracked objects listed once, notify
//! scripts with who runs them. What only the kernel knows is asked through [`Interfaces`]
//! (interface indexes); the primary addresses and the `use_vmac` interfaces are the async
//! resolver's ([`super::resolve`]), which calls into this module around them.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use thiserror::Error;

use crate::{
    config::model::{
        AuthType, Config, GlobalDefs, Notify, Script, TrackProcess, TrackRef, Tracking,
        VirtualAddress, VrrpInstance,
    },
    exec::scripts::{self, ResolveError, RunAs, ScriptCommand},
    exec::{fifo::FifoSpec, smtp::SmtpSpec},
    net::{
        addr::{AddressError, InterfaceAddress, Scope},
        interface::InterfaceError,
        vmac::{self, VmacError},
    },
    track::{
        ScriptSpec, TrackerSource,
        process::rules::{ParamMatch, ProcessSpec},
    },
    vrrp::{
        fsm::{
            Centis, ConfigError, GarpConfig, InstanceConfig, SyncGroupConfig, TrackedObject,
            TrackerId, TrackerKind, TrackerStatus, Version,
        },
        packet::{AuthConfig, ChecksumMode},
    },
};

use super::interfaces::Interfaces;
use super::{
    routing::{self, Origin, RoutingError},
    spec::{GarpSpacing, GroupSpec, InstanceSpec, NotifySpec, OldChecksum, StaticSpec, UnicastRx},
};

/// Why a part of the configuration cannot become what the runtime runs.
#[derive(Debug, Error)]
pub enum SpecError {
    /// keepalived.conf `vrrp_instance` without `interface`.
    #[error("no `interface`")]
    NoInterface,
    /// keepalived.conf `vrrp_instance` without `virtual_router_id`.
    #[error("no `virtual_router_id`")]
    NoVirtualRouterId,
    /// The instance's interface is not there.
    #[error(transparent)]
    Interface(#[from] InterfaceError),
    /// RFC 5798 §5.1.2.1: no address to send adverts from.
    #[error("interface {interface} has no {family} address to send adverts from")]
    NoPrimary {
        /// The instance's interface.
        interface: String,
        /// `IPv4` or `IPv6 link-local`.
        family: &'static str,
    },
    /// keepalived.conf `advert_int` beyond what a VRRP advert carries.
    #[error("advert_int {0:?} is out of range")]
    AdvertInt(Duration),
    /// The core refuses the instance's settings.
    #[error(transparent)]
    Core(#[from] ConfigError),
    /// A `virtual_routes`/`virtual_rules`/`static_routes`/`static_rules` entry.
    #[error(transparent)]
    Routing(#[from] RoutingError),
    /// keepalived.conf `use_vmac [NAME] [MAC]` with a MAC that is not one.
    #[error("use_vmac: bad MAC address {0:?}")]
    VmacAddress(String),
    /// The `use_vmac` interface could not be made.
    #[error(transparent)]
    Vmac(#[from] VmacError),
    /// The `use_ipvlan` interface could not be made.
    #[error(transparent)]
    Ipvlan(#[from] crate::net::ipvlan::IpvlanError),
    /// A `virtual_ipaddress`/`static_ipaddress` on an interface that is not there.
    #[error("virtual_ipaddress {address}: {source}")]
    AddressInterface {
        /// The address.
        address: IpAddr,
        /// Why.
        source: InterfaceError,
    },
    /// keepalived.conf `scope` that `ip addr` does not know.
    #[error("virtual_ipaddress {address}: unsupported scope {scope:?}")]
    AddressScope {
        /// The address.
        address: IpAddr,
        /// The scope as written.
        scope: String,
    },
    /// keepalived.conf `track_interface` naming an interface that is not there.
    #[error("track_interface {name}: {source}")]
    TrackInterface {
        /// The interface.
        name: String,
        /// Why.
        source: InterfaceError,
    },
    /// A tracked `vrrp_script`, `track_file` or `vrrp_track_process` that is not defined.
    #[error("{kind} {name} is not defined")]
    Undefined {
        /// `vrrp_script`, `track_file` or `vrrp_track_process`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A tracked object without its required keyword.
    #[error("{kind} {name} has no `{keyword}`")]
    Incomplete {
        /// `vrrp_script`, `track_file` or `vrrp_track_process`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The keyword it lacks.
        keyword: &'static str,
    },
    /// More tracked objects than a tracker id counts.
    #[error("too many tracked objects")]
    TooManyTrackers,
    /// keepalived.conf `vrrp_script` `user` (or `script_user`) that cannot run it.
    #[error("vrrp_script {name}: {source}")]
    ScriptUser {
        /// The vrrp_script.
        name: String,
        /// Why.
        source: ResolveError,
    },
    /// A notify or FIFO script's user that cannot run it.
    #[error("script '{command}': {source}")]
    CommandUser {
        /// The script as written.
        command: String,
        /// Why.
        source: ResolveError,
    },
    /// keepalived.conf `vrrp_sync_group` `group { NAME }` naming no instance.
    #[error("vrrp_sync_group member {0} is not a vrrp_instance")]
    NotAnInstance(String),
    /// keepalived.conf `notify_fifo`/`vrrp_notify_fifo` (+ `_script`).
    #[error("{keyword}: {source}")]
    Fifo {
        /// The keyword.
        keyword: String,
        /// Why.
        source: Box<SpecError>,
    },
    /// keepalived.conf `static_ipaddress`.
    #[error("{place}: static_ipaddress: {source}")]
    StaticAddress {
        /// Where the entry is (file:line:col).
        place: String,
        /// Why.
        source: Box<SpecError>,
    },
}

/// A `vrrp_instance` the runtime cannot run on this machine.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The instance (or sync group) names something that is not there or cannot work.
    #[error("{place}: vrrp_instance {instance}: {what}")]
    Instance {
        /// Where the instance is declared (file:line:col).
        place: String,
        /// Its name.
        instance: String,
        /// What is wrong.
        what: Box<SpecError>,
    },
    /// A `static_ipaddress`, `static_routes` or `static_rules` entry cannot be installed.
    #[error(transparent)]
    Static(Box<SpecError>),
    /// Reading the interface's addresses failed.
    #[error(transparent)]
    Netlink(#[from] AddressError),
    /// A global setting cannot work.
    #[error("global_defs: {what}")]
    Global {
        /// What is wrong.
        what: Box<SpecError>,
    },
}

impl BuildError {
    /// `what` went wrong in `instance` (a `vrrp_instance` or `vrrp_sync_group`).
    pub fn instance(place: &impl ToString, instance: &str, what: SpecError) -> Self {
        Self::Instance {
            place: place.to_string(),
            instance: instance.to_owned(),
            what: Box::new(what),
        }
    }
}

/// keepalived.conf `vrrp_sync_group`s: members by index into `vrrp_instances`, tracking,
/// notify scripts.
pub fn groups(
    config: &Config,
    trackers: &mut TrackerTable<'_>,
) -> Result<Vec<GroupSpec>, BuildError> {
    let mut groups = Vec::with_capacity(config.sync_groups.len());
    for group in &config.sync_groups {
        let fail = |what: SpecError| BuildError::instance(&group.place, &group.name, what);
        let mut members = Vec::new();
        for (name, _) in &group.group {
            let index = config
                .vrrp_instances
                .iter()
                .position(|instance| instance.name == *name)
                .ok_or_else(|| fail(SpecError::NotAnInstance(name.clone())))?;
            members.push(index);
        }
        let mut sync = SyncGroupConfig::new(&group.name);
        sync.tracking_weight = group.sync_group_tracking_weight || group.global_tracking;
        sync.tracked = trackers.tracked(&group.tracking).map_err(fail)?;
        groups.push(GroupSpec {
            config: sync,
            members,
            notify: notify_spec(&config.global, &group.notify, group.smtp_alert).map_err(fail)?,
        });
    }
    Ok(groups)
}

/// keepalived.conf global `notify_fifo` and `vrrp_notify_fifo` (+ `_script`).
pub fn notify_fifos(config: &Config) -> Result<Vec<FifoSpec>, BuildError> {
    let mut notify_fifos = Vec::new();
    for keyword in ["notify_fifo", "vrrp_notify_fifo"] {
        if let Some(fifo) = config.global.fifos.get(keyword) {
            let script_keyword = format!("{keyword}_script");
            let script = config.global.fifos.get(&script_keyword);
            let script =
                command(&config.global, &script.cloned()).map_err(|source| BuildError::Global {
                    what: Box::new(SpecError::Fifo {
                        keyword: script_keyword,
                        source: Box::new(source),
                    }),
                })?;
            // keepalived.conf `notify_fifo FILE [USER [GROUP]]`: the FIFO's owner.
            let owner = command(&config.global, &Some(fifo.clone()))
                .map_err(|source| BuildError::Global {
                    what: Box::new(SpecError::Fifo {
                        keyword: keyword.to_owned(),
                        source: Box::new(source),
                    }),
                })?
                .map_or(RunAs::ROOT, |c| c.run_as);
            notify_fifos.push(FifoSpec {
                path: fifo.command.clone().into(),
                owner,
                script,
            });
        }
    }
    Ok(notify_fifos)
}

/// keepalived.conf global_defs `smtp_*`, `notification_email*`: the mail settings.
pub fn smtp(config: &Config) -> Option<SmtpSpec> {
    SmtpSpec::from_config(config)
}

/// keepalived.conf `vrrp_instance` `interface`.
pub fn interface_of(instance: &VrrpInstance) -> Result<&str, SpecError> {
    instance.interface.as_deref().ok_or(SpecError::NoInterface)
}

/// keepalived.conf `vrrp_instance` `virtual_router_id`.
pub fn vrid_of(instance: &VrrpInstance) -> Result<u8, SpecError> {
    instance
        .virtual_router_id
        .ok_or(SpecError::NoVirtualRouterId)
}

/// Whether the instance is IPv6: its first virtual address is, or keepalived.conf
/// `native_ipv6` says so.
pub fn is_ipv6(instance: &VrrpInstance) -> bool {
    instance.native_ipv6
        || instance
            .virtual_ipaddress
            .first()
            .is_some_and(|vip| vip.addr.is_ipv6())
}

/// keepalived.conf `use_vmac [NAME] [MAC]`: the macvlan the resolver makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacPlan {
    /// Its name (`vrrp.VRID` unless named).
    pub name: String,
    /// Its MAC (RFC 5798 §7.3 virtual MAC unless given).
    pub mac: [u8; 6],
    /// Named by kad (`vmac_prefix`): the resolver picks the next name when it is taken.
    pub auto: bool,
}

/// global `vmac_prefix` (default `vrrp`).
pub fn vmac_prefix(config: &Config) -> &str {
    config
        .global
        .other
        .get("vmac_prefix")
        .and_then(|words| words.first())
        .map_or(super::vmac_names::DEFAULT_PREFIX, String::as_str)
}

/// global `vmac_addr_prefix` (default `vmac_prefix`): the prefix of `use_vmac_addr` VMACs.
pub fn vmac_addr_prefix(config: &Config) -> &str {
    config
        .global
        .other
        .get("vmac_addr_prefix")
        .and_then(|words| words.first())
        .map_or_else(|| vmac_prefix(config), String::as_str)
}

/// One `vrrp_instance` as the runtime runs it, sent from `primary`, without its addresses
/// (they wait for the `use_vmac` interface: [`vip_addresses`]); with the macvlan to make,
/// if any.
pub fn instance_spec(
    instance: &VrrpInstance,
    primary: IpAddr,
    trackers: &mut TrackerTable<'_>,
) -> Result<(InstanceSpec, Option<VmacPlan>), SpecError> {
    let interface = interface_of(instance)?.to_owned();
    let vrid = vrid_of(instance)?;
    let ipv6 = is_ipv6(instance);
    let mut fsm = InstanceConfig::new(&instance.name, vrid, primary);
    fsm.version = if ipv6 || instance.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    fsm.priority = instance.priority;
    let centis = u16::try_from(instance.advert_int.as_millis() / 10).unwrap_or(u16::MAX);
    fsm.advert_interval = Centis::new(centis).ok_or(SpecError::AdvertInt(instance.advert_int))?;
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
        extra_interfaces: instance
            .garp_extra_if
            .map(|extra| extra.interval)
            .unwrap_or_default(),
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
    // keepalived.conf `unicast_fault_no_peer` (a unicast keyword itself): without any
    // `unicast_peer` the instance stays in FAULT rather than falling back to multicast.
    fsm.config_fault = instance.unicast_fault_no_peer && instance.unicast_peers.is_empty();
    if fsm.config_fault {
        tracing::warn!(
            instance = %instance.name,
            vrid,
            "Cannot use unicast without any peers - going to fault state"
        );
    }
    fsm.validate()?;

    fsm.tracked = trackers.tracked(&instance.tracking)?;
    trackers.static_tracked(&instance.name, &mut fsm.tracked)?;
    let origin = |block| Origin {
        block,
        instance: Some(&instance.name),
        vrid: Some(vrid),
        interfaces: trackers.interfaces,
    };
    let routes = routing::ip_routes(&instance.virtual_routes, &origin("virtual_routes"))?;
    let rules = routing::ip_rules(&instance.virtual_rules, &origin("virtual_rules"))?;
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
    let (socket_interface, vmac) = match &instance.use_vmac {
        Some(vmac) => {
            let name = vmac.name.clone().unwrap_or_else(|| {
                super::vmac_names::vmac_name(vmac_prefix(trackers.config), vrid, ipv6, |_| false)
            });
            let mac = match &vmac.mac {
                Some(text) => {
                    parse_vmac(text, vrid).ok_or_else(|| SpecError::VmacAddress(text.clone()))?
                }
                None => vmac::virtual_mac(vrid, ipv6),
            };
            let socket = if instance.vmac_xmit_base {
                interface.clone()
            } else {
                name.clone()
            };
            let auto = vmac.name.is_none();
            (socket, Some(VmacPlan { name, mac, auto }))
        }
        None => (interface.clone(), None),
    };

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

    let spec = InstanceSpec {
        fsm,
        interface: socket_interface,
        vmac: vmac.as_ref().map(|v| v.name.clone()),
        address_vmacs: Vec::new(),
        addresses: Vec::new(),
        auth,
        unicast_peers: instance
            .unicast_peers
            .iter()
            .map(|peer| peer.addr)
            .collect(),
        multicast_group: multicast_group(instance, &trackers.config.global, primary),
        unicast_ttl: instance.unicast_ttl,
        kernel_rx_buf_size: instance.kernel_rx_buf_size.unwrap_or(0),
        log_unknown_vrids: trackers
            .config
            .global
            .other
            .contains_key("log_unknown_vrids"),
        track_src_ip: instance.track_src_ip
            && instance.mcast_src_ip.or(instance.unicast_src_ip).is_some(),
        checksum: ChecksumMode::PseudoHeader,
        old_checksum: match instance.old_unicast_checksum {
            None => OldChecksum::Detect,
            Some(true) => OldChecksum::Never,
            Some(false) => OldChecksum::Use,
        },
        checksum_group: match trackers.config.global.vrrp_mcast_group4 {
            IpAddr::V4(group) => group,
            IpAddr::V6(_) => std::net::Ipv4Addr::new(224, 0, 0, 18),
        },
        notify: notify_spec(
            &trackers.config.global,
            &instance.notify,
            instance.smtp_alert,
        )?,
        receive_interface: interface.clone(),
        strict: instance.strict_mode,
        primary_auto: instance.mcast_src_ip.or(instance.unicast_src_ip).is_none(),
        unicast_rx: unicast_rx(instance),
        dont_track_primary: instance.dont_track_primary,
        promote_secondaries: instance.promote_secondaries && instance.use_vmac.is_none(),
        garp_extra_all: instance.garp_extra_if.is_some_and(|extra| extra.all),
        garp_spacing: garp_spacing(trackers.config, &interface),
        routes,
        rules,
        bfd_master: instance.bfd_master.clone(),
    };
    Ok((spec, vmac))
}

/// keepalived.conf `mcast_dst_ip`, else global `vrrp_mcast_group4` / `vrrp_mcast_group6`:
/// the group of the instance's family (that of its primary address) its adverts go to.
/// A `mcast_dst_ip` of the other family was already dropped by the parser, as keepalived
/// drops it; one left over here is ignored the same way.
pub fn multicast_group(instance: &VrrpInstance, global: &GlobalDefs, primary: IpAddr) -> IpAddr {
    let default = if primary.is_ipv6() {
        global.vrrp_mcast_group6
    } else {
        global.vrrp_mcast_group4
    };
    instance
        .mcast_dst_ip
        .filter(|group| group.is_ipv6() == primary.is_ipv6())
        .unwrap_or(default)
}

/// keepalived.conf `virtual_ipaddress` and `virtual_ipaddress_excluded` of an instance as
/// `ip addr add` requests: on `vip_interface` (the instance's interface, or its
/// `use_vmac` one), or on the address's own `dev`.
pub fn vip_addresses(
    instance: &VrrpInstance,
    vip_interface: &str,
    interfaces: &dyn Interfaces,
) -> Result<Vec<InterfaceAddress>, SpecError> {
    let interface = interface_of(instance)?;
    let vrid = vrid_of(instance)?;
    let mut addresses = Vec::new();
    for vip in instance
        .virtual_ipaddress
        .iter()
        .chain(instance.virtual_ipaddress_excluded.iter())
    {
        warn_unsupported_address_options(vip, "virtual_ipaddress", Some((&instance.name, vrid)));
        // keepalived: a VIP whose `dev` is the instance's own interface goes on the VMAC too.
        let dev = match vip.dev.as_deref() {
            None => vip_interface,
            Some(dev) if dev == interface => vip_interface,
            Some(dev) => dev,
        };
        addresses.push(interface_address(vip, dev, interfaces)?);
    }
    Ok(addresses)
}

/// keepalived.conf `static_ipaddress`, `static_routes`, `static_rules`. An address without
/// `dev` goes on `default_interface` (keepalived.conf(5); default eth0).
pub fn static_spec(config: &Config, interfaces: &dyn Interfaces) -> Result<StaticSpec, SpecError> {
    let default_dev = config.global.default_interface.as_deref().unwrap_or("eth0");
    let mut addresses = Vec::with_capacity(config.static_ipaddress.len());
    for address in &config.static_ipaddress {
        let dev = address.dev.as_deref().unwrap_or(default_dev);
        warn_unsupported_address_options(address, "static_ipaddress", None);
        addresses.push(
            interface_address(address, dev, interfaces).map_err(|source| {
                SpecError::StaticAddress {
                    place: address.place.to_string(),
                    source: Box::new(source),
                }
            })?,
        );
    }
    let origin = |block| Origin {
        block,
        instance: None,
        vrid: None,
        interfaces,
    };
    Ok(StaticSpec {
        addresses,
        routes: routing::ip_routes(&config.static_routes, &origin("static_routes"))?,
        rules: routing::ip_rules(&config.static_rules, &origin("static_rules"))?,
        untracked_addresses: config
            .static_ipaddress
            .iter()
            .filter(|a| a.no_track)
            .map(|a| a.addr)
            .collect(),
    })
}

/// Tracked objects by kind and name, each listed once however many instances track it.
pub struct TrackerTable<'a> {
    config: &'a Config,
    interfaces: &'a dyn Interfaces,
    sources: Vec<TrackerSource>,
    index: HashMap<(TrackerKind, String), u32>,
}

impl<'a> TrackerTable<'a> {
    /// An empty table for `config`.
    pub fn new(config: &'a Config, interfaces: &'a dyn Interfaces) -> Self {
        Self {
            config,
            interfaces,
            sources: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The tracked objects, in [`TrackerId`] order.
    pub fn into_sources(self) -> Vec<TrackerSource> {
        self.sources
    }

    fn intern(
        &mut self,
        kind: TrackerKind,
        name: &str,
        make: impl FnOnce() -> Result<TrackerSource, SpecError>,
    ) -> Result<TrackerId, SpecError> {
        if let Some(index) = self.index.get(&(kind, name.to_owned())) {
            return Ok(TrackerId(*index));
        }
        let index = u32::try_from(self.sources.len()).map_err(|_| SpecError::TooManyTrackers)?;
        self.sources.push(make()?);
        self.index.insert((kind, name.to_owned()), index);
        Ok(TrackerId(index))
    }

    /// `track_script`, `track_interface` and `track_file` entries of an instance or group.
    pub fn tracked(&mut self, tracking: &Tracking) -> Result<Vec<TrackedObject>, SpecError> {
        let mut tracked = Vec::new();
        for reference in &tracking.scripts {
            tracked.push(self.script(reference)?);
        }
        for reference in &tracking.interfaces {
            let id = self.interface(&reference.name)?;
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
                return Err(SpecError::Undefined {
                    kind: "track_file",
                    name: reference.name.clone(),
                });
            };
            let path = file.file.clone().ok_or_else(|| SpecError::Incomplete {
                kind: "track_file",
                name: file.name.clone(),
                keyword: "file",
            })?;
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
        for reference in &tracking.bfds {
            tracked.push(self.bfd(reference)?);
        }
        Ok(tracked)
    }

    /// An interface tracked by name (`track_interface`, static track groups).
    fn interface(&mut self, name: &str) -> Result<TrackerId, SpecError> {
        let interfaces = self.interfaces;
        self.intern(TrackerKind::Interface, name, || {
            let ifindex = interfaces
                .ifindex(name)
                .map_err(|source| SpecError::TrackInterface {
                    name: name.to_owned(),
                    source,
                })?;
            Ok(TrackerSource::Interface {
                name: name.to_owned(),
                ifindex,
            })
        })
    }

    /// keepalived.conf `track_group` (static track groups): the interfaces of the static
    /// entries of `instance`'s groups, tracked with weight 0 (FAULT while down) unless
    /// `tracked` already tracks them.
    pub fn static_tracked(
        &mut self,
        instance: &str,
        tracked: &mut Vec<TrackedObject>,
    ) -> Result<(), SpecError> {
        for name in static_track::tracked_interfaces(self.config, instance) {
            let id = self.interface(&name)?;
            if tracked.iter().any(|t| t.id == id) {
                continue;
            }
            tracked.push(TrackedObject::new(id, TrackerKind::Interface, 0, false));
        }
        Ok(())
    }

    /// keepalived.conf `track_bfd { NAME [weight N [reverse]] }`: down until the session
    /// first comes up (keepalived's tracked BFD starts down); the `bfd_instance`'s own
    /// `weight` is the default.
    fn bfd(&mut self, reference: &TrackRef) -> Result<TrackedObject, SpecError> {
        let Some(instance) = self
            .config
            .bfd_instances
            .iter()
            .find(|b| b.name == reference.name)
        else {
            return Err(SpecError::Undefined {
                kind: "bfd_instance",
                name: reference.name.clone(),
            });
        };
        let name = instance.name.clone();
        let id = self.intern(TrackerKind::Bfd, &instance.name, || {
            Ok(TrackerSource::Bfd { name })
        })?;
        let weight = reference.weight.unwrap_or(instance.weight);
        let mut object = TrackedObject::new(id, TrackerKind::Bfd, weight, reference.reverse);
        object.initial = TrackerStatus::Down;
        Ok(object)
    }

    /// keepalived.conf `track_process { NAME [weight N] [reverse] }`.
    fn process(&mut self, reference: &TrackRef) -> Result<TrackedObject, SpecError> {
        let Some(block) = self
            .config
            .track_processes
            .iter()
            .find(|p| p.name == reference.name)
        else {
            return Err(SpecError::Undefined {
                kind: "vrrp_track_process",
                name: reference.name.clone(),
            });
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

    fn script(&mut self, reference: &TrackRef) -> Result<TrackedObject, SpecError> {
        let Some(script) = self
            .config
            .vrrp_scripts
            .iter()
            .find(|s| s.name == reference.name)
        else {
            return Err(SpecError::Undefined {
                kind: "vrrp_script",
                name: reference.name.clone(),
            });
        };
        let command = script
            .script
            .as_ref()
            .map(|s| s.command.clone())
            .ok_or_else(|| SpecError::Incomplete {
                kind: "vrrp_script",
                name: script.name.clone(),
                keyword: "script",
            })?;
        let own = script
            .user
            .as_ref()
            .map(|(user, group)| (user.as_str(), group.as_deref()));
        let run_as =
            scripts::run_as(&self.config.global, own).map_err(|source| SpecError::ScriptUser {
                name: script.name.clone(),
                source,
            })?;
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

/// keepalived.conf `vrrp_track_process` → what the process tracker follows. `delay` sets
/// both delays; global `vrrp_track_process_fork_delay`/`_terminate_delay` are the defaults.
fn process_spec(block: &TrackProcess, global: &GlobalDefs) -> Result<ProcessSpec, SpecError> {
    let incomplete = || SpecError::Incomplete {
        kind: "vrrp_track_process",
        name: block.name.clone(),
        keyword: "process",
    };
    let words = block.process.as_ref().ok_or_else(incomplete)?;
    let (process, params) = words.split_first().ok_or_else(incomplete)?;
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

/// The GARP/NA spacing on `interface`: its `garp_group`, else the global intervals.
pub fn garp_spacing(config: &Config, interface: &str) -> GarpSpacing {
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
pub(super) fn parse_vmac(text: &str, vrid: u8) -> Option<[u8; 6]> {
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

/// keepalived.conf `notify_master`/`_backup`/`_fault`/`_stop`, `notify` and `smtp_alert` of
/// an instance or sync group (with global `no_email_faults`).
fn notify_spec(
    global: &GlobalDefs,
    notify: &Notify,
    smtp_alert: Option<bool>,
) -> Result<NotifySpec, SpecError> {
    Ok(NotifySpec {
        smtp_alert: crate::exec::smtp::alerts_enabled(global, smtp_alert),
        no_email_faults: global.other.contains_key("no_email_faults"),
        master: command(global, &notify.master)?,
        backup: command(global, &notify.backup)?,
        fault: command(global, &notify.fault)?,
        stop: command(global, &notify.stop)?,
        notify_deleted: notify.deleted.is_some(),
        deleted: command(global, notify.deleted.as_ref().unwrap_or(&None))?,
        master_rx_lower_pri: command(global, &notify.master_rx_lower_pri)?,
        any: command(global, &notify.any)?,
    })
}

/// A notify or FIFO script with who runs it.
fn command(
    global: &GlobalDefs,
    script: &Option<Script>,
) -> Result<Option<ScriptCommand>, SpecError> {
    let Some(script) = script else {
        return Ok(None);
    };
    let own = script
        .user
        .as_deref()
        .map(|user| (user, script.group.as_deref()));
    let run_as = scripts::run_as(global, own).map_err(|source| SpecError::CommandUser {
        command: script.command.clone(),
        source,
    })?;
    Ok(Some(ScriptCommand {
        command: script.command.clone(),
        run_as,
    }))
}

/// keepalived.conf `virtual_ipaddress` entry → an `ip addr add` request on `dev`.
fn interface_address(
    vip: &VirtualAddress,
    dev: &str,
    interfaces: &dyn Interfaces,
) -> Result<InterfaceAddress, SpecError> {
    let if_index = interfaces
        .ifindex(dev)
        .map_err(|source| SpecError::AddressInterface {
            address: vip.addr,
            source,
        })?;
    let scope = match vip.scope.as_deref() {
        None | Some("global") | Some("universe") => Scope::Global,
        Some("site") => Scope::Site,
        Some("link") => Scope::Link,
        Some("host") => Scope::Host,
        Some("nowhere") => Scope::Nowhere,
        Some(other) => {
            return Err(SpecError::AddressScope {
                address: vip.addr,
                scope: other.to_owned(),
            });
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

mod static_track;
#[cfg(test)]
mod tests;
