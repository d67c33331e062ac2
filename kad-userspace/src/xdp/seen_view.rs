//! `KAD_VRRP_SEEN` memory-mapped read-only into the daemon (the map is created with
//! `BPF_F_MMAPABLE`), so a Backup's master-down timer reads the last advert's time with a
//! load instead of a `bpf(BPF_MAP_LOOKUP_ELEM)` system call.
//!
//! Written by hand: aya 0.14 maps ring buffers but not array maps. Layout (kernel
//! `kernel/bpf/arraymap.c`): entry `i` at byte `i × round_up(value_size, 8)` from the start
//! of the mapping.

use std::{os::fd::AsFd, ptr::NonNull};

use kad_common::xdp_maps::{VRRP_ENTRIES, VrrpSeen};
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};

/// How many times a read is retried while XDP rewrites the entry under it.
const TORN_READ_RETRIES: usize = 4;

/// The whole `KAD_VRRP_SEEN` array, mapped shared and read-only.
pub(super) struct SeenView {
    base: NonNull<core::ffi::c_void>,
    len: usize,
}

// SAFETY: the mapping is read-only shared memory owned by this value; reads are volatile
// copies of plain data, so it can move between and be read from threads.
unsafe impl Send for SeenView {}
// SAFETY: as above: `&SeenView` only allows volatile reads.
unsafe impl Sync for SeenView {}

/// Bytes between consecutive entries.
const STRIDE: usize = size_of::<VrrpSeen>().next_multiple_of(8);

impl SeenView {
    /// Maps the array behind `fd` (a `KAD_VRRP_SEEN` map of `VRRP_ENTRIES` entries).
    pub(super) fn map(fd: impl AsFd) -> nix::Result<Self> {
        let page = page_size();
        let len = (VRRP_ENTRIES as usize * STRIDE).next_multiple_of(page);
        let length = std::num::NonZeroUsize::new(len).ok_or(nix::Error::EINVAL)?;
        // SAFETY: a fresh shared read-only mapping of a BPF array map's values; the kernel
        // keeps the map alive while it is mapped and never shrinks it.
        let base = unsafe {
            mmap(
                None,
                length,
                ProtFlags::PROT_READ,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )?
        };
        Ok(Self { base, len })
    }

    /// Entry `index`, read so that its fields come from one advert: XDP writes an entry in
    /// place, so the read is repeated until two copies agree (a steady advert changes only
    /// `last_ns` and `count`). `None` if `index` is out of range.
    pub(super) fn get(&self, index: u32) -> Option<VrrpSeen> {
        let offset = (index as usize).checked_mul(STRIDE)?;
        if offset + size_of::<VrrpSeen>() > self.len || index >= VRRP_ENTRIES {
            return None;
        }
        // SAFETY: in bounds (checked above), 8-byte aligned (page-aligned base, stride a
        // multiple of 8) and `VrrpSeen` is plain data valid for any bytes.
        let read = || unsafe {
            self.base
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<VrrpSeen>()
                .read_volatile()
        };
        let mut last = read();
        for _ in 0..TORN_READ_RETRIES {
            let again = read();
            if again == last {
                break;
            }
            last = again;
        }
        Some(last)
    }
}

impl Drop for SeenView {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        if let Err(err) = unsafe { munmap(self.base, self.len) } {
            tracing::warn!(error = %err, "unmapping KAD_VRRP_SEEN");
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|p| *p > 0)
        .unwrap_or(4096)
}
