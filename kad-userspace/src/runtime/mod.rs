//! The VRRP runtime: one tokio task owns every instance's state machine and one timer
//! structure; receive tasks decode and validate adverts off the protocol path and send only
//! valid ones in; actions go out to the sockets, a kernel worker (addresses, gratuitous
//! ARP/NA, in order) and notify processes, none of which the protocol loop waits for.
//!
//! ```text
//! socket rx tasks ──valid adverts──▶ protocol loop (Instance::handle, timers) ──▶ actions
//!                                                  │ SendAdvert ─▶ socket
//!                                                  │ Add/RemoveVirtuals, Gratuitous ─▶ kernel worker
//!                                                  └ Notify ─▶ notify processes
//! ```

mod clock;
mod executor;
mod from_config;
mod kernel;
mod notify;
mod receive;
mod spec;
mod timers;

pub use clock::Clock;
pub use from_config::{BuildError, runtime_spec};
pub(crate) use notify::split_words;
pub use spec::{InstanceSpec, NotifySpec, RuntimeSpec};

use std::{collections::HashMap, future::Future, net::IpAddr, sync::Arc};

use thiserror::Error;
use tokio::sync::mpsc;

use crate::{
    net::{
        addr::{AddressControl, AddressError},
        garp::FrameSender,
        interface::{InterfaceError, ifindex, mac_address},
        link_monitor::{self, LinkEvent},
        vrrp_socket::{SocketError, VrrpSocket},
    },
    track::{self, TrackerSource, TrackerUpdate},
    vrrp::fsm::{ConfigError, Event, Instance, TrackerId, TrackerStatus},
};

use self::{executor::Executor, kernel::KernelWorker, receive::Route, timers::Timers};

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
    instance: usize,
    advert: crate::vrrp::fsm::Advert,
}

/// Per-instance IO handles, built once at start.
pub(crate) struct Slot {
    pub(crate) fsm: Instance,
    pub(crate) spec: InstanceSpec,
    pub(crate) socket: Arc<VrrpSocket>,
    pub(crate) frames: Arc<FrameSender>,
    pub(crate) mac: [u8; 6],
    pub(crate) ifindex: u32,
    pub(crate) link_up: bool,
    pub(crate) ah_seq: u32,
    pub(crate) ip_id: u16,
}

/// Runs every instance of `spec` until `shutdown` completes, then stops them as keepalived
/// does on SIGTERM: priority-0 adverts from Masters, VIPs removed, `notify_stop`.
pub async fn run(
    spec: RuntimeSpec,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RuntimeError> {
    let clock = Clock::new();
    let netlink = AddressControl::connect()?;
    let mut links = link_monitor::subscribe().map_err(RuntimeError::LinkMonitor)?;
    let kernel = KernelWorker::start(netlink);
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(1024);

    let (tracker_tx, mut tracker_updates) = mpsc::channel::<TrackerUpdate>(256);
    let mut tracked_links: Vec<(u32, u32, bool)> = Vec::new(); // (tracker, ifindex, up)
    for (index, source) in spec.trackers.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        match source {
            TrackerSource::Script(script) => {
                tokio::spawn(track::script::run(
                    index,
                    script.clone(),
                    tracker_tx.clone(),
                ));
            }
            TrackerSource::File { name, path } => {
                tokio::spawn(track::file::run(
                    index,
                    name.clone(),
                    path.clone(),
                    tracker_tx.clone(),
                ));
            }
            TrackerSource::Interface { name, ifindex } => {
                tracked_links.push((index, *ifindex, link_monitor::is_up(name)));
            }
        }
    }
    drop(tracker_tx);

    let mut slots = Vec::with_capacity(spec.instances.len());
    let mut sockets: HashMap<(String, bool), Arc<VrrpSocket>> = HashMap::new();
    let mut routes: HashMap<(String, bool), Vec<Route>> = HashMap::new();
    for (index, instance) in spec.instances.into_iter().enumerate() {
        let name = instance.fsm.name.to_string();
        let fsm = Instance::new(instance.fsm.clone()).map_err(|source| RuntimeError::Instance {
            instance: name.clone(),
            source,
        })?;
        let interface = instance.interface.clone();
        let interface_error = |source| RuntimeError::Interface {
            instance: name.clone(),
            source,
        };
        let if_index = ifindex(&interface).map_err(interface_error)?;
        let mac = mac_address(&interface).map_err(interface_error)?;
        let ipv6 = instance.fsm.primary_address.is_ipv6();
        let key = (interface.clone(), ipv6);
        let socket = match sockets.get(&key) {
            Some(socket) => Arc::clone(socket),
            None => {
                let socket = Arc::new(match instance.fsm.primary_address {
                    IpAddr::V4(_) => VrrpSocket::open_v4(&interface, if_index)?,
                    IpAddr::V6(source) => VrrpSocket::open_v6(&interface, if_index, source)?,
                });
                sockets.insert(key.clone(), Arc::clone(&socket));
                socket
            }
        };
        routes
            .entry(key)
            .or_default()
            .push(Route::new(index, &instance));
        let frames = FrameSender::open(if_index).map_err(|source| RuntimeError::PacketSocket {
            interface: interface.clone(),
            source,
        })?;
        slots.push(Slot {
            fsm,
            spec: instance,
            socket,
            frames: Arc::new(frames),
            mac,
            ifindex: if_index,
            link_up: link_monitor::is_up(&interface),
            ah_seq: 0,
            ip_id: 0,
        });
    }
    for (key, socket) in &sockets {
        let routes = routes.remove(key).unwrap_or_default();
        tokio::spawn(receive::run(
            Arc::clone(socket),
            key.1,
            routes,
            inbound_tx.clone(),
        ));
    }
    drop(inbound_tx);

    let mut executor = Executor::new(kernel);
    // A crashed earlier run may have left its VIPs behind: start clean, as keepalived does.
    for slot in &slots {
        executor.remove_stale(slot);
    }
    let mut timers = Timers::new(slots.len());
    let now = clock.now();
    for (index, slot) in slots.iter_mut().enumerate() {
        let mut actions = slot.fsm.handle(now, Event::Startup);
        if !slot.link_up {
            actions.extend(slot.fsm.handle(now, Event::Interface { up: false }));
        }
        for (tracker, _, up) in &tracked_links {
            if !up && tracks(slot, *tracker) {
                let event = Event::Tracker {
                    id: TrackerId(*tracker),
                    status: TrackerStatus::Down,
                };
                actions.extend(slot.fsm.handle(now, event));
            }
        }
        executor.execute(slot, actions);
        timers.set(index, slot.fsm.next_deadline());
    }

    tokio::pin!(shutdown);
    loop {
        let next = timers.next().map(|(deadline, _)| clock.instant(deadline));
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(message) = inbound.recv() => {
                let Some(slot) = slots.get_mut(message.instance) else { continue };
                let actions = slot.fsm.handle(clock.now(), Event::Advert(message.advert));
                executor.execute(slot, actions);
                timers.set(message.instance, slot.fsm.next_deadline());
            }
            Some(update) = tracker_updates.recv() => {
                deliver(&mut slots, &mut executor, &mut timers, clock.now(), update);
            }
            Some(LinkEvent { ifindex, up }) = links.recv() => {
                let now = clock.now();
                for (tracker, link, last) in &mut tracked_links {
                    if *link == ifindex && *last != up {
                        *last = up;
                        let status = if up { TrackerStatus::Up } else { TrackerStatus::Down };
                        deliver(&mut slots, &mut executor, &mut timers, now, TrackerUpdate { index: *tracker, status });
                    }
                }
                for (index, slot) in slots.iter_mut().enumerate() {
                    if slot.ifindex != ifindex || slot.link_up == up {
                        continue;
                    }
                    slot.link_up = up;
                    tracing::info!(instance = %slot.spec.fsm.name, vrid = slot.spec.fsm.vrid, interface = %slot.spec.interface, up, "link state changed");
                    let actions = slot.fsm.handle(now, Event::Interface { up });
                    executor.execute(slot, actions);
                    timers.set(index, slot.fsm.next_deadline());
                }
            }
            () = sleep_until(next) => {
                let now = clock.now();
                while let Some(index) = timers.pop_due(now) {
                    let Some(slot) = slots.get_mut(index) else { continue };
                    let actions = slot.fsm.handle(now, Event::Timeout);
                    executor.execute(slot, actions);
                    timers.set(index, slot.fsm.next_deadline());
                }
            }
        }
    }

    let now = clock.now();
    for slot in &mut slots {
        let actions = slot.fsm.handle(now, Event::Shutdown);
        executor.execute(slot, actions);
    }
    executor.finish().await;
    Ok(())
}

/// Whether `slot`'s instance tracks tracker `index`.
fn tracks(slot: &Slot, index: u32) -> bool {
    slot.spec
        .fsm
        .tracked
        .iter()
        .any(|object| object.id == TrackerId(index))
}

/// Hands a tracked object's new status to every instance that tracks it.
fn deliver(
    slots: &mut [Slot],
    executor: &mut Executor,
    timers: &mut Timers,
    now: crate::vrrp::fsm::Timestamp,
    update: TrackerUpdate,
) {
    for (index, slot) in slots.iter_mut().enumerate() {
        if !tracks(slot, update.index) {
            continue;
        }
        let event = Event::Tracker {
            id: TrackerId(update.index),
            status: update.status,
        };
        let actions = slot.fsm.handle(now, event);
        executor.execute(slot, actions);
        timers.set(index, slot.fsm.next_deadline());
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
