//! Reading what the kernel sent back on the IPVS socket: one receive buffer holds one or more
//! netlink messages (a dump's parts, its `NLMSG_DONE`, or an ack). Pure functions, so that the
//! fuzz target `ipvs_reply` feeds them the same bytes a hostile or broken kernel module could.

use std::io;

use netlink_packet_core::{
    NLM_F_MULTIPART, NetlinkBuffer, NetlinkDeserializable, NetlinkMessage, NetlinkPayload,
};

use super::{
    attr::CmdAttr,
    error::IpvsError,
    model::{Dest, Family, Service},
};

/// Smallest netlink message: its header (`struct nlmsghdr`).
const HEADER_LEN: usize = 16;

/// What one receive buffer says about the request numbered `seq`.
#[derive(Debug)]
pub struct Batch<T> {
    /// The replies addressed to the request, in order.
    pub replies: Vec<T>,
    /// Whether the exchange is over (ack, `NLMSG_DONE`, or a lone non-multipart reply).
    pub done: bool,
}

/// Splits `data` into netlink messages and keeps those answering request `seq` (others are
/// stale answers to earlier requests). `acked`: the request asked for an ack, so a
/// non-multipart reply does not end the exchange. A kernel error ends it with the errno.
pub fn decode_batch<T>(data: &[u8], seq: u32, acked: bool) -> Result<Batch<T>, IpvsError>
where
    T: NetlinkDeserializable + std::fmt::Debug,
{
    let mut batch = Batch {
        replies: Vec::new(),
        done: false,
    };
    let mut offset = 0;
    while let Some(bytes) = data.get(offset..).filter(|rest| !rest.is_empty()) {
        let length = NetlinkBuffer::new_checked(bytes)
            .map_err(|err| IpvsError::Decode(err.to_string()))?
            .length() as usize;
        let Some(one) = bytes.get(..length).filter(|one| one.len() >= HEADER_LEN) else {
            return Err(IpvsError::Decode(format!(
                "netlink message of {length} bytes in a {}-byte read",
                bytes.len()
            )));
        };
        let reply = NetlinkMessage::<T>::deserialize(one)
            .map_err(|err| IpvsError::Decode(err.to_string()))?;
        offset = offset.saturating_add((length + 3) & !3);
        if reply.header.sequence_number != seq {
            continue;
        }
        match reply.payload {
            NetlinkPayload::InnerMessage(inner) => {
                batch.replies.push(inner);
                if reply.header.flags & NLM_F_MULTIPART == 0 && !acked {
                    batch.done = true;
                    return Ok(batch);
                }
            }
            NetlinkPayload::Done(_) => {
                batch.done = true;
                return Ok(batch);
            }
            NetlinkPayload::Error(err) => {
                return match err.code {
                    None => {
                        batch.done = true;
                        Ok(batch)
                    }
                    // The kernel sends -errno; saturate so that i32::MIN from a broken
                    // sender cannot overflow (found by the ipvs_reply fuzz target).
                    Some(code) => Err(IpvsError::Kernel {
                        what: String::new(),
                        source: io::Error::from_raw_os_error(code.get().saturating_neg()),
                    }),
                };
            }
            _ => {}
        }
    }
    Ok(batch)
}

/// The services of `IPVS_CMD_GET_SERVICE` dump replies' attributes.
pub fn services(replies: Vec<Vec<CmdAttr>>) -> Result<Vec<Service>, IpvsError> {
    let mut services = Vec::new();
    for attr in replies.into_iter().flatten() {
        if let CmdAttr::Service(attrs) = attr {
            services.push(Service::from_attrs(&attrs)?);
        }
    }
    Ok(services)
}

/// The destinations of `IPVS_CMD_GET_DEST` dump replies' attributes; `family` (the
/// service's) is used where a reply carries no `ADDR_FAMILY` (kernels before 3.18).
pub fn dests(replies: Vec<Vec<CmdAttr>>, family: Family) -> Result<Vec<Dest>, IpvsError> {
    let mut dests = Vec::new();
    for attr in replies.into_iter().flatten() {
        if let CmdAttr::Dest(attrs) = attr {
            dests.push(Dest::from_attrs(&attrs, family)?);
        }
    }
    Ok(dests)
}
