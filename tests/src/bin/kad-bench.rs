//! `cargo xtask bench failover`: the client-observed outage of kad and of keepalived 2.2.7 in
//! the same lab, trial by trial: two routers (priority 200 master, 100 backup) and a client
//! probing the VIP every 2 ms; the fault (master link down, or graceful stop by SIGTERM)
//! injected at a random point of the advert interval.
//!
//! Prints a table of min / median / max per daemon with the ratio of the medians, writes
//! every trial to `failover.json` and a plot to `failover.png` (in `target/bench/`, or
//! `--out DIR`), and with `--record` replaces the failover section of BENCHMARKS.md.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    bench::{Cell, Daemon, Fault, Report, Row, json, machine, plot, record, table, trials},
    kad_bin,
    lab::Lab,
    privilege::is_root,
    probe::{Prober, unix_now},
    repo_root,
};

const VIP: &str = "10.77.0.100";
/// The client's probe interval (see `kad_tests::probe`).
const PROBE_INTERVAL: Duration = Duration::from_millis(2);
const USAGE: &str = "usage: kad-bench failover [--trials N] [--quick] [--out DIR] [--record]";

fn config(row: Row, priority: u8) -> String {
    format!(
        "vrrp_instance BENCH {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int {}\n  version {}\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n",
        row.advert, row.version
    )
}

/// A small deterministic generator for fault timing (xorshift64*).
struct Jitter(u64);

impl Jitter {
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn trial(daemon: Daemon, row: Row, fault: Fault, jitter: &mut Jitter) -> Result<Duration> {
    let mut lab = Lab::new("bf")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    lab.add_host("c", 10)?;
    let start = |lab: &mut Lab, router: &str, priority: u8| -> Result<usize> {
        match daemon {
            Daemon::Keepalived => lab.start_keepalived(router, &config(row, priority)),
            Daemon::Kad => {
                let conf = lab.dir().join(format!("{router}.conf"));
                std::fs::write(&conf, config(row, priority))?;
                let conf = conf.to_string_lossy().into_owned();
                lab.start(router, &kad_bin(), &["-f", &conf])
            }
        }
    };
    let master = start(&mut lab, "r1", 200)?;
    start(&mut lab, "r2", 100)?;
    let settle = Duration::from_secs_f64(row.seconds * 5.0 + 2.0);
    lab.wait_for("r1 becomes master", settle + Duration::from_secs(5), || {
        lab.host("r1")?.has_address(VIP)
    })?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let prober = Prober::start(lab.host("c")?, VIP)?;
    std::thread::sleep(Duration::from_secs_f64(
        0.3 + row.seconds * jitter.fraction(),
    ));
    let at = unix_now();
    match fault {
        Fault::LinkDown => lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?,
        Fault::Sigterm => lab.daemon(master)?.signal(libc::SIGTERM)?,
    }
    prober.outage_since(at)
}

/// Command-line options.
struct Options {
    trials: usize,
    quick: bool,
    out: PathBuf,
    record: bool,
}

fn options() -> Result<Options> {
    let mut options = Options {
        trials: 5,
        quick: false,
        out: repo_root().join("target").join("bench"),
        record: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--trials" => {
                options.trials = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--trials needs a positive number ({USAGE})"))?;
            }
            "--quick" => options.quick = true,
            "--out" => {
                options.out = args
                    .next()
                    .map(PathBuf::from)
                    .with_context(|| format!("--out needs a folder ({USAGE})"))?;
            }
            "--record" => options.record = true,
            "failover" => {}
            other => bail!("unknown argument {other:?} ({USAGE})"),
        }
    }
    Ok(options)
}

/// `keepalived --version`'s first line (it prints to stderr).
fn keepalived_version() -> String {
    Command::new("keepalived")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = [out.stderr, out.stdout].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .map(|line| line.trim().to_owned())
        })
        .unwrap_or_else(|| "keepalived (version unknown)".to_owned())
}

fn main() -> Result<()> {
    if !is_root() {
        bail!("the benchmark builds network namespaces: run it as root");
    }
    let options = options()?;
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let started = Instant::now();
    let mut machine = machine::Machine::now();
    let keepalived = keepalived_version();
    let rows = Row::selection(options.quick);
    eprintln!(
        "failover benchmark: {} trials per daemon and cell, {} cells, ping every {} ms; {}; {}",
        options.trials,
        rows.len() * Fault::ALL.len(),
        PROBE_INTERVAL.as_millis(),
        keepalived,
        machine.describe()
    );
    let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
    let mut cells = Vec::new();
    for row in rows {
        for fault in Fault::ALL {
            let mut cell = Cell::new(row, fault);
            for n in 1..=options.trials {
                for daemon in [Daemon::Keepalived, Daemon::Kad] {
                    let begun = Instant::now();
                    let outage = trial(daemon, row, fault, &mut jitter).with_context(|| {
                        format!("{daemon:?}, {}, {}, trial {n}", row.label(), fault.label())
                    })?;
                    eprintln!(
                        "  {:<10} {:<10} {:<24} trial {n}/{}: {:>7} ms  ({:.1} s)",
                        format!("{daemon:?}").to_lowercase(),
                        row.label(),
                        fault.label(),
                        options.trials,
                        table::format_ms(outage),
                        begun.elapsed().as_secs_f64()
                    );
                    cell.outages_mut(daemon).0.push(outage);
                }
            }
            cells.push(cell);
        }
    }
    machine.loadavg_end = machine::loadavg();
    let report = Report {
        trials: options.trials,
        quick: options.quick,
        probe_interval: PROBE_INTERVAL,
        keepalived_version: keepalived,
        machine,
        elapsed: started.elapsed(),
        cells,
    };

    println!(
        "\nfailover benchmark: client outage, {} per daemon and cell (ping every {} ms)\n",
        trials(report.trials),
        PROBE_INTERVAL.as_millis()
    );
    print!("{}", table::markdown(&report.cells, "keepalived"));
    let json_path = options.out.join("failover.json");
    json::write(&report, &json_path)?;
    println!("\nwrote {}", json_path.display());
    let png_path = options.out.join("failover.png");
    plot::draw(&report, &png_path)?;
    println!("wrote {}", png_path.display());
    if options.record {
        let path = repo_root().join("BENCHMARKS.md");
        record::record(&report, &path)?;
        println!("recorded the table in {}", path.display());
    }
    Ok(())
}
