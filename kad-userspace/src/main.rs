//! `kad`: the daemon and its command line (keepalived-compatible flags).

mod cli;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    cli::run(args)
}
