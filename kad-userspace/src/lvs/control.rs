//! The LVS task on the kernel's IPVS (started by [`super::task`]): keeps the kernel's IPVS
//! table equal to the wanted one. At start it reads
//! the kernel's table and applies the difference (after `lvs_flush` if set); on each
//! health update and each reload (SIGHUP) it recomputes the wanted table and applies only
//! the difference; at stop it honours `lvs_flush_on_stop`. Every operation is logged as
//! `ipvs: <operation>`. (The connection-sync daemon follows VRRP: [`super::sync`].)

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use super::{
    ipvs::{IpvsError, IpvsSocket, IpvsTable, ServiceKey, Timeouts},
    kept_config::KeptConfig,
    notify,
    reconcile::{Op, diff},
    report::{Reporter, View, running},
    settings::{FlushOnStop, LvsSettings, SettingsError},
    table::{Health, QuorumMemory, TableError, wanted},
};
use crate::{
    config::Config,
    exec::smtp::{Mailer, SmtpSpec},
    status::health::HealthUpdate,
};

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
}

/// The state the task keeps between applications.
struct Lvs<K> {
    socket: K,
    config: KeptConfig,
    settings: LvsSettings,
    health: Health,
    quorum: QuorumMemory,
    /// The services of the last wanted table: kad's own, which it may delete.
    owned: BTreeSet<ServiceKey>,
    /// Where each application is reported for `kad status`.
    report: Reporter,
    /// The wanted table of the last application that fully succeeded: the kernel's table
    /// as kad left it. A health change that leaves the wanted table as it was (a real
    /// server's first report confirming its initial state, a reason changing) then costs
    /// no kernel read: with 10,000 real servers each read is a 10,100-entry dump.
    applied: Option<IpvsTable>,
    /// keepalived.conf smtp_alert: quorum changes mailed.
    mailer: Option<Mailer>,
}

impl<K: IpvsKernel> Lvs<K> {
    fn start(mut socket: K, config: KeptConfig) -> Result<Self, LvsError> {
        let settings = LvsSettings::from_config(&config.config)?;
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
        Ok(Self {
            socket,
            settings,
            health: Health::default(),
            quorum: QuorumMemory::default(),
            owned: BTreeSet::new(),
            report: Reporter::default(),
            applied: None,
            mailer: SmtpSpec::from_config(&config.config).map(Mailer::start),
            config,
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
            notify::quorum_alert(&self.config, change, self.mailer.as_ref());
        }
        if self.applied.as_ref() == Some(&wanted.table) {
            let view = View {
                config: &self.config,
                health: &self.health,
                quorum: &self.quorum,
                wanted: &wanted.table,
                installed: &wanted.table,
            };
            self.report.publish(&view, running());
            return Ok(());
        }
        self.applied = None;
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
        // Without failures the kernel has every wanted destination; else ask it.
        let reread = (failed > 0).then(|| self.socket.table().unwrap_or(actual));
        let view = View {
            config: &self.config,
            health: &self.health,
            quorum: &self.quorum,
            wanted: &wanted.table,
            installed: reread.as_ref().unwrap_or(&wanted.table),
        };
        self.report.publish(&view, running());
        if failed == 0 {
            self.applied = Some(wanted.table);
        }
        Ok(())
    }

    fn reload(&mut self, config: KeptConfig) {
        let settings = match LvsSettings::from_config(&config.config) {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!("ipvs: reload refused: {err}");
                return;
            }
        };
        let previous = std::mem::replace(&mut self.config, config);
        // A reload compares with what the kernel has now, not with what kad left there.
        self.applied = None;
        if let Err(err) = self.reconcile("reload") {
            tracing::error!("ipvs: reload refused, previous table kept: {err}");
            self.config = previous;
            return;
        }
        self.health.retain_configured(&self.config);
        let smtp = SmtpSpec::from_config(&self.config.config);
        if self.mailer.as_ref().map(Mailer::spec) != smtp.as_ref() {
            self.mailer = smtp.map(Mailer::start);
        }
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

/// The most queued health updates applied before one reconcile.
pub(super) const HEALTH_BATCH: usize = 4096;

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
    commands: mpsc::Receiver<LvsCommand>,
    health: mpsc::Receiver<HealthUpdate>,
) -> Result<K, LvsError> {
    let config = KeptConfig::new(config);
    run_reporting(kernel, config, commands, health, Reporter::default()).await
}

/// [`run_on`], each application published on `report`.
pub async fn run_reporting<K: IpvsKernel>(
    kernel: K,
    config: KeptConfig,
    mut commands: mpsc::Receiver<LvsCommand>,
    mut health: mpsc::Receiver<HealthUpdate>,
    report: Reporter,
) -> Result<K, LvsError> {
    let mut lvs = Lvs::start(kernel, config)?;
    lvs.report = report;
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
                Some(LvsCommand::Reload(config)) => lvs.reload(KeptConfig::new(*config)),
                Some(LvsCommand::Stop) | None => break,
            },
        }
    }
    // keepalived.conf omega: quorum_down and notify_down of what goes away with kad.
    let omega = notify::omega_scripts(&lvs.config, &lvs.health, &lvs.quorum);
    let scripts = notify::run_and_wait(&omega);
    lvs.stop();
    scripts.await;
    Ok(lvs.socket)
}

/// Records one health update (logged when it changes the real server's state); whether it
/// did.
fn apply_update<K: IpvsKernel>(lvs: &mut Lvs<K>, update: &HealthUpdate) -> bool {
    record_health(&mut lvs.health, update, "")
}

/// Records `update` in `health`; logs the change, `note` appended, and returns whether the
/// real server's health changed.
pub(super) fn record_health(health: &mut Health, update: &HealthUpdate, note: &str) -> bool {
    let changed = health.apply(update);
    if changed {
        tracing::info!(
            "ipvs: real server {} {} ({}){note}",
            update.real_server.addr,
            if update.up { "up" } else { "down" },
            update.reason
        );
    }
    changed
}

#[cfg(test)]
mod tests;
