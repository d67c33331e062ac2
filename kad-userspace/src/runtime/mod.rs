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
mod deleted;
mod engine;
mod error;
mod executor;
mod from_config;
mod gratuitous;
mod interfaces;
mod io;
mod kernel;
mod notify;
mod primary;
mod receive;
mod reload;
mod reload_fifo;
mod resolve;
mod restore;
mod routing;
mod spec;
mod status;
mod timers;
mod units;
mod vmac_names;

pub use clock::Clock;
pub use dataplane::{ReceivePath, ReceiveStats, RunOptions};
pub use error::RuntimeError;
pub use from_config::{BuildError, SpecError};
pub use resolve::runtime_spec;
pub use spec::{
    GarpSpacing, GroupSpec, InstanceSpec, NotifySpec, RuntimeSpec, StaticSpec, UnicastRx,
};

use std::{collections::HashMap, sync::Arc};

use tokio::sync::mpsc;

use crate::{
    exec::fifo::{FifoSpec, FifoWriter},
    net::{addr::AddressControl, garp::FrameSender, link_monitor, vrrp_socket::VrrpSocket},
    status::InstanceState,
    track::TrackerUpdate,
};

use self::{
    engine::Engine,
    executor::Executor,
    io::Io,
    kernel::KernelWorker,
    primary::follow_primary,
    reload::{reload, restart_on_recreated},
    timers::Timers,
    units::{add_units, unit_plans},
};

/// Longest a stopping kad waits for successors to take its addresses over (the release
/// window of an instance is 1.25 advert intervals; this caps long intervals).
const RELEASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A received, validated advert for one instance.
pub(crate) struct Inbound {
    /// The receive tasks' generation (bumped on reload; older messages are dropped).
    generation: u64,
    slot: usize,
    advert: crate::vrrp::fsm::Advert,
    /// keepalived.conf `old_unicast_checksum`: the advert was accepted in the old checksum
    /// form by detection, so the instance switches to that form.
    old_checksum: bool,
}

/// Per-instance IO handles, built once when the instance starts.
pub(crate) struct Slot {
    pub(crate) spec: InstanceSpec,
    pub(crate) socket: Arc<VrrpSocket>,
    pub(crate) frames: Arc<FrameSender>,
    pub(crate) mac: [u8; 6],
    pub(crate) ifindex: u32,
    /// The other interfaces holding its virtual addresses (gratuitous ARPs / NAs go there).
    pub(crate) links: Vec<gratuitous::GarpLink>,
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
            bfd: None,
            bfd_xdp: None,
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
    /// The BFD sessions' status (keepalived.conf `track_bfd` follows it); without it every
    /// tracked BFD instance stays down.
    pub bfd: Option<tokio::sync::watch::Receiver<crate::status::bfd::BfdStatuses>>,
    /// The BFD thread's way into the XDP dataplane (its session map, expiries); without it,
    /// BFD stays on sockets.
    pub bfd_xdp: Option<crate::bfd::BfdXdpLink>,
}

/// [`run`] with its [`Observers`].
pub async fn run_observed(
    spec: RuntimeSpec,
    options: RunOptions,
    mut control: mpsc::Receiver<Control>,
    observers: Observers,
) -> Result<(), RuntimeError> {
    let Observers {
        status,
        states,
        bfd,
        bfd_xdp,
    } = observers;
    // A panic in a task beside the loop (a checker, a tracker) must not stall it.
    crate::supervise::install_panic_hook();
    let netlink = AddressControl::connect()?;
    let links_control = netlink.clone();
    let mut links = link_monitor::subscribe().map_err(RuntimeError::LinkMonitor)?;
    let mut address_changes =
        link_monitor::subscribe_address_changes().map_err(RuntimeError::LinkMonitor)?;
    let addresses_control = links_control.clone();
    // kad extension bfd_master: the BFD sessions' falls, for the instances naming them.
    let mut bfd_downs = bfd.clone().map(|statuses| {
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(crate::track::bfd::downs(statuses, tx));
        (rx, task)
    });
    let (mut engine, mut io, mut inbound, mut updates) =
        assemble(&spec, options, netlink, states, bfd, bfd_xdp);
    let mut trackers = spec.trackers.clone();
    // The running configuration, for restarts that are not reloads (re-created interfaces).
    let mut current = spec.clone();
    start_units(&mut engine, &mut io, &spec)?;
    let mut statics = spec.statics;
    let mut link_states = restore::LinkStates::default();
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
                    if message.old_checksum {
                        engine.use_old_checksum(message.slot);
                    }
                    engine.advert(message.slot, message.advert);
                }
            }
            Some(update) = updates.recv() => engine.tracker(update),
            Some(down) = session_down(bfd_downs.as_mut()) => engine.master_peer_down(&down),
            Some(event) = links.recv() => match event.name.as_deref() {
                Some(name) if !event.deleted && engine.recreated(name, event.ifindex) => {
                    tracing::warn!(interface = name, ifindex = event.ifindex, "interface re-created; restarting its instances");
                    match restart_on_recreated(&mut engine, &mut io, &mut trackers, &mut current, name, event.ifindex) {
                        Ok((kept, started)) => tracing::info!(kept, started, "instances restarted on the new interface"),
                        Err(err) => tracing::error!(error = %err, "restarting on the re-created interface failed"),
                    }
                }
                Some(name) if !event.deleted && event.up && current.waiting_interfaces.iter().any(|w| w == name) => {
                    tracing::info!(interface = name, "interface an instance waits for is up; reloading the configuration (dynamic_interfaces)");
                    current.waiting_interfaces.retain(|w| w != name);
                    if let Err(err) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP) {
                        tracing::error!(error = %err, "cannot ask for a reload");
                    }
                }
                _ => {
                    engine.link(event.ifindex, event.up);
                    let again = link_states.link(&statics, event.ifindex, event.up);
                    if !again.is_empty() {
                        tracing::info!(ifindex = event.ifindex, "interface up: restoring its static addresses and routes");
                        engine.executor.install_statics(&again);
                    }
                }
            },
            Some(change) = address_changes.recv() => {
                if !change.added {
                    let again = restore::deleted_address(&statics, change.ifindex, change.address);
                    if !again.is_empty() {
                        tracing::info!(address = %change.address, ifindex = change.ifindex, "restoring deleted static address");
                        engine.executor.install_statics(&again);
                    }
                }
                engine.source_address(change);
                if !change.added {
                    follow_primary(&mut engine, &mut current, &addresses_control, change).await;
                }
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

    if let Some((_, task)) = bfd_downs.take() {
        task.abort();
    }
    if options.dont_release_vrrp {
        leave_in_place(engine, &statics).await;
    } else {
        hand_over_and_stop(engine, &io, &mut inbound, &statics, &links_control).await;
    }
    Ok(())
}

/// The protocol loop's state and its IO: the engine (instances, timers, executor) and the
/// sockets, receive and tracker tasks that feed it, with the channels they feed.
fn assemble(
    spec: &RuntimeSpec,
    options: RunOptions,
    netlink: AddressControl,
    states: Option<mpsc::UnboundedSender<InstanceState>>,
    bfd: Option<tokio::sync::watch::Receiver<crate::status::bfd::BfdStatuses>>,
    bfd_xdp: Option<crate::bfd::BfdXdpLink>,
) -> (
    Engine,
    Io,
    mpsc::Receiver<Inbound>,
    mpsc::Receiver<TrackerUpdate>,
) {
    let (inbound_tx, inbound) = mpsc::channel::<Inbound>(1024);
    let (updates_tx, updates) = mpsc::channel::<TrackerUpdate>(256);
    let stats = Arc::new(ReceiveStats::default());
    let xdp = dataplane::XdpPath::start(options, inbound_tx.clone(), Arc::clone(&stats), bfd_xdp);
    let mut io = Io {
        sockets: HashMap::new(),
        ah_sockets: HashMap::new(),
        receivers: Vec::new(),
        trackers: Vec::new(),
        generation: 0,
        inbound: inbound_tx,
        updates: updates_tx,
        stats: Arc::clone(&stats),
        promoted: Vec::new(),
        bfd,
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
        startup_hold: startup_hold(spec.startup_delay),
    };
    engine.set_trackers(io.start_trackers(&spec.trackers));
    engine.executor.set_mail(spec.smtp.clone());
    engine.executor.set_state_sink(states);
    (engine, io, inbound, updates)
}

/// Prepares the XDP maps, adds every instance and sync group, installs the static
/// addresses/routes/rules, starts the receivers and then the instances.
fn start_units(engine: &mut Engine, io: &mut Io, spec: &RuntimeSpec) -> Result<(), RuntimeError> {
    let plans = unit_plans(spec);
    engine.timers = Timers::new(plans.len());
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.prepare(&spec.instances);
    }
    let added = add_units(engine, io, plans)?;
    engine.executor.install_statics(&spec.statics);
    io.start_receivers(&engine.slots);
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.sync(&mut engine.slots, io.generation);
        xdp.attach_bfd(&spec.bfd_interfaces);
    }
    for unit in added {
        engine.start_unit(unit);
    }

    Ok(())
}

/// The planned stop (SIGTERM): Masters send priority 0 and keep their addresses until the
/// successor's first advert (or [`RELEASE_LIMIT`]), so the hand-over leaves no gap; then
/// everything kad installed is removed and the XDP program detached.
async fn hand_over_and_stop(
    mut engine: Engine,
    io: &Io,
    inbound: &mut mpsc::Receiver<Inbound>,
    statics: &StaticSpec,
    links_control: &AddressControl,
) {
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
    engine.executor.remove_statics(statics);
    engine.executor.finish().await;
    for slot in &engine.slots {
        for name in slot.spec.vmac.iter().chain(&slot.spec.address_vmacs) {
            if let Err(err) = crate::net::vmac::remove(links_control, name).await {
                tracing::warn!(error = %err, "leaving VMAC behind");
            }
        }
    }
    io.restore_promoted();
    engine.stats.log();
    if let Some(xdp) = &engine.xdp {
        xdp.log_counters();
    }
    // Dropping the program's links detaches it from every interface (nothing is pinned).
    drop(engine.xdp.take());
}

/// global `vrrp_startup_delay`: when the hold ends on the runtime's clock (`None`: no delay).
fn startup_hold(delay: std::time::Duration) -> Option<crate::vrrp::fsm::Timestamp> {
    if delay.is_zero() {
        return None;
    }
    tracing::info!("Delaying startup for {} seconds", delay.as_secs_f64());
    let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
    Some(crate::vrrp::fsm::Timestamp::from_micros(micros))
}

/// keepalived `-V` (`--dont-release-vrrp`): stops without letting go of anything a Master
/// installed (virtual addresses, routes, rules, VMACs) and without priority-0 adverts, so
/// that a daemon started again finds them in place. Static entries are removed as at any
/// stop; queued kernel work and running notify scripts are waited for.
async fn leave_in_place(mut engine: Engine, statics: &StaticSpec) {
    tracing::info!("--dont-release-vrrp: leaving virtual addresses, routes and rules in place");
    engine.executor.remove_statics(statics);
    engine.executor.finish().await;
    engine.stats.log();
    drop(engine.xdp.take());
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

/// The next BFD session fall (never without the BFD task).
async fn session_down(
    downs: Option<&mut (
        mpsc::Receiver<crate::track::bfd::SessionDown>,
        tokio::task::JoinHandle<()>,
    )>,
) -> Option<crate::track::bfd::SessionDown> {
    match downs {
        Some((rx, _)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
