//! What a health checker reports about one real server: the contract between the checkers
//! (which probe) and the IPVS control (which keeps the kernel's table in step).

use std::net::SocketAddr;

/// One real server as the checkers see it: keepalived probes each (address, port) once, even
/// when several virtual servers list it (`connect_ip`/`connect_port` may aim the probe
/// elsewhere; the key stays the real server's own address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealServerKey {
    /// The real server's address and port (the virtual server's port when none is given).
    pub addr: SocketAddr,
}

/// A change in a real server's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthUpdate {
    /// Which real server.
    pub real_server: RealServerKey,
    /// Whether all its checkers pass (keepalived: a real server is up when every checker is).
    pub up: bool,
    /// The weight to set when `misc_dynamic` (MISC_CHECK exit code) changed it.
    pub weight: Option<i32>,
    /// Why, for logs and status: e.g. "HTTP_GET status 500 on /health".
    pub reason: String,
}
