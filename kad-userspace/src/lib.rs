//! kad: keepalived rebuilt in Rust, with an XDP dataplane.
//!
//! Data flow (one module per stage): `config` (keepalived.conf → typed model) → `vrrp`
//! (sans-IO protocol core: `(now, event)` in, actions and the next deadline out) → runtime
//! (executes actions) → kernel (`xdp`, netlink, sockets).

pub mod check;
pub mod config;
pub mod daemon;
pub mod exec;
pub mod file_kind;
pub mod lvs;
pub mod net;
pub mod ops;
pub mod runtime;
pub mod scripts;
pub mod service_manager;
pub mod status;
pub mod supervise;
pub mod syslog;
pub mod track;
pub mod vrrp;
pub mod xdp;
