//! Deterministic simulation of the VRRP core: many seeds, invariants checked every step
//! (see `kad_tests::sim::check`). A failure prints its seed; replay it alone with
//! `KAD_SIM_SEED=<seed> cargo test -p kad-tests --test vrrp_sim` (add `KAD_SIM_TRACE=1` to
//! print every event and action); run more seeds with `KAD_SIM_SEEDS=<count>`.

use kad::vrrp::fsm::InjectedBug;
use kad_tests::sim::{self, Report, ScenarioOptions, SimOptions};

/// Seeds run by `many_seeds_hold_every_invariant` (CI runs them all).
const SEEDS: u64 = 1000;

fn run_all(seeds: &[u64], opts: SimOptions) -> Vec<Report> {
    seeds.iter().map(|seed| sim::run(*seed, opts)).collect()
}

#[test]
fn many_seeds_hold_every_invariant() {
    let seeds = sim::seeds(SEEDS);
    let reports = run_all(&seeds, SimOptions::default());
    let failures: Vec<_> = reports.iter().filter(|r| r.violation.is_some()).collect();
    for r in &failures {
        if let Some(v) = &r.violation {
            eprintln!(
                "FAILED seed {} (replay: KAD_SIM_SEED={}): {v}",
                r.seed, r.seed
            );
        }
    }
    let steps: u64 = reports.iter().map(|r| r.steps).sum();
    let checks: u64 = reports.iter().map(|r| r.checks).sum();
    let transitions: u64 = reports.iter().map(|r| r.transitions).sum();
    let handovers: u64 = reports.iter().map(|r| r.handovers).sum();
    eprintln!(
        "vrrp_sim: {} seeds, {steps} steps, {checks} invariant checks, {transitions} transitions, {handovers} priority-0 handovers verified",
        reports.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed",
        failures.len(),
        reports.len()
    );
    // The run must actually exercise the invariants, not pass vacuously.
    if seeds.len() as u64 == SEEDS {
        assert!(
            checks > steps / 4,
            "too few checks: {checks} for {steps} steps"
        );
        assert!(
            handovers > SEEDS / 10,
            "too few handovers checked: {handovers}"
        );
    }
}

#[test]
fn sync_group_seeds_hold_every_invariant() {
    let opts = SimOptions {
        scenario: ScenarioOptions {
            sync_groups: true,
            ..ScenarioOptions::default()
        },
        bug: None,
    };
    let seeds = sim::seeds(300);
    let reports = run_all(&seeds, opts);
    let mut failed = 0;
    for r in &reports {
        if let Some(v) = &r.violation {
            failed += 1;
            eprintln!(
                "FAILED sync-group seed {} (replay: KAD_SIM_SEED={}): {v}",
                r.seed, r.seed
            );
        }
    }
    let steps: u64 = reports.iter().map(|r| r.steps).sum();
    let checks: u64 = reports.iter().map(|r| r.checks).sum();
    eprintln!(
        "vrrp_sim sync groups: {} seeds, {steps} steps, {checks} invariant checks",
        reports.len()
    );
    assert_eq!(
        failed,
        0,
        "{failed} of {} sync-group seeds failed",
        reports.len()
    );
}

#[test]
fn a_seed_replays_identically() {
    let a = sim::run(42, SimOptions::default());
    let b = sim::run(42, SimOptions::default());
    assert_eq!(
        (a.steps, a.transitions, a.deliveries),
        (b.steps, b.transitions, b.deliveries)
    );
    assert!(a.steps > 100);
}

fn first_failure(opts: SimOptions, seeds: std::ops::Range<u64>) -> Option<Report> {
    seeds
        .map(|s| sim::run(s, opts))
        .find(|r| r.violation.is_some())
}

#[test]
fn simulator_catches_an_inverted_tie_break() {
    let broken = SimOptions {
        scenario: ScenarioOptions {
            all_tied: true,
            ..ScenarioOptions::default()
        },
        bug: Some(InjectedBug::InvertedTieBreak),
    };
    let failed = first_failure(broken, 0..200).expect("the inverted tie-break went unnoticed");
    let violation = failed.violation.expect("violation");
    eprintln!("caught at seed {}: {violation}", failed.seed);
    assert!(
        violation.invariant.contains("ties to the higher address"),
        "{violation}"
    );
    // The same seed passes without the bug.
    let fixed = SimOptions {
        bug: None,
        ..broken
    };
    assert_eq!(sim::run(failed.seed, fixed).violation, None);
}

#[test]
fn simulator_catches_an_ignored_priority_zero() {
    let broken = SimOptions {
        bug: Some(InjectedBug::IgnorePriorityZero),
        ..SimOptions::default()
    };
    let failed = first_failure(broken, 0..200).expect("ignoring priority 0 went unnoticed");
    let violation = failed.violation.expect("violation");
    eprintln!("caught at seed {}: {violation}", failed.seed);
    assert!(
        violation.invariant.contains("priority-0 handover"),
        "{violation}"
    );
    assert_eq!(sim::run(failed.seed, SimOptions::default()).violation, None);
}

#[test]
fn simulator_catches_an_ignored_nopreempt() {
    let broken = SimOptions {
        bug: Some(InjectedBug::IgnoreNopreempt),
        ..SimOptions::default()
    };
    let failed = first_failure(broken, 0..300).expect("ignoring nopreempt went unnoticed");
    let violation = failed.violation.expect("violation");
    eprintln!("caught at seed {}: {violation}", failed.seed);
    assert!(violation.invariant.contains("nopreempt"), "{violation}");
    assert_eq!(sim::run(failed.seed, SimOptions::default()).violation, None);
}

#[test]
fn simulator_catches_a_sync_group_member_falling_back_alone() {
    let broken = SimOptions {
        scenario: ScenarioOptions {
            sync_groups: true,
            ..ScenarioOptions::default()
        },
        bug: Some(InjectedBug::GroupMemberFallsBackAlone),
    };
    let failed = first_failure(broken, 0..300).expect("a group split went unnoticed");
    let violation = failed.violation.expect("violation");
    eprintln!("caught at seed {}: {violation}", failed.seed);
    assert!(violation.invariant.contains("sync group"), "{violation}");
    assert_eq!(
        sim::run(
            failed.seed,
            SimOptions {
                bug: None,
                ..broken
            }
        )
        .violation,
        None
    );
}
