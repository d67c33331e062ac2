//! `cargo xtask bench failover`: the client-observed outage of kad and of keepalived 2.2.7 in
//! the same lab, trial by trial: two routers (priority 200 master, 100 backup) and a client
//! probing the VIP every 2 ms; the fault (master link down, or graceful stop by SIGTERM)
//! injected at a random point of the advert interval — at a planned offset after an advert
//! watched on the master's switch port, the same offsets for both daemons (paired trials,
//! see `kad_tests::bench::phase`).
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
    advert_watch::{AdvertWatch, LinkSwitch},
    bench::{
        Cell, Daemon, Fault, Report, Row, json, machine,
        phase::{self, Timing},
        plot, record, table, trials,
    },
    kad_bin,
    lab::{Host, Lab},
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

/// Runs one trial: the lab up, the master elected and the client reaching the VIP; then
/// waits for one of the master's adverts on its switch port, injects `fault` `offset` after
/// it, and returns the client's outage and how the fault fell.
fn trial(daemon: Daemon, row: Row, fault: Fault, offset: Duration) -> Result<(Duration, Timing)> {
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
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    let link = LinkSwitch::new(&lab.host("r1")?.ns, Host::IFACE)?;
    std::thread::sleep(Duration::from_millis(300));
    watch.drain();
    let patience = Duration::from_secs_f64(row.seconds * 3.0 + 1.0);
    let advert = loop {
        match watch.next(patience)? {
            Some((priority, at)) if priority > 0 => break at,
            Some(_) => continue,
            None => bail!("no advert from r1 within {patience:?}"),
        }
    };
    let delay = advert + offset.as_secs_f64() - unix_now();
    if delay > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(delay));
    }
    let at = unix_now();
    match fault {
        Fault::LinkDown => link.down()?,
        Fault::Sigterm => lab.daemon(master)?.signal(libc::SIGTERM)?,
    }
    // The last advert before the fault: the one waited for, unless the watch holds a later
    // one (an offset close to the interval and an early advert).
    let mut last = advert;
    while let Some((priority, stamp)) = watch.next(Duration::from_millis(2))? {
        if priority > 0 && stamp < at {
            last = last.max(stamp);
        }
    }
    let gap = prober.gap_since(at)?;
    Ok((gap.duration(), Timing::new(last, at, gap.end)))
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
    let mut cells = Vec::new();
    for row in rows {
        for (fault_index, fault) in Fault::ALL.into_iter().enumerate() {
            let mut cell = Cell::new(row, fault);
            let centis = (row.seconds * 100.0).round() as u32;
            let interval = Duration::from_secs_f64(row.seconds);
            cell.offsets = phase::offsets(
                phase::cell_seed(row.version, centis, fault_index),
                options.trials,
                interval,
            );
            for (index, offset) in cell.offsets.clone().into_iter().enumerate() {
                let n = index + 1;
                // Paired: both daemons get this offset; which goes first alternates.
                let order = if index % 2 == 0 {
                    [Daemon::Keepalived, Daemon::Kad]
                } else {
                    [Daemon::Kad, Daemon::Keepalived]
                };
                for daemon in order {
                    let begun = Instant::now();
                    let (outage, timing) =
                        trial(daemon, row, fault, offset).with_context(|| {
                            format!("{daemon:?}, {}, {}, trial {n}", row.label(), fault.label())
                        })?;
                    eprintln!(
                        "  {:<10} {:<10} {:<24} trial {n}/{}: {:>7} ms  offset {:>6} phase {:>6} \
                         advert→reachable {:>7} ms  ({:.1} s)",
                        format!("{daemon:?}").to_lowercase(),
                        row.label(),
                        fault.label(),
                        options.trials,
                        table::format_ms(outage),
                        table::format_ms(offset),
                        table::format_ms(timing.phase),
                        table::format_ms(timing.since_advert),
                        begun.elapsed().as_secs_f64()
                    );
                    cell.record(daemon, outage, timing);
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
