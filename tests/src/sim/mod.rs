//! A deterministic simulator for the sans-IO VRRP core (`kad_vrrp::fsm`).
//!
//! N routers (2..=5, each running one or two VRIDs) share one virtual L2 segment and a
//! virtual clock. Everything random (the scenario, packet loss, delay and so reordering,
//! duplication, partitions and heals, link down/up, crashes and restarts, graceful stops,
//! priority reloads, timer jitter) is drawn from one seed, so any failure replays exactly
//! with `KAD_SIM_SEED=<seed>`.
//!
//! Each step processes one thing (a delivery, a timer, a scenario happening) and then
//! checks the invariants (see [`check`]). Stable phases (lossless, bounded delay, fixed
//! partition) are where the protocol's promises are asserted, once they have lasted
//! [`scenario::settle_time`]; chaos phases only feed the state machines hostile input.

pub mod check;
pub mod scenario;

use std::{cmp::Reverse, collections::BinaryHeap, fmt, net::IpAddr, time::Duration};

use fastrand::Rng;
use kad_vrrp::fsm::{
    Action, Advert, Event, InjectedBug, Instance, InstanceConfig, State, SyncGroup,
    SyncGroupConfig, Timestamp,
};

pub use scenario::{Happening, NetProfile, Phase, Scenario, ScenarioOptions};

/// Options of one run beyond the scenario itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimOptions {
    /// Scenario generation knobs.
    pub scenario: ScenarioOptions,
    /// A deliberately broken behaviour given to every instance (proves the checks bite).
    pub bug: Option<InjectedBug>,
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time.
    pub at: Duration,
    /// Step number.
    pub step: u64,
    /// Which invariant.
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={:?} step {}: {}: {}",
            self.at, self.step, self.invariant, self.detail
        )
    }
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Events processed.
    pub steps: u64,
    /// Invariant evaluations that had something to check.
    pub checks: u64,
    /// State transitions seen.
    pub transitions: u64,
    /// Adverts delivered.
    pub deliveries: u64,
    /// Priority-0 handovers checked.
    pub handovers: u64,
    /// Simulated time.
    pub simulated: Duration,
    /// The first violation (the run stops there).
    pub violation: Option<Violation>,
}

/// One instance on one router.
pub(crate) struct Node {
    pub(crate) cfg: InstanceConfig,
    /// The instance (in sync-group mode: a copy of the group member, refreshed after every
    /// event the group handles).
    pub(crate) fsm: Instance,
    deadline_seen: Option<Timestamp>,
    fire_at: Option<Timestamp>,
    /// Last advert delivered to it: time and priority.
    pub(crate) last_rx: Option<(Timestamp, u8)>,
    /// Last non-zero-priority advert delivered to it.
    pub(crate) last_rx_nonzero: Option<Timestamp>,
}

/// One router (one keepalived process).
pub(crate) struct Router {
    pub(crate) ip: IpAddr,
    pub(crate) alive: bool,
    pub(crate) segment: u8,
    pub(crate) link_up: bool,
    pub(crate) nodes: Vec<Node>,
    /// Sync-group mode: the group owning the instances.
    group: Option<SyncGroup>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    to: usize,
    from: usize,
    advert: AdvertKey,
}

/// `Advert` with an ordering (for the heap); addresses sorted as u128.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AdvertKey {
    vrid: u8,
    priority: u8,
    interval_cs: u16,
}

/// The simulator.
pub struct Sim {
    pub(crate) scenario: Scenario,
    pub(crate) routers: Vec<Router>,
    rng: Rng,
    now: Timestamp,
    seq: u64,
    queue: BinaryHeap<Reverse<(Timestamp, u64, Delivery)>>,
    happenings: Vec<(Timestamp, usize, Happening)>,
    next_happening: usize,
    pub(crate) checker: check::Checker,
    pub(crate) report: Report,
    bug: Option<InjectedBug>,
    trace: bool,
    /// Per (from, to): the latest delivery time scheduled (FIFO phases).
    last_scheduled: Vec<Timestamp>,
}

/// Runs one seed to the end (or the first violation).
pub fn run(seed: u64, opts: SimOptions) -> Report {
    let scenario = Scenario::generate(seed, opts.scenario);
    let mut sim = Sim::new(scenario, opts.bug);
    sim.run();
    sim.report
}

fn ts(d: Duration) -> Timestamp {
    Timestamp::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn dur(t: Timestamp) -> Duration {
    Duration::from_micros(t.as_micros())
}

impl Sim {
    /// A simulator at time 0 with every router stopped; the first phase starts them.
    pub fn new(scenario: Scenario, bug: Option<InjectedBug>) -> Sim {
        let rng = Rng::with_seed(scenario.seed ^ 0x5eed_0f51_0000);
        let routers = scenario
            .routers
            .iter()
            .map(|(ip, cfgs)| Router {
                ip: *ip,
                alive: false,
                segment: 0,
                link_up: true,
                nodes: cfgs.iter().map(|c| new_node(c.clone(), bug)).collect(),
                group: scenario.sync_groups.then(|| new_group(cfgs.clone(), bug)),
            })
            .collect::<Vec<_>>();
        let mut happenings = Vec::new();
        for (p, phase) in scenario.phases.iter().enumerate() {
            if p == 0 {
                for r in 0..routers.len() {
                    happenings.push((Timestamp::ZERO, p, Happening::Restart(r)));
                }
            }
            for (offset, h) in &phase.happenings {
                happenings.push((ts(phase.start + *offset), p, h.clone()));
            }
        }
        happenings.sort_by_key(|(at, p, _)| (*at, *p));
        let checker = check::Checker::new(&scenario);
        let n = routers.len();
        Sim {
            report: Report {
                seed: scenario.seed,
                ..Report::default()
            },
            scenario,
            routers,
            rng,
            now: Timestamp::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            happenings,
            next_happening: 0,
            checker,
            bug,
            trace: std::env::var_os("KAD_SIM_TRACE").is_some(),
            last_scheduled: vec![Timestamp::ZERO; n * n],
        }
    }

    fn phase_at(&self, now: Timestamp) -> usize {
        let t = dur(now);
        self.scenario
            .phases
            .iter()
            .rposition(|p| p.start <= t)
            .unwrap_or(0)
    }

    fn net(&self) -> NetProfile {
        self.scenario.phases[self.phase_at(self.now)].net
    }

    /// Runs to the end of the scenario or the first violation.
    pub fn run(&mut self) {
        let end = ts(self.scenario.end());
        let mut phase = usize::MAX;
        loop {
            let t_pkt = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let t_hap = self.happenings.get(self.next_happening).map(|(t, _, _)| *t);
            let t_timer = self
                .routers
                .iter()
                .enumerate()
                .filter(|(_, r)| r.alive)
                .flat_map(|(ri, r)| {
                    r.nodes
                        .iter()
                        .enumerate()
                        .filter_map(move |(ni, n)| n.fire_at.map(|t| (t, ri, ni)))
                })
                .min();
            // Happenings first at equal times, then deliveries, then timers.
            let next = [
                t_hap.map(|t| (t, 0)),
                t_pkt.map(|t| (t, 1)),
                t_timer.map(|(t, _, _)| (t, 2)),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some((t, kind)) = next else { break };
            if t > end {
                break;
            }
            self.now = t;
            self.report.steps += 1;
            let p = self.phase_at(t);
            if p != phase {
                phase = p;
                let ph = &self.scenario.phases[p];
                self.checker.phase_started(ts(ph.start), ph.stable, &ph.net);
            }
            match kind {
                0 => {
                    let (_, _, h) = self.happenings[self.next_happening].clone();
                    self.next_happening += 1;
                    self.happen(h);
                }
                1 => {
                    if let Some(Reverse((_, _, d))) = self.queue.pop() {
                        self.deliver(d);
                    }
                }
                _ => {
                    if let Some((_, ri, ni)) = t_timer {
                        self.fire(ri, ni);
                    }
                }
            }
            let violation = check::Checker::check_step(self);
            if let Some(v) = violation {
                self.report.violation = Some(v);
                break;
            }
        }
        self.report.simulated = dur(self.now);
        self.report.checks = self.checker.checks;
        self.report.handovers = self.checker.handovers;
    }

    fn happen(&mut self, h: Happening) {
        if self.trace {
            eprintln!("{:?} happening {h:?}", dur(self.now));
        }
        match h {
            Happening::Crash(r) => {
                self.routers[r].alive = false;
                self.checker.disrupted(self.now);
            }
            Happening::Restart(r) => {
                if self.routers[r].alive {
                    return;
                }
                self.checker.disrupted(self.now);
                let bug = self.bug;
                let router = &mut self.routers[r];
                router.alive = true;
                for node in &mut router.nodes {
                    *node = new_node(node.cfg.clone(), bug);
                }
                if router.group.is_some() {
                    let cfgs = router.nodes.iter().map(|n| n.cfg.clone()).collect();
                    router.group = Some(new_group(cfgs, bug));
                }
                let up = self.routers[r].link_up;
                for ni in 0..self.routers[r].nodes.len() {
                    if !up {
                        self.feed(r, ni, Event::Interface { up });
                    }
                    self.feed(r, ni, Event::Startup);
                }
            }
            Happening::StopMasterOf(vrid) => {
                let found = self.routers.iter().position(|r| {
                    r.alive
                        && r.segment == 0
                        && r.nodes
                            .iter()
                            .any(|n| n.cfg.vrid == vrid && n.fsm.state() == State::Master)
                });
                if let Some(r) = found {
                    check::Checker::stopping_master(self, r, vrid);
                    self.checker.disrupted(self.now);
                    for ni in 0..self.routers[r].nodes.len() {
                        self.feed(r, ni, Event::Shutdown);
                    }
                    self.routers[r].alive = false;
                }
            }
            Happening::SetPriority {
                router,
                vrid,
                priority,
            } => {
                self.checker.disrupted(self.now);
                if let Some(ni) = self.routers[router]
                    .nodes
                    .iter()
                    .position(|n| n.cfg.vrid == vrid)
                {
                    self.routers[router].nodes[ni].cfg.priority = priority;
                    if self.routers[router].alive {
                        self.feed(router, ni, Event::SetPriority(priority));
                    }
                }
            }
            Happening::Link { router, up } => {
                if self.routers[router].link_up != up {
                    self.checker.disrupted(self.now);
                    self.routers[router].link_up = up;
                    if self.routers[router].alive {
                        for ni in 0..self.routers[router].nodes.len() {
                            self.feed(router, ni, Event::Interface { up });
                        }
                    }
                }
            }
            Happening::Segment { router, segment } => {
                if self.routers[router].segment != segment {
                    self.routers[router].segment = segment;
                    self.checker.disrupted(self.now);
                }
            }
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let (to, from) = (d.to, d.from);
        let (a, b) = (&self.routers[to], &self.routers[from]);
        if !a.alive || !a.link_up || !b.link_up || a.segment != b.segment {
            return;
        }
        self.report.deliveries += 1;
        let advert = Advert {
            source: self.routers[from].ip,
            version: self.scenario.version,
            vrid: d.advert.vrid,
            priority: d.advert.priority,
            interval_cs: d.advert.interval_cs,
        };
        // The runtime hands every advert of the interface to each instance; the ones for
        // other VRIDs discard it.
        for ni in 0..self.routers[to].nodes.len() {
            let before = self.routers[to].nodes[ni].fsm.state();
            if self.routers[to].nodes[ni].cfg.vrid == advert.vrid {
                let node = &mut self.routers[to].nodes[ni];
                node.last_rx = Some((self.now, advert.priority));
                if advert.priority != 0 {
                    node.last_rx_nonzero = Some(self.now);
                }
            }
            self.feed(to, ni, Event::Advert(advert));
            let after = self.routers[to].nodes[ni].fsm.state();
            check::Checker::after_delivery(self, from, to, ni, &advert, before, after);
        }
    }

    fn fire(&mut self, r: usize, ni: usize) {
        self.routers[r].nodes[ni].fire_at = None;
        self.routers[r].nodes[ni].deadline_seen = None;
        self.feed(r, ni, Event::Timeout);
    }

    /// Hands one event to one instance and executes its actions on the virtual segment.
    fn feed(&mut self, r: usize, ni: usize, event: Event) {
        let now = self.now;
        let router = &mut self.routers[r];
        let actions: Vec<(usize, Action)> = match &mut router.group {
            Some(group) => {
                let out = group.handle(now, ni, event);
                for (node, member) in router.nodes.iter_mut().zip(group.members()) {
                    node.fsm = member.clone();
                }
                // Group-level notifies (member None) are not for the segment.
                out.into_iter()
                    .filter_map(|a| a.member.map(|m| (m, a.action)))
                    .collect()
            }
            None => router.nodes[ni]
                .fsm
                .handle(now, event)
                .into_iter()
                .map(|a| (ni, a))
                .collect(),
        };
        if self.trace {
            let node = &self.routers[r].nodes[ni];
            eprintln!(
                "{:?} {} VRID {} prio {} {event:?} -> {actions:?} next {:?}",
                dur(now),
                self.routers[r].ip,
                node.cfg.vrid,
                node.fsm.priority(),
                node.fsm.next_deadline().map(dur)
            );
        }
        for (member, action) in actions {
            match action {
                Action::SendAdvert(out) => self.send(r, out.vrid, out.priority, out.interval.get()),
                Action::StateChanged { from, to, reason } => {
                    self.report.transitions += 1;
                    check::Checker::transition(self, r, member, from, to, reason);
                }
                _ => {}
            }
        }
        // Re-arm the (jittered) timers whose deadline moved (a group moves its members).
        let jitter = self.net().max_jitter;
        for node in &mut self.routers[r].nodes {
            let deadline = node.fsm.next_deadline();
            if deadline != node.deadline_seen {
                node.deadline_seen = deadline;
                node.fire_at = deadline.map(|d| {
                    let late = jitter.mul_f64(self.rng.f64());
                    d + late
                });
            }
        }
    }

    fn send(&mut self, from: usize, vrid: u8, priority: u8, interval_cs: u16) {
        let net = self.net();
        for to in 0..self.routers.len() {
            if to == from || !self.routers[to].alive {
                continue;
            }
            let copies = if self.rng.f64() < net.duplicate { 2 } else { 1 };
            let mut previous = None;
            for _ in 0..copies {
                if self.rng.f64() < net.loss {
                    continue;
                }
                let delay = net.max_delay.mul_f64(self.rng.f64());
                let mut at = self.now + delay;
                if net.fifo {
                    let slot = &mut self.last_scheduled[from * self.routers.len() + to];
                    at = previous.unwrap_or(at).max(*slot);
                    *slot = at;
                    previous = Some(at);
                }
                self.seq += 1;
                self.queue.push(Reverse((
                    at,
                    self.seq,
                    Delivery {
                        to,
                        from,
                        advert: AdvertKey {
                            vrid,
                            priority,
                            interval_cs,
                        },
                    },
                )));
            }
        }
    }
}

fn new_group(cfgs: Vec<InstanceConfig>, bug: Option<InjectedBug>) -> SyncGroup {
    let mut group = SyncGroup::new(SyncGroupConfig::new("G"), cfgs)
        .expect("scenario produced an invalid group");
    group.inject_bug(bug);
    group
}

fn new_node(cfg: InstanceConfig, bug: Option<InjectedBug>) -> Node {
    // Scenario configs are valid by construction; a broken one is a simulator bug.
    let mut fsm = Instance::new(cfg.clone()).expect("scenario produced an invalid config");
    fsm.inject_bug(bug);
    Node {
        cfg,
        fsm,
        deadline_seen: None,
        fire_at: None,
        last_rx: None,
        last_rx_nonzero: None,
    }
}

/// The seeds to run: `KAD_SIM_SEED=N` alone, else `0..KAD_SIM_SEEDS` (default `count`).
pub fn seeds(count: u64) -> Vec<u64> {
    let var = |name| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    match (var("KAD_SIM_SEED"), var("KAD_SIM_SEEDS")) {
        (Some(seed), _) => vec![seed],
        (None, Some(n)) => (0..n).collect(),
        (None, None) => (0..count).collect(),
    }
}
