//! keepalived.conf `vrrp_track_process`: counts the running processes that match each
//! block and reports it up while the count is within `[quorum, quorum_max]`, with
//! `fork_delay`/`terminate_delay` absorbing short bounces.
//!
//! **How processes are followed.** Like keepalived, kad reads `/proc` once at start and then
//! follows the kernel's process events (the netlink proc connector, `NETLINK_CONNECTOR` /
//! `CN_IDX_PROC`: fork, exec, comm change, exit), so a process's exit is seen at once and
//! `/proc` is read again only for a process that just exec'd or changed its name. When the
//! kernel drops events (`ENOBUFS`), kad waits a second and reads `/proc` again (resync), as
//! keepalived does. The connector exists only in the initial network namespace; kad in
//! another one (e.g. started by `ip netns exec`) opens it there through `/proc/1/ns/net`.
//! When that is not possible either (no `CONFIG_PROC_EVENTS`, no access to PID 1's
//! namespace, a container), kad falls back to reading `/proc` every [`POLL_EVERY`] and says
//! so in its log; reactions are then up to that much later. Process ids are taken to be
//! those of kad's own PID namespace (the connector reports the initial namespace's).
//!
//! **What matches** (keepalived's rules, keepalived.conf(5) "VRRP track processes"): without
//! `full_command` and without parameters, `process NAME` is compared exactly with the
//! process name (`/proc/PID/comm`, at most 15 bytes, which `exec -a` does not change); with
//! `full_command`, parameters after the name, or `param_match`, it is compared exactly with
//! `argv[0]` from `/proc/PID/cmdline`, and then the parameters: `param_match` alone (or
//! parameters without it) means exactly these parameters; `partial` means the configured ones
//! are the first ones; `initial` means the same but the last configured one may be the start
//! of the process's. Zombies and threads are not counted; a child forked by a counted process
//! is counted (it has the same name) until it execs something else.
//!
//! **Debounce** (keepalived's): a count that enters the quorum range because a counted
//! process forked waits `fork_delay` before reporting up; one that leaves it because a
//! process exited waits `terminate_delay` before reporting down; a bounce back within the
//! delay cancels the report. Changes by exec or renaming are reported at once.

use std::{
    collections::{HashMap, HashSet},
    ffi::CString,
    io,
    mem::size_of,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    time::{Duration, Instant},
};

use thiserror::Error;
use tokio::{io::unix::AsyncFd, sync::mpsc};

use crate::vrrp::fsm::TrackerStatus;

use super::{TrackerIndex, TrackerUpdate};

/// How often `/proc` is read when the kernel's process events are unavailable.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// How long to let things settle after the kernel dropped process events before reading
/// `/proc` again (keepalived: one second).
pub const RESYNC_AFTER: Duration = Duration::from_secs(1);

/// The longest process name the kernel keeps (`TASK_COMM_LEN` - 1).
pub const COMM_MAX: usize = 15;

/// keepalived.conf `param_match`: how a process's parameters are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ParamMatch {
    /// Parameters are not compared (no parameters configured, no `param_match`).
    #[default]
    None,
    /// Exactly the configured parameters (`param_match` alone, or parameters without it).
    Exact,
    /// `param_match initial`: the configured parameters come first; the last configured one
    /// may be the start of the process's parameter.
    Initial,
    /// `param_match partial`: the configured parameters are the process's first ones.
    Partial,
}

/// keepalived.conf `vrrp_track_process NAME { … }`, as the tracker needs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessSpec {
    /// Block name.
    pub name: String,
    /// `process NAME`: the name (or `argv[0]`) to match.
    pub process: String,
    /// `process NAME PARAM…`: the parameters to match.
    pub params: Vec<String>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `full_command`: match `argv[0]` rather than the process name.
    pub full_command: bool,
    /// `quorum` (default 1): fewest matching processes for up.
    pub quorum: u32,
    /// `quorum_max` (default unlimited): most matching processes for up.
    pub quorum_max: u32,
    /// `fork_delay` / `delay` (global `vrrp_track_process_fork_delay`).
    pub fork_delay: Duration,
    /// `terminate_delay` / `delay` (global `vrrp_track_process_terminate_delay`).
    pub terminate_delay: Duration,
}

impl ProcessSpec {
    /// A spec for `process` with keepalived's defaults.
    pub fn new(name: &str, process: &str) -> Self {
        Self {
            name: name.to_owned(),
            process: process.to_owned(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    /// Whether the command line is compared (rather than the process name).
    pub fn uses_cmdline(&self) -> bool {
        self.full_command || self.param_match != ParamMatch::None
    }

    /// Whether `count` matching processes make the block up.
    pub fn in_quorum(&self, count: u32) -> bool {
        (self.quorum..=self.quorum_max).contains(&count)
    }

    /// Whether a process with name `comm` and command line `cmdline` (NUL-separated, as in
    /// `/proc/PID/cmdline`) matches (see the module documentation).
    pub fn matches(&self, comm: &[u8], cmdline: &[u8]) -> bool {
        if !self.uses_cmdline() {
            return comm == self.process.as_bytes();
        }
        let (argv0, params) = match cmdline.iter().position(|b| *b == 0) {
            Some(nul) => (
                cmdline.get(..nul).unwrap_or_default(),
                cmdline.get(nul + 1..).unwrap_or_default(),
            ),
            None => (cmdline, &[][..]),
        };
        argv0 == self.process.as_bytes() && self.params_match(params)
    }

    /// keepalived's parameter comparison, on `params` as the bytes after `argv[0]`'s NUL.
    fn params_match(&self, params: &[u8]) -> bool {
        let mut wanted = Vec::new();
        for param in &self.params {
            wanted.extend_from_slice(param.as_bytes());
            wanted.push(0);
        }
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => params == wanted.as_slice(),
            ParamMatch::Partial => params.starts_with(&wanted),
            ParamMatch::Initial => {
                // The last configured parameter may be followed by more text: compare
                // without its terminating NUL.
                let prefix = wanted
                    .get(..wanted.len().saturating_sub(1))
                    .unwrap_or_default();
                params.len() >= wanted.len() && params.starts_with(prefix)
            }
        }
    }
}

/// What changed a block's count, which decides the delay before reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A counted process forked (a gain waits `fork_delay`).
    Fork,
    /// A process exec'd or was renamed (reported at once).
    Exec,
    /// A counted process exited (a loss waits `terminate_delay`).
    Exit,
    /// `/proc` was read again after lost events (a loss waits `terminate_delay`).
    Resync,
}

/// One block's quorum and pending report (pure: the caller supplies the time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    min: u32,
    max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: u32,
    up: bool,
    pending: Option<Instant>,
}

impl Quorum {
    /// A block of `spec` with `count` processes now, reported as it stands.
    pub fn new(spec: &ProcessSpec, count: u32) -> Self {
        Self {
            min: spec.quorum,
            max: spec.quorum_max,
            fork_delay: spec.fork_delay,
            terminate_delay: spec.terminate_delay,
            count,
            up: (spec.quorum..=spec.quorum_max).contains(&count),
            pending: None,
        }
    }

    /// The status last reported.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The matching processes counted.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// When a delayed report is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
    }

    /// The count is now `count` because of `cause`; returns the new status when it is to be
    /// reported now.
    pub fn update(&mut self, count: u32, cause: Cause, now: Instant) -> Option<bool> {
        self.count = count;
        let want = (self.min..=self.max).contains(&count);
        if want == self.up {
            // Back where it was reported: a pending report is a bounce, dropped.
            self.pending = None;
            return None;
        }
        if self.pending.is_some() {
            return None;
        }
        let delay = match (want, cause) {
            (true, Cause::Fork) => self.fork_delay,
            (false, Cause::Exit | Cause::Resync) => self.terminate_delay,
            _ => Duration::ZERO,
        };
        if delay.is_zero() {
            self.up = want;
            Some(want)
        } else {
            self.pending = Some(now + delay);
            None
        }
    }

    /// A delayed report fell due at `now`: returns the status when it changed.
    pub fn expire(&mut self, now: Instant) -> Option<bool> {
        match self.pending {
            Some(at) if at <= now => {
                self.pending = None;
                let want = (self.min..=self.max).contains(&self.count);
                (want != self.up).then(|| {
                    self.up = want;
                    want
                })
            }
            _ => None,
        }
    }
}

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

/// Reads one process from `/proc`: None when it is gone or a zombie.
pub fn read_process(pid: i32, cmdline: bool) -> Option<ProcInfo> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let (comm, state, ppid) = parse_stat(&stat)?;
    if state == b'Z' || state == b'X' {
        return None;
    }
    let cmdline = if cmdline {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok()?
    } else {
        Vec::new()
    };
    Some(ProcInfo {
        ppid,
        comm: comm.to_vec(),
        cmdline,
    })
}

/// `/proc/PID/stat` → (comm, state, ppid). The name is between the first `(` and the last
/// `)` (it may hold either).
pub fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8, i32)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let comm = stat.get(open + 1..close)?;
    let rest = stat.get(close + 1..)?;
    let mut fields = rest.split(|b| *b == b' ').filter(|field| !field.is_empty());
    let state = *fields.next()?.first()?;
    let ppid = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((comm, state, ppid))
}

/// Every live process in `/proc`.
pub fn scan(cmdline: bool) -> Vec<(i32, ProcInfo)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| read_process(pid, cmdline).map(|info| (pid, info)))
        .collect()
}

/// Whether each of `specs` is up right now (one `/proc` read, for the statuses units start
/// with).
pub fn current_statuses(specs: &[ProcessSpec]) -> Vec<bool> {
    let needs_cmdline = specs.iter().any(ProcessSpec::uses_cmdline);
    let monitor = Monitor::new(specs.to_vec(), &scan(needs_cmdline));
    (0..specs.len())
        .map(|index| monitor.quorum(index).is_some_and(Quorum::is_up))
        .collect()
}

/// Why the kernel's process events cannot be followed.
#[derive(Debug, Error)]
pub enum ConnectorError {
    /// The netlink socket could not be opened or bound.
    #[error("opening the proc connector socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel refused the subscription (no connector in this network namespace, or no
    /// `CONFIG_PROC_EVENTS`).
    #[error("subscribing to process events: {0}")]
    Subscribe(#[source] io::Error),
    /// Neither this network namespace nor the initial one offers the connector.
    #[error("{here}; through /proc/1/ns/net: {init}")]
    Unavailable {
        /// Trying in kad's own network namespace.
        here: Box<ConnectorError>,
        /// Trying in the initial network namespace.
        init: Box<ConnectorError>,
    },
    /// Entering the initial network namespace failed.
    #[error("entering the initial network namespace: {0}")]
    Namespace(#[source] io::Error),
    /// The kernel dropped events (the receive buffer overflowed): resync from `/proc`.
    #[error("process events were lost")]
    Overrun,
    /// Receiving failed.
    #[error("receiving process events: {0}")]
    Receive(#[source] io::Error),
}

// linux/connector.h, linux/cn_proc.h.
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// `struct cn_msg` (without data).
const CN_MSG_LEN: usize = 20;
/// `struct proc_event` up to `event_data`: what, cpu, timestamp_ns.
const PROC_EVENT_HDR: usize = 16;
const RECEIVE_BUFFER: libc::c_int = 1 << 20;

/// The kernel's process events (`NETLINK_CONNECTOR`, `CN_IDX_PROC`).
pub struct Connector {
    fd: AsyncFd<OwnedFd>,
}

impl Connector {
    /// Subscribes in kad's network namespace, else in the initial one (see the module
    /// documentation). Must be called inside a tokio runtime.
    pub fn open() -> Result<Self, ConnectorError> {
        let fd = match open_here() {
            Ok(fd) => fd,
            Err(here) => match open_in_initial_namespace() {
                Ok(fd) => fd,
                Err(init) => {
                    return Err(ConnectorError::Unavailable {
                        here: Box::new(here),
                        init: Box::new(init),
                    });
                }
            },
        };
        // SAFETY: the OwnedFd owns its descriptor and AsyncFd owns the OwnedFd, so the
        // descriptor stays open and unchanged for as long as it is registered.
        let fd = unsafe { AsyncFd::register(fd) }
            .map_err(|err| ConnectorError::Socket(err.into_parts().1))?;
        Ok(Self { fd })
    }

    /// Waits for the next datagram and returns its events.
    pub async fn receive(&self, buffer: &mut [u8]) -> Result<Vec<ProcEvent>, ConnectorError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(ConnectorError::Receive)?;
            match guard.try_io(|fd| receive_from_kernel(fd.get_ref(), buffer)) {
                Ok(Ok(Some(len))) => return Ok(parse(buffer.get(..len).unwrap_or_default())),
                Ok(Ok(None)) => continue,
                Ok(Err(err)) if err.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(ConnectorError::Overrun);
                }
                Ok(Err(err)) => return Err(ConnectorError::Receive(err)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        // The kernel counts listeners; tell it this one is leaving.
        let _ = subscribe(self.fd.get_ref(), PROC_CN_MCAST_IGNORE);
    }
}

/// One datagram; None when it did not come from the kernel.
fn receive_from_kernel(fd: &OwnedFd, buffer: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: sockaddr_nl is plain data; zeroes are a valid value.
    let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut from_len = socklen::<libc::sockaddr_nl>();
    // SAFETY: recvfrom writes at most buffer.len() bytes into buffer and at most from_len
    // bytes into from, both valid for writes.
    let len = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            0,
            (&raw mut from).cast(),
            &raw mut from_len,
        )
    };
    let len = usize::try_from(len).map_err(|_| io::Error::last_os_error())?;
    Ok((from.nl_pid == 0).then_some(len))
}

fn socklen<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// Opens, binds and subscribes a connector socket in the calling thread's network namespace.
fn open_here() -> Result<OwnedFd, ConnectorError> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_CONNECTOR,
        )
    };
    if raw < 0 {
        return Err(ConnectorError::Socket(io::Error::last_os_error()));
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: sockaddr_nl is plain data; zeroes are a valid value.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::sa_family_t::try_from(libc::AF_NETLINK).unwrap_or_default();
    address.nl_groups = CN_IDX_PROC;
    // SAFETY: address is a valid sockaddr_nl of the length given.
    let bound = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const address).cast(),
            socklen::<libc::sockaddr_nl>(),
        )
    };
    if bound != 0 {
        return Err(ConnectorError::Socket(io::Error::last_os_error()));
    }
    // Bursts of exits (a service stopping its workers) must not overflow the buffer.
    let buffer_size = RECEIVE_BUFFER;
    // SAFETY: the option value is a c_int of the length given.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const buffer_size).cast(),
            socklen::<libc::c_int>(),
        )
    };
    subscribe(&fd, PROC_CN_MCAST_LISTEN).map_err(ConnectorError::Subscribe)?;
    Ok(fd)
}

/// [`open_here`] from a short-lived thread that first enters PID 1's network namespace (the
/// socket stays there; kad's own threads never move).
fn open_in_initial_namespace() -> Result<OwnedFd, ConnectorError> {
    let worker = std::thread::Builder::new()
        .name("kad-proc-connector".into())
        .spawn(|| {
            let path = CString::new("/proc/1/ns/net").map_err(|e| {
                ConnectorError::Namespace(io::Error::new(io::ErrorKind::InvalidInput, e))
            })?;
            // SAFETY: path is a valid C string; the result is checked.
            let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
            if raw < 0 {
                return Err(ConnectorError::Namespace(io::Error::last_os_error()));
            }
            // SAFETY: raw is a fresh descriptor we own.
            let namespace = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: setns on a namespace descriptor, for this thread only.
            if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(ConnectorError::Namespace(io::Error::last_os_error()));
            }
            open_here()
        })
        .map_err(ConnectorError::Namespace)?;
    worker.join().unwrap_or_else(|_| {
        Err(ConnectorError::Namespace(io::Error::other(
            "connector thread panicked",
        )))
    })
}

/// Sends `PROC_CN_MCAST_LISTEN` or `_IGNORE`.
fn subscribe(fd: &OwnedFd, op: u32) -> io::Result<()> {
    let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&u32::try_from(total).unwrap_or_default().to_ne_bytes());
    message.extend_from_slice(
        &u16::try_from(libc::NLMSG_DONE)
            .unwrap_or_default()
            .to_ne_bytes(),
    );
    message.extend_from_slice(&0u16.to_ne_bytes()); // flags
    message.extend_from_slice(&0u32.to_ne_bytes()); // seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes()); // seq
    message.extend_from_slice(&0u32.to_ne_bytes()); // ack
    message.extend_from_slice(&4u16.to_ne_bytes()); // len
    message.extend_from_slice(&0u16.to_ne_bytes()); // flags
    message.extend_from_slice(&op.to_ne_bytes());
    // SAFETY: message is valid for reads of its length.
    let sent = unsafe { libc::send(fd.as_raw_fd(), message.as_ptr().cast(), message.len(), 0) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The process events in one datagram from the connector (malformed parts are skipped).
pub fn parse(datagram: &[u8]) -> Vec<ProcEvent> {
    let mut events = Vec::new();
    let mut rest = datagram;
    while let Some(len) = u32_at(rest, 0).and_then(|l| usize::try_from(l).ok()) {
        if len < NLMSG_HDRLEN || len > rest.len() {
            break;
        }
        let message_type = rest
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_ne_bytes);
        let body = rest.get(NLMSG_HDRLEN..len).unwrap_or_default();
        let is_data = !matches!(
            message_type.map(libc::c_int::from),
            Some(libc::NLMSG_ERROR | libc::NLMSG_NOOP)
        );
        if is_data && let Some(event) = parse_cn_msg(body) {
            events.push(event);
        }
        // NLMSG_ALIGN
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
    events
}

fn parse_cn_msg(body: &[u8]) -> Option<ProcEvent> {
    if u32_at(body, 0)? != CN_IDX_PROC || u32_at(body, 4)? != CN_VAL_PROC || u32_at(body, 12)? != 0
    {
        return None;
    }
    let event = body.get(CN_MSG_LEN..)?;
    let what = u32_at(event, 0)?;
    let data = event.get(PROC_EVENT_HDR..)?;
    match what {
        PROC_EVENT_FORK => {
            let parent = i32_at(data, 4)?; // parent_tgid
            let child_pid = i32_at(data, 8)?;
            let child = i32_at(data, 12)?; // child_tgid
            (child == child_pid).then_some(ProcEvent::Fork { parent, child })
        }
        PROC_EVENT_EXEC => {
            let pid = i32_at(data, 0)?;
            (i32_at(data, 4)? == pid).then_some(ProcEvent::Exec { pid })
        }
        PROC_EVENT_COMM => {
            let pid = i32_at(data, 0)?;
            let raw = data.get(8..8 + 16)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            (i32_at(data, 4)? == pid).then(|| ProcEvent::Comm {
                pid,
                comm: raw.get(..end).unwrap_or_default().to_vec(),
            })
        }
        PROC_EVENT_EXIT => {
            let pid = i32_at(data, 0)?;
            (i32_at(data, 4)? == pid).then_some(ProcEvent::Exit { pid })
        }
        _ => None,
    }
}

/// Follows every block of `trackers` forever, sending each change of status (and each
/// block's status at start).
pub async fn run(trackers: Vec<(TrackerIndex, ProcessSpec)>, updates: mpsc::Sender<TrackerUpdate>) {
    if trackers.is_empty() {
        return;
    }
    let indexes: Vec<TrackerIndex> = trackers.iter().map(|(index, _)| *index).collect();
    let specs: Vec<ProcessSpec> = trackers.into_iter().map(|(_, spec)| spec).collect();
    for spec in &specs {
        if !spec.uses_cmdline() && spec.process.len() > COMM_MAX {
            tracing::warn!(
                track_process = %spec.name,
                process = %spec.process,
                "process names are at most {COMM_MAX} bytes: this name never matches without full_command"
            );
        }
    }
    let mut connector = match Connector::open() {
        Ok(connector) => {
            tracing::info!("track_process: following the kernel's process events (proc connector)");
            Some(connector)
        }
        Err(err) => {
            tracing::warn!(error = %err, every = ?POLL_EVERY, "track_process: kernel process events unavailable; reading /proc periodically instead");
            None
        }
    };
    // Subscribed first, then scanned: no process is missed in between (events for what the
    // scan already saw change nothing).
    let needs_cmdline = specs.iter().any(ProcessSpec::uses_cmdline);
    let mut monitor = Monitor::new(specs, &scan(needs_cmdline));
    for (position, index) in indexes.iter().enumerate() {
        if let (Some(spec), Some(quorum)) =
            (monitor.specs().get(position), monitor.quorum(position))
        {
            tracing::info!(track_process = %spec.name, processes = quorum.count(), up = quorum.is_up(), "tracked process status at start");
            let status = if quorum.is_up() {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            if updates
                .send(TrackerUpdate {
                    index: *index,
                    status,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
    let mut buffer = vec![0u8; 16 * 1024];
    let mut poll = tokio::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut resync_at: Option<Instant> = None;
    loop {
        let deadline = [monitor.next_deadline(), resync_at]
            .into_iter()
            .flatten()
            .min();
        let changes = tokio::select! {
            received = receive(connector.as_ref(), &mut buffer) => match received {
                Ok(events) => {
                    let now = Instant::now();
                    let mut changes = Vec::new();
                    for event in &events {
                        changes.extend(monitor.event(event, now, read_process));
                    }
                    changes
                }
                Err(ConnectorError::Overrun) => {
                    tracing::warn!("track_process: the kernel dropped process events; reading /proc again in {RESYNC_AFTER:?}");
                    resync_at = Some(Instant::now() + RESYNC_AFTER);
                    Vec::new()
                }
                Err(err) => {
                    tracing::warn!(error = %err, every = ?POLL_EVERY, "track_process: process events failed; reading /proc periodically instead");
                    connector = None;
                    Vec::new()
                }
            },
            _ = poll.tick(), if connector.is_none() => {
                monitor.poll(&scan(needs_cmdline), Instant::now())
            }
            () = sleep_until(deadline) => {
                let now = Instant::now();
                let mut changes = Vec::new();
                if resync_at.is_some_and(|at| at <= now) {
                    resync_at = None;
                    changes.extend(monitor.resync(&scan(needs_cmdline), now));
                }
                changes.extend(monitor.expire(now));
                changes
            }
        };
        for (position, up) in changes {
            let (Some(index), Some(spec)) = (indexes.get(position), monitor.specs().get(position))
            else {
                continue;
            };
            let processes = monitor.quorum(position).map_or(0, Quorum::count);
            tracing::info!(
                track_process = %spec.name,
                processes,
                "VRRP_Track_Process({}) {}",
                spec.name,
                if up { "quorum gained" } else { "quorum lost" }
            );
            let status = if up {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            if updates
                .send(TrackerUpdate {
                    index: *index,
                    status,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

async fn receive(
    connector: Option<&Connector>,
    buffer: &mut [u8],
) -> Result<Vec<ProcEvent>, ConnectorError> {
    match connector {
        Some(connector) => connector.receive(buffer).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(process: &str) -> ProcessSpec {
        ProcessSpec::new("p", process)
    }

    fn with_params(process: &str, params: &[&str], param_match: ParamMatch) -> ProcessSpec {
        ProcessSpec {
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            param_match,
            full_command: true,
            ..spec(process)
        }
    }

    #[test]
    fn names_match_exactly_like_pgrep_anchored() {
        let s = spec("sshd");
        assert!(s.matches(b"sshd", b""));
        assert!(!s.matches(b"ssh", b""), "no substring match");
        assert!(!spec("ssh").matches(b"sshd", b""));
        // Without full_command the command line does not matter (exec -a changes argv[0],
        // not the name).
        assert!(s.matches(b"sshd", b"/usr/sbin/other\0-D\0"));
        assert!(!s.matches(b"renamed", b"sshd\0"));
    }

    #[test]
    fn full_command_compares_argv0_exactly() {
        let s = ProcessSpec {
            full_command: true,
            ..spec("/usr/sbin/haproxy")
        };
        assert!(s.matches(b"haproxy", b"/usr/sbin/haproxy\0-f\0/etc/haproxy.cfg\0"));
        assert!(!s.matches(b"haproxy", b"haproxy\0-f\0"), "not the basename");
        assert!(
            !s.matches(b"haproxy", b""),
            "kernel threads have no command line"
        );
        // A process that rewrote its command line without NULs.
        let nginx = ProcessSpec {
            full_command: true,
            ..spec("nginx: master process")
        };
        assert!(nginx.matches(b"nginx", b"nginx: master process"));
    }

    #[test]
    fn parameters_follow_param_match() {
        let cmd = b"/bin/sleep\x00100\x00extra\x00";
        let exact = with_params("/bin/sleep", &["100", "extra"], ParamMatch::Exact);
        assert!(exact.matches(b"sleep", cmd));
        assert!(!with_params("/bin/sleep", &["100"], ParamMatch::Exact).matches(b"sleep", cmd));
        // param_match with no parameters: the process must have none.
        let none = with_params("/bin/sleep", &[], ParamMatch::Exact);
        assert!(none.matches(b"sleep", b"/bin/sleep\0"));
        assert!(!none.matches(b"sleep", cmd));
        // partial: the first parameters, whole.
        let partial = with_params("/bin/sleep", &["100"], ParamMatch::Partial);
        assert!(partial.matches(b"sleep", cmd));
        assert!(!with_params("/bin/sleep", &["10"], ParamMatch::Partial).matches(b"sleep", cmd));
        assert!(with_params("/bin/sleep", &[], ParamMatch::Partial).matches(b"sleep", cmd));
        // initial: the last one may be the start of the process's.
        let initial = with_params("/bin/sleep", &["100", "ext"], ParamMatch::Initial);
        assert!(initial.matches(b"sleep", cmd));
        assert!(with_params("/bin/sleep", &["10"], ParamMatch::Initial).matches(b"sleep", cmd));
        assert!(!with_params("/bin/sleep", &["1000"], ParamMatch::Initial).matches(b"sleep", cmd));
        assert!(
            !with_params("/bin/sleep", &["10", "extra"], ParamMatch::Initial)
                .matches(b"sleep", cmd),
            "only the last parameter may be partial"
        );
    }

    #[test]
    fn stat_lines_parse_with_odd_names() {
        let stat = b"1234 (a) b) S 77 1234 1234 0 -1";
        assert_eq!(parse_stat(stat), Some((&b"a) b"[..], b'S', 77)));
        assert_eq!(parse_stat(b"1 (init) Z 0 1"), Some((&b"init"[..], b'Z', 0)));
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b"1 (x) S notanumber"), None);
    }

    fn at(ms: u64) -> Instant {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(Instant::now) + Duration::from_millis(ms)
    }

    #[test]
    fn quorum_range_decides_status() {
        let s = ProcessSpec {
            quorum: 2,
            quorum_max: 3,
            ..spec("x")
        };
        let mut q = Quorum::new(&s, 0);
        assert!(!q.is_up());
        assert_eq!(q.update(1, Cause::Exec, at(0)), None);
        assert_eq!(q.update(2, Cause::Exec, at(0)), Some(true));
        assert_eq!(q.update(3, Cause::Exec, at(0)), None);
        assert_eq!(
            q.update(4, Cause::Exec, at(0)),
            Some(false),
            "above quorum_max"
        );
        assert_eq!(q.update(3, Cause::Exit, at(0)), Some(true));
        // quorum_max 0: up only while none runs.
        let none = ProcessSpec {
            quorum: 0,
            quorum_max: 0,
            ..spec("x")
        };
        assert!(Quorum::new(&none, 0).is_up());
        assert!(!Quorum::new(&none, 1).is_up());
    }

    #[test]
    fn terminate_delay_absorbs_a_restart_and_reports_a_real_loss() {
        let s = ProcessSpec {
            terminate_delay: Duration::from_millis(500),
            fork_delay: Duration::from_millis(300),
            ..spec("x")
        };
        let mut q = Quorum::new(&s, 1);
        assert_eq!(q.update(0, Cause::Exit, at(0)), None, "delayed");
        assert_eq!(q.deadline(), Some(at(500)));
        assert_eq!(
            q.update(1, Cause::Exec, at(100)),
            None,
            "restarted: bounce dropped"
        );
        assert_eq!(q.deadline(), None);
        assert_eq!(q.expire(at(600)), None);
        assert!(q.is_up());

        assert_eq!(q.update(0, Cause::Exit, at(1000)), None);
        assert_eq!(q.expire(at(1499)), None);
        assert_eq!(q.expire(at(1500)), Some(false));

        // A gain by fork waits fork_delay; one by exec does not.
        assert_eq!(q.update(1, Cause::Fork, at(2000)), None);
        assert_eq!(q.expire(at(2300)), Some(true));
        assert_eq!(
            q.update(0, Cause::Exec, at(2400)),
            Some(false),
            "exec away: at once"
        );
        assert_eq!(q.update(1, Cause::Exec, at(2500)), Some(true));
    }

    fn info(ppid: i32, comm: &str) -> ProcInfo {
        ProcInfo {
            ppid,
            comm: comm.as_bytes().to_vec(),
            cmdline: Vec::new(),
        }
    }

    #[test]
    fn events_count_forks_execs_renames_and_exits() {
        let specs = vec![
            spec("web"),
            ProcessSpec {
                quorum: 2,
                ..spec("worker")
            },
        ];
        let mut m = Monitor::new(specs, &[(1, info(0, "init")), (10, info(1, "web"))]);
        assert_eq!(m.quorum(0).map(Quorum::is_up), Some(true));
        assert_eq!(m.quorum(1).map(Quorum::is_up), Some(false));
        let none = |_: i32, _: bool| None;
        // web forks a child: counted (same name), no change of status.
        assert_eq!(
            m.event(
                &ProcEvent::Fork {
                    parent: 10,
                    child: 11
                },
                at(0),
                none
            ),
            []
        );
        assert_eq!(m.quorum(0).map(Quorum::count), Some(2));
        // Forks of processes not counted are ignored.
        assert_eq!(
            m.event(
                &ProcEvent::Fork {
                    parent: 1,
                    child: 12
                },
                at(0),
                none
            ),
            []
        );
        // The child execs a worker; then another.
        let worker = |_: i32, _: bool| Some(info(10, "worker"));
        assert_eq!(m.event(&ProcEvent::Exec { pid: 11 }, at(0), worker), []);
        assert_eq!(
            m.event(&ProcEvent::Exec { pid: 12 }, at(0), worker),
            [(1, true)]
        );
        assert_eq!(m.quorum(0).map(Quorum::count), Some(1));
        // A worker renames itself: one left, below quorum.
        let renamed = ProcEvent::Comm {
            pid: 12,
            comm: b"idle".to_vec(),
        };
        assert_eq!(m.event(&renamed, at(0), none), [(1, false)]);
        // The last web process exits; exits of unknown processes change nothing.
        assert_eq!(m.event(&ProcEvent::Exit { pid: 999 }, at(0), none), []);
        assert_eq!(
            m.event(&ProcEvent::Exit { pid: 10 }, at(0), none),
            [(0, false)]
        );
        // Events repeated (a scan raced them) are idempotent.
        assert_eq!(m.event(&ProcEvent::Exit { pid: 10 }, at(0), none), []);
    }

    #[test]
    fn polls_tell_forks_from_execs_and_resync_recounts() {
        let s = ProcessSpec {
            fork_delay: Duration::from_millis(200),
            ..spec("svc")
        };
        let mut m = Monitor::new(vec![s], &[]);
        assert_eq!(m.quorum(0).map(Quorum::is_up), Some(false));
        // Started by a shell (not counted): up at once.
        assert_eq!(m.poll(&[(20, info(1, "svc"))], at(0)), [(0, true)]);
        // Stopped: down at once (no terminate_delay).
        assert_eq!(m.poll(&[], at(100)), [(0, false)]);
        // Back, and a fork of it: the count goes to 2.
        assert_eq!(m.poll(&[(21, info(1, "svc"))], at(200)), [(0, true)]);
        assert_eq!(
            m.poll(&[(21, info(1, "svc")), (22, info(21, "svc"))], at(300)),
            []
        );
        assert_eq!(m.quorum(0).map(Quorum::count), Some(2));
        // Resync after lost events: counted again from the scan.
        assert_eq!(m.resync(&[], at(400)), [(0, false)]);
    }

    #[test]
    fn connector_datagrams_parse_to_events() {
        fn message(what: u32, data: &[i32], extra: &[u8]) -> Vec<u8> {
            let mut body = Vec::new();
            for v in [CN_IDX_PROC, CN_VAL_PROC, 7, 0] {
                body.extend_from_slice(&v.to_ne_bytes());
            }
            let payload_len = 16 + data.len() * 4 + extra.len();
            body.extend_from_slice(&u16::try_from(payload_len).unwrap_or(0).to_ne_bytes());
            body.extend_from_slice(&0u16.to_ne_bytes());
            body.extend_from_slice(&what.to_ne_bytes());
            body.extend_from_slice(&0u32.to_ne_bytes()); // cpu
            body.extend_from_slice(&0u64.to_ne_bytes()); // timestamp
            for v in data {
                body.extend_from_slice(&v.to_ne_bytes());
            }
            body.extend_from_slice(extra);
            let len = 16 + body.len();
            let mut out = Vec::new();
            out.extend_from_slice(&u32::try_from(len).unwrap_or(0).to_ne_bytes());
            out.extend_from_slice(&3u16.to_ne_bytes());
            out.extend_from_slice(&[0; 10]);
            out.extend_from_slice(&body);
            while out.len() % 4 != 0 {
                out.push(0);
            }
            out
        }
        let mut datagram = message(PROC_EVENT_FORK, &[5, 5, 6, 6], &[]);
        datagram.extend(message(PROC_EVENT_FORK, &[5, 5, 7, 6], &[])); // a thread
        datagram.extend(message(PROC_EVENT_EXEC, &[6, 6], &[]));
        let mut comm = [0u8; 16];
        comm[..3].copy_from_slice(b"abc");
        datagram.extend(message(PROC_EVENT_COMM, &[6, 6], &comm));
        datagram.extend(message(PROC_EVENT_EXIT, &[6, 6, 0, 17, 5, 5], &[]));
        datagram.extend(message(0x40, &[6, 6], &[])); // other events
        assert_eq!(
            parse(&datagram),
            [
                ProcEvent::Fork {
                    parent: 5,
                    child: 6
                },
                ProcEvent::Exec { pid: 6 },
                ProcEvent::Comm {
                    pid: 6,
                    comm: b"abc".to_vec()
                },
                ProcEvent::Exit { pid: 6 },
            ]
        );
        // Truncated input is skipped, not trusted.
        assert_eq!(parse(datagram.get(..30).unwrap_or_default()), []);
        assert_eq!(parse(&[]), []);
    }

    #[test]
    fn this_process_is_found_in_proc() {
        let me = i32::try_from(std::process::id()).unwrap_or(0);
        let found = read_process(me, true);
        assert!(
            found
                .as_ref()
                .is_some_and(|i| !i.comm.is_empty() && !i.cmdline.is_empty()),
            "{found:?}"
        );
        assert!(scan(false).iter().any(|(pid, _)| *pid == me));
    }
}
