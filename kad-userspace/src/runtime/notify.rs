//! Notify scripts (keepalived.conf `notify_master`, `notify_backup`, `notify_fault`,
//! `notify_stop`, `notify_deleted`, `notify_master_rx_lower_pri`, `notify`), run as child processes that the protocol loop never waits for,
//! each killed if it outlives [`NOTIFY_TIMEOUT`].

use std::time::Duration;

use crate::{
    exec::scripts::{self, ScriptCommand},
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
        NotifyKind::Deleted => "DELETED",
        NotifyKind::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
        NotifyKind::Priority { master: true } => "MASTER_PRIORITY",
        NotifyKind::Priority { master: false } => "BACKUP_PRIORITY",
    }
}

/// Starts the scripts configured for `kind`: the specific one (no arguments beyond its
/// own) and, for a change of state, the generic `notify` one with `INSTANCE|GROUP NAME
/// STATE PRIORITY`. As in keepalived 2.2.7, an advert of lower priority received as Master
/// runs only `notify_master_rx_lower_pri`, and a priority change no script (both go to the
/// notify FIFO).
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
        NotifyKind::Deleted => spec.deleted.as_ref(),
        NotifyKind::MasterRxLowerPri => spec.master_rx_lower_pri.as_ref(),
        NotifyKind::Priority { .. } => None,
    };
    if let Some(script) = specific {
        running.extend(spawn(script, &[]));
    }
    let state_change = !matches!(
        kind,
        NotifyKind::MasterRxLowerPri | NotifyKind::Priority { .. }
    );
    if let Some(script) = spec.any.as_ref().filter(|_| state_change) {
        let (scope, name) = match target {
            NotifyTarget::Instance(name) => ("INSTANCE", name),
            NotifyTarget::Group(name) => ("GROUP", name),
        };
        let priority = priority.to_string();
        running.extend(spawn(script, &[scope, name, state_word(kind), &priority]));
    }
}

fn spawn(script: &ScriptCommand, extra: &[&str]) -> Option<tokio::task::JoinHandle<()>> {
    scripts::run::spawn_logged(script, extra, NOTIFY_TIMEOUT, "notify script")
}
