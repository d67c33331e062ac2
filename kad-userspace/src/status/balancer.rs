//! The load-balancer half of the status: the LVS task's last report (virtual servers, real
//! servers, IPVS) joined with the checkers' (each real server's checkers), at read time.
//! Both are `watch` channels written on change, so reading costs a clone and never asks a
//! task anything.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::Status;
use super::report::{CheckerReport, LvsReport};

/// What the daemon hands the status readers when the LVS side runs.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The LVS task's report.
    pub lvs: watch::Receiver<LvsReport>,
    /// The checkers' report.
    pub checkers: watch::Receiver<CheckerReport>,
}

impl Sources {
    /// `vrrp` with the virtual servers and IPVS state added. Without a VRRP side (nothing
    /// published: pid 0), the header is filled here and `receive_path` is `none`.
    pub fn join(&self, vrrp: &Status) -> Status {
        let mut status = vrrp.clone();
        if status.pid == 0 {
            status.version = env!("CARGO_PKG_VERSION").to_owned();
            status.pid = std::process::id();
            status.receive_path = "none".to_owned();
            status.generated_unix_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        }
        let lvs = self.lvs.borrow();
        let checkers = self.checkers.borrow();
        status.ipvs = lvs.ipvs.clone();
        status.virtual_servers = lvs.virtual_servers.clone();
        for rs in status
            .virtual_servers
            .iter_mut()
            .flat_map(|vs| vs.real_servers.iter_mut())
        {
            rs.checkers = checkers.of(&rs.address);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::snapshot::{
        CheckerStatus, IpvsState, IpvsStatus, RealServerStatus, VirtualServerStatus,
    };

    #[test]
    fn joins_checkers_to_their_real_servers() {
        let lvs = LvsReport {
            ipvs: IpvsStatus {
                state: IpvsState::Unavailable,
                error: Some("no IPVS".into()),
            },
            virtual_servers: vec![VirtualServerStatus {
                name: "TCP 10.9.9.9:80".into(),
                real_servers: vec![
                    RealServerStatus {
                        address: "10.0.0.1:80".into(),
                        ..RealServerStatus::default()
                    },
                    RealServerStatus {
                        address: "10.0.0.2:80".into(),
                        ..RealServerStatus::default()
                    },
                ],
                ..VirtualServerStatus::default()
            }],
        };
        let mut checkers = CheckerReport::default();
        checkers.probes.push(CheckerStatus {
            kind: "TCP_CHECK".into(),
            target: "10.0.0.2:80".into(),
            ..CheckerStatus::default()
        });
        checkers.servers.insert("10.0.0.2:80".into(), vec![0]);
        let (_lvs_tx, lvs) = watch::channel(lvs);
        let (_ck_tx, checkers) = watch::channel(checkers);
        let status = Sources { lvs, checkers }.join(&Status::default());
        assert_eq!(status.receive_path, "none");
        assert_eq!(status.pid, std::process::id());
        assert_eq!(status.ipvs.state, IpvsState::Unavailable);
        let rs = &status.virtual_servers[0].real_servers;
        assert!(rs[0].checkers.is_empty());
        assert_eq!(rs[1].checkers[0].kind, "TCP_CHECK");
    }
}
