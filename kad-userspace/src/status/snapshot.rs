//! What `kad status` reports: a snapshot of every VRRP instance and sync group, built by the
//! protocol loop on request, and of every virtual and real server, published by the LVS task
//! and the health checkers when they change; served by the control socket, the metrics
//! endpoint and the signal dumps. Its JSON form is described by `docs/status.schema.json`.

use std::{borrow::Cow, collections::BTreeMap, fmt::Write as _};

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
    /// The LVS side: whether it runs and whether it reaches the kernel's IPVS.
    pub ipvs: IpvsStatus,
    /// Every `virtual_server` with its real servers (empty when the LVS side does not run).
    pub virtual_servers: Vec<VirtualServerStatus>,
    /// Every `bfd_instance` session (empty when none runs).
    #[serde(default)]
    pub bfd_sessions: Vec<super::bfd::BfdSessionStatus>,
}

/// Whether the LVS side runs and has IPVS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpvsState {
    /// No LVS side (`-P`, or no `virtual_server` configured).
    #[default]
    Off,
    /// The IPVS table is kept in step with the checkers.
    Running,
    /// The kernel has no IPVS (or it cannot be reached): the checkers run and are reported,
    /// nothing is installed.
    Unavailable,
}

impl IpvsState {
    /// The word used in the JSON and the table.
    pub const fn word(self) -> &'static str {
        match self {
            IpvsState::Off => "off",
            IpvsState::Running => "running",
            IpvsState::Unavailable => "unavailable",
        }
    }
}

/// The LVS side's state (status JSON `ipvs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsStatus {
    /// `off`, `running` or `unavailable`.
    pub state: IpvsState,
    /// Why IPVS is unavailable.
    pub error: Option<String>,
}

/// One `virtual_server` (keepalived.conf(5) "LVS CONFIGURATION").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerStatus {
    /// As logs name it: `TCP 10.0.0.1:80`, `fwmark 1`, `group NAME`.
    pub name: String,
    /// `virtual_server IP PORT`: `IP:PORT` (null for fwmark and group).
    pub address: Option<String>,
    /// `virtual_server fwmark N`.
    pub fwmark: Option<u32>,
    /// `virtual_server group NAME`.
    pub group: Option<String>,
    /// `protocol`: `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// `lvs_sched` / `lb_algo`.
    pub scheduler: String,
    /// `lvs_method` / `lb_kind`: `NAT`, `DR` or `TUN`.
    pub forwarding: String,
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// Whether the live weight holds quorum (keepalived: `quorum_up` ran last).
    pub quorum_up: bool,
    /// Sum of the weights of the live real servers.
    pub alive_weight: i64,
    /// `sorry_server` (`IP:PORT`).
    pub sorry_server: Option<String>,
    /// Whether the sorry server serves (quorum lost).
    pub sorry_server_active: bool,
    /// Whether every IPVS service of this virtual server is in the kernel's table.
    pub installed: bool,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServerStatus>,
}

/// One `real_server` of a virtual server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServerStatus {
    /// `IP:PORT` (the virtual server's port when none is given).
    pub address: String,
    /// `weight` as configured.
    pub weight: i32,
    /// The weight kad gives it in IPVS: its weight (or the one `misc_dynamic` / FILE_CHECK
    /// set) while it serves, 0 while it is down under `inhibit_on_failure` or out.
    pub effective_weight: i32,
    /// Every checker passes (keepalived: the real server is alive).
    pub up: bool,
    /// Why it is in this state: the checker result that last changed it.
    pub reason: String,
    /// When it entered this state (Unix time, ms; its first report counts).
    pub since_unix_ms: Option<u64>,
    /// Whether the kernel's IPVS table has it as a destination of every service of its
    /// virtual server (as of the last application).
    pub installed: bool,
    /// Its checkers (empty: no checker, always up).
    pub checkers: Vec<CheckerStatus>,
}

/// One health checker of a real server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerStatus {
    /// The keepalived.conf keyword: `TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`, …
    /// (the words here are kad's own static strings where they can be: with 10,000 real
    /// servers each one allocated per probe cost 320 KB.)
    pub kind: Cow<'static, str>,
    /// What it probes: `IP:PORT`, a script, a file.
    pub target: String,
    /// Whether the checker is up (after `retry`).
    pub up: bool,
    /// The last probe: `passed`, `failed`, or null before the first.
    pub last_result: Option<Cow<'static, str>>,
    /// The last probe's outcome in words: `passed`, `connect: Connection refused (os error
    /// 111)`, `timeout (connect)`, `status 500 on /health`, `digest mismatch on /`, …
    pub reason: Option<Cow<'static, str>>,
    /// When the last probe's outcome changed (Unix time, ms).
    pub result_since_unix_ms: Option<u64>,
    /// When the checker last went up or down (Unix time, ms; null: not since start).
    pub last_transition_unix_ms: Option<u64>,
    /// Up/down transitions since start.
    pub transitions: u64,
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
        if !self.instances.is_empty() || self.virtual_servers.is_empty() {
            columns(&mut out, "", &rows);
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
        self.balancer_table(&mut out);
        self.bfd_table(&mut out);
        out
    }

    /// The BFD part of [`Status::to_table`]: a row per session.
    fn bfd_table(&self, out: &mut String) {
        if self.bfd_sessions.is_empty() {
            return;
        }
        let header = [
            "BFD",
            "NEIGHBOR",
            "STATE",
            "REMOTE",
            "TX-MS",
            "RX-MS",
            "DETECT-MS",
            "UPS",
            "DOWNS",
            "LAST-DOWN",
            "DETECT-BY",
            "SOCKET-RX",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
        for b in &self.bfd_sessions {
            rows.push(vec![
                b.name.clone(),
                b.neighbor.to_string(),
                b.state.clone(),
                b.remote_state.clone(),
                ms(b.tx_interval_us),
                ms(b.rx_interval_us),
                ms(b.detect_time_us),
                b.up_transitions.to_string(),
                b.down_transitions.to_string(),
                b.last_down_reason.clone().unwrap_or_else(|| "-".to_owned()),
                if b.xdp_detection { "xdp" } else { "kad" }.to_owned(),
                b.socket_packets.to_string(),
            ]);
        }
        columns(out, "", &rows);
    }

    /// The virtual servers part of [`Status::to_table`].
    fn balancer_table(&self, out: &mut String) {
        if self.ipvs.state == IpvsState::Off && self.virtual_servers.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "ipvs: {}{}",
            self.ipvs.state.word(),
            self.ipvs
                .error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
        let age = |at: Option<u64>| {
            at.map(|at| {
                let ms = self.generated_unix_ms.saturating_sub(at);
                format!("{:.1}s", ms as f64 / 1000.0)
            })
            .unwrap_or_else(|| "-".to_owned())
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        for vs in &self.virtual_servers {
            let _ = writeln!(
                out,
                "virtual server {}: {} {}, quorum {} {} (alive weight {}), in IPVS: {}{}",
                vs.name,
                vs.scheduler,
                vs.forwarding,
                vs.quorum,
                if vs.quorum_up { "up" } else { "down" },
                vs.alive_weight,
                yes_no(vs.installed),
                match (&vs.sorry_server, vs.sorry_server_active) {
                    (Some(sorry), true) => format!(", sorry server {sorry} serving"),
                    _ => String::new(),
                }
            );
            let mut rows: Vec<Vec<String>> = vec![
                [
                    "REAL SERVER",
                    "STATE",
                    "WEIGHT",
                    "EFFECTIVE",
                    "IPVS",
                    "SINCE",
                    "REASON",
                ]
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            ];
            for rs in &vs.real_servers {
                rows.push(vec![
                    rs.address.clone(),
                    if rs.up { "up" } else { "down" }.to_owned(),
                    rs.weight.to_string(),
                    rs.effective_weight.to_string(),
                    yes_no(rs.installed),
                    age(rs.since_unix_ms),
                    rs.reason.clone(),
                ]);
            }
            columns(out, "  ", &rows);
            for rs in vs.real_servers.iter().filter(|rs| !rs.checkers.is_empty()) {
                for c in &rs.checkers {
                    let last = match (&c.last_result, &c.reason) {
                        (Some(result), Some(reason)) if reason.starts_with(&**result) => {
                            reason.to_string()
                        }
                        (Some(result), Some(reason)) => format!("{result}: {reason}"),
                        _ => "no probe yet".to_owned(),
                    };
                    let _ = writeln!(
                        out,
                        "  {} {} {}: {}, last probe {} (since {})",
                        rs.address,
                        c.kind,
                        c.target,
                        if c.up { "up" } else { "down" },
                        last,
                        age(c.result_since_unix_ms),
                    );
                }
            }
        }
    }
}

/// Writes `rows` as left-aligned columns, each line starting with `indent`.
fn columns(out: &mut String, indent: &str, rows: &[Vec<String>]) {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|col| {
            rows.iter()
                .map(|row| row.get(col).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{indent}{}", line.join("  ").trim_end());
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

    #[test]
    fn table_shows_real_servers_and_their_checkers() {
        let status = Status {
            generated_unix_ms: 10_000,
            ipvs: IpvsStatus {
                state: IpvsState::Unavailable,
                error: Some("no IPVS".into()),
            },
            virtual_servers: vec![VirtualServerStatus {
                name: "TCP 10.0.0.100:80".into(),
                scheduler: "rr".into(),
                forwarding: "NAT".into(),
                real_servers: vec![RealServerStatus {
                    address: "10.0.0.2:81".into(),
                    weight: 1,
                    reason: "TCP_CHECK 10.0.0.2:81: connect: refused".into(),
                    since_unix_ms: Some(7_500),
                    checkers: vec![CheckerStatus {
                        kind: "TCP_CHECK".into(),
                        target: "10.0.0.2:81".into(),
                        last_result: Some("failed".into()),
                        reason: Some("connect: refused".into()),
                        ..CheckerStatus::default()
                    }],
                    ..RealServerStatus::default()
                }],
                ..VirtualServerStatus::default()
            }],
            ..Status::default()
        };
        let table = status.to_table();
        assert!(table.contains("ipvs: unavailable (no IPVS)"), "{table}");
        assert!(
            table.contains("virtual server TCP 10.0.0.100:80: rr NAT"),
            "{table}"
        );
        let row = table
            .lines()
            .find(|l| l.trim_start().starts_with("10.0.0.2:81"))
            .unwrap_or_default();
        assert!(row.contains("down") && row.contains("2.5s"), "{table}");
        assert!(
            table.contains("TCP_CHECK 10.0.0.2:81: down, last probe failed: connect: refused"),
            "{table}"
        );
        assert!(
            !table.contains("INSTANCE"),
            "no VRRP table without instances: {table}"
        );
    }
}
