//! The BFD thread: sockets, every session's `kad_bfd::Session`, and their deadlines, in one
//! `ppoll` loop (nanosecond timeouts: tokio's timer wheel counts in milliseconds, too coarse
//! for 1 ms BFD intervals).

use std::{
    collections::HashMap,
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

use super::spec::SessionSpec;

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

enum Command {
    Reload(Vec<SessionSpec>, Settings),
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
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.stop(Instant::now());
                        return;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            self.expire(Instant::now());
            self.publish(Instant::now());
            let now = Instant::now();
            let deadline = self
                .sessions
                .iter()
                .filter_map(|live| live.session.next_deadline())
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

    /// Runs every session whose deadline has come.
    fn expire(&mut self, now: Instant) {
        for slot in 0..self.sessions.len() {
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
                        let output = live.session.reconfigure(now, config_of(&spec));
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
        let session = Session::new(config_of(&spec), discriminator, self.rng.u64(..), now);
        tracing::info!(bfd = %spec.name, neighbor = %spec.neighbor, local = %sender.local(), multihop = spec.multihop, discriminator, "BFD instance started");
        Ok(Live {
            tracked_up: false,
            published: None,
            to: SocketAddr::new(spec.neighbor, spec.control_port()),
            spec,
            session,
            sender,
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

fn config_of(spec: &SessionSpec) -> SessionConfig {
    SessionConfig {
        desired_min_tx: spec.desired_min_tx,
        required_min_rx: spec.required_min_rx,
        idle_tx: spec.idle_tx,
        detect_mult: spec.detect_mult,
        passive: spec.passive,
        external_detection: false,
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
