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
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let replies = self
                .replies
                .lock()
                .map_err(|_| anyhow::anyhow!("prober poisoned"))?
                .clone();
            let now = unix_now();
            let after: Vec<f64> = replies.iter().copied().filter(|t| *t >= since).collect();
            let flowing = after.len() > 50 && after.last().is_some_and(|last| now - last < 0.05);
            if flowing {
                let mut previous = replies
                    .iter()
                    .copied()
                    .rfind(|t| *t < since)
                    .unwrap_or(since);
                let mut longest = 0.0f64;
                for t in after {
                    longest = longest.max(t - previous);
                    previous = t;
                }
                return Ok(Duration::from_secs_f64(longest.max(0.0)));
            }
            if Instant::now() > deadline {
                bail!("the client did not reach the VIP again within 15 s");
            }
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
