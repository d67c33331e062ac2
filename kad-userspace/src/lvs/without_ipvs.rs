//! The LVS task on a kernel without IPVS (no `ip_vs` module, or generic netlink refused).
//!
//! keepalived's checker process exits there. kad keeps the health checkers running
//! instead, so that `kad status`, the metrics and the `notify_up`/`notify_down` scripts still
//! tell which real servers answer: this task goes on taking the checkers' updates and
//! reloads, keeps each virtual server's quorum, and publishes the report with `ipvs`
//! `unavailable` and nothing installed. It installs nothing and does not run
//! `quorum_up`/`quorum_down` (they go with the IPVS service, which is not there). The
//! missing IPVS is logged as an error at start.

use tokio::sync::mpsc;

use super::{
    control::{HEALTH_BATCH, LvsCommand, record_health},
    ipvs::{IpvsError, IpvsTable},
    kept_config::KeptConfig,
    report::{Reporter, View},
    table::{Health, QuorumMemory, wanted},
};
use crate::status::{
    health::HealthUpdate,
    snapshot::{IpvsState, IpvsStatus},
};

/// Runs until [`LvsCommand::Stop`] or until the daemon goes away.
pub async fn run(
    mut config: KeptConfig,
    mut commands: mpsc::Receiver<LvsCommand>,
    mut updates: mpsc::Receiver<HealthUpdate>,
    report: Reporter,
    error: &IpvsError,
) {
    tracing::error!(
        "ipvs: unavailable: {error}; nothing is installed. The health checkers keep running \
         and `kad status` reports them (ipvs: unavailable)"
    );
    let status = IpvsStatus {
        state: IpvsState::Unavailable,
        error: Some(error.to_string()),
    };
    let mut health = Health::default();
    let mut quorum = QuorumMemory::default();
    let publish = |config: &KeptConfig, health: &Health, quorum: &mut QuorumMemory| {
        let table = match wanted(config, health, quorum) {
            Ok(wanted) => {
                for change in &wanted.quorum_changes {
                    tracing::info!(
                        "ipvs: virtual server {} {} quorum (live weight {}); IPVS unavailable: \
                         quorum_up/quorum_down not run",
                        change.vs,
                        if change.up { "gained" } else { "lost" },
                        change.alive_weight
                    );
                }
                wanted.table
            }
            Err(err) => {
                tracing::error!("ipvs: {err}");
                IpvsTable::default()
            }
        };
        let view = View {
            config,
            health,
            quorum,
            wanted: &table,
            installed: &IpvsTable::default(),
        };
        report.publish(&view, status.clone());
    };
    publish(&config, &health, &mut quorum);
    let mut updates_open = true;
    loop {
        tokio::select! {
            biased;
            update = updates.recv(), if updates_open => match update {
                Some(first) => {
                    // A burst (every real server's initial state at start) is applied
                    // whole, then published once, as the IPVS task reconciles once.
                    let mut changed = note(&mut health, &first);
                    for _ in 1..HEALTH_BATCH {
                        let Ok(update) = updates.try_recv() else { break };
                        changed |= note(&mut health, &update);
                    }
                    if changed {
                        publish(&config, &health, &mut quorum);
                    }
                }
                None => updates_open = false,
            },
            command = commands.recv() => match command {
                Some(LvsCommand::Reload(new)) => {
                    config = KeptConfig::new(*new);
                    health.retain_configured(&config);
                    publish(&config, &health, &mut quorum);
                }
                Some(LvsCommand::Stop) | None => break,
            },
        }
    }
}

/// Applies one update; logs it and returns true when it changed the real server's health.
fn note(health: &mut Health, update: &HealthUpdate) -> bool {
    record_health(health, update, "; IPVS unavailable: not installed")
}

#[cfg(test)]
mod tests {
    use tokio::sync::watch;

    use super::*;
    use crate::{
        config::{LoadOptions, parse_str},
        status::{health::RealServerKey, report::LvsReport},
    };

    #[tokio::test(flavor = "current_thread")]
    async fn health_and_reloads_are_reported_without_ipvs() {
        let conf = "virtual_server 10.9.9.9 80 {\n protocol TCP\n \
                    real_server 10.0.0.1 80 {\n TCP_CHECK { }\n }\n}\n";
        let config = KeptConfig::new(parse_str(conf, &LoadOptions::with_config_id("t")).config);
        let (command_tx, commands) = mpsc::channel(4);
        let (update_tx, updates) = mpsc::channel(4);
        let (report_tx, mut report) = watch::channel(LvsReport::default());
        let task = tokio::spawn(async move {
            run(
                config,
                commands,
                updates,
                Reporter::new(report_tx),
                &IpvsError::NoFamily,
            )
            .await;
        });
        let first = report
            .wait_for(|r| !r.virtual_servers.is_empty())
            .await
            .map(|r| r.clone())
            .unwrap_or_default();
        assert_eq!(first.ipvs.state, IpvsState::Unavailable);
        assert!(first.ipvs.error.is_some_and(|e| e.contains("IPVS")));
        assert!(first.virtual_servers[0].real_servers[0].up);
        let down = HealthUpdate {
            real_server: RealServerKey {
                addr: std::net::SocketAddr::from(([10, 0, 0, 1], 80)),
            },
            up: false,
            weight: None,
            reason: "TCP_CHECK 10.0.0.1:80: connect: refused".into(),
        };
        let _ = update_tx.send(down).await;
        let now = report
            .wait_for(|r| r.virtual_servers[0].real_servers.iter().all(|rs| !rs.up))
            .await
            .map(|r| r.clone())
            .unwrap_or_default();
        let vs = &now.virtual_servers[0];
        assert!(!vs.quorum_up && !vs.installed);
        assert!(vs.real_servers[0].reason.contains("refused"));
        let _ = command_tx.send(LvsCommand::Stop).await;
        assert!(task.await.is_ok());
    }
}
