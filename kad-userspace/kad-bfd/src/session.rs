//! One RFC 5880 session in asynchronous mode, sans-IO: the runtime feeds it `(now, event)`
//! and sends the packets it returns.
//!
//! - State machine: §6.2 and the reception rules of §6.8.6 (three-way handshake
//!   Down → Init → Up, Up → Down on a peer's Down or AdminDown with diag 3).
//! - Variables: §6.8.1 (`bfd.SessionState`, `bfd.RemoteSessionState`, `bfd.LocalDiscr`,
//!   `bfd.RemoteDiscr`, `bfd.LocalDiag`, `bfd.DesiredMinTxInterval`,
//!   `bfd.RequiredMinRxInterval`, `bfd.RemoteMinRxInterval`, `bfd.DetectMult`).
//! - Timers: §6.8.2/§6.8.3 negotiation, with `bfd.DesiredMinTxInterval` held at
//!   keepalived's `idle_tx` (at least 1 s) while the session is not Up; Poll Sequences
//!   (§6.5) for parameter changes while Up; §6.8.4 detection time; §6.8.7 TX jitter.
//! - Roles: §6.1 passive (no packet until the peer is heard); §6.8.16 AdminDown.
//!
//! With [`SessionConfig::external_detection`] the session never declares the peer lost by
//! itself: XDP does, and the runtime calls [`Session::detection_expired`].

use std::time::{Duration, Instant};

use crate::jitter::Jitter;
use crate::packet::{ControlPacket, Diag, State};

/// §6.8.3: "When bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval
/// to a value of not less than one second".
pub const MIN_IDLE_TX: Duration = Duration::from_secs(1);

/// The parameters of a session (keepalived `bfd_instance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// `min_tx`: bfd.DesiredMinTxInterval while Up.
    pub desired_min_tx: Duration,
    /// `min_rx`: bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// `idle_tx`: bfd.DesiredMinTxInterval while not Up (raised to [`MIN_IDLE_TX`]).
    pub idle_tx: Duration,
    /// `multiplier`: bfd.DetectMult (1–255).
    pub detect_mult: u8,
    /// `passive`: send nothing until the peer is heard (§6.1).
    pub passive: bool,
    /// Detection is done outside (XDP): the session never expires by itself.
    pub external_detection: bool,
}

impl Default for SessionConfig {
    /// keepalived's defaults: min_rx 10 ms, min_tx 10 ms, idle_tx 1000 ms, multiplier 5.
    fn default() -> Self {
        SessionConfig {
            desired_min_tx: Duration::from_millis(10),
            required_min_rx: Duration::from_millis(10),
            idle_tx: Duration::from_secs(1),
            detect_mult: 5,
            passive: false,
            external_detection: false,
        }
    }
}

/// A change of bfd.SessionState.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// bfd.LocalDiag after the change (the reason).
    pub diag: Diag,
}

/// What an event asks of the runtime: a packet to send now, a state change to act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// A control packet to send to the peer at once.
    pub send: Option<ControlPacket>,
    /// The session's state changed.
    pub change: Option<StateChange>,
}

/// Counters kept for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    /// Transitions into Up.
    pub up_transitions: u64,
    /// Transitions out of Up.
    pub down_transitions: u64,
    /// The diag of the last transition out of Up.
    pub last_down_diag: Option<Diag>,
    /// When the state last changed (the session's creation before any change).
    pub last_state_change: Instant,
    /// Control packets returned for sending.
    pub tx_packets: u64,
    /// Control packets accepted.
    pub rx_packets: u64,
    /// Control packets ignored (discriminator mismatch, failed §6.8.6 checks).
    pub rx_ignored: u64,
    /// Poll Sequences started.
    pub polls: u64,
}

/// A snapshot of a session for `kad status`, JSON and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiscr.
    pub local_discriminator: u32,
    /// bfd.RemoteDiscr (0 while the peer is not heard).
    pub remote_discriminator: u32,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// The diag of the peer's last packet.
    pub remote_diag: Diag,
    /// bfd.DetectMult.
    pub detect_mult: u8,
    /// The peer's detect multiplier (0 while never heard).
    pub remote_detect_mult: u8,
    /// bfd.DesiredMinTxInterval as sent.
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval as sent.
    pub required_min_rx: Duration,
    /// The peer's Desired Min TX Interval.
    pub remote_desired_min_tx: Duration,
    /// bfd.RemoteMinRxInterval.
    pub remote_min_rx: Duration,
    /// The negotiated transmit interval (before jitter); `None` if the peer asked for none.
    pub tx_interval: Option<Duration>,
    /// The negotiated receive interval (the peer's transmit interval as agreed).
    pub rx_interval: Option<Duration>,
    /// The detection time (§6.8.4); `None` while the peer was never heard.
    pub detect_time: Option<Duration>,
    /// A Poll Sequence is in progress.
    pub polling: bool,
    /// When the last accepted packet arrived.
    pub last_rx: Option<Instant>,
    /// Counters.
    pub counters: Counters,
}

/// One BFD session (RFC 5880 §6.8).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    jitter: Jitter,
    state: State,
    local_discr: u32,
    local_diag: Diag,
    remote_state: State,
    remote_discr: u32,
    remote_diag: Diag,
    remote_min_rx: Duration,
    remote_desired_min_tx: Duration,
    remote_detect_mult: u8,
    /// bfd.DesiredMinTxInterval / bfd.RequiredMinRxInterval: the values sent.
    desired_min_tx: Duration,
    required_min_rx: Duration,
    /// The values timers use: they lag the values sent during a Poll Sequence (§6.8.3).
    tx_in_use: Duration,
    rx_in_use: Duration,
    polling: bool,
    last_tx: Option<Instant>,
    next_tx: Option<Instant>,
    /// The transmit interval `next_tx` was drawn from.
    scheduled_interval: Option<Duration>,
    last_rx: Option<Instant>,
    /// A packet was accepted since the last detection expiry.
    detect_armed: bool,
    counters: Counters,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Session {
    /// A new session in state Down. `local_discriminator` is bfd.LocalDiscr: non-zero and
    /// unique on this system (§6.8.1); `seed` seeds the TX jitter. An active session sends
    /// its first packet at once.
    pub fn new(config: SessionConfig, local_discriminator: u32, seed: u64, now: Instant) -> Self {
        let idle = Self::idle_tx(&config);
        let mut session = Session {
            config,
            jitter: Jitter::new(seed),
            state: State::Down,
            local_discr: local_discriminator,
            local_diag: Diag::None,
            remote_state: State::Down,
            remote_discr: 0,
            remote_diag: Diag::None,
            // §6.8.1: bfd.RemoteMinRxInterval "MUST be initialized to 1".
            remote_min_rx: Duration::from_micros(1),
            remote_desired_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            desired_min_tx: idle,
            required_min_rx: config.required_min_rx,
            tx_in_use: idle,
            rx_in_use: config.required_min_rx,
            polling: false,
            last_tx: None,
            next_tx: None,
            scheduled_interval: None,
            last_rx: None,
            detect_armed: false,
            counters: Counters {
                up_transitions: 0,
                down_transitions: 0,
                last_down_diag: None,
                last_state_change: now,
                tx_packets: 0,
                rx_packets: 0,
                rx_ignored: 0,
                polls: 0,
            },
        };
        session.refresh_tx(now);
        session
    }

    fn idle_tx(config: &SessionConfig) -> Duration {
        config.desired_min_tx.max(config.idle_tx).max(MIN_IDLE_TX)
    }

    /// §6.8.3: bfd.DesiredMinTxInterval for the current state.
    fn wanted_tx(&self) -> Duration {
        if self.state == State::Up {
            self.config.desired_min_tx
        } else {
            Self::idle_tx(&self.config)
        }
    }

    /// A received control packet (already decoded, so it passed the session-independent
    /// checks; they are applied again here for packets built in code). The caller selects
    /// the session by Your Discriminator, or by addresses when it is zero.
    pub fn receive(&mut self, now: Instant, packet: &ControlPacket) -> Output {
        // §6.8.6: a packet whose Your Discriminator is not ours is discarded.
        if packet.check().is_err()
            || (packet.your_discriminator != 0 && packet.your_discriminator != self.local_discr)
        {
            self.counters.rx_ignored += 1;
            return Output::default();
        }
        self.counters.rx_packets += 1;
        self.remote_discr = packet.my_discriminator;
        self.remote_state = packet.state;
        self.remote_diag = packet.diag;
        self.remote_min_rx = Duration::from_micros(u64::from(packet.required_min_rx_us));
        self.remote_desired_min_tx = Duration::from_micros(u64::from(packet.desired_min_tx_us));
        self.remote_detect_mult = packet.detect_mult;
        // §6.8.6: "If the Final (F) bit is set, ... terminate any Poll Sequence in
        // progress"; §6.8.3: the new intervals take effect only now.
        if packet.final_ && self.polling {
            self.polling = false;
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
        }
        let mut out = Output::default();
        // §6.8.6: "If bfd.SessionState is AdminDown, discard the packet."
        if self.state == State::AdminDown {
            self.refresh_tx(now);
            return out;
        }
        self.last_rx = Some(now);
        self.detect_armed = true;
        out.change = match (self.state, packet.state) {
            // §6.8.6: "If received state is AdminDown: if bfd.SessionState is not Down,
            // set bfd.LocalDiag to 3 (Neighbor signaled session down), set
            // bfd.SessionState to Down".
            (State::Down, State::AdminDown) => None,
            (_, State::AdminDown) => {
                Some(self.transition(now, State::Down, Diag::NeighborSignaledSessionDown))
            }
            (State::Down, State::Down) => Some(self.transition(now, State::Init, self.local_diag)),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                Some(self.transition(now, State::Up, Diag::None))
            }
            (State::Up, State::Down) => {
                Some(self.transition(now, State::Down, Diag::NeighborSignaledSessionDown))
            }
            _ => None,
        };
        // §6.8.7: a Poll is answered with a Final "without respect to the transmission
        // timer or any other transmission limitations".
        if packet.poll {
            out.send = Some(self.packet(false, true));
            self.counters.tx_packets += 1;
        }
        self.refresh_tx(now);
        out
    }

    /// Everything whose time has come at `now`: detection expiry (unless
    /// external), then the periodic packet.
    pub fn timeout(&mut self, now: Instant) -> Output {
        let mut out = Output::default();
        if self
            .detect_deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            out = self.expire(now);
        }
        let due = self.next_tx.is_some_and(|at| now >= at);
        if let (true, Some(interval)) = (due, self.scheduled_interval) {
            out.send = Some(self.packet(self.polling, false));
            self.counters.tx_packets += 1;
            self.last_tx = Some(now);
            self.next_tx = Some(now + self.jitter.apply(interval, self.config.detect_mult));
        }
        out
    }

    /// When [`Session::timeout`] has something to do next.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.next_tx, self.detect_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the next periodic packet is due (`None`: nothing to send, e.g. passive and
    /// not heard). A TX thread may wait on this alone when detection is external.
    pub fn next_tx(&self) -> Option<Instant> {
        self.next_tx
    }

    /// New parameters (SIGHUP). §6.8.3: a change of bfd.DesiredMinTxInterval or
    /// bfd.RequiredMinRxInterval while Up starts a Poll Sequence; an increased TX interval
    /// and a reduced RX interval take effect only when the Final arrives.
    pub fn reconfigure(&mut self, now: Instant, config: SessionConfig) -> Output {
        self.config = config;
        self.update_intervals();
        self.refresh_tx(now);
        Output::default()
    }

    /// Hands detection to the outside (XDP) or takes it back
    /// ([`SessionConfig::external_detection`]). Taken back, the detection time counts from
    /// `now` (packets the outside kept to itself were not seen here).
    pub fn set_external_detection(&mut self, now: Instant, external: bool) {
        if self.config.external_detection == external {
            return;
        }
        self.config.external_detection = external;
        if !external && self.last_rx.is_some() {
            self.last_rx = Some(now);
        }
    }

    /// The detection time passed without a packet, as seen outside (XDP): as §6.8.4
    /// expiry. Ignored in AdminDown.
    pub fn detection_expired(&mut self, now: Instant) -> Output {
        if self.state == State::AdminDown {
            return Output::default();
        }
        self.expire(now)
    }

    /// §6.8.16: takes the session administratively down (kad stopping, or the session
    /// removed): state AdminDown, diag 7, and an AdminDown packet to send at once. Later
    /// periodic packets keep saying AdminDown.
    pub fn admin_down(&mut self, now: Instant) -> Output {
        let mut out = Output::default();
        if self.state != State::AdminDown {
            out.change = Some(self.transition(now, State::AdminDown, Diag::AdministrativelyDown));
        }
        self.refresh_tx(now);
        if let Some(interval) = self.scheduled_interval {
            out.send = Some(self.packet(self.polling, false));
            self.counters.tx_packets += 1;
            self.last_tx = Some(now);
            self.next_tx = Some(now + self.jitter.apply(interval, self.config.detect_mult));
        }
        out
    }

    /// §6.8.16: leaves AdminDown for Down (diag 0). Does nothing in another state.
    pub fn admin_up(&mut self, now: Instant) -> Output {
        if self.state != State::AdminDown {
            return Output::default();
        }
        Output {
            send: None,
            change: Some(self.transition(now, State::Down, Diag::None)),
        }
    }

    fn expire(&mut self, now: Instant) -> Output {
        self.detect_armed = false;
        // §6.8.1: bfd.RemoteDiscr "MUST be set to zero if the Detection Time expires".
        self.remote_discr = 0;
        self.remote_state = State::Down;
        let mut out = Output::default();
        // §6.8.4: "if bfd.SessionState is Init or Up, the session has gone down".
        if matches!(self.state, State::Init | State::Up) {
            out.change = Some(self.transition(now, State::Down, Diag::ControlDetectionTimeExpired));
        }
        self.refresh_tx(now);
        out
    }

    fn transition(&mut self, now: Instant, to: State, diag: Diag) -> StateChange {
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        self.counters.last_state_change = now;
        if to == State::Up {
            self.counters.up_transitions += 1;
        }
        if from == State::Up {
            self.counters.down_transitions += 1;
            self.counters.last_down_diag = Some(diag);
        }
        // The packet already scheduled keeps its time even when the new state's interval is
        // longer (Up -> Down: 1 s), so the peer learns the change within its detection time.
        let scheduled = self.next_tx;
        self.update_intervals();
        self.refresh_tx(now);
        if let (Some(scheduled), Some(next)) = (scheduled, self.next_tx) {
            self.next_tx = Some(next.min(scheduled));
        }
        StateChange { from, to, diag }
    }

    /// §6.8.3: brings the intervals sent in line with the state and the configuration.
    fn update_intervals(&mut self) {
        let tx = self.wanted_tx();
        let rx = self.config.required_min_rx;
        if self.state != State::Up {
            // The "not Up" idle rate and a new configuration apply at once; a Poll
            // Sequence in progress is moot.
            self.polling = false;
            self.desired_min_tx = tx;
            self.required_min_rx = rx;
            self.tx_in_use = tx;
            self.rx_in_use = rx;
            return;
        }
        if tx == self.desired_min_tx && rx == self.required_min_rx {
            return;
        }
        self.desired_min_tx = tx;
        self.required_min_rx = rx;
        if !self.polling {
            self.counters.polls += 1;
        }
        self.polling = true;
        // §6.8.3: only an increased TX interval must wait for the Final ("the actual
        // transmission interval used MUST NOT change until the Poll Sequence ... has
        // terminated"), and only a reduced RX interval ("the previous value ... MUST be
        // used when calculating the Detection Time"). The other directions are safe at
        // once, and waiting would let the peer's shorter detection time expire.
        self.tx_in_use = self.tx_in_use.min(tx);
        self.rx_in_use = self.rx_in_use.max(rx);
    }

    /// §6.8.7: whether periodic packets may be sent at all.
    fn may_transmit(&self) -> bool {
        // "MUST NOT transmit BFD Control packets if bfd.RemoteDiscr is zero and the system
        // is taking the Passive role"; "MUST NOT periodically transmit ... if
        // bfd.RemoteMinRxInterval is zero".
        (!self.config.passive || self.remote_discr != 0) && !self.remote_min_rx.is_zero()
    }

    /// §6.8.2: the negotiated transmit interval, before jitter.
    fn negotiated_tx(&self) -> Option<Duration> {
        (!self.remote_min_rx.is_zero()).then(|| self.tx_in_use.max(self.remote_min_rx))
    }

    /// Reschedules the next periodic packet when the transmit interval or the right to
    /// transmit changed (and only then: the jitter drawn for a packet stays).
    fn refresh_tx(&mut self, now: Instant) {
        let interval = self.negotiated_tx().filter(|_| self.may_transmit());
        let Some(interval) = interval else {
            self.next_tx = None;
            self.scheduled_interval = None;
            return;
        };
        let previous = self.scheduled_interval.replace(interval);
        if let (Some(_), Some(p)) = (self.next_tx, previous)
            && p == interval
        {
            return;
        }
        // §6.8.7: never closer to the previous packet than the (jittered) interval; the
        // first packet goes at once.
        let fresh = match self.last_tx {
            Some(last) => (last + self.jitter.apply(interval, self.config.detect_mult)).max(now),
            None => now,
        };
        self.next_tx = Some(match (self.next_tx, previous) {
            // A shorter interval pulls the scheduled packet in, never pushes it out.
            (Some(next), Some(p)) if interval < p => next.min(fresh),
            _ => fresh,
        });
    }

    /// §6.8.4: the detection time, once the peer was heard.
    pub fn detect_time(&self) -> Option<Duration> {
        (self.remote_detect_mult != 0).then(|| {
            self.rx_in_use.max(self.remote_desired_min_tx) * u32::from(self.remote_detect_mult)
        })
    }

    fn detect_deadline(&self) -> Option<Instant> {
        if self.config.external_detection || !self.detect_armed || self.state == State::AdminDown {
            return None;
        }
        Some(self.last_rx? + self.detect_time()?)
    }

    /// §6.8.7: the contents of a control packet sent now.
    fn packet(&self, poll: bool, final_: bool) -> ControlPacket {
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            // §6.5: "MUST NOT transmit a Control packet with both the Poll (P) and Final
            // (F) bits set".
            poll: poll && !final_,
            final_,
            control_plane_independent: false,
            authentication: false,
            demand: false,
            multipoint: false,
            detect_mult: self.config.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: micros(self.desired_min_tx),
            required_min_rx_us: micros(self.required_min_rx),
            required_min_echo_rx_us: 0,
        }
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }

    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }

    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    /// bfd.RemoteDiscr (0 while the peer is not heard).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    /// bfd.LocalDiag.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    /// The configuration in use.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The negotiated transmit interval (§6.8.2), before jitter.
    pub fn tx_interval(&self) -> Option<Duration> {
        self.negotiated_tx()
    }

    /// The negotiated receive interval: the peer's transmit interval as agreed.
    pub fn rx_interval(&self) -> Option<Duration> {
        (self.remote_detect_mult != 0).then(|| self.rx_in_use.max(self.remote_desired_min_tx))
    }

    /// A Poll Sequence is in progress.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Everything status shows.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            local_discriminator: self.local_discr,
            remote_discriminator: self.remote_discr,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            detect_mult: self.config.detect_mult,
            remote_detect_mult: self.remote_detect_mult,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            remote_desired_min_tx: self.remote_desired_min_tx,
            remote_min_rx: self.remote_min_rx,
            tx_interval: self.tx_interval(),
            rx_interval: self.rx_interval(),
            detect_time: self.detect_time(),
            polling: self.polling,
            last_rx: self.last_rx,
            counters: self.counters,
        }
    }
}

#[cfg(test)]
mod tests;
