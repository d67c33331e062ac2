//! `cargo xtask bench scale|flood`: kad's load figures beside keepalived 2.2.7's, same lab,
//! same run (issue 6).
//!
//! - `kad-load scale`: 255 VRRPv3 instances at advert_int 0.01 s on one interface; kad Master
//!   with keepalived Backup, then the reverse; kad with XDP and with `--no-xdp`. CPU (% of one
//!   core) and RSS of kad and of keepalived's VRRP process over a steady window, transitions in
//!   the window, VIPs held.
//! - `kad-load flood`: a keepalived Master at advert_int 0.1 s, a Backup (kad with XDP, kad on
//!   raw sockets, keepalived), and a generator flooding the Backup with lower-priority and
//!   invalid adverts as fast as it can.
//!
//! - `kad-load checkers`: 10,000 real servers with a TCP_CHECK each, `kad -C` then
//!   `keepalived -C` on the same keepalived.conf in a User-Mode Linux guest (real IPVS):
//!   checks per second the real servers saw, CPU and memory of each daemon, the IPVS table.
//!
//! - `kad-load bfd`: N BFD sessions (1, 10) between two routers at 10 ms and 3 ms × 3 for 30 s
//!   with a busy loop per core: false downs (keepalived ⇄ keepalived, kad ⇄ kad) (part
//!   `downs`); the client outage when a MASTER's tracked upstream BFD session dies, kad vs
//!   keepalived paired, at 10 and 3 ms × 3 and advert_int 0.1 and 0.01 s (part `outage`,
//!   `--trials N`); CPU per session for 1, 10, 100 sessions at 10 and 1 ms × 3 with no load
//!   (part `cpu`). `--parts downs,outage,cpu` picks (all by default).
//!
//! Prints a Markdown table, writes JSON to `<target>/bench/{scale,flood}.json`, and with
//! `--record` writes the table into BENCHMARKS.md between its markers.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    load::{
        KadReceive, bfd, bfd_cpu, bfd_outage,
        checkers::{self, CheckersSetup, Daemon},
        checkers_report,
        flood::{self, Backup, FloodSetup},
        flood_frames::Mix,
        report,
        scale::{self, ScaleSetup},
    },
    privilege::is_root,
    repo_root,
};

const USAGE: &str = "usage: kad-load scale|flood|checkers|bfd [--quick] [--record] [--window S] [--settle S] \
                     [--instances N] [--seconds S] [--threads N] [--advert-int S] [--nice N] [--receive xdp|raw] [--kad master|backup] [--mix both|lower|invalid] [--no-capture] [--backlog] [--delay-loop S[,S…]] [--rounds N] [--warmup S] [--virtual-servers N] [--per-virtual-server N] [--only kad|keepalived] [--sessions N[,N…]] [--intervals MS[,MS…]] [--multiplier N] [--busy N] [--parts downs,outage,cpu] [--trials N]";

struct Options {
    which: String,
    quick: bool,
    record: bool,
    window: Option<f64>,
    settle: Option<f64>,
    instances: u8,
    seconds: Option<f64>,
    threads: usize,
    advert_int: Option<String>,
    nice: Option<i32>,
    receive: Vec<KadReceive>,
    kad_master: Vec<bool>,
    mix: Mix,
    capture: bool,
    backlog: bool,
    delay_loops: Vec<u32>,
    rounds: Option<usize>,
    warmup: Option<f64>,
    virtual_servers: usize,
    per_virtual_server: usize,
    daemons: Vec<Daemon>,
    sessions: Vec<usize>,
    intervals: Vec<String>,
    multiplier: u8,
    busy: Option<usize>,
    parts: Vec<String>,
    trials: Option<usize>,
}

fn parse() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let which = args.next().context(USAGE)?;
    let mut options = Options {
        which,
        quick: false,
        record: false,
        window: None,
        settle: None,
        instances: 255,
        seconds: None,
        threads: 1,
        advert_int: None,
        nice: None,
        receive: vec![KadReceive::Xdp, KadReceive::RawSockets],
        kad_master: vec![true, false],
        mix: Mix::Both,
        capture: true,
        backlog: false,
        delay_loops: vec![1, 10],
        rounds: None,
        warmup: None,
        virtual_servers: 100,
        per_virtual_server: 100,
        daemons: vec![Daemon::Kad, Daemon::Keepalived],
        sessions: vec![1, 10],
        intervals: vec!["10".to_owned(), "3".to_owned()],
        multiplier: 3,
        busy: None,
        parts: vec!["downs".to_owned(), "outage".to_owned(), "cpu".to_owned()],
        trials: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--record" => options.record = true,
            "--no-capture" => options.capture = false,
            "--backlog" => options.backlog = true,
            "--window" => options.window = Some(value()?.parse()?),
            "--settle" => options.settle = Some(value()?.parse()?),
            "--instances" => options.instances = value()?.parse()?,
            "--seconds" => options.seconds = Some(value()?.parse()?),
            "--threads" => options.threads = value()?.parse()?,
            "--advert-int" => options.advert_int = Some(value()?),
            "--delay-loop" => {
                options.delay_loops = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--sessions" => {
                options.sessions = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--intervals" => options.intervals = value()?.split(',').map(str::to_owned).collect(),
            "--multiplier" => options.multiplier = value()?.parse()?,
            "--busy" => options.busy = Some(value()?.parse()?),
            "--parts" => {
                options.parts = value()?.split(',').map(str::to_owned).collect();
                if let Some(part) = options
                    .parts
                    .iter()
                    .find(|p| !["downs", "outage", "cpu"].contains(&p.as_str()))
                {
                    bail!("--parts: {part}? (downs, outage, cpu)");
                }
            }
            "--trials" => options.trials = Some(value()?.parse()?),
            "--rounds" => options.rounds = Some(value()?.parse()?),
            "--warmup" => options.warmup = Some(value()?.parse()?),
            "--virtual-servers" => options.virtual_servers = value()?.parse()?,
            "--per-virtual-server" => options.per_virtual_server = value()?.parse()?,
            "--only" => {
                options.daemons = match value()?.as_str() {
                    "kad" => vec![Daemon::Kad],
                    "keepalived" => vec![Daemon::Keepalived],
                    other => bail!("--only {other}: kad or keepalived"),
                }
            }
            "--nice" => options.nice = Some(value()?.parse()?),
            "--receive" => {
                options.receive = match value()?.as_str() {
                    "xdp" => vec![KadReceive::Xdp],
                    "raw" => vec![KadReceive::RawSockets],
                    other => bail!("--receive {other}: xdp or raw"),
                }
            }
            "--mix" => {
                options.mix = match value()?.as_str() {
                    "both" => Mix::Both,
                    "lower" => Mix::LowerPriority,
                    "invalid" => Mix::Invalid,
                    other => bail!("--mix {other}: both, lower or invalid"),
                }
            }
            "--kad" => {
                options.kad_master = match value()?.as_str() {
                    "master" => vec![true],
                    "backup" => vec![false],
                    other => bail!("--kad {other}: master or backup"),
                }
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// The arguments this run was given after the benchmark's name, but `--record`, as they
/// would follow `cargo xtask bench NAME`.
fn passed_args() -> String {
    let args: Vec<String> = std::env::args()
        .skip(2)
        .filter(|arg| arg != "--record")
        .collect();
    if args.is_empty() {
        String::new()
    } else {
        format!(" -- {}", args.join(" "))
    }
}

/// `<target>/bench`: `$CARGO_TARGET_DIR` or the workspace's `target`.
fn bench_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("bench")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn advert_int(options: &Options, default: &'static str) -> Result<&'static str> {
    match options.advert_int.as_deref() {
        None => Ok(default),
        Some("0.01") => Ok("0.01"),
        Some("0.1") => Ok("0.1"),
        Some("1") => Ok("1"),
        Some(other) => bail!("--advert-int {other}: choose 0.01, 0.1 or 1"),
    }
}

fn scale(options: &Options) -> Result<()> {
    let (settle, window) = if options.quick {
        (3.0, 5.0)
    } else {
        (10.0, 20.0)
    };
    let settle = Duration::from_secs_f64(options.settle.unwrap_or(settle));
    let window = Duration::from_secs_f64(options.window.unwrap_or(window));
    let advert_int = advert_int(options, "0.01")?;
    let load_before = load_average();
    let mut outcomes = Vec::new();
    for &receive in &options.receive {
        for &kad_master in &options.kad_master {
            let setup = ScaleSetup {
                instances: options.instances,
                advert_int,
                kad_master,
                receive,
                settle,
                window,
                nice: options.nice,
                capture: options.capture,
                napi_threads: !options.backlog,
            };
            eprintln!(
                "kad-load scale: {} instances at {advert_int} s, kad {} ({}), settle {settle:?}, window {window:?}",
                setup.instances,
                if kad_master { "master" } else { "backup" },
                receive.label()
            );
            outcomes.push(scale::run(&setup)?);
        }
    }
    let heading = format!(
        "{} VRRPv3 instances at advert_int {advert_int} s on one interface, kad and keepalived \
         2.2.7 as the two routers; {:.0} s window after {:.0} s settling; CPU in % of one core \
         (utime+stime from /proc, all threads), RSS at the window's end; {}; load average {} before, {} after.\n",
        options.instances,
        window.as_secs_f64(),
        settle.as_secs_f64(),
        if options.backlog {
            "veths deliver in the sender's context (`--backlog`: a daemon's CPU includes the \
             bridge's and its peer's receive work)"
        } else {
            "every veth end receives in its own NAPI thread (GRO on, TSO off, pfifo 4096), so a \
             daemon's CPU is its own work, as on a real link"
        },
        load_before,
        load_average()
    );
    let table = format!("{heading}\n{}", report::scale_table(&outcomes));
    println!("{table}");
    let json = bench_dir().join("scale.json");
    report::write_json(&json, &report::scale_json(&outcomes))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!("Command: `cargo xtask bench scale{}`.\n\n", passed_args());
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "scale",
            "Scale: 255 instances at 0.01 s (`cargo xtask bench scale`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    let flapped = outcomes
        .iter()
        .filter(|o| o.kad_transitions + o.keepalived_transitions > 0)
        .count();
    if flapped > 0 {
        eprintln!(
            "WARNING: {flapped} run(s) saw state transitions in the window: not a steady state \
             (see the Master's largest advert gap; kad_takeovers.spurious in the JSON)"
        );
    }
    Ok(())
}

fn flood(options: &Options) -> Result<()> {
    let seconds = options
        .seconds
        .unwrap_or(if options.quick { 3.0 } else { 10.0 });
    let settle = Duration::from_secs_f64(options.settle.unwrap_or(1.0));
    let advert_int = advert_int(options, "0.1")?;
    let load_before = load_average();
    let mut outcomes = Vec::new();
    let backups = options
        .receive
        .iter()
        .map(|receive| Backup::Kad(*receive))
        .chain([Backup::Keepalived]);
    for backup in backups {
        let setup = FloodSetup {
            backup,
            advert_int,
            settle,
            duration: Duration::from_secs_f64(seconds),
            threads: options.threads,
            mix: options.mix,
            nice: options.nice,
        };
        eprintln!(
            "kad-load flood: backup {} under a keepalived master at {advert_int} s, {seconds} s, {} generator thread(s)",
            backup.label(),
            setup.threads
        );
        outcomes.push(flood::run(&setup)?);
    }
    let heading = format!(
        "One VRRPv3 instance at advert_int {advert_int} s, keepalived 2.2.7 Master (priority \
         200), the Backup (priority 100) flooded for {seconds:.0} s from a third host ({} \
         AF_PACKET sendmmsg thread(s), as fast as they go): {}. CPU in % of one core over the \
         flood (utime+stime, all threads; XDP itself runs in softirq, shown machine-wide); \
         transitions during the flood and 0.5 s after; load average {} before, {} after.\n",
        options.threads,
        options.mix.description(),
        load_before,
        load_average()
    );
    let table = format!("{heading}\n{}", report::flood_table(&outcomes));
    println!("{table}");
    let json = bench_dir().join("flood.json");
    report::write_json(&json, &report::flood_json(&outcomes))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!("Command: `cargo xtask bench flood{}`.\n\n", passed_args());
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "flood",
            "Flood: a Backup under spoofed and invalid adverts (`cargo xtask bench flood`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    Ok(())
}

/// A binary built beside this one (`kad-tcp-sink`).
fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("this program's path")?;
    let path = me.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} missing (cargo build --release -p kad-tests --bin {name})",
            path.display()
        );
    }
    Ok(path)
}

fn uml_kernel() -> String {
    kad_tests::uml::kernel_version().unwrap_or_else(|_| "?".to_owned())
}

fn keepalived_version() -> String {
    std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            text.lines().next().map(str::to_owned)
        })
        .unwrap_or_else(|| "keepalived ?".to_owned())
}

fn checkers(options: &Options) -> Result<()> {
    let (warmup, window, rounds) = if options.quick {
        (5.0, 10.0, 1)
    } else {
        (10.0, 20.0, 3)
    };
    let warmup = Duration::from_secs_f64(options.warmup.unwrap_or(warmup));
    let window = Duration::from_secs_f64(options.window.unwrap_or(window));
    let rounds = options.rounds.unwrap_or(rounds);
    let kad = kad_tests::kad_bin()?;
    let sink = sibling("kad-tcp-sink")?;
    let mut machine = kad_tests::bench::machine::Machine::now();
    let started = std::time::Instant::now();
    let mut outcomes = Vec::new();
    for &delay_loop in &options.delay_loops {
        let setup = CheckersSetup {
            virtual_servers: options.virtual_servers,
            per_virtual_server: options.per_virtual_server,
            delay_loop,
            rounds,
            daemons: options.daemons.clone(),
            warmup,
            window,
            memory: "1G".to_owned(),
            open_files: 65_536,
            kad: kad.clone(),
            sink: sink.clone(),
        };
        eprintln!(
            "kad-load checkers: {} real servers ({} virtual servers), delay_loop {delay_loop} s, {rounds} round(s) of {:?} after {:?} warm-up",
            setup.servers(),
            setup.virtual_servers,
            window,
            warmup
        );
        let outcome = checkers::run(&setup)?;
        eprintln!("{}", checkers_report::table(std::slice::from_ref(&outcome)));
        outcomes.push(outcome);
    }
    let heading = format!(
        "{} real servers ({} TCP virtual servers × {}, rr, NAT), each with a TCP_CHECK \
         (connect_timeout 3), checked by `kad -C` and by `{}` `-C` from the same \
         keepalived.conf, one daemon at a time, in one User-Mode Linux guest (kernel {}, \
         `mem=1G`, one CPU, real IPVS; `ulimit -n` {} for both); real servers are addresses \
         127.1.x.y:{} served by one `kad-tcp-sink` in the guest, which counts the checks each \
         one gets. {} round(s) per daemon (order alternating), each a {:.0} s window {:.0} s \
         after the IPVS table held every real server; medians over rounds. CPU: utime+stime \
         from the guest's /proc (kad: its process; keepalived: parent + checker child), in % of \
         the guest's CPU; RSS summed likewise. Run {}, host {}; {:.0} s in all.\n",
        options.virtual_servers * options.per_virtual_server,
        options.virtual_servers,
        options.per_virtual_server,
        keepalived_version(),
        uml_kernel(),
        outcomes
            .first()
            .map_or_else(|| "?".to_owned(), |o| o.open_files.clone()),
        kad_tests::load::check_conf::PORT,
        rounds,
        window.as_secs_f64(),
        warmup.as_secs_f64(),
        machine.date,
        {
            machine.loadavg_end = kad_tests::bench::machine::loadavg();
            machine.describe()
        },
        started.elapsed().as_secs_f64(),
    );
    let table = format!("{heading}\n{}", checkers_report::table(&outcomes));
    println!("{table}");
    let json = bench_dir().join("checkers.json");
    report::write_json(&json, &checkers_report::json(&outcomes))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!(
            "Command: `cargo xtask bench checkers{}`.\n\n",
            passed_args()
        );
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "checkers",
            "Checkers at scale: 10,000 TCP_CHECKed real servers (`cargo xtask bench checkers`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    Ok(())
}

/// `kad-load bfd`: the parts `--parts` names (all by default), each recorded in its own
/// section of BENCHMARKS.md.
fn bfd(options: &Options) -> Result<()> {
    let wants = |part: &str| options.parts.iter().any(|p| p == part);
    if wants("downs") {
        bfd_downs(options)?;
    }
    if wants("outage") {
        bfd_outage(options)?;
    }
    if wants("cpu") {
        bfd_cpu(options)?;
    }
    Ok(())
}

/// Part `downs`: false downs of N sessions under busy loops, a row per (sessions, interval).
fn bfd_downs(options: &Options) -> Result<()> {
    let window =
        Duration::from_secs_f64(
            options
                .window
                .unwrap_or(if options.quick { 5.0 } else { 30.0 }),
        );
    // One busy loop per core saturates the machine.
    let busy = options.busy.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    // The daemons and the busy loops at one nice, above the machine's other jobs (as the
    // failover bench does), so that the loops are the load that counts.
    let nice = Some(options.nice.unwrap_or(-10));
    let load_before = load_average();
    let mut outcomes = Vec::new();
    for &sessions in &options.sessions {
        for interval in &options.intervals {
            for pair in [
                bfd::BfdPair::Keepalived,
                bfd::BfdPair::Kad,
                bfd::BfdPair::KadNoXdp,
            ] {
                let setup = bfd::BfdSetup {
                    pair,
                    sessions,
                    interval: interval.clone(),
                    multiplier: options.multiplier,
                    window,
                    busy_loops: busy,
                    nice,
                    napi_threads: false,
                };
                eprintln!(
                    "kad-load bfd: {} session(s) at {interval} ms × {}, {busy} busy loop(s), window {window:?}",
                    sessions, options.multiplier
                );
                let outcome = bfd::run(&setup)?;
                eprintln!("{}", bfd::table(std::slice::from_ref(&outcome)));
                outcomes.push(outcome);
            }
        }
    }
    let heading = format!(
        "BFD sessions between two routers on one bridge (keepalived 2.2.7's BFD process on \
         both, then kad on both: its BFD thread, sockets, no realtime priority), each on its \
         own address pair, Up and settled before a {:.0} s \
         window during which {busy} busy loop(s) (the machine has {} core(s)) spin at the \
         daemons' priority ({}). A false down is a Down transition whose local diagnostic is \
         \"Control Detection Time Expired\" on either router (both peers kept running); CPU in % of one \
         core (utime+stime from /proc); load average {} before, {} after.\n",
        window.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get),
        nice.map_or_else(|| "inherited nice".to_owned(), |n| format!("nice {n}")),
        load_before,
        load_average()
    );
    let table = format!("{heading}\n{}", bfd::table(&outcomes));
    println!("{table}");
    let json = bench_dir().join("bfd.json");
    report::write_json(&json, &bfd::to_json(&outcomes))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!("Command: `cargo xtask bench bfd{}`.\n\n", passed_args());
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "bfd",
            "BFD: false downs under load (`cargo xtask bench bfd`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    Ok(())
}

/// Part `outage`: the client outage when the MASTER's tracked upstream BFD session dies,
/// kad and keepalived paired trial by trial, per (BFD interval, advert_int) cell.
fn bfd_outage(options: &Options) -> Result<()> {
    let trials = options.trials.unwrap_or(if options.quick { 2 } else { 5 });
    let nice = options.nice.unwrap_or(-10);
    // SAFETY: setpriority(2) on this thread; the ping and the daemons it starts inherit it.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        bail!("setpriority({nice}): {}", std::io::Error::last_os_error());
    }
    let load_before = load_average();
    let mut cells = Vec::new();
    for interval in ["10", "3"] {
        for advert in ["0.1", "0.01"] {
            let setup = bfd_outage::OutageSetup {
                interval: interval.to_owned(),
                multiplier: options.multiplier,
                advert: advert.to_owned(),
            };
            eprintln!(
                "kad-load bfd outage: {}, {trials} trial(s) per daemon",
                setup.label()
            );
            cells.push(bfd_outage::run_cell(&setup, trials, Some(nice))?);
        }
    }
    let heading = format!(
        "r1 (MASTER, priority 200) tracks a BFD session to the gateway gw (`track_bfd`, weight \
         0); r2 (priority 100) is BACKUP; both routers run keepalived 2.2.7 (r1 with its BFD \
         process) or kad, the gateway runs keepalived's BFD process in both cases. The \
         gateway's BFD process is stopped (SIGSTOP); r1 goes FAULT and r2 takes the VIP. A \
         client pings the VIP every 2 ms. \"stop → backup answers\": from the SIGSTOP to the \
         client's first reply after the outage; \"client outage\": the longest gap between \
         replies (r1 removing the VIP → r2 answering). Floor: BFD detect time + r2's skew time \
         (the gateway's last packet comes up to one BFD interval before the stop, so a trial \
         can be that much under it). ms, min / **median** / max of {trials} trial(s) per \
         daemon, kad and keepalived alternating which goes first, a fresh lab per trial; \
         everything at nice {nice}; load average {load_before} before, {} after (the machine \
         is shared with other jobs: compare within a row).\n",
        load_average()
    );
    let table = format!("{heading}\n{}", bfd_outage::table(&cells));
    println!("{table}");
    let json = bench_dir().join("bfd-outage.json");
    report::write_json(&json, &bfd_outage::to_json(&cells))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!("Command: `cargo xtask bench bfd{}`.\n\n", passed_args());
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "bfd-outage",
            "BFD: failover when the MASTER's upstream BFD session dies (`cargo xtask bench bfd`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    Ok(())
}

/// Part `cpu`: CPU per session with no load, 1, 10 and 100 sessions at 10 and 1 ms × 3.
fn bfd_cpu(options: &Options) -> Result<()> {
    let window =
        Duration::from_secs_f64(
            options
                .window
                .unwrap_or(if options.quick { 5.0 } else { 10.0 }),
        );
    let sessions: &[usize] = if options.quick {
        &[1, 10]
    } else {
        &[1, 10, 100]
    };
    let nice = options.nice.unwrap_or(-10);
    let load_before = load_average();
    let mut outcomes = Vec::new();
    for &count in sessions {
        for interval in ["10", "1"] {
            for pair in [bfd::BfdPair::Keepalived, bfd::BfdPair::Kad] {
                let setup = bfd::BfdSetup {
                    pair,
                    sessions: count,
                    interval: interval.to_owned(),
                    multiplier: options.multiplier,
                    window,
                    busy_loops: 0,
                    nice: Some(nice),
                    // Both routers run the same daemon: the mean of the two is the
                    // per-router cost whichever side a veth charges the receive path to
                    // (NAPI threads at the default priority starved on this shared
                    // machine: sessions fell).
                    napi_threads: false,
                };
                eprintln!(
                    "kad-load bfd cpu: {} ({count} session(s) at {interval} ms × {}), window {window:?}",
                    pair.label(),
                    options.multiplier
                );
                let outcome = bfd::run(&setup)?;
                eprintln!("{}", bfd_cpu::table(std::slice::from_ref(&outcome)));
                outcomes.push(outcome);
            }
        }
    }
    let heading = format!(
        "N BFD sessions between two routers on one bridge (as in the false-downs table, no busy \
         loop), brought Up (\"Up at start / end\" says how many were: a row whose sessions did \
         not all stay Up is not a steady-state figure), then CPU (utime+stime from /proc) of each \
         router's BFD process \
         (keepalived's BFD child; kad's whole process, whose VRRP side is idle here) over a \
         {:.0} s window, in % of one core, the mean of the two routers being the per-router cost \
         (both run the same daemon, so it does not matter which side a veth charges a packet's \
         receive path to). Per packet: each session sends and \
         receives one packet per interval. Nice {}; load average {load_before} before, {} \
         after (the machine is shared with other jobs).\n",
        window.as_secs_f64(),
        nice,
        load_average()
    );
    let table = format!("{heading}\n{}", bfd_cpu::table(&outcomes));
    println!("{table}");
    let json = bench_dir().join("bfd-cpu.json");
    report::write_json(&json, &bfd_cpu::to_json(&outcomes))?;
    println!("JSON: {}", json.display());
    if options.record {
        let command = format!("Command: `cargo xtask bench bfd{}`.\n\n", passed_args());
        report::record(
            &repo_root().join("BENCHMARKS.md"),
            "bfd-cpu",
            "BFD: CPU per session (`cargo xtask bench bfd`)",
            &format!("{command}{table}"),
        )?;
        println!("recorded in BENCHMARKS.md");
    }
    Ok(())
}

fn main() -> Result<()> {
    if !is_root() {
        bail!("the load benchmarks build network namespaces: run them as root");
    }
    let options = parse()?;
    match options.which.as_str() {
        "scale" => scale(&options),
        "flood" => flood(&options),
        "checkers" => checkers(&options),
        "bfd" => bfd(&options),
        other => bail!("unknown benchmark {other:?}\n{USAGE}"),
    }
}
