//! The health checkers of keepalived's LVS half (keepalived.conf(5) "real_server" checkers):
//! every checker of every real server probes on keepalived's schedule (all of them from
//! one task, [`schedule`]), and a real server's health (up when all its checkers are) goes out as
//! [`HealthUpdate`](crate::status::health::HealthUpdate)s for the IPVS control.
//!
//! - [`plan`]: configuration → one probe per distinct (target, checker), shared by every
//!   virtual server that lists the same real server with the same checker;
//! - one module per checker: [`tcp`], [`http`] (HTTP_GET, SSL_GET over [`tls`]), [`smtp`],
//!   [`dns`], [`misc`], [`udp`], [`ping`], [`file`]; sockets from [`endpoint`]; BFD_CHECK
//!   is not probed but follows its BFD session ([`bfd`]);
//! - [`state`]: the retry/rise logic, pure ([`http_cycle`]: HTTP_GET/SSL_GET's, url by
//!   url); [`schedule`]: the loop that runs a probe on it;
//! - [`aggregate`]: per real server, the AND of its checkers, notify scripts, FIFO lines;
//! - [`CheckerSet`]: the entry point the daemon calls.
//!
//! Use (inside a tokio runtime; `tx` an `mpsc::Sender<HealthUpdate>` the IPVS control reads):
//!
//! ```ignore
//! let checkers = CheckerSet::spawn(&config, tx.clone());          // start
//! let checkers = CheckerSet::new(&reloaded).replace(checkers, tx); // SIGHUP: states kept
//! drop(checkers);                                                  // stop
//! ```
//!
//! Each real server first gets one update with its initial state (up; down with `alpha`;
//! on `replace`, its state before the reload), then one per change of `up` or of the weight
//! a checker asks for.

pub mod aggregate;
pub mod bfd;
pub mod dns;
pub mod endpoint;
pub mod file;
pub mod genhash;
pub mod http;
pub mod http_cycle;
pub mod misc;
pub mod notify;
pub mod ping;
pub mod plan;
pub mod plan_error;
pub mod probe;
pub mod report;
pub mod schedule;
pub mod smtp;
pub mod state;
pub mod suspend;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use thiserror::Error;
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};

use crate::{
    config::model::Config,
    status::{
        bfd::BfdStatuses,
        health::{HealthUpdate, RealServerKey},
        report::ReportSender,
    },
};

/// A real server's last reported health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHealth {
    /// All its checkers pass.
    pub up: bool,
    /// The weight a checker asked for (MISC_CHECK `misc_dynamic`, FILE_CHECK), if any.
    pub weight: Option<i32>,
}

/// Every real server's last reported health, shared between the aggregator and the handle.
pub type HealthTable = Arc<Mutex<HashMap<RealServerKey, ServerHealth>>>;

/// A probe that passed; `weight` is a new weight for the real server (MISC_CHECK
/// `misc_dynamic`, FILE_CHECK).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// The weight the probe asks for, if any.
    pub weight: Option<i32>,
}

/// Why a probe failed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProbeError {
    /// The socket could not be created or set up (bind, SO_MARK, SO_BINDTODEVICE).
    #[error("socket: {0}")]
    Socket(String),
    /// The connection failed (refused, unreachable).
    #[error("connect: {0}")]
    Connect(String),
    /// A step took longer than allowed.
    #[error("timeout ({0})")]
    Timeout(&'static str),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The server answered, wrongly.
    #[error("{0}")]
    Check(String),
}

impl ProbeError {
    fn socket(err: std::io::Error) -> Self {
        Self::Socket(err.to_string())
    }

    fn io(err: std::io::Error) -> Self {
        Self::Io(err.to_string())
    }
}

/// The checkers of one configuration, ready to run.
pub struct CheckerSet {
    plan: plan::Plan,
    report: Option<ReportSender>,
    addresses: Option<suspend::LocalAddresses>,
    bfd: Option<watch::Receiver<BfdStatuses>>,
}

/// The running checkers: dropping it (or [`CheckerSetHandle::stop`]) stops every probe,
/// kills running MISC_CHECK scripts and stops the updates. On reload, spawn the new set and
/// drop the old handle.
pub struct CheckerSetHandle {
    tasks: JoinSet<()>,
    health: HealthTable,
    probes: usize,
}

impl CheckerSetHandle {
    /// Every real server's last reported health.
    pub fn health(&self) -> HashMap<RealServerKey, ServerHealth> {
        self.health
            .lock()
            .map(|table| table.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Stops everything now.
    pub fn stop(mut self) {
        self.tasks.abort_all();
    }

    /// How many probes run (one per distinct target and checker).
    pub fn probes(&self) -> usize {
        self.probes
    }
}

impl CheckerSet {
    /// Plans the checkers of `config` (checkers that cannot run are left out and reported
    /// by [`CheckerSet::warnings`]).
    pub fn new(config: &Config) -> Self {
        Self {
            plan: plan::Plan::from_config(config),
            report: None,
            addresses: None,
            bfd: None,
        }
    }

    /// Whether a checker depends on the host's addresses (keepalived.conf `ha_suspend`):
    /// then [`CheckerSet::suspending`] should be given them.
    pub fn uses_ha_suspend(&self) -> bool {
        self.plan.probes.iter().any(|p| p.activity.is_suspendable())
    }

    /// keepalived.conf `ha_suspend`: the host's addresses, which decide when the checkers
    /// of such virtual servers run (without them, those checkers run as if without
    /// `ha_suspend`).
    pub fn suspending(mut self, addresses: suspend::LocalAddresses) -> Self {
        self.addresses = Some(addresses);
        self
    }

    /// keepalived.conf `BFD_CHECK`: the BFD sessions' published status, which those checkers
    /// follow ([`bfd`]). Without it (no BFD session runs, `-B`) they keep their initial
    /// state, as keepalived's do without a BFD process.
    pub fn following_bfd(mut self, sessions: watch::Receiver<BfdStatuses>) -> Self {
        self.bfd = Some(sessions);
        self
    }

    /// Reports every probe's state and last result on `report` (for `kad status`).
    pub fn reporting(mut self, report: ReportSender) -> Self {
        self.report = Some(report);
        self
    }

    /// What was left out, and why.
    pub fn warnings(&self) -> &[String] {
        &self.plan.warnings
    }

    /// The plan (real servers and their deduplicated probes).
    pub fn plan(&self) -> &plan::Plan {
        &self.plan
    }

    /// Starts every probe on the current tokio runtime. The first update of each real
    /// server is its initial state (up, or down with `alpha`), then one per change.
    pub fn start(self, updates: mpsc::Sender<HealthUpdate>) -> CheckerSetHandle {
        self.start_after(HashMap::new(), updates)
    }

    /// On reload (SIGHUP): stops `previous` and starts this set, each real server that
    /// `previous` knew starting in the state `previous` last reported (keepalived keeps a
    /// real server's state across a reload), so that a reload never brings a failed server
    /// back, even briefly.
    pub fn replace(
        self,
        previous: CheckerSetHandle,
        updates: mpsc::Sender<HealthUpdate>,
    ) -> CheckerSetHandle {
        let health = previous.health();
        previous.stop();
        self.start_after(health, updates)
    }

    /// Starts every probe, real servers found in `known` starting in that state.
    pub fn start_after(
        mut self,
        known: HashMap<RealServerKey, ServerHealth>,
        updates: mpsc::Sender<HealthUpdate>,
    ) -> CheckerSetHandle {
        for server in &mut self.plan.servers {
            if let Some(health) = known.get(&server.key) {
                server.initial_up = health.up;
                server.initial_weight = health.weight;
                server.carried_over = true;
            }
        }
        for warning in &self.plan.warnings {
            tracing::warn!("{warning}");
        }
        let mut tasks = JoinSet::new();
        // Unbounded: a probe never waits on the aggregator (changes are rare and small).
        let (events, receive) = mpsc::unbounded_channel();
        if let Some(report) = &self.report {
            report::start(report, &self.plan);
        }
        let mut followed = Vec::new();
        let slots: Vec<_> = (self.plan.probes.iter().enumerate())
            .filter(|(index, spec)| {
                let plan::ProbeKind::Bfd(session) = &spec.kind else {
                    return true;
                };
                followed.push(bfd::Followed {
                    probe: *index,
                    session: session.clone(),
                    real_server: spec.endpoint.addr,
                    up: self.plan.probe_initial_up(*index),
                    report: report::ProbeReporter::new(self.report.clone(), *index),
                });
                false
            })
            .map(|(index, spec)| {
                let probe = probe::Probe::new(Arc::clone(spec), self.plan.tls.clone());
                let reporter = report::ProbeReporter::new(self.report.clone(), index);
                let slot =
                    schedule::Slot::new(index, probe, self.plan.probe_initial_up(index), reporter);
                if self.plan.probe_carried_over(index) {
                    slot.carried_over()
                } else {
                    slot
                }
            })
            .collect();
        let probes = slots.len() + followed.len();
        let follower = bfd::BfdFollower::new(followed);
        match self.bfd.take() {
            Some(sessions) if !follower.is_empty() => {
                tasks.spawn(bfd::run(follower, sessions, events.clone()));
            }
            _ if !follower.is_empty() => tracing::warn!(
                "BFD_CHECK: no BFD session runs; those checkers keep their initial state"
            ),
            _ => {}
        }
        if !slots.is_empty() {
            let uses_ha_suspend = self.uses_ha_suspend();
            let addresses = self.addresses.take().filter(|_| uses_ha_suspend);
            tasks.spawn(schedule::run_all(slots, events, addresses));
        }
        let health = HealthTable::default();
        tasks.spawn(aggregate::run(self.plan, receive, updates, health.clone()));
        CheckerSetHandle {
            tasks,
            health,
            probes,
        }
    }

    /// [`CheckerSet::new`] then [`CheckerSet::start`].
    pub fn spawn(config: &Config, updates: mpsc::Sender<HealthUpdate>) -> CheckerSetHandle {
        Self::new(config).start(updates)
    }
}
