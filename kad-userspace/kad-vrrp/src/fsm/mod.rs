//! The sans-IO VRRP core (RFC 5798 §6, RFC 3768 §6, keepalived.conf(5) semantics).
//!
//! Shape (after quinn-proto): the runtime owns sockets, clocks and the kernel; it calls
//! [`Instance::handle`] with the current [`Timestamp`] and an [`Event`], executes the
//! returned [`Action`]s in order, and calls again with [`Event::Timeout`] once
//! [`Instance::next_deadline`] has passed. Nothing here logs, sleeps or allocates a timer.
//!
//! - [`timers`]: time types and the Skew_Time / Master_Down_Interval formulas.
//! - [`config`]: [`InstanceConfig`] with keepalived's defaults.
//! - [`priority`]: tracked objects, weights, effective priority.
//! - [`events`] / [`actions`]: what goes in and out.
//! - [`instance`]: the per-instance state machine.
//! - [`sync_group`]: `vrrp_sync_group` semantics over several instances.
//!
//! Tested here (formulas against hand-computed values, behaviour per RFC rule and
//! keepalived keyword), in `tests/src/sim` (a seeded simulator of N routers with loss,
//! delay, partitions, crashes; its tests use the `sim-bugs` feature to prove the invariants
//! catch injected mistakes) and in `tests/tests/vrrp_replay.rs` (keepalived and FRR
//! captures replayed through the state machine).

pub mod actions;
pub mod config;
pub mod events;
pub mod instance;
pub mod priority;
pub mod sync_group;
pub mod timers;

#[cfg(test)]
mod tests;

pub use actions::{
    Action, AdvertOut, DiscardReason, GarpReason, NotifyKind, NotifyTarget, Reason, State,
    VirtualSet,
};
pub use config::{ConfigError, GarpConfig, InstanceConfig, ItemRef, Version, Virtuals};
pub use events::{Advert, Event};
#[cfg(feature = "sim-bugs")]
pub use instance::InjectedBug;
pub use instance::Instance;
pub use priority::{TrackedObject, TrackerId, TrackerKind, TrackerStatus};
pub use sync_group::{GroupAction, SyncGroup, SyncGroupConfig};
pub use timers::{Centis, Timestamp, master_down_interval, skew_time};
