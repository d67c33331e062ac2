//! Operating kad from outside, reading only: the control socket (`kad status`), the
//! Prometheus metrics endpoint (`--metrics-listen`), keepalived's signal dumps (SIGUSR1,
//! SIGUSR2, SIGRTMIN+2) and `--signum`. Everything here reads the status the tasks publish
//! ([`crate::status`]) and writes nothing any task reads.
//!
//! The control socket and the metrics endpoint run on a thread of their own
//! ([`server`]), so they answer while the protocol loop is busy.

pub mod control;
pub mod dump;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod signum;
