//! The tracker tasks under [`crate::supervise`]: a watcher that panics is logged and
//! started again, and the restarted one first reports what it sees now, so the protocol
//! loop never keeps a status the old watcher would have changed.
//!
//! - `track_file`: the watcher reports the file's value on its first read anyway.
//! - `vrrp_script`: the script runs once at restart and its result is reported at once
//!   (without `rise`/`fall`, which count from there on).
//! - `vrrp_track_process`: the processes are counted again and every status reported.

use tokio::sync::mpsc;

use super::{ScriptSpec, TrackerIndex, TrackerUpdate, file, process, script};
use crate::{
    supervise::{Family, supervise},
    vrrp::fsm::TrackerStatus,
};

fn status(up: bool) -> TrackerStatus {
    if up {
        TrackerStatus::Up
    } else {
        TrackerStatus::Down
    }
}

/// keepalived.conf `vrrp_script`, supervised.
pub async fn script_task(
    index: TrackerIndex,
    spec: ScriptSpec,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    let name = format!("vrrp_script {}", spec.name);
    supervise(Family::Tracker, name, |run| {
        let mut spec = spec.clone();
        let updates = updates.clone();
        async move {
            if run > 0 {
                let up = crate::exec::scripts::run_with_timeout(
                    &spec.command,
                    spec.run_as,
                    spec.timeout,
                )
                .await
                .is_ok_and(|exit| exit.success());
                let update = TrackerUpdate {
                    index,
                    status: status(up),
                };
                if updates.send(update).await.is_err() {
                    return;
                }
                spec.init_fail = !up;
            }
            script::run(index, spec, updates).await;
        }
    })
    .await;
}

/// keepalived.conf `track_file`, supervised.
pub async fn file_task(
    index: TrackerIndex,
    name: String,
    path: String,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    supervise(Family::Tracker, format!("track_file {name}"), |_| {
        file::run(index, name.clone(), path.clone(), updates.clone())
    })
    .await;
}

/// keepalived.conf `vrrp_track_process` (every block in one task), supervised.
pub async fn process_task(
    trackers: Vec<(TrackerIndex, process::rules::ProcessSpec)>,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    supervise(Family::Tracker, "vrrp_track_process", |run| {
        let trackers = trackers.clone();
        let updates = updates.clone();
        async move {
            if run > 0 {
                let specs: Vec<_> = trackers.iter().map(|(_, spec)| spec.clone()).collect();
                let now = process::scan::current_statuses(&specs);
                for ((index, _), up) in trackers.iter().zip(now) {
                    let update = TrackerUpdate {
                        index: *index,
                        status: status(up),
                    };
                    if updates.send(update).await.is_err() {
                        return;
                    }
                }
            }
            process::run(trackers, updates).await;
        }
    })
    .await;
}
