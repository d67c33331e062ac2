//! Types shared by kad's XDP programs (`kad-ebpf`) and its daemon (`kad-userspace`).
//!
//! Everything here is `#![no_std]`, `#[repr(C)]` and free of pointers so that the kernel
//! and userspace agree on the layout of every BPF map key, value and event. With the `user`
//! feature the value types implement `aya::Pod` so userspace can read them from maps.
#![no_std]

pub mod bfd_maps;
pub mod bfd_wire;
pub mod vrrp_wire;
pub mod xdp_counters;
pub mod xdp_maps;
