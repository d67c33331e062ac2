//! Tracked objects and notify scripts, with kad as r1 and keepalived 2.2.7 as r2 on a real
//! segment: `track_script` and `track_file` weights move mastership, `track_interface`
//! failure puts kad in FAULT, and notify scripts run with keepalived's arguments.

use std::{os::unix::fs::PermissionsExt as _, path::Path, time::Duration};

use anyhow::Result;
use kad_tests::{conf::vrrp_instance, lab::Lab};

const VIP: &str = "10.77.0.100";

fn instance(priority: u8, extra: &str) -> String {
    vrrp_instance("LAB", 51, priority, VIP, extra)
}

/// A lab with keepalived (priority 100) on r2 and kad on r1 with `kad_config`.
fn lab_with(kad_config: &str) -> Result<(Lab, usize)> {
    let mut lab = Lab::new("tr")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    lab.start_keepalived("r2", &instance(100, ""))?;
    let kad = lab.start_kad("r1", kad_config)?;
    Ok((lab, kad))
}

fn r1_holds(lab: &Lab) -> Result<bool> {
    lab.host("r1")?.has_address(VIP)
}

fn r2_holds(lab: &Lab) -> Result<bool> {
    lab.host("r2")?.has_address(VIP)
}

fn script(path: &Path, body: &str) -> Result<()> {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn track_script_weight_moves_mastership_both_ways() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = tempdir("script")?;
    let flag = scratch.join("healthy");
    std::fs::write(&flag, "")?;
    let check = scratch.join("check.sh");
    script(&check, &format!("test -f {}", flag.display()))?;
    let config = format!(
        "vrrp_script chk {{\n  script \"{}\"\n  interval 1\n  weight -150\n}}\n{}",
        check.display(),
        instance(200, "  track_script {\n    chk\n  }\n")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for(
        "kad (200, script ok) is master",
        Duration::from_secs(10),
        || r1_holds(&lab),
    )?;
    lab.wait_for("keepalived is backup", LIMIT, || Ok(!r2_holds(&lab)?))?;

    std::fs::remove_file(&flag)?;
    lab.wait_for(
        "script fails: 200-150 = 50 < 100, keepalived preempts",
        LIMIT,
        || r2_holds(&lab),
    )?;
    lab.wait_for("kad gives the VIP up", LIMIT, || Ok(!r1_holds(&lab)?))?;

    std::fs::write(&flag, "")?;
    lab.wait_for("script succeeds again: kad (200) preempts", LIMIT, || {
        r1_holds(&lab)
    })?;
    lab.wait_for("keepalived backs off", LIMIT, || Ok(!r2_holds(&lab)?))?;
    Ok(())
}

#[test]
fn track_file_value_times_weight_moves_mastership() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = tempdir("file")?;
    let file = scratch.join("prio");
    std::fs::write(&file, "0\n")?;
    let config = format!(
        "track_file level {{\n  file {}\n  weight 1\n}}\n{}",
        file.display(),
        instance(200, "  track_file {\n    level\n  }\n")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for("kad (200 + 0) is master", Duration::from_secs(10), || {
        r1_holds(&lab)
    })?;
    std::fs::write(&file, "-150\n")?;
    lab.wait_for("200 - 150 = 50: keepalived preempts", LIMIT, || {
        r2_holds(&lab)
    })?;
    std::fs::write(&file, "10\n")?;
    lab.wait_for("210: kad preempts", LIMIT, || r1_holds(&lab))?;
    Ok(())
}

#[test]
fn track_interface_down_puts_kad_in_fault_and_up_brings_it_back() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::new("ti")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    // A second link on r1 to track: a veth pair inside r1 (uplink0 loses carrier when its
    // peer goes down).
    lab.host("r1")?.add_local_link("uplink0", "uplink1")?;
    lab.start_keepalived("r2", &instance(100, ""))?;
    let kad = lab.start_kad(
        "r1",
        &instance(200, "  track_interface {\n    uplink0\n  }\n"),
    )?;
    lab.wait_for("kad is master", Duration::from_secs(10), || r1_holds(&lab))?;

    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "down"])?;
    lab.wait_for(
        "tracked interface down: kad goes FAULT and drops the VIP",
        LIMIT,
        || Ok(!r1_holds(&lab)?),
    )?;
    lab.wait_for("keepalived takes over", LIMIT, || r2_holds(&lab))?;
    assert!(
        lab.daemon(kad)?.log().contains("Entering FAULT STATE"),
        "{}",
        lab.logs()
    );

    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "up"])?;
    lab.wait_for(
        "tracked interface up: kad (200) preempts again",
        LIMIT,
        || r1_holds(&lab),
    )?;
    Ok(())
}

#[test]
fn notify_scripts_run_with_keepalived_arguments() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = tempdir("notify")?;
    let log = scratch.join("notify.log");
    let generic = scratch.join("notify.sh");
    script(
        &generic,
        &format!("echo \"notify $*\" >> {}", log.display()),
    )?;
    let master = scratch.join("master.sh");
    script(&master, &format!("echo \"master $*\" >> {}", log.display()))?;
    let extra = format!(
        "  notify \"{}\"\n  notify_master \"{} extra-arg\"\n",
        generic.display(),
        master.display()
    );
    let (mut lab, kad) = lab_with(&instance(200, &extra))?;
    lab.wait_for("kad is master", Duration::from_secs(10), || r1_holds(&lab))?;
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    lab.wait_for("notify scripts ran", LIMIT, || {
        let text = read();
        Ok(text.contains("notify INSTANCE LAB MASTER 200") && text.contains("master extra-arg"))
    })?;
    assert!(
        read().contains("notify INSTANCE LAB BACKUP 200"),
        "BACKUP at start: {}",
        read()
    );
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    lab.wait_for("STOP notified", LIMIT, || {
        Ok(read().contains("notify INSTANCE LAB STOP"))
    })?;
    Ok(())
}

/// A scratch folder for one test's scripts and files (under the system temp folder).
fn tempdir(tag: &str) -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kad-track-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn notify_fifo_script_receives_keepalived_lines() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = tempdir("fifo")?;
    let fifo = scratch.join("vrrp.fifo");
    let log = scratch.join("fifo.log");
    let reader = scratch.join("reader.sh");
    // keepalived passes the FIFO's path as the script's last argument.
    script(&reader, &format!("exec cat \"$1\" >> {}", log.display()))?;
    let config = format!(
        "global_defs {{\n  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script {}\n}}\n{}",
        fifo.display(),
        reader.display(),
        instance(200, "")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for("kad is master", Duration::from_secs(10), || r1_holds(&lab))?;
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    lab.wait_for("FIFO lines arrive", LIMIT, || {
        let text = read();
        Ok(text.contains("INSTANCE \"LAB\" BACKUP 200\n")
            && text.contains("INSTANCE \"LAB\" MASTER 200\n"))
    })?;
    Ok(())
}
