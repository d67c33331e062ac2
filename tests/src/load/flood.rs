//! Flood: a keepalived 2.2.7 Master and a Backup (kad with XDP, kad on raw sockets, or
//! keepalived) for one VRRPv3 instance, and a generator host sending [`flood_frames`] at the
//! Backup as fast as it can for a while. Measures the generator's rate, what reached the
//! Backup's link, both daemons' CPU and memory during the flood, the machine's softirq time,
//! the transitions each logged, and (kad) what XDP and the sockets did with the frames.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{Context as _, Result, bail};

use super::{
    Direction, KadReceive, conf,
    daemon_log::{receive_statistics, transitions},
    flood_frames::{self, Mix, Target},
    generator::{self, Sent},
    keep_logs, keepalived_vrrp_pid, port_packets,
    procfs::{self, Meter, Usage},
    xdp_counters::{self, Counters},
};
use crate::lab::Lab;

const MASTER: &str = "m";
const BACKUP: &str = "b";
const GENERATOR: &str = "g";
/// The instance under attack (the scale configuration's first).
const VRID: u8 = 1;

/// The daemon on the Backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backup {
    /// kad, with the given receive path.
    Kad(KadReceive),
    /// keepalived 2.2.7.
    Keepalived,
}

impl Backup {
    /// Short label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kad(KadReceive::Xdp) => "kad (xdp)",
            Self::Kad(KadReceive::RawSockets) => "kad (raw sockets)",
            Self::Keepalived => "keepalived",
        }
    }
}

/// One flood run.
#[derive(Clone, Copy, Debug)]
pub struct FloodSetup {
    /// The Backup's daemon.
    pub backup: Backup,
    /// advert_int of the instance, keepalived syntax (`"0.1"`, `"1"`).
    pub advert_int: &'static str,
    /// Time between the Backup's start and the flood.
    pub settle: Duration,
    /// How long the generator sends.
    pub duration: Duration,
    /// Generator threads (one socket each).
    pub threads: usize,
    /// What the generator sends.
    pub mix: Mix,
    /// Nice value for both daemons (`None`: inherited); see [`Lab::nice`].
    pub nice: Option<i32>,
}

/// What a flood run measured.
#[derive(Clone, Debug)]
pub struct FloodOutcome {
    /// The run.
    pub setup: FloodSetup,
    /// What the generator sent.
    pub sent: Sent,
    /// Frames the switch put on the Backup's link during the flood (its port's tx count).
    pub delivered: u64,
    /// The Backup's daemon during the flood (keepalived: its VRRP process).
    pub backup: Usage,
    /// The Master's (keepalived) VRRP process during the flood.
    pub master: Usage,
    /// Softirq time of the whole machine during the flood, in percent of one core (where
    /// XDP and the kernel's receive path run; shared with everything else on the machine).
    pub softirq_percent: f64,
    /// Transitions the Backup logged during and just after the flood.
    pub backup_transitions: usize,
    /// Transitions the Master logged during and after the flood.
    pub master_transitions: usize,
    /// The Backup's daemon was running after the flood.
    pub backup_alive: bool,
    /// The Master held the VIP after the flood.
    pub master_holds_vip: bool,
    /// The Backup held the VIP after the flood.
    pub backup_holds_vip: bool,
    /// kad's `receive statistics` at stop (kad Backups).
    pub kad_receive: BTreeMap<String, u64>,
    /// What kad_xdp counted during the flood (kad with XDP).
    pub xdp: Option<Counters>,
}

/// Runs one flood measurement in a fresh lab.
pub fn run(setup: &FloodSetup) -> Result<FloodOutcome> {
    let mut lab = Lab::new("fl")?;
    lab.nice = setup.nice;
    if let Backup::Kad(receive) = setup.backup {
        lab.kad_args = receive.args();
    }
    lab.add_host(MASTER, 1)?;
    lab.add_host(BACKUP, 2)?;
    lab.add_host(GENERATOR, 66)?;
    let vip = conf::vip(VRID).to_string();
    let master = lab.start_keepalived(MASTER, &conf::many_instances(1, 200, setup.advert_int))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(15), || {
        lab.host(MASTER)?.has_address(&vip)
    })?;
    let backup_conf = conf::many_instances(1, 100, setup.advert_int);
    let backup = match setup.backup {
        Backup::Kad(_) => lab.start_kad(BACKUP, &backup_conf)?,
        Backup::Keepalived => lab.start_keepalived(BACKUP, &backup_conf)?,
    };
    let master_pid = keepalived_vrrp_pid(&lab, MASTER)?;
    let backup_pid = match setup.backup {
        Backup::Kad(_) => lab.daemon(backup)?.pid(),
        Backup::Keepalived => keepalived_vrrp_pid(&lab, BACKUP)?,
    };
    std::thread::sleep(setup.settle);

    let target = Target {
        mac: lab.host(BACKUP)?.mac()?,
        vrid: VRID,
        interval_cs: interval_cs(setup.advert_int)?,
        master: lab.host(MASTER)?.ipv4,
        vip: conf::vip(VRID),
    };
    let frames = flood_frames::frames(&target, setup.mix)?;
    let xdp_before = match setup.backup {
        Backup::Kad(KadReceive::Xdp) => Some(xdp_counters::read(lab.host(BACKUP)?)?),
        _ => None,
    };
    let before = (
        transitions(&lab.daemon(backup)?.log()),
        transitions(&lab.daemon(master)?.log()),
    );
    let delivered_before = port_packets(&lab, BACKUP, Direction::Tx)?;
    let softirq_before = procfs::softirq_ticks()?;
    let meters = [Meter::start(backup_pid)?, Meter::start(master_pid)?];
    let started = std::time::Instant::now();
    let sent = generator::flood(lab.host(GENERATOR)?, frames, setup.duration, setup.threads)?;
    let [backup_usage, master_usage] = [meters[0].stop()?, meters[1].stop()?];
    let softirq_percent = procfs::percent(
        procfs::softirq_ticks()?.saturating_sub(softirq_before),
        started.elapsed(),
    );
    let delivered = port_packets(&lab, BACKUP, Direction::Tx)?.saturating_sub(delivered_before);
    let xdp = match xdp_before {
        Some(before) => Some(xdp_counters::since(
            &xdp_counters::read(lab.host(BACKUP)?)?,
            &before,
        )),
        None => None,
    };
    // Whatever the flood left queued is read before anything is judged.
    std::thread::sleep(Duration::from_millis(500));

    let backup_alive = lab.daemon(backup)?.is_running();
    let master_holds_vip = lab.host(MASTER)?.has_address(&vip)?;
    let backup_holds_vip = lab.host(BACKUP)?.has_address(&vip)?;
    let backup_transitions = transitions(&lab.daemon(backup)?.log()) - before.0;
    let master_transitions = transitions(&lab.daemon(master)?.log()) - before.1;
    let mut kad_receive = BTreeMap::new();
    if matches!(setup.backup, Backup::Kad(_)) && backup_alive {
        lab.daemon(backup)?.signal(libc::SIGTERM)?;
        if !lab.daemon(backup)?.wait_exit(Duration::from_secs(10))? {
            bail!("kad did not stop within 10 s of SIGTERM\n{}", lab.logs());
        }
        kad_receive = receive_statistics(&lab.daemon(backup)?.log()).unwrap_or_default();
    }
    keep_logs(
        &lab,
        &format!(
            "flood-{}",
            setup.backup.label().replace([' ', '(', ')'], "")
        ),
    );
    Ok(FloodOutcome {
        setup: *setup,
        sent,
        delivered,
        backup: backup_usage,
        master: master_usage,
        softirq_percent,
        backup_transitions,
        master_transitions,
        backup_alive,
        master_holds_vip,
        backup_holds_vip,
        kad_receive,
        xdp,
    })
}

/// keepalived's advert_int in centiseconds.
fn interval_cs(advert_int: &str) -> Result<u16> {
    let seconds: f64 = advert_int
        .parse()
        .with_context(|| format!("advert_int {advert_int:?}"))?;
    Ok((seconds * 100.0).round() as u16)
}
