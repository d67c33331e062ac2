//! What the TCP sink (`kad-tcp-sink`, the real servers of the checkers benchmark) counts,
//! and the snapshot file it writes on SIGUSR1: its monotonic clock, every connection it
//! accepted, those to an address outside the plan, and one cumulative count per real server
//! ([`super::check_conf::real_server`]). Two snapshots give a window's checks.

use std::{fmt::Write as _, time::Duration};

use anyhow::{Context as _, Result, bail};

/// Cumulative counts at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// CLOCK_MONOTONIC of the sink when it wrote the snapshot.
    pub at: Duration,
    /// Connections accepted since the sink started.
    pub total: u64,
    /// Of those, to an address that is not a real server of the plan.
    pub outside: u64,
    /// Connections accepted per real server, by index.
    pub per_server: Vec<u64>,
}

impl Snapshot {
    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "monotonic_ns {}\ntotal {}\noutside {}\n",
            self.at.as_nanos(),
            self.total,
            self.outside
        );
        for count in &self.per_server {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{count}");
        }
        text
    }

    /// Parses [`Snapshot::to_text`].
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines();
        let mut field = |name: &str| -> Result<u64> {
            let line = lines.next().with_context(|| format!("no {name} line"))?;
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
                .with_context(|| format!("bad {name} line {line:?}"))
        };
        let at = Duration::from_nanos(field("monotonic_ns")?);
        let total = field("total")?;
        let outside = field("outside")?;
        let per_server = lines
            .map(|line| line.trim().parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .context("bad per-server count")?;
        Ok(Self {
            at,
            total,
            outside,
            per_server,
        })
    }
}

/// The checks between two snapshots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Seconds between the snapshots (the sink's clock).
    pub seconds: f64,
    /// Connections accepted per second.
    pub per_second: f64,
    /// Connections to addresses outside the plan.
    pub outside: u64,
    /// Real servers in the plan.
    pub servers: usize,
    /// Fewest checks any one real server got.
    pub min_per_server: u64,
    /// Most checks any one real server got.
    pub max_per_server: u64,
    /// Real servers with no check at all in the window.
    pub unchecked: usize,
}

impl Window {
    /// The window from `start` to `end` (the same sink, `end` later).
    pub fn between(start: &Snapshot, end: &Snapshot) -> Result<Self> {
        if start.per_server.len() != end.per_server.len() {
            bail!(
                "snapshots of {} and {} servers",
                start.per_server.len(),
                end.per_server.len()
            );
        }
        let seconds = end.at.saturating_sub(start.at).as_secs_f64();
        if seconds <= 0.0 {
            bail!("empty window");
        }
        let counts: Vec<u64> = start
            .per_server
            .iter()
            .zip(&end.per_server)
            .map(|(a, b)| b.saturating_sub(*a))
            .collect();
        Ok(Self {
            seconds,
            per_second: end.total.saturating_sub(start.total) as f64 / seconds,
            outside: end.outside.saturating_sub(start.outside),
            servers: counts.len(),
            min_per_server: counts.iter().copied().min().unwrap_or(0),
            max_per_server: counts.iter().copied().max().unwrap_or(0),
            unchecked: counts.iter().filter(|c| **c == 0).count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_each_servers_checks() {
        let start = Snapshot {
            at: Duration::from_secs(10),
            total: 5,
            outside: 1,
            per_server: vec![1, 1, 2],
        };
        let end = Snapshot {
            at: Duration::from_secs(12),
            total: 11,
            outside: 1,
            per_server: vec![3, 1, 6],
        };
        let parsed = Snapshot::parse(&end.to_text()).expect("parse");
        assert_eq!(parsed, end);
        let window = Window::between(&start, &end).expect("window");
        assert_eq!(window.per_second, 3.0);
        assert_eq!((window.min_per_server, window.max_per_server), (0, 4));
        assert_eq!(window.unchecked, 1);
        assert_eq!(window.servers, 3);
        assert!(Window::between(&end, &start).is_err(), "time runs forward");
    }
}
