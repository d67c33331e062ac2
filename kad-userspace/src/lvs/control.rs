//! The LVS task: keeps the kernel's IPVS table equal to the wanted one. At start it reads
//! the kernel's table and applies the difference (after `lvs_flush` if set); on each
//! health update and each reload (SIGHUP) it recomputes the wanted table and applies only
//! the difference; at stop it honours `lvs_flush_on_stop`. Every operation is logged as
//! `ipvs: <operation>`.

use std::collections::BTreeSet;

use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    health::HealthUpdate,
    ipvs::{IpvsError, IpvsSocket, IpvsTable, ServiceKey, SyncDaemon, SyncState, Timeouts},
    notify,
    reconcile::{Op, diff},
    settings::{FlushOnStop, LvsSettings, SettingsError},
    table::{Health, QuorumMemory, TableError, wanted},
};
use crate::config::Config;

/// What stops the LVS task from starting or a reload from applying.
#[derive(Debug, thiserror::Error)]
pub enum LvsError {
    /// The kernel side.
    #[error(transparent)]
    Ipvs(#[from] IpvsError),
    /// A virtual server that cannot become a service.
    #[error(transparent)]
    Table(#[from] TableError),
    /// An LVS global keyword.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Commands from the daemon.
#[derive(Debug)]
pub enum LvsCommand {
    /// SIGHUP: a new configuration.
    Reload(Box<Config>),
    /// SIGTERM/SIGINT.
    Stop,
}

/// The running LVS task.
pub struct LvsHandle {
    /// Reloads and stop.
    pub commands: mpsc::Sender<LvsCommand>,
    /// Where the checkers send their results.
    pub health: mpsc::Sender<HealthUpdate>,
    /// The task; its result says whether it could start.
    pub task: JoinHandle<Result<(), LvsError>>,
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
    let task = tokio::spawn(async move {
        let result = run(config, command_rx, health_rx).await;
        if let Err(err) = &result {
            tracing::error!("ipvs: {err}");
        }
        result
    });
    LvsHandle {
        commands,
        health,
        task,
    }
}

/// What the LVS task needs from the kernel: the IPVS socket, or a table in memory in
/// tests.
pub trait IpvsKernel {
    /// The whole current table.
    fn table(&mut self) -> Result<IpvsTable, IpvsError>;
    /// One add/edit/delete.
    fn apply(&mut self, op: &Op) -> Result<(), IpvsError>;
    /// Empties the table.
    fn flush(&mut self) -> Result<(), IpvsError>;
    /// Connection timeouts.
    fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<(), IpvsError>;
    /// Starts the sync daemon.
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError>;
    /// Stops the sync daemon.
    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError>;
}

impl IpvsKernel for IpvsSocket {
    fn table(&mut self) -> Result<IpvsTable, IpvsError> {
        IpvsSocket::table(self)
    }

    fn apply(&mut self, op: &Op) -> Result<(), IpvsError> {
        op.apply(self)
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        IpvsSocket::flush(self)
    }

    fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<(), IpvsError> {
        IpvsSocket::set_timeouts(self, timeouts)
    }

    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        IpvsSocket::start_daemon(self, daemon)
    }

    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        IpvsSocket::stop_daemon(self, state)
    }
}

/// The state the task keeps between applications.
struct Lvs<K> {
    socket: K,
    config: Config,
    settings: LvsSettings,
    health: Health,
    quorum: QuorumMemory,
    /// The services of the last wanted table: kad's own, which it may delete.
    owned: BTreeSet<ServiceKey>,
}

impl<K: IpvsKernel> Lvs<K> {
    fn start(mut socket: K, config: Config) -> Result<Self, LvsError> {
        let settings = LvsSettings::from_config(&config)?;
        if settings.flush {
            tracing::info!("ipvs: flush (lvs_flush)");
            socket.flush()?;
        }
        if let Some(timeouts) = settings.timeouts {
            tracing::info!(
                "ipvs: set timeouts tcp {} tcpfin {} udp {}",
                timeouts.tcp,
                timeouts.tcp_fin,
                timeouts.udp
            );
            socket.set_timeouts(timeouts)?;
        }
        if let Some(daemon) = &settings.sync_daemon {
            tracing::info!(
                "ipvs: start sync daemon backup on {} id {}",
                daemon.interface,
                daemon.sync_id
            );
            if let Err(err) = socket.start_daemon(daemon) {
                tracing::error!("ipvs: {err}");
            }
        }
        Ok(Self {
            socket,
            config,
            settings,
            health: Health::default(),
            quorum: QuorumMemory::default(),
            owned: BTreeSet::new(),
        })
    }

    /// Recomputes the wanted table and applies the difference with the kernel's.
    fn reconcile(&mut self, why: &str) -> Result<(), LvsError> {
        let wanted = wanted(&self.config, &self.health, &mut self.quorum)?;
        for change in &wanted.quorum_changes {
            tracing::info!(
                "ipvs: virtual server {} {} quorum (live weight {})",
                change.vs,
                if change.up { "gained" } else { "lost" },
                change.alive_weight
            );
            // keepalived.conf: quorum_up / quorum_down.
            if let Some(script) = notify::quorum_script(&self.config, change) {
                notify::spawn(&script);
            }
        }
        let actual = self.socket.table()?;
        let ops = diff(&wanted.table, &actual, &self.owned);
        let mut failed = 0;
        for op in &ops {
            tracing::info!("ipvs: {op}");
            if let Err(err) = self.socket.apply(op) {
                failed += 1;
                tracing::error!("ipvs: {op}: {err}");
            }
        }
        self.owned = wanted.table.keys().copied().collect();
        tracing::info!(
            "ipvs: table applied ({why}): {} operations, {failed} failed, {} services",
            ops.len(),
            wanted.table.len()
        );
        Ok(())
    }

    fn reload(&mut self, config: Config) {
        let settings = match LvsSettings::from_config(&config) {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!("ipvs: reload refused: {err}");
                return;
            }
        };
        let previous = std::mem::replace(&mut self.config, config);
        if let Err(err) = self.reconcile("reload") {
            tracing::error!("ipvs: reload refused, previous table kept: {err}");
            self.config = previous;
            return;
        }
        self.health.retain_configured(&self.config);
        if let Some(timeouts) = settings
            .timeouts
            .filter(|t| Some(*t) != self.settings.timeouts)
        {
            tracing::info!(
                "ipvs: set timeouts tcp {} tcpfin {} udp {}",
                timeouts.tcp,
                timeouts.tcp_fin,
                timeouts.udp
            );
            if let Err(err) = self.socket.set_timeouts(timeouts) {
                tracing::error!("ipvs: {err}");
            }
        }
        self.settings = settings;
    }

    fn stop(&mut self) {
        if let Some(daemon) = &self.settings.sync_daemon {
            tracing::info!("ipvs: stop sync daemon");
            if let Err(err) = self.socket.stop_daemon(daemon.state) {
                tracing::error!("ipvs: {err}");
            }
        }
        match self.settings.flush_on_stop {
            FlushOnStop::No => {}
            FlushOnStop::All => {
                tracing::info!("ipvs: flush (lvs_flush_on_stop)");
                if let Err(err) = self.socket.flush() {
                    tracing::error!("ipvs: {err}");
                }
            }
            FlushOnStop::VirtualServers => {
                for key in std::mem::take(&mut self.owned) {
                    let op = Op::DelService(key);
                    tracing::info!("ipvs: {op}");
                    if let Err(err) = self.socket.apply(&op) {
                        tracing::error!("ipvs: {op}: {err}");
                    }
                }
            }
        }
    }
}

/// Runs until [`LvsCommand::Stop`] (or the daemon goes away) on the kernel's IPVS.
pub async fn run(
    config: Config,
    commands: mpsc::Receiver<LvsCommand>,
    health: mpsc::Receiver<HealthUpdate>,
) -> Result<(), LvsError> {
    let socket = IpvsSocket::connect()?;
    run_on(socket, config, commands, health).await.map(drop)
}

/// The most queued health updates applied before one reconcile.
const HEALTH_BATCH: usize = 4096;

/// Runs on any [`IpvsKernel`]; returns it at the end. Health updates already queued are
/// applied before a command (a stop or a reload) is taken.
///
/// Updates that are already queued when one arrives are applied together, then the table
/// is reconciled once: a reconcile reads the kernel's whole table and rebuilds the wanted
/// one, so one per update made a burst (every real server's initial state at start, a
/// rack of real servers failing at once) cost O(N²): 10,000 real servers took minutes of
/// CPU to start. An update that arrives alone still gets its own reconcile at once.
pub async fn run_on<K: IpvsKernel>(
    kernel: K,
    config: Config,
    mut commands: mpsc::Receiver<LvsCommand>,
    mut health: mpsc::Receiver<HealthUpdate>,
) -> Result<K, LvsError> {
    let mut lvs = Lvs::start(kernel, config)?;
    lvs.reconcile("start")?;
    let mut health_open = true;
    loop {
        tokio::select! {
            biased;
            update = health.recv(), if health_open => match update {
                Some(first) => {
                    let mut changed = apply_update(&mut lvs, &first);
                    for _ in 1..HEALTH_BATCH {
                        let Ok(update) = health.try_recv() else { break };
                        changed |= apply_update(&mut lvs, &update);
                    }
                    if changed && let Err(err) = lvs.reconcile("health") {
                        tracing::error!("ipvs: {err}");
                    }
                }
                None => health_open = false,
            },
            command = commands.recv() => match command {
                Some(LvsCommand::Reload(config)) => lvs.reload(*config),
                Some(LvsCommand::Stop) | None => break,
            },
        }
    }
    lvs.stop();
    Ok(lvs.socket)
}

/// Records one health update (logged when it changes the real server's state); whether it
/// did.
fn apply_update<K: IpvsKernel>(lvs: &mut Lvs<K>, update: &HealthUpdate) -> bool {
    let changed = lvs.health.apply(update);
    if changed {
        tracing::info!(
            "ipvs: real server {} {} ({})",
            update.real_server.addr,
            if update.up { "up" } else { "down" },
            update.reason
        );
    }
    changed
}

#[cfg(test)]
mod tests;
