//! One IPVS generic netlink message: a command and its attributes, the payload that
//! netlink-packet-generic's `GenlMessage` wraps.

use netlink_packet_core::{DecodeError, Emitable, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::{
    attr::{CmdAttr, parse_all},
    uapi::{IPVS_GENL_NAME, IPVS_GENL_VERSION},
};

/// An IPVS request or reply (`IPVS_CMD_*` with `IPVS_CMD_ATTR_*` attributes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command (`uapi::cmd`).
    pub cmd: u8,
    /// The first-level attributes.
    pub attrs: Vec<CmdAttr>,
}

impl IpvsMessage {
    /// A message with the given command and attributes.
    pub fn new(cmd: u8, attrs: Vec<CmdAttr>) -> Self {
        Self { cmd, attrs }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        Emitable::buffer_len(&self.attrs.as_slice())
    }

    fn emit(&self, buffer: &mut [u8]) {
        Emitable::emit(&self.attrs.as_slice(), buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Self {
            cmd: header.cmd,
            attrs: parse_all(buf, CmdAttr::parse)?,
        })
    }
}
