//! keepalived.conf real_server `notify_up` / `notify_down` scripts (run without waiting,
//! killed after [`NOTIFY_TIMEOUT`]; a script outlives the checker set that started it, so a
//! reload never cuts a notification short) and the notify FIFO lines for real servers:
//! `RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 UP|DOWN` (keepalived.conf(5)
//! `lvs_notify_fifo`; also written to `notify_fifo`).

use std::{process::Stdio, time::Duration};

use crate::scripts::{self, ScriptCommand, split_words};

/// How long a notify script may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// The FIFO line for a real server changing state in one virtual server.
pub fn fifo_line(real_server: &str, virtual_server: &str, up: bool) -> String {
    let state = if up { "UP" } else { "DOWN" };
    format!("RS {real_server} {virtual_server} {state}")
}

/// Starts `script`; a detached task reaps it or kills it after [`NOTIFY_TIMEOUT`].
pub fn run(script: &ScriptCommand) {
    let words = split_words(&script.command);
    let Some((program, args)) = words.split_first() else {
        return;
    };
    let mut command = tokio::process::Command::new(program);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    scripts::apply(command.as_std_mut(), script.run_as);
    let name = script.command.clone();
    match command.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                match tokio::time::timeout(NOTIFY_TIMEOUT, child.wait()).await {
                    Ok(Ok(status)) if !status.success() => {
                        tracing::warn!(script = %name, %status, "notify script failed");
                    }
                    Ok(_) => {}
                    Err(_) => {
                        tracing::warn!(script = %name, "notify script timed out; killed");
                        let _ = child.kill().await;
                    }
                }
            });
        }
        Err(err) => tracing::warn!(script = %name, error = %err, "cannot start notify script"),
    }
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
