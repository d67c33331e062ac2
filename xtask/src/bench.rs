//! `cargo xtask bench`: benchmarks whose figures go to BENCHMARKS.md.
//!
//! `failover` builds kad and `kad-bench` in release mode and runs it: a table on stdout,
//! `target/bench/failover.json` and `failover.png`, and with `-- --record` the failover
//! section of BENCHMARKS.md (see `tests/src/bench/`).

use std::process::Command;

use anyhow::{Result, bail};

use crate::{cmd, run, setup};

pub fn run(which: &str, args: &[String]) -> Result<()> {
    setup::run()?;
    match which {
        "failover" => {
            let kad = run::build_kad(true)?;
            cmd::run(cmd::cargo().args([
                "build",
                "--release",
                "--package",
                "kad-tests",
                "--bin",
                "kad-bench",
            ]))?;
            let bench = kad
                .parent()
                .map(|dir| dir.join("kad-bench"))
                .unwrap_or_default();
            cmd::run(
                Command::new(bench)
                    .arg("failover")
                    .args(args)
                    .env("KAD_BIN", &kad),
            )
        }
        "criterion" => cmd::run(
            cmd::cargo()
                .args(["bench", "--package", "kad-userspace"])
                .args(args),
        ),
        other => bail!("unknown benchmark {other}"),
    }
}
