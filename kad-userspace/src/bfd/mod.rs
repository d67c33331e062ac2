//! The BFD task (keepalived.conf `bfd_instance`; RFC 5880 asynchronous mode, RFC 5881 single
//! hop): every session's state machine (`kad_bfd`, sans-IO) on a dedicated thread of its own,
//! as keepalived gives BFD its own process, so that a busy protocol loop or checker never
//! delays a packet. The thread sleeps in `ppoll` until the next packet is due or one
//! arrives; it publishes the sessions' status on a watch channel
//! ([`crate::status::bfd`]) only when something changed, for `track_bfd` (VRRP), `BFD_CHECK`
//! (checkers) and `kad status`.
//!
//! ```text
//! config ─▶ spec::sessions ─▶ BfdTask (thread: sockets, timers, kad_bfd::Session each)
//!                                  │ state changes
//!                                  ▼
//!                 status::bfd watch ─▶ track::bfd (VRRP trackers), kad status
//! ```

pub mod engine;
pub mod spec;
pub mod xdp;

pub use engine::{BfdReloader, BfdTask, BfdXdpLink, StartError};
pub use spec::{SessionSpec, sessions};
