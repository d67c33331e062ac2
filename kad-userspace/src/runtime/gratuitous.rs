//! Where each gratuitous ARP / unsolicited NA of an instance goes. keepalived sends a
//! virtual address's messages on the interface that holds it, from that interface's MAC
//! (`vrrp_arp.c`, `vrrp_ndisc.c`); `garp_extra_if` / `vrrp_garp_extra_if` adds one message
//! every period on each interface other than the advert interface (only the VMACs it made
//! unless `all`), for the first virtual address on it.

use std::{net::IpAddr, sync::Arc};

use crate::{
    net::{addr::InterfaceAddress, garp::FrameSender},
    vrrp::fsm::GarpReason,
};

/// An interface other than the instance's advert interface that holds some of its virtual
/// addresses.
pub(crate) struct GarpLink {
    /// Its index.
    pub(crate) ifindex: u32,
    /// Its MAC: the source of the messages sent on it.
    pub(crate) mac: [u8; 6],
    /// A packet socket bound to it.
    pub(crate) sender: Arc<FrameSender>,
    /// A VMAC kad made (keepalived's `is_ours`).
    pub(crate) ours: bool,
}

/// The addresses to announce on each interface, in the order given (`own` is the advert
/// interface: addresses with no entry in `placed` go there). For
/// [`GarpReason::ExtraInterfaces`]: the first address of each other interface that is one
/// of ours (`is_ours`), or any with `all`.
pub(crate) fn plan(
    reason: GarpReason,
    addresses: &[IpAddr],
    placed: &[InterfaceAddress],
    own: u32,
    is_ours: impl Fn(u32) -> bool,
    all: bool,
) -> Vec<(u32, Vec<IpAddr>)> {
    let mut out: Vec<(u32, Vec<IpAddr>)> = Vec::new();
    for address in addresses {
        let ifindex = placed
            .iter()
            .find(|p| p.address == *address)
            .map_or(own, |p| p.ifindex);
        let entry = out.iter_mut().find(|(index, _)| *index == ifindex);
        if reason == GarpReason::ExtraInterfaces {
            if ifindex == own || entry.is_some() || !(all || is_ours(ifindex)) {
                continue;
            }
            out.push((ifindex, vec![*address]));
            continue;
        }
        match entry {
            Some((_, list)) => list.push(*address),
            None => out.push((ifindex, vec![*address])),
        }
    }
    out
}

/// Whether `garp_extra_if` has anything to send on: an address on another interface than
/// `own`, one of ours unless `all` (keepalived turns the timer off otherwise).
pub(crate) fn has_extra(
    placed: &[InterfaceAddress],
    own: u32,
    is_ours: impl Fn(u32) -> bool,
    all: bool,
) -> bool {
    placed
        .iter()
        .any(|p| p.ifindex != own && (all || is_ours(p.ifindex)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::addr::Scope;

    fn at(address: &str, ifindex: u32) -> InterfaceAddress {
        InterfaceAddress {
            address: address.parse().expect("address"),
            prefix_len: 24,
            ifindex,
            broadcast: None,
            scope: Scope::Global,
            label: None,
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|a| a.parse().expect("address")).collect()
    }

    #[test]
    fn each_address_is_announced_on_the_interface_holding_it() {
        let placed = [at("10.0.0.1", 2), at("10.1.0.1", 3), at("10.0.0.2", 2)];
        let plan = plan(
            GarpReason::BecameMaster,
            &ips(&["10.0.0.1", "10.1.0.1", "10.0.0.2", "10.9.9.9"]),
            &placed,
            2,
            |_| false,
            false,
        );
        assert_eq!(
            plan,
            vec![
                (2, ips(&["10.0.0.1", "10.0.0.2", "10.9.9.9"])),
                (3, ips(&["10.1.0.1"]))
            ]
        );
    }

    #[test]
    fn garp_extra_if_sends_the_first_address_of_each_other_interface() {
        let placed = [
            at("10.0.0.1", 2),
            at("10.1.0.1", 3),
            at("10.1.0.2", 3),
            at("10.2.0.1", 4),
        ];
        let addresses = ips(&["10.0.0.1", "10.1.0.1", "10.1.0.2", "10.2.0.1"]);
        let all = plan(
            GarpReason::ExtraInterfaces,
            &addresses,
            &placed,
            2,
            |_| false,
            true,
        );
        assert_eq!(all, vec![(3, ips(&["10.1.0.1"])), (4, ips(&["10.2.0.1"]))]);
        let vmacs_only = plan(
            GarpReason::ExtraInterfaces,
            &addresses,
            &placed,
            2,
            |i| i == 4,
            false,
        );
        assert_eq!(vmacs_only, vec![(4, ips(&["10.2.0.1"]))]);
        assert!(has_extra(&placed, 2, |_| false, true));
        assert!(!has_extra(&placed, 2, |_| false, false));
        assert!(!has_extra(&placed[..1], 2, |_| true, true));
    }
}
