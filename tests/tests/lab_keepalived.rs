//! The lab harness against the reference implementation: two real keepalived 2.2.7 routers on
//! a bridged segment elect one master, a client reaches the VIP, and a SIGTERM (priority-0
//! advert) hands the VIP to the backup. This is the baseline kad's own tests compare with.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    conf::{lab_instance, router_id},
    lab::{Lab, ROUTERS_AND_CLIENT, VIP},
};

fn keepalived_conf(router: &str, priority: u8) -> String {
    router_id(router) + &lab_instance(priority, "")
}

#[test]
fn keepalived_pair_elects_one_master_and_hands_over_on_sigterm() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("ka", ROUTERS_AND_CLIENT)?;
    let r1 = lab.start_keepalived("r1", &keepalived_conf("r1", 200))?;
    lab.start_keepalived("r2", &keepalived_conf("r2", 100))?;

    lab.wait_for(
        "r1 (priority 200) holds the VIP",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    assert!(
        !lab.holds("r2", VIP)?,
        "backup r2 must not hold the VIP\n{}",
        lab.logs()
    );

    lab.daemon(r1)?.signal(libc::SIGTERM)?;
    let took = lab.wait_for(
        "r2 takes the VIP after r1's SIGTERM",
        Duration::from_secs(5),
        || lab.holds("r2", VIP),
    )?;
    eprintln!("keepalived handover after SIGTERM: VIP on r2 after {took:?}");
    assert!(
        lab.daemon(r1)?.wait_exit(Duration::from_secs(5))?,
        "keepalived r1 did not exit"
    );
    assert!(!lab.holds("r1", VIP)?, "r1 removed the VIP on stop");
    lab.wait_for(
        "the client reaches the VIP on r2",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP)),
    )?;
    Ok(())
}
