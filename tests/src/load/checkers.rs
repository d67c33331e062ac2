//! Checkers at scale (issue 7): many real servers, each with a TCP_CHECK, checked by kad -C
//! and by keepalived -C (2.2.7) from the same keepalived.conf, one after the other in one
//! User-Mode Linux guest: this machine's kernel has no IPVS and both daemons' checker sides
//! need one to start. The real servers are addresses of 127.0.0.0/8 inside the guest, all
//! served by one `kad-tcp-sink`, which counts the checks each one gets.
//!
//! Per run (one daemon, one round): start the daemon on an empty IPVS table, wait until the
//! table holds every real server, let it run `warmup`, then over `window` read from the
//! guest's /proc the daemon's CPU time (utime+stime, every thread; keepalived: parent and
//! checker child) and the guest's, and from the sink the checks each real server got; at the
//! window's end VmRSS/VmHWM and the IPVS table (real servers, and those with a weight above
//! 0); then SIGTERM. Rounds alternate which daemon goes first.

use std::{collections::BTreeMap, path::Path, time::Duration};

use anyhow::{Context as _, Result, bail};

use super::{
    check_conf::{self, PORT},
    sink::{Snapshot, Window},
};
use crate::uml::{UmlGuest, which};

/// A daemon under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Daemon {
    /// `kad -C`.
    Kad,
    /// `keepalived -C`.
    Keepalived,
}

impl Daemon {
    /// Its name in the guest script and the tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kad => "kad",
            Self::Keepalived => "keepalived",
        }
    }

    fn parse(name: &str) -> Result<Self> {
        match name {
            "kad" => Ok(Self::Kad),
            "keepalived" => Ok(Self::Keepalived),
            other => bail!("unknown daemon {other:?}"),
        }
    }
}

/// One benchmark boot.
#[derive(Clone, Debug)]
pub struct CheckersSetup {
    /// Virtual servers.
    pub virtual_servers: usize,
    /// Real servers per virtual server.
    pub per_virtual_server: usize,
    /// keepalived.conf `delay_loop`, seconds.
    pub delay_loop: u32,
    /// Rounds; each runs every daemon once, the order alternating.
    pub rounds: usize,
    /// Daemons to run.
    pub daemons: Vec<Daemon>,
    /// From a full IPVS table to the window.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// Guest memory (UML `mem=`).
    pub memory: String,
    /// `ulimit -n` in the guest, for both daemons.
    pub open_files: u32,
    /// The `kad` binary.
    pub kad: std::path::PathBuf,
    /// The `kad-tcp-sink` binary.
    pub sink: std::path::PathBuf,
}

impl CheckersSetup {
    /// Real servers in all.
    pub fn servers(&self) -> usize {
        self.virtual_servers * self.per_virtual_server
    }
}

/// CPU time and memory of one process over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessUsage {
    /// utime + stime over the window, clock ticks.
    pub ticks: u64,
    /// VmRSS at the window's end, KiB.
    pub rss_kib: u64,
    /// VmHWM (peak RSS) at the window's end, KiB.
    pub hwm_kib: u64,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// Which daemon.
    pub daemon: Daemon,
    /// Which round.
    pub round: usize,
    /// From the daemon's start until the IPVS table held every real server.
    pub fill: Duration,
    /// Real servers in the IPVS table when the wait ended.
    pub filled_servers: usize,
    /// The window's length (the guest's clock).
    pub seconds: f64,
    /// The daemon's processes (keepalived: parent first, then the checker child).
    pub processes: Vec<ProcessUsage>,
    /// The guest's CPU busy over the window, % of its one CPU.
    pub guest_busy_percent: f64,
    /// The checks the sink saw in the window.
    pub checks: Window,
    /// Real servers in the IPVS table at the window's end.
    pub table_servers: usize,
    /// Of those, with a weight above 0.
    pub table_live: usize,
}

impl RunOutcome {
    /// CPU of all the daemon's processes over the window, % of one (guest) CPU.
    pub fn cpu_percent(&self, ticks_per_second: f64) -> f64 {
        let ticks: u64 = self.processes.iter().map(|p| p.ticks).sum();
        ticks as f64 / ticks_per_second / self.seconds * 100.0
    }

    /// VmRSS summed over the daemon's processes, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.processes.iter().map(|p| p.rss_kib).sum()
    }

    /// VmHWM summed over the daemon's processes, KiB.
    pub fn hwm_kib(&self) -> u64 {
        self.processes.iter().map(|p| p.hwm_kib).sum()
    }

    /// Daemon CPU time per check, microseconds.
    pub fn cpu_us_per_check(&self, ticks_per_second: f64) -> f64 {
        let checks = self.checks.per_second * self.checks.seconds;
        if checks <= 0.0 {
            return f64::NAN;
        }
        let ticks: u64 = self.processes.iter().map(|p| p.ticks).sum();
        ticks as f64 / ticks_per_second / checks * 1e6
    }
}

/// What one boot measured.
#[derive(Clone, Debug)]
pub struct CheckersOutcome {
    /// The setup.
    pub setup: CheckersSetup,
    /// Every run, in the order they ran.
    pub runs: Vec<RunOutcome>,
    /// `ulimit -n` the guest reported.
    pub open_files: String,
    /// The guest's kernel release.
    pub kernel: String,
}

/// The guest's clock ticks per second (`USER_HZ`; the UML kernel's is 100, as on x86).
pub const GUEST_TICKS_PER_SECOND: f64 = 100.0;

/// The init script: the sink, then each run.
fn script(setup: &CheckersSetup) -> String {
    let mut runs = String::new();
    for round in 0..setup.rounds {
        let mut order = setup.daemons.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        for daemon in order {
            runs.push_str(&format!("run {} {round}\n", daemon.label()));
        }
    }
    // Waiting for the table: one poll a second, up to 10 minutes.
    SCRIPT
        .replace("@PORT@", &PORT.to_string())
        .replace("@SERVERS@", &setup.servers().to_string())
        .replace("@NOFILE@", &setup.open_files.to_string())
        .replace("@WARMUP@", &setup.warmup.as_secs().to_string())
        .replace("@WINDOW@", &setup.window.as_secs().to_string())
        .replace("@RUNS@", &runs)
}

const SCRIPT: &str = r#"
ulimit -n @NOFILE@
echo "nofile $(ulimit -n)" >> /out/measure
echo "kernel $(uname -r)" >> /out/measure
/sbin/kad-tcp-sink --port @PORT@ --servers @SERVERS@ --out /out/sink > /out/sink.log 2>&1 &
SINK=$!
SNAP=0
now() { cut -d' ' -f1 /proc/uptime; }
servers() { ipvsadm -Ln | grep -c '^  -> [0-9]'; }
live() { ipvsadm -Ln | awk '$1 == "->" && $2 ~ /^[0-9]/ && $4 > 0' | wc -l; }
measure() {
  echo "uptime $(now)" >> /out/measure
  head -1 /proc/stat >> /out/measure
  for p in $PIDS; do echo "stat $p $(cat /proc/$p/stat)" >> /out/measure; done
  kill -USR1 $SINK
  i=0; until [ -e /out/sink.$SNAP ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done
  echo "snapshot $SNAP" >> /out/measure
  SNAP=$((SNAP+1))
}
run() {
  echo "run $1 $2" >> /out/measure
  ipvsadm -C
  rm -f /run/keepalived.pid /run/checkers.pid
  T0=$(now)
  if [ "$1" = kad ]; then
    /sbin/kad -C -G -f /etc/keepalived/keepalived.conf > /out/kad-$2.log 2>&1 &
    D=$!
    PIDS=$D
  else
    /sbin/keepalived -C -n -l -G -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid -c /run/checkers.pid > /out/keepalived-$2.log 2>&1 &
    D=$!
    i=0; until [ -s /run/checkers.pid ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done
    PIDS="$D $(cat /run/checkers.pid)"
  fi
  echo "started $T0" >> /out/measure
  i=0; until [ "$(servers)" -ge @SERVERS@ ] || [ $i -ge 600 ]; do sleep 1; i=$((i+1)); done
  echo "table_full $(now) $(servers)" >> /out/measure
  sleep @WARMUP@
  echo "window_start" >> /out/measure
  measure
  sleep @WINDOW@
  echo "window_end" >> /out/measure
  measure
  for p in $PIDS; do grep -E '^(VmRSS|VmHWM):' /proc/$p/status | sed "s/^/status $p /" >> /out/measure; done
  echo "table $(servers) $(live)" >> /out/measure
  kill -TERM $D
  wait $D
  sleep 1
  echo "stopped $(now)" >> /out/measure
}
mkdir -p /run
@RUNS@
kill $SINK
"#;

/// Builds the guest, boots it, runs every round and reads the results.
pub fn run(setup: &CheckersSetup) -> Result<CheckersOutcome> {
    let guest = UmlGuest::new("checkers", &setup.kad)?.with_memory(&setup.memory);
    guest.install(&which("keepalived")?, "/sbin/keepalived")?;
    guest.install(&setup.sink, "/sbin/kad-tcp-sink")?;
    guest.write(
        "/etc/keepalived/keepalived.conf",
        &check_conf::many_real_servers(
            setup.virtual_servers,
            setup.per_virtual_server,
            setup.delay_loop,
        ),
    )?;
    let runs = setup.rounds * setup.daemons.len();
    // Per run: filling the table (up to 10 minutes, usually well under one), warm-up, the
    // window and the stop.
    let per_run = Duration::from_secs(120) + setup.warmup + setup.window;
    let timeout = Duration::from_secs(120) + per_run * u32::try_from(runs).unwrap_or(u32::MAX);
    let console = guest.boot(&script(setup), timeout)?;
    let measure = guest
        .read("/out/measure")
        .with_context(|| format!("no measurements; console:\n{console}"))?;
    let outcome = parse(setup, &measure, |n| guest.read(&format!("/out/sink.{n}")))
        .with_context(|| format!("reading the measurements:\n{measure}"))?;
    keep_logs(guest.root(), setup);
    Ok(outcome)
}

/// When `$KAD_LOAD_LOGS` names a folder, copies the guest's daemon logs and measurements
/// there as `checkers-d<delay_loop>-<name>`.
fn keep_logs(root: &Path, setup: &CheckersSetup) {
    let Some(folder) = std::env::var_os("KAD_LOAD_LOGS") else {
        return;
    };
    let folder = std::path::PathBuf::from(folder);
    let _ = std::fs::create_dir_all(&folder);
    let Ok(entries) = std::fs::read_dir(root.join("out")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") || name == "measure" {
            let _ = std::fs::copy(
                entry.path(),
                folder.join(format!("checkers-d{}-{name}", setup.delay_loop)),
            );
        }
    }
}

/// One reading of the guest: its clock, its CPU, the daemon's processes and the sink.
#[derive(Default)]
struct Reading {
    uptime: f64,
    /// busy and total ticks of the guest's CPU (/proc/stat `cpu` line).
    cpu: (u64, u64),
    /// utime + stime per pid, in the order read.
    ticks: Vec<(u32, u64)>,
    snapshot: Option<usize>,
}

#[derive(Default)]
struct PartialRun {
    daemon: Option<Daemon>,
    round: usize,
    started: f64,
    fill: Option<(f64, usize)>,
    start: Option<Reading>,
    end: Option<Reading>,
    in_window: bool,
    status: BTreeMap<(u32, String), u64>,
    table: Option<(usize, usize)>,
}

/// Reads `/out/measure` (the script's log) and the sink snapshots it names.
fn parse(
    setup: &CheckersSetup,
    text: &str,
    snapshot: impl Fn(usize) -> Result<String>,
) -> Result<CheckersOutcome> {
    let mut runs = Vec::new();
    let mut current: Option<PartialRun> = None;
    let mut open_files = String::new();
    let mut kernel = String::new();
    for line in text.lines() {
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| -> Result<f64> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .with_context(|| format!("bad line {line:?}"))
        };
        match key {
            "nofile" => open_files = rest.trim().to_owned(),
            "kernel" => kernel = rest.trim().to_owned(),
            "run" => {
                if let Some(done) = current.take() {
                    runs.push(finish(done, &snapshot)?);
                }
                current = Some(PartialRun {
                    daemon: Some(Daemon::parse(words.first().copied().unwrap_or(""))?),
                    round: number(1)? as usize,
                    ..PartialRun::default()
                });
            }
            _ => {
                let run = current
                    .as_mut()
                    .with_context(|| format!("{line:?} before a run"))?;
                match key {
                    "started" => run.started = number(0)?,
                    "table_full" => run.fill = Some((number(0)?, number(1)? as usize)),
                    "window_start" => run.in_window = false,
                    "window_end" => run.in_window = true,
                    "uptime" => reading(run).uptime = number(0)?,
                    "cpu" => {
                        let ticks: Vec<u64> = words.iter().filter_map(|w| w.parse().ok()).collect();
                        // user nice system idle iowait irq softirq steal …
                        let total: u64 = ticks.iter().sum();
                        let idle =
                            ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
                        reading(run).cpu = (total.saturating_sub(idle), total);
                    }
                    "stat" => {
                        let pid = number(0)? as u32;
                        let ticks = stat_ticks(rest)?;
                        reading(run).ticks.push((pid, ticks));
                    }
                    "snapshot" => reading(run).snapshot = Some(number(0)? as usize),
                    "status" => {
                        let pid = number(0)? as u32;
                        let name = words
                            .get(1)
                            .map(|w| w.trim_end_matches(':').to_owned())
                            .with_context(|| format!("bad line {line:?}"))?;
                        run.status.insert((pid, name), number(2)? as u64);
                    }
                    "table" => run.table = Some((number(0)? as usize, number(1)? as usize)),
                    "stopped" => {}
                    _ => bail!("unknown line {line:?}"),
                }
            }
        }
    }
    if let Some(done) = current.take() {
        runs.push(finish(done, &snapshot)?);
    }
    Ok(CheckersOutcome {
        setup: setup.clone(),
        runs,
        open_files,
        kernel,
    })
}

/// The reading a line belongs to: the window's start, or its end once `window_end` came.
fn reading(run: &mut PartialRun) -> &mut Reading {
    if run.in_window {
        run.end.get_or_insert_with(Reading::default)
    } else {
        run.start.get_or_insert_with(Reading::default)
    }
}

/// utime + stime from a `stat PID <contents of /proc/PID/stat>` line's rest.
fn stat_ticks(rest: &str) -> Result<u64> {
    let after_name = rest
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("stat line without a command name")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name comes field 3 (state); utime and stime are fields 14 and 15.
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("stat field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

fn finish(run: PartialRun, snapshot: &impl Fn(usize) -> Result<String>) -> Result<RunOutcome> {
    let daemon = run.daemon.context("run without a daemon")?;
    let what = format!("{} round {}", daemon.label(), run.round);
    let (Some(start), Some(end)) = (run.start, run.end) else {
        bail!("{what}: no window");
    };
    let (filled_at, filled_servers) = run.fill.with_context(|| format!("{what}: no fill"))?;
    let read = |reading: &Reading| -> Result<Snapshot> {
        let n = reading
            .snapshot
            .with_context(|| format!("{what}: no snapshot"))?;
        Snapshot::parse(&snapshot(n)?).with_context(|| format!("{what}: snapshot {n}"))
    };
    let checks = Window::between(&read(&start)?, &read(&end)?)?;
    let processes = start
        .ticks
        .iter()
        .map(|(pid, before)| {
            let after = end
                .ticks
                .iter()
                .find(|(p, _)| p == pid)
                .map(|(_, t)| *t)
                .with_context(|| format!("{what}: pid {pid} gone at the window's end"))?;
            let status = |name: &str| run.status.get(&(*pid, name.to_owned())).copied();
            Ok(ProcessUsage {
                ticks: after.saturating_sub(*before),
                rss_kib: status("VmRSS").unwrap_or(0),
                hwm_kib: status("VmHWM").unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let busy = end.cpu.0.saturating_sub(start.cpu.0) as f64;
    let total = end.cpu.1.saturating_sub(start.cpu.1) as f64;
    let (table_servers, table_live) = run.table.with_context(|| format!("{what}: no table"))?;
    Ok(RunOutcome {
        daemon,
        round: run.round,
        fill: Duration::from_secs_f64((filled_at - run.started).max(0.0)),
        filled_servers,
        seconds: end.uptime - start.uptime,
        processes,
        guest_busy_percent: if total > 0.0 {
            busy / total * 100.0
        } else {
            0.0
        },
        checks,
        table_servers,
        table_live,
    })
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn stat_ticks_skip_a_command_name_with_spaces() {
        let line = "42 (kad x) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0 5 0 0";
        assert_eq!(stat_ticks(line).expect("ticks"), 280);
    }
}
