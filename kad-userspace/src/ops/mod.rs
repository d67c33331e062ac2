//! Operating kad from outside: the status snapshot, the control socket (`kad status`), the
//! Prometheus metrics endpoint (`--metrics-listen`), keepalived's signal dumps (SIGUSR1,
//! SIGUSR2, SIGRTMIN+2) and `--signum`.
//!
//! ```text
//! protocol loop ──Status snapshot (on request)──▶ watch ──▶ control socket / metrics / dumps
//!        ▲                                                     │
//!        └──────────────── refresh request (Notify) ───────────┘
//! ```
//!
//! The protocol loop builds a snapshot only when someone asks, between two of its events;
//! readers wait a bounded time for it and otherwise answer with the last one, so a busy
//! loop never makes `kad status` hang and a reader never blocks the loop.

pub mod control;
pub mod counters;
pub mod dump;
pub mod metrics;
pub mod signum;
pub mod status;

use std::{sync::Arc, time::Duration};

use tokio::sync::{Notify, watch};

pub use status::Status;

/// The protocol loop's side: hears refresh requests and publishes snapshots.
#[derive(Debug)]
pub struct StatusPublisher {
    tx: watch::Sender<Arc<Status>>,
    refresh: Arc<Notify>,
}

/// A reader's side (control socket, metrics, signal dumps); cheap to clone.
#[derive(Clone, Debug)]
pub struct StatusHandle {
    rx: watch::Receiver<Arc<Status>>,
    refresh: Arc<Notify>,
}

/// A publisher and its first handle.
pub fn status_channel() -> (StatusPublisher, StatusHandle) {
    let (tx, rx) = watch::channel(Arc::new(Status::default()));
    let refresh = Arc::new(Notify::new());
    (
        StatusPublisher {
            tx,
            refresh: Arc::clone(&refresh),
        },
        StatusHandle { rx, refresh },
    )
}

impl StatusPublisher {
    /// Resolves when a reader wants a fresh snapshot.
    pub async fn requested(&self) {
        self.refresh.notified().await;
    }

    /// Publishes `status` to every reader.
    pub fn publish(&self, status: Status) {
        self.tx.send_replace(Arc::new(status));
    }
}

impl StatusHandle {
    /// Asks the protocol loop for a fresh snapshot and waits up to `wait` for it; returns
    /// the last one published if it does not come in time.
    pub async fn fresh(&self, wait: Duration) -> Arc<Status> {
        let mut rx = self.rx.clone();
        rx.borrow_and_update();
        self.refresh.notify_one();
        let _ = tokio::time::timeout(wait, rx.changed()).await;
        Arc::clone(&rx.borrow())
    }

    /// The last snapshot published, without asking for a new one.
    pub fn latest(&self) -> Arc<Status> {
        Arc::clone(&self.rx.borrow())
    }
}
