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

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::vrrp::fsm::TrackerStatus;

use super::{TrackerIndex, TrackerUpdate};

use self::{
    connector::{Connector, ConnectorError},
    monitor::{Monitor, ProcEvent},
    quorum::Quorum,
    rules::{COMM_MAX, ProcessSpec},
    scan::{read_process, scan},
};

pub mod connector;
pub mod monitor;
pub mod quorum;
pub mod rules;
pub mod scan;

/// How often `/proc` is read when the kernel's process events are unavailable.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// How long to let things settle after the kernel dropped process events before reading
/// `/proc` again (keepalived: one second).
pub const RESYNC_AFTER: Duration = Duration::from_secs(1);

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
            if !send(&updates, *index, quorum.is_up()).await {
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
            if !send(&updates, *index, up).await {
                return;
            }
        }
    }
}

/// Sends tracker `index`'s status (quorum held: up); false when the protocol loop is gone.
async fn send(updates: &mpsc::Sender<TrackerUpdate>, index: TrackerIndex, up: bool) -> bool {
    let status = if up {
        TrackerStatus::Up
    } else {
        TrackerStatus::Down
    };
    updates.send(TrackerUpdate { index, status }).await.is_ok()
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
    use super::{connector::*, monitor::*, quorum::*, rules::*, scan::*, *};

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
