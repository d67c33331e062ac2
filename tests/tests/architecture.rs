//! ARCHITECTURE.md's invariants that a build can check: the protocol core (`kad-vrrp`) and
//! the configuration language (`kad-config`) depend on no IO crate, so the fuzz targets,
//! benches and simulator built on them stay pure.

use anyhow::{Context as _, Result, ensure};
use kad_tests::daemon_binary::cargo;

/// Crates that do IO (sockets, the kernel, an async runtime): none may be below the core.
const IO_CRATES: &[&str] = &[
    "tokio",
    "aya",
    "aya-log",
    "socket2",
    "rtnetlink",
    "netlink-sys",
    "nix",
    "libc",
    "mio",
    "hyper",
    "rustls",
];

/// The normal (non-dev, non-build) dependency tree of `package`, one crate name per line.
fn dependencies(package: &str) -> Result<Vec<String>> {
    let out = cargo()
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .output()
        .context("running cargo tree")?;
    ensure!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

fn assert_no_io(package: &str) -> Result<()> {
    let deps = dependencies(package)?;
    ensure!(
        deps.iter().any(|name| name == package),
        "cargo tree listed {package} itself: {deps:?}"
    );
    let io: Vec<&String> = deps
        .iter()
        .filter(|name| IO_CRATES.contains(&name.as_str()))
        .collect();
    ensure!(io.is_empty(), "{package} depends on IO crates {io:?}");
    Ok(())
}

#[test]
fn the_protocol_core_depends_on_no_io_crate() -> Result<()> {
    assert_no_io("kad-vrrp")
}

#[test]
fn the_configuration_language_depends_on_no_io_crate() -> Result<()> {
    assert_no_io("kad-config")
}

#[test]
fn the_daemon_does_depend_on_io_crates() -> Result<()> {
    // The check can fail: the same query on the daemon finds what it looks for.
    let deps = dependencies("kad-userspace")?;
    ensure!(
        ["tokio", "aya", "rtnetlink"]
            .iter()
            .all(|io| deps.iter().any(|name| name == io)),
        "kad-userspace's tree: {deps:?}"
    );
    Ok(())
}
