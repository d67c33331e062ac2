//! Starting the LVS task: on the kernel's IPVS ([`super::control`]) or, when the kernel
//! has none, without it ([`super::without_ipvs`]), with the handle the daemon keeps.

use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::{
    control::{LvsCommand, LvsError, run_reporting},
    ipvs::IpvsSocket,
    kept_config::KeptConfig,
    report::Reporter,
    without_ipvs,
};
use crate::{
    config::Config,
    status::{health::HealthUpdate, report::LvsReport},
};

/// The running LVS task.
pub struct LvsHandle {
    /// Reloads and stop.
    pub commands: mpsc::Sender<LvsCommand>,
    /// Where the checkers send their results.
    pub health: mpsc::Sender<HealthUpdate>,
    /// The task; its result says whether it could start.
    pub task: JoinHandle<Result<(), LvsError>>,
    /// Virtual and real servers as `kad status` shows them, on each change.
    pub report: watch::Receiver<LvsReport>,
}

impl LvsHandle {
    /// Asks the task to stop and waits for it.
    pub async fn stop(self) -> Result<(), LvsError> {
        let _ = self.commands.send(LvsCommand::Stop).await;
        drop(self.health);
        match self.task.await {
            Ok(result) => result,
            Err(err) => {
                tracing::error!("ipvs: LVS task ended abnormally: {err}");
                Ok(())
            }
        }
    }
}

/// Starts the LVS task on the current tokio runtime.
pub fn spawn(config: Config) -> LvsHandle {
    let (commands, command_rx) = mpsc::channel(4);
    let (health, health_rx) = mpsc::channel(1024);
    let (report_tx, report) = watch::channel(LvsReport::default());
    let config = KeptConfig::new(config);
    let task = tokio::spawn(async move {
        let result = run(config, command_rx, health_rx, report_tx).await;
        if let Err(err) = &result {
            tracing::error!("ipvs: {err}");
        }
        result
    });
    LvsHandle {
        commands,
        health,
        task,
        report,
    }
}

/// Runs until [`LvsCommand::Stop`] (or the daemon goes away) on the kernel's IPVS,
/// reporting on `report`. A kernel without IPVS is logged as an error and the task goes on
/// without it ([`super::without_ipvs`]): the checkers keep running and `kad status` shows
/// them, with `ipvs` `unavailable`.
pub async fn run(
    config: KeptConfig,
    commands: mpsc::Receiver<LvsCommand>,
    health: mpsc::Receiver<HealthUpdate>,
    report: watch::Sender<LvsReport>,
) -> Result<(), LvsError> {
    match IpvsSocket::connect() {
        Ok(socket) => run_reporting(socket, config, commands, health, Reporter::new(report))
            .await
            .map(drop),
        Err(err) => {
            without_ipvs::run(config, commands, health, Reporter::new(report), &err).await;
            Ok(())
        }
    }
}
