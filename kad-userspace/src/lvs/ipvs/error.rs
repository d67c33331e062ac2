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
    /// A service or destination in a reply kad could not read.
    #[error("IPVS reply: {0}")]
    Attr(#[from] AttrError),
}

/// A service or destination in a kernel reply that kad cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    /// A required attribute is absent (the message says which).
    #[error("{0}")]
    Missing(&'static str),
    /// An address family kad does not know.
    #[error("{what} family {af}")]
    Family {
        /// `service` or `dest`.
        what: &'static str,
        /// `IPVS_SVC_ATTR_AF` / `IPVS_DEST_ATTR_ADDR_FAMILY`.
        af: u16,
    },
    /// `IPVS_SVC_ATTR_PROTOCOL` that is not TCP, UDP or SCTP.
    #[error("service protocol {0}")]
    Protocol(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD` kad does not know.
    #[error("dest forwarding method {0}")]
    Forwarding(u32),
}
