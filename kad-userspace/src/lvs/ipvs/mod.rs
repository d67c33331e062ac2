//! IPVS control over generic netlink (family "IPVS", `include/uapi/linux/ip_vs.h`).
//!
//! No maintained Rust crate speaks this family, so kad writes the message types itself on
//! netlink-packet-generic (the `genlmsghdr` framing, nlctrl family lookup) and
//! netlink-packet-core (attributes, netlink header): [`uapi`] holds the kernel's numbers,
//! [`attr`] the attributes at each nesting level, [`message`] the generic netlink payload,
//! [`model`] services and destinations as kad reasons about them, [`reply`] the reading of
//! what the kernel answers, [`error`] what can fail, and [`socket`] the
//! operations (`ipvsadm -A/-E/-D/-a/-e/-d/-C/-L`, `--set`, `--start-daemon`).

pub mod attr;
pub mod error;
pub mod message;
pub mod model;
pub mod reply;
pub mod socket;
pub mod uapi;

#[cfg(test)]
mod tests;

pub use error::IpvsError;
pub use model::{
    Dest, Family, Forwarding, IpvsTable, Protocol, Service, ServiceEntry, ServiceKey, SyncDaemon,
    SyncState, Timeouts, TunnelCsum, TunnelKind,
};
pub use socket::IpvsSocket;
