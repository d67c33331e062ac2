//! Readiness notifications for systemd's `Type=notify` services (sd_notify(3)): kad tells
//! the service manager when its instances run (`READY=1`), when a SIGHUP reload starts and
//! ends (`RELOADING=1` … `READY=1`) and when it stops (`STOPPING=1`). keepalived does the
//! same when built with systemd support; `packaging/kad.service` relies on it.
//!
//! Without `NOTIFY_SOCKET` in the environment (not started by systemd) every call is a no-op.

use sd_notify::NotifyState;

/// Whether kad was started with a notification socket (`NOTIFY_SOCKET`).
pub fn enabled() -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some()
}

/// `READY=1` with a status line: start-up (or a reload) is complete.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `RELOADING=1` with `MONOTONIC_USEC` (systemd ≥ 253 requires the timestamp with it):
/// a SIGHUP reload has begun; [`ready`] ends it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading"),
        ]),
        Err(err) => tracing::warn!(error = %err, "sd_notify: no monotonic clock"),
    }
}

/// `STOPPING=1`: the daemon is shutting down (priority-0 adverts, VIPs removed).
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

fn send(states: &[NotifyState<'_>]) {
    if !enabled() {
        return;
    }
    if let Err(err) = sd_notify::notify(states) {
        // The service manager going away must not stop VRRP.
        tracing::warn!(error = %err, "sd_notify failed");
    }
}
