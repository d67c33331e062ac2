//! kad's XDP program. Built for `bpfel-unknown-none` by kad-userspace's build.rs; on the host
//! this crate is an empty binary so that workspace-wide `cargo clippy` and `cargo test` work.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

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
