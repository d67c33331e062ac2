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
//!
//! The load-balancer half publishes on its own, on change: the LVS task its virtual and
//! real servers ([`crate::lvs::report`]), the checkers every probe's state and last result
//! ([`crate::check::report`]). A reader joins the last of each into the snapshot
//! ([`balancer`]); with no VRRP side (`-C`), the snapshot is that alone.
//!
//! The control socket and the metrics endpoint run on a thread of their own
//! ([`server`]), so they answer while the protocol loop is busy.

pub mod balancer;
pub mod control;
pub mod counters;
pub mod dump;
pub mod limits;
pub mod metrics;
pub mod server;
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
    balancer: Option<balancer::Sources>,
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
        StatusHandle {
            rx,
            refresh,
            balancer: None,
        },
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
    /// Also reports the load-balancer half: the LVS task's report and the checkers'.
    pub fn with_balancer(mut self, sources: balancer::Sources) -> Self {
        self.balancer = Some(sources);
        self
    }

    /// Asks the protocol loop for a fresh snapshot and waits up to `wait` for it (the last
    /// one published if it does not come in time), the load balancer's last report joined.
    pub async fn fresh(&self, wait: Duration) -> Arc<Status> {
        self.join(self.fresh_vrrp(wait).await)
    }

    /// The protocol loop's own snapshot, fresh as [`StatusHandle::fresh`] gets it; the same
    /// `Arc` until the loop publishes again.
    pub async fn fresh_vrrp(&self, wait: Duration) -> Arc<Status> {
        let mut rx = self.rx.clone();
        rx.borrow_and_update();
        self.refresh.notify_one();
        let _ = tokio::time::timeout(wait, rx.changed()).await;
        Arc::clone(&rx.borrow())
    }

    /// The protocol loop's last snapshot, without asking for a new one.
    pub fn latest_vrrp(&self) -> Arc<Status> {
        Arc::clone(&self.rx.borrow())
    }

    /// The last snapshot published, without asking for a new one.
    pub fn latest(&self) -> Arc<Status> {
        self.join(Arc::clone(&self.rx.borrow()))
    }

    fn join(&self, vrrp: Arc<Status>) -> Arc<Status> {
        match &self.balancer {
            None => vrrp,
            Some(sources) => Arc::new(sources.join(&vrrp)),
        }
    }
}
