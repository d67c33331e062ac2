//! `cargo xtask compat DIR`: `kad -t` beside `keepalived -t` on every keepalived.conf under
//! DIR (see `tests/src/bin/kad-compat.rs`): builds kad and the harness, then runs it with
//! `KAD_BIN` naming the kad just built.

use std::{path::Path, process::Command};

use anyhow::{Context as _, Result};

use crate::{cmd, run, setup};

pub fn run(dir: &Path, args: &[String]) -> Result<()> {
    // The harness runs from the workspace root: a relative DIR is taken from where xtask ran.
    let dir = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    cmd::step("setup: system packages (keepalived)", setup::run)?;
    let kad = cmd::step("build kad (debug)", || run::build_kad(false))?;
    let harness = cmd::step("build the harness (kad-compat)", || {
        cmd::run(cmd::cargo().args(["build", "--package", "kad-tests", "--bin", "kad-compat"]))?;
        Ok(kad.with_file_name("kad-compat"))
    })?;
    cmd::run(
        Command::new(harness)
            .arg(&dir)
            .args(args)
            .env("KAD_BIN", &kad),
    )
}
