//! global_defs process scheduling keywords on the running daemon, read from /proc as
//! keepalived 2.2.7's VRRP process shows them on the same lab: `vrrp_rt_priority` (SCHED_RR,
//! the nice value `vrrp_priority` then left alone), `vrrp_no_swap` (memory locked),
//! `vrrp_cpu_affinity`, `vrrp_rlimit_rttime` (RLIMIT_RTTIME, soft half the hard), undone by a
//! reload that drops them; `vrrp_priority` alone (nice; scripts run at the original one);
//! `max_auto_priority` /
//! `min_auto_priority_delay` (SCHED_RR from priority 1 up when the process ran late).

use std::time::Duration;

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS},
    scratch,
};

const LIMIT: Duration = Duration::from_secs(5);

/// What /proc shows of a process's scheduling.
#[derive(Debug, PartialEq, Eq)]
struct Sched {
    nice: i32,
    policy: u32,
    rt_priority: u32,
    locked: bool,
    cpus: String,
    /// RLIMIT_RTTIME "soft hard".
    rttime: String,
}

fn sched(pid: u32) -> Result<Sched> {
    sched_at(&pid.to_string())
}

/// [`sched`] of `/proc/PATH` (`PID`, or `PID/task/TID` for one thread).
fn sched_at(pid: &str) -> Result<Sched> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command's closing parenthesis start at field 3 (state).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("stat")?
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| fields.get(n - 3).copied().context("stat field");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_owned())
            .context("status line")
    };
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .context("limits")?
        .split_whitespace()
        .skip(3)
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Sched {
        nice: field(19)?.parse()?,
        rt_priority: field(40)?.parse()?,
        policy: field(41)?.parse()?,
        locked: line("VmLck:")? != "0 kB",
        cpus: line("Cpus_allowed_list:")?,
        rttime,
    })
}

/// The pid of keepalived's VRRP child on `host`.
fn keepalived_vrrp_pid(lab: &Lab, host: &str) -> Result<u32> {
    let file = lab.keepalived_pid_file(host, "vrrp");
    lab.wait_for("keepalived's VRRP pid file", LIMIT, || {
        Ok(std::fs::read_to_string(&file).is_ok_and(|t| !t.trim().is_empty()))
    })?;
    Ok(std::fs::read_to_string(&file)?.trim().parse()?)
}

/// Whether this process has CAP_SYS_RESOURCE (bit 24 of CapEff).
fn has_sys_resource() -> Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .context("CapEff")?;
    Ok(u64::from_str_radix(caps.trim(), 16)? & (1 << 24) != 0)
}

const RT_GLOBALS: &str = "global_defs {\n  vrrp_priority -5\n  vrrp_rt_priority 10\n  vrrp_no_swap\n  \
                          vrrp_cpu_affinity 0\n  vrrp_rlimit_rttime 10000\n}\n";

#[test]
fn realtime_locked_pinned_and_limited_like_keepalived_until_a_reload_drops_it() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("psched", ROUTERS)?;
    let kad = lab.start_kad("r1", &format!("{RT_GLOBALS}{}", lab_instance(200, "")))?;
    lab.start_keepalived("r2", &format!("{RT_GLOBALS}{}", lab_instance(100, "")))?;
    let keepalived = keepalived_vrrp_pid(&lab, "r2")?;
    let kad_pid = lab.daemon(kad)?.pid();
    let want = Sched {
        // keepalived sets the nice value only without a realtime priority.
        nice: 0,
        policy: libc::SCHED_RR as u32,
        rt_priority: 10,
        locked: true,
        cpus: "0".into(),
        rttime: "5000 10000".into(),
    };
    for (who, pid) in [("keepalived", keepalived), ("kad", kad_pid)] {
        lab.wait_for(&format!("{who}'s scheduling"), LIMIT, || {
            Ok(sched(pid)? == want)
        })
        .with_context(|| format!("{who}: {:?}", sched(pid)))?;
    }
    // A reload without them: standard scheduling, unlocked, RLIMIT_RTTIME back; the CPU
    // affinity stays (keepalived leaves it).
    std::fs::write(lab.dir().join("kad-r1.conf"), lab_instance(200, ""))?;
    lab.daemon(kad)?.signal(libc::SIGHUP)?;
    let after = Sched {
        policy: 0,
        rt_priority: 0,
        locked: false,
        // Raising a hard limit needs CAP_SYS_RESOURCE (some containers lack it; kad then
        // warns, as keepalived does, and the limit stays, harmless under SCHED_OTHER).
        rttime: if has_sys_resource()? {
            "unlimited unlimited".into()
        } else {
            want.rttime.clone()
        },
        ..want
    };
    lab.wait_for("kad's scheduling after the reload", LIMIT, || {
        Ok(sched(kad_pid)? == after)
    })
    .with_context(|| format!("kad: {:?}", sched(kad_pid)))?;
    Ok(())
}

#[test]
fn nice_alone_then_realtime_when_running_late() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let scratch = scratch::dir("pauto")?;
    // A tracking script that writes the nice value it runs at.
    let seen = scratch.join("nice");
    let check = scratch.join("check.sh");
    scratch::script(
        &check,
        &format!(
            "awk '{{print $19}}' /proc/$$/stat > {0}.new && mv {0}.new {0}",
            seen.display()
        ),
        0o755,
    )?;
    let mut lab = Lab::with_hosts("pauto", &ROUTERS[..1])?;
    let kad = lab.start_kad(
        "r1",
        &format!(
            "global_defs {{\n  vrrp_priority -5\n  max_auto_priority 2\n  \
             min_auto_priority_delay 100000\n}}\nvrrp_script chk {{\n  script \"{}\"\n  \
             interval 1\n}}\n{}",
            check.display(),
            lab_instance(200, "  track_script {\n    chk\n  }\n")
        ),
    )?;
    let pid = lab.daemon(kad)?.pid();
    let status = |s: &Sched| (s.nice, s.policy, s.rt_priority, s.rttime.clone());
    let unlimited = "unlimited unlimited".to_owned();
    lab.wait_for("nice -5", LIMIT, || {
        Ok(status(&sched(pid)?) == (-5, 0, 0, unlimited.clone()))
    })?;
    // Scripts run at the nice value kad had before (keepalived resets it in each child).
    let _ = std::fs::remove_file(&seen);
    lab.wait_for("the script's next run", LIMIT, || Ok(seen.exists()))?;
    assert_eq!(std::fs::read_to_string(&seen)?.trim(), "0");
    // The watchdog starts once the settings are applied.
    std::thread::sleep(Duration::from_millis(300));
    // Stopped for 0.5 s, kad's timers run 0.4 s late: SCHED_RR at 1, with the default
    // RLIMIT_RTTIME (10 ms); then 2; then no higher than max_auto_priority.
    for (round, rt_priority) in [1, 2, 2].into_iter().enumerate() {
        lab.daemon(kad)?.signal(libc::SIGSTOP)?;
        std::thread::sleep(Duration::from_millis(500));
        lab.daemon(kad)?.signal(libc::SIGCONT)?;
        let want = (
            -5,
            libc::SCHED_RR as u32,
            rt_priority,
            "5000 10000".to_owned(),
        );
        if round == 2 {
            // Time for a raise that must not come.
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(status(&sched(pid)?), want, "{}", lab.logs());
        }
        lab.wait_for(&format!("realtime priority {rt_priority}"), LIMIT, || {
            Ok(status(&sched(pid)?) == want)
        })
        .with_context(|| format!("{:?}", sched(pid)))?;
    }
    Ok(())
}

#[test]
fn checker_values_apply_when_kad_runs_only_checkers() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("pcheck", &ROUTERS[..1])?;
    // keepalived sets checker_priority on its checker process, which `-C` runs (without
    // IPVS in this kernel keepalived's stops; kad's checkers run on).
    let config = lab.dir().join("checkers.conf");
    std::fs::write(
        &config,
        "global_defs {\n  vrrp_priority -5\n  checker_priority 7\n}\n\
         virtual_server 10.77.0.50 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n  \
         real_server 10.77.0.2 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n",
    )?;
    let socket = lab.dir().join("checkers.sock");
    let (config, socket) = (config.to_string_lossy(), socket.to_string_lossy());
    let kad = lab.start(
        "r1",
        &kad_tests::kad_bin()?,
        &["-C", "-f", &config, "--control-socket", &socket],
    )?;
    let pid = lab.daemon(kad)?.pid();
    lab.wait_for("nice 7", LIMIT, || Ok(sched(pid)?.nice == 7))
        .with_context(|| format!("{:?}", sched(pid)))?;
    Ok(())
}

/// The id of `pid`'s thread named `name` (`/proc/PID/task/TID/comm`).
fn thread_named(pid: u32, name: &str) -> Result<String> {
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let tid = entry?.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))?;
        if comm.trim() == name {
            return Ok(tid);
        }
    }
    anyhow::bail!("no thread {name} in process {pid}")
}

/// A session to a neighbour that never answers: the BFD thread runs all the same.
const BFD_INSTANCE: &str = "bfd_instance gw {\n  neighbor_ip 10.77.0.3\n  source_ip 10.77.0.1\n}\n";

#[test]
fn bfd_keywords_schedule_the_bfd_thread_alone_as_keepalived_its_bfd_process() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let globals =
        "global_defs {\n  vrrp_priority 5\n  bfd_rt_priority 20\n  bfd_cpu_affinity 0\n}\n";
    let mut lab = Lab::with_hosts("pbfd", ROUTERS)?;
    let kad = lab.start_kad(
        "r1",
        &format!("{globals}{BFD_INSTANCE}{}", lab_instance(200, "")),
    )?;
    let keepalived = lab.start_keepalived_bfd(
        "r2",
        &format!(
            "{globals}bfd_instance gw {{\n  neighbor_ip 10.77.0.3\n  source_ip 10.77.0.2\n}}\n"
        ),
    )?;
    let kad_pid = lab.daemon(kad)?.pid();
    let bfd_thread = format!("{kad_pid}/task/{}", thread_named(kad_pid, "kad-bfd")?);
    let want =
        |s: &Sched| s.policy == libc::SCHED_RR as u32 && s.rt_priority == 20 && s.cpus == "0";
    let keepalived_bfd = keepalived.bfd_pid(&lab)?.to_string();
    for (who, path) in [
        ("keepalived's BFD process", &keepalived_bfd),
        ("kad's BFD thread", &bfd_thread),
    ] {
        lab.wait_for(&format!("{who}: SCHED_RR 20 on CPU 0"), LIMIT, || {
            Ok(want(&sched_at(path)?))
        })
        .with_context(|| format!("{who}: {:?}", sched_at(path)))?;
    }
    // The rest of kad takes vrrp_priority; the BFD thread keeps its own.
    lab.wait_for("kad's main thread at nice 5", LIMIT, || {
        Ok(sched(kad_pid)?.nice == 5)
    })?;
    let main = sched(kad_pid)?;
    assert_eq!(main.policy, 0, "{main:?}");
    assert!(want(&sched_at(&bfd_thread)?), "{:?}", sched_at(&bfd_thread));

    // A reload with bfd_priority instead: the thread leaves SCHED_RR for nice -3.
    let globals = "global_defs {\n  vrrp_priority 5\n  bfd_priority -3\n}\n";
    std::fs::write(
        lab.dir().join("kad-r1.conf"),
        format!("{globals}{BFD_INSTANCE}{}", lab_instance(200, "")),
    )?;
    lab.daemon(kad)?.signal(libc::SIGHUP)?;
    lab.wait_for("the BFD thread at nice -3, standard policy", LIMIT, || {
        let s = sched_at(&bfd_thread)?;
        Ok(s.policy == 0 && s.nice == -3)
    })
    .with_context(|| format!("{:?}", sched_at(&bfd_thread)))?;
    lab.wait_for("kad's main thread still at nice 5", LIMIT, || {
        Ok(sched(kad_pid)?.nice == 5)
    })?;
    Ok(())
}
