//! kad's XDP program. Built for `bpfel-unknown-none` by kad-userspace's build.rs; on the host
//! this crate is an empty binary so that workspace-wide `cargo clippy` and `cargo test` work.
//!
//! The modules follow a frame through the program: [`packet`] (Ethernet/IP headers) →
//! [`advert`] (VRRP fields) → [`checksum`] → [`instance`] (configuration, authentication,
//! peers, `KAD_VRRP_SEEN` and events) or [`vip`] (traffic to virtual addresses), with the
//! maps in [`maps`] and the entry point in [`xdp_vrrp`]. UDP to the BFD ports goes from
//! [`packet`] to [`bfd`] (validation, `KAD_BFD_SESSIONS`, the detection timer).
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod advert;
#[cfg(target_arch = "bpf")]
mod bfd;
#[cfg(target_arch = "bpf")]
mod checksum;
#[cfg(target_arch = "bpf")]
mod instance;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod packet;
#[cfg(target_arch = "bpf")]
mod vip;
#[cfg(target_arch = "bpf")]
mod xdp_vrrp;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // The verifier rejects any path that could reach here; nothing panics at run time.
    loop {}
}

/// The kernel requires a GPL-compatible licence for some helpers (ring buffers, printk).
#[cfg(target_arch = "bpf")]
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

#[cfg(not(target_arch = "bpf"))]
fn main() {}
