//! The status channel: the protocol loop publishes snapshots on request, readers ask for
//! a fresh one (bounded wait) or take the last, with the load-balancer half joined.

use std::{sync::Arc, time::Duration};

use tokio::sync::{Notify, watch};

use super::{Status, balancer, bfd::BfdStatuses};

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
    /// The BFD task's sessions (keepalived.conf `bfd_instance`), when it runs.
    bfd: Option<watch::Receiver<BfdStatuses>>,
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
            bfd: None,
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

    /// Also reports the BFD sessions.
    pub fn with_bfd(mut self, sessions: watch::Receiver<BfdStatuses>) -> Self {
        self.bfd = Some(sessions);
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
        let joined = match &self.balancer {
            None => vrrp,
            Some(sources) => Arc::new(sources.join(&vrrp)),
        };
        match &self.bfd {
            None => joined,
            Some(bfd) => {
                let mut status = (*joined).clone();
                status.bfd_sessions = bfd.borrow().as_ref().clone();
                Arc::new(status)
            }
        }
    }
}
