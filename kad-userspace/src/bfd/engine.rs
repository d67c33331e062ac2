//! The BFD thread: sockets, every session's `kad_bfd::Session`, and their deadlines, in one
//! `ppoll` loop (nanosecond timeouts: tokio's timer wheel counts in milliseconds, too coarse
//! for 1 ms BFD intervals).

use std::{
    collections::{HashMap, HashSet},
    io,
    net::SocketAddr,
    os::{fd::AsFd as _, unix::net::UnixDatagram},
    sync::{Arc, mpsc},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use kad_bfd::{
    packet::{ControlPacket, PORT_MULTI_HOP, PORT_SINGLE_HOP, State},
    session::{Output, Session, SessionConfig},
};
use nix::poll::{PollFd, PollFlags, ppoll};
use thiserror::Error;
use tokio::sync::watch;

use crate::{
    net::bfd_socket::{BfdListener, BfdSender, BfdSocketError},
    sched::{Settings, ThreadScheduling},
    status::bfd::{BfdSessionStatus, BfdStatuses},
};

use super::{
    spec::SessionSpec,
    xdp::{BfdDataplane, Check, Entry, expectation, interface_of},
};

/// Longest the thread sleeps without a deadline (it still wakes at once for commands).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// The BFD thread could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// A socket could not be opened.
    #[error(transparent)]
    Socket(#[from] BfdSocketError),
    /// The thread or its wake-up channel could not be created.
    #[error("starting the BFD thread: {0}")]
    Thread(#[source] io::Error),
}

pub(super) enum Command {
    Reload(Vec<SessionSpec>, Settings),
    /// The runtime's `XdpPath` hands over the BFD session map (once).
    Dataplane(Box<BfdDataplane>),
    /// The interfaces the program runs on now.
    Attached(HashSet<u32>),
    /// The program is going away: detection back in userspace.
    Detached,
    /// `EVENT_BFD_EXPIRED` for this local discriminator.
    Expired(u32),
    Stop,
}

/// The way into the BFD thread: a command, then a wake-up for its `ppoll`.
struct Commands {
    sender: mpsc::Sender<Command>,
    wake: UnixDatagram,
}

impl Commands {
    fn send(&self, command: Command) {
        if self.sender.send(command).is_ok() {
            let _ = self.wake.send(&[1]);
        }
    }

    fn try_clone(&self) -> Option<Self> {
        Some(Self {
            sender: self.sender.clone(),
            wake: self.wake.try_clone().ok()?,
        })
    }
}

/// The running BFD thread.
pub struct BfdTask {
    commands: Commands,
    thread: Option<JoinHandle<()>>,
    statuses: watch::Receiver<BfdStatuses>,
}

impl BfdTask {
    /// Opens the sockets and starts every session of `specs` on a thread of its own,
    /// scheduled as `scheduling` says (keepalived.conf `bfd_rt_priority`, `bfd_priority`,
    /// `bfd_cpu_affinity`, `bfd_no_swap`).
    pub fn start(specs: Vec<SessionSpec>, scheduling: Settings) -> Result<Self, StartError> {
        let (publisher, statuses) = crate::status::bfd::channel();
        let (wake, woken) = UnixDatagram::pair().map_err(StartError::Thread)?;
        woken.set_nonblocking(true).map_err(StartError::Thread)?;
        wake.set_nonblocking(true).map_err(StartError::Thread)?;
        let mut engine = Engine::new(publisher, fastrand::u64(..))?;
        engine.reload(specs, Instant::now());
        let (sender, received) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kad-bfd".into())
            .spawn(move || {
                let mut thread = ThreadScheduling::adopt_current_thread();
                schedule(&mut thread, &scheduling);
                engine.run(&received, &woken, &mut thread);
            })
            .map_err(StartError::Thread)?;
        Ok(Self {
            commands: Commands { sender, wake },
            thread: Some(thread),
            statuses,
        })
    }

    /// The sessions' status, published on change.
    pub fn statuses(&self) -> watch::Receiver<BfdStatuses> {
        self.statuses.clone()
    }

    /// The handle through which the XDP dataplane hands over its BFD map and forwards
    /// expiries.
    pub fn xdp_link(&self) -> Option<BfdXdpLink> {
        Some(BfdXdpLink {
            commands: self.commands.try_clone()?,
        })
    }

    /// A handle for reloads from another task.
    pub fn reloader(&self) -> Option<BfdReloader> {
        Some(BfdReloader {
            commands: self.commands.try_clone()?,
        })
    }

    /// Stops: every session sends AdminDown (keepalived's BFD process at SIGTERM), then the
    /// thread ends.
    pub fn stop(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reloads the BFD thread's sessions.
pub struct BfdReloader {
    commands: Commands,
}

impl BfdReloader {
    /// SIGHUP: run `specs` instead, scheduled as `scheduling` says. Unchanged sessions keep
    /// their state; sessions whose timers changed renegotiate them (poll sequence); removed
    /// ones send AdminDown.
    pub fn reload(&self, specs: Vec<SessionSpec>, scheduling: Settings) {
        self.commands.send(Command::Reload(specs, scheduling));
    }
}

/// The XDP dataplane's way into the BFD thread (issue 16, "Dataplane"): the runtime's
/// `XdpPath` owns the program and hands the BFD thread the session map it alone writes (no
/// lock: the map is taken out of the loaded object), then tells it where the program runs and
/// which sessions the kernel's timer declared down. Every call queues a command and wakes the
/// thread's `ppoll`; none blocks.
pub struct BfdXdpLink {
    commands: Commands,
}

impl std::fmt::Debug for BfdXdpLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BfdXdpLink")
    }
}

impl BfdXdpLink {
    /// Hands over `KAD_BFD_SESSIONS` and the interfaces the program is attached to.
    pub fn give(&self, dataplane: BfdDataplane) {
        self.commands.send(Command::Dataplane(Box::new(dataplane)));
    }

    /// The interfaces the program is attached to now.
    pub fn attached(&self, ifindexes: HashSet<u32>) {
        self.commands.send(Command::Attached(ifindexes));
    }

    /// The program is detached (kad stopping): sessions detect in userspace again.
    pub fn detached(&self) {
        self.commands.send(Command::Detached);
    }

    /// XDP's timer declared the session of local discriminator `discriminator` down.
    pub fn expired(&self, discriminator: u32) {
        self.commands.send(Command::Expired(discriminator));
    }
}

impl Drop for BfdTask {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

/// One running session with its socket.
struct Live {
    spec: SessionSpec,
    /// Whether trackers see the session up (see [`Engine::apply`]).
    tracked_up: bool,
    /// What was last published of it (states, diagnostics, negotiated timers).
    published: Option<Published>,
    session: Session,
    sender: BfdSender,
    to: SocketAddr,
    /// The interface the peer's packets arrive on, if known (single hop: its link).
    ifindex: Option<u32>,
    /// Its `KAD_BFD_SESSIONS` entry, while XDP detects (see [`super::xdp`]).
    entry: Option<Entry>,
    /// An entry that could not be written (not tried again until it changes).
    failed: Option<crate::xdp::BfdExpect>,
    /// Packets read from the socket for this session.
    socket_packets: u64,
    /// Times XDP's timer declared it down.
    xdp_expiries: u64,
}

struct Engine {
    /// Receive sockets by family and port (single hop, multihop).
    listeners: Vec<BfdListener>,
    sessions: Vec<Live>,
    by_discriminator: HashMap<u32, usize>,
    publisher: watch::Sender<BfdStatuses>,
    rng: fastrand::Rng,
    /// Set when a session changed state: publish before sleeping.
    dirty: bool,
    /// When the published parameters (intervals, diagnostics) are refreshed next.
    refresh_at: Instant,
    /// Packets that did not decode or matched no session (logged at debug, counted).
    dropped: u64,
    /// The XDP dataplane's BFD map, once handed over.
    xdp: Option<BfdDataplane>,
}

/// How often the status's parameters are refreshed when no state changed.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

impl Engine {
    fn new(publisher: watch::Sender<BfdStatuses>, seed: u64) -> Result<Self, StartError> {
        Ok(Self {
            listeners: Vec::new(),
            sessions: Vec::new(),
            by_discriminator: HashMap::new(),
            publisher,
            rng: fastrand::Rng::with_seed(seed),
            dirty: true,
            refresh_at: Instant::now(),
            dropped: 0,
            xdp: None,
        })
    }

    fn run(
        mut self,
        commands: &mpsc::Receiver<Command>,
        woken: &UnixDatagram,
        thread: &mut ThreadScheduling,
    ) {
        let mut buffer = [0u8; 512];
        loop {
            let mut drained = [0u8; 16];
            while woken.recv(&mut drained).is_ok() {}
            loop {
                match commands.try_recv() {
                    Ok(Command::Reload(specs, scheduling)) => {
                        schedule(thread, &scheduling);
                        self.reload(specs, Instant::now());
                    }
                    Ok(Command::Dataplane(dataplane)) => {
                        tracing::info!(
                            interfaces = dataplane.attached.len(),
                            "BFD: XDP receives the sessions' packets and detects in the kernel"
                        );
                        self.xdp = Some(*dataplane);
                    }
                    Ok(Command::Attached(ifindexes)) => {
                        if let Some(xdp) = self.xdp.as_mut() {
                            xdp.attached = ifindexes;
                        }
                    }
                    Ok(Command::Detached) => {
                        self.xdp = None;
                    }
                    Ok(Command::Expired(discriminator)) => {
                        self.kernel_expired(discriminator, Instant::now());
                    }
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.stop(Instant::now());
                        return;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            self.sync_xdp(Instant::now());
            self.expire(Instant::now());
            self.sync_xdp(Instant::now());
            self.publish(Instant::now());
            let now = Instant::now();
            let deadline = self
                .sessions
                .iter()
                .flat_map(|live| {
                    [
                        live.session.next_deadline(),
                        live.entry.and_then(|entry| entry.check_at),
                    ]
                })
                .flatten()
                .chain(std::iter::once(self.refresh_at))
                .min()
                .unwrap_or(now + IDLE_WAKE);
            let wait = deadline.saturating_duration_since(now).min(IDLE_WAKE);
            let readable = {
                let mut fds: Vec<PollFd<'_>> = self
                    .listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                    .collect();
                fds.push(PollFd::new(woken.as_fd(), PollFlags::POLLIN));
                // ppoll(2): nanoseconds (poll(2) would round 0.75 ms up to 1 ms).
                let timeout = nix::sys::time::TimeSpec::from_duration(wait);
                match ppoll(&mut fds, Some(timeout), None) {
                    Ok(0) | Err(_) => Vec::new(),
                    Ok(_) => fds
                        .iter()
                        .take(self.listeners.len())
                        .enumerate()
                        .filter(|(_, fd)| {
                            fd.revents().is_some_and(|r| r.contains(PollFlags::POLLIN))
                        })
                        .map(|(index, _)| index)
                        .collect(),
                }
            };
            for index in readable {
                self.drain(index, &mut buffer);
            }
        }
    }

    /// Reads every waiting datagram of listener `index`.
    fn drain(&mut self, index: usize, buffer: &mut [u8]) {
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            let port = listener.port();
            let received = match listener.receive(buffer) {
                Ok(Some(received)) => received,
                Ok(None) => return,
                Err(err) => {
                    tracing::debug!(error = %err, "BFD receive failed");
                    return;
                }
            };
            let now = Instant::now();
            let bytes = buffer.get(..received.len).unwrap_or_default();
            let packet = match ControlPacket::decode(bytes) {
                Ok(packet) => packet,
                Err(err) => {
                    self.dropped += 1;
                    tracing::debug!(from = %received.source, error = %err, "BFD packet dropped");
                    continue;
                }
            };
            let Some(slot) = self.find(&packet, port, received.source, received.destination) else {
                self.dropped += 1;
                tracing::debug!(from = %received.source, your_discriminator = packet.your_discriminator, "BFD packet for no session dropped");
                continue;
            };
            let Some(live) = self.sessions.get_mut(slot) else {
                continue;
            };
            if !live.spec.accepts_ttl(received.ttl) {
                self.dropped += 1;
                tracing::debug!(bfd = %live.spec.name, from = %received.source, ttl = ?received.ttl, "BFD packet with a TTL below the session's limit dropped");
                continue;
            }
            live.socket_packets += 1;
            let output = live.session.receive(now, &packet);
            self.apply(slot, output);
        }
    }

    /// RFC 5880 §6.8.6: by Your Discriminator when the peer knows ours, else by addresses;
    /// either way a session of the kind of the port the packet came to (RFC 5883 §3:
    /// multihop sessions are told apart by addresses and port 4784).
    fn find(
        &self,
        packet: &ControlPacket,
        port: u16,
        source: SocketAddr,
        destination: Option<std::net::IpAddr>,
    ) -> Option<usize> {
        if packet.your_discriminator != 0 {
            return self
                .by_discriminator
                .get(&packet.your_discriminator)
                .copied()
                .filter(|&slot| {
                    self.sessions
                        .get(slot)
                        .is_some_and(|live| live.spec.control_port() == port)
                });
        }
        self.sessions.iter().position(|live| {
            live.spec.control_port() == port
                && live.spec.neighbor == source.ip()
                && match (live.spec.source, destination) {
                    (Some(ours), Some(to)) => ours == to,
                    _ => true,
                }
        })
    }

    /// Runs every session whose deadline has come, and the checks of entries written one
    /// detect time ago (a timer that no packet started, see [`super::xdp`]).
    fn expire(&mut self, now: Instant) {
        for slot in 0..self.sessions.len() {
            self.check_entry(slot, now);
            let due = self
                .sessions
                .get(slot)
                .and_then(|live| live.session.next_deadline())
                .is_some_and(|at| at <= now);
            if due && let Some(live) = self.sessions.get_mut(slot) {
                let output = live.session.timeout(now);
                self.apply(slot, output);
            }
        }
    }

    /// The check of an entry whose [`Entry::check_at`] has come.
    fn check_entry(&mut self, slot: usize, now: Instant) {
        let (Some(live), Some(xdp)) = (self.sessions.get_mut(slot), self.xdp.as_ref()) else {
            return;
        };
        let Some(entry) = live.entry.as_mut() else {
            return;
        };
        if entry.check_at.is_none_or(|at| at > now) {
            return;
        }
        match xdp.check(live.session.local_discriminator()) {
            Check::TimerRuns => entry.check_at = None,
            Check::Lost => {
                live.entry = None;
                live.session.set_external_detection(now, false);
            }
            Check::Silent if live.socket_packets > entry.socket_packets => {
                tracing::warn!(bfd = %live.spec.name, "XDP does not see this BFD session's packets (kad's program is not on their link); detected in userspace");
                live.failed = Some(entry.expect);
                drop_entry(self.xdp.as_mut(), live);
            }
            Check::Silent => {
                let name = &live.spec.name;
                tracing::info!(bfd = %name, "({name}) no packet since XDP took the session over: detection time expired");
                let output = live.session.detection_expired(now);
                self.apply(slot, output);
            }
        }
    }

    /// `EVENT_BFD_EXPIRED`: XDP's timer saw no packet for the detect time. Acted on only if
    /// the session's entry still says so (a write since then makes the event stale).
    fn kernel_expired(&mut self, discriminator: u32, now: Instant) {
        let Some(&slot) = self.by_discriminator.get(&discriminator) else {
            return;
        };
        let (Some(live), Some(xdp)) = (self.sessions.get_mut(slot), self.xdp.as_ref()) else {
            return;
        };
        if live.entry.is_none() || !xdp.expired(discriminator) {
            tracing::debug!(bfd = %live.spec.name, discriminator, "stale XDP BFD expiry ignored");
            return;
        }
        live.xdp_expiries += 1;
        let name = &live.spec.name;
        tracing::info!(bfd = %name, discriminator, "({name}) detection time expired in XDP (kernel timer)");
        let output = live.session.detection_expired(now);
        self.apply(slot, output);
    }

    /// Gives each session the `KAD_BFD_SESSIONS` entry its state wants (see [`super::xdp`]):
    /// one while Up on an interface with the program, none otherwise.
    fn sync_xdp(&mut self, now: Instant) {
        for live in &mut self.sessions {
            sync_entry(self.xdp.as_mut(), live, now);
        }
    }

    /// Sends what a session asked for and notes state changes.
    fn apply(&mut self, slot: usize, output: Output) {
        let Some(live) = self.sessions.get(slot) else {
            return;
        };
        // A poll sequence changes the timers without a state change: published too.
        if live.published != Some(Published::of(&live.session.status())) {
            self.dirty = true;
        }
        if let Some(packet) = output.send
            && let Err(err) = live.sender.send(&packet.encode(), live.to)
        {
            tracing::debug!(bfd = %live.spec.name, error = %err, "BFD send failed");
        }
        if let Some(change) = output.change {
            let name = &live.spec.name;
            match change.to {
                State::Up => {
                    tracing::info!(bfd = %name, neighbor = %live.spec.neighbor, "({name}) Entering Up state")
                }
                State::Down if change.from == State::Up => tracing::warn!(
                    bfd = %name,
                    neighbor = %live.spec.neighbor,
                    "({name}) Entering Down state (Local diagnostic - {}, Remote diagnostic - {})",
                    change.diag,
                    live.session.status().remote_diag
                ),
                State::AdminDown => {
                    tracing::warn!(bfd = %name, "({name}) Entering AdminDown state")
                }
                to => {
                    tracing::debug!(bfd = %name, from = ?change.from, to = ?to, "({name}) Entering {to:?} state")
                }
            }
            // What trackers see (keepalived's events to VRRP and the checkers): up on Up;
            // down when an Up session falls, except when the peer said AdminDown (RFC 5882
            // §3.2: a peer taken down administratively is no failure).
            let tracked_up = match change.to {
                State::Up => true,
                _ if live.session.remote_state() == State::AdminDown => live.tracked_up,
                _ => false,
            };
            if let Some(live) = self.sessions.get_mut(slot) {
                live.tracked_up = tracked_up;
            }
            self.dirty = true;
        }
    }

    /// Publishes the sessions' status when a state changed, and every [`REFRESH_EVERY`]
    /// when parameters did.
    fn publish(&mut self, now: Instant) {
        if !self.dirty && now < self.refresh_at {
            return;
        }
        self.dirty = false;
        self.refresh_at = now + REFRESH_EVERY;
        for live in &mut self.sessions {
            live.published = Some(Published::of(&live.session.status()));
        }
        let statuses: Vec<BfdSessionStatus> = self.sessions.iter().map(status_of).collect();
        self.publisher.send_if_modified(|current| {
            if current.as_slice() == statuses.as_slice() {
                false
            } else {
                *current = Arc::new(statuses);
                true
            }
        });
    }

    /// Applies a new set of sessions (at start and on reload).
    fn reload(&mut self, specs: Vec<SessionSpec>, now: Instant) {
        let mut old: Vec<Option<Live>> = std::mem::take(&mut self.sessions)
            .into_iter()
            .map(Some)
            .collect();
        let mut sessions = Vec::with_capacity(specs.len());
        for spec in specs {
            let kept = old
                .iter_mut()
                .find_map(|slot| slot.take_if(|live| live.spec.same_endpoints(&spec)));
            match kept {
                Some(mut live) => {
                    if live.spec != spec {
                        tracing::info!(bfd = %spec.name, "BFD timers changed: renegotiating (poll sequence)");
                        let external = live.session.config().external_detection;
                        let output = live.session.reconfigure(now, config_of(&spec, external));
                        live.spec = spec;
                        send_all(&live, output);
                    }
                    sessions.push(live);
                }
                None => match self.open(spec.clone(), now) {
                    Ok(live) => sessions.push(live),
                    Err(err) => {
                        tracing::error!(bfd = %spec.name, error = %err, "BFD instance not started");
                    }
                },
            }
        }
        for mut live in old.into_iter().flatten() {
            drop_entry(self.xdp.as_mut(), &mut live);
            let output = live.session.admin_down(now);
            send_all(&live, output);
            tracing::info!(bfd = %live.spec.name, "BFD instance removed (AdminDown sent)");
        }
        self.sessions = sessions;
        self.by_discriminator = self
            .sessions
            .iter()
            .enumerate()
            .map(|(slot, live)| (live.session.local_discriminator(), slot))
            .collect();
        self.open_listeners();
        self.dirty = true;
    }

    fn open(&mut self, spec: SessionSpec, now: Instant) -> Result<Live, BfdSocketError> {
        let sender = BfdSender::open(spec.neighbor, spec.source, spec.ttl, self.rng.u32(..))?;
        let discriminator = loop {
            let candidate = self.rng.u32(1..);
            if !self
                .sessions
                .iter()
                .any(|live| live.session.local_discriminator() == candidate)
            {
                break candidate;
            }
        };
        let session = Session::new(
            config_of(&spec, false),
            discriminator,
            self.rng.u64(..),
            now,
        );
        let ifindex = interface_of(spec.neighbor, spec.source);
        tracing::info!(bfd = %spec.name, neighbor = %spec.neighbor, local = %sender.local(), multihop = spec.multihop, discriminator, ?ifindex, "BFD instance started");
        Ok(Live {
            tracked_up: false,
            published: None,
            to: SocketAddr::new(spec.neighbor, spec.control_port()),
            spec,
            session,
            sender,
            ifindex,
            entry: None,
            failed: None,
            socket_packets: 0,
            xdp_expiries: 0,
        })
    }

    /// One receive socket per family and port in use (opened once, kept across reloads).
    fn open_listeners(&mut self) {
        let kinds = [false, true]
            .into_iter()
            .flat_map(|ipv6| [PORT_SINGLE_HOP, PORT_MULTI_HOP].map(move |port| (ipv6, port)));
        for (ipv6, port) in kinds {
            let used = self
                .sessions
                .iter()
                .any(|l| l.spec.neighbor.is_ipv6() == ipv6 && l.spec.control_port() == port);
            if !used
                || self
                    .listeners
                    .iter()
                    .any(|l| l.is_ipv6() == ipv6 && l.port() == port)
            {
                continue;
            }
            match BfdListener::bind(ipv6, port) {
                Ok(listener) => self.listeners.push(listener),
                Err(err) => tracing::error!(error = %err, "BFD cannot receive"),
            }
        }
    }

    fn stop(&mut self, now: Instant) {
        for live in &mut self.sessions {
            drop_entry(self.xdp.as_mut(), live);
            let output = live.session.admin_down(now);
            send_all(live, output);
        }
        tracing::info!(
            sessions = self.sessions.len(),
            dropped = self.dropped,
            "BFD stopped (AdminDown sent)"
        );
        self.sessions.clear();
        self.dirty = true;
        self.publish(now);
    }
}

/// The part of a session's status whose change is published at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Published {
    state: State,
    remote_state: State,
    local_diag: kad_bfd::packet::Diag,
    remote_diag: kad_bfd::packet::Diag,
    remote_discriminator: u32,
    tx_interval: Option<Duration>,
    rx_interval: Option<Duration>,
    detect_time: Option<Duration>,
}

impl Published {
    fn of(status: &kad_bfd::session::SessionStatus) -> Self {
        Self {
            state: status.state,
            remote_state: status.remote_state,
            local_diag: status.local_diag,
            remote_diag: status.remote_diag,
            remote_discriminator: status.remote_discriminator,
            tx_interval: status.tx_interval,
            rx_interval: status.rx_interval,
            detect_time: status.detect_time,
        }
    }
}

/// Applies the `bfd_*` scheduling keywords to the BFD thread; a failing call is a warning,
/// as in keepalived.
fn schedule(thread: &mut ThreadScheduling, settings: &Settings) {
    for err in thread.apply(settings) {
        tracing::warn!(error = %err, "BFD thread scheduling (bfd_* keywords)");
    }
}

fn send_all(live: &Live, output: Output) {
    if let Some(packet) = output.send {
        let _ = live.sender.send(&packet.encode(), live.to);
    }
}

/// Writes, rewrites or removes `live`'s entry as its state and detect time want, and hands
/// detection to XDP while it has one.
fn sync_entry(xdp: Option<&mut BfdDataplane>, live: &mut Live, now: Instant) {
    let Some(xdp) = xdp else {
        // No program (any more): the kernel map went with it.
        if live.entry.take().is_some() {
            live.session.set_external_detection(now, false);
        }
        return;
    };
    let wanted = live
        .ifindex
        .filter(|ifindex| xdp.attached.contains(ifindex))
        .filter(|_| live.session.state() == State::Up)
        .and_then(|_| Some(expectation(&live.spec, live.session.detect_time()?)));
    if wanted == live.entry.map(|entry| entry.expect) {
        return;
    }
    let discriminator = live.session.local_discriminator();
    let name = &live.spec.name;
    match wanted {
        // Not tried again until it changes; an older entry would hold a stale detect time.
        Some(expect) if live.failed == Some(expect) => drop_entry(Some(xdp), live),
        Some(expect) => match xdp.write(discriminator, &expect) {
            Ok(()) => {
                tracing::debug!(bfd = %name, discriminator, detect = ?expect.detect, "BFD session armed in XDP");
                live.entry = Some(Entry {
                    expect,
                    check_at: Some(now + expect.detect),
                    socket_packets: live.socket_packets,
                });
                live.failed = None;
                live.session.set_external_detection(now, true);
            }
            Err(err) => {
                tracing::warn!(bfd = %name, error = %err, "BFD session not handed to XDP; detected in userspace");
                live.failed = Some(expect);
                drop_entry(Some(xdp), live);
            }
        },
        None => drop_entry(Some(xdp), live),
    }
}

/// Removes `live`'s entry, if it has one; detection back in the session.
fn drop_entry(xdp: Option<&mut BfdDataplane>, live: &mut Live) {
    let Some(_) = live.entry.take() else {
        return;
    };
    live.session.set_external_detection(Instant::now(), false);
    if let Some(xdp) = xdp
        && let Err(err) = xdp.remove(live.session.local_discriminator())
    {
        tracing::warn!(bfd = %live.spec.name, error = %err, "removing the BFD session from XDP");
    }
}

fn config_of(spec: &SessionSpec, external_detection: bool) -> SessionConfig {
    SessionConfig {
        desired_min_tx: spec.desired_min_tx,
        required_min_rx: spec.required_min_rx,
        idle_tx: spec.idle_tx,
        detect_mult: spec.detect_mult,
        passive: spec.passive,
        external_detection,
    }
}

fn status_of(live: &Live) -> BfdSessionStatus {
    let status = live.session.status();
    BfdSessionStatus {
        name: live.spec.name.clone(),
        neighbor: live.spec.neighbor,
        source: live.spec.source,
        multihop: live.spec.multihop,
        state: state_word(status.state).into(),
        tracked_up: live.tracked_up,
        remote_state: state_word(status.remote_state).into(),
        local_diag: status.local_diag.to_string(),
        remote_diag: status.remote_diag.to_string(),
        local_discriminator: status.local_discriminator,
        remote_discriminator: status.remote_discriminator,
        tx_interval_us: status.tx_interval.map_or(0, micros),
        rx_interval_us: status.rx_interval.map_or(0, micros),
        detect_time_us: status.detect_time.map_or(0, micros),
        up_transitions: status.counters.up_transitions,
        down_transitions: status.counters.down_transitions,
        last_down_reason: status.counters.last_down_diag.map(|diag| diag.to_string()),
        socket_packets: live.socket_packets,
        xdp_detection: live.entry.is_some(),
        xdp_expiries: live.xdp_expiries,
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn state_word(state: State) -> &'static str {
    match state {
        State::AdminDown => "admin_down",
        State::Down => "down",
        State::Init => "init",
        State::Up => "up",
    }
}
