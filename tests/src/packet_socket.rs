//! Sending raw Ethernet frames out of an interface, for XDP tests (kad's own packet socket).

use anyhow::{Context as _, Result};
use kad::net::{garp::FrameSender, interface::ifindex};

/// Sends `frame` (from the destination MAC on) out of `interface` in the calling thread's
/// network namespace.
pub fn send_frame(interface: &str, frame: &[u8]) -> Result<()> {
    let index = ifindex(interface)?;
    let sender = FrameSender::open(index).context("opening a packet socket")?;
    sender
        .send(frame)
        .with_context(|| format!("sending a frame out of {interface}"))
}
