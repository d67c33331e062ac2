//! `cargo xtask`: kad's developer tasks. `setup` installs what the build needs, `run` builds and
//! runs `kad`, `test` runs every test, `fuzz` runs a fuzz target for a bounded time,
//! `compat` compares `kad -t` with `keepalived -t` on a folder of configurations.

mod bench;
mod cmd;
mod compat;
mod fuzz;
mod package;
mod run;
mod setup;
mod test;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "kad developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building and testing kad needs (apt packages, bpf-linker, the eBPF
    /// toolchain link, cargo-fuzz, cargo-deb). Idempotent: checks first, installs only what is missing.
    Setup,
    /// Set up, build kad, and run it. With no arguments: a demo. `cargo xtask run -- ARGS`
    /// passes ARGS to kad.
    Run {
        /// Build in release mode.
        #[arg(long)]
        release: bool,
        /// Arguments for kad.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Set up, then run every test: unit, integration (kernel, netns, real peers) and the
    /// bounded fuzz runs. Prints a summary line with the counts.
    Test {
        /// Seconds per fuzz target (0 skips fuzzing).
        #[arg(long, default_value_t = 30)]
        fuzz_seconds: u32,
    },
    /// Benchmarks: `failover` (kad vs keepalived, client-observed outage in a namespace lab),
    /// `criterion` (the codec, state machine and config parser micro-benchmarks), `xdp` (ns
    /// per packet of the XDP program under BPF_PROG_TEST_RUN), `scale` (255 instances at
    /// 0.01 s, CPU and memory beside keepalived), `flood` (a Backup flooded with hostile
    /// adverts) and `checkers` (10,000 TCP_CHECKed real servers, kad -C vs keepalived -C in a
    /// UML guest with real IPVS), `bfd` (false downs of 1 and 10 BFD sessions at 10 and 3 ms × 3
    /// over 30 s with a busy loop per core, keepalived ⇄ keepalived, kad ⇄ kad (XDP) and kad ⇄
    /// kad --no-xdp).
    /// `scale`/`flood`/`checkers`/`bfd` take `-- --quick` and `-- --record`; `bfd` also
    /// `--sessions 1,10 --intervals 10,3 --multiplier 3 --busy N --window S --nice N` (of
    /// the daemons and the loops; default -10).
    Bench {
        /// Which benchmark.
        #[arg(value_parser = ["failover", "criterion", "xdp", "scale", "flood", "checkers", "bfd"])]
        which: String,
        /// Arguments passed on. failover: `--trials N` (default 5, paired: kad and
        /// keepalived get the same fault phases), `--quick` (sub-second rows only), `--out
        /// DIR` (JSON and PNG; default target/bench), `--record` (write the table into
        /// BENCHMARKS.md), `--nice N` (of the bench, ping and daemons; default -10),
        /// `--logs DIR` (every trial's daemon logs).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// keepalived.conf compatibility: `kad -t` and `keepalived -t` on every file under DIR
    /// (recursively, sorted; a file another includes is checked with its includer), each in a
    /// throwaway network namespace with the interfaces the file names. Prints both exit
    /// codes, the lines each flags and `agree`/`DIFFER` per file, then `compat: N files, M
    /// agree`. Needs root.
    Compat {
        /// The folder of configuration files.
        dir: std::path::PathBuf,
        /// Arguments passed on: `--json FILE` (every result with both outputs), `--show` (both
        /// outputs under each file that does not agree), `--strict` (exit 1 when a file
        /// differs), `--timeout SECONDS` (per run; default 10).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Write docs/keywords.md (every keepalived.conf keyword kad parses, with its status)
    /// from the parser's keyword tables.
    Keywords,
    /// Write kad's man pages (generated from its command line) into
    /// `<target>/release/man/`.
    Man,
    /// Build the Debian package `kad` (release binary, man pages, unit, default config) with
    /// cargo-deb and print the .deb's path.
    Package,
    /// Run one fuzz target (or all) for a bounded time.
    Fuzz {
        /// Target name; all targets when omitted.
        target: Option<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
    },
}

fn main() -> std::process::ExitCode {
    // The error chain only: CI shows the tail of the log, and a backtrace of xtask's own
    // frames would push the failure's name out of it.
    match run_task(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_task(cli: Cli) -> Result<()> {
    match cli.task {
        Task::Setup => setup::run(),
        Task::Run { release, args } => run::run(release, &args),
        Task::Test { fuzz_seconds } => test::run(fuzz_seconds),
        Task::Bench { which, args } => bench::run(&which, &args),
        Task::Compat { dir, args } => compat::run(&dir, &args),
        Task::Keywords => package::keywords(),
        Task::Man => package::man(),
        Task::Package => package::package().map(|_| ()),
        Task::Fuzz { target, seconds } => {
            setup::run()?;
            fuzz::run(target.as_deref(), seconds)
        }
    }
}
