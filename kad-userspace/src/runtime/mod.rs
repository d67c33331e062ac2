//! The VRRP runtime: one tokio task owns every instance's state machine and one timer
//! structure; receive tasks decode and validate adverts off the protocol path and send only
//! valid ones in; actions go out to the sockets, a kernel worker (addresses, routes, rules,
//! gratuitous ARP/NA, in order) and notify processes, none of which the protocol loop waits
//! for. `static_*` addresses, routes and rules are installed at start, diffed on reload and
//! removed at exit, whatever the instances do.
//!
//! ```text
//! socket rx tasks ──valid adverts──▶ protocol loop (Instance::handle, timers) ──▶ actions
//!                                                  │ SendAdvert ─▶ socket
//!                                                  │ Add/RemoveVirtuals, Gratuitous ─▶ kernel worker
//!                                                  └ Notify ─▶ notify processes
//! ```

mod accept;
mod clock;
mod dataplane;
mod engine;
mod executor;
mod from_config;
mod interfaces;
mod kernel;
mod notify;
mod receive;
mod resolve;
mod routing;
mod spec;
mod status;
mod timers;

pub use clock::Clock;
pub use dataplane::{ReceivePath, ReceiveStats, RunOptions};
pub use from_config::{BuildError, SpecError};
pub use resolve::runtime_spec;
pub use spec::{
    GarpSpacing, GroupSpec, InstanceSpec, NotifySpec, RuntimeSpec, StaticSpec, UnicastRx,
};

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use thiserror::Error;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{
    exec::fifo::{FifoSpec, FifoWriter},
    net::{
        addr::{AddressControl, AddressError},
        garp::FrameSender,
        interface::{InterfaceError, ifindex, mac_address},
        link_monitor,
        vrrp_socket::{SocketError, VrrpSocket},
    },
    status::InstanceState,
    track::{self, TrackerSource, TrackerUpdate},
    vrrp::fsm::{ConfigError, Instance, SyncGroup, TrackerStatus},
};

use self::{
    engine::{Engine, Machine, Unit, UnitIdentity},
    executor::Executor,
    kernel::KernelWorker,
    receive::Route,
    timers::Timers,
};

/// Longest a stopping kad waits for successors to take its addresses over (the release
/// window of an instance is 1.25 advert intervals; this caps long intervals).
const RELEASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Why the runtime could not start (once running, it logs and carries on).
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// An instance's settings cannot run.
    #[error("vrrp_instance {instance}: {source}")]
    Instance {
        /// Instance name.
        instance: String,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// An interface named in the configuration is missing.
    #[error("vrrp_instance {instance}: {source}")]
    Interface {
        /// Instance name.
        instance: String,
        /// What is wrong.
        #[source]
        source: InterfaceError,
    },
    /// A VRRP socket could not be opened.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The link monitor could not be opened.
    #[error("subscribing to link changes: {0}")]
    LinkMonitor(#[source] std::io::Error),
    /// The rtnetlink connection could not be opened.
    #[error(transparent)]
    Netlink(#[from] AddressError),
    /// The packet socket for gratuitous ARP could not be opened.
    #[error("packet socket on {interface}: {source}")]
    PacketSocket {
        /// Interface name.
        interface: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
}

/// A received, validated advert for one instance.
pub(crate) struct Inbound {
    /// The receive tasks' generation (bumped on reload; older messages are dropped).
    generation: u64,
    slot: usize,
    advert: crate::vrrp::fsm::Advert,
}

/// Per-instance IO handles, built once when the instance starts.
pub(crate) struct Slot {
    pub(crate) spec: InstanceSpec,
    pub(crate) socket: Arc<VrrpSocket>,
    pub(crate) frames: Arc<FrameSender>,
    pub(crate) mac: [u8; 6],
    pub(crate) ifindex: u32,
    pub(crate) link_up: bool,
    pub(crate) ah_seq: u32,
    pub(crate) ip_id: u16,
    /// Set while XDP receives this instance's adverts.
    pub(crate) xdp: Option<dataplane::XdpSlot>,
    /// Adverts, errors and transitions counted for status and metrics.
    pub(crate) counters: Arc<crate::status::counters::InstanceCounters>,
}

/// What the daemon asks of a running runtime.
#[derive(Debug)]
pub enum Control {
    /// SIGHUP: run this configuration instead. Instances whose settings did not change keep
    /// running untouched (no state change, no VIP flap).
    Reload(Box<RuntimeSpec>),
    /// SIGTERM/SIGINT: stop every instance and return.
    Stop,
}

/// Sockets (shared by the instances of one interface and family), receive tasks and
/// tracker tasks.
struct Io {
    sockets: HashMap<(String, bool), Arc<VrrpSocket>>,
    /// keepalived.conf `auth_type AH`: the receive-only IP protocol 51 socket of each
    /// interface with an AH instance (AH adverts never reach the protocol 112 socket).
    ah_sockets: HashMap<String, Arc<VrrpSocket>>,
    receivers: Vec<JoinHandle<()>>,
    trackers: Vec<JoinHandle<()>>,
    generation: u64,
    inbound: mpsc::Sender<Inbound>,
    updates: mpsc::Sender<TrackerUpdate>,
    stats: Arc<ReceiveStats>,
}

impl Io {
    /// Opens (or reuses) what instance `spec` needs and returns its slot.
    fn slot(&mut self, spec: InstanceSpec) -> Result<Slot, RuntimeError> {
        let name = spec.fsm.name.to_string();
        let interface = spec.interface.clone();
        let interface_error = |source| RuntimeError::Interface {
            instance: name.clone(),
            source,
        };
        let if_index = ifindex(&interface).map_err(interface_error)?;
        let mac = mac_address(&interface).map_err(interface_error)?;
        let key = (interface.clone(), spec.fsm.primary_address.is_ipv6());
        let socket = match self.sockets.get(&key) {
            Some(socket) => Arc::clone(socket),
            None => {
                let socket = Arc::new(match spec.fsm.primary_address {
                    IpAddr::V4(_) => VrrpSocket::open_v4(&interface, if_index)?,
                    IpAddr::V6(source) => VrrpSocket::open_v6(&interface, if_index, source)?,
                });
                self.sockets.insert(key, Arc::clone(&socket));
                socket
            }
        };
        if matches!(spec.auth, crate::vrrp::packet::AuthConfig::Ah(_))
            && spec.fsm.primary_address.is_ipv4()
            && !self.ah_sockets.contains_key(&interface)
        {
            let socket = VrrpSocket::open_v4_ah(&interface, if_index)?;
            self.ah_sockets.insert(interface.clone(), Arc::new(socket));
        }
        let frames = FrameSender::open(if_index).map_err(|source| RuntimeError::PacketSocket {
            interface: interface.clone(),
            source,
        })?;
        Ok(Slot {
            spec,
            socket,
            frames: Arc::new(frames),
            mac,
            ifindex: if_index,
            link_up: link_monitor::is_up(&interface),
            ah_seq: 0,
            ip_id: 0,
            xdp: None,
            counters: Arc::default(),
        })
    }

    /// (Re)starts one receive task per socket, routing by VRID to `slots`.
    fn start_receivers(&mut self, slots: &[Slot]) {
        for task in self.receivers.drain(..) {
            task.abort();
        }
        self.generation += 1;
        let mut routes: HashMap<(String, bool), Vec<Route>> = HashMap::new();
        for (index, slot) in slots.iter().enumerate() {
            let key = (
                slot.spec.interface.clone(),
                slot.spec.fsm.primary_address.is_ipv6(),
            );
            routes.entry(key).or_default().push(Route::new(
                index,
                &slot.spec,
                Arc::clone(&slot.counters),
            ));
        }
        // AH adverts arrive on their own socket; its routes are those of the interface's
        // IPv4 instances (each task keeps its own AH replay state).
        for (interface, socket) in &self.ah_sockets {
            let routes = slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| {
                    slot.spec.interface == *interface && !slot.spec.fsm.primary_address.is_ipv6()
                })
                .map(|(index, slot)| Route::new(index, &slot.spec, Arc::clone(&slot.counters)))
                .collect();
            self.receivers.push(tokio::spawn(receive::run(
                Arc::clone(socket),
                false,
                routes,
                self.generation,
                self.inbound.clone(),
                Arc::clone(&self.stats),
            )));
        }
        for (key, socket) in &self.sockets {
            let routes = routes.remove(key).unwrap_or_default();
            self.receivers.push(tokio::spawn(receive::run(
                Arc::clone(socket),
                key.1,
                routes,
                self.generation,
                self.inbound.clone(),
                Arc::clone(&self.stats),
            )));
        }
    }

    /// (Re)starts the tracker tasks; returns the tracked interfaces for the link monitor and
    /// the statuses read now (tracked processes), for units about to start.
    fn start_trackers(&mut self, sources: &[TrackerSource]) -> StartedTrackers {
        for task in self.trackers.drain(..) {
            task.abort();
        }
        let mut links = Vec::new();
        let mut processes = Vec::new();
        for (index, source) in sources.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match source {
                TrackerSource::Script(script) => {
                    self.trackers
                        .push(tokio::spawn(track::supervised::script_task(
                            index,
                            script.clone(),
                            self.updates.clone(),
                        )));
                }
                TrackerSource::File { name, path } => {
                    self.trackers
                        .push(tokio::spawn(track::supervised::file_task(
                            index,
                            name.clone(),
                            path.clone(),
                            self.updates.clone(),
                        )));
                }
                TrackerSource::Process(spec) => processes.push((index, spec.clone())),
                TrackerSource::Interface { name, ifindex } => {
                    links.push((index, *ifindex, link_monitor::is_up(name)));
                }
            }
        }
        // Read now, so that units start with it (keepalived reads /proc before its instances
        // start); the task reports any later change.
        let mut statuses = HashMap::new();
        if !processes.is_empty() {
            let specs: Vec<_> = processes.iter().map(|(_, spec)| spec.clone()).collect();
            for ((index, _), up) in processes
                .iter()
                .zip(track::process::current_statuses(&specs))
            {
                let status = if up {
                    TrackerStatus::Up
                } else {
                    TrackerStatus::Down
                };
                statuses.insert(*index, status);
            }
        }
        // One task (one subscription to the kernel's process events) for every block.
        if !processes.is_empty() {
            self.trackers
                .push(tokio::spawn(track::supervised::process_task(
                    processes,
                    self.updates.clone(),
                )));
        }
        StartedTrackers { links, statuses }
    }
}

/// What the engine learns from (re)starting the tracker tasks.
struct StartedTrackers {
    /// Tracked interfaces: (tracker index, ifindex, up now).
    links: Vec<(u32, u32, bool)>,
    /// Statuses known now (tracked processes).
    statuses: HashMap<u32, TrackerStatus>,
}

impl Engine {
    /// Takes what [`Io::start_trackers`] reports.
    fn set_trackers(&mut self, started: StartedTrackers) {
        self.tracked_links = started.links;
        self.tracker_status = started.statuses;
    }
}

/// The scheduling units of `spec`: each sync group, and each instance in no group.
fn unit_plans(spec: &RuntimeSpec) -> Vec<(UnitIdentity, Vec<usize>)> {
    let mut grouped = vec![false; spec.instances.len()];
    let mut plans = Vec::new();
    for group in &spec.groups {
        let members: Vec<usize> = group
            .members
            .iter()
            .copied()
            .filter(|m| *m < spec.instances.len())
            .collect();
        for member in &members {
            if let Some(flag) = grouped.get_mut(*member) {
                *flag = true;
            }
        }
        let identity = UnitIdentity {
            members: members
                .iter()
                .filter_map(|m| spec.instances.get(*m).cloned())
                .collect(),
            group: Some(group.clone()),
        };
        plans.push((identity, members));
    }
    for (index, instance) in spec.instances.iter().enumerate() {
        if !grouped.get(index).copied().unwrap_or(false) {
            plans.push((
                UnitIdentity {
                    members: vec![instance.clone()],
                    group: None,
                },
                vec![index],
            ));
        }
    }
    plans
}

/// Builds a unit's machine from its identity.
fn machine(identity: &UnitIdentity) -> Result<Machine, RuntimeError> {
    let instance_error = |name: &str| {
        let name = name.to_owned();
        move |source| RuntimeError::Instance {
            instance: name,
            source,
        }
    };
    match &identity.group {
        None => {
            let spec = identity
                .members
                .first()
                .ok_or_else(|| RuntimeError::Instance {
                    instance: String::new(),
                    source: ConfigError::Vrid,
                })?;
            let instance =
                Instance::new(spec.fsm.clone()).map_err(instance_error(&spec.fsm.name))?;
            Ok(Machine::Single(Box::new(instance)))
        }
        Some(group) => {
            let members = identity.members.iter().map(|m| m.fsm.clone()).collect();
            let sync = SyncGroup::new(group.config.clone(), members)
                .map_err(instance_error(&group.config.name))?;
            Ok(Machine::Group {
                group: sync,
                notify: Box::new(group.notify.clone()),
            })
        }
    }
}

/// Adds the units of `plans` (not in `keep`) to `engine`, opening their IO.
fn add_units(
    engine: &mut Engine,
    io: &mut Io,
    plans: Vec<(UnitIdentity, Vec<usize>)>,
) -> Result<Vec<usize>, RuntimeError> {
    let mut added = Vec::new();
    for (identity, _) in plans {
        let machine = machine(&identity)?;
        let unit = engine.units.len();
        let mut slots = Vec::new();
        for (member, spec) in identity.members.iter().enumerate() {
            let slot = io.slot(spec.clone())?;
            engine.executor.remove_stale(&slot);
            slots.push(engine.slots.len());
            engine.owner.push((unit, member));
            engine.slots.push(slot);
        }
        engine.units.push(Unit {
            machine,
            slots,
            identity,
        });
        added.push(unit);
    }
    Ok(added)
}

/// Runs every instance of `spec` until [`Control::Stop`] (or the control channel closes),
/// then stops them as keepalived does on SIGTERM: priority-0 adverts from Masters, VIPs
/// removed, `notify_stop`. [`Control::Reload`] swaps the configuration in place. Adverts
/// arrive through XDP where `options` allow and the kernel can, else on raw sockets.
pub async fn run(
    spec: RuntimeSpec,
    options: RunOptions,
    control: mpsc::Receiver<Control>,
) -> Result<(), RuntimeError> {
    run_with_status(spec, options, control, None).await
}

/// [`run`], answering status requests through `status` (the control socket, metrics and
/// signal dumps read what it publishes): a snapshot is built between two events, only when
/// a reader asks.
pub async fn run_with_status(
    spec: RuntimeSpec,
    options: RunOptions,
    control: mpsc::Receiver<Control>,
    status: Option<crate::status::StatusPublisher>,
) -> Result<(), RuntimeError> {
    run_observed(
        spec,
        options,
        control,
        Observers {
            status,
            states: None,
        },
    )
    .await
}

/// Who watches the protocol loop from outside.
#[derive(Debug, Default)]
pub struct Observers {
    /// Status snapshots, on request (see [`run_with_status`]).
    pub status: Option<crate::status::StatusPublisher>,
    /// Every instance state change, as it happens (keepalived.conf `lvs_sync_daemon`
    /// follows one instance).
    pub states: Option<mpsc::UnboundedSender<InstanceState>>,
}

/// [`run`] with its [`Observers`].
pub async fn run_observed(
    spec: RuntimeSpec,
    options: RunOptions,
    mut control: mpsc::Receiver<Control>,
    observers: Observers,
) -> Result<(), RuntimeError> {
    let Observers { status, states } = observers;
    // A panic in a task beside the loop (a checker, a tracker) must not stall it.
    crate::supervise::install_panic_hook();
    let netlink = AddressControl::connect()?;
    let links_control = netlink.clone();
    let mut links = link_monitor::subscribe().map_err(RuntimeError::LinkMonitor)?;
    let mut removed_addresses =
        link_monitor::subscribe_address_removals().map_err(RuntimeError::LinkMonitor)?;
    let addresses_control = links_control.clone();
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(1024);
    let (updates_tx, mut updates) = mpsc::channel::<TrackerUpdate>(256);
    let stats = Arc::new(ReceiveStats::default());
    let xdp = dataplane::XdpPath::start(options, inbound_tx.clone(), Arc::clone(&stats));
    let mut io = Io {
        sockets: HashMap::new(),
        ah_sockets: HashMap::new(),
        receivers: Vec::new(),
        trackers: Vec::new(),
        generation: 0,
        inbound: inbound_tx,
        updates: updates_tx,
        stats: Arc::clone(&stats),
    };
    let mut engine = Engine {
        clock: Clock::new(),
        executor: Executor::new(KernelWorker::start(netlink), open_fifos(&spec.notify_fifos)),
        slots: Vec::new(),
        units: Vec::new(),
        owner: Vec::new(),
        timers: Timers::new(0),
        tracked_links: Vec::new(),
        xdp,
        stats,
        tracker_status: HashMap::new(),
        refresh_scratch: Vec::new(),
    };
    engine.set_trackers(io.start_trackers(&spec.trackers));
    engine.executor.set_mail(spec.smtp.clone());
    engine.executor.set_state_sink(states);
    let mut trackers = spec.trackers.clone();
    // The running configuration, for restarts that are not reloads (re-created interfaces).
    let mut current = spec.clone();
    let plans = unit_plans(&spec);
    engine.timers = Timers::new(plans.len());
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.prepare(&spec.instances);
    }
    let added = add_units(&mut engine, &mut io, plans)?;
    let mut statics = spec.statics;
    engine.executor.install_statics(&statics);
    io.start_receivers(&engine.slots);
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.sync(&mut engine.slots, io.generation);
    }
    for unit in added {
        engine.start_unit(unit);
    }

    // `-D`: the XDP program's debug records are forwarded ten times a second.
    let xdp_debug = engine
        .xdp
        .as_ref()
        .is_some_and(dataplane::XdpPath::debug_log);
    let mut log_tick = tokio::time::interval(std::time::Duration::from_millis(100));
    log_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let next = engine
            .timers
            .next()
            .map(|(deadline, _)| engine.clock.instant(deadline));
        // `biased`: polled in this order. Reload/stop first, then what the protocol's timing
        // depends on (timers, adverts, trackers, links), and status readers last: a flood of
        // status requests (each one a snapshot of every instance) never delays an advert.
        tokio::select! {
            biased;
            message = control.recv() => match message {
                Some(Control::Reload(spec)) => {
                    engine.executor.remove_statics(&statics.without(&spec.statics));
                    engine.executor.install_statics(&spec.statics);
                    statics = spec.statics.clone();
                    current = (*spec).clone();
                    match reload(&mut engine, &mut io, &mut trackers, *spec) {
                        Ok((kept, started)) => tracing::info!(kept, started, "configuration reloaded"),
                        Err(err) => tracing::error!(error = %err, "reload failed; instances that were running go on"),
                    }
                }
                Some(Control::Stop) | None => break,
            },
            () = sleep_until(next) => engine.timeouts(),
            Some(message) = inbound.recv() => {
                if message.generation == io.generation {
                    engine.advert(message.slot, message.advert);
                }
            }
            Some(update) = updates.recv() => engine.tracker(update),
            Some(event) = links.recv() => match event.name.as_deref() {
                Some(name) if !event.deleted && engine.recreated(name, event.ifindex) => {
                    tracing::warn!(interface = name, ifindex = event.ifindex, "interface re-created; restarting its instances");
                    match restart_on_recreated(&mut engine, &mut io, &mut trackers, &mut current, name, event.ifindex) {
                        Ok((kept, started)) => tracing::info!(kept, started, "instances restarted on the new interface"),
                        Err(err) => tracing::error!(error = %err, "restarting on the re-created interface failed"),
                    }
                }
                _ => engine.link(event.ifindex, event.up),
            },
            Some(removed) = removed_addresses.recv() => {
                follow_primary(&mut engine, &mut current, &addresses_control, removed).await;
            }
            _ = log_tick.tick(), if xdp_debug => {
                if let Some(xdp) = engine.xdp.as_mut() {
                    xdp.flush_log();
                }
            }
            () = status_requested(status.as_ref()) => {
                if let Some(publisher) = &status {
                    publisher.publish(engine.status(&trackers));
                }
            }
        }
        engine.executor.send_adverts();
    }

    // Planned stop: Masters send priority 0 and keep their addresses until the successor's
    // first advert (or their release window ends), so the hand-over leaves no gap.
    for unit in 0..engine.units.len() {
        engine.handle(unit, None, crate::vrrp::fsm::Event::GracefulShutdown);
    }
    engine.executor.send_adverts();
    let give_up = tokio::time::Instant::now() + RELEASE_LIMIT;
    while let Some((deadline, _)) = engine.timers.next() {
        let next = engine.clock.instant(deadline).min(give_up);
        tokio::select! {
            Some(message) = inbound.recv() => {
                if message.generation == io.generation {
                    engine.advert(message.slot, message.advert);
                }
            }
            () = tokio::time::sleep_until(next) => {
                if tokio::time::Instant::now() >= give_up {
                    break;
                }
                engine.timeouts();
            }
        }
        engine.executor.send_adverts();
    }
    // Whatever still holds addresses (the limit passed) lets go now.
    for unit in 0..engine.units.len() {
        engine.stop_unit(unit);
    }
    engine.executor.send_adverts();
    // keepalived's stop_vrrp clears its static entries at exit too.
    engine.executor.remove_statics(&statics);
    engine.executor.finish().await;
    for slot in &engine.slots {
        if let Some(name) = &slot.spec.vmac
            && let Err(err) = crate::net::vmac::remove(&links_control, name).await
        {
            tracing::warn!(error = %err, "leaving VMAC behind");
        }
    }
    engine.stats.log();
    if let Some(xdp) = &engine.xdp {
        xdp.log_counters();
    }
    // Dropping the program's links detaches it from every interface (nothing is pinned).
    drop(engine.xdp.take());
    Ok(())
}

/// Swaps in `spec`: units whose identity (member settings, group settings, and the tracked
/// objects they use) did not change keep running as they are; the others are stopped as
/// on SIGTERM and the new ones started. Returns (kept, started).
fn reload(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: RuntimeSpec,
) -> Result<(usize, usize), RuntimeError> {
    reload_restarting(engine, io, trackers, spec, |_| false)
}

/// An interface an instance runs on was deleted and created again (a new ifindex): its
/// units restart on the new interface (new sockets, XDP attached again), the others keep
/// running. Instances with a VMAC on it are left in FAULT: their macvlan went with the old
/// interface, and only a restart of kad rebuilds it.
fn restart_on_recreated(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: &mut RuntimeSpec,
    interface: &str,
    ifindex: u32,
) -> Result<(usize, usize), RuntimeError> {
    // Addresses and routes were resolved to the old index: point them at the new one.
    let old: Vec<u32> = engine
        .slots
        .iter()
        .filter(|slot| slot.spec.interface == interface && slot.ifindex != ifindex)
        .map(|slot| slot.ifindex)
        .collect();
    for member in &mut spec.instances {
        for old in &old {
            member.renumber_interface(*old, ifindex);
        }
    }
    let on_it = |member: &InstanceSpec| {
        member.interface == interface || member.receive_interface == interface
    };
    for member in spec
        .instances
        .iter()
        .filter(|m| on_it(m) && m.vmac.is_some())
    {
        tracing::warn!(instance = %member.fsm.name, vrid = member.fsm.vrid, interface, "interface re-created: the VMAC went with it; restart kad to rebuild it");
    }
    io.sockets.retain(|(name, _), _| name != interface);
    io.ah_sockets.retain(|name, _| name != interface);
    reload_restarting(engine, io, trackers, spec.clone(), |identity| {
        identity.members.iter().any(on_it) && identity.members.iter().all(|m| m.vmac.is_none())
    })
}

/// [`reload`], restarting the units `restart` picks even when their settings are unchanged.
fn reload_restarting(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: RuntimeSpec,
    restart: impl Fn(&UnitIdentity) -> bool,
) -> Result<(usize, usize), RuntimeError> {
    engine.executor.set_mail(spec.smtp.clone());
    let trackers_changed = *trackers != spec.trackers;
    let uses_trackers = |identity: &UnitIdentity| {
        identity.members.iter().any(|m| !m.fsm.tracked.is_empty())
            || identity
                .group
                .as_ref()
                .is_some_and(|g| !g.config.tracked.is_empty())
    };
    let mut plans = unit_plans(&spec);
    // Which old units survive, and which new plans they stand for.
    let mut kept_old = Vec::new();
    plans.retain(|(identity, _)| {
        let same = engine.units.iter().position(|unit| {
            unit.identity == *identity
                && !(trackers_changed && uses_trackers(identity))
                && !restart(identity)
        });
        match same {
            Some(old) if !kept_old.contains(&old) => {
                kept_old.push(old);
                false
            }
            _ => true,
        }
    });
    for old in 0..engine.units.len() {
        if !kept_old.contains(&old) {
            engine.stop_unit(old);
        }
    }

    // Rebuild the tables: kept units first (state untouched), then the new ones.
    let old_units = std::mem::take(&mut engine.units);
    let mut old_slots: Vec<Option<Slot>> = std::mem::take(&mut engine.slots)
        .into_iter()
        .map(Some)
        .collect();
    engine.owner.clear();
    for (old_index, mut unit) in old_units.into_iter().enumerate() {
        if !kept_old.contains(&old_index) {
            continue;
        }
        let index = engine.units.len();
        let mut slots = Vec::new();
        for (member, old_slot) in unit.slots.iter().enumerate() {
            if let Some(slot) = old_slots.get_mut(*old_slot).and_then(Option::take) {
                slots.push(engine.slots.len());
                engine.owner.push((index, member));
                engine.slots.push(slot);
            }
        }
        unit.slots = slots;
        engine.units.push(unit);
    }
    let kept = engine.units.len();
    engine.timers = Timers::new(kept + plans.len());
    for (index, unit) in engine.units.iter().enumerate() {
        let deadline = match &unit.machine {
            Machine::Single(instance) => instance.next_deadline(),
            Machine::Group { group, .. } => group.next_deadline(),
        };
        engine.timers.set(index, deadline);
    }
    if trackers_changed {
        engine.set_trackers(io.start_trackers(&spec.trackers));
        *trackers = spec.trackers.clone();
    }
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.prepare(&spec.instances);
    }
    let added = add_units(engine, io, plans)?;
    io.start_receivers(&engine.slots);
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.sync(&mut engine.slots, io.generation);
    }
    let started = added.len();
    for unit in added {
        engine.start_unit(unit);
    }
    Ok((kept, started))
}

/// keepalived follows an interface's primary address: when the address an instance sends
/// adverts from (chosen by kad, not configured) is removed, the instance carries on from the
/// interface's next address, without a state change. IPv4 only: an IPv6 instance's socket is
/// bound to its link-local source and keeps it.
async fn follow_primary(
    engine: &mut Engine,
    current: &mut RuntimeSpec,
    control: &AddressControl,
    removed: link_monitor::AddressRemoved,
) {
    let affected: Vec<usize> = engine
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| {
            slot.spec.primary_auto
                && slot.ifindex == removed.ifindex
                && slot.spec.fsm.primary_address == removed.address
                && removed.address.is_ipv4()
        })
        .map(|(index, _)| index)
        .collect();
    if affected.is_empty() {
        return;
    }
    let virtuals: Vec<IpAddr> = engine
        .slots
        .iter()
        .flat_map(|slot| slot.spec.addresses.iter().map(|a| a.address))
        .collect();
    let next = match resolve::primary_address_excluding(control, removed.ifindex, false, &virtuals)
        .await
    {
        Ok(Some(next)) => next,
        Ok(None) => {
            tracing::warn!(address = %removed.address, ifindex = removed.ifindex, "primary address removed and none left on the interface; adverts keep the old source");
            return;
        }
        Err(err) => {
            tracing::warn!(error = %err, "primary address removed; cannot list the interface's addresses");
            return;
        }
    };
    for slot in affected {
        let Some((unit, member)) = engine.owner.get(slot).copied() else {
            continue;
        };
        let Some(entry) = engine.slots.get_mut(slot) else {
            continue;
        };
        tracing::info!(instance = %entry.spec.fsm.name, vrid = entry.spec.fsm.vrid, old = %removed.address, new = %next, "primary address removed; sending adverts from the next one");
        entry.spec.fsm.primary_address = next;
        let name = std::sync::Arc::clone(&entry.spec.fsm.name);
        if let Some(spec) = engine
            .units
            .get_mut(unit)
            .and_then(|u| u.identity.members.get_mut(member))
        {
            spec.fsm.primary_address = next;
        }
        if let Some(spec) = current.instances.iter_mut().find(|i| i.fsm.name == name) {
            spec.fsm.primary_address = next;
        }
        engine.handle(
            unit,
            Some(member),
            crate::vrrp::fsm::Event::PrimaryAddress(next),
        );
    }
}

/// Opens the notify FIFOs; one that cannot be opened is reported and skipped.
fn open_fifos(specs: &[FifoSpec]) -> Vec<FifoWriter> {
    specs
        .iter()
        .filter_map(|spec| match FifoWriter::open(spec) {
            Ok(writer) => Some(writer),
            Err(err) => {
                tracing::error!(fifo = %spec.path.display(), error = %err, "cannot open notify FIFO");
                None
            }
        })
        .collect()
}

/// Resolves when a status reader asks for a snapshot (never without a publisher).
async fn status_requested(publisher: Option<&crate::status::StatusPublisher>) {
    match publisher {
        Some(publisher) => publisher.requested().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
