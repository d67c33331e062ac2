//! Kernel-facing network work for the VRRP runtime: interface addresses over rtnetlink
//! (`addr`), VRRP raw sockets (`vrrp_socket`), and gratuitous ARP / unsolicited NA (`garp`).

pub mod addr;
pub mod garp;
pub mod interface;
pub mod link_monitor;
pub mod vmac;
pub mod vrrp_socket;
