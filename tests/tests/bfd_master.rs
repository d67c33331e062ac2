//! kad extension `bfd_master` (issue 16, "Beyond keepalived"): two kad routers on a real
//! segment, Master priority 150 and Backup 100 at advert_int 1 s (VRRP alone needs
//! Master_Down_Interval = 3 s + skew to notice a dead Master), with a BFD session between
//! them at 50 ms × 3 that the Backup names. When the session goes down the Backup takes over
//! at once; a false down (BFD packets dropped on the switch, adverts still passing) makes two
//! Masters only until the real Master's next advert.

use std::{
    io::Write as _,
    process::{Command, Stdio},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, Result, ensure};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS, VIP},
    load::daemon_log::kad_entering,
    ops,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(15);

/// A BFD session `peer` from `me` to `other` at 50 ms × 3 (detect time 150 ms).
fn bfd(me: &str, other: &str) -> String {
    format!(
        "bfd_instance peer {{\n  neighbor_ip {other}\n  source_ip {me}\n  min_rx 50\n  min_tx 50\n  multiplier 3\n}}\n"
    )
}

/// The lab instance at advert_int 1 s.
fn instance(priority: u8, extra: &str) -> String {
    lab_instance(priority, extra).replace("advert_int 0.1", "advert_int 1")
}

fn status(lab: &Lab, host: &str) -> Result<Value> {
    ops::status_json(&lab.dir().join(format!("kad-{host}.sock")))
}

fn session_up(lab: &Lab, host: &str) -> Result<bool> {
    let status = status(lab, host)?;
    Ok(status["bfd_sessions"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["name"] == "peer" && s["state"] == "up")))
}

/// r1 Master (150), r2 Backup (100) following r1 and naming the session (`bfd_master`
/// unless `plain`); returns the lab and r2's daemon index, once r2 is Backup with r1 as its
/// Master and the session is up on both.
fn pair(tag: &str, plain: bool, kad_args: &[&str]) -> Result<(Lab, usize)> {
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    lab.kad_args = kad_args.iter().map(|a| (*a).to_owned()).collect();
    lab.start_kad(
        "r1",
        &format!("{}{}", bfd("10.77.0.1", "10.77.0.2"), instance(150, "")),
    )?;
    lab.wait_for("r1 Master", LIMIT, || lab.holds("r1", VIP))?;
    let extra = if plain { "" } else { "  bfd_master peer\n" };
    let r2 = lab.start_kad(
        "r2",
        &format!("{}{}", bfd("10.77.0.2", "10.77.0.1"), instance(100, extra)),
    )?;
    lab.wait_for("r2 Backup following r1, the session up", LIMIT, || {
        let s = status(&lab, "r2")?;
        let i = &s["instances"][0];
        Ok(i["state"] == "BACKUP"
            && i["master"]["address"] == "10.77.0.1"
            && session_up(&lab, "r1")?
            && session_up(&lab, "r2")?)
    })?;
    Ok((lab, r2))
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// r2's transitions to `state` logged after `since`.
fn entered(lab: &Lab, r2: usize, state: &str, since: Duration) -> Result<Vec<Duration>> {
    Ok(kad_entering(&lab.daemon_log(r2)?, state)
        .into_iter()
        .map(|(at, _)| at)
        .filter(|at| *at >= since)
        .collect())
}

/// Cuts r1's link and returns how long r2 took to enter MASTER (from its log's timestamp).
fn cut_master_link(lab: &Lab, r2: usize) -> Result<Duration> {
    let cut = unix_now();
    let status = lab
        .host("r1")?
        .command("ip")
        .args(["link", "set", "eth0", "down"])
        .status()?;
    ensure!(status.success(), "ip link set eth0 down in r1: {status}");
    lab.wait_for("r2 takes the VIP", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    let at = entered(lab, r2, "MASTER", cut)?
        .first()
        .copied()
        .context("r2 logged no MASTER transition")?;
    Ok(at.saturating_sub(cut))
}

#[test]
fn a_backup_following_its_master_s_bfd_session_takes_over_within_the_detect_time() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (lab, r2) = pair("bfm", false, &[])?;
    let took = cut_master_link(&lab, r2)?;
    eprintln!(
        "bfd_master: r1's link down -> r2 MASTER in {:.1} ms (BFD detect time 150 ms; \
         Master_Down_Interval 3.61 s)",
        took.as_secs_f64() * 1000.0
    );
    ensure!(
        took < Duration::from_secs(1),
        "r2 took {took:?} (VRRP alone: ~3.6 s)\n{}",
        lab.logs()
    );
    let log = lab.daemon_log(r2)?;
    ensure!(
        log.contains("BFD session peer to master 10.77.0.1 is down"),
        "{log}"
    );
    Ok(())
}

#[test]
fn without_bfd_master_the_backup_waits_for_the_master_down_interval() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (lab, r2) = pair("bfp", true, &[])?;
    let took = cut_master_link(&lab, r2)?;
    eprintln!(
        "no bfd_master: r1's link down -> r2 MASTER in {:.1} ms",
        took.as_secs_f64() * 1000.0
    );
    ensure!(
        took > Duration::from_millis(2500),
        "r2 took over in {took:?} without bfd_master"
    );
    Ok(())
}

/// Drops BFD (UDP 3784) on the switch's bridge: VRRP adverts still pass.
struct BfdBlocked<'a>(&'a Lab);

impl<'a> BfdBlocked<'a> {
    fn start(lab: &'a Lab) -> Result<Self> {
        let mut nft = Command::new("ip")
            .args(["netns", "exec", lab.switch().name(), "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .context("nft")?;
        nft.stdin
            .take()
            .context("nft stdin")?
            .write_all(
                b"table bridge kadbfd {\n chain drop_bfd {\n  type filter hook forward priority 0; policy accept;\n  udp dport 3784 drop\n }\n}\n",
            )?;
        ensure!(nft.wait()?.success(), "nft rule not added");
        Ok(BfdBlocked(lab))
    }
}

impl Drop for BfdBlocked<'_> {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "exec", self.0.switch().name()])
            .args(["nft", "delete", "table", "bridge", "kadbfd"])
            .status();
    }
}

/// The false down on the XDP receive path: the Master's XDP program discards the new
/// Master's lower-priority adverts, so its next periodic advert ends it.
#[test]
fn a_false_bfd_down_makes_two_masters_for_at_most_one_advert_interval() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let two_masters = false_down("bff", &[])?;
    ensure!(two_masters < Duration::from_millis(1200), "{two_masters:?}");
    Ok(())
}

/// The false down on sockets (`--no-xdp`): the Master answers the new Master's first,
/// lower-priority advert at once (as keepalived does), so the two Masters last a round trip.
#[test]
fn a_false_bfd_down_on_sockets_ends_at_the_masters_answer() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let two_masters = false_down("bfs", &["--no-xdp"])?;
    ensure!(two_masters < Duration::from_millis(300), "{two_masters:?}");
    Ok(())
}

/// Drops BFD for 300 ms between r1 and r2 (r2 following r1 with `bfd_master`); returns how
/// long r2 was Master (two Masters), checked against one advert interval.
fn false_down(tag: &str, kad_args: &[&str]) -> Result<Duration> {
    let (lab, r2) = pair(tag, false, kad_args)?;
    let r1 = 0;
    let since = unix_now();
    {
        let _blocked = BfdBlocked::start(&lab)?;
        std::thread::sleep(Duration::from_millis(300));
    }
    // r2 took over when its session went down, and gave back at r1's next advert.
    lab.wait_for("r2 back to Backup", Duration::from_secs(5), || {
        Ok(!entered(&lab, r2, "BACKUP", since)?.is_empty())
    })?;
    let master = entered(&lab, r2, "MASTER", since)?;
    let backup = entered(&lab, r2, "BACKUP", since)?;
    let (Some(took), Some(gave_back)) = (master.first(), backup.first()) else {
        anyhow::bail!("r2 did not take over on the false down\n{}", lab.logs());
    };
    let two_masters = gave_back.saturating_sub(*took);
    eprintln!(
        "false down {kad_args:?}: r2 MASTER {:.1} ms after the BFD drop began, two Masters for \
         {:.1} ms (bound: one advert interval, 1 s)",
        took.saturating_sub(since).as_secs_f64() * 1000.0,
        two_masters.as_secs_f64() * 1000.0
    );
    ensure!(
        two_masters < Duration::from_millis(1200),
        "two Masters for {two_masters:?}\n{}",
        lab.logs()
    );
    ensure!(
        entered(&lab, r1, "BACKUP", since)?.is_empty(),
        "the real Master stays Master\n{}",
        lab.logs()
    );
    // The session comes back up and r2 stays Backup with r1 as its Master.
    lab.wait_for("the session up again, r2 following r1", LIMIT, || {
        let s = status(&lab, "r2")?;
        let i = &s["instances"][0];
        Ok(i["state"] == "BACKUP"
            && i["master"]["address"] == "10.77.0.1"
            && session_up(&lab, "r2")?)
    })?;
    ensure!(lab.holds("r1", VIP)? && !lab.holds("r2", VIP)?);
    Ok(two_masters)
}
