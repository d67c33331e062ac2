//! Scenarios drawn from a seed: the routers, their instances, and a timeline of phases.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use fastrand::Rng;
use kad_vrrp::fsm::{Centis, InstanceConfig, Version, master_down_interval};

/// How the segment behaves during a phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetProfile {
    /// Probability that one copy of an advert to one receiver is lost.
    pub loss: f64,
    /// Probability that an advert is delivered twice.
    pub duplicate: f64,
    /// Each copy is delayed uniformly in `0..=max_delay` (so copies reorder).
    pub max_delay: Duration,
    /// Timers fire late by up to this much (clock and scheduling jitter).
    pub max_jitter: Duration,
    /// Frames between one pair of routers keep their order (one switched path), and a
    /// duplicate arrives with its original. False: anything goes.
    pub fifo: bool,
}

/// Something that happens at a point of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    /// The process dies (no priority-0 advert, nothing more sent or received).
    Crash(usize),
    /// The process starts again with a fresh state.
    Restart(usize),
    /// Graceful stop of whichever router is Master of this VRID in segment 0 (priority 0).
    StopMasterOf(u8),
    /// A reload changes one instance's base priority.
    SetPriority {
        /// Router index.
        router: usize,
        /// VRID.
        vrid: u8,
        /// New base priority.
        priority: u8,
    },
    /// The router's interface goes down (its instances go to FAULT) or up again.
    Link {
        /// Router index.
        router: usize,
        /// Link state.
        up: bool,
    },
    /// Router `router` moves to segment `segment` (a partition; all 0 = healed).
    Segment {
        /// Router index.
        router: usize,
        /// Segment number.
        segment: u8,
    },
}

/// One stretch of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// When it starts.
    pub start: Duration,
    /// How long it lasts.
    pub length: Duration,
    /// True: lossless, bounded delay, no partition change inside: invariants apply once
    /// settled. False: chaos, nothing is asserted but safety of the FSM itself.
    pub stable: bool,
    /// Network behaviour.
    pub net: NetProfile,
    /// What happens, at offsets from `start`.
    pub happenings: Vec<(Duration, Happening)>,
}

/// Everything a run needs, derived from the seed (and options).
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The seed it was drawn from.
    pub seed: u64,
    /// Per router: its primary address and one instance config per VRID.
    pub routers: Vec<(IpAddr, Vec<InstanceConfig>)>,
    /// Phases in time order; the last one is stable, healed, everyone running.
    pub phases: Vec<Phase>,
    /// Advertisement interval shared by every instance.
    pub interval: Centis,
    /// VRRP version shared by every instance.
    pub version: Version,
    /// Each router's instances form one sync group.
    pub sync_groups: bool,
}

/// Knobs for scenario generation.
#[derive(Clone, Copy, Debug)]
pub struct ScenarioOptions {
    /// Give every instance of a VRID the same priority (exercises the tie-break).
    pub all_tied: bool,
    /// Allow `nopreempt` and `preempt_delay` in the draw.
    pub preempt_knobs: bool,
    /// Number of phases before the final stable one.
    pub phases: usize,
    /// Every router runs two VRIDs as one `vrrp_sync_group`, with one priority (and one
    /// `nopreempt` / `preempt_delay`) for both members, as keepalived.conf(5) requires for
    /// a group to behave.
    pub sync_groups: bool,
}

impl Default for ScenarioOptions {
    fn default() -> Self {
        ScenarioOptions {
            all_tied: false,
            preempt_knobs: true,
            phases: 6,
            sync_groups: false,
        }
    }
}

impl Scenario {
    /// Draws a scenario from `seed`.
    pub fn generate(seed: u64, opts: ScenarioOptions) -> Scenario {
        let mut rng = Rng::with_seed(seed);
        let n = rng.usize(2..=5);
        let vrids = if opts.sync_groups { 2 } else { rng.u8(1..=2) };
        let version = if rng.bool() { Version::V3 } else { Version::V2 };
        let interval = match version {
            Version::V2 => Centis::ONE_SECOND,
            Version::V3 => {
                let choices = [1u16, 10, 100, 25];
                Centis::new(choices[rng.usize(..choices.len())]).unwrap_or(Centis::ONE_SECOND)
            }
        };
        let mut hosts: Vec<u8> = (1..=250).collect();
        rng.shuffle(&mut hosts);
        let adv = interval.duration();
        let mut routers = Vec::with_capacity(n);
        for (r, host) in hosts.iter().take(n).enumerate() {
            let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, *host));
            let mut instances = Vec::new();
            for vrid in 1..=vrids {
                let mut c = InstanceConfig::new(&format!("VI_{vrid}"), vrid, ip);
                c.version = version;
                c.advert_interval = interval;
                c.priority = if opts.all_tied {
                    100
                } else {
                    // A small palette makes ties frequent; one owner now and then.
                    let palette = [50u8, 100, 100, 150, 200, 254, 1];
                    palette[rng.usize(..palette.len())]
                };
                if !opts.all_tied && r == 0 && rng.u8(..10) == 0 {
                    c.priority = 255;
                }
                if opts.preempt_knobs && c.priority != 255 {
                    c.nopreempt = rng.u8(..6) == 0;
                    if !c.nopreempt && rng.u8(..5) == 0 {
                        c.preempt_delay = adv * rng.u32(1..=4);
                    }
                }
                c.higher_prio_send_advert = rng.bool();
                c.lower_prio_no_advert = rng.bool();
                if opts.sync_groups && vrid > 1 {
                    // One priority and preemption policy for the whole group.
                    let first: &InstanceConfig = &instances[0];
                    c.priority = first.priority;
                    c.nopreempt = first.nopreempt;
                    c.preempt_delay = first.preempt_delay;
                }
                instances.push(c);
            }
            routers.push((ip, instances));
        }

        let max_pd = routers
            .iter()
            .flat_map(|(_, i)| i.iter().map(|c| c.preempt_delay))
            .max()
            .unwrap_or_default();
        let stable_net = NetProfile {
            loss: 0.0,
            duplicate: 0.05,
            max_delay: adv / 5,
            max_jitter: adv / 50,
            fifo: true,
        };
        let settle = settle_time(version, interval, max_pd, &stable_net);
        let mut phases = Vec::new();
        let mut start = Duration::ZERO;
        let mut alive = vec![true; n];
        for k in 0..=opts.phases {
            let last = k == opts.phases;
            let stable = last || rng.bool();
            let mut happenings = Vec::new();
            let (net, length) = if stable {
                let length = settle * 2 + adv * 20;
                // Fixed partition for the whole phase (none in the last one).
                let split = !last && rng.u8(..3) == 0;
                for r in 0..n {
                    let segment = if split && rng.bool() { 1 } else { 0 };
                    happenings.push((Duration::ZERO, Happening::Segment { router: r, segment }));
                    happenings.push((
                        Duration::ZERO,
                        Happening::Link {
                            router: r,
                            up: true,
                        },
                    ));
                }
                for (r, up) in alive.iter_mut().enumerate() {
                    if !*up && (last || rng.bool()) {
                        *up = true;
                        happenings.push((Duration::ZERO, Happening::Restart(r)));
                    }
                }
                if !last && rng.u8(..3) == 0 {
                    let r = rng.usize(..n);
                    let vrid = rng.u8(1..=vrids);
                    let priority = [1u8, 60, 100, 180, 254][rng.usize(..5)];
                    let priority = if opts.all_tied { 100 } else { priority };
                    // A group's members are reloaded together.
                    let which = if opts.sync_groups {
                        1..=vrids
                    } else {
                        vrid..=vrid
                    };
                    for vrid in which {
                        happenings.push((
                            Duration::ZERO,
                            Happening::SetPriority {
                                router: r,
                                vrid,
                                priority,
                            },
                        ));
                    }
                }
                if !last && rng.bool() {
                    // Stop the Master once settled; it stays down until a later phase.
                    happenings.push((settle + adv * 5, Happening::StopMasterOf(rng.u8(1..=vrids))));
                }
                (stable_net, length)
            } else {
                let net = NetProfile {
                    loss: [0.0, 0.1, 0.3, 0.6][rng.usize(..4)],
                    duplicate: rng.f64() * 0.3,
                    max_delay: adv * rng.u32(0..=3) + adv / 3,
                    max_jitter: adv / 4,
                    fifo: false,
                };
                let length = adv * rng.u32(10..=60);
                let events = rng.usize(0..=5);
                for _ in 0..events {
                    let at = length.mul_f64(rng.f64());
                    let r = rng.usize(..n);
                    let h = match rng.u8(..5) {
                        4 => Happening::Link {
                            router: r,
                            up: rng.bool(),
                        },
                        0 if alive[r] => {
                            alive[r] = false;
                            Happening::Crash(r)
                        }
                        1 if !alive[r] => {
                            alive[r] = true;
                            Happening::Restart(r)
                        }
                        _ => Happening::Segment {
                            router: r,
                            segment: rng.u8(0..=2),
                        },
                    };
                    happenings.push((at, h));
                }
                happenings.sort_by_key(|(at, _)| *at);
                (net, length)
            };
            phases.push(Phase {
                start,
                length,
                stable,
                net,
                happenings,
            });
            start += length;
        }
        Scenario {
            seed,
            routers,
            phases,
            interval,
            version,
            sync_groups: opts.sync_groups,
        }
    }

    /// Total simulated time.
    pub fn end(&self) -> Duration {
        self.phases
            .last()
            .map(|p| p.start + p.length)
            .unwrap_or_default()
    }
}

/// Time after which a stable phase must have converged: twice (one interval, the largest
/// preempt_delay and the largest Master_Down_Interval, i.e. priority 1), plus delays and
/// jitter. Convergence needs at most one timeout chain of that length (see the module
/// docs); the factor 2 is margin.
pub fn settle_time(
    version: Version,
    interval: Centis,
    max_preempt_delay: Duration,
    net: &NetProfile,
) -> Duration {
    let mdi = master_down_interval(version, 1, interval, 3);
    (interval.duration() + max_preempt_delay + mdi) * 2 + (net.max_delay + net.max_jitter) * 4
}
