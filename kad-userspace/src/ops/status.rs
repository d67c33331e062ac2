//! What `kad status` reports: a snapshot of every VRRP instance and sync group, built by the
//! protocol loop on request and served by the control socket, the metrics endpoint and the
//! signal dumps. Its JSON form is described by `docs/status.schema.json`.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::{Deserialize, Serialize};

use super::counters::CountersSnapshot;

/// The daemon's status at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// kad's version.
    pub version: String,
    /// The daemon's process id.
    pub pid: u32,
    /// When the snapshot was taken (Unix time, ms).
    pub generated_unix_ms: u64,
    /// How adverts are received: `xdp` (where the program attached) or `raw_sockets`.
    pub receive_path: String,
    /// Every `vrrp_instance`.
    pub instances: Vec<InstanceStatus>,
    /// Every `vrrp_sync_group`.
    pub sync_groups: Vec<SyncGroupStatus>,
    /// `virtual_server`s with their real servers: filled by the load-balancer side (empty
    /// until it runs).
    pub virtual_servers: Vec<serde_json::Value>,
}

/// One `vrrp_instance`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// `vrrp_instance NAME`.
    pub name: String,
    /// `virtual_router_id`.
    pub vrid: u8,
    /// `interface`.
    pub interface: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT` (keepalived's words).
    pub state: String,
    /// `priority` as configured.
    pub base_priority: u8,
    /// Priority after tracker weights.
    pub effective_priority: u8,
    /// The `vrrp_sync_group` the instance belongs to.
    pub sync_group: Option<String>,
    /// The address adverts are sent from.
    pub primary_address: String,
    /// The Master: this router when Master, else the last one heard (none yet: null).
    pub master: Option<MasterStatus>,
    /// The last state change.
    pub last_transition: Option<TransitionStatus>,
    /// Timers in force.
    pub timers: TimersStatus,
    /// Tracked objects and their last status.
    pub trackers: Vec<TrackerStatus>,
    /// `virtual_ipaddress` and `virtual_ipaddress_excluded`.
    pub virtual_addresses: Vec<String>,
    /// The virtual addresses this instance holds now (all of them while Master).
    pub vips_held: Vec<String>,
    /// Counters since start.
    pub counters: CountersSnapshot,
    /// The XDP program's counters for the receiving interface (XDP mode only).
    pub xdp: Option<XdpStatus>,
}

/// Who is Master.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterStatus {
    /// Its address.
    pub address: String,
    /// The priority it advertises.
    pub priority: u8,
    /// Whether it is this router.
    pub local: bool,
}

/// A state change: when and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionStatus {
    /// Unix time of the change, ms.
    pub at_unix_ms: u64,
    /// Age of the change when the snapshot was taken, ms.
    pub age_ms: u64,
    /// `owner`, `startup`, `master_down`, `preempted`, `fault`, `fault_cleared`, `shutdown`
    /// or `sync_group`.
    pub reason: String,
}

/// RFC 5798 §6.1 timers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimersStatus {
    /// `advert_int` as configured, ms.
    pub advert_interval_ms: u64,
    /// Master_Adver_Interval (v3: learned from the Master), ms.
    pub master_advert_interval_ms: u64,
    /// Master_Down_Interval, ms.
    pub master_down_interval_ms: u64,
    /// Skew_Time, ms (fractional).
    pub skew_ms: f64,
}

/// A tracked object as one instance sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerStatus {
    /// The block or interface name.
    pub name: String,
    /// `script`, `interface`, `file`, `process` or `bfd`.
    pub kind: String,
    /// `weight` (0: the instance goes to FAULT while down).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `up`, `down`, or the number read (`track_file`).
    pub status: String,
}

/// The XDP program's per-interface counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XdpStatus {
    /// Attach mode (`native` or `generic`).
    pub mode: String,
    /// Packets per reason (`kad_common::xdp_counters::XdpReason::name`).
    pub counters: BTreeMap<String, u64>,
}

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    /// `vrrp_sync_group NAME`.
    pub name: String,
    /// The group's state.
    pub state: String,
    /// Its members' names.
    pub members: Vec<String>,
}

impl Status {
    /// The compact table `kad status` prints.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kad {} (pid {}), receive path {}",
            self.version, self.pid, self.receive_path
        );
        let header = [
            "INSTANCE", "VRID", "IF", "FAM", "STATE", "PRIO", "BASE", "MASTER", "SINCE", "REASON",
            "ADV-IN", "ADV-OUT", "P0-IN", "P0-OUT", "ERRORS", "VIPS",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        for i in &self.instances {
            let errors: u64 = i.counters.receive_errors.values().sum();
            rows.push(vec![
                i.name.clone(),
                i.vrid.to_string(),
                i.interface.clone(),
                i.family.clone(),
                i.state.clone(),
                i.effective_priority.to_string(),
                i.base_priority.to_string(),
                i.master
                    .as_ref()
                    .map(|m| {
                        if m.local {
                            "self".to_owned()
                        } else {
                            m.address.clone()
                        }
                    })
                    .unwrap_or_else(|| "-".to_owned()),
                i.last_transition
                    .as_ref()
                    .map(|t| format!("{:.1}s", t.age_ms as f64 / 1000.0))
                    .unwrap_or_else(|| "-".to_owned()),
                i.last_transition
                    .as_ref()
                    .map(|t| t.reason.clone())
                    .unwrap_or_else(|| "-".to_owned()),
                i.counters.adverts_received.to_string(),
                i.counters.adverts_sent.to_string(),
                i.counters.priority_zero_received.to_string(),
                i.counters.priority_zero_sent.to_string(),
                errors.to_string(),
                i.vips_held.len().to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|col| {
                rows.iter()
                    .map(|row| row.get(col).map_or(0, String::len))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        for group in &self.sync_groups {
            let _ = writeln!(
                out,
                "sync group {}: {} ({})",
                group.name,
                group.state,
                group.members.join(", ")
            );
        }
        for i in self.instances.iter().filter(|i| !i.trackers.is_empty()) {
            let trackers: Vec<String> = i
                .trackers
                .iter()
                .map(|t| format!("{} {}={}", t.kind, t.name, t.status))
                .collect();
            let _ = writeln!(out, "{} tracks: {}", i.name, trackers.join(", "));
        }
        if !self.virtual_servers.is_empty() {
            let _ = writeln!(out, "{} virtual servers", self.virtual_servers.len());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_a_row_per_instance() {
        let status = Status {
            version: "0".into(),
            receive_path: "xdp".into(),
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                vrid: 51,
                state: "MASTER".into(),
                effective_priority: 200,
                master: Some(MasterStatus {
                    address: "10.0.0.1".into(),
                    priority: 200,
                    local: true,
                }),
                ..InstanceStatus::default()
            }],
            ..Status::default()
        };
        let table = status.to_table();
        let row = table.lines().nth(2).unwrap_or_default();
        assert!(row.starts_with("VI_1"), "{table}");
        assert!(row.contains("MASTER") && row.contains("self"), "{table}");
    }
}
