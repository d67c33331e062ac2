use std::collections::VecDeque;

use super::*;

const MS: Duration = Duration::from_millis(1);

fn config(tx_ms: u32, rx_ms: u32, mult: u8) -> SessionConfig {
    SessionConfig {
        desired_min_tx: tx_ms * MS,
        required_min_rx: rx_ms * MS,
        detect_mult: mult,
        ..SessionConfig::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Two sessions wired back to back on a virtual clock, with zero delay; each direction can
/// be cut.
struct Link {
    a: Session,
    b: Session,
    now: Instant,
    a_to_b: bool,
    b_to_a: bool,
    sent: Vec<(Instant, Side, ControlPacket)>,
    changes: Vec<(Instant, Side, StateChange)>,
}

impl Link {
    fn new(a: SessionConfig, b: SessionConfig) -> Self {
        let now = Instant::now();
        Link {
            a: Session::new(a, 0xa, 1, now),
            b: Session::new(b, 0xb, 2, now),
            now,
            a_to_b: true,
            b_to_a: true,
            sent: Vec::new(),
            changes: Vec::new(),
        }
    }

    fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn handle(&mut self, side: Side, out: Output) {
        let mut queue = VecDeque::from([(side, out)]);
        while let Some((side, out)) = queue.pop_front() {
            if let Some(change) = out.change {
                self.changes.push((self.now, side, change));
            }
            let Some(packet) = out.send else { continue };
            self.sent.push((self.now, side, packet));
            let (to, open) = match side {
                Side::A => (Side::B, self.a_to_b),
                Side::B => (Side::A, self.b_to_a),
            };
            if open {
                let now = self.now;
                let reply = self.session(to).receive(now, &packet);
                queue.push_back((to, reply));
            }
        }
    }

    /// Runs every deadline up to and including `until`.
    fn run_until(&mut self, until: Instant) {
        let mut stuck = 0;
        loop {
            let next = [self.a.next_deadline(), self.b.next_deadline()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|t| *t <= until) else {
                break;
            };
            stuck = if next <= self.now { stuck + 1 } else { 0 };
            assert!(stuck < 10, "a deadline at {next:?} does not move on");
            self.now = self.now.max(next);
            for side in [Side::A, Side::B] {
                let now = self.now;
                if self.session(side).next_deadline().is_some_and(|t| t <= now) {
                    let out = self.session(side).timeout(now);
                    self.handle(side, out);
                }
            }
        }
        self.now = self.now.max(until);
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until both are Up; panics after `limit`.
    fn come_up(&mut self, limit: Duration) {
        let end = self.now + limit;
        while !(self.a.state() == State::Up && self.b.state() == State::Up) {
            assert!(self.now < end, "not Up after {limit:?}");
            self.run_for(MS);
        }
    }

    fn periodic_tx_times(&self, side: Side, after: Instant) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|(t, s, p)| *s == side && *t >= after && !p.final_)
            .map(|(t, _, _)| *t)
            .collect()
    }
}

#[test]
fn three_way_handshake_comes_up() {
    let mut link = Link::new(config(10, 10, 3), config(10, 10, 3));
    let t0 = link.now;
    link.come_up(Duration::from_secs(3));
    // §6.2: Down -> Init -> Up on the side that heard Down first, Down -> Up on the other.
    let states = |side| -> Vec<(State, State)> {
        link.changes
            .iter()
            .filter(|(_, s, _)| *s == side)
            .map(|(_, _, c)| (c.from, c.to))
            .collect()
    };
    assert_eq!(
        states(Side::B),
        [(State::Down, State::Init), (State::Init, State::Up)]
    );
    assert_eq!(states(Side::A), [(State::Down, State::Up)]);
    // The packets went Down, Init, Up, in that order, both at once at t0 then at the idle
    // rate: the handshake takes under one idle interval here.
    let first: Vec<State> = link.sent.iter().take(3).map(|(_, _, p)| p.state).collect();
    assert_eq!(first, [State::Down, State::Init, State::Up]);
    assert!(link.now - t0 < Duration::from_secs(1));
    assert_eq!(link.a.remote_discriminator(), 0xb);
    assert_eq!(link.b.remote_discriminator(), 0xa);
    assert_eq!(link.a.counters().up_transitions, 1);
    // Up: both run a Poll Sequence for the faster rate and settle on 10 ms.
    link.run_for(100 * MS);
    for s in [&link.a, &link.b] {
        assert!(!s.polling());
        assert_eq!(s.tx_interval(), Some(10 * MS));
        assert_eq!(s.detect_time(), Some(30 * MS));
        assert_eq!(s.status().local_diag, Diag::None);
        assert_eq!(s.counters().polls, 1);
    }
}

#[test]
fn keepalived_exchange_byte_for_byte() {
    // The packets of keepalived's peer B (see packet::tests), fed to a session with
    // keepalived's A parameters and discriminator: kad answers with A's very bytes.
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let now = Instant::now();
    let mut a = Session::new(config(100, 100, 3), 0xb5ab_6d0c, 7, now);
    let down = a.timeout(now).send.unwrap();
    assert_eq!(
        down.encode().as_slice(),
        hex("20400318b5ab6d0c00000000000f4240000186a000000000")
    );
    let b_down =
        ControlPacket::decode(&hex("20400418487c02a3000000000016e36000030d4000000000")).unwrap();
    let out = a.receive(now + MS, &b_down);
    assert_eq!(out.change.unwrap().to, State::Init);
    let init = a.timeout(a.next_deadline().unwrap()).send.unwrap();
    assert_eq!(
        init.encode().as_slice(),
        hex("20800318b5ab6d0c487c02a3000f4240000186a000000000")
    );
    let b_up_poll =
        ControlPacket::decode(&hex("20e00418487c02a3b5ab6d0c000249f000030d4000000000")).unwrap();
    let out = a.receive(now + 1500 * MS, &b_up_poll);
    assert_eq!(out.change.unwrap().to, State::Up);
    assert_eq!(
        out.send.unwrap().encode().as_slice(),
        hex("20d00318b5ab6d0c487c02a3000186a0000186a000000000")
    );
    // keepalived logged for A: tx_intv 200000, detect_time 600000.
    assert_eq!(a.tx_interval(), Some(200 * MS));
    assert_eq!(a.detect_time(), Some(600 * MS));
    let status = a.status();
    assert_eq!(status.rx_interval, Some(150 * MS));
    assert_eq!(
        (status.remote_state, status.remote_detect_mult),
        (State::Up, 4)
    );
    assert_eq!(status.remote_discriminator, 0x487c_02a3);
    assert_eq!(status.counters.up_transitions, 1);
    assert_eq!(status.counters.last_state_change, now + 1500 * MS);
    // A's own Poll Sequence for its Up rate (keepalived: "Starting poll sequence").
    assert!(status.polling);
}

#[test]
fn init_expires_to_down_without_the_third_packet() {
    // §6.8.4: the detection time runs in Init too (peer's mult × its idle 1 s here).
    let now = Instant::now();
    let mut a = Session::new(config(10, 10, 3), 1, 5, now);
    let peer_down = ControlPacket {
        diag: Diag::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        authentication: false,
        demand: false,
        multipoint: false,
        detect_mult: 2,
        my_discriminator: 9,
        your_discriminator: 0,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 10_000,
        required_min_echo_rx_us: 0,
    };
    assert_eq!(a.receive(now, &peer_down).change.unwrap().to, State::Init);
    assert_eq!(a.detect_time(), Some(Duration::from_secs(2)));
    let expiry = now + Duration::from_secs(2);
    while let Some(t) = a.next_deadline().filter(|t| *t < expiry) {
        assert_eq!(a.timeout(t).change, None, "down {:?} early", expiry - t);
    }
    assert_eq!(a.next_deadline(), Some(expiry));
    assert_eq!(
        a.timeout(expiry).change,
        Some(StateChange {
            from: State::Init,
            to: State::Down,
            diag: Diag::ControlDetectionTimeExpired
        })
    );
    // Never Up: no down transition is counted.
    assert_eq!(a.counters().down_transitions, 0);
}

#[test]
fn silence_brings_down_after_exactly_the_detect_time() {
    // Detection at A = B's mult × max(A's min_rx, B's min_tx) = 4 × 20 ms (§6.8.4).
    let mut link = Link::new(config(10, 20, 3), config(10, 10, 4));
    link.come_up(Duration::from_secs(3));
    link.run_for(200 * MS);
    assert_eq!(link.a.detect_time(), Some(80 * MS));
    link.b_to_a = false;
    let last_rx = link.a.status().last_rx.unwrap();
    let deadline = last_rx + 80 * MS;
    assert_eq!(link.a.next_deadline().map(|t| t <= deadline), Some(true));
    link.run_until(deadline - Duration::from_micros(1));
    assert_eq!(link.a.state(), State::Up, "down before the detect time");
    link.run_until(deadline);
    assert_eq!(link.a.state(), State::Down);
    let (at, side, change) = *link.changes.last().unwrap();
    assert_eq!((at, side), (deadline, Side::A));
    assert_eq!(
        change,
        StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::ControlDetectionTimeExpired
        }
    );
    let counters = link.a.counters();
    assert_eq!(counters.down_transitions, 1);
    assert_eq!(
        counters.last_down_diag,
        Some(Diag::ControlDetectionTimeExpired)
    );
    assert_eq!(counters.last_state_change, deadline);
    // §6.8.1: the remote discriminator is forgotten; the idle rate is back (§6.8.3).
    assert_eq!(link.a.remote_discriminator(), 0);
    assert_eq!(link.a.status().desired_min_tx, Duration::from_secs(1));
    // B hears A's Down (diag 1) and goes Down with diag 3 (then Init: it still hears A).
    link.run_for(Duration::from_secs(1));
    let b_down = link
        .changes
        .iter()
        .find(|(_, side, c)| *side == Side::B && c.from == State::Up)
        .unwrap();
    assert_eq!(b_down.2.to, State::Down);
    assert_eq!(b_down.2.diag, Diag::NeighborSignaledSessionDown);
}

#[test]
fn external_detection_waits_for_the_caller() {
    let mut ext = config(10, 10, 3);
    ext.external_detection = true;
    let mut link = Link::new(ext, config(10, 10, 3));
    link.come_up(Duration::from_secs(3));
    link.b_to_a = false;
    link.run_for(Duration::from_secs(2));
    assert_eq!(link.a.state(), State::Up);
    let now = link.now;
    let out = link.a.detection_expired(now);
    assert_eq!(
        out.change,
        Some(StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::ControlDetectionTimeExpired
        })
    );
    assert_eq!(link.a.remote_discriminator(), 0);
}

#[test]
fn detection_handed_out_and_taken_back_counts_from_the_hand_back() {
    let mut link = Link::new(config(10, 10, 3), config(10, 10, 3));
    link.come_up(Duration::from_secs(3));
    let now = link.now;
    link.a.set_external_detection(now, true);
    link.b_to_a = false;
    // Outside detection: silence far beyond the detect time changes nothing here.
    link.run_for(Duration::from_secs(1));
    assert_eq!(link.a.state(), State::Up);
    // Taken back: the detect time (30 ms) counts from now, not from the last packet seen.
    let back = link.now;
    link.a.set_external_detection(back, false);
    assert_eq!(
        link.a.next_deadline().map(|at| at <= back + 30 * MS),
        Some(true)
    );
    link.run_for(20 * MS);
    assert_eq!(link.a.state(), State::Up);
    link.run_for(20 * MS);
    assert_eq!(link.a.state(), State::Down);
    assert_eq!(link.a.local_diag(), Diag::ControlDetectionTimeExpired);
}

/// Both Up and settled at 10 ms; then stepping by hand.
fn settled() -> (Session, Session, Instant) {
    let mut link = Link::new(config(10, 20, 3), config(10, 10, 3));
    link.come_up(Duration::from_secs(3));
    link.run_for(100 * MS);
    assert!(!link.a.polling() && !link.b.polling());
    (link.a, link.b, link.now)
}

#[test]
fn poll_sequence_changes_intervals_only_after_final() {
    let (mut a, mut b, now) = settled();
    assert_eq!(a.tx_interval(), Some(10 * MS));
    assert_eq!(a.detect_time(), Some(60 * MS));
    // A slows its TX to 50 ms and lowers its RX to 5 ms.
    a.reconfigure(now, config(50, 5, 3));
    assert!(a.polling());
    // §6.8.3: until the Final, the TX interval and the detection time stay.
    assert_eq!(a.tx_interval(), Some(10 * MS));
    assert_eq!(a.detect_time(), Some(60 * MS));
    let mut t = now;
    let mut polls = 0;
    for _ in 0..5 {
        // The Final is lost: A keeps polling at the old rate.
        let next = a.next_deadline().unwrap();
        assert!(next - t <= 10 * MS, "{:?}", next - t);
        t = next;
        let packet = a.timeout(t).send.unwrap();
        assert!(packet.poll && !packet.final_);
        assert_eq!(packet.desired_min_tx_us, 50_000);
        assert_eq!(packet.required_min_rx_us, 5_000);
        polls += 1;
        // B keeps A alive with its own packets meanwhile.
        let b_packet = ControlPacket {
            poll: false,
            final_: false,
            ..b.packet(false, false)
        };
        a.receive(t, &b_packet);
    }
    assert_eq!(polls, 5);
    assert_eq!(a.tx_interval(), Some(10 * MS));
    // §6.8.7: B answers a Poll at once, with F set and P clear.
    let tp = a.next_tx().unwrap();
    let poll = a.timeout(tp).send.unwrap();
    assert!(poll.poll);
    let reply = b.receive(tp, &poll);
    let fin = reply.send.unwrap();
    assert!(fin.final_ && !fin.poll);
    // B's view of A changed at once: A's TX is now 50 ms, so B expects it every 50 ms.
    assert_eq!(b.detect_time(), Some(150 * MS));
    let out = a.receive(tp, &fin);
    assert_eq!(out, Output::default());
    assert!(!a.polling());
    assert_eq!(a.tx_interval(), Some(50 * MS));
    // Detection: B's mult × max(A's new RX 5 ms, B's TX 10 ms).
    assert_eq!(a.detect_time(), Some(30 * MS));
    // The next periodic packet keeps 75–100 % of the new 50 ms from the Poll, and has no P.
    let next = a.next_tx().unwrap();
    assert!(
        next >= tp + 50 * MS * 3 / 4 && next <= tp + 50 * MS,
        "{:?}",
        next - tp
    );
    let sent = a.timeout(next).send.unwrap();
    assert!(!sent.poll);
}

#[test]
fn a_faster_tx_applies_before_the_final() {
    // §6.8.3 restricts only an increase; a decrease is safe and used at once.
    let (mut a, _b, now) = settled();
    a.reconfigure(now, config(5, 20, 3));
    assert!(a.polling());
    // B asked for 10 ms, so the negotiated interval stays max(5, 10).
    assert_eq!(a.tx_interval(), Some(10 * MS));
    assert_eq!(a.status().desired_min_tx, 5 * MS);
}

#[test]
fn received_poll_is_answered_at_once_with_final() {
    let (mut a, mut b, now) = settled();
    let before = a.next_deadline();
    let poll = ControlPacket {
        poll: true,
        ..b.packet(false, false)
    };
    let out = a.receive(now, &poll);
    let fin = out.send.unwrap();
    assert!(fin.final_ && !fin.poll);
    assert_eq!(fin.state, State::Up);
    assert_eq!(fin.your_discriminator, b.local_discriminator());
    // The periodic schedule is untouched by the Final.
    assert_eq!(a.next_deadline(), before);
    // A P bit in B's own Poll Sequence while A polls too: A's Final carries no P.
    a.reconfigure(now, config(20, 20, 3));
    let out = a.receive(now, &poll);
    assert!(!out.send.unwrap().poll);
    let _ = b.timeout(now);
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn jitter_bounds_hold_over_many_packets() {
    for (mult, low, high) in [(3u8, 75u32, 100u32), (1, 75, 90)] {
        let mut link = Link::new(config(10, 10, mult), config(10, 10, mult));
        link.come_up(Duration::from_secs(3));
        link.run_for(100 * MS);
        let from = link.now;
        link.run_for(Duration::from_secs(20));
        assert_eq!(link.a.state(), State::Up);
        let times = link.periodic_tx_times(Side::A, from);
        assert!(times.len() > 1900, "{}", times.len());
        let gaps = gaps(&times);
        let (min, max) = (*gaps.iter().min().unwrap(), *gaps.iter().max().unwrap());
        // §6.8.7: 75–100 % of the interval, 75–90 % when bfd.DetectMult is 1.
        assert!(min >= 10 * MS * low / 100, "mult {mult}: {min:?}");
        assert!(max <= 10 * MS * high / 100, "mult {mult}: {max:?}");
        // And spread over the range, not stuck at one end.
        assert!(min < 10 * MS * (low + 2) / 100, "mult {mult}: {min:?}");
        assert!(max > 10 * MS * (high - 2) / 100, "mult {mult}: {max:?}");
    }
}

#[test]
fn same_seed_same_schedule() {
    let run = || {
        let mut link = Link::new(config(10, 10, 3), config(10, 10, 3));
        link.come_up(Duration::from_secs(3));
        link.run_for(Duration::from_secs(1));
        let t0 = link.sent[0].0;
        link.sent
            .iter()
            .map(|(t, _, _)| *t - t0)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn passive_session_is_silent_until_it_hears_one() {
    let mut passive = config(10, 10, 3);
    passive.passive = true;
    let mut link = Link::new(passive, passive);
    link.run_for(Duration::from_secs(5));
    // §6.8.7: neither may speak first.
    assert!(link.sent.is_empty());
    assert_eq!(link.a.next_deadline(), None);

    let mut link = Link::new(passive, config(10, 10, 3));
    let t0 = link.now;
    link.a_to_b = false;
    // B is delayed by cutting B -> A too: A hears nothing and sends nothing.
    link.b_to_a = false;
    link.run_for(Duration::from_secs(3));
    assert!(link.sent.iter().all(|(_, s, _)| *s == Side::B));
    link.a_to_b = true;
    link.b_to_a = true;
    link.come_up(Duration::from_secs(3));
    let first_a = link.sent.iter().find(|(_, s, _)| *s == Side::A).unwrap();
    assert!(first_a.0 >= t0 + Duration::from_secs(3));
    assert_eq!(first_a.2.state, State::Init);
    // Once the peer is lost (§6.8.1 RemoteDiscr back to 0), the passive side falls silent.
    link.b_to_a = false;
    link.run_for(Duration::from_secs(1));
    assert_eq!(link.a.state(), State::Down);
    let lost = link.now;
    link.run_for(Duration::from_secs(5));
    assert!(
        link.periodic_tx_times(Side::A, lost).is_empty(),
        "a passive session spoke to nobody"
    );
}

#[test]
fn admin_down_both_ways() {
    let mut link = Link::new(config(10, 10, 3), config(10, 10, 3));
    link.come_up(Duration::from_secs(3));
    link.run_for(100 * MS);
    // §6.8.16: A goes AdminDown with diag 7 and says so at once.
    let now = link.now;
    let out = link.a.admin_down(now);
    assert_eq!(
        out.change,
        Some(StateChange {
            from: State::Up,
            to: State::AdminDown,
            diag: Diag::AdministrativelyDown
        })
    );
    let packet = out.send.unwrap();
    assert_eq!(
        (packet.state, packet.diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    link.handle(Side::A, out);
    // §6.8.6: B takes a received AdminDown as Down with diag 3, and does not expire.
    assert_eq!(link.b.state(), State::Down);
    assert_eq!(link.b.local_diag(), Diag::NeighborSignaledSessionDown);
    assert_eq!(
        link.b.counters().last_down_diag,
        Some(Diag::NeighborSignaledSessionDown)
    );
    let from = link.now;
    link.run_for(Duration::from_secs(10));
    assert_eq!(link.a.state(), State::AdminDown);
    assert_eq!(link.b.state(), State::Down);
    // A keeps sending AdminDown, at the idle rate; B's packets are discarded by A.
    let a_times = link.periodic_tx_times(Side::A, from + MS);
    assert!(
        gaps(&a_times)
            .iter()
            .all(|g| *g >= 750 * MS && *g <= 1000 * MS)
    );
    assert!(
        link.sent
            .iter()
            .filter(|(t, s, _)| *s == Side::A && *t > from)
            .all(|(_, _, p)| p.state == State::AdminDown)
    );
    // Out of AdminDown: the handshake again.
    let now = link.now;
    let out = link.a.admin_up(now);
    assert_eq!(out.change.unwrap().to, State::Down);
    link.come_up(Duration::from_secs(5));
    // A received AdminDown takes Init down too.
    let now = link.now;
    let mut fresh = Session::new(config(10, 10, 3), 0xc, 3, now);
    let b_down = ControlPacket {
        your_discriminator: 0,
        state: State::Down,
        ..link.b.packet(false, false)
    };
    assert_eq!(fresh.receive(now, &b_down).change.unwrap().to, State::Init);
    let admin = ControlPacket {
        state: State::AdminDown,
        ..b_down
    };
    let change = fresh.receive(now, &admin).change.unwrap();
    assert_eq!(
        (change.from, change.to, change.diag),
        (State::Init, State::Down, Diag::NeighborSignaledSessionDown)
    );
}

#[test]
fn peer_restart_takes_up_down_with_diag_3() {
    let (mut a, b, now) = settled();
    let restarted = ControlPacket {
        state: State::Down,
        your_discriminator: 0,
        ..b.packet(false, false)
    };
    let change = a.receive(now, &restarted).change.unwrap();
    assert_eq!(
        change,
        StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::NeighborSignaledSessionDown
        }
    );
}

#[test]
fn your_discriminator_mismatch_is_ignored() {
    let (mut a, b, now) = settled();
    let before = a.status();
    let stray = ControlPacket {
        your_discriminator: 0xdead,
        state: State::Down,
        poll: true,
        ..b.packet(false, false)
    };
    let out = a.receive(now + MS, &stray);
    assert_eq!(out, Output::default());
    let after = a.status();
    assert_eq!(after.state, State::Up);
    assert_eq!(
        after.last_rx, before.last_rx,
        "a stray packet reset detection"
    );
    assert_eq!(after.counters.rx_ignored, before.counters.rx_ignored + 1);
    // A packet failing §6.8.6 built in code is ignored the same way.
    let zero_mult = ControlPacket {
        detect_mult: 0,
        ..b.packet(false, false)
    };
    assert_eq!(a.receive(now + MS, &zero_mult), Output::default());
    assert_eq!(a.counters().rx_ignored, before.counters.rx_ignored + 2);
}

#[test]
fn idle_rate_while_down_is_at_least_one_second() {
    for (idle_ms, advertised_ms) in [(1000u32, 1000u32), (1500, 1500), (200, 1000)] {
        let now = Instant::now();
        let cfg = SessionConfig {
            idle_tx: idle_ms * MS,
            ..config(10, 10, 3)
        };
        let mut s = Session::new(cfg, 1, 9, now);
        let mut times = Vec::new();
        let end = now + Duration::from_secs(60);
        while let Some(t) = s.next_deadline().filter(|t| *t < end) {
            let packet = s.timeout(t).send.unwrap();
            assert_eq!(packet.state, State::Down);
            assert_eq!(packet.desired_min_tx_us, advertised_ms * 1000);
            assert_eq!(packet.required_min_rx_us, 10_000);
            times.push(t);
        }
        assert_eq!(times[0], now, "an active session speaks at once");
        let interval = advertised_ms * MS;
        for gap in gaps(&times) {
            assert!(gap >= interval * 3 / 4 && gap <= interval, "{gap:?}");
        }
    }
    // And back to the idle rate after Up -> Down.
    let (mut a, b, now) = settled();
    let down = ControlPacket {
        state: State::Down,
        your_discriminator: 0,
        ..b.packet(false, false)
    };
    a.receive(now, &down);
    assert_eq!(a.state(), State::Down);
    assert_eq!(a.status().desired_min_tx, Duration::from_secs(1));
    assert_eq!(a.tx_interval(), Some(Duration::from_secs(1)));
}

#[test]
fn reconfigure_with_the_same_parameters_keeps_the_session() {
    // SIGHUP with the session unchanged: no Poll Sequence, no state change, same schedule.
    let (mut a, _b, now) = settled();
    let before = (a.status(), a.next_deadline());
    let config = *a.config();
    assert_eq!(a.reconfigure(now, config), Output::default());
    assert_eq!((a.status(), a.next_deadline()), before);
    // A new multiplier needs no Poll Sequence either: the next packet carries it.
    let out = a.reconfigure(
        now,
        SessionConfig {
            detect_mult: 7,
            ..config
        },
    );
    assert_eq!(out, Output::default());
    assert!(!a.polling());
    let packet = a.timeout(a.next_tx().unwrap()).send.unwrap();
    assert_eq!(packet.detect_mult, 7);
}

#[test]
fn becoming_passive_while_unheard_falls_silent() {
    let now = Instant::now();
    let mut s = Session::new(config(10, 10, 3), 1, 3, now);
    assert_eq!(s.next_tx(), Some(now));
    let passive = SessionConfig {
        passive: true,
        ..config(10, 10, 3)
    };
    s.reconfigure(now, passive);
    assert_eq!(s.next_deadline(), None);
    s.reconfigure(now + MS, config(10, 10, 3));
    assert_eq!(s.next_tx(), Some(now + MS));
}
