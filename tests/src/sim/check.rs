//! The invariants, checked after every step of the simulator.
//!
//! 1. **Election** (stable, settled): exactly one Master per VRID in each segment with a
//!    live router, and it has the highest effective priority there, unless every router
//!    with a higher priority is `nopreempt` (which allows a lower Master to stay).
//! 2. **No flap** (stable, settled): no state changes at all while the Master keeps
//!    advertising on a lossless segment.
//! 3. **Master election on receipt** (every delivery, RFC 5798 §6.4.3): a Master receiving
//!    a non-zero advert steps down iff it is beaten: higher priority, or equal priority
//!    from a higher primary address (ties to the highest primary IP). This is where the
//!    tie-break lives: a Backup accepts an equal-priority Master whatever its address
//!    (§6.4.2), so between tied routers invariant 1 only demands one of them; the address
//!    decides when two tied Masters meet, and that is checked here on every delivery.
//! 4. **nopreempt honoured** (every transition): a `nopreempt` Backup never becomes Master
//!    less than 3 advert intervals after the last non-zero advert it received.
//! 6. **Sync groups move together** (every step, sync-group runs): on a running router,
//!    either every member of its group is Master or none is.
//! 5. **Priority-0 handover** (stable, settled): after the Master stops gracefully, a
//!    Backup of that segment becomes Master within the smallest Skew_Time among them (plus
//!    the segment's delay and the timer jitter).

use std::time::Duration;

use kad_vrrp::fsm::{Advert, Centis, Reason, State, Timestamp, Version};

use super::{NetProfile, Scenario, Sim, Violation, dur, scenario::settle_time};

/// Invariant bookkeeping of one run.
pub struct Checker {
    stable: bool,
    stable_since: Timestamp,
    settle: Duration,
    max_preempt_delay: Duration,
    interval: Centis,
    version: Version,
    pending: Option<(&'static str, String)>,
    /// (vrid, segment, deadline)
    handover: Option<(u8, u8, Timestamp)>,
    /// Invariant evaluations performed.
    pub checks: u64,
    /// Priority-0 handovers verified.
    pub handovers: u64,
}

impl Checker {
    pub(crate) fn new(scenario: &Scenario) -> Checker {
        let max_preempt_delay = scenario
            .routers
            .iter()
            .flat_map(|(_, c)| c.iter().map(|c| c.preempt_delay))
            .max()
            .unwrap_or_default();
        Checker {
            stable: false,
            stable_since: Timestamp::ZERO,
            settle: Duration::ZERO,
            max_preempt_delay,
            interval: scenario.interval,
            version: scenario.version,
            pending: None,
            handover: None,
            checks: 0,
            handovers: 0,
        }
    }

    fn settled(&self, now: Timestamp) -> bool {
        self.stable && now >= self.stable_since + self.settle
    }

    fn flag(&mut self, invariant: &'static str, detail: String) {
        if self.pending.is_none() {
            self.pending = Some((invariant, detail));
        }
    }

    pub(crate) fn phase_started(&mut self, start: Timestamp, stable: bool, net: &NetProfile) {
        self.stable = stable;
        self.stable_since = start;
        self.handover = None;
        self.settle = settle_time(self.version, self.interval, self.max_preempt_delay, net);
    }

    /// Something changed on purpose (crash, restart, stop, reload, partition).
    pub(crate) fn disrupted(&mut self, now: Timestamp) {
        self.stable_since = now;
    }

    pub(crate) fn transition(
        sim: &mut Sim,
        r: usize,
        ni: usize,
        from: State,
        to: State,
        reason: Reason,
    ) {
        let now = sim.now;
        if sim.checker.settled(now) {
            let node = &sim.routers[r].nodes[ni];
            sim.checker.flag(
                "no flap once settled",
                format!(
                    "router {} VRID {} went {from:?} -> {to:?} ({reason:?})",
                    sim.routers[r].ip, node.cfg.vrid
                ),
            );
        }
        let node = &sim.routers[r].nodes[ni];
        if node.cfg.nopreempt && from == State::Backup && to == State::Master {
            let last_was_zero = node.last_rx.is_some_and(|(_, p)| p == 0);
            if let (false, Some(t)) = (last_was_zero, node.last_rx_nonzero) {
                let quiet = now.saturating_since(t);
                let floor = sim.scenario.interval.duration() * 3;
                if quiet < floor {
                    let detail = format!(
                        "nopreempt router {} VRID {} became Master {quiet:?} after an advert (< {floor:?})",
                        sim.routers[r].ip, node.cfg.vrid
                    );
                    sim.checker.flag("nopreempt honoured", detail);
                }
            }
        }
        if to == State::Master
            && let Some((vrid, segment, deadline)) = sim.checker.handover
            && node.cfg.vrid == vrid
            && sim.routers[r].segment == segment
        {
            if now <= deadline {
                sim.checker.handovers += 1;
            } else {
                sim.checker.flag(
                    "priority-0 handover within Skew_Time",
                    format!(
                        "VRID {vrid}: new Master {:?} after the deadline",
                        dur(now) - dur(deadline)
                    ),
                );
            }
            sim.checker.handover = None;
        }
    }

    pub(crate) fn after_delivery(
        sim: &mut Sim,
        from: usize,
        to: usize,
        ni: usize,
        advert: &Advert,
        before: State,
        after: State,
    ) {
        let node = &sim.routers[to].nodes[ni];
        if node.cfg.vrid != advert.vrid || before != State::Master || advert.priority == 0 {
            return;
        }
        sim.checker.checks += 1;
        let ours = node.fsm.priority();
        let their_ip = sim.routers[from].ip;
        let our_ip = sim.routers[to].ip;
        let beaten = advert.priority > ours
            || (advert.priority == ours && ip_key(their_ip) > ip_key(our_ip));
        let stepped_down = after == State::Backup;
        if beaten != stepped_down {
            let detail = format!(
                "Master {our_ip} (priority {ours}) got priority {} from {their_ip}: beaten={beaten}, stepped down={stepped_down}",
                advert.priority
            );
            sim.checker.flag(
                "RFC 5798 6.4.3 election (ties to the higher address)",
                detail,
            );
        }
    }

    pub(crate) fn stopping_master(sim: &mut Sim, r: usize, vrid: u8) {
        let now = sim.now;
        let net = sim.net();
        if !sim.checker.settled(now) {
            return;
        }
        let segment = sim.routers[r].segment;
        let skew = sim
            .routers
            .iter()
            .enumerate()
            .filter(|(i, x)| *i != r && x.alive && x.segment == segment)
            .flat_map(|(_, x)| x.nodes.iter())
            .filter(|n| n.cfg.vrid == vrid && n.fsm.state() == State::Backup)
            .map(|n| n.fsm.skew_time())
            .min();
        if let Some(skew) = skew {
            let deadline = now + net.max_delay + skew + net.max_jitter + Duration::from_micros(1);
            sim.checker.handover = Some((vrid, segment, deadline));
        }
    }

    /// Runs after every step; returns the first violation.
    pub(crate) fn check_step(sim: &mut Sim) -> Option<Violation> {
        let now = sim.now;
        let step = sim.report.steps;
        let make = |invariant: &'static str, detail: String| Violation {
            at: dur(now),
            step,
            invariant,
            detail,
        };
        if let Some((invariant, detail)) = sim.checker.pending.take() {
            return Some(make(invariant, detail));
        }
        if let Some((vrid, _, deadline)) = sim.checker.handover
            && now > deadline
        {
            return Some(make(
                "priority-0 handover within Skew_Time",
                format!("VRID {vrid}: no Master by the deadline"),
            ));
        }
        if sim.scenario.sync_groups {
            for router in sim.routers.iter().filter(|r| r.alive) {
                let masters = router
                    .nodes
                    .iter()
                    .filter(|n| n.fsm.state() == State::Master)
                    .count();
                if masters != 0 && masters != router.nodes.len() {
                    let states: Vec<_> = router.nodes.iter().map(|n| n.fsm.state()).collect();
                    return Some(make(
                        "sync group members move together",
                        format!("router {}: members {states:?}", router.ip),
                    ));
                }
            }
        }
        if !sim.checker.settled(now) {
            return None;
        }
        let vrids: Vec<u8> = sim
            .scenario
            .routers
            .first()
            .map(|(_, c)| c.iter().map(|c| c.vrid).collect())
            .unwrap_or_default();
        for vrid in vrids {
            for segment in 0..=2u8 {
                let live: Vec<_> = sim
                    .routers
                    .iter()
                    .filter(|r| r.alive && r.segment == segment)
                    .flat_map(|r| {
                        r.nodes
                            .iter()
                            .filter(|n| n.cfg.vrid == vrid)
                            .map(move |n| (r.ip, n))
                    })
                    .collect();
                if live.is_empty() {
                    continue;
                }
                sim.checker.checks += 1;
                let masters: Vec<_> = live
                    .iter()
                    .filter(|(_, n)| n.fsm.state() == State::Master)
                    .collect();
                if masters.len() != 1 {
                    let who: Vec<_> = masters
                        .iter()
                        .map(|(ip, n)| format!("{ip}/{}", n.fsm.priority()))
                        .collect();
                    return Some(make(
                        "exactly one Master per VRID",
                        format!("VRID {vrid} segment {segment}: Masters {who:?}"),
                    ));
                }
                let (mip, m) = masters[0];
                let mp = m.fsm.priority();
                if let Some((ip, n)) = live
                    .iter()
                    .find(|(_, n)| n.fsm.priority() > mp && !n.cfg.nopreempt)
                {
                    return Some(make(
                        "Master has the highest priority (nopreempt aside)",
                        format!(
                            "VRID {vrid}: Master {mip}/{mp} but {ip}/{} preempts",
                            n.fsm.priority()
                        ),
                    ));
                }
            }
        }
        None
    }
}

fn ip_key(ip: std::net::IpAddr) -> u128 {
    match ip {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    }
}
