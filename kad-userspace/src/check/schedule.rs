//! The loop of one probe on its own task: the first run after a random part of `warmup`,
//! then the [`ProbeState`] decides when the next one runs (after `delay_loop`, or after
//! `delay_before_retry` while a failure is being retried), counted from the end of the
//! previous run as keepalived does. Changes go to the aggregator.

use tokio::sync::mpsc;

use super::{probe::Probe, state::ProbeState};

/// A checker's state changed (or, while up, the weight it asks for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEvent {
    /// Which probe ([`super::plan::Plan::probes`] index).
    pub probe: usize,
    /// Its state now.
    pub up: bool,
    /// The weight it last asked for (MISC_CHECK `misc_dynamic`, FILE_CHECK).
    pub weight: Option<i32>,
    /// Why, for humans.
    pub reason: String,
}

/// Runs `probe` until the task is aborted or the aggregator is gone.
pub async fn run(index: usize, probe: Probe, initial_up: bool, events: mpsc::Sender<ProbeEvent>) {
    let mut state = ProbeState::new(initial_up, probe.spec().timing);
    let mut weight = None;
    let what = probe.describe();
    tokio::time::sleep(state.first_delay(fastrand::f64())).await;
    loop {
        let result = probe.run().await;
        let step = match &result {
            Ok(_) => state.passed(),
            Err(_) => state.failed(),
        };
        let asked = result.as_ref().ok().and_then(|pass| pass.weight);
        let weight_changed = asked.is_some() && asked != weight;
        if asked.is_some() {
            weight = asked;
        }
        let reason = match &result {
            Ok(_) => match asked {
                Some(w) => format!("{what}: passed (weight {w})"),
                None => format!("{what}: passed"),
            },
            Err(err) => format!("{what}: {err}"),
        };
        match (&result, step.retrying) {
            (Err(_), true) => tracing::info!(check = %what, "{reason}; retrying"),
            (Err(_), false) => tracing::debug!(check = %what, "{reason}"),
            (Ok(_), _) => tracing::trace!(check = %what, "{reason}"),
        }
        if step.changed.is_some() || (state.is_up() && weight_changed) {
            if let Some(up) = step.changed {
                tracing::info!(check = %what, up, "{reason}");
            }
            let event = ProbeEvent {
                probe: index,
                up: state.is_up(),
                weight,
                reason,
            };
            if events.send(event).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(step.next_in).await;
    }
}
