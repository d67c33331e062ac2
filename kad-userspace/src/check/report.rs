//! What the checkers tell `kad status` and the metrics: every probe's state and last
//! result, in a `tokio::sync::watch` channel. A probe writes only when its outcome or its
//! state changes, so a steady checker costs a comparison per run and wakes no reader.
//!
//! The daemon makes one channel ([`crate::status::report::checker_channel`]) and hands its sender to every checker set
//! ([`super::CheckerSet::reporting`]); a reload replaces the probes in the report, each
//! keeping its history when the new configuration has the same checker on the same real
//! server.

use std::{
    borrow::Cow,
    time::{SystemTime, UNIX_EPOCH},
};

use super::plan::Plan;
use crate::status::{
    report::{CheckerReport, ReportSender},
    snapshot::CheckerStatus,
};

/// The report of a newly planned set: each probe as it starts, or as `previous`
/// knew it when the same real server had a checker of the same kind and target.
fn for_plan(plan: &Plan, previous: &CheckerReport) -> CheckerReport {
    let mut report = CheckerReport::default();
    // Kept while the checkers run: no spare room from the vector's doubling.
    report.probes.reserve_exact(plan.probes.len());
    for (index, spec) in plan.probes.iter().enumerate() {
        report.probes.push(CheckerStatus {
            kind: spec.kind.keyword().into(),
            target: spec.target(),
            up: plan.probe_initial_up(index),
            ..CheckerStatus::default()
        });
    }
    for server in &plan.servers {
        let address = server.key.addr.to_string();
        let before = previous.of(&address);
        for &p in &server.probes {
            if let Some(status) = report.probes.get_mut(p)
                && let Some(old) = before
                    .iter()
                    .find(|old| old.kind == status.kind && old.target == status.target)
            {
                *status = CheckerStatus {
                    up: status.up,
                    ..old.clone()
                };
            }
        }
        report.servers.insert(address, server.probes.clone());
    }
    report
}

/// Publishes the initial report of `plan` on `report`.
pub(super) fn start(report: &ReportSender, plan: &Plan) {
    let fresh = for_plan(plan, &report.borrow());
    report.send_replace(fresh);
}

/// One probe's handle on the report (no report: records nothing).
#[derive(Clone, Debug, Default)]
pub struct ProbeReporter {
    report: Option<ReportSender>,
    index: usize,
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ProbeReporter {
    /// The reporter of probe `index` on `report`.
    pub fn new(report: Option<ReportSender>, index: usize) -> Self {
        Self { report, index }
    }

    /// Records a probe's run: the checker's state after it (`up`), whether it passed, and
    /// its outcome in words. Readers are woken only when something changed.
    #[expect(
        clippy::ptr_arg,
        reason = "stored by cloning the Cow: a static word (`passed`) stays unallocated"
    )]
    pub fn record(&self, up: bool, passed: bool, outcome: &Cow<'static, str>) {
        let Some(report) = &self.report else {
            return;
        };
        report.send_if_modified(|report| {
            let Some(probe) = report.probes.get_mut(self.index) else {
                return false;
            };
            let result = if passed { "passed" } else { "failed" };
            let same_result = probe.last_result.as_deref() == Some(result)
                && probe.reason.as_deref() == Some(&**outcome);
            if probe.up == up && same_result {
                return false;
            }
            let now = unix_ms_now();
            if probe.up != up {
                probe.up = up;
                probe.transitions += 1;
                probe.last_transition_unix_ms = Some(now);
            }
            if !same_result {
                probe.last_result = Some(result.into());
                probe.reason = Some(outcome.clone());
                probe.result_since_unix_ms = Some(now);
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    fn plan(text: &str) -> Plan {
        Plan::from_config(&parse_str(text, &LoadOptions::with_config_id("t")).config)
    }

    const CONF: &str = "virtual_server 10.9.9.9 80 {\n real_server 10.0.0.1 80 {\n TCP_CHECK { }\n }\n \
                        real_server 10.0.0.2 8080 {\n TCP_CHECK { }\n }\n}\n";

    #[test]
    fn records_changes_only_and_wakes_readers_then() {
        let (tx, mut rx) = crate::status::report::checker_channel();
        start(&tx, &plan(CONF));
        rx.borrow_and_update();
        let first = rx.borrow().of("10.0.0.2:8080");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].kind, "TCP_CHECK");
        assert_eq!(first[0].target, "10.0.0.2:8080");
        assert!(first[0].up && first[0].last_result.is_none());

        let probe = ProbeReporter::new(Some(tx.clone()), 1);
        probe.record(true, false, &"connect: refused".into());
        assert!(
            rx.has_changed().unwrap_or(false),
            "a new result wakes readers"
        );
        rx.borrow_and_update();
        probe.record(true, false, &"connect: refused".into());
        assert!(
            !rx.has_changed().unwrap_or(true),
            "the same result does not"
        );
        probe.record(false, false, &"connect: refused".into());
        let down = rx.borrow_and_update().of("10.0.0.2:8080");
        assert!(!down[0].up);
        assert_eq!(down[0].transitions, 1);
        assert_eq!(down[0].last_result.as_deref(), Some("failed"));
        assert_eq!(down[0].reason.as_deref(), Some("connect: refused"));
        assert!(down[0].last_transition_unix_ms.is_some());
        assert!(
            rx.borrow().of("10.0.0.1:80")[0].up,
            "the other probe is untouched"
        );

        // A reload with the same checker keeps its history.
        start(&tx, &plan(CONF));
        let kept = rx.borrow().of("10.0.0.2:8080");
        assert_eq!(kept[0].transitions, 1);
        assert_eq!(kept[0].reason.as_deref(), Some("connect: refused"));
    }
}
