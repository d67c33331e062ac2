//! Every probe of a checker set on one task: a timer queue says which probe runs next, and
//! the runs in flight are polled together. Each probe's first run comes after a random part
//! of its `warmup`, then its [`Cycle`] decides what the next run probes (HTTP_GET/SSL_GET:
//! which url) and when (after `delay_loop`, or after `delay_before_retry` while a failure
//! is being retried), counted from the end of the previous run as keepalived does. Changes
//! go to the aggregator.
//!
//! One task, not one per probe: with 10,000 real servers a probe's own task cost ≈ 770
//! bytes while it slept (its future, timer and task header), 7.7 MB in all; a sleeping
//! probe here is its [`Slot`] and a queue entry, and a run's state exists only while it
//! runs (issue 14, `kad -C` memory). Tokio polls only the runs that were woken, as it polled
//! only the tasks that were.

use std::{
    borrow::Cow, cmp::Reverse, collections::BinaryHeap, future::Future, panic::AssertUnwindSafe,
    pin::Pin, sync::Arc, time::Duration,
};

use futures::{FutureExt as _, StreamExt as _, stream::FuturesUnordered};
use tokio::{sync::mpsc, time::Instant};

use crate::supervise::{Backoff, Family, inject};

use super::{
    Pass, ProbeError,
    report::ProbeReporter,
    state::{Cycle, ProbeState, Timing},
    suspend::{Activity, LocalAddresses},
};

/// What the scheduler runs: a checker ([`super::probe::Probe`]; tests use scripted ones).
pub trait Runner: Send + Sync + 'static {
    /// One run: for HTTP_GET/SSL_GET the url numbered `step` ([`Cycle::step`]), else the
    /// whole probe (`step` is 0).
    fn run(&self, step: usize) -> impl Future<Output = Result<Pass, ProbeError>> + Send;
    /// Its loop, starting `up` or down: keepalived's common one unless the checker says
    /// otherwise (HTTP_GET/SSL_GET).
    fn cycle(&self, up: bool) -> Cycle {
        Cycle::Single(ProbeState::new(up))
    }
    /// For logs and reasons.
    fn describe(&self) -> String;
    /// Its schedule.
    fn timing(&self) -> Timing;
    /// The longest one probe may take before it counts as failed.
    fn hard_timeout(&self) -> Duration;
    /// keepalived.conf `log_all_failures` / global `checker_log_all_failures`: a failed
    /// probe that is retried is logged (at info); otherwise only the failure that takes the
    /// checker down is.
    fn log_all_failures(&self) -> bool {
        false
    }
    /// keepalived.conf `ha_suspend`: when it runs.
    fn activity(&self) -> Activity {
        Activity::Always
    }
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

/// One probe as the scheduler keeps it between runs.
pub struct Slot<P> {
    /// Its index in the plan (events carry it).
    index: usize,
    /// The checker (shared with its run while one is in flight).
    probe: Arc<P>,
    state: Cycle,
    /// The weight it last asked for.
    weight: Option<i32>,
    /// Where each run's outcome goes (for `kad status`).
    report: ProbeReporter,
    /// Set once it has panicked: the pause before its next restart.
    backoff: Option<Box<Backoff>>,
    /// In the timer queue or running (false only between a run's end and its next
    /// scheduling, which a panic of the scheduler itself could interrupt).
    queued: bool,
    /// It probes (false while suspended: keepalived.conf `ha_suspend`).
    active: bool,
}

impl<P: Runner> Slot<P> {
    /// Probe `index` of the plan, starting `up` or down.
    pub fn new(index: usize, probe: P, up: bool, report: ProbeReporter) -> Self {
        let state = probe.cycle(up);
        Self {
            index,
            probe: Arc::new(probe),
            state,
            weight: None,
            report,
            backoff: None,
            queued: true,
            active: true,
        }
    }
}

impl<P> Slot<P> {
    /// The probe's state was kept across a reload ([`Cycle::carried_over`]).
    pub fn carried_over(mut self) -> Self {
        self.state.carried_over();
        self
    }
}

/// A run's end: the probe's result, or the panic that ended it.
type RunEnd = Result<Result<Pass, ProbeError>, Box<dyn std::any::Any + Send>>;

/// A run in flight: which slot, and the run (boxed: it exists only while it runs).
type Running = Pin<Box<dyn Future<Output = (usize, RunEnd)> + Send>>;

/// Runs every slot's probe until the task is aborted or the aggregator is gone; each run
/// is cut at its probe's hard timeout, so a hung server or script only ever holds its own
/// run. A panic in a probe ends that run only: it is logged, and the probe starts again
/// after a pause ([`Backoff`]) from the state it had reached, while the others go on.
///
/// keepalived.conf `ha_suspend`: a probe whose [`Activity`] depends on the host's
/// `addresses` runs only while it is active; suspended, it looks again every `delay_loop`
/// (as keepalived's disabled checker does) and its state stays as it was.
pub async fn run_all<P: Runner>(
    mut slots: Vec<Slot<P>>,
    events: mpsc::UnboundedSender<ProbeEvent>,
    mut addresses: Option<LocalAddresses>,
) {
    {
        let local = addresses.as_mut().map(|rx| rx.borrow_and_update().clone());
        for slot in &mut slots {
            let activity = slot.probe.activity();
            if activity.is_suspendable() {
                slot.active = activity.is_active(local.as_ref());
                log_activity(slot, "Deactivating");
            }
        }
    }
    let now = Instant::now();
    let mut due = BinaryHeap::with_capacity(slots.len());
    for (at, slot) in slots.iter().enumerate() {
        due.push(Reverse((
            now + slot.probe.timing().first_delay(fastrand::f64()),
            at,
        )));
    }
    let mut scheduler = Scheduler {
        slots,
        due,
        running: FuturesUnordered::new(),
        events,
        addresses,
    };
    // A panic of the scheduler's own code (not of a probe's run, caught below) restarts it
    // with every probe's state; a probe whose next run it had not yet queued is queued.
    let mut backoff = Backoff::default();
    loop {
        backoff.run_started(Instant::now());
        let Err(panic) = AssertUnwindSafe(scheduler.run()).catch_unwind().await else {
            return;
        };
        let delay = backoff.after_panic(Family::Checker, &"checker scheduler", panic.as_ref());
        tokio::time::sleep(delay).await;
        scheduler.requeue_lost();
    }
}

/// One probe on its own ([`run_all`] with one slot): tests, and what a probe's loop was.
pub async fn run<P: Runner>(
    index: usize,
    probe: P,
    initial_up: bool,
    events: mpsc::UnboundedSender<ProbeEvent>,
    report: ProbeReporter,
) {
    run_all(
        vec![Slot::new(index, probe, initial_up, report)],
        events,
        None,
    )
    .await;
}

struct Scheduler<P> {
    slots: Vec<Slot<P>>,
    /// When each sleeping slot runs next (slot positions, earliest first).
    due: BinaryHeap<Reverse<(Instant, usize)>>,
    running: FuturesUnordered<Running>,
    events: mpsc::UnboundedSender<ProbeEvent>,
    /// The host's addresses, for `ha_suspend` (`None`: no probe depends on them, or their
    /// watch has ended).
    addresses: Option<LocalAddresses>,
}

impl<P: Runner> Scheduler<P> {
    async fn run(&mut self) {
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut now = Instant::now();
        loop {
            while let Some(&Reverse((at, slot))) = self.due.peek() {
                if at > now {
                    break;
                }
                self.due.pop();
                self.start(slot, now);
            }
            let next = self.due.peek().map(|&Reverse((at, _))| at);
            if let Some(at) = next
                && timer.deadline() != at
            {
                timer.as_mut().reset(at);
            }
            tokio::select! {
                biased;
                Some((slot, end)) = self.running.next(), if !self.running.is_empty() => {
                    // One clock read for every run that has ended by now (a clock read is
                    // a system call where the vDSO is missing, as under User-Mode Linux).
                    now = Instant::now();
                    if !self.finish(slot, end, now) {
                        return;
                    }
                    while let Some(Some((slot, end))) = self.running.next().now_or_never() {
                        if !self.finish(slot, end, now) {
                            return;
                        }
                    }
                }
                () = &mut timer, if next.is_some() => now = Instant::now(),
                changed = address_change(&mut self.addresses) => {
                    if changed {
                        self.follow_addresses();
                    } else {
                        // The watch ended: every probe keeps its activity.
                        self.addresses = None;
                    }
                }
                else => return,
            }
        }
    }

    /// Queues now every slot neither queued nor running.
    fn requeue_lost(&mut self) {
        let now = Instant::now();
        for (at, slot) in self.slots.iter_mut().enumerate() {
            if !slot.queued {
                slot.queued = true;
                self.due.push(Reverse((now, at)));
            }
        }
    }

    /// keepalived.conf `ha_suspend`: the host's addresses changed; each probe that depends
    /// on them is activated or suspended.
    fn follow_addresses(&mut self) {
        let Some(addresses) = &mut self.addresses else {
            return;
        };
        let local = addresses.borrow_and_update();
        for slot in &mut self.slots {
            let activity = slot.probe.activity();
            if !activity.is_suspendable() {
                continue;
            }
            let active = activity.is_active(Some(&local));
            if active != slot.active {
                slot.active = active;
                log_activity(slot, "Suspending");
            }
        }
    }

    /// Starts a run of slot `at`; a suspended one (`ha_suspend`) only looks again after
    /// its `delay_loop`.
    fn start(&mut self, at: usize, now: Instant) {
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        if !slot.active {
            let again = slot.probe.timing().delay_loop.max(Duration::from_millis(1));
            self.due.push(Reverse((now + again, at)));
            return;
        }
        if let Some(backoff) = &mut slot.backoff {
            backoff.run_started(now);
        }
        let probe = Arc::clone(&slot.probe);
        let step = slot.state.step();
        // The hard limit counted from the loop's clock read (no read of its own).
        let limit = now + probe.hard_timeout();
        let run = async move {
            if inject::take_armed(Family::Checker) {
                panic!("test hook: injected Checker panic");
            }
            match tokio::time::timeout_at(limit, probe.run(step)).await {
                Ok(result) => result,
                Err(_) => Err(ProbeError::Timeout("probe")),
            }
        };
        self.running.push(Box::pin(
            AssertUnwindSafe(run)
                .catch_unwind()
                .map(move |end| (at, end)),
        ));
    }

    /// A run of slot `at` ended: updates its state, reports, schedules its next run.
    /// Returns false when the aggregator is gone.
    fn finish(&mut self, at: usize, end: RunEnd, now: Instant) -> bool {
        let Some(slot) = self.slots.get_mut(at) else {
            return true;
        };
        slot.queued = false;
        let next_in = match end {
            Ok(result) => match judge(slot, result, &self.events) {
                Some(next_in) => next_in,
                None => return false,
            },
            Err(panic) => {
                // Restarted from the state it had reached: up or down, no retry spent
                // (HTTP_GET/SSL_GET: at the same url).
                if let Cycle::Single(state) = &mut slot.state {
                    *state = ProbeState::new(state.is_up());
                }
                let what = slot.probe.describe();
                slot.backoff.get_or_insert_default().after_panic(
                    Family::Checker,
                    &what,
                    panic.as_ref(),
                )
            }
        };
        slot.queued = true;
        self.due.push(Reverse((now + next_in, at)));
        true
    }
}

/// Waits for the next change of the host's addresses: true on a change, false when the
/// watch has ended; pending forever without one.
async fn address_change(addresses: &mut Option<LocalAddresses>) -> bool {
    match addresses {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Logs a probe's activity as keepalived does: "Activating healthchecker …" or
/// `inactive` ("Suspending", "Deactivating") "healthchecker …".
fn log_activity<P: Runner>(slot: &Slot<P>, inactive: &str) {
    let check = slot.probe.describe();
    let why = match slot.probe.activity() {
        Activity::WhileLocal(addr) if slot.active => format!("{addr} is local"),
        Activity::WhileLocal(addr) => format!("{addr} is not local"),
        _ => "a virtual_server group's address is never matched".to_owned(),
    };
    let verb = if slot.active { "Activating" } else { inactive };
    tracing::info!(check = %check, "{verb} healthchecker for {check}: {why} (ha_suspend)");
}

/// What one run's `result` does to `slot`: its state, weight, report, log lines and the
/// event for the aggregator when something changed. Returns when to run it next (from
/// now), or None when the aggregator is gone.
fn judge<P: Runner>(
    slot: &mut Slot<P>,
    result: Result<Pass, ProbeError>,
    events: &mpsc::UnboundedSender<ProbeEvent>,
) -> Option<Duration> {
    let state = &mut slot.state;
    let timing = slot.probe.timing();
    let step = match &result {
        Ok(_) => state.passed(&timing),
        Err(_) => state.failed(&timing),
    };
    let asked = result.as_ref().ok().and_then(|pass| pass.weight);
    let weight_changed = asked.is_some() && asked != slot.weight;
    if asked.is_some() {
        slot.weight = asked;
    }
    // The outcome in words; a passing probe (nearly every probe) allocates nothing, and
    // the log line is only built when it is logged or sent.
    let outcome: Cow<'static, str> = match &result {
        Ok(_) => match asked {
            Some(w) => format!("passed (weight {w})").into(),
            None => "passed".into(),
        },
        Err(err) => err.to_string().into(),
    };
    slot.report.record(state.is_up(), result.is_ok(), &outcome);
    let probe = &slot.probe;
    let reason = || format!("{}: {outcome}", probe.describe());
    match (&result, step.retrying) {
        (Err(_), true) if probe.log_all_failures() => {
            tracing::info!(check = %probe.describe(), "{}; retrying", reason())
        }
        (Err(_), true) => tracing::debug!(check = %probe.describe(), "{}; retrying", reason()),
        (Err(_), false) => tracing::debug!(check = %probe.describe(), "{}", reason()),
        (Ok(_), _) => tracing::trace!(check = %probe.describe(), "{}", reason()),
    }
    if step.changed.is_some() || (state.is_up() && weight_changed) {
        let reason = reason();
        if let Some(up) = step.changed {
            tracing::info!(check = %probe.describe(), up, "{reason}");
        }
        let event = ProbeEvent {
            probe: slot.index,
            up: state.is_up(),
            weight: slot.weight,
            asked,
            reason,
        };
        if events.send(event).is_err() {
            return None;
        }
    }
    Some(step.next_in)
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
        activity: Activity,
    }

    impl Runner for Scripted {
        fn run(&self, _: usize) -> impl Future<Output = Result<Pass, ProbeError>> + Send {
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
        fn activity(&self) -> Activity {
            self.activity
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
            activity: Activity::Always,
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
            // Within warmup; tokio rounds a deadline up to its 1 ms tick, so a jitter within
            // 1 ms of the end fires at the end itself.
            assert!(first <= secs(6), "first probe at {first:?}");
        }
    }

    /// keepalived.conf `ha_suspend`: a suspended probe never runs; once its address is
    /// local it runs from its next look (every `delay_loop`), and stops when it goes.
    #[tokio::test(start_paused = true)]
    async fn a_suspended_probe_runs_only_while_its_address_is_local() {
        use std::{collections::HashSet, net::IpAddr};
        let vip: IpAddr = [10, 0, 0, 100].into();
        let start = Instant::now();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let probe = Scripted {
            results: Mutex::new(vec![Some(true); 10].into()),
            calls: calls.clone(),
            timing: timing(0),
            panic_at: None,
            activity: Activity::WhileLocal(vip),
        };
        let (local, addresses) = tokio::sync::watch::channel(HashSet::new());
        let (tx, _rx) = mpsc::unbounded_channel::<ProbeEvent>();
        let slot = Slot::new(0, probe, true, ProbeReporter::default());
        let task = tokio::spawn(run_all(vec![slot], tx, Some(addresses)));
        // Looks at 0, 10, 20: suspended.
        tokio::time::sleep_until(start + secs(25)).await;
        local.send_replace(HashSet::from([vip]));
        // Runs at 30 and 40.
        tokio::time::sleep_until(start + secs(45)).await;
        local.send_replace(HashSet::new());
        // Looks at 50 and 60: suspended again.
        tokio::time::sleep_until(start + secs(65)).await;
        task.abort();
        let calls: Vec<Duration> = calls
            .lock()
            .map(|c| c.iter().map(|t| *t - start).collect())
            .unwrap_or_default();
        assert_eq!(calls, vec![secs(30), secs(40)]);
    }
}
