//! The checkers benchmark ([`super::checkers`]) as a Markdown table (medians over rounds, one
//! row per delay_loop and daemon) and as JSON (every run).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::checkers::{CheckersOutcome, Daemon, GUEST_TICKS_PER_SECOND, RunOutcome, median};

const HZ: f64 = GUEST_TICKS_PER_SECOND;

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn runs_of(outcome: &CheckersOutcome, daemon: Daemon) -> Vec<&RunOutcome> {
    outcome.runs.iter().filter(|r| r.daemon == daemon).collect()
}

fn med(runs: &[&RunOutcome], f: impl Fn(&RunOutcome) -> f64) -> f64 {
    median(runs.iter().map(|r| f(r)).collect())
}

fn range(runs: &[&RunOutcome], f: impl Fn(&RunOutcome) -> f64) -> (f64, f64) {
    let values: Vec<f64> = runs.iter().map(|r| f(r)).collect();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

/// One row per (delay_loop, daemon): medians over the rounds, with the range of the CPU.
pub fn table(outcomes: &[CheckersOutcome]) -> String {
    let mut table = String::from(
        "| delay_loop (checks/s wanted) | daemon | checks/s seen by the real servers | servers unchecked in a window (worst round) / checks per server (min–max) | CPU, % of the guest CPU (min–max) | CPU per check | RSS / peak (VmHWM) | IPVS real servers (weight > 0) | table filled after | guest CPU busy |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for outcome in outcomes {
        let setup = &outcome.setup;
        let wanted = setup.servers() as f64 / f64::from(setup.delay_loop);
        for &daemon in &setup.daemons {
            let runs = runs_of(outcome, daemon);
            if runs.is_empty() {
                continue;
            }
            let (cpu_min, cpu_max) = range(&runs, |r| r.cpu_percent(HZ));
            let unchecked = runs.iter().map(|r| r.checks.unchecked).max().unwrap_or(0);
            let per_min = runs
                .iter()
                .map(|r| r.checks.min_per_server)
                .min()
                .unwrap_or(0);
            let per_max = runs
                .iter()
                .map(|r| r.checks.max_per_server)
                .max()
                .unwrap_or(0);
            let table_min = runs.iter().map(|r| r.table_servers).min().unwrap_or(0);
            let live_min = runs.iter().map(|r| r.table_live).min().unwrap_or(0);
            let _ = writeln!(
                table,
                "| {} s ({:.0}) | {} | {:.0} | {} / {}–{} | **{:.1} %** ({:.1}–{:.1}) | {:.0} µs | {} / {} | {} ({}) | {:.0} s | {:.0} % |",
                setup.delay_loop,
                wanted,
                daemon.label(),
                med(&runs, |r| r.checks.per_second),
                unchecked,
                per_min,
                per_max,
                med(&runs, |r| r.cpu_percent(HZ)),
                cpu_min,
                cpu_max,
                med(&runs, |r| r.cpu_us_per_check(HZ)),
                mib(med(&runs, |r| r.rss_kib() as f64)),
                mib(med(&runs, |r| r.hwm_kib() as f64)),
                table_min,
                live_min,
                med(&runs, |r| r.fill.as_secs_f64()),
                med(&runs, |r| r.guest_busy_percent),
            );
        }
    }
    table
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Every run as JSON.
pub fn json(outcomes: &[CheckersOutcome]) -> Value {
    Value::Array(
        outcomes
            .iter()
            .map(|o| {
                json!({
                    "virtual_servers": o.setup.virtual_servers,
                    "real_servers": o.setup.servers(),
                    "delay_loop_s": o.setup.delay_loop,
                    "warmup_s": o.setup.warmup.as_secs_f64(),
                    "window_s": o.setup.window.as_secs_f64(),
                    "guest_memory": o.setup.memory,
                    "guest_kernel": o.kernel,
                    "guest_open_files": o.open_files,
                    "runs": o.runs.iter().map(|r| json!({
                        "daemon": r.daemon.label(),
                        "round": r.round,
                        "window_s": round2(r.seconds),
                        "cpu_percent": round2(r.cpu_percent(HZ)),
                        "cpu_us_per_check": round2(r.cpu_us_per_check(HZ)),
                        "processes": r.processes.iter().map(|p| json!({
                            "cpu_ticks": p.ticks,
                            "rss_kib": p.rss_kib,
                            "hwm_kib": p.hwm_kib,
                        })).collect::<Vec<_>>(),
                        "guest_busy_percent": round2(r.guest_busy_percent),
                        "checks_per_s": round2(r.checks.per_second),
                        "checks_window_s": round2(r.checks.seconds),
                        "unchecked_servers": r.checks.unchecked,
                        "min_checks_per_server": r.checks.min_per_server,
                        "max_checks_per_server": r.checks.max_per_server,
                        "checks_outside_plan": r.checks.outside,
                        "table_fill_s": round2(r.fill.as_secs_f64()),
                        "table_filled_servers": r.filled_servers,
                        "table_servers": r.table_servers,
                        "table_live": r.table_live,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
