//! Crash isolation inside one process. keepalived runs VRRP and the checkers in separate
//! processes so that a checker fault cannot stop VRRP; kad runs them as tasks of one tokio
//! runtime, and a panic in a task unwinds that task only (the release profile keeps
//! `panic = "unwind"`: `abort` would take the whole daemon down). This module makes the
//! checker and tracker tasks come back after such a panic: [`supervise`] runs a task,
//! logs its panic with the task's name, and starts it again after a pause that doubles
//! with each panic in a row (1 s up to 60 s), so a task that panics on every run costs one
//! log line a minute, not a busy loop.
//!
//! The protocol loop itself is not supervised: a panic there is a bug that stops VRRP,
//! and the daemon exits non-zero so that the service manager restarts it.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use futures::FutureExt as _;

/// First pause before a restart.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest pause before a restart.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A task that ran this long without panicking starts again from [`FIRST_DELAY`].
const CALM: Duration = Duration::from_secs(300);

/// Restarts after a panic since the process started, all supervised tasks together.
static RESTARTS: AtomicU64 = AtomicU64::new(0);

/// How many times a supervised task was restarted after a panic since the daemon started.
pub fn restarts() -> u64 {
    RESTARTS.load(Ordering::Relaxed)
}

/// Replaces the default panic hook (once per process) by one that logs the panic as one
/// `tracing` error line (thread, message, location) and nothing more. The default hook,
/// with `RUST_BACKTRACE` set, symbolises a backtrace on the panicking thread: measured
/// here, a checker's panic then stalled the protocol loop (same thread) for 300 ms, ten
/// advert intervals at 10 ms. Called when the daemon and when the VRRP runtime start.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let thread = std::thread::current();
            tracing::error!(thread = thread.name().unwrap_or("unnamed"), "panic: {info}");
        }));
    });
}

/// Which family a supervised task belongs to (for logs and the test hook).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// A health checker's probe loop (`check::schedule`).
    Checker,
    /// A tracked object's watcher (`vrrp_script`, `track_file`, `vrrp_track_process`).
    Tracker,
}

impl Family {
    fn word(self) -> &'static str {
        match self {
            Family::Checker => "checker",
            Family::Tracker => "tracker",
        }
    }
}

/// Runs `start(run)` (`run` counts from 0) until it returns (or the supervisor is
/// dropped, with its task); after a panic, logs it (`family`, `name`) and calls `start`
/// again. `start` is where the caller hands the new run what the old one knew (a checker's
/// last state, say). The run is polled in place (no task of its own), so supervision costs
/// a checker no extra task.
pub async fn supervise<F, Fut>(family: Family, name: impl std::fmt::Display, mut start: F)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut backoff = Backoff::default();
    for run in 0.. {
        backoff.run_started(tokio::time::Instant::now());
        let outcome = AssertUnwindSafe(inject::wrap(family, start(run)))
            .catch_unwind()
            .await;
        let Err(panic) = outcome else {
            return;
        };
        let delay = backoff.after_panic(family, &name, panic.as_ref());
        tokio::time::sleep(delay).await;
    }
}

/// The pause before a panicked run starts again: 1 s, doubling with each panic in a row up
/// to 60 s, back to 1 s once a run has lasted 5 minutes. [`supervise`] keeps one per task;
/// the checkers' scheduler one per probe that has panicked.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    delay: Duration,
    started: Option<tokio::time::Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            delay: FIRST_DELAY,
            started: None,
        }
    }
}

impl Backoff {
    /// A run starts (its length decides whether the next panic counts as "in a row").
    pub fn run_started(&mut self, at: tokio::time::Instant) {
        self.started = Some(at);
    }

    /// Logs `panic` of the run of `name` (`family`), counts it in [`restarts`] and returns
    /// how long to wait before the next run.
    pub fn after_panic(
        &mut self,
        family: Family,
        name: &dyn std::fmt::Display,
        panic: &(dyn std::any::Any + Send),
    ) -> Duration {
        if self.started.is_some_and(|at| at.elapsed() >= CALM) {
            self.delay = FIRST_DELAY;
        }
        let delay = self.delay;
        RESTARTS.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            task = family.word(),
            name = %name,
            panic = %panic_message(panic),
            restart_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "task panicked; restarting it (the rest of kad is unaffected)"
        );
        self.delay = (delay * 2).min(MAX_DELAY);
        delay
    }
}

/// A panic's message (`panic!` with a literal or with a format).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Test-only fault injection (cargo feature `test-hooks`, which the lab tests enable and no
/// release or package build does): `inject::arm` makes the next supervised task of a
/// family panic. Without the feature, `inject::wrap` is the task itself and nothing can
/// make a task panic.
pub mod inject {
    use std::future::Future;

    use super::Family;

    #[cfg(feature = "test-hooks")]
    static ARMED: [std::sync::atomic::AtomicU32; 2] = [
        std::sync::atomic::AtomicU32::new(0),
        std::sync::atomic::AtomicU32::new(0),
    ];

    #[cfg(feature = "test-hooks")]
    fn slot(family: Family) -> &'static std::sync::atomic::AtomicU32 {
        match family {
            Family::Checker => &ARMED[0],
            Family::Tracker => &ARMED[1],
        }
    }

    /// Makes `count` running (or next started) supervised tasks of `family` panic, each
    /// within 50 ms.
    #[cfg(feature = "test-hooks")]
    pub fn arm(family: Family, count: u32) {
        slot(family).fetch_add(count, std::sync::atomic::Ordering::SeqCst);
    }

    /// Takes one armed panic of `family`, if any.
    #[cfg(feature = "test-hooks")]
    fn take(family: Family) -> bool {
        slot(family)
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
    }

    /// The task, raced against an armed panic.
    #[cfg(feature = "test-hooks")]
    pub(super) async fn wrap(family: Family, task: impl Future<Output = ()>) {
        // Boxed, so that the hook adds a pointer, not its timer, to every supervised task
        // (check::probe's task-size test runs with this feature on in the workspace build).
        let hook = Box::pin(async {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if take(family) {
                    panic!("test hook: injected {family:?} panic");
                }
            }
        });
        tokio::select! {
            () = task => {}
            () = hook => {}
        }
    }

    /// Whether a run of `family` that starts now is to panic (an armed panic, taken):
    /// the checkers' scheduler asks it at each probe run.
    #[cfg(feature = "test-hooks")]
    pub fn take_armed(family: Family) -> bool {
        take(family)
    }

    /// Never (no `test-hooks`).
    #[cfg(not(feature = "test-hooks"))]
    pub fn take_armed(_family: Family) -> bool {
        false
    }

    /// The task as it is (no `test-hooks`).
    #[cfg(not(feature = "test-hooks"))]
    pub(super) fn wrap(
        _family: Family,
        task: impl Future<Output = ()>,
    ) -> impl Future<Output = ()> {
        task
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_with_a_growing_pause() {
        let runs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&runs);
        let before = restarts();
        let supervisor = tokio::spawn(supervise(Family::Checker, "test", move |run| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < 3 {
                    panic!("run {run} fails");
                }
                std::future::pending::<()>().await;
            }
        }));
        // Panics at 0, then restarts after 1 s, 2 s and 4 s.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            4,
            "the fourth run keeps running"
        );
        assert!(restarts() >= before + 3);
        supervisor.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn aborting_the_supervisor_drops_its_task() {
        let alive = Arc::new(());
        let held = Arc::clone(&alive);
        let supervisor = tokio::spawn(supervise(Family::Tracker, "test", move |_| {
            let held = Arc::clone(&held);
            async move {
                let _held = held;
                std::future::pending::<()>().await;
            }
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(Arc::strong_count(&alive), 3);
        supervisor.abort();
        let _ = supervisor.await;
        tokio::task::yield_now().await;
        assert_eq!(
            Arc::strong_count(&alive),
            1,
            "the task went with its supervisor"
        );
    }

    /// The panic policy rests on unwinding: `panic = "abort"` in a profile would turn any
    /// checker's panic into the whole daemon's death.
    #[test]
    fn no_profile_aborts_on_panic() {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        assert!(text.contains("[workspace]"), "{}", manifest.display());
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
            } else if line.replace(' ', "").starts_with("panic=\"abort\"") {
                // The eBPF program cannot unwind; the daemon must.
                assert!(
                    section.contains("kad-ebpf"),
                    "{section} sets panic = \"abort\""
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_is_not_restarted() {
        let runs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&runs);
        supervise(Family::Checker, "test", move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
