//! BFD-driven failover (issue 16, `cargo xtask bench bfd`, part `outage`): the MASTER r1
//! (priority 200) tracks (`track_bfd`, weight 0) a BFD session to an upstream gateway `gw`;
//! the gateway's BFD process is stopped (SIGSTOP: it falls silent without a word), r1's
//! detect time expires, r1 goes FAULT (priority-0 advert, VIP removed) and the backup r2
//! (priority 100) takes the VIP after its skew time. A client pings the VIP every 2 ms
//! ([`crate::probe`], as in the failover bench).
//!
//! Each trial runs in a fresh lab; r1 and r2 run keepalived 2.2.7 (r1 with its BFD process)
//! or kad, and the gateway is keepalived's BFD process in both cases (the same upstream for
//! both daemons). Two figures per trial: the client's outage (the longest gap between
//! replies: from r1 removing the VIP to r2 answering) and the time from the gateway's stop
//! to the client's first reply from r2 (detect time + skew time + the rest); the floor of
//! the latter is [`OutageSetup::floor`].

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::{
    bench::{Outages, phase, settle, table::format_ms, table::format_signed_ms},
    bfd_peers::{BfdDaemon, BfdInstance, BfdState},
    conf::{router_id, vrrp_instance},
    lab::{Lab, VIP},
    load::bfd::BfdPair,
    probe::{Prober, STEADY_SPACING, unix_now},
};

/// r1 (master), r2 (backup), gw (the upstream's BFD), c (the client).
const HOSTS: &[(&str, u8)] = &[("r1", 1), ("r2", 2), ("gw", 3), ("c", 10)];
const R1: &str = "10.77.0.1";
const GW: &str = "10.77.0.3";
const LIMIT: Duration = Duration::from_secs(20);
/// The backup's priority (its skew time follows from it).
const BACKUP_PRIORITY: u8 = 100;

/// One cell: a BFD interval × multiplier and an advert interval.
#[derive(Clone, Debug, PartialEq)]
pub struct OutageSetup {
    /// min_rx = min_tx, ms as keepalived.conf writes it (`"10"`, `"3"`).
    pub interval: String,
    /// Detect multiplier.
    pub multiplier: u8,
    /// `advert_int` of both routers (VRRPv3), as keepalived.conf writes it.
    pub advert: String,
}

impl OutageSetup {
    /// The BFD detect time (both sides use the same timers).
    pub fn detect(&self) -> Duration {
        self.instance("x", R1, GW).detect_time()
    }

    /// The backup's Skew_Time (RFC 5798 §6.1, VRRPv3: (256 − priority) / 256 × advert).
    pub fn skew(&self) -> Duration {
        let advert: f64 = self.advert.parse().unwrap_or(1.0);
        Duration::from_secs_f64(f64::from(256 - u32::from(BACKUP_PRIORITY)) / 256.0 * advert)
    }

    /// The floor of the time from the gateway's stop to the VIP answering from the backup:
    /// detect time + the backup's skew time (a stop just after the gateway's last packet
    /// can come in up to one BFD interval under it).
    pub fn floor(&self) -> Duration {
        self.detect() + self.skew()
    }

    /// `10 ms × 3, advert 0.1 s`.
    pub fn label(&self) -> String {
        format!(
            "{} ms × {}, advert_int {} s",
            self.interval, self.multiplier, self.advert
        )
    }

    fn instance(&self, name: &str, neighbor: &str, source: &str) -> BfdInstance {
        BfdInstance::new(name, neighbor, source).timers(&self.interval, self.multiplier)
    }

    fn vrrp(&self, priority: u8, extra: &str) -> String {
        vrrp_instance("LAB", 51, priority, VIP, extra)
            .replace("advert_int 0.1", &format!("advert_int {}", self.advert))
    }

    /// r1's configuration: the session to the gateway and the instance tracking it.
    fn master_conf(&self) -> String {
        format!(
            "{}{}{}",
            router_id("r1"),
            self.instance("gw", GW, R1).conf(),
            self.vrrp(200, "  track_bfd {\n    gw\n  }\n")
        )
    }

    fn backup_conf(&self) -> String {
        format!("{}{}", router_id("r2"), self.vrrp(BACKUP_PRIORITY, ""))
    }

    fn gateway_conf(&self) -> String {
        format!("{}{}", router_id("gw"), self.instance("r1", R1, GW).conf())
    }
}

/// What one trial measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trial {
    /// The client's longest gap between replies (r1 removing the VIP → r2 answering).
    pub outage: Duration,
    /// The gateway's stop → the client's first reply after the outage (from r2).
    pub answered: Duration,
}

/// Starts the routers of `pair` and the gateway, and waits until r1 is MASTER with its
/// session Up at the configured interval and r2 listens as BACKUP.
fn settled_lab(
    pair: BfdPair,
    setup: &OutageSetup,
    nice: Option<i32>,
) -> Result<(Lab, BfdDaemon, BfdDaemon, usize)> {
    let mut lab = Lab::with_hosts("bo", HOSTS)?;
    lab.nice = nice;
    let gw = lab.start_keepalived_bfd("gw", &setup.gateway_conf())?;
    let (r1, r2) = match pair {
        BfdPair::Keepalived => (
            lab.start_keepalived_bfd("r1", &setup.master_conf())?,
            lab.start_keepalived("r2", &setup.backup_conf())?,
        ),
        BfdPair::Kad | BfdPair::KadNoXdp => {
            if pair == BfdPair::KadNoXdp {
                lab.kad_args.push("--no-xdp".into());
            }
            (
                lab.start_kad_bfd("r1", &setup.master_conf())?,
                lab.start_kad("r2", &setup.backup_conf())?,
            )
        }
    };
    lab.wait_for("r1's session to the gateway is up", LIMIT, || {
        Ok(r1.state(&lab, "gw")? == Some(BfdState::Up))
    })?;
    // A session that falls and comes back Up runs at the 1 s idle interval (a 3 s detect
    // time) until its next poll sequence: any Down from here on spoils the trial.
    let downs_at_up = r1.downs(&lab, "gw")?;
    // Past the poll sequence that brings the session from 1 s to the configured interval.
    std::thread::sleep(Duration::from_secs(2));
    let settled = |lab: &Lab| -> Result<bool> {
        Ok(r1.state(lab, "gw")? == Some(BfdState::Up)
            && settle::last_state(&lab.daemon_log(r2)?) == Some("BACKUP")
            && lab.holds("r1", VIP)?
            && !lab.holds("r2", VIP)?)
    };
    lab.wait_for("r1 master, r2 backup", LIMIT, || settled(&lab))?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    // r2 stays backup for a whole Master_Down_Interval (it has heard r1).
    let advert: f64 = setup.advert.parse().unwrap_or(1.0);
    std::thread::sleep(Duration::from_secs_f64(advert * 4.0));
    if !settled(&lab)? {
        bail!("the lab did not stay settled\n{}", lab.logs());
    }
    Ok((lab, r1, gw, downs_at_up))
}

/// One trial in a fresh lab.
pub fn trial(pair: BfdPair, setup: &OutageSetup, nice: Option<i32>) -> Result<Trial> {
    let (lab, r1, gw, downs_at_up) = settled_lab(pair, setup, nice)?;
    let prober = Prober::start(lab.host("c")?, VIP)?;
    std::thread::sleep(Duration::from_millis(300));
    if r1.downs(&lab, "gw")? != downs_at_up {
        bail!("r1's session went down before the stop (a false down)");
    }
    let at = unix_now();
    gw.pause(&lab)?;
    let moved = lab.wait_for("the VIP moves to r2", Duration::from_secs(10), || {
        Ok(lab.holds("r2", VIP)? && !lab.holds("r1", VIP)?)
    });
    let gap = moved.and_then(|_| prober.gap_between(at, unix_now()));
    crate::load::keep_logs(&lab, &format!("bfd-outage-{}", pair_tag(pair)));
    let _ = gw.resume(&lab);
    let gap = gap?;
    if at - gap.start > STEADY_SPACING {
        bail!(
            "the client's last reply before the stop came {:.1} ms before it",
            (at - gap.start) * 1000.0
        );
    }
    let answered = Duration::from_secs_f64((gap.end - at).max(0.0));
    // The backup cannot answer before r1 detects the silence (its detect time, less at most
    // one interval since the gateway's last packet) plus the backup's skew time: earlier, a
    // false down just before the stop moved the VIP.
    let interval = setup.detect() / u32::from(setup.multiplier.max(1));
    if answered + interval < setup.detect() + setup.skew() {
        bail!(
            "the backup answered {} ms after the stop, under the floor: a false down before it",
            format_ms(answered)
        );
    }
    Ok(Trial {
        outage: gap.duration(),
        answered,
    })
}

fn pair_tag(pair: BfdPair) -> &'static str {
    match pair {
        BfdPair::Keepalived => "keepalived",
        BfdPair::Kad => "kad",
        BfdPair::KadNoXdp => "kad-no-xdp",
    }
}

/// Both daemons' trials in one cell.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The cell's timers.
    pub setup: OutageSetup,
    /// keepalived's trials, in order.
    pub keepalived: Vec<Trial>,
    /// kad's trials, in order (trial n of both daemons ran back to back).
    pub kad: Vec<Trial>,
    /// Attempts thrown away (keepalived, kad): the lab did not settle or r1's session went
    /// down before the stop (a false down at this interval on this machine).
    pub discarded: (usize, usize),
    /// Trials given up after [`ATTEMPTS`] attempts (keepalived, kad).
    pub given_up: (usize, usize),
}

/// Attempts per trial before it is given up (and the cell goes on without it).
pub const ATTEMPTS: usize = 6;

impl Cell {
    fn outages(trials: &[Trial], answered: bool) -> Outages {
        Outages(
            trials
                .iter()
                .map(|t| if answered { t.answered } else { t.outage })
                .collect(),
        )
    }

    /// The median of the trial-by-trial differences kad − keepalived (ms) of the stop →
    /// answered times.
    pub fn paired_answered_ms(&self) -> Option<f64> {
        let times = |trials: &[Trial]| trials.iter().map(|t| t.answered).collect::<Vec<_>>();
        phase::median(&phase::paired_differences_ms(
            &times(&self.kad),
            &times(&self.keepalived),
        ))
    }
}

/// Runs `trials` paired trials of `setup` (the daemon that goes first alternates); a trial
/// whose lab did not settle, or whose session went down before the stop, is tried again, up
/// to [`ATTEMPTS`] times, then given up.
pub fn run_cell(setup: &OutageSetup, trials: usize, nice: Option<i32>) -> Result<Cell> {
    let mut cell = Cell {
        setup: setup.clone(),
        keepalived: Vec::new(),
        kad: Vec::new(),
        discarded: (0, 0),
        given_up: (0, 0),
    };
    for index in 0..trials {
        let order = if index % 2 == 0 {
            [BfdPair::Keepalived, BfdPair::Kad]
        } else {
            [BfdPair::Kad, BfdPair::Keepalived]
        };
        for pair in order {
            let begun = Instant::now();
            let (discarded, given_up) = match pair {
                BfdPair::Keepalived => (&mut cell.discarded.0, &mut cell.given_up.0),
                // The cells pair keepalived with kad as it runs by default (XDP).
                BfdPair::Kad | BfdPair::KadNoXdp => (&mut cell.discarded.1, &mut cell.given_up.1),
            };
            let mut result = None;
            for attempt in 1..=ATTEMPTS {
                match trial(pair, setup, nice) {
                    Ok(trial) => {
                        result = Some(trial);
                        break;
                    }
                    Err(err) => {
                        *discarded += 1;
                        let first = format!("{err:#}");
                        let first = first.lines().next().unwrap_or_default();
                        eprintln!("  {}: attempt {attempt} failed ({first})", pair.label());
                    }
                }
            }
            let Some(result) = result else {
                *given_up += 1;
                eprintln!(
                    "  {:<24} {} trial {}/{trials}: given up after {ATTEMPTS} attempts",
                    pair.label(),
                    setup.label(),
                    index + 1
                );
                continue;
            };
            eprintln!(
                "  {:<24} {} trial {}/{trials}: outage {:>6} ms, stop → backup answers {:>6} ms ({:.1} s)",
                pair.label(),
                setup.label(),
                index + 1,
                format_ms(result.outage),
                format_ms(result.answered),
                begun.elapsed().as_secs_f64()
            );
            match pair {
                BfdPair::Keepalived => cell.keepalived.push(result),
                BfdPair::Kad | BfdPair::KadNoXdp => cell.kad.push(result),
            }
        }
    }
    Ok(cell)
}

fn spread(outages: &Outages) -> String {
    outages.summary().map_or("–".to_owned(), |s| {
        format!(
            "{} / **{}** / {}",
            format_ms(s.min),
            format_ms(s.median),
            format_ms(s.max)
        )
    })
}

/// The Markdown table of a run (ms, min / **median** / max).
pub fn table(cells: &[Cell]) -> String {
    let mut text = String::from(
        "| BFD, advert_int | floor: detect + skew | keepalived: stop → backup answers | kad: stop → backup answers | kad − keepalived (paired median) | keepalived: client outage | kad: client outage | attempts discarded / trials given up, keepalived; kad |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for cell in cells {
        let s = &cell.setup;
        text.push_str(&format!(
            "| {} | {} + {} = {} | {} | {} | {} | {} | {} | {} / {}; {} / {} |\n",
            s.label(),
            format_ms(s.detect()),
            format_ms(s.skew()),
            format_ms(s.floor()),
            spread(&Cell::outages(&cell.keepalived, true)),
            spread(&Cell::outages(&cell.kad, true)),
            cell.paired_answered_ms()
                .map_or("–".to_owned(), format_signed_ms),
            spread(&Cell::outages(&cell.keepalived, false)),
            spread(&Cell::outages(&cell.kad, false)),
            cell.discarded.0,
            cell.given_up.0,
            cell.discarded.1,
            cell.given_up.1,
        ));
    }
    text
}

/// The runs as JSON (ms).
pub fn to_json(cells: &[Cell]) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let trials = |trials: &[Trial]| -> Value {
        trials
            .iter()
            .map(|t| json!({"outage_ms": ms(t.outage), "answered_ms": ms(t.answered)}))
            .collect()
    };
    cells
        .iter()
        .map(|cell| {
            let s = &cell.setup;
            json!({
                "interval_ms": s.interval,
                "multiplier": s.multiplier,
                "advert_int": s.advert,
                "detect_ms": ms(s.detect()),
                "skew_ms": ms(s.skew()),
                "floor_ms": ms(s.floor()),
                "keepalived": trials(&cell.keepalived),
                "kad": trials(&cell.kad),
                "discarded_keepalived": cell.discarded.0,
                "discarded_kad": cell.discarded.1,
                "given_up_keepalived": cell.given_up.0,
                "given_up_kad": cell.given_up.1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors() {
        let setup = OutageSetup {
            interval: "10".to_owned(),
            multiplier: 3,
            advert: "0.1".to_owned(),
        };
        assert_eq!(setup.detect(), Duration::from_millis(30));
        assert_eq!(setup.skew().as_micros(), 60_937);
        assert_eq!(setup.floor().as_micros(), 90_937);
        assert!(setup.master_conf().contains("track_bfd {\n    gw\n"));
        assert!(setup.master_conf().contains("advert_int 0.1\n"));
        assert!(setup.gateway_conf().contains("neighbor_ip 10.77.0.1\n"));
    }
}
