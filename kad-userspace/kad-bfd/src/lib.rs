//! BFD (RFC 5880 asynchronous mode; RFC 5881 single hop and RFC 5883 multihop ports): the
//! control packet codec (`packet`) and the sans-IO session state machine (`session`).
//! Nothing in here touches a socket, a clock or the kernel: the runtime feeds each
//! [`session::Session`] the current `Instant` with every event and sends what it returns.
//!
//! Like keepalived's BFD (`bfd_instance`), there is no authentication (a packet with the A
//! bit is refused), no echo function (Required Min Echo RX is sent as 0) and no demand mode
//! (D is sent clear; a peer's D bit is not acted on). Addresses, ports, TTL/GTSM checks and
//! the choice of session for a packet are the runtime's: a session only checks that Your
//! Discriminator, when set, is its own.

#![forbid(unsafe_code)]

mod jitter;
pub mod packet;
pub mod session;
