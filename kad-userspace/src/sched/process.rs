//! The system calls behind the scheduling keywords, as keepalived 2.2.7 makes them
//! (`lib/process.c`): `setpriority`, `sched_setscheduler(SCHED_RR | SCHED_RESET_ON_FORK)`,
//! `setrlimit(RLIMIT_RTTIME)`, `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`,
//! `sched_setaffinity`; and their undoing for a reload. A failing call is logged as a
//! warning by the caller and changes nothing else, as in keepalived.

use std::{
    io,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

use super::Settings;

/// Linux `SCHED_RESET_ON_FORK` (uapi/linux/sched.h; not in the libc crate for glibc):
/// children (scripts, and threads started later) do not inherit the realtime policy.
const SCHED_RESET_ON_FORK: libc::c_int = 0x4000_0000;

/// A scheduling call that failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    /// `setpriority(PRIO_PROCESS)`.
    #[error("cannot set the nice value to {nice}: {source}")]
    Nice {
        /// The value asked for.
        nice: i32,
        /// The system's answer.
        source: io::Error,
    },
    /// `sched_setscheduler(SCHED_RR)`.
    #[error("cannot switch to realtime scheduling (SCHED_RR) at priority {priority}: {source}")]
    Realtime {
        /// The priority asked for.
        priority: u32,
        /// The system's answer.
        source: io::Error,
    },
    /// `sched_setscheduler(SCHED_OTHER)`.
    #[error("cannot switch back to standard scheduling: {source}")]
    Standard {
        /// The system's answer.
        source: io::Error,
    },
    /// `setrlimit(RLIMIT_RTTIME)`.
    #[error("cannot set RLIMIT_RTTIME: {source}")]
    RtTime {
        /// The system's answer.
        source: io::Error,
    },
    /// `mlockall`.
    #[error("cannot lock the process in memory: {source}")]
    Lock {
        /// The system's answer.
        source: io::Error,
    },
    /// `sched_setaffinity`.
    #[error("cannot set the CPU affinity to {cpus:?}: {source}")]
    Affinity {
        /// The CPUs asked for.
        cpus: Vec<usize>,
        /// The system's answer.
        source: io::Error,
    },
}

/// What the process had before kad changed it: what scripts are started with.
#[derive(Clone, Copy, Debug)]
pub struct Original {
    nice: i32,
    rttime: libc::rlimit,
}

static ORIGINAL: OnceLock<Original> = OnceLock::new();
/// Threads with scheduling of their own (kad's BFD thread, `bfd_*`): the process-wide
/// nice value and CPU affinity (`vrrp_*`, `checker_*`) leave them alone.
static OWN_THREADS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// Marks the calling thread as scheduled on its own (see [`OWN_THREADS`]); its id.
pub(super) fn own_thread() -> libc::pid_t {
    // SAFETY: gettid(2) takes no argument.
    let tid = unsafe { libc::gettid() };
    if let Ok(mut own) = OWN_THREADS.lock() {
        own.push(tid);
    }
    tid
}

/// Undoes [`own_thread`] (the thread is ending).
pub(super) fn release_thread(tid: libc::pid_t) {
    if let Ok(mut own) = OWN_THREADS.lock() {
        own.retain(|t| *t != tid);
    }
}

/// The calling process's nice value as it was before kad changed it.
pub(super) fn original_nice() -> i32 {
    ORIGINAL.get_or_init(Original::read).nice
}
/// Whether kad runs with a nice value or RLIMIT_RTTIME its scripts must not inherit.
static CHANGED: AtomicBool = AtomicBool::new(false);

impl Original {
    fn read() -> Self {
        // SAFETY: getpriority(2) and getrlimit(2) on the calling process; `rttime` is a
        // valid rlimit for the kernel to fill.
        unsafe {
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
            let mut rttime = libc::rlimit {
                rlim_cur: libc::RLIM_INFINITY,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::getrlimit(libc::RLIMIT_RTTIME, &mut rttime);
            Self { nice, rttime }
        }
    }

    /// Puts the nice value and RLIMIT_RTTIME back; for a child between fork and exec, so
    /// only async-signal-safe calls (keepalived resets its priorities in every script
    /// child; the realtime policy is already reset by `SCHED_RESET_ON_FORK`).
    pub fn restore_in_child(&self) {
        // SAFETY: setpriority(2) and setrlimit(2) on the calling process, with values
        // read from it; both are plain system calls, safe between fork and exec.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, self.nice);
            libc::setrlimit(libc::RLIMIT_RTTIME, &self.rttime);
        }
    }
}

/// What scripts must be reset to, when kad runs with a nice value or RLIMIT_RTTIME of the
/// configuration's (None otherwise: scripts inherit nothing of kad's scheduling).
pub fn for_children() -> Option<Original> {
    CHANGED
        .load(Ordering::Relaxed)
        .then(|| ORIGINAL.get().copied())
        .flatten()
}

/// The process's scheduling state as kad set it.
#[derive(Debug)]
pub(super) struct Process {
    original: Original,
    /// The SCHED_RR priority in force (None: SCHED_OTHER).
    pub rt_priority: Option<u32>,
    /// RLIMIT_RTTIME was set by kad.
    rttime_set: bool,
    /// The nice value was set by kad.
    nice_set: bool,
    /// `mlockall` is in force.
    locked: bool,
    /// RLIMIT_RTTIME's hard limit (µs) for when the process goes realtime.
    pub rlimit_rttime_us: u64,
    /// `max_auto_priority`.
    pub max_auto_priority: u32,
}

impl Process {
    /// Records what the process has now (once per process: the first call's values are
    /// what scripts get back).
    pub fn new() -> Self {
        let original = *ORIGINAL.get_or_init(Original::read);
        Self {
            original,
            rt_priority: None,
            rttime_set: false,
            nice_set: false,
            locked: false,
            rlimit_rttime_us: super::settings::DEFAULT_RLIMIT_RTTIME_US,
            max_auto_priority: 0,
        }
    }

    /// Whether RLIMIT_RTTIME is in force (SIGXCPU then warns of the soft limit).
    pub fn rttime_set(&self) -> bool {
        self.rttime_set
    }

    /// keepalived's `set_process_priorities` then `set_process_cpu_affinity`: realtime
    /// at `rt_priority` with its RLIMIT_RTTIME, else the nice value; memory locked; the
    /// CPU affinity. Returns the calls that failed.
    pub fn apply(&mut self, settings: &Settings) -> Vec<SchedError> {
        let mut errors = Vec::new();
        self.rlimit_rttime_us = settings.rlimit_rttime_us;
        self.max_auto_priority = settings.max_auto_priority;
        if let Some(priority) = settings.rt_priority {
            if let Err(err) = self.realtime(priority) {
                errors.push(err);
            }
        } else if let Some(nice) = settings.nice {
            match set_nice(nice) {
                Ok(()) => self.nice_set = true,
                Err(err) => errors.push(err),
            }
        }
        if settings.no_swap && !self.locked {
            match lock_memory() {
                Ok(()) => self.locked = true,
                Err(err) => errors.push(err),
            }
        }
        if !settings.cpus.is_empty()
            && let Err(err) = set_affinity(&settings.cpus)
        {
            errors.push(err);
        }
        self.mark_changed();
        errors
    }

    /// SCHED_RR at `priority`, then RLIMIT_RTTIME (soft half the hard limit, so that
    /// SIGXCPU warns before SIGKILL) unless already set.
    pub fn realtime(&mut self, priority: u32) -> Result<(), SchedError> {
        // The calling thread: the runtime's, which runs the VRRP loop.
        set_realtime(priority)?;
        self.rt_priority = Some(priority);
        if !self.rttime_set {
            let limit = libc::rlimit {
                rlim_cur: self.rlimit_rttime_us / 2,
                rlim_max: self.rlimit_rttime_us,
            };
            // SAFETY: setrlimit(2) with a valid rlimit.
            if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limit) } != 0 {
                return Err(SchedError::RtTime {
                    source: io::Error::last_os_error(),
                });
            }
            self.rttime_set = true;
            self.mark_changed();
        }
        Ok(())
    }

    /// keepalived's `reset_process_priorities` (done before a reload): standard
    /// scheduling, the original nice value and RLIMIT_RTTIME, memory unlocked. The CPU
    /// affinity stays, as keepalived leaves it.
    pub fn reset(&mut self) -> Vec<SchedError> {
        let mut errors = Vec::new();
        if self.rt_priority.is_some() {
            match set_standard() {
                Ok(()) => self.rt_priority = None,
                Err(err) => errors.push(err),
            }
        }
        if self.rttime_set {
            // Raising the hard limit back needs CAP_SYS_RESOURCE; without it the lowered
            // limit stays, harmless under SCHED_OTHER, and the next realtime switch sets
            // the configuration's again.
            self.rttime_set = false;
            // SAFETY: setrlimit(2) with the rlimit read at start.
            if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &self.original.rttime) } != 0 {
                errors.push(SchedError::RtTime {
                    source: io::Error::last_os_error(),
                });
            }
        }
        if self.nice_set {
            match set_nice(self.original.nice) {
                Ok(()) => self.nice_set = false,
                Err(err) => errors.push(err),
            }
        }
        if self.locked {
            // SAFETY: munlockall(2) takes no argument.
            unsafe { libc::munlockall() };
            self.locked = false;
        }
        self.mark_changed();
        errors
    }

    fn mark_changed(&self) {
        CHANGED.store(self.nice_set || self.rttime_set, Ordering::Relaxed);
    }
}

/// The process's threads: the runtime's and those kad started (control socket readers,
/// the process connector).
fn threads() -> Vec<libc::pid_t> {
    let own = OWN_THREADS
        .lock()
        .map(|own| own.clone())
        .unwrap_or_default();
    let tids: Vec<libc::pid_t> = std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .filter(|tid| !own.contains(tid))
                .collect()
        })
        .unwrap_or_default();
    if tids.is_empty() { vec![0] } else { tids }
}

/// The nice value of every thread (Linux keeps one per thread; keepalived's VRRP process
/// has one thread).
fn set_nice(nice: i32) -> Result<(), SchedError> {
    for tid in threads() {
        // A thread that has ended is no error.
        match set_thread_nice(tid, nice) {
            Err(SchedError::Nice { source, .. }) if source.raw_os_error() == Some(libc::ESRCH) => {}
            other => other?,
        }
    }
    Ok(())
}

/// The CPU affinity of every thread.
fn set_affinity(cpus: &[usize]) -> Result<(), SchedError> {
    for tid in threads() {
        // A thread that has ended is no error.
        match set_thread_affinity(tid, cpus) {
            Err(SchedError::Affinity { source, .. })
                if source.raw_os_error() == Some(libc::ESRCH) => {}
            other => other?,
        }
    }
    Ok(())
}

/// SCHED_RR at `priority` for the calling thread (not inherited: `SCHED_RESET_ON_FORK`).
pub(super) fn set_realtime(priority: u32) -> Result<(), SchedError> {
    let param = libc::sched_param {
        sched_priority: i32::try_from(priority).unwrap_or(i32::MAX),
    };
    // SAFETY: sched_setscheduler(2) on the calling thread (pid 0) with a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | SCHED_RESET_ON_FORK, &param) } != 0 {
        return Err(SchedError::Realtime {
            priority,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The standard policy for the calling thread.
pub(super) fn set_standard() -> Result<(), SchedError> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler(2) on the calling thread with a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) } != 0 {
        return Err(SchedError::Standard {
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The nice value of thread `tid` (0: the calling one).
pub(super) fn set_thread_nice(tid: libc::pid_t, nice: i32) -> Result<(), SchedError> {
    // SAFETY: setpriority(2) on a thread of this process; errno is cleared first because
    // -1 is also a valid priority.
    let failed = unsafe {
        *libc::__errno_location() = 0;
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == -1
    };
    let err = io::Error::last_os_error();
    if failed && err.raw_os_error().is_some_and(|code| code != 0) {
        return Err(SchedError::Nice { nice, source: err });
    }
    Ok(())
}

/// The CPU affinity of thread `tid` (0: the calling one).
pub(super) fn set_thread_affinity(tid: libc::pid_t, cpus: &[usize]) -> Result<(), SchedError> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for cpu in cpus {
        // SAFETY: CPU_SET on a set this function owns; the macro bounds-checks the CPU.
        unsafe { libc::CPU_SET(*cpu, &mut set) };
    }
    // SAFETY: sched_setaffinity(2) on a thread of this process with a valid set.
    if unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(SchedError::Affinity {
            cpus: cpus.to_vec(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`: the process's memory.
pub(super) fn lock_memory() -> Result<(), SchedError> {
    let flags = libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT;
    // SAFETY: mlockall(2) takes flags only.
    if unsafe { libc::mlockall(flags) } != 0 {
        return Err(SchedError::Lock {
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The number of CPUs online (keepalived's bound for `*_cpu_affinity`).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf(3) takes a name only.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}
