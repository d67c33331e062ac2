//! Static track groups (`track_group NAME { group { INSTANCE } }` and `track_group NAME` on
//! `static_ipaddress` / `static_routes`), kad and keepalived 2.2.7 side by side: each runs
//! the same configuration alone on its own segment and is Master; then the same fault is
//! made on both. keepalived 2.2.7 restores a deleted static address at once (the instance
//! stays Master), and puts the group's instances in FAULT while the entry's interface is
//! down (the entry cannot be restored there), back to Master with the static route added
//! again when it comes up. kad must do the same.

use std::{process::Command, time::Duration};

use anyhow::{Context, Result};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, VIP},
};

const STATIC_ADDRESS: &str = "192.0.2.1";
const STATIC_ROUTE: &str = "198.51.100.0/24";
const LIMIT: Duration = Duration::from_secs(5);

/// The configuration both daemons run: instance LAB (alone, so Master) in group G, which
/// tracks a static address and a static route on `uplink0`.
fn config() -> String {
    format!(
        "track_group G {{\n  group {{\n    LAB\n  }}\n}}\n\
         static_ipaddress {{\n  {STATIC_ADDRESS}/24 dev uplink0 track_group G\n}}\n\
         static_routes {{\n  {STATIC_ROUTE} via 192.0.2.254 dev uplink0 track_group G\n}}\n{}",
        lab_instance(200, "")
    )
}

/// Which daemon runs in a lab.
#[derive(Clone, Copy, Debug)]
enum Daemon {
    Kad,
    Keepalived,
}

/// A segment with one router `r1` that has a second link `uplink0` (its veth peer
/// `uplink1` inside r1 takes its carrier away), running `daemon` with [`config`], Master.
fn router(tag: &str, daemon: Daemon) -> Result<(Lab, usize)> {
    let mut lab = Lab::with_hosts(tag, &[("r1", 1)])?;
    lab.host("r1")?.add_local_link("uplink0", "uplink1")?;
    let index = match daemon {
        Daemon::Kad => lab.start_kad("r1", &config())?,
        Daemon::Keepalived => lab.start_keepalived("r1", &config())?,
    };
    lab.wait_for(
        &format!("{daemon:?} alone is Master"),
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for(
        &format!("{daemon:?} installs the static address"),
        LIMIT,
        || lab.holds("r1", STATIC_ADDRESS),
    )?;
    Ok((lab, index))
}

/// Whether r1 has the static route.
fn has_route(lab: &Lab) -> Result<bool> {
    let host = lab.host("r1")?;
    let out = Command::new("ip")
        .args(["-n", host.ns.name(), "route", "show", STATIC_ROUTE])
        .output()
        .context("ip route show")?;
    Ok(!String::from_utf8_lossy(&out.stdout).trim().is_empty())
}

/// Both daemons, each in its own lab.
fn both(tag: &str) -> Result<Vec<(Daemon, Lab, usize)>> {
    let mut labs = Vec::new();
    for (suffix, daemon) in [("k", Daemon::Keepalived), ("d", Daemon::Kad)] {
        let (lab, index) = router(&format!("{tag}{suffix}"), daemon)?;
        labs.push((daemon, lab, index));
    }
    Ok(labs)
}

#[test]
fn a_deleted_static_address_is_restored_and_the_instance_stays_master() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut labs = both("tga")?;
    for (daemon, lab, _) in &labs {
        lab.host("r1")?.ns.ip(&[
            "addr",
            "del",
            &format!("{STATIC_ADDRESS}/24"),
            "dev",
            "uplink0",
        ])?;
        lab.wait_for(
            &format!("{daemon:?} restores the deleted static address"),
            LIMIT,
            || lab.holds("r1", STATIC_ADDRESS),
        )?;
    }
    std::thread::sleep(Duration::from_millis(500));
    for (daemon, lab, index) in &mut labs {
        assert!(lab.holds("r1", VIP)?, "{daemon:?} is still Master");
        let log = lab.daemon(*index)?.log();
        assert!(
            !log.contains("Entering FAULT STATE"),
            "{daemon:?} must not go FAULT:\n{log}"
        );
    }
    Ok(())
}

#[test]
fn the_group_goes_fault_while_the_static_entries_interface_is_down() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut labs = both("tgf")?;
    for (_, lab, _) in &labs {
        lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "down"])?;
    }
    for (daemon, lab, index) in &mut labs {
        lab.wait_for(
            &format!("{daemon:?}: static entry's link down, FAULT drops the VIP"),
            LIMIT,
            || Ok(!lab.holds("r1", VIP)?),
        )?;
        let log = lab.daemon(*index)?.log();
        assert!(
            log.contains("Entering FAULT STATE"),
            "{daemon:?} goes FAULT:\n{log}"
        );
    }
    for (_, lab, _) in &labs {
        lab.host("r1")?.ns.ip(&["link", "set", "uplink1", "up"])?;
    }
    for (daemon, lab, _) in &labs {
        lab.wait_for(
            &format!("{daemon:?}: link back up, Master again"),
            LIMIT,
            || lab.holds("r1", VIP),
        )?;
        lab.wait_for(
            &format!("{daemon:?}: the static route is added again"),
            LIMIT,
            || has_route(lab),
        )?;
    }
    Ok(())
}
