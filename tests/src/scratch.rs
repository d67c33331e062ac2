//! Scratch folders and scripts for tests that write files kad reads (track files, notify
//! scripts, FIFOs).

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

/// A fresh folder `kad-<tag>-<pid>` under the system temp folder (sticky `/tmp`), mode 0755
/// and owned by the test's user: with root, a folder keepalived's script security accepts.
/// Emptied first if an earlier run of the same process id left it.
pub fn dir(tag: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kad-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// Writes a `/bin/sh` script with `body` to `path`, with permission bits `mode`.
pub fn script(path: &Path, body: &str, mode: u32) -> Result<()> {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}
