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
//!
//! With `--bfd MS`, kad's routers also run a BFD session to each other at MS ms × 3 and the
//! backup names it with the kad extension `bfd_master` (keepalived's configuration is
//! unchanged: plain VRRP); `--link-down` runs only the link-down fault.

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
        plot, record, settle, table, trials,
    },
    kad_bin,
    lab::{Host, Lab, ROUTERS_AND_CLIENT},
    privilege::is_root,
    probe::{Prober, STEADY_SPACING, unix_now},
    repo_root,
};

const VIP: &str = "10.77.0.100";
/// The client's probe interval (see `kad_tests::probe`).
const PROBE_INTERVAL: Duration = Duration::from_millis(2);
const USAGE: &str = "usage: kad-bench failover [--trials N] [--quick] [--out DIR] [--record] \
                     [--nice N] [--logs DIR] [--bfd MS] [--link-down]";
/// Default nice value of the benchmark and everything it starts (both daemons, ping): the
/// machine's cores are shared with builds, which would otherwise add their scheduling delays
/// to the outages.
const NICE: i32 = -10;

fn config(row: Row, priority: u8) -> String {
    format!(
        "vrrp_instance BENCH {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int {}\n  version {}\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n",
        row.advert, row.version
    )
}

/// `--bfd MS`: kad's configuration for `router` (r1 master, r2 backup): a BFD session to the
/// other router at `ms` × 3 before the instance, and on the backup `bfd_master` naming it.
fn bfd_config(row: Row, router: &str, priority: u8, ms: u32) -> String {
    let (me, peer) = if router == "r1" {
        ("10.77.0.1", "10.77.0.2")
    } else {
        ("10.77.0.2", "10.77.0.1")
    };
    let mut instance = config(row, priority);
    if router != "r1" {
        instance = instance.replace(
            "  virtual_ipaddress",
            "  bfd_master peer\n  virtual_ipaddress",
        );
    }
    format!(
        "bfd_instance peer {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx {ms}\n  \
         min_tx {ms}\n  multiplier 3\n}}\n{instance}"
    )
}

/// Where a trial's daemon logs go (`--logs DIR`): `DIR/NAME-r1.log` and `-r2.log`.
struct Logs<'a> {
    dir: Option<&'a std::path::Path>,
    name: String,
}

/// A lab ready for a fault: `daemon` on both routers, r1 master, the client reaching the
/// VIP, and r2 listening as backup for a whole Master_Down_Interval (see `bench::settle`).
/// Returns the lab and the indices of the master's and the backup's daemons.
fn settled_lab(daemon: Daemon, row: Row, bfd: Option<u32>) -> Result<(Lab, usize, usize)> {
    let mut lab = Lab::with_hosts("bf", ROUTERS_AND_CLIENT)?;
    let start = |lab: &mut Lab, router: &str, priority: u8| -> Result<usize> {
        match daemon {
            Daemon::Keepalived => lab.start_keepalived(router, &config(row, priority)),
            Daemon::Kad => {
                let conf = lab.dir().join(format!("{router}.conf"));
                let text = match bfd {
                    Some(ms) => bfd_config(row, router, priority, ms),
                    None => config(row, priority),
                };
                std::fs::write(&conf, text)?;
                let conf = conf.to_string_lossy().into_owned();
                lab.start(router, &kad_bin()?, &["-f", &conf])
            }
        }
    };
    let master = start(&mut lab, "r1", 200)?;
    let backup = start(&mut lab, "r2", 100)?;
    let settle = Duration::from_secs_f64(row.seconds * 5.0 + 2.0);
    lab.wait_for("r1 becomes master", settle + Duration::from_secs(5), || {
        lab.host("r1")?.has_address(VIP)
    })?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let settled = |lab: &Lab| -> Result<bool> {
        Ok(
            settle::last_state(&lab.daemon_log(backup)?) == Some("BACKUP")
                && lab.host("r1")?.has_address(VIP)?
                && !lab.host("r2")?.has_address(VIP)?,
        )
    };
    lab.wait_for(
        "r2 listens as backup",
        settle + Duration::from_secs(5),
        || settled(&lab),
    )?;
    std::thread::sleep(row.rfc_floor(Fault::LinkDown) + Duration::from_secs_f64(row.seconds));
    if !settled(&lab)? {
        bail!(
            "r2 did not stay backup for a master-down interval\n{}",
            lab.logs()
        );
    }
    Ok((lab, master, backup))
}

/// Waits for one of r1's adverts on its switch port and injects `fault` `offset` after it.
/// Returns the capture time of r1's last advert before the fault and the fault's time
/// (unix seconds).
fn inject_after_advert(
    lab: &mut Lab,
    master: usize,
    row: Row,
    fault: Fault,
    offset: Duration,
) -> Result<(f64, f64)> {
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    let link = LinkSwitch::new(&lab.host("r1")?.ns, Host::IFACE)?;
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
    Ok((last, at))
}

/// Runs one trial: a settled lab, the client probing, `fault` injected `offset` after one
/// of the master's adverts; returns the client's outage and how the fault fell.
fn trial(
    daemon: Daemon,
    row: Row,
    fault: Fault,
    offset: Duration,
    logs: &Logs<'_>,
    bfd: Option<u32>,
) -> Result<(Duration, Timing)> {
    let (mut lab, master, backup) = settled_lab(daemon, row, bfd)?;
    let prober = Prober::start(lab.host("c")?, VIP)?;
    std::thread::sleep(Duration::from_millis(300));
    let (last, at) = inject_after_advert(&mut lab, master, row, fault, offset)?;
    // The outage window lasts until the VIP has moved (a graceful stop hands over only after
    // the backup's Skew_Time) and the client then reaches it steadily.
    let moved = lab.wait_for("the VIP moves to r2", Duration::from_secs(15), || {
        Ok(lab.host("r2")?.has_address(VIP)? && !lab.host("r1")?.has_address(VIP)?)
    });
    let gap = moved.and_then(|_| prober.gap_between(at, unix_now()));
    if let Some(dir) = logs.dir {
        for (router, index) in [("r1", master), ("r2", backup)] {
            let path = dir.join(format!("{}-{router}.log", logs.name));
            std::fs::write(&path, lab.daemon_log(index)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let gap = gap?;
    // A client that had no reply for a while before the fault (a stalled ping on a busy
    // machine) would count that silence as outage: such a trial is run again.
    if at - gap.start > STEADY_SPACING {
        bail!(
            "the client's last reply before the fault came {:.1} ms before it",
            (at - gap.start) * 1000.0
        );
    }
    Ok((gap.duration(), Timing::new(last, at, gap.end)))
}

/// Attempts of a trial whose lab did not come up as planned (a busy machine can delay a
/// daemon's start past the settling time) before the run gives up.
const ATTEMPTS: usize = 3;

/// Runs `trial` until it succeeds, at most [`ATTEMPTS`] times, saying why on a retry.
fn retried<T>(what: &str, mut trial: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempt = 1;
    loop {
        match trial() {
            Ok(value) => return Ok(value),
            Err(err) if attempt < ATTEMPTS => {
                eprintln!("  {what}: attempt {attempt} failed ({err:#}); again");
                attempt += 1;
            }
            Err(err) => return Err(err.context(format!("{what}, {ATTEMPTS} attempts"))),
        }
    }
}

/// Command-line options.
struct Options {
    trials: usize,
    quick: bool,
    out: PathBuf,
    record: bool,
    nice: i32,
    logs: Option<PathBuf>,
    /// `--bfd MS`: kad with a BFD session at MS ms × 3 that the backup follows.
    bfd: Option<u32>,
    /// `--link-down`: only the link-down fault.
    link_down: bool,
}

fn options() -> Result<Options> {
    let mut options = Options {
        trials: 5,
        quick: false,
        out: repo_root().join("target").join("bench"),
        record: false,
        nice: NICE,
        logs: None,
        bfd: None,
        link_down: false,
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
            "--nice" => {
                options.nice = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (-20..=19).contains(n))
                    .with_context(|| format!("--nice needs a value in -20..=19 ({USAGE})"))?;
            }
            "--logs" => {
                options.logs = Some(
                    args.next()
                        .map(PathBuf::from)
                        .with_context(|| format!("--logs needs a folder ({USAGE})"))?,
                );
            }
            "--bfd" => {
                options.bfd = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| (1..=1000).contains(n))
                        .with_context(|| {
                            format!("--bfd needs milliseconds in 1..=1000 ({USAGE})")
                        })?,
                );
            }
            "--link-down" => options.link_down = true,
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
    if options.record && (options.bfd.is_some() || options.link_down) {
        bail!("--record writes the plain VRRP table: not with --bfd or --link-down");
    }
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    if let Some(dir) = &options.logs {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // SAFETY: setpriority(2) on this process; children (ping, the daemons) inherit it.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, options.nice) } != 0 {
        bail!(
            "setpriority({}): {}",
            options.nice,
            std::io::Error::last_os_error()
        );
    }
    let started = Instant::now();
    let mut machine = machine::Machine::now();
    let keepalived = keepalived_version();
    let rows = Row::selection(options.quick);
    let faults: &[Fault] = if options.link_down {
        &[Fault::LinkDown]
    } else {
        &Fault::ALL
    };
    if let Some(ms) = options.bfd {
        eprintln!("kad: + BFD {ms} ms x 3 between the routers, the backup follows it (bfd_master)");
    }
    eprintln!(
        "failover benchmark: {} trials per daemon and cell, {} cells, ping every {} ms, nice {}; \
         {}; {}",
        options.trials,
        rows.len() * faults.len(),
        PROBE_INTERVAL.as_millis(),
        options.nice,
        keepalived,
        machine.describe()
    );
    let mut cells = Vec::new();
    for row in rows {
        for (fault_index, fault) in faults.iter().copied().enumerate() {
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
                    let logs = Logs {
                        dir: options.logs.as_deref(),
                        name: format!("v{}-{}-{fault:?}-{daemon:?}-{n}", row.version, row.advert)
                            .to_lowercase(),
                    };
                    let what = format!("{daemon:?}, {}, {}, trial {n}", row.label(), fault.label());
                    let (outage, timing) = retried(&what, || {
                        trial(daemon, row, fault, offset, &logs, options.bfd)
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
        nice: options.nice,
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
    if let Some(ms) = options.bfd {
        println!(
            "kad: with BFD {ms} ms x 3 and bfd_master on the backup; keepalived: plain VRRP\n"
        );
    }
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
