//! Sending raw Ethernet frames out of an interface (AF_PACKET), for XDP tests.

use std::ffi::CString;

use anyhow::{Context as _, Result, bail};

/// Sends `frame` (from the destination MAC on) out of `interface` in the calling thread's
/// network namespace.
pub fn send_frame(interface: &str, frame: &[u8]) -> Result<()> {
    let name = CString::new(interface).context("interface name")?;
    // SAFETY: if_nametoindex reads a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        bail!(
            "no interface {interface}: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: plain socket(2) call; the fd is closed below on every path.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
    if fd < 0 {
        bail!("socket(AF_PACKET): {}", std::io::Error::last_os_error());
    }
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid starting value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_ifindex = ifindex as i32;
    addr.sll_halen = 6;
    if let Some(dst) = frame.get(..6) {
        addr.sll_addr[..6].copy_from_slice(dst);
    }
    // SAFETY: frame and addr outlive the call; lengths are theirs.
    let sent = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: fd is ours and open.
    unsafe { libc::close(fd) };
    if sent < 0 {
        bail!("sendto({interface}): {err}");
    }
    if sent as usize != frame.len() {
        bail!("sendto({interface}) sent {sent} of {} bytes", frame.len());
    }
    Ok(())
}
