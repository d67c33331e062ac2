//! The loop of one probe on its own task: the first run after a random part of `warmup`,
//! then the [`ProbeState`] decides when the next one runs (after `delay_loop`, or after
//! `delay_before_retry` while a failure is being retried), counted from the end of the
//! previous run as keepalived does. Changes go to the aggregator.

use std::{
    borrow::Cow,
    future::Future,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;

use crate::supervise::{Family, supervise};

use super::{
    Pass, ProbeError,
    report::ProbeReporter,
    state::{ProbeState, Timing},
};

/// What the scheduler runs: a checker ([`super::probe::Probe`]; tests use scripted ones).
pub trait Runner: Send + Sync + 'static {
    /// One probe.
    fn run(&self) -> impl Future<Output = Result<Pass, ProbeError>> + Send;
    /// For logs and reasons.
    fn describe(&self) -> String;
    /// Its schedule.
    fn timing(&self) -> Timing;
    /// The longest one probe may take before it counts as failed.
    fn hard_timeout(&self) -> Duration;
}

/// A checker's state changed (or, while up, the weight it asks for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEvent {
    /// Which probe ([`super::plan::Plan::probes`] index).
    pub probe: usize,
    /// Its state now.
    pub up: bool,
    /// The weight it last asked for (MISC_CHECK `misc_dynamic`, FILE_CHECK).
    pub weight: Option<i32>,
    /// The weight the run that sent this event asked for (`None`: it asked for none, e.g.
    /// MISC_CHECK exit 0, "weight unchanged").
    pub asked: Option<i32>,
    /// Why, for humans.
    pub reason: String,
}

/// Runs `probe` until the task is aborted or the aggregator is gone; each run is cut at
/// the probe's hard timeout, so a hung server or script only ever holds its own task.
/// Each run's outcome goes to `report` (for `kad status`). A panic in the probe or the loop
/// is logged and the loop starts again from the state it had reached
/// ([`crate::supervise`]), so one faulty checker never stops the others or VRRP.
pub async fn run<P: Runner>(
    index: usize,
    probe: P,
    initial_up: bool,
    events: mpsc::UnboundedSender<ProbeEvent>,
    report: ProbeReporter,
) {
    let what = probe.describe();
    let carried = Carried {
        up: AtomicBool::new(initial_up),
        weight: Mutex::new(None),
    };
    supervise(Family::Checker, &what, |run| {
        probe_loop(index, &probe, &what, run > 0, &carried, &events, &report)
    })
    .await;
}

/// What a restarted loop takes over from the one that panicked.
struct Carried {
    up: AtomicBool,
    weight: Mutex<Option<i32>>,
}

impl Carried {
    fn weight(&self) -> Option<i32> {
        *self.weight.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_weight(&self, weight: Option<i32>) {
        *self.weight.lock().unwrap_or_else(|p| p.into_inner()) = weight;
    }
}

/// The probe loop proper; `restarted`: after a panic (no warmup wait, the state and weight
/// as `carried` holds them).
async fn probe_loop<P: Runner>(
    index: usize,
    probe: &P,
    what: &str,
    restarted: bool,
    carried: &Carried,
    events: &mpsc::UnboundedSender<ProbeEvent>,
    report: &ProbeReporter,
) {
    let mut state = ProbeState::new(carried.up.load(Ordering::Relaxed), probe.timing());
    let mut weight = carried.weight();
    if !restarted {
        tokio::time::sleep(state.first_delay(fastrand::f64())).await;
    }
    loop {
        // The run's result and words end with this block, before the sleep: a sleeping
        // task holds only its state.
        let next_in = {
            // Boxed: a probe spends nearly all its life asleep below, so the running check's
            // state (socket, timeout timer) is allocated per run and not held by every task
            // (10,000 tasks with 10,000 real servers); one allocation beside a connect.
            let run = Box::pin(tokio::time::timeout(probe.hard_timeout(), probe.run()));
            let result = match run.await {
                Ok(result) => result,
                Err(_) => Err(ProbeError::Timeout("probe")),
            };
            let step = match &result {
                Ok(_) => state.passed(),
                Err(_) => state.failed(),
            };
            let asked = result.as_ref().ok().and_then(|pass| pass.weight);
            let weight_changed = asked.is_some() && asked != weight;
            if asked.is_some() {
                weight = asked;
                carried.set_weight(weight);
            }
            carried.up.store(state.is_up(), Ordering::Relaxed);
            // The outcome in words; a passing probe (nearly every probe) allocates nothing,
            // and the log line is only built when it is logged or sent.
            let outcome: Cow<'static, str> = match &result {
                Ok(_) => match asked {
                    Some(w) => format!("passed (weight {w})").into(),
                    None => "passed".into(),
                },
                Err(err) => err.to_string().into(),
            };
            report.record(state.is_up(), result.is_ok(), &outcome);
            let reason = || format!("{what}: {outcome}");
            match (&result, step.retrying) {
                (Err(_), true) => tracing::info!(check = %what, "{}; retrying", reason()),
                (Err(_), false) => tracing::debug!(check = %what, "{}", reason()),
                (Ok(_), _) => tracing::trace!(check = %what, "{}", reason()),
            }
            if step.changed.is_some() || (state.is_up() && weight_changed) {
                let reason = reason();
                if let Some(up) = step.changed {
                    tracing::info!(check = %what, up, "{reason}");
                }
                let event = ProbeEvent {
                    probe: index,
                    up: state.is_up(),
                    weight,
                    asked,
                    reason,
                };
                if events.send(event).is_err() {
                    return;
                }
            }
            step.next_in
        };
        tokio::time::sleep(next_in).await;
    }
}

#[cfg(test)]
mod tests {
    //! The loop on tokio's paused clock: probe times and events are exact.

    use std::{
        collections::VecDeque,
        sync::{Arc, Mutex},
    };

    use tokio::time::Instant;

    use super::*;

    /// A scripted checker: `Some(true)` passes, `Some(false)` fails, `None` hangs; the
    /// call numbered `panic_at` (from 0) panics.
    struct Scripted {
        results: Mutex<VecDeque<Option<bool>>>,
        calls: Arc<Mutex<Vec<Instant>>>,
        timing: Timing,
        panic_at: Option<usize>,
    }

    impl Runner for Scripted {
        fn run(&self) -> impl Future<Output = Result<Pass, ProbeError>> + Send {
            let call = self.calls.lock().map(|calls| calls.len()).unwrap_or(0);
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(Instant::now());
            }
            if self.panic_at == Some(call) {
                panic!("scripted panic");
            }
            let next = self
                .results
                .lock()
                .map(|mut r| r.pop_front())
                .unwrap_or_default();
            async move {
                match next {
                    Some(Some(true)) => Ok(Pass::default()),
                    Some(Some(false)) => Err(ProbeError::Check("scripted failure".into())),
                    // Hangs (Some(None)); out of script (None) also waits forever.
                    _ => std::future::pending().await,
                }
            }
        }
        fn describe(&self) -> String {
            "SCRIPTED".into()
        }
        fn timing(&self) -> Timing {
            self.timing
        }
        fn hard_timeout(&self) -> Duration {
            self.timing.connect_timeout
        }
    }

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn timing(warmup: u64) -> Timing {
        Timing {
            delay_loop: secs(10),
            retry: 2,
            delay_before_retry: secs(3),
            warmup: secs(warmup),
            connect_timeout: secs(2),
        }
    }

    /// Runs a scripted probe until `until` (virtual time): its call times and the
    /// (time, up) of every event.
    async fn drive(
        script: &[Option<bool>],
        timing: Timing,
        initial_up: bool,
        until: Duration,
    ) -> (Vec<Duration>, Vec<(Duration, bool)>) {
        drive_panicking(script, None, timing, initial_up, until).await
    }

    /// [`drive`], the call numbered `panic_at` panicking.
    async fn drive_panicking(
        script: &[Option<bool>],
        panic_at: Option<usize>,
        timing: Timing,
        initial_up: bool,
        until: Duration,
    ) -> (Vec<Duration>, Vec<(Duration, bool)>) {
        let start = Instant::now();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let probe = Scripted {
            results: Mutex::new(script.iter().copied().collect()),
            calls: calls.clone(),
            timing,
            panic_at,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<ProbeEvent>();
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = events.clone();
        let collector = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Ok(mut log) = log.lock() {
                    log.push((Instant::now() - start, event.up));
                }
            }
        });
        let task = tokio::spawn(run(0, probe, initial_up, tx, ProbeReporter::default()));
        tokio::time::sleep_until(start + until).await;
        task.abort();
        let _ = collector.await;
        let calls = calls
            .lock()
            .map(|c| c.iter().map(|t| *t - start).collect())
            .unwrap_or_default();
        let events = events.lock().map(|e| e.clone()).unwrap_or_default();
        (calls, events)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_then_down_then_one_success_up() {
        let (calls, events) = drive(
            &[
                Some(true),
                Some(false),
                Some(false),
                Some(false),
                Some(false),
                Some(true),
            ],
            timing(0),
            true,
            secs(40),
        )
        .await;
        // 0: pass; 10: fail; 13, 16: retries (retry 2); down at 16; 26: fail (down: no
        // retry); 36: pass, up.
        assert_eq!(
            calls,
            vec![secs(0), secs(10), secs(13), secs(16), secs(26), secs(36)]
        );
        assert_eq!(events, vec![(secs(16), false), (secs(36), true)]);
    }

    /// Issue 13 (crash isolation): a probe that panics is logged and its loop restarted
    /// 1 s later with the state it had reached; it goes on probing and reports changes
    /// (before, the panic ended the task and the checker never ran again).
    #[tokio::test(start_paused = true)]
    async fn a_panicking_probe_is_restarted_with_its_state() {
        let (calls, events) = drive_panicking(
            &[
                Some(true),
                Some(false),
                Some(false),
                Some(false),
                Some(true),
            ],
            Some(1),
            timing(0),
            true,
            secs(40),
        )
        .await;
        // 0: pass; 10: panics; restarted at 11 (up, as it was): fail; retries at 14 and
        // 17, down at 17; 27: pass, up; 37: probing on.
        assert_eq!(
            calls,
            vec![
                secs(0),
                secs(10),
                secs(11),
                secs(14),
                secs(17),
                secs(27),
                secs(37)
            ]
        );
        assert_eq!(events, vec![(secs(17), false), (secs(27), true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_probe_fails_at_its_hard_timeout() {
        // Hangs twice: each run is cut at connect_timeout 2 s, retried 3 s after.
        let (calls, events) = drive(&[None, None, Some(false)], timing(0), true, secs(15)).await;
        assert_eq!(calls, vec![secs(0), secs(5), secs(10)]);
        assert_eq!(events, vec![(secs(10), false)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_probe_waits_a_random_part_of_warmup() {
        for _ in 0..20 {
            let (calls, events) = drive(&[Some(true)], timing(6), false, secs(7)).await;
            assert_eq!(events.len(), 1, "one success brings it up");
            let first = calls.first().copied().unwrap_or(secs(99));
            assert!(first < secs(6), "first probe at {first:?}");
        }
    }
}
