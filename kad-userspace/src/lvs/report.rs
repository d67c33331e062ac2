//! What the LVS task tells `kad status` and the metrics: every virtual server with its real
//! servers (health, weights, quorum, what the kernel's IPVS table has), published in a
//! `tokio::sync::watch` channel each time the task applies a change, so that readers never
//! ask the task anything. The real servers' checkers come from the checkers' own report
//! ([`crate::status::report::CheckerReport`]); `ops` joins the two.

use std::net::SocketAddr;

use tokio::sync::watch;

use super::{
    ipvs::{IpvsTable, ServiceKey},
    kept_config::KeptConfig,
    table::{Health, QuorumMemory, alive_weight, key_port, rs_key, rs_state, service_keys},
};
use crate::{
    config::model::{LvsMethod, VsAddress},
    status::{
        names::vs_name,
        report::LvsReport,
        snapshot::{IpvsState, IpvsStatus, RealServerStatus, VirtualServerStatus},
    },
};

/// The LVS task's side of the report channel (none: tests, nothing published).
#[derive(Debug, Default)]
pub struct Reporter(Option<watch::Sender<LvsReport>>);

impl Reporter {
    /// Publishes on `tx`.
    pub fn new(tx: watch::Sender<LvsReport>) -> Self {
        Self(Some(tx))
    }

    /// Publishes the state after an application: `wanted` is the table kad wants,
    /// `installed` what the kernel has (empty without IPVS).
    pub fn publish(&self, view: &View<'_>, ipvs: IpvsStatus) {
        if let Some(tx) = &self.0 {
            let report = LvsReport {
                ipvs,
                virtual_servers: build(view),
            };
            tx.send_if_modified(|old| {
                let changed = *old != report;
                if changed {
                    *old = report;
                }
                changed
            });
        }
    }
}

/// What a report is built from.
pub struct View<'a> {
    /// The running configuration.
    pub config: &'a KeptConfig,
    /// The checkers' last word on each real server.
    pub health: &'a Health,
    /// Quorum held per virtual server.
    pub quorum: &'a QuorumMemory,
    /// The table kad wants.
    pub wanted: &'a IpvsTable,
    /// The table the kernel has.
    pub installed: &'a IpvsTable,
}

/// keepalived.conf `lvs_method` in its own words.
fn method_word(method: &LvsMethod) -> &'static str {
    match method {
        LvsMethod::Nat => "NAT",
        LvsMethod::Dr => "DR",
        LvsMethod::Tun { .. } => "TUN",
    }
}

/// The destination a real server is in a service (its port, else the service's).
fn dest_addr(key: &ServiceKey, ip: std::net::IpAddr, port: Option<u16>) -> SocketAddr {
    SocketAddr::new(ip, port.unwrap_or_else(|| key_port(key)))
}

/// Every virtual server of the view.
pub fn build(view: &View<'_>) -> Vec<VirtualServerStatus> {
    view.config
        .virtual_servers
        .iter()
        .map(|kept| {
            let vs = &kept.server;
            let name = vs_name(vs);
            let keys = service_keys(&view.config.config, kept).unwrap_or_default();
            let states: Vec<(bool, i32)> = kept
                .real_servers
                .iter()
                .map(|rs| rs_state(vs, rs, view.health))
                .collect();
            let alive_weight = alive_weight(&states);
            let quorum_up = view
                .quorum
                .holds(&name)
                .unwrap_or(alive_weight >= i64::from(vs.quorum));
            let real_servers = kept
                .real_servers
                .iter()
                .zip(states)
                .map(|(rs, (up, _))| {
                    let key = rs_key(vs, rs);
                    let dest_in = |table: &IpvsTable, service: &ServiceKey| {
                        table
                            .get(service)
                            .and_then(|e| e.dests.get(&dest_addr(service, rs.addr, rs.port)))
                            .map(|d| d.weight)
                    };
                    let note = view.health.note(&key);
                    RealServerStatus {
                        address: key.addr.to_string(),
                        weight: rs.weight,
                        effective_weight: keys
                            .first()
                            .and_then(|k| dest_in(view.wanted, k))
                            .unwrap_or(0),
                        up,
                        reason: match note {
                            Some(note) => note.reason.clone(),
                            None if !rs.checked => "no checker: always up".into(),
                            None => "no report from its checkers yet".into(),
                        },
                        since_unix_ms: note.map(|n| n.since_unix_ms),
                        installed: !keys.is_empty()
                            && keys.iter().all(|k| dest_in(view.installed, k).is_some()),
                        checkers: Vec::new(),
                    }
                })
                .collect();
            let (address, fwmark, group) = match &vs.address {
                VsAddress::Ip(ip, port) => (
                    Some(SocketAddr::new(*ip, port.unwrap_or(0)).to_string()),
                    None,
                    None,
                ),
                VsAddress::Fwmark(mark) => (None, Some(*mark), None),
                VsAddress::Group(group) => (None, None, Some(group.clone())),
            };
            VirtualServerStatus {
                name,
                address,
                fwmark,
                group,
                protocol: vs.protocol.clone(),
                scheduler: vs.lvs_sched.clone(),
                forwarding: method_word(&vs.lvs_method).to_owned(),
                quorum: vs.quorum,
                hysteresis: vs.hysteresis,
                quorum_up,
                alive_weight,
                sorry_server: vs
                    .sorry_server
                    .map(|(ip, port)| SocketAddr::new(ip, port.unwrap_or(0)).to_string()),
                sorry_server_active: !quorum_up && vs.sorry_server.is_some(),
                installed: !keys.is_empty() && keys.iter().all(|k| view.installed.contains_key(k)),
                real_servers,
            }
        })
        .collect()
}

/// IPVS reached.
pub fn running() -> IpvsStatus {
    IpvsStatus {
        state: IpvsState::Running,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::{LoadOptions, parse_str},
        lvs::table::{QuorumMemory, wanted},
        status::health::HealthUpdate,
    };

    const CONF: &str = "virtual_server 10.9.9.9 80 {\n lb_algo wrr\n lb_kind DR\n protocol TCP\n quorum 2\n \
                        real_server 10.0.0.1 80 {\n weight 2\n TCP_CHECK { }\n }\n \
                        real_server 10.0.0.2 {\n weight 3\n inhibit_on_failure\n TCP_CHECK { }\n }\n}\n";

    #[test]
    fn reports_health_weights_quorum_and_installation() {
        let config = KeptConfig::new(parse_str(CONF, &LoadOptions::with_config_id("t")).config);
        let mut health = Health::default();
        health.apply(&HealthUpdate {
            real_server: rs_key(
                &config.virtual_servers[0].server,
                &config.virtual_servers[0].real_servers[1],
            ),
            up: false,
            weight: None,
            reason: "TCP_CHECK 10.0.0.2:80: connect: refused".into(),
        });
        let mut quorum = QuorumMemory::default();
        let table = wanted(&config, &health, &mut quorum)
            .unwrap_or_default()
            .table;
        let view = View {
            config: &config,
            health: &health,
            quorum: &quorum,
            wanted: &table,
            installed: &IpvsTable::default(),
        };
        let vs = &build(&view)[0];
        assert_eq!(vs.name, "TCP 10.9.9.9:80");
        assert_eq!(vs.address.as_deref(), Some("10.9.9.9:80"));
        assert_eq!(
            (vs.scheduler.as_str(), vs.forwarding.as_str()),
            ("wrr", "DR")
        );
        assert_eq!(vs.alive_weight, 2);
        assert!(vs.quorum_up, "live weight 2 holds quorum 2");
        assert!(!vs.installed, "nothing in the kernel");
        let (a, b) = (&vs.real_servers[0], &vs.real_servers[1]);
        assert!(a.up && a.effective_weight == 2 && a.reason.contains("no report"));
        assert_eq!(b.address, "10.0.0.2:80");
        assert!(!b.up);
        assert_eq!(
            (b.weight, b.effective_weight),
            (3, 0),
            "inhibited: weight 0"
        );
        assert!(b.reason.contains("refused") && b.since_unix_ms.is_some());

        let installed = View {
            installed: &table,
            ..view
        };
        let vs = &build(&installed)[0];
        assert!(vs.installed && vs.real_servers.iter().all(|rs| rs.installed));
    }
}
