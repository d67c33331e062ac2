//! Which `kad` binary a test runs, and the guarantee that it is built from the current source.
//!
//! `cargo xtask test` builds the release daemon and names it in `KAD_BIN`. A plain
//! `cargo test -p kad-tests --test X` does not build binaries of other packages, so without
//! this module it would run whatever `target/debug/kad` an earlier build left behind, and a
//! bug injected in the source would pass unseen. When `KAD_BIN` is unset, the first call in a
//! test process runs `cargo build -p kad-userspace --bin kad` (a no-op of about 0.3 s when the
//! binary is current; cargo releases its target-folder lock before it runs the tests, so this
//! nested build does not wait on the `cargo test` that started us) and every later call in the
//! process reuses its answer.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::OnceLock,
};

use anyhow::{Context as _, Result, anyhow, bail};

/// The environment variable that names a prebuilt daemon (set by `cargo xtask test`).
pub const KAD_BIN_VAR: &str = "KAD_BIN";

/// Path of the `kad` binary under test: `$KAD_BIN` if set, else the debug build of the
/// current source, built by cargo once per test process.
pub fn kad_bin() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(KAD_BIN_VAR) {
        return Ok(PathBuf::from(path));
    }
    static BUILT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_current_kad().map_err(|err| format!("{err:#}")))
        .clone()
        .map_err(|err| anyhow!(err))
}

/// Variables cargo sets for the crate whose tests it runs (besides `CARGO_PKG_*` and
/// `CARGO_BIN_EXE_*`).
const SET_FOR_THE_TEST_CRATE: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// The cargo that runs the tests, in the workspace root, without what cargo set for this
/// test crate: a nested build then shares the outer one's artifacts instead of rebuilding
/// them (a build script that declares `rerun-if-env-changed=CARGO_MANIFEST_DIR`, as ring
/// does, would otherwise rebuild, and the next `cargo test` would rebuild it back).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if SET_FOR_THE_TEST_CRATE.contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name.as_ref());
        }
    }
    command.current_dir(crate::repo_root());
    command
}

/// Runs `cargo build -p kad-userspace --bin kad` in the workspace (the cargo that runs the
/// tests, with the same target folder) and returns the binary cargo reports.
fn build_current_kad() -> Result<PathBuf> {
    let out = cargo()
        .args([
            "build",
            "--package",
            "kad-userspace",
            "--bin",
            "kad",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .output()
        .context("starting cargo build")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "cargo build -p kad-userspace --bin kad failed ({}):\n{}",
            out.status,
            tail.join("\n")
        );
    }
    built_executable(&String::from_utf8_lossy(&out.stdout), "kad")
        .context("cargo build did not report a `kad` executable")
}

/// The `executable` of the `compiler-artifact` message for binary `name` in cargo's JSON
/// output (`--message-format=json`).
pub fn built_executable(json_lines: &str, name: &str) -> Option<PathBuf> {
    json_lines.lines().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        if message.get("reason")?.as_str()? != "compiler-artifact"
            || message.get("target")?.get("name")?.as_str()? != name
        {
            return None;
        }
        message.get("executable")?.as_str().map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::built_executable;

    #[test]
    fn finds_the_named_binary_in_cargo_messages() {
        let lines = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"kad","kind":["lib"]},"executable":null}"#,
            "\n",
            r#"{"reason":"build-script-executed","package_id":"x"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"kad","kind":["bin"]},"executable":"/t/debug/kad"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            built_executable(lines, "kad"),
            Some(std::path::PathBuf::from("/t/debug/kad"))
        );
        assert_eq!(built_executable(lines, "kad-demo"), None);
    }
}
