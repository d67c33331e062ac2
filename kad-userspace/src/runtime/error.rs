//! Why the VRRP runtime could not start.

use thiserror::Error;

use crate::{
    net::{addr::AddressError, interface::InterfaceError, vrrp_socket::SocketError},
    vrrp::fsm::ConfigError,
};

/// Why the runtime could not start (once running, it logs and carries on).
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// An instance's settings cannot run.
    #[error("vrrp_instance {instance}: {source}")]
    Instance {
        /// Instance name.
        instance: String,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// An interface named in the configuration is missing.
    #[error("vrrp_instance {instance}: {source}")]
    Interface {
        /// Instance name.
        instance: String,
        /// What is wrong.
        #[source]
        source: InterfaceError,
    },
    /// A VRRP socket could not be opened.
    #[error(transparent)]
    Socket(#[from] SocketError),
    /// The link monitor could not be opened.
    #[error("subscribing to link changes: {0}")]
    LinkMonitor(#[source] std::io::Error),
    /// The rtnetlink connection could not be opened.
    #[error(transparent)]
    Netlink(#[from] AddressError),
    /// The packet socket for gratuitous ARP could not be opened.
    #[error("packet socket on {interface}: {source}")]
    PacketSocket {
        /// Interface name.
        interface: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
}
