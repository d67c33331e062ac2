//! BFD CPU per session (issue 16, `cargo xtask bench bfd`, part `cpu`): the runs of
//! [`super::bfd::run`] with no busy loop, read as the CPU each daemon spends per session and
//! per packet (each session sends and receives one packet per interval).

use serde_json::{Value, json};

use super::bfd::BfdOutcome;

/// The mean CPU of both routers, % of one core.
fn mean_cpu(outcome: &BfdOutcome) -> f64 {
    (outcome.cpu_percent.0 + outcome.cpu_percent.1) / 2.0
}

/// Packets per second one router handles per session: one sent and one received per
/// interval.
fn packets_per_session(outcome: &BfdOutcome) -> f64 {
    let interval_ms: f64 = outcome.setup.interval.parse().unwrap_or(f64::NAN);
    2.0 * 1000.0 / interval_ms
}

/// CPU per session, % of one core (mean of both routers).
pub fn per_session_percent(outcome: &BfdOutcome) -> f64 {
    mean_cpu(outcome) / outcome.setup.sessions.max(1) as f64
}

/// CPU per packet handled (sent or received), µs (mean of both routers).
pub fn per_packet_us(outcome: &BfdOutcome) -> f64 {
    let packets = packets_per_session(outcome) * outcome.setup.sessions as f64;
    // % of a core = 10,000 µs of CPU per second.
    mean_cpu(outcome) * 10_000.0 / packets
}

/// The Markdown table of a series of runs.
pub fn table(outcomes: &[BfdOutcome]) -> String {
    let mut text = String::from(
        "| pair | sessions | interval × multiplier | Up at start / end | BFD process CPU r1 / r2 | CPU per session | CPU per packet (sent or received) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let s = &o.setup;
        text.push_str(&format!(
            "| {} | {} | {} ms × {} | {} / {} | {:.1} % / {:.1} % | {:.3} % | {:.1} µs |\n",
            s.pair.label(),
            s.sessions,
            s.interval,
            s.multiplier,
            o.up_at_start,
            o.up_at_end,
            o.cpu_percent.0,
            o.cpu_percent.1,
            per_session_percent(o),
            per_packet_us(o),
        ));
    }
    text
}

/// The runs as JSON.
pub fn to_json(outcomes: &[BfdOutcome]) -> Value {
    outcomes
        .iter()
        .map(|o| {
            json!({
                "pair": o.setup.pair.label(),
                "sessions": o.setup.sessions,
                "interval_ms": o.setup.interval,
                "multiplier": o.setup.multiplier,
                "window_s": o.setup.window.as_secs_f64(),
                "up_at_start": o.up_at_start,
                "up_at_end": o.up_at_end,
                "cpu_percent_r1": o.cpu_percent.0,
                "cpu_percent_r2": o.cpu_percent.1,
                "cpu_percent_per_session": per_session_percent(o),
                "cpu_us_per_packet": per_packet_us(o),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::bfd::{BfdPair, BfdSetup};

    #[test]
    fn per_session_and_per_packet() {
        let outcome = BfdOutcome {
            setup: BfdSetup {
                pair: BfdPair::Kad,
                sessions: 10,
                interval: "10".to_owned(),
                multiplier: 3,
                window: Duration::from_secs(10),
                busy_loops: 0,
                nice: None,
                napi_threads: true,
            },
            up_at_start: 10,
            up_at_end: 10,
            detect_expired: 0,
            downs: (0, 0),
            cpu_percent: (4.0, 6.0),
        };
        // 5 % of a core for 10 sessions: 0.5 % each; 2,000 packets/s: 25 µs each.
        assert!((per_session_percent(&outcome) - 0.5).abs() < 1e-9);
        assert!((per_packet_us(&outcome) - 25.0).abs() < 1e-9);
    }
}
