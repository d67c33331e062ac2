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

    /// As [`Prober::outage_since`], with when the gap began and ended.
    pub fn gap_since(&self, since: f64) -> Result<Gap> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let replies = self
                .replies
                .lock()
                .map_err(|_| anyhow::anyhow!("prober poisoned"))?
                .clone();
            let now = unix_now();
            let after = replies.iter().filter(|t| **t >= since).count();
            let flowing = after > 50 && replies.last().is_some_and(|last| now - last < 0.05);
            if flowing {
                return Ok(longest_gap(&replies, since));
            }
            if Instant::now() > deadline {
                bail!("the client did not reach the VIP again within 15 s");
            }
        }
    }
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

/// The longest gap between the reply times `replies` (in order) that ends at or after
/// `since`; it may start before `since` (the last reply before the fault). Without a reply
/// after `since`, an empty gap at `since`.
pub fn longest_gap(replies: &[f64], since: f64) -> Gap {
    let mut previous = replies
        .iter()
        .copied()
        .rfind(|t| *t < since)
        .unwrap_or(since);
    let mut longest = Gap {
        start: since,
        end: since,
    };
    for t in replies.iter().copied().filter(|t| *t >= since) {
        if t - previous > longest.end - longest.start {
            longest = Gap {
                start: previous,
                end: t,
            };
        }
        previous = t;
    }
    longest
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

    #[test]
    fn longest_gap_spans_the_fault() {
        let replies = [1.0, 1.002, 1.004, 3.5, 3.502, 3.6];
        // The gap starts at the last reply before the fault.
        let gap = longest_gap(&replies, 1.005);
        assert_eq!((gap.start, gap.end), (1.004, 3.5));
        assert!((gap.duration().as_secs_f64() - 2.496).abs() < 1e-9);
        assert_eq!(longest_gap(&replies, 9.0).duration(), Duration::ZERO);
        let first = longest_gap(&[2.0, 2.1], 1.0);
        assert_eq!(
            (first.start, first.end),
            (1.0, 2.0),
            "no reply before the fault"
        );
    }
}
