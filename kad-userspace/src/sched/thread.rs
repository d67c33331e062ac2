//! keepalived.conf global_defs `bfd_priority`, `bfd_rt_priority`, `bfd_cpu_affinity`,
//! `bfd_no_swap` applied to one thread, kad's BFD thread, as keepalived applies them to its
//! BFD process: SCHED_RR at `bfd_rt_priority`, else the nice value `bfd_priority`; the CPU
//! affinity; memory locked (`mlockall` is the process's). The thread is marked as scheduled
//! on its own, so that the process-wide `vrrp_*`/`checker_*` nice value and affinity skip
//! it. `bfd_rlimit_rttime` is not applied: the thread blocks in `ppoll` between packets, and
//! RLIMIT_RTTIME (a process limit) would apply to the VRRP thread too.

use std::io;

use super::{
    Settings,
    process::{SCHED_RESET_ON_FORK, SchedError, original_nice, own_thread, release_thread},
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
        match settings.rt_priority {
            Some(priority) => {
                let param = libc::sched_param {
                    sched_priority: i32::try_from(priority).unwrap_or(i32::MAX),
                };
                let policy = libc::SCHED_RR | SCHED_RESET_ON_FORK;
                // SAFETY: sched_setscheduler(2) on the calling thread (pid 0) with a valid
                // sched_param.
                if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
                    self.realtime = true;
                } else {
                    errors.push(SchedError::Realtime {
                        priority,
                        source: io::Error::last_os_error(),
                    });
                }
            }
            None if self.realtime => {
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: as above, back to the standard policy.
                if unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) } == 0 {
                    self.realtime = false;
                } else {
                    errors.push(SchedError::Standard {
                        source: io::Error::last_os_error(),
                    });
                }
            }
            None => {}
        }
        // keepalived: the nice value only without a realtime priority.
        let nice = match (settings.rt_priority, settings.nice) {
            (None, Some(nice)) => Some(nice),
            _ if self.nice_set => Some(original_nice()),
            _ => None,
        };
        if let Some(nice) = nice {
            // SAFETY: setpriority(2) on this thread's id (Linux keeps a nice value per thread).
            if unsafe { libc::setpriority(libc::PRIO_PROCESS, self.tid as libc::id_t, nice) } == 0 {
                self.nice_set = settings.rt_priority.is_none() && settings.nice.is_some();
            } else {
                errors.push(SchedError::Nice {
                    nice,
                    source: io::Error::last_os_error(),
                });
            }
        }
        if !settings.cpus.is_empty() {
            // SAFETY: an all-zero cpu_set_t is the empty set.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            for cpu in &settings.cpus {
                // SAFETY: CPU_SET on a set this function owns; the macro bounds-checks.
                unsafe { libc::CPU_SET(*cpu, &mut set) };
            }
            // SAFETY: sched_setaffinity(2) on the calling thread (pid 0) with a valid set.
            if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) }
                != 0
            {
                errors.push(SchedError::Affinity {
                    cpus: settings.cpus.clone(),
                    source: io::Error::last_os_error(),
                });
            }
        }
        if settings.no_swap && !self.locked {
            let flags = libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT;
            // SAFETY: mlockall(2) takes flags only.
            if unsafe { libc::mlockall(flags) } == 0 {
                self.locked = true;
            } else {
                errors.push(SchedError::Lock {
                    source: io::Error::last_os_error(),
                });
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
