//! What machine a benchmark ran on, and when: kernel release, CPU count and model, load
//! average (the cores are often shared with builds), and the date in UTC.

use std::{
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;

/// The machine and moment of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Machine {
    /// `uname -r`.
    pub kernel: String,
    /// Online CPUs (what `nproc` prints).
    pub nproc: usize,
    /// The first `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// Start of the run, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    /// The 1-minute load average when the run started.
    pub loadavg_start: Option<f64>,
    /// The 1-minute load average when the run ended.
    pub loadavg_end: Option<f64>,
}

impl Machine {
    /// Describes this machine now (fields that cannot be read are left empty).
    pub fn now() -> Self {
        let kernel = Command::new("uname")
            .arg("-r")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_default();
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            kernel,
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            date: utc_timestamp(seconds),
            loadavg_start: loadavg(),
            loadavg_end: None,
        }
    }

    /// One line for humans: `kernel 6.18.0, 2 CPUs (Intel Xeon Processor), load average
    /// 0.4 → 1.9` (start → end; only the start while the run is going).
    pub fn describe(&self) -> String {
        let load = |value: Option<f64>| value.map_or("?".to_owned(), |v| format!("{v:.1}"));
        let end = self
            .loadavg_end
            .map_or(String::new(), |_| format!(" → {}", load(self.loadavg_end)));
        format!(
            "kernel {}, {} CPUs ({}), load average {}{end}",
            self.kernel,
            self.nproc,
            self.cpu,
            load(self.loadavg_start),
        )
    }
}

/// The 1-minute load average from /proc/loadavg.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn utc_timestamp(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
