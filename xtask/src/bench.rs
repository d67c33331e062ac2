//! `cargo xtask bench`: benchmarks whose figures go to BENCHMARKS.md.
//!
//! `failover` builds kad and `kad-bench` in release mode and runs it: a table on stdout,
//! `target/bench/failover.json` and `failover.png`, and with `-- --record` the failover
//! section of BENCHMARKS.md (see `tests/src/bench/`). `bfd` counts BFD false downs under
//! busy loops (`tests/src/load/bfd.rs`), times the failover when a MASTER's tracked upstream
//! BFD session dies (`bfd_outage.rs`) and measures CPU per session (`bfd_cpu.rs`), kad beside
//! keepalived; `-- --parts downs,outage,cpu` picks.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{cmd, run, setup};

pub fn run(which: &str, args: &[String]) -> Result<()> {
    setup::run()?;
    match which {
        "failover" => {
            let kad = run::build_kad(true)?;
            let bench = release_bin("kad-bench")?;
            cmd::run(
                Command::new(bench)
                    .arg("failover")
                    .args(args)
                    .env("KAD_BIN", &kad),
            )
        }
        "xdp" => cmd::run(Command::new(release_bin("kad-xdp-bench")?).args(args)),
        // The criterion benches of the codecs and state machines (kad-vrrp, kad-bfd) and the
        // parser (kad-config).
        "criterion" => cmd::run(
            cmd::cargo()
                .args([
                    "bench",
                    "--package",
                    "kad-vrrp",
                    "--package",
                    "kad-bfd",
                    "--package",
                    "kad-config",
                ])
                .args(args),
        ),
        // BFD (issue 16): false downs under load, failover outage, CPU per session; kad beside
        // keepalived.
        "scale" | "flood" | "bfd" => load(which, args),
        "checkers" => {
            // The real servers inside the UML guest.
            release_bin("kad-tcp-sink")?;
            load(which, args)
        }
        other => bail!("unknown benchmark {other}"),
    }
}

/// `scale` and `flood` (issue 6): release kad and `kad-load`, which runs kad beside
/// keepalived in a namespace lab and prints (and with `--record` writes into BENCHMARKS.md)
/// CPU, memory and transitions. `checkers` (issue 7): `kad -C` and `keepalived -C` with
/// 10,000 TCP_CHECKed real servers in a UML guest (real IPVS). `--quick` shortens the windows.
fn load(which: &str, args: &[String]) -> Result<()> {
    let kad = run::build_kad(true)?;
    let bench = release_bin("kad-load")?;
    cmd::run(
        Command::new(bench)
            .arg(which)
            .args(args)
            .env("KAD_BIN", &kad)
            .current_dir(cmd::workspace_root()),
    )
}

/// Builds the `kad-tests` binary `name` in release mode and returns its path.
fn release_bin(name: &str) -> Result<std::path::PathBuf> {
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "--package",
        "kad-tests",
        "--bin",
        name,
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"));
    Ok(target.join("release").join(name))
}
