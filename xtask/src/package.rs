//! `cargo xtask man` and `cargo xtask package`: kad's man pages (clap_mangen, from the
//! binary's own command line) and its Debian package (cargo-deb, metadata in
//! kad-userspace/Cargo.toml under `[package.metadata.deb]`).

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// The cargo target directory (`CARGO_TARGET_DIR`, else the workspace's `target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"))
}

/// Where the man pages go: beside the release binary, where the package's assets
/// (`target/release/man/*.8`) expect them.
pub fn man_dir() -> PathBuf {
    target_dir().join("release").join("man")
}

/// Writes `kad.8` and a page per subcommand into [`man_dir`] (the `kad-man` example, built
/// in release mode so that it shares the release build of the library).
pub fn man() -> Result<()> {
    let dir = man_dir();
    cmd::run(
        cmd::cargo()
            .args(["run", "--quiet", "--release", "-p", "kad-userspace"])
            .args(["--example", "kad-man", "--"])
            .arg(&dir),
    )?;
    println!("xtask: man pages in {}", dir.display());
    Ok(())
}

/// Writes docs/keywords.md from the keyword tables (the `kad-keywords` example).
pub fn keywords() -> Result<()> {
    let out = cmd::output(
        cmd::cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "kad-userspace",
                "--example",
                "kad-keywords",
            ])
            .stderr(std::process::Stdio::inherit()),
    )?;
    if !out.status.success() {
        bail!("the kad-keywords example failed: {}", out.status);
    }
    let page = cmd::workspace_root().join("docs").join("keywords.md");
    std::fs::write(&page, &out.stdout).with_context(|| format!("writing {}", page.display()))?;
    println!("xtask: wrote {}", page.display());
    Ok(())
}

/// Builds kad (release), its man pages, then the Debian package; prints the .deb's path.
pub fn package() -> Result<PathBuf> {
    cmd::run(cmd::cargo().args(["build", "--release", "-p", "kad-userspace", "--bin", "kad"]))?;
    man()?;
    let shown = "cargo deb -p kad-userspace --no-build";
    println!("xtask: $ {shown}");
    let out = cmd::output(
        cmd::cargo()
            .args(["deb", "-p", "kad-userspace", "--no-build"])
            .stderr(std::process::Stdio::inherit()),
    )?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}); is cargo-deb installed (`cargo xtask setup`)?",
            out.status
        );
    }
    // cargo deb prints the archive's path as its last line.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let deb = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| line.ends_with(".deb"))
        .map(PathBuf::from)
        .with_context(|| format!("`{shown}` printed no .deb path: {stdout}"))?;
    println!("{}", deb.display());
    Ok(deb)
}
