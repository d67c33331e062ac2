//! Notify scripts (keepalived.conf `notify_master`, `notify_backup`, `notify_fault`,
//! `notify_stop`, `notify`), run as child processes that the protocol loop never waits for,
//! each killed if it outlives [`NOTIFY_TIMEOUT`].

use std::{process::Stdio, time::Duration};

use crate::{
    scripts::{self, ScriptCommand, split_words},
    vrrp::fsm::{NotifyKind, NotifyTarget},
};

use super::spec::NotifySpec;

/// How long a notify script may run before it is killed.
pub(crate) const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// keepalived's state word for a notify (`notify` argument 3, FIFO lines).
pub(crate) fn state_word(kind: NotifyKind) -> &'static str {
    match kind {
        NotifyKind::Master => "MASTER",
        NotifyKind::Backup => "BACKUP",
        NotifyKind::Fault => "FAULT",
        NotifyKind::Stop => "STOP",
        NotifyKind::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
        NotifyKind::Priority => "PRIORITY",
    }
}

/// Starts the scripts configured for `kind`: the specific one (no arguments beyond its
/// own) and the generic `notify` one with `INSTANCE|GROUP NAME STATE PRIORITY`.
pub(crate) fn run(
    spec: &NotifySpec,
    target: &NotifyTarget,
    kind: NotifyKind,
    priority: u8,
    running: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    running.retain(|task| !task.is_finished());
    let specific = match kind {
        NotifyKind::Master => spec.master.as_ref(),
        NotifyKind::Backup => spec.backup.as_ref(),
        NotifyKind::Fault => spec.fault.as_ref(),
        NotifyKind::Stop => spec.stop.as_ref(),
        NotifyKind::MasterRxLowerPri | NotifyKind::Priority => None,
    };
    if let Some(script) = specific {
        running.extend(spawn(script, &[]));
    }
    if let Some(script) = spec.any.as_ref() {
        let (scope, name) = match target {
            NotifyTarget::Instance(name) => ("INSTANCE", name),
            NotifyTarget::Group(name) => ("GROUP", name),
        };
        let priority = priority.to_string();
        running.extend(spawn(script, &[scope, name, state_word(kind), &priority]));
    }
}

fn spawn(script: &ScriptCommand, extra: &[&str]) -> Option<tokio::task::JoinHandle<()>> {
    let words = split_words(&script.command);
    let Some((program, args)) = words.split_first() else {
        tracing::warn!(script = %script.command, "empty notify script");
        return None;
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    scripts::apply(command.as_std_mut(), script.run_as);
    let script = script.command.clone();
    match command.spawn() {
        Ok(mut child) => Some(tokio::spawn(async move {
            match tokio::time::timeout(NOTIFY_TIMEOUT, child.wait()).await {
                Ok(Ok(status)) if !status.success() => {
                    tracing::warn!(script, %status, "notify script failed");
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    tracing::warn!(script, error = %err, "waiting for notify script")
                }
                Err(_) => {
                    tracing::warn!(script, "notify script timed out; killed");
                    let _ = child.kill().await;
                }
            }
        })),
        Err(err) => {
            tracing::warn!(script, error = %err, "cannot start notify script");
            None
        }
    }
}
