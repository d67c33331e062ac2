//! Tracked objects and notify scripts, with kad as r1 and keepalived 2.2.7 as r2 on a real
//! segment: `track_script` and `track_file` weights move mastership, `track_interface`
//! failure puts kad in FAULT, and notify scripts run with keepalived's arguments.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS, VIP},
    scratch,
};

/// A lab with keepalived (priority 100) on r2 and kad on r1 with `kad_config`.
fn lab_with(kad_config: &str) -> Result<(Lab, usize)> {
    let mut lab = Lab::with_hosts("tr", ROUTERS)?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad("r1", kad_config)?;
    Ok((lab, kad))
}

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn track_script_weight_moves_mastership_both_ways() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("script")?;
    let flag = scratch.join("healthy");
    std::fs::write(&flag, "")?;
    let check = scratch.join("check.sh");
    scratch::script(&check, &format!("test -f {}", flag.display()), 0o755)?;
    let config = format!(
        "vrrp_script chk {{\n  script \"{}\"\n  interval 1\n  weight -150\n}}\n{}",
        check.display(),
        lab_instance(200, "  track_script {\n    chk\n  }\n")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for(
        "kad (200, script ok) is master",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for("keepalived is backup", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;

    std::fs::remove_file(&flag)?;
    lab.wait_for(
        "script fails: 200-150 = 50 < 100, keepalived preempts",
        LIMIT,
        || lab.holds("r2", VIP),
    )?;
    lab.wait_for("kad gives the VIP up", LIMIT, || Ok(!lab.holds("r1", VIP)?))?;

    std::fs::write(&flag, "")?;
    lab.wait_for("script succeeds again: kad (200) preempts", LIMIT, || {
        lab.holds("r1", VIP)
    })?;
    lab.wait_for("keepalived backs off", LIMIT, || Ok(!lab.holds("r2", VIP)?))?;
    Ok(())
}

#[test]
fn track_file_value_times_weight_moves_mastership() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("file")?;
    let file = scratch.join("prio");
    std::fs::write(&file, "0\n")?;
    let config = format!(
        "track_file level {{\n  file {}\n  weight 1\n}}\n{}",
        file.display(),
        lab_instance(200, "  track_file {\n    level\n  }\n")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for("kad (200 + 0) is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    std::fs::write(&file, "-150\n")?;
    lab.wait_for("200 - 150 = 50: keepalived preempts", LIMIT, || {
        lab.holds("r2", VIP)
    })?;
    std::fs::write(&file, "10\n")?;
    lab.wait_for("210: kad preempts", LIMIT, || lab.holds("r1", VIP))?;
    Ok(())
}

#[test]
fn track_interface_down_puts_kad_in_fault_and_up_brings_it_back() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("ti", ROUTERS)?;
    // A second link on r1 to track: a veth pair inside r1 (uplink0 loses carrier when its
    // peer goes down).
    lab.host("r1")?.add_local_link("uplink0", "uplink1")?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad(
        "r1",
        &lab_instance(200, "  track_interface {\n    uplink0\n  }\n"),
    )?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;

    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "down"])?;
    lab.wait_for(
        "tracked interface down: kad goes FAULT and drops the VIP",
        LIMIT,
        || Ok(!lab.holds("r1", VIP)?),
    )?;
    lab.wait_for("keepalived takes over", LIMIT, || lab.holds("r2", VIP))?;
    assert!(
        lab.daemon(kad)?.log().contains("Entering FAULT STATE"),
        "{}",
        lab.logs()
    );

    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "up"])?;
    lab.wait_for(
        "tracked interface up: kad (200) preempts again",
        LIMIT,
        || lab.holds("r1", VIP),
    )?;
    Ok(())
}

#[test]
fn notify_scripts_run_with_keepalived_arguments() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("notify")?;
    let log = scratch.join("notify.log");
    let generic = scratch.join("notify.sh");
    scratch::script(
        &generic,
        &format!("echo \"notify $*\" >> {}", log.display()),
        0o755,
    )?;
    let master = scratch.join("master.sh");
    scratch::script(
        &master,
        &format!("echo \"master $*\" >> {}", log.display()),
        0o755,
    )?;
    let extra = format!(
        "  notify \"{}\"\n  notify_master \"{} extra-arg\"\n",
        generic.display(),
        master.display()
    );
    let (mut lab, kad) = lab_with(&lab_instance(200, &extra))?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
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

#[test]
fn notify_fifo_script_receives_keepalived_lines() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("fifo")?;
    let fifo = scratch.join("vrrp.fifo");
    let log = scratch.join("fifo.log");
    let reader = scratch.join("reader.sh");
    // keepalived passes the FIFO's path as the script's last argument.
    scratch::script(
        &reader,
        &format!("exec cat \"$1\" >> {}", log.display()),
        0o755,
    )?;
    let config = format!(
        "global_defs {{\n  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script {}\n}}\n{}",
        fifo.display(),
        reader.display(),
        lab_instance(200, "")
    );
    let (lab, _kad) = lab_with(&config)?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    lab.wait_for("FIFO lines arrive", LIMIT, || {
        let text = read();
        Ok(text.contains("INSTANCE \"LAB\" BACKUP 200\n")
            && text.contains("INSTANCE \"LAB\" MASTER 200\n"))
    })?;
    Ok(())
}
