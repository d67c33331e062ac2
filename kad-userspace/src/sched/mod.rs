//! keepalived.conf's process scheduling keywords (global_defs `vrrp_priority`,
//! `vrrp_rt_priority`, `vrrp_no_swap`, `vrrp_cpu_affinity`, `vrrp_rlimit_rttime`, their
//! `checker_*` twins, `max_auto_priority`, `min_auto_priority_delay`) applied to the kad
//! process as keepalived 2.2.7 applies them to its VRRP or checker child: once the
//! subsystem runs, undone while a reload runs and applied again after it; a failing call
//! is a warning. Which keywords apply is [`Role`]'s; `bfd_*` apply to the BFD thread alone
//! ([`ThreadScheduling`]), which the process-wide calls then leave alone.
//!
//! kad is one process: the realtime policy is the runtime thread's (the VRRP loop's, with
//! every task on it; threads started later do not inherit it, `SCHED_RESET_ON_FORK`), the
//! nice value and CPU affinity every thread's, the memory lock and RLIMIT_RTTIME the
//! process's. Scripts start with the nice value and RLIMIT_RTTIME kad had before.

mod auto;
mod process;
mod settings;
mod thread;

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::sync::watch;

pub use process::{Original, SchedError, for_children, online_cpus};
pub use settings::{Role, Settings, SettingsError};
pub use thread::ThreadScheduling;

/// The process's scheduling, shared by the daemon's start, its reloads and the
/// `max_auto_priority` watchdog.
#[derive(Clone, Debug)]
pub struct Scheduling {
    state: Arc<Mutex<State>>,
    watch: Arc<watch::Sender<Option<auto::Watch>>>,
}

#[derive(Debug)]
struct State {
    process: process::Process,
    /// Whether settings were applied (the start's or a reload's).
    applied: bool,
    /// Whether SIGXCPU is handled (installed with the first RLIMIT_RTTIME).
    sigxcpu: bool,
}

impl Scheduling {
    /// Records the process's scheduling as it is and starts the watchdog of
    /// `max_auto_priority` (idle until settings enable it). Needs the tokio runtime.
    pub fn start() -> Self {
        let (watch, rx) = watch::channel(None);
        let scheduling = Self {
            state: Arc::new(Mutex::new(State {
                process: process::Process::new(),
                applied: false,
                sigxcpu: false,
            })),
            watch: Arc::new(watch),
        };
        let raiser = scheduling.clone();
        tokio::spawn(auto::run(rx, move |late| raiser.raise(late)));
        scheduling
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `settings` at start, unless a reload already applied its own.
    pub fn apply_at_start(&self, settings: &Settings) {
        if !self.lock().applied {
            self.apply(settings);
        }
    }

    /// Applies `settings` (keepalived: at the end of starting or reloading a subsystem).
    pub fn apply(&self, settings: &Settings) {
        let mut state = self.lock();
        state.applied = true;
        for err in state.process.apply(settings) {
            tracing::warn!(error = %err, "process scheduling");
        }
        if !settings.is_default() {
            tracing::info!(
                nice = ?settings.nice.filter(|_| settings.rt_priority.is_none()),
                rt_priority = ?state.process.rt_priority,
                no_swap = settings.no_swap,
                cpus = ?settings.cpus,
                max_auto_priority = settings.max_auto_priority,
                "process scheduling set"
            );
        }
        self.handle_sigxcpu(&mut state);
        let watch = (settings.max_auto_priority > 0).then_some(auto::Watch {
            delay: settings.min_auto_priority_delay,
        });
        self.watch.send_if_modified(|current| {
            let changed = *current != watch;
            *current = watch;
            changed
        });
    }

    /// Standard scheduling while a reload runs (keepalived: "Use standard scheduling
    /// while reloading"), so that re-reading a large configuration is not killed by
    /// RLIMIT_RTTIME.
    pub fn standard(&self) {
        let mut state = self.lock();
        for err in state.process.reset() {
            tracing::warn!(error = %err, "process scheduling");
        }
    }

    /// The watchdog saw the runtime `late`: one realtime priority higher, up to
    /// `max_auto_priority` (keepalived's `increment_process_priority`).
    fn raise(&self, late: Duration) {
        let mut state = self.lock();
        let process = &mut state.process;
        let Some(priority) = auto::next_rt_priority(process.rt_priority, process.max_auto_priority)
        else {
            return;
        };
        tracing::info!(late = ?late, "a timer ran late");
        match process.realtime(priority) {
            Ok(()) => tracing::info!(rt_priority = priority, "realtime priority set"),
            Err(err) => tracing::warn!(error = %err, "process scheduling"),
        }
        self.handle_sigxcpu(&mut state);
    }

    /// With RLIMIT_RTTIME set, SIGXCPU at the soft limit is logged instead of ending kad
    /// (keepalived's handler); the hard limit still kills it.
    fn handle_sigxcpu(&self, state: &mut State) {
        if state.sigxcpu || !state.process.rttime_set() {
            return;
        }
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::from_raw(libc::SIGXCPU)) {
            Ok(mut sigxcpu) => {
                state.sigxcpu = true;
                tokio::spawn(async move {
                    while sigxcpu.recv().await.is_some() {
                        tracing::warn!(
                            "kad has used too much CPU time at realtime priority; \
                             vrrp_rlimit_rttime (checker_rlimit_rttime with only checkers) \
                             may need to be increased"
                        );
                    }
                });
            }
            Err(err) => tracing::warn!(error = %err, "cannot handle SIGXCPU"),
        }
    }
}
