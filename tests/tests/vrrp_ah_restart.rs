//! Issue 13 item 7: `auth_type AH` between two kad routers, and the Master restarted. The
//! restarted kad numbers its AH sequence from 1 again; the Backup must accept it once the
//! old sequence has been silent for Master_Down_Interval (RFC 2402 §3.4.3 anti-replay with
//! the sender's restart, see `vrrp::packet::auth::replay`), give the VIP back, and not stay
//! Master beside it (two masters).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kad_tests::lab::{Lab, ROUTERS, VIP};

fn config(priority: u8) -> String {
    format!(
        "vrrp_instance AH {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n\
         \x20 priority {priority}\n  advert_int 1\n  version 2\n\
         \x20 authentication {{\n    auth_type AH\n    auth_pass kadtest1\n  }}\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

#[test]
fn a_restarted_ah_master_is_accepted_again_and_the_backup_steps_down() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("ah", ROUTERS)?;
    let master = lab.start_kad("r1", &config(200))?;
    let backup = lab.start_kad("r2", &config(100))?;
    let holds = |lab: &Lab, host: &str| lab.host(host).and_then(|h| h.has_address(VIP));
    lab.wait_for("r1 is master, r2 backup", Duration::from_secs(15), || {
        Ok(holds(&lab, "r1")? && !holds(&lab, "r2")?)
    })?;
    // Let the sequence grow well above where a restart begins (one advert a second: about
    // 20); r2 stays backup all along (it accepts r1's AH adverts).
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if holds(&lab, "r2")? {
            bail!(
                "r2 does not accept r1's AH adverts\n{}",
                lab.daemon_log(backup)?
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Stop r1 (priority 0 advert): r2 takes over.
    lab.daemon(master)?.signal(libc::SIGTERM)?;
    if !lab.daemon(master)?.wait_exit(Duration::from_secs(10))? {
        bail!("kad on r1 did not stop\n{}", lab.logs());
    }
    lab.wait_for("r2 takes over", Duration::from_secs(10), || {
        holds(&lab, "r2")
    })?;

    // Restart r1 at once. It is Backup for one Master_Down_Interval (3.6 s), then Master
    // numbering from 1: r2 last heard r1 longer ago than that, so it must accept r1 at once
    // and give the VIP back. (A guard that never forgets refuses r1 until its new numbers
    // pass the old ~20, some 20 s of two masters.)
    lab.start_kad("r1", &config(200))?;
    lab.wait_for(
        "restarted r1 is master and r2 gave the VIP back",
        Duration::from_secs(10),
        || Ok(holds(&lab, "r1")? && !holds(&lab, "r2")?),
    )?;
    // And it stays so: never both holding the VIP.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        if holds(&lab, "r2")? {
            bail!(
                "r2 took the VIP again beside the restarted master\n{}",
                lab.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(holds(&lab, "r1")?, "r1 lost the VIP\n{}", lab.logs());
    let log = lab.daemon_log(backup)?;
    assert!(
        log.contains("AH sequence restarted"),
        "r2 did not log the restart\n{log}"
    );
    Ok(())
}
