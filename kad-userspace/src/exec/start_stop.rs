//! keepalived.conf global `startup_script` and `shutdown_script` (with
//! `startup_script_timeout` / `shutdown_script_timeout`, 10 s by default): the startup
//! script runs once, before anything else starts (VRRP, trackers, checkers), and kad waits
//! for it; the shutdown script runs once after everything has stopped (VIPs removed,
//! `notify_stop` run). A reload runs neither but takes the new configuration's shutdown
//! script, as keepalived 2.2.7 does. Each runs as its `USER [GROUP]`, else `script_user`,
//! else keepalived's default user; one that outlives its timeout gets SIGTERM on its process
//! group, then SIGKILL two seconds later.

use std::time::Duration;

use kad_config::model::{GlobalDefs, Script};

use super::scripts::{self, RunError, ScriptCommand, run::Output};

/// How long a timed-out script has between SIGTERM and SIGKILL (keepalived: 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// A startup or shutdown script with its timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartStopScript {
    /// What runs, as whom.
    pub script: ScriptCommand,
    /// How long it may run before it is terminated.
    pub timeout: Duration,
    /// "startup script" or "shutdown script", for logs.
    pub what: &'static str,
}

/// keepalived.conf `startup_script` of `global`, `None` when unset or when its user cannot
/// be resolved (logged).
pub fn startup(global: &GlobalDefs) -> Option<StartStopScript> {
    resolve(
        global,
        global.startup_script.as_ref()?,
        global.startup_script_timeout,
        "startup script",
    )
}

/// keepalived.conf `shutdown_script` of `global`, as [`startup`].
pub fn shutdown(global: &GlobalDefs) -> Option<StartStopScript> {
    resolve(
        global,
        global.shutdown_script.as_ref()?,
        global.shutdown_script_timeout,
        "shutdown script",
    )
}

fn resolve(
    global: &GlobalDefs,
    script: &Script,
    timeout: Duration,
    what: &'static str,
) -> Option<StartStopScript> {
    let own = script
        .user
        .as_deref()
        .map(|user| (user, script.group.as_deref()));
    match scripts::run_as(global, own) {
        Ok(run_as) => Some(StartStopScript {
            script: ScriptCommand {
                command: script.command.clone(),
                run_as,
            },
            timeout,
            what,
        }),
        Err(err) => {
            tracing::warn!(script = %script.command, error = %err, "{what} not run: no user to run it as");
            None
        }
    }
}

/// Runs `script` and waits for it to end or be terminated; how it ended is logged (a script
/// that fails or times out stops nothing, as in keepalived). Returns its exit status.
pub async fn run(script: &StartStopScript) -> Result<std::process::ExitStatus, RunError> {
    let what = script.what;
    let command = &script.script.command;
    tracing::info!(script = %command, "running {what}");
    let result = match scripts::run::start(&script.script, &[], Output::Inherit) {
        Ok(running) => running.wait_terminating(script.timeout, KILL_GRACE).await,
        Err(err) => Err(err),
    };
    match &result {
        Ok(status) if !status.success() => {
            tracing::warn!(script = %command, %status, "{what} failed");
        }
        Ok(_) => tracing::debug!(script = %command, "{what} succeeded"),
        Err(RunError::TimedOut) => {
            tracing::warn!(script = %command, timeout = ?script.timeout, "{what} timed out; terminated with its process group");
        }
        Err(err) => tracing::warn!(script = %command, error = %err, "{what} could not run"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use kad_config::place::Place;

    fn global_with(startup: &str, shutdown: Option<&str>) -> GlobalDefs {
        let script = |command: &str| Script {
            command: command.to_owned(),
            user: Some("root".to_owned()),
            group: None,
            place: Place::default(),
        };
        GlobalDefs {
            startup_script: Some(script(startup)),
            shutdown_script: shutdown.map(script),
            startup_script_timeout: Duration::from_secs(3),
            ..GlobalDefs::default()
        }
    }

    #[test]
    fn scripts_come_with_their_timeouts_and_users() {
        let global = global_with("/bin/true a", None);
        let startup = startup(&global);
        assert_eq!(
            startup
                .as_ref()
                .map(|s| (s.script.command.as_str(), s.timeout)),
            Some(("/bin/true a", Duration::from_secs(3)))
        );
        assert_eq!(startup.map(|s| s.script.run_as), Some(scripts::RunAs::ROOT));
        assert_eq!(shutdown(&global), None);
        let both = global_with("/bin/true", Some("/bin/false"));
        assert_eq!(
            shutdown(&both).map(|s| s.timeout),
            Some(Duration::from_secs(10)),
            "keepalived's default"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_script_is_waited_for_and_a_slow_one_terminated() {
        let me = scripts::RunAs {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        };
        let script = |command: &str, timeout| StartStopScript {
            script: ScriptCommand {
                command: command.to_owned(),
                run_as: me,
            },
            timeout,
            what: "startup script",
        };
        let quick = run(&script("/bin/sh -c 'exit 4'", Duration::from_secs(5))).await;
        assert_eq!(quick.ok().and_then(|s| s.code()), Some(4));
        let slow = run(&script("/bin/sleep 100", Duration::from_millis(200))).await;
        assert!(matches!(slow, Err(RunError::TimedOut)), "{slow:?}");
    }
}
