//! `cargo xtask run`: set up, build `kad`, run it.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{cmd, setup};

pub fn run(release: bool, args: &[String]) -> Result<()> {
    cmd::step("setup: system packages, bpf-linker, toolchains", setup::run)?;
    let profile = if release { "release" } else { "debug" };
    let kad = cmd::step(
        &format!("build kad ({profile}, with its eBPF object)"),
        || build_kad(release),
    )?;
    if args.is_empty() {
        return demo(&kad);
    }
    let status = Command::new(&kad).args(args).status()?;
    if !status.success() {
        bail!("kad exited with {status}");
    }
    Ok(())
}

/// Builds the `kad` binary and returns its path.
pub fn build_kad(release: bool) -> Result<std::path::PathBuf> {
    let mut build = cmd::cargo();
    build.args(["build", "--package", "kad-userspace", "--bin", "kad"]);
    if release {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("kad"))
}

/// The no-argument demo (`tests/src/bin/kad-demo.rs`): two kad routers and a client in
/// network namespaces, election, failures, and the client's outage in milliseconds.
fn demo(kad: &std::path::Path) -> Result<()> {
    cmd::step("build the demo (tests/src/bin/kad-demo.rs)", || {
        cmd::run(cmd::cargo().args(["build", "--package", "kad-tests", "--bin", "kad-demo"]))
    })?;
    let target = kad
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    cmd::run(Command::new(target.join("kad-demo")).env("KAD_BIN", kad))
}
