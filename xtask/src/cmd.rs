//! Running commands with their output shown, and finding the workspace.

use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use anyhow::{Context as _, Result, bail};

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo that invoked xtask (rustup's), falling back to `cargo` on PATH.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Runs `command`, streaming its output; fails unless it exits 0.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = describe(command);
    println!("xtask: $ {shown}");
    let status = command
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed: {status}");
    }
    Ok(())
}

/// Runs `command` quietly and returns its output (whatever its exit status).
pub fn output(command: &mut Command) -> Result<Output> {
    let shown = describe(command);
    command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{shown}`"))
}

/// Whether `command` runs and exits 0 (quietly).
pub fn succeeds(command: &mut Command) -> bool {
    output(command).is_ok_and(|out| out.status.success())
}

fn describe(command: &Command) -> String {
    let mut shown = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        shown.push(' ');
        shown.push_str(&arg.to_string_lossy());
    }
    shown
}

/// Runs one named step of a task, framed by a line before and a line after with how long it
/// took, so a long first run reads as a list of steps.
pub fn step<T>(name: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("xtask: ── {name} …");
    let started = std::time::Instant::now();
    let result = work();
    let took = started.elapsed().as_secs_f64();
    match &result {
        Ok(_) => println!("xtask: ── {name}: done in {took:.1} s"),
        Err(_) => println!("xtask: ── {name}: FAILED after {took:.1} s"),
    }
    result
}
