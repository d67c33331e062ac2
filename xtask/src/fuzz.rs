//! Bounded fuzz runs with cargo-fuzz (libFuzzer, nightly). New corpus entries go to a scratch
//! folder so a run never dirties the repository's seed corpus in `fuzz/corpus/`.
//!
//! The targets are built without a sanitizer (`--sanitizer none`): the code they reach is safe
//! Rust, whose bounds and overflow checks (debug assertions stay on) already turn a memory or
//! arithmetic fault into a panic, which libFuzzer reports. AddressSanitizer's allocator and
//! stack depot made the config target ~15 times slower (42 against ~600 execs/s on this
//! machine) and found nothing the checks would not.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// The fuzz targets declared in `fuzz/Cargo.toml`.
pub fn targets() -> Result<Vec<String>> {
    let manifest = cmd::workspace_root().join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line.strip_prefix("name").map(str::trim)
            && let Some(value) = value.strip_prefix('=')
        {
            targets.push(value.trim().trim_matches('"').to_owned());
        }
    }
    Ok(targets)
}

/// Runs `target` (or every target) for `seconds` each; fails on the first crash.
pub fn run(target: Option<&str>, seconds: u32) -> Result<()> {
    let targets = match target {
        Some(target) => vec![target.to_owned()],
        None => targets()?,
    };
    for target in &targets {
        run_one(target, seconds)?;
    }
    Ok(())
}

fn run_one(target: &str, seconds: u32) -> Result<()> {
    let root = cmd::workspace_root();
    let scratch = std::env::temp_dir().join(format!("kad-fuzz-{target}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let seeds = root.join("fuzz/corpus").join(target);
    let mut command = Command::new("rustup");
    command
        .current_dir(&root)
        .args([
            "run",
            "nightly",
            "cargo",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            target,
        ])
        .arg(&scratch);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command.arg("--").arg(format!("-max_total_time={seconds}"));
    let result = cmd::run(&mut command);
    let _ = std::fs::remove_dir_all(&scratch);
    match result {
        Ok(()) => {
            println!("xtask: fuzz target {target}: no crash in {seconds} s");
            Ok(())
        }
        Err(err) => {
            bail!("fuzz target {target} failed (artifacts in fuzz/artifacts/{target}): {err}")
        }
    }
}
