//! keepalived.conf keywords kad once parsed and ignored, now acted on, on a real segment
//! with kad or keepalived 2.2.7 as r1: `fifo_write_vrrp_states_on_reload` writes the
//! instances' states to the notify FIFO again on SIGHUP; an instance a reload removes
//! notifies FAULT, or DELETED under `notify_deleted`, alone or with its sync group.

use std::{path::Path, time::Duration};

use anyhow::Result;
use kad_tests::{
    conf::{lab_instance, vrrp_instance},
    lab::{Lab, ROUTERS, VIP},
    scratch,
};

const LIMIT: Duration = Duration::from_secs(5);

/// The lines written for the lab instance at priority 200.
const MASTER_LINE: &str = "INSTANCE \"LAB\" MASTER 200\n";
const BACKUP_LINE: &str = "INSTANCE \"LAB\" BACKUP 200\n";

/// Which daemon runs on r1.
#[derive(Clone, Copy)]
enum Daemon {
    Kad,
    Keepalived,
}

/// A lab with `daemon` on r1 (priority 200) writing its notify FIFO through a reader script
/// that appends every line to `scratch/fifo.log`, `global` lines in its global_defs; with
/// `peer`, keepalived on r2 at that priority.
fn lab_with_fifo(
    tag: &str,
    scratch: &Path,
    daemon: Daemon,
    global: &str,
    peer: Option<u8>,
) -> Result<(Lab, usize)> {
    let fifo = scratch.join("vrrp.fifo");
    let reader = scratch.join("reader.sh");
    // keepalived passes the FIFO's path as the script's last argument.
    scratch::script(
        &reader,
        &format!("exec cat \"$1\" >> {}", scratch.join("fifo.log").display()),
        0o755,
    )?;
    let config = format!(
        "global_defs {{\n  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script {}\n{global}}}\n{}",
        fifo.display(),
        reader.display(),
        lab_instance(200, "")
    );
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    if let Some(priority) = peer {
        lab.start_keepalived("r2", &lab_instance(priority, ""))?;
        // r1 then starts as Backup to a running Master, with no transition of its own.
        lab.wait_for(
            "keepalived on r2 is master",
            Duration::from_secs(10),
            || lab.holds("r2", VIP),
        )?;
    }
    let started = match daemon {
        Daemon::Kad => lab.start_kad("r1", &config)?,
        Daemon::Keepalived => lab.start_keepalived("r1", &config)?,
    };
    Ok((lab, started))
}

/// Waits for `line` in the FIFO, sends SIGHUP (same configuration) and waits until the
/// reload is logged; returns the FIFO's text after a further `settle`.
fn fifo_across_reload(
    lab: &mut Lab,
    started: usize,
    daemon: Daemon,
    scratch: &Path,
    line: &str,
    settle: Duration,
) -> Result<String> {
    let read = || std::fs::read_to_string(scratch.join("fifo.log")).unwrap_or_default();
    lab.wait_for(
        "the state reaches the FIFO",
        Duration::from_secs(10),
        || Ok(read().contains(line)),
    )?;
    lab.daemon(started)?.signal(libc::SIGHUP)?;
    let reloaded = match daemon {
        Daemon::Kad => "configuration reloaded",
        Daemon::Keepalived => "Reload complete",
    };
    lab.wait_for("the daemon reloads", LIMIT, || {
        Ok(lab.daemon_log(started)?.contains(reloaded))
    })?;
    std::thread::sleep(settle);
    Ok(read())
}

/// The FIFO's text across a reload of `daemon` on r1 as Backup to keepalived at 250.
fn backup_across_reload(tag: &str, daemon: Daemon) -> Result<String> {
    let scratch = scratch::dir(tag)?;
    let flag = "  fifo_write_vrrp_states_on_reload\n";
    let (mut lab, started) = lab_with_fifo(tag, &scratch, daemon, flag, Some(250))?;
    let settle = Duration::from_millis(800);
    fifo_across_reload(&mut lab, started, daemon, &scratch, BACKUP_LINE, settle)
}

#[test]
fn fifo_write_vrrp_states_on_reload_writes_a_backup_again_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = backup_across_reload("kk", Daemon::Keepalived)?;
    assert_eq!(
        keepalived.matches(BACKUP_LINE).count(),
        2,
        "keepalived:\n{keepalived}"
    );
    let kad = backup_across_reload("kb", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad's FIFO lines, then keepalived's");
    Ok(())
}

/// keepalived.conf(5): "the states to be sent to the FIFO(s) when keepalived reloads".
/// keepalived 2.2.7 leaves a Master out (its reload path for a Master skips the write);
/// kad writes it, as the manual says.
#[test]
fn fifo_write_vrrp_states_on_reload_writes_a_master_again() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("kf")?;
    let flag = "  fifo_write_vrrp_states_on_reload\n";
    let (mut lab, kad) = lab_with_fifo("kf", &scratch, Daemon::Kad, flag, None)?;
    let settle = Duration::from_millis(500);
    let text = fifo_across_reload(&mut lab, kad, Daemon::Kad, &scratch, MASTER_LINE, settle)?;
    assert_eq!(
        text.matches(MASTER_LINE).count(),
        2,
        "FIFO:\n{text}\n{}",
        lab.logs()
    );
    Ok(())
}

#[test]
fn without_fifo_write_vrrp_states_on_reload_a_reload_writes_nothing() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("kn")?;
    let (mut lab, kad) = lab_with_fifo("kn", &scratch, Daemon::Kad, "", None)?;
    let settle = Duration::from_millis(800);
    let text = fifo_across_reload(&mut lab, kad, Daemon::Kad, &scratch, MASTER_LINE, settle)?;
    assert_eq!(
        text.matches(MASTER_LINE).count(),
        1,
        "FIFO:\n{text}\n{}",
        lab.logs()
    );
    Ok(())
}

/// The notify lines (script arguments, sorted: scripts run concurrently) written when a
/// reload removes instance B of A and B, all Master, on `daemon` with `extra` lines in
/// each instance (`SCRIPT` in them stands for the notify script). With `grouped`, the
/// reload removes a sync group G of B and a third instance C (the group with notify
/// scripts of its own).
fn notifies_of_a_removed_instance(
    tag: &str,
    daemon: Daemon,
    extra: &str,
    grouped: bool,
) -> Result<String> {
    let scratch = scratch::dir(tag)?;
    let log = scratch.join("notify.log");
    let script = scratch.join("notify.sh");
    scratch::script(&script, &format!("echo \"$*\" >> {}", log.display()), 0o755)?;
    let lines = format!(
        "  notify {s}\n  notify_stop \"{s} stop\"\n  notify_fault \"{s} fault\"\n{}",
        extra.replace("SCRIPT", &script.to_string_lossy()),
        s = script.display()
    );
    let a = vrrp_instance("A", 51, 200, "10.77.0.110", &lines);
    let mut removed = vrrp_instance("B", 52, 200, "10.77.0.111", &lines);
    let mut gone = vec!["10.77.0.111", "INSTANCE B MASTER 200"];
    if grouped {
        removed.push_str(&vrrp_instance("C", 53, 200, "10.77.0.112", &lines));
        removed.push_str(&format!(
            "vrrp_sync_group G {{\n  group {{\n    B\n    C\n  }}\n  notify {s}\n  \
             notify_stop \"{s} group-stop\"\n  notify_fault \"{s} group-fault\"\n}}\n",
            s = script.display()
        ));
        gone.extend(["10.77.0.112", "INSTANCE C MASTER 200", "GROUP G MASTER 0"]);
    }
    let global = "global_defs {\n  script_user root\n  enable_script_security\n}\n";
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let (started, conf, reloaded) = match daemon {
        Daemon::Kad => (
            lab.start_kad("r1", &format!("{global}{a}{removed}"))?,
            "kad-r1.conf",
            "configuration reloaded",
        ),
        Daemon::Keepalived => (
            lab.start_keepalived("r1", &format!("{global}{a}{removed}"))?,
            "keepalived-r1.conf",
            "Reload complete",
        ),
    };
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    lab.wait_for("every instance is master", Duration::from_secs(10), || {
        let text = read();
        Ok(text.contains("INSTANCE A MASTER 200")
            && gone
                .iter()
                .filter(|l| l.contains(' '))
                .all(|l| text.contains(l)))
    })?;
    std::fs::write(lab.dir().join(conf), format!("{global}{a}"))?;
    let before = read().len();
    lab.daemon(started)?.signal(libc::SIGHUP)?;
    lab.wait_for("the daemon reloads", LIMIT, || {
        Ok(lab.daemon_log(started)?.contains(reloaded))
    })?;
    for vip in gone.iter().filter(|l| !l.contains(' ')) {
        lab.wait_for("the removed addresses go", LIMIT, || {
            Ok(!lab.holds("r1", vip)?)
        })?;
    }
    std::thread::sleep(Duration::from_millis(800));
    let text = read();
    let mut lines: Vec<&str> = text.get(before..).unwrap_or_default().lines().collect();
    lines.sort_unstable();
    Ok(lines.join("\n"))
}

#[test]
fn an_instance_removed_by_a_reload_notifies_fault_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = notifies_of_a_removed_instance("dk", Daemon::Keepalived, "", false)?;
    assert_eq!(keepalived, "INSTANCE B FAULT 200");
    let kad = notifies_of_a_removed_instance("dd", Daemon::Kad, "", false)?;
    assert_eq!(kad, keepalived, "kad's notifies, then keepalived's");
    Ok(())
}

#[test]
fn notify_deleted_makes_a_removed_instance_notify_deleted_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let extra = "  notify_deleted \"SCRIPT deleted\"\n";
    let keepalived = notifies_of_a_removed_instance("nk", Daemon::Keepalived, extra, false)?;
    assert_eq!(keepalived, "INSTANCE B DELETED 200\ndeleted");
    let kad = notifies_of_a_removed_instance("nd", Daemon::Kad, extra, false)?;
    assert_eq!(kad, keepalived, "kad's notifies, then keepalived's");
    Ok(())
}

#[test]
fn a_sync_group_removed_by_a_reload_notifies_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // The members notify FAULT through `notify` only; the group notifies nothing.
    let keepalived = notifies_of_a_removed_instance("gk", Daemon::Keepalived, "", true)?;
    assert_eq!(keepalived, "INSTANCE B FAULT 200\nINSTANCE C FAULT 200");
    let kad = notifies_of_a_removed_instance("gd", Daemon::Kad, "", true)?;
    assert_eq!(kad, keepalived, "kad's notifies, then keepalived's");
    Ok(())
}

#[test]
fn notify_deleted_in_a_removed_sync_group_notifies_deleted_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let extra = "  notify_deleted \"SCRIPT deleted\"\n";
    let keepalived = notifies_of_a_removed_instance("gnk", Daemon::Keepalived, extra, true)?;
    assert_eq!(
        keepalived,
        "INSTANCE B DELETED 200\nINSTANCE C DELETED 200\ndeleted\ndeleted"
    );
    let kad = notifies_of_a_removed_instance("gnd", Daemon::Kad, extra, true)?;
    assert_eq!(kad, keepalived, "kad's notifies, then keepalived's");
    Ok(())
}
