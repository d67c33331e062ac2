//! Keeping the static entries in place, as keepalived 2.2.7 does: a `static_ipaddress`
//! deleted from its interface is added back at once (unless `no_track`), and when an
//! interface comes back up its static addresses and routes are added again (the kernel
//! drops routes through a link that goes down). Instances of a static `track_group` follow
//! the entry's interface as a tracked interface (FAULT while it is down or gone: the entry
//! cannot be restored there), see `from_config::static_track`.

use std::{collections::HashMap, net::IpAddr};

use super::spec::StaticSpec;

/// What to add back when the kernel reports that `address` left interface `ifindex`: the
/// static address itself, unless it is `no_track` (keepalived: "Restoring deleted static
/// address").
pub(super) fn deleted_address(statics: &StaticSpec, ifindex: u32, address: IpAddr) -> StaticSpec {
    StaticSpec {
        addresses: statics
            .addresses
            .iter()
            .filter(|a| a.ifindex == ifindex && a.address == address)
            .filter(|a| !statics.untracked_addresses.contains(&a.address))
            .take(1)
            .cloned()
            .collect(),
        ..StaticSpec::default()
    }
}

/// The last link state seen of each interface, to act once per change.
#[derive(Debug, Default)]
pub(super) struct LinkStates(HashMap<u32, bool>);

impl LinkStates {
    /// What to add back when interface `ifindex` reports `up`: on a down → up change, its
    /// static addresses (not `no_track`) and the static routes through it (keepalived:
    /// `static_track_group_reinstate_config` on `interface_up`). Nothing otherwise.
    pub(super) fn link(&mut self, statics: &StaticSpec, ifindex: u32, up: bool) -> StaticSpec {
        let was = self.0.insert(ifindex, up);
        if !up || was != Some(false) {
            return StaticSpec::default();
        }
        StaticSpec {
            addresses: statics
                .addresses
                .iter()
                .filter(|a| a.ifindex == ifindex)
                .filter(|a| !statics.untracked_addresses.contains(&a.address))
                .cloned()
                .collect(),
            routes: statics
                .routes
                .iter()
                .filter(|r| r.ifindex == Some(ifindex))
                .cloned()
                .collect(),
            ..StaticSpec::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::addr::InterfaceAddress;

    fn address(text: &str, ifindex: u32) -> InterfaceAddress {
        InterfaceAddress {
            address: text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            prefix_len: 24,
            ifindex,
            broadcast: None,
            scope: Default::default(),
            label: None,
        }
    }

    fn statics() -> StaticSpec {
        StaticSpec {
            addresses: vec![address("192.0.2.1", 5), address("192.0.2.2", 5)],
            untracked_addresses: vec!["192.0.2.2".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))],
            ..StaticSpec::default()
        }
    }

    #[test]
    fn a_deleted_static_address_is_restored_unless_no_track() {
        let statics = statics();
        let ip = |t: &str| t.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(
            deleted_address(&statics, 5, ip("192.0.2.1")).addresses,
            [address("192.0.2.1", 5)]
        );
        assert!(deleted_address(&statics, 5, ip("192.0.2.2")).is_empty());
        assert!(deleted_address(&statics, 6, ip("192.0.2.1")).is_empty());
    }

    #[test]
    fn an_interface_coming_back_up_gets_its_static_addresses_again_once() {
        let statics = statics();
        let mut links = LinkStates::default();
        assert!(links.link(&statics, 5, true).is_empty(), "first report");
        assert!(links.link(&statics, 5, false).is_empty());
        assert_eq!(
            links.link(&statics, 5, true).addresses,
            [address("192.0.2.1", 5)]
        );
        assert!(links.link(&statics, 5, true).is_empty(), "no change");
    }
}
