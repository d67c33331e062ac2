//! Starting scripts and ending them: every script kad runs leads its own process group, and
//! one that outlives its timeout is killed with that whole group (SIGKILL to `-pgid`, as
//! keepalived does), so a `sleep 1000 &` inside it does not survive as an orphan. A script
//! that ends by itself keeps whatever it left in the background (keepalived does not touch
//! those either).

use std::{
    process::{ExitStatus, Stdio},
    time::Duration,
};

use thiserror::Error;

use super::{RunAs, ScriptCommand, apply, split_words};

/// Why a script has no exit status.
#[derive(Debug, Error)]
pub enum RunError {
    /// The command line has no words.
    #[error("empty command")]
    Empty,
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("waiting for {program}: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// It outlived its timeout and was killed with its process group.
    #[error("timed out; killed")]
    TimedOut,
}

/// Where a script's standard output and error go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Discarded (`vrrp_script`, `MISC_CHECK`: only the exit status counts).
    Null,
    /// kad's own (notify scripts, as keepalived leaves them).
    Inherit,
}

/// A started script: the leader of its own process group until it is reaped. Dropping it
/// before then kills the group (the task that owned it was cancelled, e.g. at reload).
pub struct Running {
    child: tokio::process::Child,
    program: String,
    /// The process group (the child's pid) while the child has not been reaped.
    group: Option<nix::unistd::Pid>,
}

impl Running {
    /// The process group id (the script's pid), while it runs.
    pub fn group(&self) -> Option<u32> {
        self.group.and_then(|pid| u32::try_from(pid.as_raw()).ok())
    }

    /// Waits for the script to end; after `timeout`, kills its process group and reaps it.
    pub async fn wait(mut self, timeout: Duration) -> Result<ExitStatus, RunError> {
        let waited = tokio::time::timeout(timeout, self.child.wait()).await;
        match waited {
            Ok(Ok(status)) => {
                self.group = None;
                Ok(status)
            }
            Ok(Err(source)) => Err(RunError::Wait {
                program: self.program.clone(),
                source,
            }),
            Err(_) => {
                self.kill_group();
                // Reap the leader (SIGKILL cannot be ignored, so this returns at once).
                let _ = self.child.wait().await;
                self.group = None;
                Err(RunError::TimedOut)
            }
        }
    }

    /// Waits for the script to end; after `timeout`, sends SIGTERM to its process group,
    /// and SIGKILL `grace` later if the script has not ended by then (keepalived's handling
    /// of a `startup_script`/`shutdown_script` that times out). The group is killed whenever
    /// the script ended of that SIGTERM, so nothing it started outlives it.
    pub async fn wait_terminating(
        mut self,
        timeout: Duration,
        grace: Duration,
    ) -> Result<ExitStatus, RunError> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.group = None;
                return Ok(status);
            }
            Ok(Err(source)) => {
                return Err(RunError::Wait {
                    program: self.program.clone(),
                    source,
                });
            }
            Err(_) => {}
        }
        self.signal_group(nix::sys::signal::Signal::SIGTERM);
        let ended = tokio::time::timeout(grace, self.child.wait()).await;
        self.kill_group();
        if !matches!(ended, Ok(Ok(_))) {
            let _ = self.child.wait().await;
        }
        self.group = None;
        Err(RunError::TimedOut)
    }

    fn kill_group(&mut self) {
        self.signal_group(nix::sys::signal::Signal::SIGKILL);
    }

    fn signal_group(&self, signal: nix::sys::signal::Signal) {
        if let Some(group) = self.group
            && let Err(err) = nix::sys::signal::killpg(group, signal)
        {
            tracing::debug!(program = %self.program, pgid = group.as_raw(), %signal, error = %err, "signalling the script's process group");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Starts `script` (its command line split as keepalived does, see [`split_words`], then
/// `extra` arguments) as its user, with no standard input, as the leader of a new process
/// group.
pub fn start(script: &ScriptCommand, extra: &[&str], output: Output) -> Result<Running, RunError> {
    let words = split_words(&script.command);
    let (program, args) = words.split_first().ok_or(RunError::Empty)?;
    let mut command = tokio::process::Command::new(program);
    command.args(args).args(extra).stdin(Stdio::null());
    if output == Output::Null {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    command.process_group(0);
    apply(command.as_std_mut(), script.run_as);
    let child = command.spawn().map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    })?;
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(nix::unistd::Pid::from_raw);
    Ok(Running {
        child,
        program: program.clone(),
        group,
    })
}

/// Runs `command` as `run_as` with no standard input or output and kills it (and its
/// process group) if it runs longer than `timeout`: the way `vrrp_script` and `MISC_CHECK`
/// scripts run.
pub async fn run_with_timeout(
    command: &str,
    run_as: RunAs,
    timeout: Duration,
) -> Result<ExitStatus, RunError> {
    let script = ScriptCommand {
        command: command.to_owned(),
        run_as,
    };
    start(&script, &[], Output::Null)?.wait(timeout).await
}

/// Starts `script` with `extra` arguments and returns the task that waits for it (killing
/// its process group after `timeout`) and logs how it ended; `None` (logged) if it could not
/// start. `what` names the script in logs ("notify script", "quorum script").
pub fn spawn_logged(
    script: &ScriptCommand,
    extra: &[&str],
    timeout: Duration,
    what: &'static str,
) -> Option<tokio::task::JoinHandle<()>> {
    let text = script.command.clone();
    match start(script, extra, Output::Inherit) {
        Ok(running) => Some(tokio::spawn(async move {
            match running.wait(timeout).await {
                Ok(status) if !status.success() => {
                    tracing::warn!(script = %text, %status, "{what} failed");
                }
                Ok(_) => {}
                Err(RunError::TimedOut) => {
                    tracing::warn!(script = %text, ?timeout, "{what} timed out; killed with its process group");
                }
                Err(err) => tracing::warn!(script = %text, error = %err, "{what}"),
            }
        })),
        Err(err) => {
            tracing::warn!(script = %text, error = %err, "cannot start {what}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kad-run-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    /// A shell line that starts a background `sleep`, writes its pid to `pidfile`, then
    /// sleeps itself: a script that times out with a child.
    fn forking(pidfile: &Path) -> String {
        format!(
            "/bin/sh -c 'sleep 1000 & echo $! > {}; sleep 1000'",
            pidfile.display()
        )
    }

    fn me() -> RunAs {
        RunAs {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }

    /// Whether `pid` is still a live process (not a zombie: the orphan is reaped by init).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                // "pid (comm) S ...": the state follows the last ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .is_some_and(|state| state != "Z" && state != "X")
            })
            .unwrap_or(false)
    }

    fn read_pid(pidfile: &Path) -> u32 {
        for _ in 0..100 {
            if let Some(pid) = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|text| text.trim().parse().ok())
            {
                return pid;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no pid in {}", pidfile.display());
    }

    /// Whether `pid` ends within two seconds; if not, it is killed (no orphan is left
    /// behind by a failing test) and `false` returned.
    async fn gone(pid: u32) -> bool {
        for _ in 0..100 {
            if !alive(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Ok(pid) = i32::try_from(pid) {
            let pid = nix::unistd::Pid::from_raw(pid);
            if let Ok(group) = nix::unistd::getpgid(Some(pid)) {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            }
        }
        false
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_timed_out_script_is_killed_with_the_children_it_started() {
        let dir = scratch("timeout");
        let pidfile = dir.join("child.pid");
        let result = run_with_timeout(&forking(&pidfile), me(), Duration::from_millis(500)).await;
        assert!(matches!(result, Err(RunError::TimedOut)), "{result:?}");
        let child = read_pid(&pidfile);
        assert!(
            gone(child).await,
            "the script's background child {child} outlived the timeout (orphan left)"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_spawned_notify_script_that_times_out_loses_its_children_too() {
        let dir = scratch("notify");
        let pidfile = dir.join("child.pid");
        let script = ScriptCommand {
            command: forking(&pidfile),
            run_as: me(),
        };
        let task = spawn_logged(&script, &[], Duration::from_millis(500), "notify script")
            .unwrap_or_else(|| panic!("started"));
        task.await.unwrap_or_else(|e| panic!("{e}"));
        let child = read_pid(&pidfile);
        assert!(gone(child).await, "orphan {child} left by a notify script");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_script_that_ignores_sigterm_is_killed_after_the_grace() {
        let dir = scratch("terminating");
        let pidfile = dir.join("child.pid");
        let script = ScriptCommand {
            command: format!(
                "/bin/sh -c 'trap \"\" TERM; sleep 1000 & echo $! > {}; while :; do sleep 1; done'",
                pidfile.display()
            ),
            run_as: me(),
        };
        let running = start(&script, &[], Output::Null).unwrap_or_else(|e| panic!("{e}"));
        let result = running
            .wait_terminating(Duration::from_millis(300), Duration::from_millis(300))
            .await;
        assert!(matches!(result, Err(RunError::TimedOut)), "{result:?}");
        let child = read_pid(&pidfile);
        assert!(gone(child).await, "orphan {child} left after the grace");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_script_that_ends_by_itself_reports_its_status() {
        let ok = run_with_timeout("/bin/sh -c 'exit 3'", me(), Duration::from_secs(5)).await;
        assert_eq!(ok.map(|s| s.code()).ok(), Some(Some(3)));
        assert!(matches!(
            run_with_timeout("  ", me(), Duration::from_secs(1)).await,
            Err(RunError::Empty)
        ));
    }
}
