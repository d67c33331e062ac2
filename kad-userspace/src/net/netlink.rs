//! One rtnetlink request with chosen header flags, and the errno of a kernel refusal: what
//! the route and rule requests share (rtnetlink's own builders fix `NLM_F_EXCL`, which
//! keepalived's default "prepend" for routes does not use).

use futures::StreamExt as _;
use rtnetlink::{
    Handle,
    packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload},
    packet_route::RouteNetlinkMessage,
};

/// Sends `message` with `NLM_F_REQUEST | NLM_F_ACK | flags` and waits for the kernel's answer.
pub(crate) async fn request(
    handle: &Handle,
    message: RouteNetlinkMessage,
    flags: u16,
) -> Result<(), rtnetlink::Error> {
    let mut handle = handle.clone();
    let mut request = NetlinkMessage::from(message);
    request.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    let mut replies = handle.request(request)?;
    while let Some(reply) = replies.next().await {
        if let NetlinkPayload::Error(err) = reply.payload
            && err.code.is_some()
        {
            return Err(rtnetlink::Error::NetlinkError(err));
        }
    }
    Ok(())
}

/// The (positive) errno of a kernel refusal, None for other failures.
pub(crate) fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(message) => Some(message.raw_code().abs()),
        _ => None,
    }
}
