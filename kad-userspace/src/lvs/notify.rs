//! keepalived.conf `quorum_up` / `quorum_down`: the scripts a virtual server runs when it
//! gains or loses quorum, started as child processes the LVS task never waits for, each
//! killed if it outlives [`SCRIPT_TIMEOUT`]; with `smtp_alert`, a mail too. And `omega`:
//! at shutdown, the virtual server runs `quorum_down` (when it held quorum) and the
//! `notify_down` of each of its live real servers, which kad waits for (bounded) before
//! it exits.

use std::time::Duration;

use super::{
    kept_config::KeptConfig,
    table::{Health, QuorumChange, QuorumMemory, rs_alive},
};
use crate::{
    config::{Config, Script},
    exec::scripts::{self, ScriptCommand},
    exec::smtp::{Alert, Mailer, checker_alerts_enabled},
    status::names::{vs_fifo_name, vs_name},
};

/// How long a quorum script may run before it is killed.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The script configured for a quorum change, with who runs it (its own user, else
/// `script_user`, else keepalived's default user).
pub fn quorum_script(kept: &KeptConfig, change: &QuorumChange) -> Option<ScriptCommand> {
    let vs = kept
        .virtual_servers
        .iter()
        .map(|vs| &vs.server)
        .find(|vs| vs_name(vs) == change.vs)?;
    let script: &Script = if change.up {
        vs.quorum_up.as_ref()?
    } else {
        vs.quorum_down.as_ref()?
    };
    script_command(&kept.config, script, "quorum script")
}

/// Who runs `script`: its own user, else `script_user`, else keepalived's default user;
/// `None` (logged) when `enable_script_security` refuses it.
fn script_command(config: &Config, script: &Script, what: &str) -> Option<ScriptCommand> {
    let run_as = scripts::run_as(
        &config.global,
        script.user.as_deref().map(|u| (u, script.group.as_deref())),
    );
    match run_as {
        Ok(run_as) => Some(ScriptCommand {
            command: script.command.clone(),
            run_as,
        }),
        Err(err) => {
            tracing::warn!(script = %script.command, "{what} not run: {err}");
            None
        }
    }
}

/// keepalived.conf `smtp_alert` for a quorum change: mailed when the virtual server's own
/// `smtp_alert`, else global `smtp_alert_checker`, else `smtp_alert` says so.
pub fn quorum_alert(kept: &KeptConfig, change: &QuorumChange, mailer: Option<&Mailer>) {
    let Some(mailer) = mailer else {
        return;
    };
    let Some(vs) = kept
        .virtual_servers
        .iter()
        .map(|vs| &vs.server)
        .find(|vs| vs_name(vs) == change.vs)
    else {
        return;
    };
    if checker_alerts_enabled(&kept.config.global, vs.smtp_alert, None) {
        mailer.send(Alert::quorum(
            &mailer.spec().router_id,
            &vs_fifo_name(vs),
            change.up,
            change.alive_weight,
            vs.quorum,
        ));
    }
}

/// keepalived.conf `omega`: the scripts a stopping kad runs for each virtual server that
/// has it: `quorum_down` if it held quorum, and `notify_down` of every live real server.
pub fn omega_scripts(
    kept: &KeptConfig,
    health: &Health,
    quorum: &QuorumMemory,
) -> Vec<ScriptCommand> {
    let config = &kept.config;
    let mut out = Vec::new();
    for kept_vs in kept.virtual_servers.iter().filter(|vs| vs.server.omega) {
        let vs = &kept_vs.server;
        if quorum.holds(&vs_name(vs)) == Some(true)
            && let Some(script) = &vs.quorum_down
        {
            out.extend(script_command(config, script, "quorum_down (omega)"));
        }
        for rs in kept_vs
            .real_servers
            .iter()
            .filter(|rs| rs_alive(vs, rs, health))
        {
            if let Some(script) = &rs.notify_down {
                out.extend(script_command(config, script, "notify_down (omega)"));
            }
        }
    }
    out
}

/// Starts `scripts` now; the future it returns resolves when they have all ended (each
/// killed after [`SCRIPT_TIMEOUT`]).
pub fn run_and_wait(scripts: &[ScriptCommand]) -> impl std::future::Future<Output = ()> + use<> {
    let tasks: Vec<_> = scripts.iter().filter_map(spawn).collect();
    async move {
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Starts a script on the current tokio runtime; returns its task, or None if it could
/// not start (logged). After [`SCRIPT_TIMEOUT`] it is killed with its process group.
pub fn spawn(script: &ScriptCommand) -> Option<tokio::task::JoinHandle<()>> {
    scripts::run::spawn_logged(script, &[], SCRIPT_TIMEOUT, "quorum script")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    #[tokio::test]
    async fn quorum_down_runs_its_script_and_quorum_up_its_own() {
        let dir = std::env::temp_dir().join(format!("kad-quorum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("down");
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n quorum_down \"/bin/touch {}\"\n real_server 10.0.0.2 80 {{\n }}\n}}\n",
            marker.display()
        );
        let config = KeptConfig::new(parse_str(&text, &LoadOptions::with_config_id("t")).config);
        let down = QuorumChange {
            vs: "TCP 10.0.0.1:80".into(),
            up: false,
            alive_weight: 0,
        };
        let up = QuorumChange {
            up: true,
            ..down.clone()
        };
        assert!(quorum_script(&config, &up).is_none());
        let script = quorum_script(&config, &down).expect("quorum_down configured");
        spawn(&script).expect("started").await.unwrap();
        assert!(marker.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
