//! Command-line interface. Flags follow keepalived's where keepalived has one.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kad::xdp::{LoadOptions, XdpDataplane};

/// keepalived rebuilt in Rust, with an XDP dataplane.
#[derive(Debug, Parser)]
#[command(name = "kad", version, about, long_about = None)]
pub struct Args {
    /// Detailed log messages, including the XDP program's own (keepalived: -D, --log-detail).
    #[arg(short = 'D', long = "log-detail", global = true)]
    pub log_detail: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Tools beside the daemon.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load kad's XDP program into this kernel, run it on a built-in VRRP advert with
    /// BPF_PROG_TEST_RUN, and report whether the XDP dataplane can work here.
    XdpProbe,
}

pub fn run(args: Args) -> ExitCode {
    init_tracing(args.log_detail);
    match args.command {
        Some(Command::XdpProbe) => xdp_probe(args.log_detail),
        None => {
            eprintln!(
                "kad {}: the VRRP daemon is not part of this build yet; see `kad --help`",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::from(2)
        }
    }
}

fn init_tracing(detail: bool) {
    let default = if detail { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
