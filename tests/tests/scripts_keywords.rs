//! keepalived.conf scripts kad once parsed and ignored, kad against keepalived 2.2.7 on the
//! same lab: global `startup_script` (run and waited for before the instances start, killed
//! after `startup_script_timeout`) and `shutdown_script` (after the instances stopped and
//! notified STOP, killed after `shutdown_script_timeout`).

use std::{path::Path, time::Duration};

use anyhow::{Result, ensure};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS},
    scratch,
};

/// Which daemon runs on r1.
#[derive(Clone, Copy, Debug)]
enum Daemon {
    Kad,
    Keepalived,
}

const SECURE: &str = "  script_user root\n  enable_script_security\n";

/// Starts `daemon` on r1 with `global` lines (`SCRIPT` standing for a script that appends
/// its arguments to a log) and the lab instance with `instance` lines; returns the lab,
/// the daemon and the log's path.
fn start(
    tag: &str,
    daemon: Daemon,
    global: &str,
    instance: &str,
) -> Result<(Lab, usize, std::path::PathBuf)> {
    let dir = scratch::dir(tag)?;
    let log = dir.join("events.log");
    let script = dir.join("event.sh");
    scratch::script(&script, &format!("echo \"$*\" >> {}", log.display()), 0o755)?;
    let script = script.to_string_lossy();
    let config = format!(
        "global_defs {{\n{SECURE}{}}}\n{}",
        global.replace("SCRIPT", &script),
        lab_instance(200, &instance.replace("SCRIPT", &script))
    );
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let started = match daemon {
        Daemon::Kad => lab.start_kad("r1", &config)?,
        Daemon::Keepalived => lab.start_keepalived("r1", &config)?,
    };
    Ok((lab, started, log))
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The events of a run of `daemon`: started alone on r1 (it becomes Master), then stopped
/// with SIGTERM. The startup script logs `start` and then outlives its 1 s timeout; the
/// shutdown script logs `stop` and outlives its own.
fn start_and_stop(tag: &str, daemon: Daemon) -> Result<String> {
    let global = "  startup_script \"/bin/sh -c 'SCRIPT start; exec sleep 100'\"\n\
                  \x20 startup_script_timeout 1\n\
                  \x20 shutdown_script \"/bin/sh -c 'SCRIPT stop; exec sleep 100'\"\n\
                  \x20 shutdown_script_timeout 1\n";
    let (mut lab, started, log) = start(tag, daemon, global, "  notify SCRIPT\n")?;
    lab.wait_for(
        "the instance notifies MASTER",
        Duration::from_secs(10),
        || Ok(read(&log).contains("MASTER")),
    )?;
    lab.daemon(started)?.signal(libc::SIGTERM)?;
    let exited = lab.daemon(started)?.wait_exit(Duration::from_secs(8))?;
    ensure!(exited, "{daemon:?} still running\n{}", lab.logs());
    Ok(read(&log))
}

#[test]
fn startup_and_shutdown_scripts_run_first_and_last_as_keepalived_runs_them() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = start_and_stop("ssk", Daemon::Keepalived)?;
    assert_eq!(
        keepalived,
        "start\nINSTANCE LAB BACKUP 200\nINSTANCE LAB MASTER 200\nINSTANCE LAB STOP 200\nstop\n",
        "keepalived"
    );
    let kad = start_and_stop("ssd", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad's events, then keepalived's");
    Ok(())
}
