//! `kad -f CONF`: the VRRP daemon. Loads the configuration, builds the runtime's view of it,
//! and runs until SIGTERM or SIGINT, then stops as keepalived does (priority-0 adverts, VIPs
//! removed, `notify_stop`).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context as _, Result, bail};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

use crate::{
    config::{self, LoadOptions},
    net::addr::AddressControl,
    runtime::{self, Control},
};

/// What the command line asked of the daemon.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// `-f/--use-file`.
    pub config: PathBuf,
    /// `-i/--config-id`.
    pub config_id: Option<String>,
    /// `-p/--pid` and `-r/--vrrp_pid`: where to write the process id (removed at exit).
    pub pid_files: Vec<PathBuf>,
    /// `--no-xdp` and `-D`: how adverts are received.
    pub run: runtime::RunOptions,
}

/// Runs the daemon to completion; the exit code follows keepalived's (non-zero when the
/// configuration cannot run).
pub fn run(options: &DaemonOptions) -> ExitCode {
    match run_inner(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(options: &DaemonOptions) -> Result<()> {
    let loaded = load(options)?;
    let _pids = options
        .pid_files
        .iter()
        .map(|path| PidFile::create(path))
        .collect::<Result<Vec<_>>>()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let control = AddressControl::connect()?;
        let spec = runtime::runtime_spec(&loaded.config, &control).await?;
        if spec.instances.is_empty() {
            tracing::warn!("no vrrp_instance configured; waiting for a signal");
        }
        let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        let mut hangup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        let (commands, controls) = mpsc::channel(4);
        let run_options = options.run;
        let options = options.clone();
        let signals = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = terminate.recv() => break,
                    _ = interrupt.recv() => break,
                    _ = hangup.recv() => {
                        tracing::info!("SIGHUP: reloading {}", options.config.display());
                        match reload_spec(&options, &control).await {
                            Ok(spec) => {
                                if commands.send(Control::Reload(Box::new(spec))).await.is_err() {
                                    return;
                                }
                            }
                            Err(err) => tracing::error!("reload refused, running configuration kept: {err:#}"),
                        }
                    }
                }
            }
            tracing::info!("stopping");
            let _ = commands.send(Control::Stop).await;
        });
        runtime::run(spec, run_options, controls).await?;
        signals.abort();
        anyhow::Ok(())
    })
}

/// Re-reads the configuration for SIGHUP; refuses one that cannot run.
async fn reload_spec(
    options: &DaemonOptions,
    control: &AddressControl,
) -> Result<runtime::RuntimeSpec> {
    let loaded = load(options)?;
    Ok(runtime::runtime_spec(&loaded.config, control).await?)
}

/// Loads and checks the configuration, logging every diagnostic.
fn load(options: &DaemonOptions) -> Result<config::Loaded> {
    let mut load_options = LoadOptions::default();
    if let Some(id) = &options.config_id {
        load_options.config_id = id.clone();
    }
    let loaded = config::load(&options.config, &load_options)
        .with_context(|| format!("reading {}", options.config.display()))?;
    for diagnostic in &loaded.diagnostics {
        tracing::warn!("{diagnostic}");
    }
    if loaded.exit_status() == config::exit::CANNOT_RUN {
        bail!("{}: the configuration cannot run", options.config.display());
    }
    Ok(loaded)
}

/// keepalived's `-p` pid file: written at start, removed at exit.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &Path) -> Result<Self> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pid file {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
