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
            let event = match message.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => LinkEvent {
                    ifindex: link.header.index,
                    up: link.header.flags.contains(LinkFlags::Up)
                        && link.header.flags.contains(LinkFlags::Running),
                    name: name_of(&link),
                    deleted: false,
                },
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => LinkEvent {
                    ifindex: link.header.index,
                    up: false,
                    name: name_of(&link),
                    deleted: true,
                },
                _ => continue,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

/// An address removed from an interface (`RTM_DELADDR`, what `ip monitor address` shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressRemoved {
    /// The interface.
    pub ifindex: u32,
    /// The address.
    pub address: std::net::IpAddr,
}

/// Subscribes to address removals in the calling thread's network namespace (IPv4 and IPv6),
/// so an instance can follow its interface's primary address as keepalived does.
pub fn subscribe_address_removals() -> io::Result<mpsc::UnboundedReceiver<AddressRemoved>> {
    use rtnetlink::packet_route::address::AddressAttribute;

    let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    tokio::spawn(connection);
    let (events, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(removed)) =
                message.payload
            else {
                continue;
            };
            // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on
            // point-to-point links); take it when present.
            let local = removed.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(address) => Some(*address),
                _ => None,
            });
            let any = removed.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(address) => Some(*address),
                _ => None,
            });
            let Some(address) = local.or(any) else {
                continue;
            };
            let event = AddressRemoved {
                ifindex: removed.header.index,
                address,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}
