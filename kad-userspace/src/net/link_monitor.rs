//! Link state: the current state of an interface, and a stream of changes from the kernel's
//! rtnetlink link group (what `ip monitor link` shows). A VRRP instance whose interface
//! loses its link goes to FAULT, as in keepalived.

use std::io;

use futures::StreamExt as _;
use rtnetlink::{
    MulticastGroup,
    packet_core::NetlinkPayload,
    packet_route::{RouteNetlinkMessage, link::LinkFlags},
};
use tokio::sync::mpsc;

/// One interface's new link state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// The interface.
    pub ifindex: u32,
    /// Administratively up with carrier (`IFF_UP` and `IFF_RUNNING`); false when deleted.
    pub up: bool,
    /// The interface's name, when the kernel said it (always, for new and changed links).
    pub name: Option<String>,
    /// The interface was deleted (`RTM_DELLINK`).
    pub deleted: bool,
}

/// Whether interface `name` is up with carrier now: `IFF_UP` and `IFF_RUNNING` from
/// `SIOCGIFFLAGS` in kad's own network namespace (the kernel sets `IFF_RUNNING` for
/// operstate `up` and `unknown`, which drivers without carrier reporting show), the same
/// test as the link events below.
pub fn is_up(name: &str) -> bool {
    let wanted = (libc::IFF_UP | libc::IFF_RUNNING) as u32;
    super::interface::flags(name).is_ok_and(|flags| flags & wanted == wanted)
}

fn name_of(link: &rtnetlink::packet_route::link::LinkMessage) -> Option<String> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            rtnetlink::packet_route::link::LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
}

/// Subscribes to link changes in the calling thread's network namespace. Every link
/// message is reported; callers keep the last state and act on changes.
pub fn subscribe() -> io::Result<mpsc::UnboundedReceiver<LinkEvent>> {
    let (connection, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(connection);
    let (events, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(message) = message.payload else {
                continue;
            };
            let Some(event) = link_event(&message) else {
                continue;
            };
            if events.send(event).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// The link change an rtnetlink message reports (`RTM_NEWLINK`, `RTM_DELLINK`), if any.
pub fn link_event(message: &RouteNetlinkMessage) -> Option<LinkEvent> {
    match message {
        RouteNetlinkMessage::NewLink(link) => Some(LinkEvent {
            ifindex: link.header.index,
            up: link.header.flags.contains(LinkFlags::Up)
                && link.header.flags.contains(LinkFlags::Running),
            name: name_of(link),
            deleted: false,
        }),
        RouteNetlinkMessage::DelLink(link) => Some(LinkEvent {
            ifindex: link.header.index,
            up: false,
            name: name_of(link),
            deleted: true,
        }),
        _ => None,
    }
}

/// An address added to (`RTM_NEWADDR`) or removed from (`RTM_DELADDR`) an interface, what
/// `ip monitor address` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressChange {
    /// The interface.
    pub ifindex: u32,
    /// The address.
    pub address: std::net::IpAddr,
    /// Added (else removed).
    pub added: bool,
}

/// Subscribes to address changes in the calling thread's network namespace (IPv4 and IPv6),
/// so an instance can follow its interface's primary address as keepalived does, and watch
/// its configured source address (`track_src_ip`).
pub fn subscribe_address_changes() -> io::Result<mpsc::UnboundedReceiver<AddressChange>> {
    let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    tokio::spawn(connection);
    let (events, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(message) = message.payload else {
                continue;
            };
            let Some(event) = address_change(&message) else {
                continue;
            };
            if events.send(event).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// The address an rtnetlink message reports added (`RTM_NEWADDR`) or removed
/// (`RTM_DELADDR`), if any.
pub fn address_change(message: &RouteNetlinkMessage) -> Option<AddressChange> {
    let (changed, added) = match message {
        RouteNetlinkMessage::NewAddress(changed) => (changed, true),
        RouteNetlinkMessage::DelAddress(changed) => (changed, false),
        _ => return None,
    };
    Some(AddressChange {
        ifindex: changed.header.index,
        address: super::addr::interface_address(changed)?,
        added,
    })
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_route::{
        address::{AddressAttribute, AddressMessage},
        link::{LinkAttribute, LinkMessage},
    };

    use super::*;

    #[test]
    fn a_removed_address_is_the_local_one_when_both_are_given() {
        let mut message = AddressMessage::default();
        message.header.index = 4;
        message
            .attributes
            .push(AddressAttribute::Address("10.0.0.2".parse().unwrap()));
        let only_peer = RouteNetlinkMessage::DelAddress(message.clone());
        assert_eq!(
            address_change(&only_peer).map(|r| r.address),
            Some("10.0.0.2".parse().unwrap())
        );
        message
            .attributes
            .push(AddressAttribute::Local("10.0.0.1".parse().unwrap()));
        let removed = address_change(&RouteNetlinkMessage::DelAddress(message.clone()));
        assert_eq!(
            removed,
            Some(AddressChange {
                ifindex: 4,
                address: "10.0.0.1".parse().unwrap(),
                added: false,
            })
        );
        assert_eq!(
            address_change(&RouteNetlinkMessage::NewAddress(message)).map(|a| a.added),
            Some(true)
        );
    }

    #[test]
    fn a_link_is_up_with_both_flags_and_down_when_deleted() {
        let mut link = LinkMessage::default();
        link.header.index = 3;
        link.header.flags = LinkFlags::Up | LinkFlags::Running;
        link.attributes.push(LinkAttribute::IfName("eth0".into()));
        let event = link_event(&RouteNetlinkMessage::NewLink(link.clone()));
        assert_eq!(
            event,
            Some(LinkEvent {
                ifindex: 3,
                up: true,
                name: Some("eth0".into()),
                deleted: false
            })
        );
        link.header.flags = LinkFlags::Up;
        assert_eq!(
            link_event(&RouteNetlinkMessage::NewLink(link.clone())).map(|e| e.up),
            Some(false)
        );
        let gone = link_event(&RouteNetlinkMessage::DelLink(link));
        assert_eq!(gone.map(|e| (e.up, e.deleted)), Some((false, true)));
    }
}
