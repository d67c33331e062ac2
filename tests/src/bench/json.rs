//! The run as JSON (`failover.json`): settings, machine, and per row and fault each daemon's
//! every outage in microseconds with min / median / max, the ratio of the medians and the
//! RFC floor; the planned fault offsets after an advert (the same for both daemons), each
//! trial's measured phase and time from the last advert to the VIP reachable, and the
//! median of the paired differences.

use std::{fs, path::Path, time::Duration};

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::{Cell, Daemon, Fault, Outages, Report, machine::Machine, phase::Timings};

#[derive(Serialize)]
struct Document<'a> {
    benchmark: &'static str,
    /// The command that reproduces the run (with `--record`).
    command: String,
    trials: usize,
    quick: bool,
    probe_interval_us: u128,
    nice: i32,
    keepalived_version: &'a str,
    elapsed_s: f64,
    machine: &'a Machine,
    cells: Vec<CellJson>,
}

#[derive(Serialize)]
struct CellJson {
    advert_int: &'static str,
    advert_seconds: f64,
    version: u8,
    fault: Fault,
    rfc_floor_us: u128,
    /// kad's median over keepalived's.
    ratio_median: Option<f64>,
    /// Planned fault offsets after an advert, trial by trial (both daemons).
    offsets_us: Vec<u128>,
    /// Median of kad[n] − keepalived[n] (same planned phase), microseconds.
    paired_difference_median_us: Option<i64>,
    kad: DaemonJson,
    keepalived: DaemonJson,
}

#[derive(Serialize)]
struct DaemonJson {
    daemon: Daemon,
    outages_us: Vec<u128>,
    min_us: Option<u128>,
    median_us: Option<u128>,
    max_us: Option<u128>,
    /// Measured fault time after the master's last advert, trial by trial.
    phases_us: Vec<u128>,
    /// The master's last advert to the client's first reply after the outage (≈
    /// Master_Down_Interval plus takeover for a link down), trial by trial.
    since_advert_us: Vec<u128>,
    median_since_advert_us: Option<u128>,
}

fn micros(values: &[Duration]) -> Vec<u128> {
    values.iter().map(Duration::as_micros).collect()
}

fn daemon(daemon: Daemon, outages: &Outages, timings: &Timings) -> DaemonJson {
    let summary = outages.summary();
    DaemonJson {
        daemon,
        outages_us: micros(&outages.0),
        min_us: summary.map(|s| s.min.as_micros()),
        median_us: summary.map(|s| s.median.as_micros()),
        max_us: summary.map(|s| s.max.as_micros()),
        phases_us: micros(&timings.phases()),
        since_advert_us: micros(&timings.since_advert()),
        median_since_advert_us: timings.median_since_advert().map(|d| d.as_micros()),
    }
}

fn cell(cell: &Cell) -> CellJson {
    CellJson {
        advert_int: cell.row.advert,
        advert_seconds: cell.row.seconds,
        version: cell.row.version,
        fault: cell.fault,
        rfc_floor_us: cell.row.rfc_floor(cell.fault).as_micros(),
        ratio_median: cell.ratio(),
        offsets_us: micros(&cell.offsets),
        paired_difference_median_us: cell
            .paired_median_ms()
            .map(|ms| (ms * 1000.0).round() as i64),
        kad: daemon(Daemon::Kad, &cell.kad, &cell.kad_timings),
        keepalived: daemon(
            Daemon::Keepalived,
            &cell.keepalived,
            &cell.keepalived_timings,
        ),
    }
}

/// `report` as pretty-printed JSON.
pub fn to_string(report: &Report) -> Result<String> {
    let document = Document {
        benchmark: "failover",
        command: super::record::command(report),
        trials: report.trials,
        quick: report.quick,
        probe_interval_us: report.probe_interval.as_micros(),
        nice: report.nice,
        keepalived_version: &report.keepalived_version,
        elapsed_s: report.elapsed.as_secs_f64(),
        machine: &report.machine,
        cells: report.cells.iter().map(cell).collect(),
    };
    serde_json::to_string_pretty(&document).context("serialising the failover report")
}

/// Writes `report` as JSON to `path`.
pub fn write(report: &Report, path: &Path) -> Result<()> {
    let mut text = to_string(report)?;
    text.push('\n');
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Row;

    #[test]
    fn every_trial_in_microseconds() {
        let mut cell = Cell::new(Row::FULL[3], Fault::LinkDown);
        cell.kad = Outages(vec![
            Duration::from_micros(41_500),
            Duration::from_micros(39_000),
        ]);
        cell.keepalived = Outages(vec![Duration::from_micros(32_000)]);
        cell.offsets = vec![Duration::from_micros(2_500), Duration::from_micros(7_000)];
        cell.kad_timings = Timings(vec![crate::bench::phase::Timing {
            phase: Duration::from_micros(2_600),
            since_advert: Duration::from_micros(44_100),
        }]);
        let report = Report {
            trials: 2,
            quick: true,
            probe_interval: Duration::from_millis(2),
            nice: -10,
            keepalived_version: "Keepalived v2.2.7".into(),
            machine: Machine::default(),
            elapsed: Duration::from_secs(3),
            cells: vec![cell],
        };
        let value: serde_json::Value =
            serde_json::from_str(&to_string(&report).expect("json")).expect("valid json");
        let cell = &value["cells"][0];
        assert_eq!(cell["fault"], "link_down");
        assert_eq!(cell["advert_int"], "0.01");
        assert_eq!(
            cell["kad"]["outages_us"],
            serde_json::json!([41_500, 39_000])
        );
        assert_eq!(cell["kad"]["median_us"], 40_250);
        assert_eq!(cell["keepalived"]["max_us"], 32_000);
        assert_eq!(value["probe_interval_us"], 2000);
        assert_eq!(cell["offsets_us"], serde_json::json!([2_500, 7_000]));
        assert_eq!(cell["kad"]["phases_us"], serde_json::json!([2_600]));
        assert_eq!(cell["kad"]["median_since_advert_us"], 44_100);
        assert_eq!(cell["keepalived"]["since_advert_us"], serde_json::json!([]));
        // One pair: 41.5 ms − 32 ms.
        assert_eq!(cell["paired_difference_median_us"], 9_500);
        assert!(cell["ratio_median"].as_f64().is_some());
    }
}
