//! Command-line interface. Flags follow keepalived's where keepalived has one.

use std::{io::Write as _, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use kad::xdp::{LoadOptions, XdpDataplane};

/// keepalived rebuilt in Rust, with an XDP dataplane.
#[derive(Debug, Parser)]
#[command(name = "kad", version, about, long_about = None, disable_version_flag = true)]
pub struct Args {
    /// Print the version and exit (keepalived: -v, --version).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,

    /// Leave the virtual addresses, routes and rules in place when kad stops, and send no
    /// priority-0 advert (keepalived: -V, --dont-release-vrrp).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,

    /// Detailed log messages, including the XDP program's own (keepalived: -D, --log-detail).
    #[arg(short = 'D', long = "log-detail", global = true)]
    pub log_detail: bool,

    /// Use the specified configuration file (keepalived: -f, --use-file).
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<PathBuf>,

    /// Check the configuration and exit: 0 ok, 2 a keyword without the value keepalived
    /// stops at, 4 cannot run, 5 errors, 6 scripts without script security; the report
    /// goes to stderr, or to FILE (keepalived: -t, --config-test).
    #[arg(
        short = 't',
        long = "config-test",
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub config_test: Option<String>,

    /// Match `@ID` configuration lines against ID (default: the host name) (keepalived: -i).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,

    /// Print the resolved configuration, as text or as JSON (`--dump-config=json`).
    #[arg(
        long = "dump-config",
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text",
        value_parser = ["text", "json"]
    )]
    pub dump_config: Option<String>,

    /// Stay in the foreground (keepalived: -n, --dont-fork). kad never forks: accepted so
    /// that keepalived command lines and service files work unchanged.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,

    /// Log to the console (keepalived: -l, --log-console). kad always logs to stderr too.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,

    /// Log to syslog with facility LOG_LOCAL0..LOG_LOCAL7 instead of LOG_DAEMON
    /// (keepalived: -S, --log-facility).
    #[arg(short = 'S', long = "log-facility", value_name = "0-7",
          value_parser = clap::value_parser!(u8).range(0..=7))]
    pub log_facility: Option<u8>,

    /// Do not log to syslog (keepalived: -G, --no-syslog).
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,

    /// umask for the files kad and its scripts create, in numeric form (`022`, `0x12`);
    /// overrides global_defs `umask` (keepalived: -u, --umask).
    #[arg(short = 'u', long = "umask", value_name = "MASK", value_parser = parse_umask)]
    pub umask: Option<u32>,

    /// keepalived's -B, --no_bfd: do not run the BFD sessions (`bfd_instance`); tracked BFD
    /// instances then stay down.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,

    /// keepalived's -R, --dont-respawn: accepted, nothing to do (kad is one process and
    /// respawns nothing; a service manager restarts it).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,

    /// Run the VRRP subsystem only (keepalived: -P, --vrrp).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,

    /// Run the health-checker and IPVS subsystem only (keepalived: -C, --check).
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,

    /// Write the process id to FILE (keepalived: -p, --pid). Default /run/keepalived.pid, or
    /// under /run/keepalived/ with keepalived.conf `instance` or `use_pid_dir`.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,

    /// keepalived's VRRP child pid file (-r, --vrrp_pid; default /run/vrrp.pid): kad is one
    /// process and writes its own pid here too while it runs VRRP.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid_file: Option<PathBuf>,

    /// keepalived's checker child pid file (-c, --checkers_pid; default /run/checkers.pid):
    /// kad writes its own pid here too while it runs virtual servers' checkers.
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid_file: Option<PathBuf>,

    /// Receive adverts on raw sockets only, without kad's XDP program (by default XDP is
    /// used where it loads and attaches, with raw sockets as the fallback).
    #[arg(long = "no-xdp")]
    pub no_xdp: bool,

    /// The daemon's control socket, which `kad status` asks (default /run/kad/kad.sock, or
    /// /run/kad/kad-ID.sock with `-i ID`). Created with mode 0600.
    #[arg(long = "control-socket", value_name = "PATH", global = true)]
    pub control_socket: Option<PathBuf>,

    /// Serve Prometheus metrics over HTTP at ADDR (e.g. 127.0.0.1:9650), path /metrics.
    /// Off by default.
    #[arg(long = "metrics-listen", value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Print the number of the signal that asks kad for NAME (STOP, RELOAD, DATA, STATS,
    /// JSON) and exit (keepalived: --signum).
    #[arg(long = "signum", value_name = "NAME")]
    pub signum: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Tools beside the daemon.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load kad's XDP program into this kernel, run it on a built-in VRRP advert with
    /// BPF_PROG_TEST_RUN, and report whether the XDP dataplane can work here.
    XdpProbe,
    /// Show the running daemon's instances, sync groups and counters (asks its control
    /// socket).
    Status {
        /// Print the status as JSON (described by docs/status.schema.json).
        #[arg(long)]
        json: bool,
    },
    /// Print the MD5 digest of a web page, as HTTP_GET/SSL_GET `digest` lines want it
    /// (keepalived's `genhash`).
    Genhash(GenhashArgs),
}

/// `kad genhash` (keepalived's genhash flags).
#[derive(Debug, clap::Args)]
pub struct GenhashArgs {
    /// The server's address.
    #[arg(short = 's', long = "server")]
    pub server: std::net::IpAddr,
    /// The server's port (default 80, 443 with --use-ssl).
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// The url path to fetch.
    #[arg(short = 'u', long = "url")]
    pub url: String,
    /// Fetch over TLS (SSL_GET).
    #[arg(short = 'S', long = "use-ssl")]
    pub ssl: bool,
    /// The Host header to send (and the TLS server name).
    #[arg(short = 'V', long = "use-virtualhost")]
    pub virtualhost: Option<String>,
    /// Give up after this many seconds.
    #[arg(short = 't', long = "timeout", default_value_t = 5.0)]
    pub timeout: f64,
    /// Also print the status code and body length.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

pub fn run(args: Args) -> ExitCode {
    if let Some(name) = &args.signum {
        return match kad::ops::signum::signum(name) {
            Some(number) => {
                println!("{number}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "kad: unknown signal function {name:?} (STOP, RELOAD, DATA, STATS, JSON)"
                );
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Status { json }) = &args.command {
        return status(&args, *json);
    }
    if args.config_test.is_some() || args.dump_config.is_some() {
        return config_check(&args);
    }
    init_tracing(&args);
    match args.command {
        Some(Command::XdpProbe) => xdp_probe(args.log_detail),
        Some(Command::Status { json }) => status(&args, json),
        Some(Command::Genhash(ref genhash_args)) => genhash(genhash_args),
        None => kad::daemon::run(&kad::daemon::DaemonOptions {
            config: args
                .use_file
                .clone()
                .unwrap_or_else(|| PathBuf::from(kad::config::DEFAULT_CONFIG_FILE)),
            config_id: args.config_id.clone(),
            pid_files: kad::pid_files::PidArgs {
                main: args.pid_file.clone(),
                vrrp: args.vrrp_pid_file.clone(),
                checkers: args.checkers_pid_file.clone(),
            },
            run: kad::runtime::RunOptions {
                receive: if args.no_xdp {
                    kad::runtime::ReceivePath::RawSockets
                } else {
                    kad::runtime::ReceivePath::Xdp
                },
                xdp_debug_log: args.log_detail,
                dont_release_vrrp: args.dont_release_vrrp,
            },
            subsystems: match (args.vrrp_only, args.check_only) {
                (true, false) => kad::daemon::Subsystems::VrrpOnly,
                (false, true) => kad::daemon::Subsystems::CheckersOnly,
                // keepalived: neither, or both, runs everything.
                _ => kad::daemon::Subsystems::All,
            },
            control_socket: args.control_socket.clone(),
            metrics_listen: args.metrics_listen,
            no_bfd: args.no_bfd,
            umask: args.umask,
        }),
    }
}

/// Logs go to stderr and, unless `-G`, to syslog (`/dev/log`) like keepalived's.
fn init_tracing(args: &Args) {
    use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};

    let default = if args.log_detail { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let syslog = (!args.no_syslog && args.command.is_none()).then(|| {
        let facility = args
            .log_facility
            .and_then(kad::syslog::Facility::local)
            .unwrap_or(kad::syslog::Facility::DAEMON);
        tracing_subscriber::fmt::layer()
            .with_writer(kad::syslog::SyslogWriter::new(
                kad::syslog::DEV_LOG,
                facility,
                "kad",
            ))
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_level(false)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(console)
        .with(syslog)
        .init();
}

/// `kad status [--json]`: asks the daemon's control socket and prints the answer.
fn status(args: &Args, json: bool) -> ExitCode {
    let path = args
        .control_socket
        .clone()
        .unwrap_or_else(|| kad::ops::control::default_path(args.config_id.as_deref()));
    let answer = match kad::ops::control::query(&path, std::time::Duration::from_secs(5)) {
        Ok(answer) => answer,
        Err(err) => {
            eprintln!("kad: {err}");
            return ExitCode::FAILURE;
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&answer) {
        Ok(value) => value,
        Err(err) => {
            eprintln!("kad: the daemon's answer is not JSON ({err}): {answer}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(error) = value.get("error") {
        eprintln!("kad: the daemon refused: {error}");
        return ExitCode::FAILURE;
    }
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{answer}");
        return ExitCode::SUCCESS;
    }
    match serde_json::from_value::<kad::status::Status>(value) {
        Ok(status) => {
            let _ = write!(out, "{}", status.to_table());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kad: unexpected status from the daemon: {err}");
            ExitCode::FAILURE
        }
    }
}

fn xdp_probe(debug_log: bool) -> ExitCode {
    let mut dataplane = match XdpDataplane::load(LoadOptions { debug_log }) {
        Ok(dataplane) => dataplane,
        Err(err) => {
            eprintln!("kad: XDP dataplane unavailable: {err}");
            return ExitCode::FAILURE;
        }
    };
    let frame = kad::xdp::probe_frame();
    let verdict = match dataplane.test_run(&frame) {
        Ok(verdict) => verdict,
        Err(err) => {
            eprintln!("kad: BPF_PROG_TEST_RUN failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    dataplane.flush_log();
    match dataplane.counters() {
        Ok(counters) => {
            println!("kad_xdp loaded; probe advert verdict {verdict:?}; counters: {counters}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kad: reading XDP counters: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `kad genhash`: prints `MD5SUM = <digest>` like keepalived's genhash.
fn genhash(args: &GenhashArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kad genhash: {err}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = match std::time::Duration::try_from_secs_f64(args.timeout) {
        Ok(timeout) => timeout,
        Err(err) => {
            eprintln!("kad genhash: --timeout {}: {err}", args.timeout);
            return ExitCode::FAILURE;
        }
    };
    let request = kad::check::genhash::Request {
        server: std::net::SocketAddr::new(
            args.server,
            args.port.unwrap_or(if args.ssl { 443 } else { 80 }),
        ),
        path: args.url.clone(),
        ssl: args.ssl,
        virtualhost: args.virtualhost.clone(),
        timeout,
    };
    match runtime.block_on(kad::check::genhash::fetch(&request)) {
        Ok(page) => {
            if args.verbose {
                println!("HTTP status code = {}", page.status);
                println!("Body length = {}", page.body.len());
            }
            println!("MD5SUM = {}", page.md5_hex());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("kad genhash: {}{}: {err}", request.server, request.path);
            ExitCode::FAILURE
        }
    }
}

/// `-t/--config-test[=FILE]` and `--dump-config[=json]`: load, report, exit like keepalived.
fn config_check(args: &Args) -> ExitCode {
    use kad::config;
    let path = args
        .use_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_FILE));
    let config_id = args
        .config_id
        .clone()
        .unwrap_or_else(kad::host_checks::default_config_id);
    let options = config::LoadOptions::with_config_id(&config_id);
    let mut report: Box<dyn std::io::Write> = match args.config_test.as_deref() {
        Some(file) if !file.is_empty() => match std::fs::File::create(file) {
            Ok(f) => Box::new(f),
            Err(err) => {
                eprintln!("kad: cannot write the config-test report to {file}: {err}");
                Box::new(std::io::stderr())
            }
        },
        _ => Box::new(std::io::stderr()),
    };
    let loaded = match kad::host_checks::load(&path, &options) {
        Ok(loaded) => loaded,
        Err(err) => {
            let _ = writeln!(report, "fatal: {err}");
            return ExitCode::from(config::exit::CANNOT_RUN);
        }
    };
    for diagnostic in &loaded.diagnostics {
        let _ = writeln!(report, "{diagnostic}");
    }
    let dump = match args.dump_config.as_deref() {
        Some("json") => Some(config::dump::to_json(&loaded.config)),
        Some(_) => Some(config::dump::to_text(&loaded.config)),
        None => None,
    };
    if let Some(dump) = dump {
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout().lock(), "{dump}");
    }
    if args.config_test.is_some() {
        ExitCode::from(loaded.exit_status())
    } else {
        ExitCode::SUCCESS
    }
}

/// `-u MASK`: a number as keepalived reads it (octal with a leading 0, hex with 0x).
fn parse_umask(text: &str) -> Result<u32, String> {
    kad::config::global::parse_umask(&[text]).map_err(|err| err.to_string())
}
