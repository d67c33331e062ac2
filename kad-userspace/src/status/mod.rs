//! What the tasks publish about themselves and what they tell one another: the status
//! snapshot and its channel, the VRRP counters, the checkers' and the LVS task's reports,
//! a real server's health (checkers → LVS task) and an instance's state (VRRP → the LVS
//! sync daemon). A leaf: the tasks (`runtime`, `check`, `lvs`) write here, `ops` reads, and
//! nothing here knows any of them.
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
//! real servers ([`report::LvsReport`]), the checkers every probe's state and last result
//! ([`report::CheckerReport`]). A reader joins the last of each into the snapshot
//! ([`balancer`]); with no VRRP side (`-C`), the snapshot is that alone.

pub mod balancer;
pub mod bfd;
pub mod channel;
pub mod counters;
pub mod health;
pub mod names;
pub mod report;
pub mod snapshot;

pub use channel::{StatusHandle, StatusPublisher, status_channel};
pub use snapshot::Status;

use std::sync::Arc;

/// A VRRP instance entered a state (sent on every transition, start and stop included);
/// keepalived.conf `lvs_sync_daemon` follows one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceState {
    /// `vrrp_instance NAME`.
    pub instance: Arc<str>,
    /// The state it entered.
    pub state: crate::vrrp::fsm::State,
}
