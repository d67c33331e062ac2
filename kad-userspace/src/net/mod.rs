//! Kernel-facing network work for the VRRP runtime: interface addresses (`addr`), routes
//! (`route`) and policy rules (`rule`) over rtnetlink, VRRP raw sockets (`vrrp_socket`), and
//! gratuitous ARP / unsolicited NA (`garp`), the link-local IGMP reports sysctl (`igmp`);
//! for the health checkers, the host's addresses as they change (`local_addresses`).

pub mod addr;
pub mod bfd_socket;
pub mod garp;
pub mod igmp;
pub mod interface;
pub mod ipvlan;
pub mod link_monitor;
pub mod local_addresses;
pub mod names;
mod netlink;
pub mod on_link;
pub mod promote;
pub mod route;
pub mod rule;
pub mod vmac;
pub mod vrrp_socket;
