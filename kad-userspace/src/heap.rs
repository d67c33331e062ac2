//! Giving freed heap memory back to the kernel.
//!
//! Loading a configuration peaks well above what the daemon keeps: with 10,000 real
//! servers the syntax tree alone is ≈ 14 MB, freed once the model is built. glibc's
//! allocator keeps such freed pages resident (in the middle of the heap it never returns
//! them by itself), so the daemon's RSS stayed at the loader's peak for its whole life.
//! `malloc_trim(3)` returns every whole free page; no crate wraps it (it is glibc's).

/// Returns the allocator's free pages to the kernel (glibc `malloc_trim(0)`; a no-op on
/// other C libraries). Cheap enough for the moments it is called at: after a configuration
/// is loaded, and once the tasks it configures have started.
pub fn release_freed() {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: malloc_trim(3) takes no pointer and only walks the allocator's own free
        // lists, under the allocator's lock; any thread may call it at any time.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(released = released != 0, "heap: freed pages returned");
    }
}

/// How long after a load the tasks it configured are taken to have settled: started,
/// their first probes run, their first reports built (the transient copies of a start).
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// [`release_freed`] once [`SETTLE`] has passed, on the current tokio runtime.
pub fn release_freed_after_settling() {
    tokio::spawn(async {
        tokio::time::sleep(SETTLE).await;
        release_freed();
    });
}
