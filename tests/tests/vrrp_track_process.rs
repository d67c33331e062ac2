//! `vrrp_track_process` on a real segment: kad as r1 (keepalived 2.2.7 as r2 where a peer is
//! needed) tracks processes started inside r1's namespace. A weighted process moves
//! mastership when it dies and back when it returns; a quorum range with weight 0 puts kad
//! in FAULT outside the range; `terminate_delay` rides out a restart. Also the kernel's
//! process events (the proc connector kad prefers) seen directly from this process.
//!
//! Processes are matched by name (`/proc/PID/comm`, from a copy of `sleep` named per test)
//! or, with `full_command`, by `argv[0]` and parameters (`exec -a`). Names carry this test
//! process's id so that concurrent tests never count each other's processes.

use std::{
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS, VIP},
    privilege::record_skip,
    scratch,
};

const LIMIT: Duration = Duration::from_secs(5);

/// A per-test process name (at most 15 bytes: the kernel's limit for a process name).
fn unique(tag: &str) -> String {
    format!("kadtp{tag}{}", std::process::id() % 100_000)
}

/// `sleep` under the name `name` (a symbolic link: the kernel takes a process's name from
/// the path it was started by): processes started from it have that process name. A link
/// rather than a copy, because a copy is written by this process, and a copy's write
/// descriptor, inherited for a moment by a child that another test thread is forking, makes
/// starting it fail with "Text file busy" (ETXTBSY).
fn named_sleep(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    let sleep = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("no sleep binary")?;
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(sleep, &path)
        .with_context(|| format!("linking {} to {sleep}", path.display()))?;
    Ok(path)
}

/// Processes started for a test; killed (and reaped) when dropped.
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    /// Starts `program args` inside `host`'s namespace.
    fn start(&mut self, lab: &Lab, host: &str, program: &str, args: &[&str]) -> Result<()> {
        let child = lab
            .host(host)?
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        self.0.push(child);
        Ok(())
    }

    /// Kills the most recently started process and reaps it.
    fn kill_last(&mut self) -> Result<()> {
        let last = self.0.len().checked_sub(1).context("no process left")?;
        self.kill(last)
    }

    /// Kills the `index`th process still running (in start order) and reaps it.
    fn kill(&mut self, index: usize) -> Result<()> {
        if index >= self.0.len() {
            bail!("no process {index}");
        }
        let mut child = self.0.remove(index);
        let killed = child.kill();
        child.wait()?;
        Ok(killed?)
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Fails if `condition` stops holding at any poll during `span`.
fn holds_throughout(
    lab: &Lab,
    what: &str,
    span: Duration,
    mut condition: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < span {
        if !condition()? {
            bail!(
                "{what}: stopped holding after {:?}\n{}",
                start.elapsed(),
                lab.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

#[test]
fn track_process_weight_moves_mastership_both_ways() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // full_command: argv[0] set with `exec -a` (the process name stays "sleep"), and the
    // parameter must match exactly.
    let argv0 = unique("w");
    let start = format!("exec -a {argv0} sleep 1000");
    let config = format!(
        "vrrp_track_process daemon {{\n  process {argv0} 1000\n  weight -150\n}}\n{}",
        lab_instance(200, "  track_process {\n    daemon\n  }\n")
    );
    let mut lab = Lab::with_hosts("tp", ROUTERS)?;
    let mut procs = Procs::default();
    procs.start(&lab, "r1", "bash", &["-c", &start])?;
    // The same name with another parameter is not counted.
    procs.start(
        &lab,
        "r1",
        "bash",
        &["-c", &format!("exec -a {argv0} sleep 999")],
    )?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad("r1", &config)?;
    lab.wait_for(
        "kad (200, process running) is master",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for("keepalived is backup", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;

    // Kill the counted one (the first started); the other keeps running.
    procs.kill(0)?;
    lab.wait_for(
        "process gone: 200-150 = 50 < 100, keepalived preempts",
        LIMIT,
        || lab.holds("r2", VIP),
    )?;
    lab.wait_for("kad gives the VIP up", LIMIT, || Ok(!lab.holds("r1", VIP)?))?;

    procs.start(&lab, "r1", "bash", &["-c", &start])?;
    lab.wait_for("process back: kad (200) preempts", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    lab.wait_for("keepalived backs off", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;
    let log = lab.daemon(kad)?.log();
    assert!(
        log.contains("quorum lost") && log.contains("quorum gained"),
        "{log}"
    );
    Ok(())
}

#[test]
fn track_process_quorum_range_with_weight_zero_means_fault_outside_it() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("quorum")?;
    let name = unique("q");
    let program = named_sleep(&scratch, &name)?;
    let program = program.to_string_lossy().into_owned();
    let config = format!(
        "vrrp_track_process workers {{\n  process {name}\n  quorum 2\n  quorum_max 3\n  weight 0\n}}\n{}",
        lab_instance(200, "  track_process {\n    workers\n  }\n")
    );
    let mut lab = Lab::with_hosts("tq", &[("r1", 1)])?;
    let mut procs = Procs::default();
    procs.start(&lab, "r1", &program, &["1000"])?;
    lab.start_kad("r1", &config)?;
    let log = lab.dir().join("kad-r1.log");
    lab.wait_for("one worker of 2..3: FAULT", LIMIT, || {
        Ok(std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("Entering FAULT STATE"))
    })?;
    holds_throughout(
        &lab,
        "no VIP while in FAULT",
        Duration::from_secs(1),
        || Ok(!lab.holds("r1", VIP)?),
    )?;

    procs.start(&lab, "r1", &program, &["1000"])?;
    lab.wait_for("two workers: out of FAULT, master", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    procs.start(&lab, "r1", &program, &["1000"])?;
    holds_throughout(
        &lab,
        "three workers: still master",
        Duration::from_millis(500),
        || lab.holds("r1", VIP),
    )?;
    procs.start(&lab, "r1", &program, &["1000"])?;
    lab.wait_for("four workers > quorum_max 3: FAULT", LIMIT, || {
        Ok(!lab.holds("r1", VIP)?)
    })?;
    procs.kill_last()?;
    lab.wait_for("back to three: master again", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    procs.kill_last()?;
    procs.kill_last()?;
    lab.wait_for("one left: FAULT", LIMIT, || Ok(!lab.holds("r1", VIP)?))?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

#[test]
fn track_process_terminate_delay_rides_out_a_restart() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("delay")?;
    let name = unique("d");
    let program = named_sleep(&scratch, &name)?;
    let program = program.to_string_lossy().into_owned();
    let config = format!(
        "vrrp_track_process svc {{\n  process {name}\n  weight -150\n  terminate_delay 2\n}}\n{}",
        lab_instance(200, "  track_process {\n    svc\n  }\n")
    );
    let mut lab = Lab::with_hosts("td", ROUTERS)?;
    let mut procs = Procs::default();
    procs.start(&lab, "r1", &program, &["1000"])?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    lab.start_kad("r1", &config)?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;

    // A restart well within terminate_delay: no failover.
    procs.kill_last()?;
    std::thread::sleep(Duration::from_millis(300));
    procs.start(&lab, "r1", &program, &["1000"])?;
    holds_throughout(
        &lab,
        "restart within terminate_delay: kad stays master",
        Duration::from_millis(3000),
        || lab.holds("r1", VIP),
    )?;

    // Gone for good: down after the delay, not before.
    procs.kill_last()?;
    let gone = Instant::now();
    lab.wait_for(
        "down after terminate_delay: keepalived preempts",
        LIMIT,
        || lab.holds("r2", VIP),
    )?;
    assert!(
        gone.elapsed() >= Duration::from_millis(1900),
        "failover after {:?}, before terminate_delay",
        gone.elapsed()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

#[test]
fn proc_connector_reports_exec_and_exit_of_a_child() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let connector = match kad::track::process::connector::Connector::open() {
            Ok(connector) => connector,
            Err(err) => {
                kad_tests::skip!("no proc connector here: {err}");
            }
        };
        let child = std::process::Command::new("sleep").arg("0.2").spawn()?;
        let pid = i32::try_from(child.id())?;
        let mut child = child;
        let mut buffer = vec![0u8; 16 * 1024];
        let (mut exec, mut exit) = (false, false);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !(exec && exit) {
            let events =
                match tokio::time::timeout_at(deadline, connector.receive(&mut buffer)).await {
                    Ok(events) => events?,
                    Err(_) => bail!("exec {exec}, exit {exit} of pid {pid} within 5 s"),
                };
            for event in events {
                match event {
                    kad::track::process::monitor::ProcEvent::Exec { pid: p } if p == pid => {
                        exec = true
                    }
                    kad::track::process::monitor::ProcEvent::Exit { pid: p } if p == pid => {
                        exit = true
                    }
                    _ => {}
                }
            }
        }
        child.wait()?;
        Ok(())
    })
}

#[test]
fn process_tracker_follows_kernel_events_outside_any_lab() -> Result<()> {
    kad_tests::skip_unless!(Root);
    use kad::{
        track::{TrackerUpdate, process::rules::ProcessSpec},
        vrrp::fsm::TrackerStatus,
    };
    let scratch = scratch::dir("events")?;
    let name = unique("e");
    let program = named_sleep(&scratch, &name)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if let Err(err) = kad::track::process::connector::Connector::open() {
            record_skip(
                kad_tests::test_name!(),
                &format!("no proc connector here: {err}"),
            );
            return Ok::<(), anyhow::Error>(());
        }
        let (updates, mut received) = tokio::sync::mpsc::channel(16);
        let spec = ProcessSpec::new("svc", &name);
        let tracker = tokio::spawn(kad::track::process::run(vec![(7, spec)], updates));
        let mut next = async |step: &str| -> Result<TrackerStatus> {
            match tokio::time::timeout(Duration::from_secs(5), received.recv()).await {
                Ok(Some(TrackerUpdate { index: 7, status })) => Ok(status),
                other => bail!("{step}: no update within 5 s: {other:?}"),
            }
        };
        assert_eq!(
            next("at start").await?,
            TrackerStatus::Down,
            "none running at start"
        );
        let mut child = std::process::Command::new(&program)
            .arg("1000")
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let started = Instant::now();
        assert_eq!(next("started").await?, TrackerStatus::Up);
        let up_after = started.elapsed();
        child.kill()?;
        let killed = Instant::now();
        assert_eq!(next("killed").await?, TrackerStatus::Down);
        let down_after = killed.elapsed();
        child.wait()?;
        tracker.abort();
        eprintln!(
            "{}: up after {up_after:?}, down after {down_after:?}",
            kad_tests::test_name!()
        );
        Ok(())
    })?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
