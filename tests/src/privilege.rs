//! What the test process may do in this kernel. Tests that need root or a kernel feature call
//! [`require`] and, when it is missing, print why they skip and return early: never silently.

/// Whether the process runs as root (CI does).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Returns true when `needs` is available; otherwise prints `SKIPPED <test>: <reason>` to
/// stderr (shown by `cargo test`) and returns false.
pub fn require(test: &str, needs: Need) -> bool {
    let missing = match needs {
        Need::Root if !is_root() => Some("needs root (CAP_BPF, CAP_NET_ADMIN)".to_owned()),
        Need::Root => None,
    };
    match missing {
        Some(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            false
        }
        None => true,
    }
}

/// Something a test needs from its environment.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Root: load BPF programs, create network namespaces.
    Root,
}
