//! Load measurements for issue 6 (the XDP dataplane), kad beside keepalived 2.2.7 in one lab:
//! many instances at a short advert interval ([`scale`]) and floods of hostile adverts at a
//! Backup ([`flood`]); and for issue 7, thousands of TCP_CHECKed real servers in a UML guest
//! with real IPVS ([`checkers`]); for issue 16, BFD false downs under load ([`bfd`]),
//! CPU per session ([`bfd_cpu`]) and the BFD-driven failover ([`bfd_outage`]). Shared by the `kad-load` benchmark binary (figures for BENCHMARKS.md)
//! and the CI tests in `tests/tests/xdp_scale.rs` (which assert behaviour, never timings).

pub mod advert_gaps;
pub mod bfd;
pub mod bfd_cpu;
pub mod bfd_outage;
pub mod check_conf;
pub mod checkers;
pub mod checkers_report;
pub mod conf;
pub mod daemon_log;
pub mod flood;
pub mod flood_frames;
pub mod generator;
pub mod procfs;
pub mod report;
pub mod scale;
pub mod sink;
pub mod xdp_counters;

use std::{process::Command, time::Duration};

use anyhow::{Context as _, Result};

use crate::lab::Lab;

/// The pid of the VRRP process of the keepalived started on `host` (keepalived forks it and
/// writes its pid file), waiting up to 10 s for the file.
pub fn keepalived_vrrp_pid(lab: &Lab, host: &str) -> Result<u32> {
    let path = lab.keepalived_pid_file(host, "vrrp");
    let mut pid = None;
    lab.wait_for(
        &format!("keepalived's VRRP pid file on {host}"),
        Duration::from_secs(10),
        || {
            pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            Ok(pid.is_some())
        },
    )?;
    pid.context("pid file")
}

/// How kad receives adverts in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KadReceive {
    /// The default: XDP validates and records adverts in the kernel.
    Xdp,
    /// `kad --no-xdp`: raw sockets only.
    RawSockets,
}

impl KadReceive {
    /// Extra kad arguments for this mode.
    pub fn args(self) -> Vec<String> {
        match self {
            Self::Xdp => Vec::new(),
            Self::RawSockets => vec!["--no-xdp".to_owned()],
        }
    }

    /// Short label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Self::Xdp => "xdp",
            Self::RawSockets => "raw sockets",
        }
    }
}

/// A direction on a switch port.
#[derive(Clone, Copy, Debug)]
pub enum Direction {
    /// Frames the host sent onto the segment.
    FromHost,
    /// Frames the switch put on the host's link.
    Tx,
}

/// Frames counted on `host`'s switch port in `direction` so far.
pub fn port_packets(lab: &Lab, host: &str, direction: Direction) -> Result<u64> {
    let port = Lab::port(host);
    let out = Command::new("ip")
        .args(["-n", lab.switch().name(), "-j", "-s", "link", "show", &port])
        .output()
        .context("ip -s link show")?;
    let links: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing ip -j -s link")?;
    // The port's rx is what its host sent.
    let pointer = match direction {
        Direction::FromHost => "/stats64/rx/packets",
        Direction::Tx => "/stats64/tx/packets",
    };
    links
        .get(0)
        .and_then(|link| link.pointer(pointer))
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("no packet counter for {port}"))
}

/// When `$KAD_LOAD_LOGS` names a folder, copies the lab's daemon logs there as
/// `<run>-<log name>` (for looking into a run after its lab is gone).
pub fn keep_logs(lab: &Lab, run: &str) {
    let Some(folder) = std::env::var_os("KAD_LOAD_LOGS") else {
        return;
    };
    let folder = std::path::PathBuf::from(folder);
    let _ = std::fs::create_dir_all(&folder);
    let Ok(entries) = std::fs::read_dir(lab.dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") {
            let _ = std::fs::copy(entry.path(), folder.join(format!("{run}-{name}")));
        }
    }
}
