//! A process's CPU time and memory, and the machine's softirq time, from /proc: what a load
//! measurement reads at the start and end of its window.

use std::{
    fs,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

/// Kernel clock ticks per second (`USER_HZ`), the unit of /proc's CPU times.
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// utime + stime of process `pid`, all its threads, in clock ticks (/proc/PID/stat fields 14
/// and 15).
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("{path}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("{path}: field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

/// A `/proc/PID/status` size field in KiB (`VmRSS`, `VmHWM`, …).
pub fn status_kib(pid: u32, name: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    text.lines()
        .find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.split_whitespace().next()?.parse().ok()
        })
        .with_context(|| format!("{path}: no {name}"))
}

/// Softirq time of the whole machine (every CPU), in clock ticks (/proc/stat `cpu` line).
pub fn softirq_ticks() -> Result<u64> {
    let text = fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = text
        .lines()
        .find(|line| line.starts_with("cpu "))
        .context("/proc/stat: no cpu line")?;
    // cpu user nice system idle iowait irq softirq …
    line.split_whitespace()
        .nth(7)
        .and_then(|value| value.parse().ok())
        .context("/proc/stat: no softirq field")
}

/// What a process used over a window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// CPU time (user + system, every thread) over the window, in percent of one core.
    pub cpu_percent: f64,
    /// Resident memory at the window's start, KiB.
    pub rss_start_kib: u64,
    /// Resident memory at its end, KiB.
    pub rss_end_kib: u64,
}

/// CPU time of one process from a start point: [`Meter::start`], then [`Meter::stop`].
pub struct Meter {
    pid: u32,
    ticks: u64,
    rss_kib: u64,
    at: Instant,
}

impl Meter {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> Result<Self> {
        Ok(Self {
            pid,
            ticks: cpu_ticks(pid)?,
            rss_kib: status_kib(pid, "VmRSS")?,
            at: Instant::now(),
        })
    }

    /// What the process used since [`Meter::start`].
    pub fn stop(&self) -> Result<Usage> {
        let ticks = cpu_ticks(self.pid)?;
        let elapsed = self.at.elapsed();
        Ok(Usage {
            cpu_percent: percent(ticks.saturating_sub(self.ticks), elapsed),
            rss_start_kib: self.rss_kib,
            rss_end_kib: status_kib(self.pid, "VmRSS")?,
        })
    }
}

/// `ticks` of CPU time over `elapsed` wall time, in percent of one core.
pub fn percent(ticks: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0.0;
    }
    ticks as f64 / ticks_per_second() / seconds * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let meter = Meter::start(me).expect("start");
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(200) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let usage = meter.stop().expect("stop");
        assert!(usage.cpu_percent > 0.0, "{usage:?}");
        assert!(usage.rss_end_kib > 0);
        assert!(softirq_ticks().is_ok());
    }
}
