//! keepalived.conf global_defs `bfd_priority`, `bfd_rt_priority`, `bfd_cpu_affinity`,
//! `bfd_no_swap` applied to one thread, kad's BFD thread, as keepalived applies them to its
//! BFD process: SCHED_RR at `bfd_rt_priority`, else the nice value `bfd_priority`; the CPU
//! affinity; memory locked (`mlockall` is the process's). The thread is marked as scheduled
//! on its own, so that the process-wide `vrrp_*`/`checker_*` nice value and affinity skip
//! it. `bfd_rlimit_rttime` is not applied: the thread blocks in `ppoll` between packets, and
//! RLIMIT_RTTIME (a process limit) would apply to the VRRP thread too.

use super::{
    Settings,
    process::{
        SchedError, lock_memory, original_nice, own_thread, release_thread, set_realtime,
        set_standard, set_thread_affinity, set_thread_nice,
    },
};

/// The calling thread's own scheduling; create it on the thread it applies to.
#[derive(Debug)]
pub struct ThreadScheduling {
    tid: libc::pid_t,
    realtime: bool,
    nice_set: bool,
    locked: bool,
}

impl ThreadScheduling {
    /// Takes the calling thread out of the process-wide settings.
    pub fn adopt_current_thread() -> Self {
        Self {
            tid: own_thread(),
            realtime: false,
            nice_set: false,
            locked: false,
        }
    }

    /// Applies `settings` (the `bfd_*` ones) to the thread, undoing what the previous ones
    /// set and these do not; the calls that failed.
    pub fn apply(&mut self, settings: &Settings) -> Vec<SchedError> {
        let mut errors = Vec::new();
        let policy = match settings.rt_priority {
            Some(priority) => set_realtime(priority).map(|()| true),
            None if self.realtime => set_standard().map(|()| false),
            None => Ok(false),
        };
        match policy {
            Ok(realtime) => self.realtime = realtime,
            Err(err) => errors.push(err),
        }
        // keepalived: the nice value only without a realtime priority.
        let wanted = settings.nice.filter(|_| settings.rt_priority.is_none());
        let nice = match wanted {
            Some(nice) => Some(nice),
            None if self.nice_set => Some(original_nice()),
            None => None,
        };
        if let Some(nice) = nice {
            match set_thread_nice(self.tid, nice) {
                Ok(()) => self.nice_set = wanted.is_some(),
                Err(err) => errors.push(err),
            }
        }
        if !settings.cpus.is_empty()
            && let Err(err) = set_thread_affinity(0, &settings.cpus)
        {
            errors.push(err);
        }
        if settings.no_swap && !self.locked {
            match lock_memory() {
                Ok(()) => self.locked = true,
                Err(err) => errors.push(err),
            }
        }
        errors
    }
}

impl Drop for ThreadScheduling {
    fn drop(&mut self) {
        release_thread(self.tid);
    }
}
