//! keepalived.conf `quorum_up` / `quorum_down`: the scripts a virtual server runs when it
//! gains or loses quorum, started as child processes the LVS task never waits for, each
//! killed if it outlives [`SCRIPT_TIMEOUT`].

use std::{process::Stdio, time::Duration};

use super::table::{QuorumChange, vs_name};
use crate::{
    config::{Config, Script},
    scripts::{self, ScriptCommand, split_words},
};

/// How long a quorum script may run before it is killed.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The script configured for a quorum change, with who runs it (its own user, else
/// `script_user`, else keepalived's default user).
pub fn quorum_script(config: &Config, change: &QuorumChange) -> Option<ScriptCommand> {
    let vs = config
        .virtual_servers
        .iter()
        .find(|vs| vs_name(vs) == change.vs)?;
    let script: &Script = if change.up {
        vs.quorum_up.as_ref()?
    } else {
        vs.quorum_down.as_ref()?
    };
    let global = &config.global;
    let run_as = scripts::resolve(
        script.user.as_deref().map(|u| (u, script.group.as_deref())),
        global
            .script_user
            .as_ref()
            .map(|(u, g)| (u.as_str(), g.as_deref())),
        global.enable_script_security,
        scripts::lookup,
    );
    match run_as {
        Ok(run_as) => Some(ScriptCommand {
            command: script.command.clone(),
            run_as,
        }),
        Err(err) => {
            tracing::warn!(script = %script.command, "quorum script not run: {err}");
            None
        }
    }
}

/// Starts a script on the current tokio runtime; returns its task, or None if it could
/// not start (logged).
pub fn spawn(script: &ScriptCommand) -> Option<tokio::task::JoinHandle<()>> {
    let words = split_words(&script.command);
    let (program, args) = words.split_first()?;
    let mut command = tokio::process::Command::new(program);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    scripts::apply(command.as_std_mut(), script.run_as);
    let text = script.command.clone();
    match command.spawn() {
        Ok(mut child) => Some(tokio::spawn(async move {
            match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await {
                Ok(Ok(status)) if !status.success() => {
                    tracing::warn!(script = text, %status, "quorum script failed")
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(script = text, error = %err, "quorum script"),
                Err(_) => {
                    tracing::warn!(script = text, "quorum script timed out; killed");
                    let _ = child.kill().await;
                }
            }
        })),
        Err(err) => {
            tracing::warn!(script = text, error = %err, "cannot start quorum script");
            None
        }
    }
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
        let config = parse_str(&text, &LoadOptions::with_config_id("t")).config;
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
