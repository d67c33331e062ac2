//! `kad -f keepalived.conf` against FRRouting 8.4's vrrpd (the second independent VRRP
//! implementation): election, preemption and priority-0 handover both ways, VRRPv3 and v2.

use std::{process::Command, time::Duration};

use anyhow::Result;
use kad_tests::{
    kad_bin,
    lab::{Host, Lab},
    privilege::{Need, require},
};

/// The virtual address of the run, and FRR's macvlan that carries it.
#[derive(Clone, Copy)]
struct Family {
    vip: &'static str,
    prefix: u8,
    macvlan: &'static str,
}

const IPV4: Family = Family {
    vip: "10.77.0.100",
    prefix: 24,
    macvlan: "vrrp4",
};
const IPV6: Family = Family {
    vip: "fd77::100",
    prefix: 64,
    macvlan: "vrrp6",
};

fn kad_config(priority: u8, version: u8, family: Family) -> String {
    let advert = if version == 2 { "1" } else { "0.1" };
    format!(
        "vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int {advert}\n  version {version}\n\
         \x20 virtual_ipaddress {{\n    {}/{} dev eth0\n  }}\n}}\n",
        family.vip, family.prefix
    )
}

/// FRR keeps the VIP on its macvlan and puts the macvlan in protodown while backup.
fn frr_is_master(host: &Host, family: Family) -> Result<bool> {
    let out = Command::new("ip")
        .args(["-n", host.ns.name(), "-d", "link", "show", family.macvlan])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(out.status.success() && !text.contains("protodown on") && text.contains("state UP"))
}

fn run(test: &str, version: u8, family: Family) -> Result<()> {
    let vip = family.vip;
    if !require(test, Need::Root) {
        return Ok(());
    }
    let advert_ms = if version == 2 { 1000 } else { 100 };
    let takeover = Duration::from_secs(if version == 2 { 6 } else { 2 });
    let mut lab = Lab::with_hosts("fr", &[("r1", 1), ("r3", 3), ("c", 10)])?;
    lab.start_frr("r3", 150, version, advert_ms)?;
    lab.wait_for("FRR becomes master", Duration::from_secs(15), || {
        frr_is_master(lab.host("r3")?, family)
    })?;
    lab.wait_for(
        "the client reaches the VIP on FRR",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;

    let conf = lab.dir().join("kad.conf");
    std::fs::write(&conf, kad_config(200, version, family))?;
    let conf = conf.to_string_lossy().into_owned();
    let kad = lab.start("r1", &kad_bin()?, &["-f", &conf])?;
    lab.wait_until_started(kad);
    lab.wait_for("kad (priority 200) preempts FRR", takeover, || {
        lab.holds("r1", vip)
    })?;
    lab.wait_for("FRR backs off", Duration::from_secs(3), || {
        Ok(!frr_is_master(lab.host("r3")?, family)?)
    })?;
    lab.wait_for(
        "the client reaches the VIP on kad",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    std::thread::sleep(Duration::from_millis(if version == 2 { 2500 } else { 600 }));
    assert!(
        !frr_is_master(lab.host("r3")?, family)?,
        "FRR stays backup under kad\n{}",
        lab.logs()
    );

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    let took = lab.wait_for(
        "FRR takes over after kad's priority-0 advert",
        Duration::from_secs(3),
        || frr_is_master(lab.host("r3")?, family),
    )?;
    // kad keeps the VIP until it hears FRR's first advert as Master, then lets it go.
    lab.wait_for("kad removes its VIP", Duration::from_secs(2), || {
        Ok(!lab.holds("r1", vip)?)
    })?;
    lab.wait_for(
        "the client reaches the VIP on FRR again",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    eprintln!("{test}: FRR took over {took:?} after kad's SIGTERM");
    Ok(())
}

#[test]
fn v3_kad_preempts_frr_and_hands_back_on_stop() -> Result<()> {
    run(kad_tests::test_name!(), 3, IPV4)
}

#[test]
fn v3_ipv6_kad_preempts_frr_and_hands_back_on_stop() -> Result<()> {
    run(kad_tests::test_name!(), 3, IPV6)
}

#[test]
fn v2_kad_preempts_frr_and_hands_back_on_stop() -> Result<()> {
    run(kad_tests::test_name!(), 2, IPV4)
}
