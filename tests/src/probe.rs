//! A client-side probe of a VIP: `ping -D` every 2 ms from the client namespace, reply times
//! taken from ping's own timestamps (immune to output buffering), and the longest gap
//! between replies after a fault: the outage a client saw.

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, Result, bail};

use crate::lab::Host;

/// A running probe.
pub struct Prober {
    child: Child,
    replies: Arc<Mutex<Vec<f64>>>,
}

/// Seconds since the Unix epoch, as ping -D prints them.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Prober {
    /// Starts pinging `vip` from `client` every 2 ms.
    pub fn start(client: &Host, vip: &str) -> Result<Self> {
        let mut child = client
            .command("ping")
            .args(["-D", "-n", "-i", "0.002", "-W", "0.05", vip])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting ping in the client namespace")?;
        let stdout = child.stdout.take().context("ping stdout")?;
        let replies = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&replies);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let stamp = line
                    .strip_prefix('[')
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|t| t.parse::<f64>().ok());
                if let (Some(stamp), true) = (stamp, line.contains("bytes from"))
                    && let Ok(mut replies) = sink.lock()
                {
                    replies.push(stamp);
                }
            }
        });
        Ok(Self { child, replies })
    }

    /// After a fault at `since` (unix seconds): waits until replies have flowed again for a
    /// while, then returns the longest gap between replies around the fault.
    pub fn outage_since(&self, since: f64) -> Result<Duration> {
        Ok(self.gap_since(since)?.duration())
    }

    /// As [`Prober::outage_since`], with when the gap began and ended: the longest gap
    /// from the fault until the replies flow steadily again ([`recovery_gap`]), so that a
    /// later hiccup of a loaded machine is not taken for the failover.
    pub fn gap_since(&self, since: f64) -> Result<Gap> {
        self.gap_between(since, since)
    }

    /// The longest gap after a fault at `since` until the replies flow steadily again after
    /// `settled` (unix seconds; e.g. when the VIP was seen on its new holder), so that a
    /// hand-over that comes some time after the fault (a graceful stop waits Skew_Time) is
    /// inside the window.
    pub fn gap_between(&self, since: f64, settled: f64) -> Result<Gap> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let replies = self
                .replies
                .lock()
                .map_err(|_| anyhow::anyhow!("prober poisoned"))?
                .clone();
            let steady = Steady {
                after: settled,
                replies: STEADY_REPLIES,
                spacing: STEADY_SPACING,
            };
            if let Some(gap) = recovery_gap(&replies, since, steady) {
                return Ok(gap);
            }
            if Instant::now() > deadline {
                bail!("the client did not reach the VIP again within 15 s");
            }
        }
    }
}

/// When the client counts as reaching the VIP again: `replies` replies in a row, each
/// within `spacing` seconds of the previous one, all at or after `after` (unix seconds).
#[derive(Clone, Copy, Debug)]
pub struct Steady {
    /// No reply before this time counts towards the run.
    pub after: f64,
    /// Replies in the run.
    pub replies: usize,
    /// Largest spacing within the run, seconds.
    pub spacing: f64,
}

/// Replies in a row, each within [`STEADY_SPACING`] of the previous one, that show the VIP
/// answers again (100 ms of probes).
pub const STEADY_REPLIES: usize = 50;
/// The largest spacing between two replies of a steady run (ten probe intervals).
pub const STEADY_SPACING: f64 = 0.02;

/// The outage after a fault at `since` (unix seconds), from the reply times `replies` (in
/// order): the longest gap from the last reply before `since` until the end of the first
/// [`Steady`] run; `None` while no such run has come.
pub fn recovery_gap(replies: &[f64], since: f64, steady: Steady) -> Option<Gap> {
    let mut previous = replies
        .iter()
        .copied()
        .rfind(|t| *t < since)
        .unwrap_or(since);
    let mut longest = Gap {
        start: since,
        end: since,
    };
    let mut run = 0;
    for t in replies.iter().copied().filter(|t| *t >= since) {
        let gap = t - previous;
        if gap > longest.end - longest.start {
            longest = Gap {
                start: previous,
                end: t,
            };
        }
        run = if gap <= steady.spacing && t >= steady.after {
            run + 1
        } else {
            0
        };
        if run >= steady.replies {
            return Some(longest);
        }
        previous = t;
    }
    None
}

/// A silence of the client: the last reply before it and the first one after (unix
/// seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gap {
    /// The last reply before the silence (or the fault time when none came before it).
    pub start: f64,
    /// The first reply after it.
    pub end: f64,
}

impl Gap {
    /// How long the client went without replies.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64((self.end - self.start).max(0.0))
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(after: f64, replies: usize) -> Steady {
        Steady {
            after,
            replies,
            spacing: 0.02,
        }
    }

    fn every_2ms(from: f64, count: usize) -> impl Iterator<Item = f64> {
        (0..count).map(move |i| from + 0.002 * i as f64)
    }

    #[test]
    fn the_outage_ends_when_replies_flow_steadily() {
        let mut replies: Vec<f64> = every_2ms(1.0, 3).collect(); // 1.000 .. 1.004
        replies.extend(every_2ms(3.5, 10)); // the VIP answers again
        replies.extend(every_2ms(5.0, 10)); // a later hiccup of 1.48 s
        // Not yet steady: 10 replies, then another gap.
        assert_eq!(recovery_gap(&replies, 1.005, steady(0.0, 20)), None);
        let gap = recovery_gap(&replies, 1.005, steady(0.0, 5)).expect("steady");
        // The gap starts at the last reply before the fault; the later hiccup is ignored.
        assert_eq!((gap.start, gap.end), (1.004, 3.5));
        assert!((gap.duration().as_secs_f64() - 2.496).abs() < 1e-9);
        // No gap at all (a hand-over without loss): the largest spacing.
        let smooth: Vec<f64> = every_2ms(1.0, 100).collect();
        let gap = recovery_gap(&smooth, 1.05, steady(0.0, 10)).expect("steady");
        assert!((gap.duration().as_secs_f64() - 0.002).abs() < 1e-9);
        // No reply before the fault: the gap starts at the fault.
        let late: Vec<f64> = every_2ms(2.0, 10).collect();
        let gap = recovery_gap(&late, 1.0, steady(0.0, 5)).expect("steady");
        assert_eq!((gap.start, gap.end), (1.0, 2.0));
        assert_eq!(recovery_gap(&[], 1.0, steady(0.0, 5)), None);
    }

    #[test]
    fn a_hand_over_after_the_fault_is_inside_the_window() {
        // A graceful stop: the old master answers on after the fault, the hand-over comes
        // 0.6 s later with a 20 ms gap, seen done at 1.65.
        let mut replies: Vec<f64> = every_2ms(1.0, 300).collect(); // to 1.598
        replies.extend(every_2ms(1.618, 200));
        let early = recovery_gap(&replies, 1.01, steady(0.0, 50)).expect("steady");
        assert!(
            early.duration().as_secs_f64() < 0.003,
            "steady before the hand-over"
        );
        let gap = recovery_gap(&replies, 1.01, steady(1.65, 50)).expect("steady");
        assert!((gap.start - 1.598).abs() < 1e-9 && (gap.end - 1.618).abs() < 1e-9);
        // Not steady yet when the replies after `after` are too few.
        assert_eq!(recovery_gap(&replies, 1.01, steady(1.95, 50)), None);
    }
}
