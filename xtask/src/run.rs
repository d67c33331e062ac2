//! `cargo xtask run`: set up, build `kad`, run it.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{cmd, setup};

pub fn run(release: bool, args: &[String]) -> Result<()> {
    setup::run()?;
    let kad = build_kad(release)?;
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

/// The no-argument demo. Until the VRRP runtime exists (issue 5) it shows what this build of
/// kad can do: its version, its help, and the XDP dataplane probe.
fn demo(kad: &std::path::Path) -> Result<()> {
    println!("xtask: the routers-in-namespaces failover demo arrives with the VRRP runtime;");
    println!("xtask: this build of kad offers:\n");
    cmd::run(Command::new(kad).arg("--version"))?;
    cmd::run(Command::new(kad).arg("--help"))?;
    cmd::run(Command::new(kad).arg("xdp-probe"))
}
