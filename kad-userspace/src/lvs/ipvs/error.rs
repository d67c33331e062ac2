//! What can go wrong talking to IPVS, shared by the socket and the reading of replies.

use std::io;

/// What can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The socket itself failed.
    #[error("IPVS netlink socket: {0}")]
    Io(#[from] io::Error),
    /// No "IPVS" generic netlink family: the ip_vs module is not loaded.
    #[error("no IPVS generic netlink family in this kernel (is ip_vs loaded?)")]
    NoFamily,
    /// The kernel refused a request.
    #[error("IPVS {what}: {source}")]
    Kernel {
        /// The operation.
        what: String,
        /// The kernel's errno.
        source: io::Error,
    },
    /// A reply kad could not read.
    #[error("IPVS reply: {0}")]
    Decode(String),
}
