//! keepalived.conf `ha_suspend` (virtual_server): "If VS IP address is not set, suspend
//! healthchecker's activity". What keepalived 2.2.7 does, and kad with it:
//!
//! - a checker of such a virtual server probes only while the virtual server's address is
//!   configured on some local interface (keepalived's checker process follows the
//!   addresses by netlink; kad's daemon hands the checkers a [`LocalAddresses`] watch);
//! - while suspended the checker does not probe; it looks again every `delay_loop`, so it
//!   resumes within one `delay_loop` of the address appearing. Its real server keeps the
//!   state it had (up at start unless `alpha`), in IPVS as in `kad status`;
//! - with a `fwmark` (of the virtual server or of its group) keepalived clears `ha_suspend`
//!   (kad-config warns and does the same);
//! - keepalived 2.2.7 matches no address for a `virtual_server group`: the checkers of a
//!   group with `ha_suspend` never run ([`Activity::Never`], and the plan warns).

use std::{collections::HashSet, net::IpAddr};

use tokio::sync::watch;

use crate::config::model::{VirtualServer, VsAddress};

/// The addresses configured on the host's interfaces, kept current by the daemon.
pub type LocalAddresses = watch::Receiver<HashSet<IpAddr>>;

/// When a probe runs (keepalived.conf `ha_suspend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Always (no `ha_suspend`).
    #[default]
    Always,
    /// Only while this address (the virtual server's) is local.
    WhileLocal(IpAddr),
    /// Never: `ha_suspend` on a `virtual_server group`, whose addresses keepalived 2.2.7
    /// never matches.
    Never,
}

impl Activity {
    /// keepalived.conf `ha_suspend` of `vs`.
    pub fn of(vs: &VirtualServer) -> Self {
        match (&vs.address, vs.ha_suspend) {
            (_, false) | (VsAddress::Fwmark(_), true) => Activity::Always,
            (VsAddress::Ip(addr, _), true) => Activity::WhileLocal(*addr),
            (VsAddress::Group(_), true) => Activity::Never,
        }
    }

    /// Whether the probe runs now, `local` being the host's addresses (`None`: unknown, the
    /// address watch could not start; the probe then runs as without `ha_suspend`).
    pub fn is_active(&self, local: Option<&HashSet<IpAddr>>) -> bool {
        match self {
            Activity::Always => true,
            Activity::WhileLocal(addr) => local.is_none_or(|set| set.contains(addr)),
            Activity::Never => false,
        }
    }

    /// It depends on the host's addresses (or never runs).
    pub fn is_suspendable(&self) -> bool {
        !matches!(self, Activity::Always)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_while_local_probe_runs_only_with_its_address() {
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        let activity = Activity::WhileLocal(vip);
        let mut local = HashSet::new();
        assert!(!activity.is_active(Some(&local)));
        local.insert(vip);
        assert!(activity.is_active(Some(&local)));
        assert!(activity.is_active(None), "unknown addresses: it runs");
        assert!(!Activity::Never.is_active(Some(&local)));
        assert!(Activity::Always.is_active(Some(&HashSet::new())));
    }
}
