//! keepalived.conf real_server `notify_up` / `notify_down` scripts (run without waiting,
//! killed after [`NOTIFY_TIMEOUT`]; a script outlives the checker set that started it, so a
//! reload never cuts a notification short) and the notify FIFO lines for real servers:
//! `RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 UP|DOWN` (keepalived.conf(5)
//! `lvs_notify_fifo`; also written to `notify_fifo`).

use std::time::Duration;

use crate::exec::scripts::{self, ScriptCommand};

/// How long a notify script may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// The FIFO line for a real server changing state in one virtual server.
pub fn fifo_line(real_server: &str, virtual_server: &str, up: bool) -> String {
    let state = if up { "UP" } else { "DOWN" };
    format!("RS {real_server} {virtual_server} {state}")
}

/// Starts `script`; a detached task reaps it or kills it (with its process group) after
/// [`NOTIFY_TIMEOUT`].
pub fn run(script: &ScriptCommand) {
    let _ = scripts::run::spawn_logged(script, &[], NOTIFY_TIMEOUT, "notify script");
}

#[cfg(test)]
mod tests {
    #[test]
    fn fifo_lines() {
        assert_eq!(
            super::fifo_line("[10.0.0.2]:tcp:80", "[10.0.0.1]:tcp:80", false),
            "RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN"
        );
    }
}
