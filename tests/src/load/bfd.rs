//! BFD false downs under load (issue 16, `cargo xtask bench bfd`): N sessions between two
//! routers at a short interval while busy loops saturate every core, counting the sessions
//! that went Down although both peers ran: keepalived ⇄ keepalived and kad ⇄ kad (kad's BFD
//! runs on sockets in its own thread; XDP does not take part in BFD yet).

use std::{
    net::Ipv4Addr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::{
    bfd_peers::{BfdDaemon, BfdInstance, BfdState},
    lab::{Lab, ROUTERS},
    load::procfs::Meter,
};

/// The two daemons running the sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdPair {
    /// keepalived 2.2.7 on both routers (its BFD process).
    Keepalived,
    /// kad on both routers (its BFD thread; XDP keeps steady packets and detects).
    Kad,
    /// kad `--no-xdp` on both routers (sockets and detection in the BFD thread).
    KadNoXdp,
}

impl BfdPair {
    /// Label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Self::Keepalived => "keepalived ⇄ keepalived",
            Self::Kad => "kad ⇄ kad",
            Self::KadNoXdp => "kad ⇄ kad --no-xdp",
        }
    }
}

/// One run.
#[derive(Clone, Debug)]
pub struct BfdSetup {
    /// Who runs the sessions.
    pub pair: BfdPair,
    /// Sessions between the two routers (≤ 250), each on its own pair of addresses.
    pub sessions: usize,
    /// min_rx = min_tx, ms (keepalived syntax: `"10"`, `"3"`, `"0.5"`).
    pub interval: String,
    /// Detect multiplier.
    pub multiplier: u8,
    /// The measured window.
    pub window: Duration,
    /// Busy-loop threads during the window (one per core saturates the machine).
    pub busy_loops: usize,
    /// Nice value of the daemons and of the busy loops (`None`: inherited).
    pub nice: Option<i32>,
    /// Veth receive in NAPI threads ([`Lab::napi_threads`]): each daemon's CPU is then its
    /// own work, not also its peer's receive path (the CPU part sets it).
    pub napi_threads: bool,
}

/// What a run saw.
#[derive(Clone, Debug)]
pub struct BfdOutcome {
    /// The run's setup.
    pub setup: BfdSetup,
    /// Sessions Up on both routers when the window started.
    pub up_at_start: usize,
    /// Sessions Up on both routers when the window ended.
    pub up_at_end: usize,
    /// Down transitions in the window where a router's own detect timer expired (a false
    /// down: both peers were running), both routers together.
    pub detect_expired: usize,
    /// Every Down transition in the window on r1 / r2 (a false down on one side is usually
    /// followed by "Neighbor Signaled Session Down" on the other).
    pub downs: (usize, usize),
    /// CPU of each router's BFD process over the window, % of one core.
    pub cpu_percent: (f64, f64),
}

/// The address of session `index` (0-based) on router `router` (1 or 2): 10.78.`router`.`index + 1`.
fn session_address(router: u8, index: usize) -> Result<Ipv4Addr> {
    let last = u8::try_from(index + 1).ok().filter(|last| *last <= 250);
    let last = last.with_context(|| format!("session {index}: at most 250 sessions"))?;
    Ok(Ipv4Addr::new(10, 78, router, last))
}

fn instances(setup: &BfdSetup, me: u8, peer: u8) -> Result<Vec<BfdInstance>> {
    (0..setup.sessions)
        .map(|index| {
            Ok(BfdInstance::new(
                &format!("s{index}"),
                &session_address(peer, index)?.to_string(),
                &session_address(me, index)?.to_string(),
            )
            .timers(&setup.interval, setup.multiplier))
        })
        .collect()
}

/// Busy loops that spin until dropped.
struct BusyLoops {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl BusyLoops {
    fn start(count: usize, nice: Option<i32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..count)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    if let Some(nice) = nice {
                        // SAFETY: setpriority on the calling thread (tid 0 = self); no memory
                        // is passed. A failure leaves the inherited priority.
                        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
                    }
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Down transitions of every session on one router: (all, own detect timer expired).
fn downs(lab: &Lab, daemon: &BfdDaemon, names: &[String]) -> Result<(usize, usize)> {
    let mut all = 0;
    let mut expired = 0;
    for name in names {
        for event in daemon.events(lab, name)? {
            if event.state == BfdState::Down {
                all += 1;
                if event.detect_time_expired() {
                    expired += 1;
                }
            }
        }
    }
    Ok((all, expired))
}

fn up_count(lab: &Lab, routers: &[&BfdDaemon], names: &[String]) -> Result<usize> {
    let mut up = 0;
    for name in names {
        let mut both = true;
        for router in routers {
            both &= router.state(lab, name)? == Some(BfdState::Up);
        }
        up += usize::from(both);
    }
    Ok(up)
}

/// Runs one setup in a lab of its own.
pub fn run(setup: &BfdSetup) -> Result<BfdOutcome> {
    let mut lab = Lab::new("bfdb")?;
    lab.nice = setup.nice;
    lab.napi_threads = setup.napi_threads;
    for (name, octet) in ROUTERS {
        lab.add_host(name, *octet)?;
    }
    for (router, host) in [(1u8, "r1"), (2u8, "r2")] {
        for index in 0..setup.sessions {
            let address = format!("{}/16", session_address(router, index)?);
            lab.host(host)?
                .ns
                .ip(&["addr", "add", &address, "dev", "eth0"])?;
        }
    }
    let config = |me, peer| -> Result<String> {
        Ok(instances(setup, me, peer)?
            .iter()
            .map(BfdInstance::conf)
            .collect())
    };
    let (r1, r2) = match setup.pair {
        BfdPair::Keepalived => (
            lab.start_keepalived_bfd("r1", &config(1, 2)?)?,
            lab.start_keepalived_bfd("r2", &config(2, 1)?)?,
        ),
        BfdPair::Kad | BfdPair::KadNoXdp => {
            if setup.pair == BfdPair::KadNoXdp {
                lab.kad_args.push("--no-xdp".into());
            }
            (
                lab.start_kad_bfd("r1", &config(1, 2)?)?,
                lab.start_kad_bfd("r2", &config(2, 1)?)?,
            )
        }
    };
    let names: Vec<String> = (0..setup.sessions).map(|i| format!("s{i}")).collect();
    // Every session Up (a daemon that cannot hold them all even before the load gets its
    // row anyway: "Up at start" says how many were).
    let all_up = || -> Result<bool> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if up_count(&lab, &[&r1, &r2], &names)? == names.len() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(false)
    };
    if all_up()? {
        // Past the poll sequence that follows Up (1 s → the configured interval), and Up
        // again if a session fell meanwhile.
        std::thread::sleep(Duration::from_secs(2));
        all_up()?;
    }
    let up_at_start = up_count(&lab, &[&r1, &r2], &names)?;
    let before = (downs(&lab, &r1, &names)?, downs(&lab, &r2, &names)?);
    let meters = (
        Meter::start(u32::try_from(r1.bfd_pid(&lab)?)?)?,
        Meter::start(u32::try_from(r2.bfd_pid(&lab)?)?)?,
    );
    let started = Instant::now();
    {
        let _busy = BusyLoops::start(setup.busy_loops, setup.nice);
        std::thread::sleep(setup.window);
    }
    if started.elapsed() < setup.window {
        bail!("window cut short");
    }
    let usage = (meters.0.stop()?, meters.1.stop()?);
    let after = (downs(&lab, &r1, &names)?, downs(&lab, &r2, &names)?);
    let up_at_end = up_count(&lab, &[&r1, &r2], &names)?;
    Ok(BfdOutcome {
        setup: setup.clone(),
        up_at_start,
        up_at_end,
        detect_expired: (after.0.1 - before.0.1) + (after.1.1 - before.1.1),
        downs: (after.0.0 - before.0.0, after.1.0 - before.1.0),
        cpu_percent: (usage.0.cpu_percent, usage.1.cpu_percent),
    })
}

/// The Markdown table of a series of runs.
pub fn table(outcomes: &[BfdOutcome]) -> String {
    let mut text = String::from(
        "| pair | sessions | interval × multiplier | window | busy loops | false downs (detect time expired, both routers) | Down transitions r1 / r2 | Up at start / end | BFD process CPU r1 / r2 |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let s = &o.setup;
        text.push_str(&format!(
            "| {} | {} | {} ms × {} | {:.0} s | {} | {} | {} / {} | {} / {} | {:.1} % / {:.1} % |\n",
            s.pair.label(),
            s.sessions,
            s.interval,
            s.multiplier,
            s.window.as_secs_f64(),
            s.busy_loops,
            o.detect_expired,
            o.downs.0,
            o.downs.1,
            o.up_at_start,
            o.up_at_end,
            o.cpu_percent.0,
            o.cpu_percent.1,
        ));
    }
    text
}

/// The runs as JSON.
pub fn to_json(outcomes: &[BfdOutcome]) -> Value {
    Value::Array(
        outcomes
            .iter()
            .map(|o| {
                let s = &o.setup;
                json!({
                    "pair": s.pair.label(),
                    "sessions": s.sessions,
                    "interval_ms": s.interval,
                    "multiplier": s.multiplier,
                    "window_s": s.window.as_secs_f64(),
                    "busy_loops": s.busy_loops,
                    "nice": s.nice,
                    "false_downs": o.detect_expired,
                    "downs_r1": o.downs.0,
                    "downs_r2": o.downs.1,
                    "up_at_start": o.up_at_start,
                    "up_at_end": o.up_at_end,
                    "cpu_percent_r1": o.cpu_percent.0,
                    "cpu_percent_r2": o.cpu_percent.1,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_addresses() {
        assert_eq!(
            session_address(1, 0).ok(),
            Some(Ipv4Addr::new(10, 78, 1, 1))
        );
        assert!(session_address(2, 250).is_err());
    }
}
