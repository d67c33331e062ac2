//! Bounded fuzz runs with cargo-fuzz (libFuzzer, nightly). New corpus entries go to a scratch
//! folder so a run never dirties the repository's seed corpus in `<package>/corpus/`. Two
//! cargo-fuzz packages: `fuzz/` (kad-vrrp, kad-bfd and kad-config only: no daemon, no eBPF
//! build) and `kad-userspace/fuzz/` (decoders of the daemon crate).
//!
//! The targets are built without a sanitizer (`--sanitizer none`): the code they reach is safe
//! Rust, whose bounds and overflow checks (debug assertions stay on) already turn a memory or
//! arithmetic fault into a panic, which libFuzzer reports. AddressSanitizer's allocator and
//! stack depot made the config target ~15 times slower (42 against ~600 execs/s on this
//! machine) and found nothing the checks would not.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// The cargo-fuzz packages: `fuzz/` (the protocol core and the config language, built on
/// kad-vrrp, kad-bfd and kad-config only) and `kad-userspace/fuzz/` (the daemon's own decoders).
const FUZZ_DIRS: &[&str] = &["fuzz", "kad-userspace/fuzz"];

/// A fuzz target: its cargo-fuzz package (relative to the workspace root) and its name.
#[derive(Clone, Debug)]
pub struct Target {
    /// The cargo-fuzz package holding it (one of [`FUZZ_DIRS`]).
    pub dir: &'static str,
    /// The `[[bin]]` name.
    pub name: String,
}

/// The fuzz targets declared in the `Cargo.toml` of every cargo-fuzz package.
pub fn targets() -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    for dir in FUZZ_DIRS {
        let manifest = cmd::workspace_root().join(dir).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let mut in_bin = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin
                && let Some(value) = line.strip_prefix("name").map(str::trim)
                && let Some(value) = value.strip_prefix('=')
            {
                targets.push(Target {
                    dir,
                    name: value.trim().trim_matches('"').to_owned(),
                });
            }
        }
    }
    Ok(targets)
}

/// Runs `target` (or every target) for `seconds` each; fails on the first crash.
pub fn run(target: Option<&str>, seconds: u32) -> Result<()> {
    let all = targets()?;
    let chosen: Vec<&Target> = match target {
        Some(name) => match all.iter().find(|t| t.name == name) {
            Some(found) => vec![found],
            None => bail!("no fuzz target {name} in {}", FUZZ_DIRS.join(", ")),
        },
        None => all.iter().collect(),
    };
    for target in chosen {
        run_one(target, seconds)?;
    }
    Ok(())
}

fn run_one(target: &Target, seconds: u32) -> Result<()> {
    let root = cmd::workspace_root();
    let Target { dir, name } = target;
    let scratch = std::env::temp_dir().join(format!("kad-fuzz-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let seeds = root.join(dir).join("corpus").join(name);
    let mut command = Command::new("rustup");
    command
        .current_dir(&root)
        .args([
            "run",
            "nightly",
            "cargo",
            "fuzz",
            "run",
            "--fuzz-dir",
            dir,
            "--sanitizer",
            "none",
            name,
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
            println!("xtask: fuzz target {name}: no crash in {seconds} s");
            Ok(())
        }
        Err(err) => {
            bail!("fuzz target {name} failed (artifacts in {dir}/artifacts/{name}): {err}")
        }
    }
}
