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
///
/// Written by a child process (`cp` from a temporary file), never through a descriptor of
/// this process: a test thread forking a child while another holds the script open for
/// writing would make that child's copy of the descriptor fail the script's exec with
/// "Text file busy" (ETXTBSY; a shell then exits 2, which MISC_CHECK `misc_dynamic` reads
/// as weight 0).
pub fn script(path: &Path, body: &str, mode: u32) -> Result<()> {
    let draft = path.with_extension("draft");
    std::fs::write(&draft, format!("#!/bin/sh\n{body}\n"))
        .with_context(|| format!("writing {}", draft.display()))?;
    let status = std::process::Command::new("cp")
        .arg(&draft)
        .arg(path)
        .status()
        .context("running cp")?;
    let _ = std::fs::remove_file(&draft);
    anyhow::ensure!(status.success(), "cp to {}: {status}", path.display());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}
