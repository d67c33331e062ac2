//! SIGHUP reload and sync groups, with `kad -f` as r1 and keepalived 2.2.7 as r2.

use std::{os::unix::fs::PermissionsExt as _, time::Duration};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::vrrp_instance,
    kad_bin,
    lab::{Lab, ROUTERS_AND_CLIENT},
};

fn lab() -> Result<Lab> {
    let lab = Lab::with_hosts("rl", ROUTERS_AND_CLIENT)?;
    Ok(lab)
}

#[test]
fn sighup_keeps_an_unchanged_instance_running_without_losing_a_probe() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = lab()?;
    lab.start_keepalived("r2", &vrrp_instance("STEADY", 51, 100, "10.77.0.100", ""))?;
    let conf = lab.dir().join("kad.conf");
    let before = vrrp_instance("STEADY", 51, 200, "10.77.0.100", "")
        + &vrrp_instance("MOVING", 52, 200, "10.77.0.101", "");
    std::fs::write(&conf, &before)?;
    let conf_arg = conf.to_string_lossy().into_owned();
    let kad = lab.start("r1", &kad_bin()?, &["-f", &conf_arg])?;
    lab.wait_until_started(kad);
    lab.wait_for("kad holds both VIPs", Duration::from_secs(10), || {
        Ok(lab.holds("r1", "10.77.0.100")? && lab.holds("r1", "10.77.0.101")?)
    })?;
    lab.wait_for(
        "the client reaches the steady VIP",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once("10.77.0.100")),
    )?;

    // Probe the steady VIP every 2 ms for 3 s while the other instance is changed.
    let probe = lab
        .host("c")?
        .command("ping")
        .args(["-n", "-q", "-i", "0.002", "-c", "1500", "10.77.0.100"])
        .output_async()?;
    std::thread::sleep(Duration::from_millis(800));
    let after = vrrp_instance("STEADY", 51, 200, "10.77.0.100", "")
        + &vrrp_instance("MOVING", 52, 200, "10.77.0.102", "");
    std::fs::write(&conf, &after)?;
    let transitions_before = lab.daemon(kad)?.log().matches("Entering").count();
    lab.daemon(kad)?.signal(libc::SIGHUP)?;
    lab.wait_for(
        "the changed instance moves to its new VIP",
        Duration::from_secs(5),
        || Ok(lab.holds("r1", "10.77.0.102")? && !lab.holds("r1", "10.77.0.101")?),
    )?;
    let output = probe.wait_with_output().context("ping")?;
    let summary = String::from_utf8_lossy(&output.stdout);
    let line = summary
        .lines()
        .find(|line| line.contains("packets transmitted"))
        .with_context(|| format!("no ping summary in {summary}"))?;
    assert!(
        line.contains("1500 packets transmitted, 1500 received"),
        "probes lost across the reload: {line}\n{}",
        lab.logs()
    );

    let log = lab.daemon(kad)?.log();
    assert!(log.contains("configuration reloaded"), "{log}");
    // STEADY made no transition: only MOVING stopped (INIT) and restarted (BACKUP, MASTER).
    let steady_moves = log
        .lines()
        .skip_while(|line| !line.contains("SIGHUP"))
        .filter(|line| line.contains("Entering") && line.contains("instance=STEADY"))
        .count();
    assert_eq!(
        steady_moves, 0,
        "the unchanged instance did not move\n{log}"
    );
    assert!(
        log.matches("Entering").count() > transitions_before,
        "the changed instance restarted"
    );
    assert!(lab.holds("r1", "10.77.0.100")?);
    // XDP (the default) stays attached across the reload: its maps are updated in place.
    assert_eq!(
        log.matches("XDP program attached").count(),
        1,
        "attached once, never re-attached\n{log}"
    );
    Ok(())
}

#[test]
fn sync_group_moves_both_instances_when_one_faults() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = lab()?;
    lab.host("r1")?.add_local_link("uplink0", "uplink1")?;
    let log = lab.dir().join("group-notify.log");
    let notify = lab.dir().join("group-notify.sh");
    std::fs::write(
        &notify,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )?;
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o755))?;

    lab.start_keepalived(
        "r2",
        &(vrrp_instance("A", 51, 100, "10.77.0.100", "")
            + &vrrp_instance("B", 52, 100, "10.77.0.101", "")),
    )?;
    let config = format!(
        "vrrp_sync_group G {{\n  group {{\n    A\n    B\n  }}\n  notify \"{}\"\n}}\n{}{}",
        notify.display(),
        vrrp_instance(
            "A",
            51,
            200,
            "10.77.0.100",
            "  track_interface {\n    uplink0\n  }\n"
        ),
        vrrp_instance("B", 52, 200, "10.77.0.101", "")
    );
    let conf = lab.dir().join("kad.conf");
    std::fs::write(&conf, config)?;
    let conf = conf.to_string_lossy().into_owned();
    let kad = lab.start("r1", &kad_bin()?, &["-f", &conf])?;
    lab.wait_until_started(kad);
    let both_on = |router: &str| -> Result<bool> {
        let host = lab.host(router)?;
        Ok(host.has_address("10.77.0.100")? && host.has_address("10.77.0.101")?)
    };
    lab.wait_for("kad holds both VIPs", Duration::from_secs(10), || {
        both_on("r1")
    })?;

    // Only A tracks the uplink; the group takes B down with it.
    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "down"])?;
    lab.wait_for("keepalived takes both VIPs", Duration::from_secs(5), || {
        both_on("r2")
    })?;
    assert!(
        !lab.holds("r1", "10.77.0.101")?,
        "B left MASTER with A\n{}",
        lab.logs()
    );
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    lab.wait_for(
        "the group's notify reports FAULT",
        Duration::from_secs(3),
        || Ok(read().contains("GROUP G FAULT")),
    )?;

    lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "up"])?;
    lab.wait_for("kad takes both back", Duration::from_secs(5), || {
        both_on("r1")
    })?;
    assert!(
        read().contains("GROUP G MASTER"),
        "group notify: {}",
        read()
    );
    Ok(())
}

/// `Command::spawn` with stdout captured, for probes that run while the test acts.
trait OutputAsync {
    fn output_async(&mut self) -> Result<std::process::Child>;
}

impl OutputAsync for std::process::Command {
    fn output_async(&mut self) -> Result<std::process::Child> {
        Ok(self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?)
    }
}
