//! The reports the load-balancer half publishes on change, each in a `tokio::sync::watch`
//! channel: the checkers' (every probe's state and last result, written by
//! `check::report`) and the LVS task's (virtual and real servers, IPVS, written by
//! `lvs::report`). `ops` reads them, joined into the snapshot by [`super::balancer`].

use std::{collections::BTreeMap, sync::Arc};

use tokio::sync::watch;

use super::snapshot::{CheckerStatus, IpvsStatus, VirtualServerStatus};

/// Every probe of the running checker set and the real servers they serve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckerReport {
    /// Per real server (its address as `RealServerStatus::address` shows it, `IP:PORT`),
    /// its probes: indexes into [`CheckerReport::probes`].
    pub servers: BTreeMap<String, Vec<usize>>,
    /// Every distinct probe (a probe shared by several real servers is listed once).
    pub probes: Vec<CheckerStatus>,
}

impl CheckerReport {
    /// The checkers of the real server at `address` (`IP:PORT`).
    pub fn of(&self, address: &str) -> Vec<CheckerStatus> {
        self.servers
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|&p| self.probes.get(p))
            .cloned()
            .collect()
    }
}

/// The checkers' sending side, shared by the probes of a set.
pub type ReportSender = Arc<watch::Sender<CheckerReport>>;

/// The checkers' report channel: the daemon keeps the receiver for `kad status`.
pub fn checker_channel() -> (ReportSender, watch::Receiver<CheckerReport>) {
    let (tx, rx) = watch::channel(CheckerReport::default());
    (Arc::new(tx), rx)
}

/// The LVS side at its last application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LvsReport {
    /// Whether IPVS is reached.
    pub ipvs: IpvsStatus,
    /// Every virtual server (their real servers' `checkers` left empty).
    pub virtual_servers: Vec<VirtualServerStatus>,
}
