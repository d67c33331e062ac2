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
            record_skip(test, &reason);
            false
        }
        None => true,
    }
}

/// Prints `SKIPPED test: reason` and, under `cargo xtask test`, appends it to `$KAD_SKIP_LOG`
/// so the run's summary lists every skip (libtest hides a passing test's output).
pub fn record_skip(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = std::env::var_os("KAD_SKIP_LOG") {
        use std::io::Write as _;
        let line = format!("{test}: {reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(err) = appended {
            eprintln!(
                "cannot record skip in {}: {err}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

/// Something a test needs from its environment.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    /// Root: load BPF programs, create network namespaces.
    Root,
}
