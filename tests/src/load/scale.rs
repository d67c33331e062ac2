//! Scale: many VRRPv3 instances (by default VRIDs 1..=255, one VIP each) at a short advert
//! interval on one interface, kad and keepalived 2.2.7 the two routers of every instance,
//! one of them Master of all. Over a steady window after settling: both daemons' CPU and
//! memory, the state transitions each logged in the window, and who holds the VIPs.

use std::{collections::BTreeMap, time::Duration};

use anyhow::Result;

use super::{
    Direction, KadReceive,
    advert_gaps::{Adverts, Capture, master_down_interval},
    conf,
    daemon_log::{kad_takeovers, receive_statistics, transitions},
    keep_logs, keepalived_vrrp_pid, port_packets,
    procfs::{Meter, Usage},
};
use crate::lab::Lab;

/// Host names in the scale lab.
const KAD: &str = "k";
const KEEPALIVED: &str = "ka";

/// How long the Master is left alone after it holds every VIP: keepalived repeats its
/// gratuitous ARPs `vrrp_garp_master_delay` (default 5 s) after becoming Master, a burst of
/// 255 × 5 ARPs during which its adverts run late; the Backup starts after it.
const MASTER_QUIET: Duration = Duration::from_secs(6);

/// How long the Master's sending rate is measured alone, before the Backup starts.
const MASTER_ALONE: Duration = Duration::from_secs(2);

/// One scale run.
#[derive(Clone, Copy, Debug)]
pub struct ScaleSetup {
    /// Instances (VRIDs 1..=instances).
    pub instances: u8,
    /// advert_int, keepalived syntax.
    pub advert_int: &'static str,
    /// kad is Master (priority 200, keepalived 100), else the reverse.
    pub kad_master: bool,
    /// kad's receive path.
    pub receive: KadReceive,
    /// Time between the Backup's start and the window.
    pub settle: Duration,
    /// The measured window.
    pub window: Duration,
    /// Nice value for both daemons (`None`: inherited); see [`Lab::nice`].
    pub nice: Option<i32>,
    /// Capture the Master's adverts during the window to measure its gaps (tcpdump).
    pub capture: bool,
    /// Receive in NAPI threads ([`Lab::napi_threads`]): each daemon's CPU is then its own
    /// work. Off, a veth runs the bridge and the peer's receive path inside the sender's
    /// `sendmmsg`, which at 25,500 adverts/s is most of a Master's CPU.
    pub napi_threads: bool,
}

/// What a scale run measured.
#[derive(Clone, Debug)]
pub struct ScaleOutcome {
    /// The run.
    pub setup: ScaleSetup,
    /// Time from the Master's start until it held every VIP.
    pub master_ready: Duration,
    /// kad over the window.
    pub kad: Usage,
    /// keepalived's VRRP process over the window.
    pub keepalived: Usage,
    /// keepalived's parent process over the window.
    pub keepalived_parent: Usage,
    /// State transitions logged during the window.
    pub kad_transitions: usize,
    /// The same, keepalived.
    pub keepalived_transitions: usize,
    /// Frames per second the Master sent onto the segment alone, before the Backup started
    /// (its adverts, `instances / advert_int` per second when it keeps up, plus any ARP).
    pub master_alone_frames_per_s: f64,
    /// The same during the window.
    pub master_frames_per_s: f64,
    /// The Master's adverts during the window (`setup.capture`).
    pub master_adverts: Option<Adverts>,
    /// kad's transitions to Master during the window: (time since the Unix epoch, VRID).
    pub kad_takeovers: Vec<(Duration, u8)>,
    /// VIPs held at the window's end.
    pub kad_vips: usize,
    /// The same, keepalived.
    pub keepalived_vips: usize,
    /// kad's `receive statistics` at stop (whole run).
    pub kad_receive: BTreeMap<String, u64>,
    /// From kad's start to its SIGTERM: the span `kad_receive` covers.
    pub kad_lifetime: Duration,
}

/// Runs one scale measurement in a fresh lab.
pub fn run(setup: &ScaleSetup) -> Result<ScaleOutcome> {
    let mut lab = Lab::new("sc")?;
    lab.kad_args = setup.receive.args();
    lab.nice = setup.nice;
    lab.napi_threads = setup.napi_threads;
    lab.add_host(KAD, 1)?;
    lab.add_host(KEEPALIVED, 2)?;
    let (kad_priority, keepalived_priority) = if setup.kad_master {
        (200, 100)
    } else {
        (100, 200)
    };
    let kad_conf = conf::many_instances(setup.instances, kad_priority, setup.advert_int);
    let keepalived_conf =
        conf::many_instances(setup.instances, keepalived_priority, setup.advert_int);
    let master_host = if setup.kad_master { KAD } else { KEEPALIVED };
    let wait_all_vips = |lab: &Lab, host: &str| -> Result<Duration> {
        lab.wait_for(
            &format!("{host} holds all {} VIPs", setup.instances),
            Duration::from_secs(60),
            || Ok(vips(lab, host, setup.instances)? == usize::from(setup.instances)),
        )
    };
    // The Master first, so the Backup starts under a Master that already speaks.
    let master_alone = |lab: &Lab| -> Result<f64> {
        std::thread::sleep(MASTER_QUIET);
        frames_per_s(lab, master_host, MASTER_ALONE)
    };
    let mut kad_started = std::time::Instant::now();
    let (kad, keepalived, master_ready, master_alone_frames_per_s) = if setup.kad_master {
        let kad = lab.start_kad(KAD, &kad_conf)?;
        let ready = wait_all_vips(&lab, master_host)?;
        let alone = master_alone(&lab)?;
        let keepalived = lab.start_keepalived(KEEPALIVED, &keepalived_conf)?;
        (kad, keepalived, ready, alone)
    } else {
        let keepalived = lab.start_keepalived(KEEPALIVED, &keepalived_conf)?;
        let ready = wait_all_vips(&lab, master_host)?;
        let alone = master_alone(&lab)?;
        kad_started = std::time::Instant::now();
        (lab.start_kad(KAD, &kad_conf)?, keepalived, ready, alone)
    };
    let keepalived_vrrp = keepalived_vrrp_pid(&lab, KEEPALIVED)?;
    let keepalived_parent = lab.daemon(keepalived)?.pid();
    let kad_pid = lab.daemon(kad)?.pid();
    std::thread::sleep(setup.settle);

    let before = (
        transitions(&lab.daemon(kad)?.log()),
        transitions(&lab.daemon(keepalived)?.log()),
    );
    let capture = if setup.capture {
        Some(Capture::start(&lab, master_host)?)
    } else {
        None
    };
    let master_frames = port_packets(&lab, master_host, Direction::FromHost)?;
    let window_start = std::time::Instant::now();
    let window_unix = crate::probe::unix_now();
    let window_unix = Duration::from_secs_f64(window_unix);
    let meters = [
        Meter::start(kad_pid)?,
        Meter::start(keepalived_vrrp)?,
        Meter::start(keepalived_parent)?,
    ];
    std::thread::sleep(setup.window);
    let [kad_usage, keepalived_usage, parent_usage] =
        [meters[0].stop()?, meters[1].stop()?, meters[2].stop()?];
    let master_frames_per_s = port_packets(&lab, master_host, Direction::FromHost)?
        .saturating_sub(master_frames) as f64
        / window_start.elapsed().as_secs_f64();
    let master_adverts = capture.map(Capture::stop).transpose()?;
    let kad_log = lab.daemon(kad)?.log();
    let kad_takeovers = kad_takeovers(&kad_log)
        .into_iter()
        .filter(|(at, _)| *at >= window_unix)
        .collect();
    let after = (
        transitions(&kad_log),
        transitions(&lab.daemon(keepalived)?.log()),
    );
    let kad_vips = vips(&lab, KAD, setup.instances)?;
    let keepalived_vips = vips(&lab, KEEPALIVED, setup.instances)?;

    let run_name = format!(
        "scale-{}-{}",
        if setup.kad_master {
            "kad-master"
        } else {
            "kad-backup"
        },
        setup.receive.label().replace(' ', "-")
    );
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    let kad_lifetime = kad_started.elapsed();
    if !lab.daemon(kad)?.wait_exit(Duration::from_secs(10))? {
        anyhow::bail!("kad did not stop within 10 s of SIGTERM\n{}", lab.logs());
    }
    let kad_receive = receive_statistics(&lab.daemon(kad)?.log()).unwrap_or_default();
    keep_logs(&lab, &run_name);
    Ok(ScaleOutcome {
        setup: *setup,
        master_ready,
        kad: kad_usage,
        keepalived: keepalived_usage,
        keepalived_parent: parent_usage,
        kad_transitions: after.0 - before.0,
        keepalived_transitions: after.1 - before.1,
        master_alone_frames_per_s,
        master_frames_per_s,
        master_adverts,
        kad_takeovers,
        kad_vips,
        keepalived_vips,
        kad_receive,
        kad_lifetime,
    })
}

/// Frames per second `host` sends onto the segment, measured over `period`.
fn frames_per_s(lab: &Lab, host: &str, period: Duration) -> Result<f64> {
    let before = port_packets(lab, host, Direction::FromHost)?;
    let start = std::time::Instant::now();
    std::thread::sleep(period);
    let after = port_packets(lab, host, Direction::FromHost)?;
    Ok(after.saturating_sub(before) as f64 / start.elapsed().as_secs_f64())
}

/// Adverts per second the Master of `setup` sends when it keeps up.
pub fn expected_adverts_per_s(setup: &ScaleSetup) -> f64 {
    f64::from(setup.instances) / advert_interval(setup).as_secs_f64()
}

/// The advert interval of `setup`.
pub fn advert_interval(setup: &ScaleSetup) -> Duration {
    Duration::from_secs_f64(setup.advert_int.parse().unwrap_or(1.0))
}

/// kad's takeovers in the window that came while the Master (captured) had spoken on that
/// VRID less than a priority-`backup_priority` Backup's Master_Down_Interval before (1 ms of
/// slack for the two clocks' readers): (VRID, silence) each. `None` without a capture.
pub fn spurious_takeovers(
    outcome: &ScaleOutcome,
    backup_priority: u8,
) -> Option<Vec<(u8, Duration)>> {
    let adverts = outcome.master_adverts.as_ref()?;
    let limit = master_down_interval(advert_interval(&outcome.setup), backup_priority);
    let slack = Duration::from_millis(1);
    Some(
        outcome
            .kad_takeovers
            .iter()
            .filter_map(|(at, vrid)| {
                let silence = adverts.silence_before(*vrid, *at)?;
                (silence + slack < limit).then_some((*vrid, silence))
            })
            .collect(),
    )
}

/// How many of the scale VIPs `host` holds.
fn vips(lab: &Lab, host: &str, instances: u8) -> Result<usize> {
    Ok(conf::vips_among(instances, &lab.host(host)?.addresses()?))
}
