//! BFD (RFC 5880 asynchronous mode; RFC 5881 single hop and RFC 5883 multihop ports): the
//! control packet codec (`packet`) and the sans-IO session state machine (`session`).
//! Nothing in here touches a socket, a clock or the kernel: the runtime feeds each
//! [`session::Session`] the current `Instant` with every event and sends what it returns.
//!
//! Like keepalived's BFD (`bfd_instance`), there is no authentication, no echo function and
//! no demand mode.

#![forbid(unsafe_code)]

mod jitter;
pub mod packet;
pub mod session;
