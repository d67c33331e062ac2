//! `kad -f CONF`: the daemon. Loads the configuration, builds the runtime's view of it,
//! and runs until SIGTERM or SIGINT, then stops as keepalived does (priority-0 adverts, VIPs
//! removed, `notify_stop`). Beside VRRP, the LVS task (`lvs::task`) keeps the IPVS
//! table when the configuration has virtual servers, fed by the health checkers (`check`);
//! `-P` runs VRRP only, `-C` LVS only. With VRRP runs the IPVS connection-sync daemon's
//! follower (`lvs_sync_daemon`, [`crate::lvs::sync`]), fed the instances' state changes. Beside them run the control socket (`kad status`),
//! the metrics endpoint (`--metrics-listen`) and keepalived's dump signals (SIGUSR1 data,
//! SIGUSR2 stats, SIGRTMIN+2 JSON; see [`crate::ops::dump`]). Under systemd it reports
//! readiness, reloads and stopping through sd_notify ([`crate::service_manager`]). The
//! global_defs process scheduling keywords are applied once the subsystems run and again
//! after each reload ([`crate::sched`]). Global `startup_script` runs before everything,
//! `shutdown_script` after ([`start_stop`]).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

use crate::{
    bfd,
    check::CheckerSet,
    config,
    exec::start_stop,
    host_checks,
    lvs::{
        self,
        control::LvsCommand,
        sync::{self as lvs_sync, SyncCommand},
    },
    net::addr::AddressControl,
    ops::{self, dump::Dump},
    pid_files,
    runtime::{self, Control},
    sched::{self, Scheduling},
    service_manager,
    status::{self, StatusHandle},
};

/// Which subsystems run (keepalived: `-P/--vrrp`, `-C/--check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsystems {
    /// VRRP, and the LVS side when there are virtual servers (keepalived's default).
    All,
    /// `-P`: VRRP only.
    VrrpOnly,
    /// `-C`: health checkers and IPVS only.
    CheckersOnly,
}

/// What the command line asked of the daemon.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// `-f/--use-file`.
    pub config: PathBuf,
    /// `-i/--config-id`.
    pub config_id: Option<String>,
    /// `-p/--pid`, `-r/--vrrp_pid`, `-c/--checkers_pid`: where to write the process id
    /// (removed at exit); the configuration decides the others ([`pid_files::PidPaths`]).
    pub pid_files: pid_files::PidArgs,
    /// `--no-xdp` and `-D`: how adverts are received.
    pub run: runtime::RunOptions,
    /// `-P`/`-C`.
    pub subsystems: Subsystems,
    /// `--control-socket PATH` (`None`: [`ops::control::default_path`] for the config id).
    pub control_socket: Option<PathBuf>,
    /// `--metrics-listen ADDR`: serve Prometheus metrics there (off when `None`).
    pub metrics_listen: Option<SocketAddr>,
    /// `-u/--umask MASK`: the process umask, over global_defs `umask`.
    pub umask: Option<u32>,
    /// `-B/--no_bfd`: no BFD sessions.
    pub no_bfd: bool,
}

/// Runs the daemon to completion; the exit code follows keepalived's (non-zero when the
/// configuration cannot run).
pub fn run(options: &DaemonOptions) -> ExitCode {
    // For every mode (`-C` runs no VRRP runtime, which installs it too).
    crate::supervise::install_panic_hook();
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
    apply_umask(&loaded.config, options.umask);
    seed_randomness(&loaded.config.global);
    // keepalived.conf instance, use_pid_dir: where the pid files go.
    let runs_vrrp =
        options.subsystems != Subsystems::CheckersOnly && has_vrrp_config(&loaded.config);
    let runs_checkers =
        options.subsystems != Subsystems::VrrpOnly && !loaded.config.virtual_servers.is_empty();
    let pid_paths = pid_files::PidPaths::resolve(&options.pid_files, &loaded.config.global);
    let _pids = pid_files::PidFiles::take(&pid_paths, runs_vrrp, runs_checkers)?;
    let instance_name = pid_files::instance_name(&loaded.config.global).map(str::to_owned);
    // VRRP on one configuration twice would fight over its addresses; `-P` beside `-C` on
    // one file is keepalived's split into two processes, so `-C` takes no lock.
    let _config_lock = (options.subsystems != Subsystems::CheckersOnly)
        .then(|| ConfigLock::take(&options.config))
        .transpose()?;

    // keepalived.conf `disable_local_igmp`: off while VRRP runs, restored at exit.
    let _igmp = (options.subsystems != Subsystems::CheckersOnly
        && loaded.config.global.other.contains_key("disable_local_igmp"))
    .then(|| match crate::net::igmp::LocalIgmpReports::disable() {
        Ok(guard) => Some(guard),
        Err(err) => {
            tracing::warn!(error = %err, "disable_local_igmp: cannot set net.ipv4.igmp_link_local_mcast_reports");
            None
        }
    })
    .flatten();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    // keepalived.conf startup_script: before anything starts; shutdown_script: after
    // everything stopped, as the last reload has it.
    if let Some(startup) = start_stop::startup(&loaded.config.global) {
        let _ = runtime.block_on(start_stop::run(&startup));
    }
    let shutdown_script = Arc::new(std::sync::Mutex::new(start_stop::shutdown(
        &loaded.config.global,
    )));
    let shutdown_slot = Arc::clone(&shutdown_script);
    // keepalived.conf data_use_instance: the dump files' names.
    let mut dump_names = ops::dump::DumpNames::of(&loaded.config.global);
    let served = runtime.block_on(async move {
        // Signals are taken before anything starts: a SIGTERM while the subsystems start
        // (BFD sessions may already be Up, XDP still loading) is held until the signal task
        // reads it, and then stops kad the normal way (AdminDown, priority 0, VIPs removed).
        let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        let mut hangup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        let mut data = signal(SignalKind::user_defined1()).context("SIGUSR1 handler")?;
        let mut stats = signal(SignalKind::user_defined2()).context("SIGUSR2 handler")?;
        let mut json = signal(SignalKind::from_raw(ops::signum::json_signal()))
            .context("SIGRTMIN+2 handler")?;
        let vrrp = options.subsystems != Subsystems::CheckersOnly;
        let with_lvs = match options.subsystems {
            Subsystems::VrrpOnly => false,
            Subsystems::CheckersOnly => true,
            Subsystems::All => !loaded.config.virtual_servers.is_empty(),
        };
        // keepalived.conf vrrp_priority, vrrp_rt_priority, …: read before the LVS task
        // takes the configuration, applied once the subsystems run.
        let scheduling = Scheduling::start();
        let mut sched_settings = sched_settings_of(&loaded.config, options.subsystems);
        // The checkers report every probe for `kad status` on one channel, across reloads.
        let (checker_report, checker_report_rx) = status::report::checker_channel();
        // The checkers' plan is built before the LVS task takes the configuration.
        let checker_set = with_lvs
            .then(|| CheckerSet::new(&loaded.config).reporting(checker_report.clone()));
        let (control, spec) = if vrrp {
            let control = AddressControl::connect()?;
            let spec = runtime::runtime_spec(&loaded.config, &control).await?;
            if spec.instances.is_empty() {
                tracing::warn!("no vrrp_instance configured; waiting for a signal");
            }
            (Some(control), Some(spec))
        } else {
            (None, None)
        };
        // keepalived.conf bfd_instance: the sessions run on a thread of their own, started
        // before the instances that track them.
        let bfd = start_bfd(&loaded.config, options.no_bfd);
        let bfd_statuses = bfd.as_ref().map(bfd::BfdTask::statuses);
        // keepalived.conf lvs_sync_daemon: the IPVS sync daemon follows a VRRP instance.
        let (states, sync) = if vrrp {
            let (states, state_rx) = mpsc::unbounded_channel();
            (Some(states), Some(lvs_sync::spawn(&loaded.config, state_rx)))
        } else {
            (None, None)
        };
        let sync_commands = sync.as_ref().map(|handle| handle.commands.clone());
        // Each task has what it needs: the LVS task takes the daemon's configuration
        // itself, not a copy (one copy is about 1.5 KB per real server).
        let lvs = with_lvs.then(|| lvs::task::spawn(loaded.config));
        let lvs_commands = lvs.as_ref().map(|handle| handle.commands.clone());
        // The health checkers feed the LVS task; a reload replaces them, each real server
        // keeping its state.
        let lvs_health = lvs.as_ref().map(|handle| handle.health.clone());
        // keepalived.conf ha_suspend: the host's addresses, followed once a configuration
        // needs them.
        let mut local_addresses = None;
        let checker_set = match checker_set {
            Some(set) => Some(with_local_addresses(set, &mut local_addresses).await),
            None => None,
        };
        // keepalived.conf BFD_CHECK: the checkers follow the BFD sessions, across reloads.
        let checker_bfd = bfd_statuses.clone();
        let with_bfd = move |set: CheckerSet| match &checker_bfd {
            Some(sessions) => set.following_bfd(sessions.clone()),
            None => set,
        };
        let mut checkers = checker_set
            .zip(lvs_health.as_ref())
            .map(|(set, health)| with_bfd(set).start(health.clone()));
        // What starting left behind (the model the LVS task reduced, first reports) goes
        // back to the kernel.
        crate::heap::release_freed_after_settling();
        let (publisher, status) = status::status_channel();
        let status = match &lvs {
            Some(handle) => status.with_balancer(status::balancer::Sources {
                lvs: handle.report.clone(),
                checkers: checker_report_rx,
            }),
            None => status,
        };
        let status = match &bfd_statuses {
            Some(sessions) => status.with_bfd(sessions.clone()),
            None => status,
        };
        let _readers = ops::server::Readers::start(
            ops::server::Listen {
                control_socket: options
                    .control_socket
                    .clone()
                    .unwrap_or_else(|| ops::control::default_path(options.config_id.as_deref())),
                metrics: options.metrics_listen,
            },
            status.clone(),
        )?;
        let _ready = match (&spec, service_manager::enabled()) {
            (_, false) => None,
            (Some(spec), true) => Some(Task(tokio::spawn(notify_ready_when_running(
                status.clone(),
                spec.instances.len(),
            )))),
            (None, true) => {
                service_manager::ready("health checkers and IPVS running");
                None
            }
        };
        // keepalived applies them at the end of starting its VRRP (or checker) process:
        // here once the protocol loop runs, so that loading XDP and opening sockets do
        // not count against RLIMIT_RTTIME.
        let _sched_start = Task(tokio::spawn({
            let (scheduling, settings, status) =
                (scheduling.clone(), sched_settings.clone(), status.clone());
            let vrrp = spec.is_some();
            async move {
                if vrrp {
                    vrrp_running(&status).await;
                }
                scheduling.apply_at_start(&settings);
            }
        }));
        let bfd_reload = bfd.as_ref().and_then(bfd::BfdTask::reloader);
        let (commands, mut controls) = mpsc::channel(4);
        let run_options = options.run;
        let options = options.clone();
        let signals = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = terminate.recv() => break,
                    _ = interrupt.recv() => break,
                    _ = data.recv() => write_dump(Dump::Data, &dump_names, &status).await,
                    _ = stats.recv() => write_dump(Dump::Stats, &dump_names, &status).await,
                    _ = json.recv() => write_dump(Dump::Json, &dump_names, &status).await,
                    _ = hangup.recv() => {
                        tracing::info!("SIGHUP: reloading {}", options.config.display());
                        service_manager::reloading();
                        // Standard scheduling while reloading, the configuration's
                        // again after it (keepalived's reset_process_priorities).
                        scheduling.standard();
                        'reload: {
                            let loaded = match load(&options) {
                                Ok(loaded) if pid_files::instance_changed(&loaded.config.global, instance_name.as_deref()) => {
                                    tracing::error!(
                                        started = instance_name.as_deref().unwrap_or(""),
                                        reloaded = pid_files::instance_name(&loaded.config.global).unwrap_or(""),
                                        "cannot change instance name at a reload - please restart kad; reload refused, running configuration kept"
                                    );
                                    service_manager::ready("reload refused, running configuration kept");
                                    break 'reload;
                                }
                                Ok(loaded) => {
                                    apply_umask(&loaded.config, options.umask);
                                    dump_names = ops::dump::DumpNames::of(&loaded.config.global);
                                    if let Ok(mut slot) = shutdown_slot.lock() {
                                        *slot = start_stop::shutdown(&loaded.config.global);
                                    }
                                    crate::heap::release_freed_after_settling();
                                    loaded
                                }
                                Err(err) => {
                                    tracing::error!("reload refused, running configuration kept: {err:#}");
                                    service_manager::ready("reload refused, running configuration kept");
                                    break 'reload;
                                }
                            };
                            sched_settings = sched_settings_of(&loaded.config, options.subsystems);
                            if let Some(lvs) = &lvs_commands {
                                let _ = lvs.send(LvsCommand::Reload(Box::new(loaded.config.clone()))).await;
                            }
                            if let Some(bfd) = &bfd_reload {
                                bfd.reload(bfd::sessions(&loaded.config), bfd_scheduling(&loaded.config));
                            }
                            if let Some(sync) = &sync_commands {
                                let _ = sync.send(SyncCommand::Reload(Box::new(loaded.config.clone()))).await;
                            }
                            if let (Some(old), Some(health)) = (checkers.take(), &lvs_health) {
                                let set = CheckerSet::new(&loaded.config)
                                    .reporting(checker_report.clone());
                                let set = with_local_addresses(set, &mut local_addresses).await;
                                checkers = Some(with_bfd(set).replace(old, health.clone()));
                            }
                            let Some(control) = &control else {
                                service_manager::ready("reloaded");
                                break 'reload;
                            };
                            match runtime::runtime_spec(&loaded.config, control).await {
                                Ok(spec) => {
                                    let count = spec.instances.len();
                                    if commands.send(Control::Reload(Box::new(spec))).await.is_err() {
                                        return;
                                    }
                                    // The loop has taken the reload once it answers.
                                    let _ = status.fresh_vrrp(Duration::from_secs(1)).await;
                                    service_manager::ready(&format!("reloaded: {count} VRRP instances"));
                                }
                                Err(err) => {
                                    tracing::error!("reload refused, running configuration kept: {err:#}");
                                    service_manager::ready("reload refused, running configuration kept");
                                }
                            }
                        }
                        scheduling.apply(&sched_settings);
                    }
                }
            }
            tracing::info!("stopping");
            service_manager::stopping();
            let _ = commands.send(Control::Stop).await;
        });
        match (spec, lvs) {
            (Some(spec), lvs) => {
                let observers = runtime::Observers {
                    status: Some(publisher),
                    states,
                    bfd: bfd_statuses,
                    bfd_xdp: bfd.as_ref().and_then(bfd::BfdTask::xdp_link),
                };
                let result = runtime::run_observed(spec, run_options, controls, observers).await;
                signals.abort();
                // keepalived's BFD process sends AdminDown at SIGTERM; after the instances
                // stopped, so that none goes FAULT on the way out.
                if let Some(bfd) = bfd {
                    bfd.stop();
                }
                if let Some(sync) = sync {
                    sync.stop().await;
                }
                result?;
                // Beside VRRP, an LVS side that cannot run was logged and does not fail
                // the daemon, as keepalived's VRRP process outlives its checker. (Without
                // IPVS it runs on: checkers reported, nothing installed; see
                // `lvs::without_ipvs`.)
                if let Some(handle) = lvs {
                    let _ = handle.stop().await;
                }
                Ok(())
            }
            // -C: no VRRP runtime; wait for the stop, or for the LVS task to fail (a
            // kernel without IPVS does not make it fail).
            (None, Some(mut handle)) => {
                drop(publisher);
                let ended = tokio::select! {
                    () = wait_for_stop(&mut controls) => None,
                    result = &mut handle.task => Some(result),
                };
                signals.abort();
                match ended {
                    None => handle.stop().await.context("LVS"),
                    Some(Ok(result)) => result.context("LVS"),
                    Some(Err(err)) => bail!("LVS task: {err}"),
                }
            }
            (None, None) => Ok(()),
        }
    });
    let shutdown = shutdown_script.lock().ok().and_then(|slot| slot.clone());
    if let Some(shutdown) = shutdown {
        let _ = runtime.block_on(start_stop::run(&shutdown));
    }
    served
}

/// keepalived.conf `ha_suspend`: gives `set` the host's addresses when one of its checkers
/// depends on them, starting to follow them (in `watch`, kept across reloads) the first
/// time. When they cannot be followed, the error is logged and those checkers run as if
/// without `ha_suspend`.
async fn with_local_addresses(
    set: CheckerSet,
    watch: &mut Option<crate::check::suspend::LocalAddresses>,
) -> CheckerSet {
    if !set.uses_ha_suspend() {
        return set;
    }
    if watch.is_none() {
        match crate::net::local_addresses::watch().await {
            Ok(addresses) => *watch = Some(addresses),
            Err(err) => {
                tracing::error!(error = %err, "ha_suspend: cannot follow the host's addresses; those checkers run unsuspended");
            }
        }
    }
    match watch {
        Some(addresses) => set.suspending(addresses.clone()),
        None => set,
    }
}

/// keepalived.conf `bfd_instance`: starts the BFD thread when sessions are configured
/// (and `-B` does not forbid it). A failure is logged: tracked BFD instances stay down.
fn start_bfd(config: &config::model::Config, no_bfd: bool) -> Option<bfd::BfdTask> {
    let sessions = bfd::sessions(config);
    if sessions.is_empty() {
        return None;
    }
    if no_bfd {
        tracing::info!("-B/--no_bfd: BFD instances not started; tracked BFD instances stay down");
        return None;
    }
    match bfd::BfdTask::start(sessions, bfd_scheduling(config)) {
        Ok(task) => Some(task),
        Err(err) => {
            tracing::error!(error = %err, "BFD not started; tracked BFD instances stay down");
            None
        }
    }
}

/// keepalived.conf `bfd_priority`, `bfd_rt_priority`, `bfd_cpu_affinity`, `bfd_no_swap`: the
/// BFD thread's scheduling (a value kad cannot use is a warning, as for `vrrp_*`).
fn bfd_scheduling(config: &config::model::Config) -> sched::Settings {
    let (settings, errors) =
        sched::Settings::from_config(&config.global, sched::Role::Bfd, sched::online_cpus());
    for err in errors {
        tracing::warn!("{err}");
    }
    settings
}

/// Waits for the signal task's stop command.
async fn wait_for_stop(controls: &mut mpsc::Receiver<Control>) {
    while let Some(command) = controls.recv().await {
        if matches!(command, Control::Stop) {
            break;
        }
    }
}

/// A spawned task, aborted when dropped.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends sd_notify `READY=1` once the protocol loop runs.
async fn notify_ready_when_running(status: StatusHandle, instances: usize) {
    vrrp_running(&status).await;
    service_manager::ready(&format!("{instances} VRRP instances running"));
}

/// Returns once the protocol loop runs: its first published status snapshot comes after
/// every instance has started.
async fn vrrp_running(status: &StatusHandle) {
    let initial = status.latest_vrrp();
    loop {
        let snapshot = status.fresh_vrrp(Duration::from_secs(1)).await;
        if !Arc::ptr_eq(&initial, &snapshot) {
            break;
        }
    }
}

/// The scheduling keywords that apply to kad running `subsystems` on `config`: the
/// checker process's (`checker_*`) when kad runs only checkers (`-C`, or a configuration
/// with virtual servers and no VRRP instance, where keepalived starts no VRRP process),
/// else the VRRP process's (`vrrp_*`). A value kad cannot use is logged and left out.
fn sched_settings_of(config: &config::model::Config, subsystems: Subsystems) -> sched::Settings {
    let role = match subsystems {
        Subsystems::CheckersOnly => sched::Role::Checker,
        Subsystems::All
            if config.vrrp_instances.is_empty() && !config.virtual_servers.is_empty() =>
        {
            sched::Role::Checker
        }
        Subsystems::All | Subsystems::VrrpOnly => sched::Role::Vrrp,
    };
    let (settings, errors) =
        sched::Settings::from_config(&config.global, role, sched::online_cpus());
    for err in errors {
        tracing::warn!(error = %err, "process scheduling keyword not applied");
    }
    settings
}

/// Writes a signal dump from a fresh snapshot, on tokio's blocking pool: file IO in a
/// folder anyone can write to never runs on the protocol loop's thread.
async fn write_dump(dump: Dump, names: &ops::dump::DumpNames, status: &StatusHandle) {
    let snapshot = status.fresh(Duration::from_millis(100)).await;
    let dir = ops::dump::dump_dir();
    let name = names.file_name(dump);
    let written = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || ops::dump::write_named(dump, &snapshot, &dir, &name))
            .await
    };
    match written {
        Ok(Ok(path)) => tracing::info!(path = %path.display(), "status dump written"),
        Ok(Err(err)) => {
            tracing::error!(dir = %dir.display(), file = dump.file_name(), error = %err, "status dump failed")
        }
        Err(err) => {
            tracing::error!(file = dump.file_name(), error = %err, "status dump task failed")
        }
    }
}

/// Whether keepalived would start its VRRP process for `config` (its `have_vrrp_config`:
/// a vrrp_instance or static addresses, routes or rules).
fn has_vrrp_config(config: &config::model::Config) -> bool {
    !config.vrrp_instances.is_empty()
        || !config.static_ipaddress.is_empty()
        || !config.static_routes.is_empty()
        || !config.static_rules.is_empty()
}

/// Loads and checks the configuration, logging every diagnostic.
fn load(options: &DaemonOptions) -> Result<config::Loaded> {
    let mut load_options = host_checks::load_options();
    if let Some(id) = &options.config_id {
        load_options.config_id = id.clone();
    }
    let loaded = host_checks::load(&options.config, &load_options)
        .with_context(|| format!("reading {}", options.config.display()))?;
    for diagnostic in &loaded.diagnostics {
        tracing::warn!("{diagnostic}");
    }
    if loaded.cannot_run() {
        bail!("{}: the configuration cannot run", options.config.display());
    }
    // The loader's syntax tree is gone: its pages go back to the kernel.
    crate::heap::release_freed();
    Ok(loaded)
}

/// `-u MASK`, else keepalived.conf `umask` (global_defs), else
/// [`config::global::DEFAULT_UMASK`]: the process umask, for what kad and the scripts it
/// runs create.
fn apply_umask(config: &config::model::Config, command_line: Option<u32>) {
    let mask = command_line
        .or(config.global.umask)
        .unwrap_or(config::global::DEFAULT_UMASK);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    tracing::debug!(umask = format!("0{mask:03o}"), "process umask set");
}

/// keepalived.conf global `random_seed N`: seeds the random numbers kad draws on its
/// thread (the checkers' first-probe spread, DNS, ICMP and UDP probe ids and payloads), so
/// that runs with one seed draw the same numbers, as keepalived seeds `random()` with it.
fn seed_randomness(global: &config::model::GlobalDefs) {
    let seed = global
        .other
        .get("random_seed")
        .and_then(|words| words.first())
        .and_then(|word| config::keywords::parse_int(word, 0, i64::from(u32::MAX)).ok())
        .and_then(|seed| u64::try_from(seed).ok());
    if let Some(seed) = seed {
        fastrand::seed(seed);
        tracing::debug!(seed, "random numbers seeded (random_seed)");
    }
}

/// One VRRP daemon per configuration: the main configuration file is locked (`flock`) for
/// the daemon's life, so a second kad running VRRP on the same file refuses to run, with or
/// whatever pid files each is given (keepalived refuses a second daemon only through its
/// pid files). `kad -t` and `kad -C` take no lock.
struct ConfigLock {
    _file: std::fs::File,
}

impl ConfigLock {
    fn take(path: &Path) -> Result<Self> {
        use std::os::{fd::AsRawFd as _, linux::fs::MetadataExt as _};
        let file = std::fs::File::open(path)
            .with_context(|| format!("opening {} to lock it", path.display()))?;
        // SAFETY: flock(2) on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Self { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
        let holder = file
            .metadata()
            .ok()
            .and_then(|meta| lock_holder(meta.st_ino()))
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string());
        bail!(
            "kad is already running on configuration {}: held by pid {holder}",
            path.display()
        )
    }
}

/// The pid holding a `flock` on the file with inode `inode`, from `/proc/locks`
/// (`N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END`).
fn lock_holder(inode: u64) -> Option<u32> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (kind, pid, place) = (words.get(1)?, words.get(4)?, words.get(5)?);
        let held = place.rsplit(':').next()?.parse::<u64>().ok()?;
        (*kind == "FLOCK" && held == inode).then(|| pid.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_seed_makes_the_draws_repeat() {
        let mut global = config::model::GlobalDefs::default();
        global
            .other
            .insert("random_seed".to_owned(), vec!["4242".to_owned()]);
        seed_randomness(&global);
        let first: Vec<u64> = (0..4).map(|_| fastrand::u64(..)).collect();
        seed_randomness(&global);
        let again: Vec<u64> = (0..4).map(|_| fastrand::u64(..)).collect();
        assert_eq!(first, again);
        global
            .other
            .insert("random_seed".to_owned(), vec!["4243".to_owned()]);
        seed_randomness(&global);
        let other: Vec<u64> = (0..4).map(|_| fastrand::u64(..)).collect();
        assert_ne!(first, other, "another seed, other numbers");
    }
}
