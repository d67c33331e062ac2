//! kad: keepalived rebuilt in Rust, with an XDP dataplane.
//!
//! Data flow (one module per stage): `config` (keepalived.conf → typed model) → `vrrp`
//! (sans-IO protocol core: `(now, event)` in, actions and the next deadline out) → runtime
//! (executes actions) → kernel (`xdp`, netlink, sockets).

pub mod bfd;
pub mod check;
pub mod daemon;
pub mod exec;
pub mod file_kind;
pub mod heap;
pub mod host_checks;
pub mod lvs;
pub mod net;
pub mod ops;
pub mod pid_files;
pub mod runtime;
pub mod sched;
pub mod service_manager;
pub mod status;
pub mod supervise;
pub mod syslog;
pub mod track;
pub mod xdp;

/// The VRRP protocol core (codec, state machine, sync groups): the `kad-vrrp` crate.
pub use kad_vrrp as vrrp;

/// keepalived.conf: lexer → preprocessor → tree → keyword tables → typed model → validation
/// (the `kad-config` crate; the host checks it asks for are [`host_checks`]).
pub use kad_config as config;
