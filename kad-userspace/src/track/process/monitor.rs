//! The processes counted for every block, fed with `/proc` reads and kernel events (no IO
//! of its own).

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use super::{
    quorum::{Cause, Quorum},
    rules::ProcessSpec,
};

/// What kad knows of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo {
    /// Parent process id.
    pub ppid: i32,
    /// `/proc/PID/comm`.
    pub comm: Vec<u8>,
    /// `/proc/PID/cmdline` (read only when a block compares it).
    pub cmdline: Vec<u8>,
}

/// One process event from the kernel (tgid-level: thread events are left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// `PROC_EVENT_FORK` of a process (not a thread).
    Fork {
        /// Parent process.
        parent: i32,
        /// New process.
        child: i32,
    },
    /// `PROC_EVENT_EXEC`.
    Exec {
        /// The process.
        pid: i32,
    },
    /// `PROC_EVENT_COMM`: the process renamed itself.
    Comm {
        /// The process.
        pid: i32,
        /// Its new name.
        comm: Vec<u8>,
    },
    /// `PROC_EVENT_EXIT` of a process.
    Exit {
        /// The process.
        pid: i32,
    },
}

/// A status change of block `index` (into the monitor's specs).
pub type Change = (usize, bool);

/// The processes counted for every block, fed with scans and events (no IO of its own).
#[derive(Clone, Debug)]
pub struct Monitor {
    specs: Vec<ProcessSpec>,
    quorums: Vec<Quorum>,
    members: HashMap<i32, Vec<usize>>,
    /// Every process of the last `/proc` read (polling tells new processes by it).
    scanned: HashSet<i32>,
}

impl Monitor {
    /// Starts from a scan of every process (`procs`): the first statuses are as counted.
    pub fn new(specs: Vec<ProcessSpec>, procs: &[(i32, ProcInfo)]) -> Self {
        let mut monitor = Self {
            quorums: Vec::new(),
            members: HashMap::new(),
            scanned: procs.iter().map(|(pid, _)| *pid).collect(),
            specs,
        };
        monitor.members = monitor.membership(procs);
        let counts: Vec<u32> = (0..monitor.specs.len()).map(|i| monitor.count(i)).collect();
        monitor.quorums = monitor
            .specs
            .iter()
            .zip(counts)
            .map(|(spec, count)| Quorum::new(spec, count))
            .collect();
        monitor
    }

    /// The blocks followed.
    pub fn specs(&self) -> &[ProcessSpec] {
        &self.specs
    }

    /// Block `index`'s quorum state.
    pub fn quorum(&self, index: usize) -> Option<&Quorum> {
        self.quorums.get(index)
    }

    /// Whether any block compares command lines (which must then be read).
    pub fn needs_cmdline(&self) -> bool {
        self.specs.iter().any(ProcessSpec::uses_cmdline)
    }

    /// When the next delayed report is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.quorums.iter().filter_map(Quorum::deadline).min()
    }

    /// Delayed reports due at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Change> {
        self.quorums
            .iter_mut()
            .enumerate()
            .filter_map(|(index, quorum)| quorum.expire(now).map(|up| (index, up)))
            .collect()
    }

    /// `/proc` read again (resync after lost events): counts replaced.
    pub fn resync(&mut self, procs: &[(i32, ProcInfo)], now: Instant) -> Vec<Change> {
        self.members = self.membership(procs);
        self.scanned = procs.iter().map(|(pid, _)| *pid).collect();
        self.recount(Cause::Resync, now)
    }

    /// `/proc` read again in polling mode: the differences become forks (a new process
    /// whose parent is counted for the same block), execs and exits.
    pub fn poll(&mut self, procs: &[(i32, ProcInfo)], now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        let seen: HashMap<i32, &ProcInfo> = procs.iter().map(|(pid, info)| (*pid, info)).collect();
        let gone: Vec<i32> = self
            .members
            .keys()
            .copied()
            .filter(|pid| !seen.contains_key(pid))
            .collect();
        for pid in gone {
            changes.extend(self.exit(pid, now));
        }
        for (pid, info) in procs {
            let wanted = self.matching(info);
            let had = self.members.get(pid).cloned().unwrap_or_default();
            let parent = self.members.get(&info.ppid).cloned().unwrap_or_default();
            let known = self.scanned.contains(pid);
            for index in 0..self.specs.len() {
                let (was, is) = (had.contains(&index), wanted.contains(&index));
                if was != is {
                    let cause = if is && !known && parent.contains(&index) {
                        Cause::Fork
                    } else {
                        Cause::Exec
                    };
                    changes.extend(self.set(*pid, index, is, cause, now));
                }
            }
        }
        self.scanned = procs.iter().map(|(pid, _)| *pid).collect();
        changes
    }

    /// One event from the kernel; `read` reads a process's details from `/proc` (None when
    /// it is gone).
    pub fn event(
        &mut self,
        event: &ProcEvent,
        now: Instant,
        read: impl Fn(i32, bool) -> Option<ProcInfo>,
    ) -> Vec<Change> {
        match event {
            ProcEvent::Fork { parent, child } => {
                let blocks = self.members.get(parent).cloned().unwrap_or_default();
                blocks
                    .into_iter()
                    .filter_map(|index| self.set(*child, index, true, Cause::Fork, now))
                    .collect()
            }
            ProcEvent::Exec { pid } => match read(*pid, self.needs_cmdline()) {
                Some(info) => {
                    let wanted = self.matching(&info);
                    self.reconcile(*pid, |_, _| true, &wanted, now)
                }
                None => Vec::new(),
            },
            ProcEvent::Comm { pid, comm } => {
                // Only blocks matching on the name; `full_command` ones keep their count.
                let wanted: Vec<usize> = (0..self.specs.len())
                    .filter(|index| {
                        self.specs
                            .get(*index)
                            .is_some_and(|s| !s.uses_cmdline() && s.matches(comm, &[]))
                    })
                    .collect();
                self.reconcile(*pid, |spec, _| !spec.uses_cmdline(), &wanted, now)
            }
            ProcEvent::Exit { pid } => self.exit(*pid, now),
        }
    }

    fn exit(&mut self, pid: i32, now: Instant) -> Vec<Change> {
        let blocks = self.members.get(&pid).cloned().unwrap_or_default();
        blocks
            .into_iter()
            .filter_map(|index| self.set(pid, index, false, Cause::Exit, now))
            .collect()
    }

    /// Makes `pid` a member of exactly `wanted` among the blocks `considered`.
    fn reconcile(
        &mut self,
        pid: i32,
        considered: impl Fn(&ProcessSpec, usize) -> bool,
        wanted: &[usize],
        now: Instant,
    ) -> Vec<Change> {
        let had = self.members.get(&pid).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        for index in 0..self.specs.len() {
            let Some(spec) = self.specs.get(index) else {
                continue;
            };
            if !considered(spec, index) {
                continue;
            }
            let (was, is) = (had.contains(&index), wanted.contains(&index));
            if was != is {
                changes.extend(self.set(pid, index, is, Cause::Exec, now));
            }
        }
        changes
    }

    /// Adds or removes `pid` for block `index` (idempotent) and updates its quorum.
    fn set(
        &mut self,
        pid: i32,
        index: usize,
        member: bool,
        cause: Cause,
        now: Instant,
    ) -> Option<Change> {
        let blocks = self.members.entry(pid).or_default();
        let present = blocks.contains(&index);
        match (present, member) {
            (false, true) => blocks.push(index),
            (true, false) => blocks.retain(|b| *b != index),
            _ => return None,
        }
        if blocks.is_empty() {
            self.members.remove(&pid);
        }
        let count = self.count(index);
        self.quorums
            .get_mut(index)
            .and_then(|q| q.update(count, cause, now))
            .map(|up| (index, up))
    }

    fn recount(&mut self, cause: Cause, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        for index in 0..self.specs.len() {
            let count = self.count(index);
            if let Some(quorum) = self.quorums.get_mut(index)
                && quorum.count() != count
                && let Some(up) = quorum.update(count, cause, now)
            {
                changes.push((index, up));
            }
        }
        changes
    }

    fn count(&self, index: usize) -> u32 {
        let n = self.members.values().filter(|b| b.contains(&index)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn matching(&self, info: &ProcInfo) -> Vec<usize> {
        self.specs
            .iter()
            .enumerate()
            .filter(|(_, spec)| spec.matches(&info.comm, &info.cmdline))
            .map(|(index, _)| index)
            .collect()
    }

    fn membership(&self, procs: &[(i32, ProcInfo)]) -> HashMap<i32, Vec<usize>> {
        procs
            .iter()
            .filter_map(|(pid, info)| {
                let blocks = self.matching(info);
                (!blocks.is_empty()).then_some((*pid, blocks))
            })
            .collect()
    }
}
