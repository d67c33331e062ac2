//! The failover benchmark's results and what is made of them (`kad-bench failover`, run by
//! `cargo xtask bench failover`). The binary runs the trials; this module holds the outcome
//! of a run as data and turns it into a markdown table ([`table`]), a JSON file ([`json`]),
//! a PNG plot ([`plot`]) and the section of BENCHMARKS.md ([`record`]).

pub mod json;
pub mod machine;
pub mod phase;
pub mod plot;
pub mod record;
pub mod settle;
pub mod table;

use std::time::Duration;

use serde::Serialize;

/// The daemon running on both routers of a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Daemon {
    /// This project's `kad -f`.
    Kad,
    /// keepalived (VRRP only, `-P`).
    Keepalived,
}

/// The fault injected on the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `ip link set eth0 down` on the master: the backup waits for Master_Down_Interval.
    LinkDown,
    /// SIGTERM to the master: it sends a priority-0 advert, the backup waits skew time.
    Sigterm,
}

impl Fault {
    /// Both faults, in table order.
    pub const ALL: [Fault; 2] = [Fault::LinkDown, Fault::Sigterm];

    /// The fault as the table names it.
    pub fn label(self) -> &'static str {
        match self {
            Fault::LinkDown => "master link down",
            Fault::Sigterm => "graceful stop (SIGTERM)",
        }
    }
}

/// One advert interval and VRRP version: a row pair of the table (one per fault).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Row {
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// `advert_int` as written in keepalived.conf.
    pub advert: &'static str,
    /// The same interval in seconds.
    pub seconds: f64,
}

impl Row {
    /// Every row of a full run, slowest first.
    pub const FULL: [Row; 4] = [
        Row::new(3, "1", 1.0),
        Row::new(2, "1", 1.0),
        Row::new(3, "0.1", 0.1),
        Row::new(3, "0.01", 0.01),
    ];

    const fn new(version: u8, advert: &'static str, seconds: f64) -> Self {
        Self {
            version,
            advert,
            seconds,
        }
    }

    /// The rows of a run: all of them, or with `quick` only the sub-second ones.
    pub fn selection(quick: bool) -> Vec<Row> {
        Self::FULL
            .into_iter()
            .filter(|row| !quick || row.seconds < 1.0)
            .collect()
    }

    /// `0.1 s, v3`.
    pub fn label(&self) -> String {
        format!("{} s, v{}", self.advert, self.version)
    }

    /// The RFC's lower bound on the outage for `fault` with the backup at priority 100:
    /// Master_Down_Interval (3·advert + skew) for a dead master, skew time for a priority-0
    /// advert. VRRPv2's skew does not scale with the interval.
    pub fn rfc_floor(&self, fault: Fault) -> Duration {
        let unit = if self.version == 2 { 1.0 } else { self.seconds };
        let skew = (256.0 - 100.0) / 256.0 * unit;
        Duration::from_secs_f64(match fault {
            Fault::LinkDown => 3.0 * self.seconds + skew,
            Fault::Sigterm => skew,
        })
    }
}

/// The outages of one daemon in one cell (row × fault), trial by trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outages(pub Vec<Duration>);

impl Outages {
    /// Shortest, median and longest outage; `None` without trials. The median of an even
    /// count is the mean of the two middle values.
    pub fn summary(&self) -> Option<Summary> {
        let mut sorted = self.0.clone();
        sorted.sort();
        let (first, last) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2
        };
        Some(Summary {
            min: *first,
            median,
            max: *last,
        })
    }
}

/// Shortest, median and longest of a set of outages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Shortest outage.
    pub min: Duration,
    /// Median outage.
    pub median: Duration,
    /// Longest outage.
    pub max: Duration,
}

/// One cell of the table: a row, a fault, and both daemons' outages.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Advert interval and version.
    pub row: Row,
    /// The fault injected.
    pub fault: Fault,
    /// The planned fault offsets after an advert, trial by trial: the same for both daemons
    /// (see [`phase`]).
    pub offsets: Vec<Duration>,
    /// kad's outages, trial by trial.
    pub kad: Outages,
    /// keepalived's outages, trial by trial.
    pub keepalived: Outages,
    /// kad's measured phases and last-advert-to-reachable times, trial by trial.
    pub kad_timings: phase::Timings,
    /// keepalived's, likewise.
    pub keepalived_timings: phase::Timings,
}

impl Cell {
    /// An empty cell.
    pub fn new(row: Row, fault: Fault) -> Self {
        Self {
            row,
            fault,
            offsets: Vec::new(),
            kad: Outages::default(),
            keepalived: Outages::default(),
            kad_timings: phase::Timings::default(),
            keepalived_timings: phase::Timings::default(),
        }
    }

    /// The outages of `daemon`.
    pub fn outages_mut(&mut self, daemon: Daemon) -> &mut Outages {
        match daemon {
            Daemon::Kad => &mut self.kad,
            Daemon::Keepalived => &mut self.keepalived,
        }
    }

    /// The timings of `daemon`.
    pub fn timings(&self, daemon: Daemon) -> &phase::Timings {
        match daemon {
            Daemon::Kad => &self.kad_timings,
            Daemon::Keepalived => &self.keepalived_timings,
        }
    }

    /// Records one trial of `daemon`: its outage and how the fault fell.
    pub fn record(&mut self, daemon: Daemon, outage: Duration, timing: phase::Timing) {
        self.outages_mut(daemon).0.push(outage);
        match daemon {
            Daemon::Kad => self.kad_timings.0.push(timing),
            Daemon::Keepalived => self.keepalived_timings.0.push(timing),
        }
    }

    /// The median of the trial-by-trial differences kad − keepalived in ms (same planned
    /// phase in each pair); `None` without a pair.
    pub fn paired_median_ms(&self) -> Option<f64> {
        phase::median(&phase::paired_differences_ms(
            &self.kad.0,
            &self.keepalived.0,
        ))
    }

    /// kad's median outage over keepalived's (below 1: kad fails over faster); `None`
    /// without trials or when keepalived's median is zero.
    pub fn ratio(&self) -> Option<f64> {
        let kad = self.kad.summary()?.median.as_secs_f64();
        let keepalived = self.keepalived.summary()?.median.as_secs_f64();
        (keepalived > 0.0).then(|| kad / keepalived)
    }
}

/// A whole run: settings, machine, and every cell.
#[derive(Clone, Debug)]
pub struct Report {
    /// Trials per daemon and cell.
    pub trials: usize,
    /// Whether the 1 s rows were left out (`--quick`).
    pub quick: bool,
    /// The client's probe interval.
    pub probe_interval: Duration,
    /// Nice value of the benchmark, ping and both daemons (`--nice`).
    pub nice: i32,
    /// `keepalived --version`'s first line, e.g. `Keepalived v2.2.7 (01/16,2022)`.
    pub keepalived_version: String,
    /// Where and when it ran.
    pub machine: machine::Machine,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// The cells, in table order.
    pub cells: Vec<Cell>,
}

/// `1 trial`, `5 trials`.
pub fn trials(count: usize) -> String {
    format!("{count} trial{}", if count == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Outages {
        Outages(values.iter().map(|v| Duration::from_millis(*v)).collect())
    }

    #[test]
    fn summary_odd_and_even() {
        let odd = ms(&[30, 10, 20]).summary().expect("summary");
        assert_eq!(
            (odd.min, odd.median, odd.max),
            (
                Duration::from_millis(10),
                Duration::from_millis(20),
                Duration::from_millis(30)
            )
        );
        let even = ms(&[40, 10, 20, 30]).summary().expect("summary");
        assert_eq!(even.median, Duration::from_millis(25));
        assert_eq!(Outages::default().summary(), None);
    }

    #[test]
    fn ratio_is_kad_over_keepalived() {
        let mut cell = Cell::new(Row::FULL[2], Fault::Sigterm);
        assert_eq!(cell.ratio(), None);
        cell.kad = ms(&[60]);
        cell.keepalived = ms(&[80]);
        assert_eq!(cell.ratio(), Some(0.75));
    }

    #[test]
    fn records_trials_and_pairs_them() {
        let mut cell = Cell::new(Row::FULL[0], Fault::LinkDown);
        assert_eq!(cell.paired_median_ms(), None);
        let timing = |phase: u64, since: u64| phase::Timing {
            phase: Duration::from_millis(phase),
            since_advert: Duration::from_millis(since),
        };
        for (daemon, outages) in [
            (Daemon::Keepalived, [3000, 3400, 2700]),
            (Daemon::Kad, [2990, 3420, 2650]),
        ] {
            for (outage, phase) in outages.into_iter().zip([600, 200, 900]) {
                cell.record(
                    daemon,
                    Duration::from_millis(outage),
                    timing(phase, outage + phase),
                );
            }
        }
        assert_eq!(cell.kad.0.len(), 3);
        assert_eq!(cell.timings(Daemon::Kad).0.len(), 3);
        // Differences -10, +20, -50: median -10.
        let median = cell.paired_median_ms().expect("pairs");
        assert!((median + 10.0).abs() < 1e-6, "{median}");
        let since = cell
            .timings(Daemon::Keepalived)
            .median_since_advert()
            .expect("median");
        assert!(since.abs_diff(Duration::from_millis(3600)) < Duration::from_micros(1));
    }

    #[test]
    fn rfc_floors() {
        let v3 = Row::FULL[2];
        assert_eq!(v3.rfc_floor(Fault::Sigterm).as_micros(), 60_937);
        assert_eq!(v3.rfc_floor(Fault::LinkDown).as_micros(), 360_937);
        let v2 = Row::FULL[1];
        assert_eq!(v2.rfc_floor(Fault::Sigterm).as_micros(), 609_375);
        assert_eq!(Row::selection(true).len(), 2);
        assert_eq!(Row::selection(false).len(), 4);
    }
}
