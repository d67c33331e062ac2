//! keepalived.conf `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N]
//! [ttl N] [group IP]` (and the deprecated per-instance `lvs_sync_daemon_interface`): the
//! kernel's IPVS connection-sync daemon follows one VRRP instance, as keepalived's VRRP
//! process drives it. At start the backup daemon runs (receiving connection state from the
//! director that is Master); when the instance becomes MASTER the backup daemon stops and
//! the master one starts (sending this director's connections); when it leaves MASTER the
//! master daemon stops and the backup one starts again; at stop both are stopped.
//!
//! The task reads the VRRP runtime's instance state changes
//! ([`crate::status::InstanceState`]); it belongs to the VRRP side, so it runs whenever
//! VRRP does (`-P` included), virtual servers or not.

use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    ipvs::{IpvsError, IpvsSocket, SyncDaemon, SyncState},
    settings::SyncSetting,
};
use crate::{config::Config, status::InstanceState, vrrp::fsm::State};

/// What the sync daemon follower needs from the kernel (the IPVS socket, or a recorder in
/// tests).
pub trait SyncKernel {
    /// `IPVS_CMD_NEW_DAEMON` (`ipvsadm --start-daemon`).
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError>;
    /// `IPVS_CMD_DEL_DAEMON` (`ipvsadm --stop-daemon`).
    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError>;
}

impl SyncKernel for IpvsSocket {
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        IpvsSocket::start_daemon(self, daemon)
    }

    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        IpvsSocket::stop_daemon(self, state)
    }
}

/// Commands from the daemon.
#[derive(Debug)]
pub enum SyncCommand {
    /// SIGHUP: a new configuration.
    Reload(Box<Config>),
    /// SIGTERM/SIGINT: stop both daemons.
    Stop,
}

/// Keeps the kernel's sync daemons in step with the followed instance's state.
pub struct SyncFollower<K> {
    kernel: K,
    setting: Option<SyncSetting>,
    /// The daemon kad started and has not stopped.
    running: Option<SyncState>,
    /// Whether the followed instance was last seen as MASTER.
    master: bool,
}

/// Whether a stop failed only because no such daemon runs (`ESRCH`).
fn not_running(err: &IpvsError) -> bool {
    matches!(err, IpvsError::Kernel { source, .. } if source.raw_os_error() == Some(libc::ESRCH))
}

fn word(state: SyncState) -> &'static str {
    match state {
        SyncState::Master => "master",
        SyncState::Backup => "backup",
    }
}

impl<K: SyncKernel> SyncFollower<K> {
    /// Starts following: any daemon a previous run left is stopped, then the backup daemon
    /// starts (keepalived starts it at start; the instance is not MASTER yet).
    pub fn start(kernel: K, setting: Option<SyncSetting>) -> Self {
        let mut this = Self {
            kernel,
            setting: None,
            running: None,
            master: false,
        };
        if setting.is_some() {
            for state in [SyncState::Master, SyncState::Backup] {
                // Leftovers of a run that did not stop cleanly; none is the usual case.
                if let Err(err) = this.kernel.stop_daemon(state)
                    && !not_running(&err)
                {
                    tracing::warn!("ipvs: stop {} sync daemon: {err}", word(state));
                }
            }
        }
        this.setting = setting;
        this.apply();
        this
    }

    /// The daemon that should run now.
    fn wanted(&self) -> Option<SyncState> {
        self.setting.as_ref().map(|_| {
            if self.master {
                SyncState::Master
            } else {
                SyncState::Backup
            }
        })
    }

    /// Stops the running daemon if it is not the wanted one, then starts the wanted one.
    fn apply(&mut self) {
        let wanted = self.wanted();
        if self.running == wanted {
            return;
        }
        if let Some(state) = self.running.take() {
            self.stop_one(state);
        }
        if let (Some(state), Some(setting)) = (wanted, &self.setting) {
            let daemon = SyncDaemon {
                state,
                ..setting.daemon.clone()
            };
            match self.kernel.start_daemon(&daemon) {
                Ok(()) => {
                    tracing::info!(
                        "ipvs: started {} sync daemon on {} id {} (vrrp_instance {})",
                        word(state),
                        daemon.interface,
                        daemon.sync_id,
                        setting.instance
                    );
                    self.running = Some(state);
                }
                Err(err) => tracing::error!("ipvs: {err}"),
            }
        }
    }

    fn stop_one(&mut self, state: SyncState) {
        match self.kernel.stop_daemon(state) {
            Ok(()) => tracing::info!("ipvs: stopped {} sync daemon", word(state)),
            Err(err) if not_running(&err) => {}
            Err(err) => tracing::error!("ipvs: {err}"),
        }
    }

    /// A VRRP instance changed state.
    pub fn instance_state(&mut self, change: &InstanceState) {
        let Some(setting) = &self.setting else {
            return;
        };
        // An instance stops (Initialize) only at exit or when a reload restarts it: the
        // daemon stays as it is until then (no backup started just to be stopped).
        if *change.instance != *setting.instance || change.state == State::Initialize {
            return;
        }
        self.master = change.state == State::Master;
        self.apply();
    }

    /// A reload: a changed setting restarts the daemon with the new parameters (following
    /// the same instance keeps its last state; another one starts from backup).
    pub fn reload(&mut self, setting: Option<SyncSetting>) {
        if setting == self.setting {
            return;
        }
        let same_instance = matches!(
            (&setting, &self.setting),
            (Some(new), Some(old)) if new.instance == old.instance
        );
        if let Some(state) = self.running.take() {
            self.stop_one(state);
        }
        if !same_instance {
            self.master = false;
        }
        self.setting = setting;
        self.apply();
    }

    /// Stops both daemons (keepalived stops master and backup at exit); returns the kernel.
    pub fn stop(mut self) -> K {
        if self.setting.is_some() {
            let running = self.running.take();
            for state in [SyncState::Master, SyncState::Backup] {
                if running == Some(state) {
                    self.stop_one(state);
                } else {
                    let _ = self.kernel.stop_daemon(state);
                }
            }
        }
        self.kernel
    }
}

/// The running follower task.
pub struct SyncHandle {
    /// Reloads and stop.
    pub commands: mpsc::Sender<SyncCommand>,
    /// The task.
    pub task: JoinHandle<()>,
}

impl SyncHandle {
    /// Stops both daemons and waits for the task.
    pub async fn stop(self) {
        let _ = self.commands.send(SyncCommand::Stop).await;
        if let Err(err) = self.task.await {
            tracing::error!("ipvs: sync daemon task ended abnormally: {err}");
        }
    }
}

/// The IPVS socket, opened at the first request: a configuration without a sync daemon
/// never needs IPVS, and one added by a reload gets it then.
#[derive(Default)]
pub struct LazyIpvs(Option<IpvsSocket>);

impl LazyIpvs {
    fn socket(&mut self) -> Result<&mut IpvsSocket, IpvsError> {
        if self.0.is_none() {
            self.0 = Some(IpvsSocket::connect()?);
        }
        self.0.as_mut().ok_or(IpvsError::NoFamily)
    }
}

impl SyncKernel for LazyIpvs {
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        self.socket()?.start_daemon(daemon)
    }

    fn stop_daemon(&mut self, state: SyncState) -> Result<(), IpvsError> {
        self.socket()?.stop_daemon(state)
    }
}

/// The setting of `config`, an unusable one logged and taken as none.
fn setting_of(config: &Config) -> Option<SyncSetting> {
    SyncSetting::from_config(config).unwrap_or_else(|err| {
        tracing::error!("ipvs: {err}; no sync daemon");
        None
    })
}

/// Starts the follower on the current tokio runtime; `states` carries the VRRP runtime's
/// state changes. Without IPVS in the kernel, each request fails and is logged (VRRP runs
/// on).
pub fn spawn(config: &Config, states: mpsc::UnboundedReceiver<InstanceState>) -> SyncHandle {
    let (commands, command_rx) = mpsc::channel(4);
    let setting = setting_of(config);
    let task = tokio::spawn(async move {
        run_on(LazyIpvs::default(), setting, command_rx, states).await;
    });
    SyncHandle { commands, task }
}

/// Follows `states` on any [`SyncKernel`] until [`SyncCommand::Stop`] (or the daemon goes
/// away); returns the kernel. State changes already queued are taken before a command.
pub async fn run_on<K: SyncKernel>(
    kernel: K,
    setting: Option<SyncSetting>,
    mut commands: mpsc::Receiver<SyncCommand>,
    mut states: mpsc::UnboundedReceiver<InstanceState>,
) -> K {
    let mut follower = SyncFollower::start(kernel, setting);
    let mut states_open = true;
    loop {
        tokio::select! {
            biased;
            change = states.recv(), if states_open => match change {
                Some(change) => follower.instance_state(&change),
                None => states_open = false,
            },
            command = commands.recv() => match command {
                Some(SyncCommand::Reload(config)) => follower.reload(setting_of(&config)),
                Some(SyncCommand::Stop) | None => break,
            },
        }
    }
    follower.stop()
}

#[cfg(test)]
mod tests;
