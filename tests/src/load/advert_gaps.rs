//! How long a Master fell silent: tcpdump on the Master's switch port captures the VRRP
//! frames it sends during a window, and each instance's largest gap between two adverts is
//! measured. A Backup that took over while the Master's largest gap stayed below its
//! Master_Down_Interval (RFC 5798 §6.1: 3 × interval + skew) took over spuriously; one that
//! took over after a longer gap did what the RFC says.

use std::{
    collections::BTreeMap,
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};

use crate::{capture::read_frames, lab::Lab};

/// A running capture of the frames one host sends onto the segment.
pub struct Capture {
    child: Child,
    file: PathBuf,
    log: PathBuf,
}

/// Every VRRP advert a capture saw, per instance, with its capture time (since the Unix
/// epoch, as tcpdump stamps it from the real-time clock).
#[derive(Clone, Default)]
pub struct Adverts {
    times: BTreeMap<u8, Vec<Duration>>,
    /// Frames tcpdump reported dropped by the kernel (gaps may then be overstated).
    pub dropped: u64,
}

impl Adverts {
    /// Adverts captured.
    pub fn count(&self) -> usize {
        self.times.values().map(Vec::len).sum()
    }

    /// Instances (VRIDs) seen.
    pub fn instances(&self) -> usize {
        self.times.len()
    }

    /// The largest gap between two adverts of one instance, and that instance.
    pub fn max_gap(&self) -> (Duration, u8) {
        let mut worst = (Duration::ZERO, 0);
        for (vrid, times) in &self.times {
            for pair in times.windows(2) {
                let gap = pair[1].saturating_sub(pair[0]);
                if gap > worst.0 {
                    worst = (gap, *vrid);
                }
            }
        }
        worst
    }

    /// How long instance `vrid` had been silent at `at` (since the Unix epoch): `at` minus
    /// its last advert before `at`; `None` when none was captured before `at`.
    pub fn silence_before(&self, vrid: u8, at: Duration) -> Option<Duration> {
        let times = self.times.get(&vrid)?;
        let before = times.partition_point(|time| *time <= at);
        let last = times.get(before.checked_sub(1)?)?;
        Some(at.saturating_sub(*last))
    }
}

impl std::fmt::Debug for Adverts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (gap, vrid) = self.max_gap();
        f.debug_struct("Adverts")
            .field("count", &self.count())
            .field("instances", &self.instances())
            .field("max_gap", &gap)
            .field("worst_vrid", &vrid)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl Capture {
    /// Starts tcpdump on `host`'s switch port for the VRRP frames `host` sends.
    pub fn start(lab: &Lab, host: &str) -> Result<Self> {
        let port = Lab::port(host);
        let file = lab.dir().join(format!("gaps-{host}.pcap"));
        let log = lab.dir().join(format!("gaps-{host}.tcpdump.log"));
        let out = fs::File::create(&log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", lab.switch().name(), "tcpdump"])
            .args([
                "-i", &port, "-Q", "in", "-n", "-s", "64", "-B", "16384", "-w",
            ])
            .arg(&file)
            .args(["ip", "proto", "112"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .context("starting tcpdump")?;
        let capture = Self { child, file, log };
        lab.wait_for("tcpdump listens", Duration::from_secs(5), || {
            Ok(fs::read_to_string(&capture.log)?.contains("listening on"))
        })?;
        Ok(capture)
    }

    /// Stops the capture and reads it.
    pub fn stop(mut self) -> Result<Adverts> {
        let pid = i32::try_from(self.child.id()).context("pid")?;
        // SAFETY: kill(2) on our own child; SIGINT makes tcpdump flush and print its counts.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let status = self.child.wait().context("waiting for tcpdump")?;
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        if !status.success() && !log.contains("packets captured") {
            bail!("tcpdump failed ({status}):\n{log}");
        }
        let mut adverts = read_adverts(&self.file)?;
        adverts.dropped = log
            .lines()
            .find(|line| line.contains("dropped by kernel"))
            .and_then(|line| line.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Ok(adverts)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The IPv4 VRRP frames of `file`, per VRID.
fn read_adverts(file: &std::path::Path) -> Result<Adverts> {
    let mut adverts = Adverts::default();
    for frame in read_frames(file)? {
        let data = &frame.data;
        // Ethernet (14), then IPv4 (protocol at 23), then VRRP (VRID in its second byte).
        if data.len() < 36 || data[12..14] != [0x08, 0x00] || data[23] != 112 {
            continue;
        }
        let header = usize::from(data[14] & 0x0f) * 4;
        if let Some(&vrid) = data.get(14 + header + 1) {
            adverts.times.entry(vrid).or_default().push(frame.timestamp);
        }
    }
    Ok(adverts)
}

/// RFC 5798 §6.1 Master_Down_Interval of a Backup with `priority` at `interval`:
/// 3 × interval + (256 − priority) × interval / 256.
pub fn master_down_interval(interval: Duration, priority: u8) -> Duration {
    interval * 3 + interval * (256 - u32::from(priority)) / 256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_silences() {
        let ms = Duration::from_millis;
        let mut adverts = Adverts::default();
        adverts.times.insert(1, vec![ms(1000), ms(1010), ms(1050)]);
        adverts.times.insert(2, vec![ms(1000), ms(1020)]);
        assert_eq!(adverts.count(), 5);
        assert_eq!(adverts.max_gap(), (ms(40), 1));
        assert_eq!(adverts.silence_before(1, ms(1045)), Some(ms(35)));
        assert_eq!(adverts.silence_before(1, ms(1050)), Some(ms(0)));
        assert_eq!(adverts.silence_before(2, ms(999)), None);
        assert_eq!(adverts.silence_before(3, ms(1100)), None);
    }

    #[test]
    fn master_down_interval_as_the_rfc_says() {
        let interval = Duration::from_millis(10);
        assert_eq!(
            master_down_interval(interval, 100),
            Duration::from_nanos(36_093_750)
        );
    }
}
