//! keepalived's pid files (issue 15): kad and keepalived 2.2.7 run on the same configuration,
//! each with a `/run` of its own (a lab folder in a private mount namespace), and the same
//! files appear there — `/run/keepalived.pid` and `/run/vrrp.pid` by default, in
//! `/run/keepalived/` with top-level `use_pid_dir`, named after top-level `instance NAME`,
//! `-p`/`-r` over the defaults — each holding the pid of the process it names (kad is one
//! process: its own in every file), and they are gone, directory included, once each exits.
//! A reload that changes `instance` is refused by both.

use std::{
    collections::BTreeMap,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS},
};

/// What a daemon's `/run` holds besides the lab's `netns`: relative path → (mode, content
/// with the daemon's own pid written `PID` and a child's `CHILD`).
type RunFiles = BTreeMap<String, (u32, String)>;

fn list(root: &Path, dir: &Path, main_pid: u32, out: &mut RunFiles) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = path.strip_prefix(root)?.to_string_lossy().into_owned();
        if name == "netns" {
            continue;
        }
        let mode = entry.metadata()?.permissions().mode() & 0o7777;
        if entry.file_type()?.is_dir() {
            out.insert(format!("{name}/"), (mode, String::new()));
            list(root, &path, main_pid, out)?;
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let pid: u32 = text
            .trim()
            .parse()
            .with_context(|| format!("{name}: {text:?}"))?;
        let who = if pid == main_pid {
            "PID".to_owned()
        } else if parent_of(pid) == Some(main_pid) {
            "CHILD".to_owned()
        } else {
            format!("other pid {pid}")
        };
        out.insert(name, (mode, text.replace(&pid.to_string(), &who)));
    }
    Ok(())
}

/// `pid`'s parent, from /proc.
fn parent_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|ppid| ppid.trim().parse().ok())
}

/// Where daemon `index` has its `/run`, and its pid.
fn run_of(lab: &mut Lab, index: usize) -> Result<(PathBuf, u32)> {
    let daemon = lab.daemon(index)?;
    let root = daemon
        .run_dir()
        .context("the daemon has no /run of its own")?
        .to_path_buf();
    Ok((root, daemon.pid()))
}

fn run_files((root, pid): &(PathBuf, u32)) -> Result<RunFiles> {
    let mut files = RunFiles::new();
    list(root, root, *pid, &mut files)?;
    Ok(files)
}

/// kad's and keepalived's `/run` while running, then after SIGTERM, for `top` (top-level
/// keywords) and the extra command-line `args`.
fn compare(lab: &mut Lab, case: &str, top: &str, args: &[&str]) -> Result<()> {
    let conf = lab.dir().join(format!("{case}.conf"));
    std::fs::write(&conf, format!("{top}\n{}", lab_instance(100, "")))?;
    let conf = conf.to_string_lossy().into_owned();
    let socket = lab.dir().join(format!("{case}.sock"));
    let socket = socket.to_string_lossy().into_owned();
    let mut kad_args = vec!["-n", "-l", "-f", &conf, "--control-socket", &socket];
    kad_args.extend_from_slice(args);
    let kad = lab.start("r1", &kad_tests::kad_bin()?, &kad_args)?;
    lab.wait_until_started(kad);
    let mut keepalived_args = vec!["-n", "-l", "-f", &conf];
    keepalived_args.extend_from_slice(args);
    let keepalived = lab.start_private_run("r2", Path::new("keepalived"), &keepalived_args)?;
    let (kad_run, keepalived_run) = (run_of(lab, kad)?, run_of(lab, keepalived)?);

    // keepalived writes its VRRP child's file when the child starts.
    let want = |files: &RunFiles| files.values().filter(|(_, text)| !text.is_empty()).count();
    let mut seen = RunFiles::new();
    lab.wait_for(
        &format!("{case}: keepalived's pid files"),
        Duration::from_secs(10),
        || {
            seen = run_files(&keepalived_run)?;
            Ok(want(&seen) >= 2)
        },
    )
    .with_context(|| format!("{seen:?}\n{}", lab.logs()))?;
    let keepalived_files = run_files(&keepalived_run)?;
    let kad_files = run_files(&kad_run)?;
    // keepalived's VRRP child is a child; kad is one process.
    let as_one_process: RunFiles = keepalived_files
        .iter()
        .map(|(name, (mode, text))| (name.clone(), (*mode, text.replace("CHILD", "PID"))))
        .collect();
    assert_eq!(
        kad_files,
        as_one_process,
        "{case}: kad's /run (left) and keepalived's (right)\n{}",
        lab.logs()
    );

    for daemon in [kad, keepalived] {
        lab.daemon(daemon)?.signal(libc::SIGTERM)?;
        assert!(lab.daemon(daemon)?.wait_exit(Duration::from_secs(10))?);
    }
    let (kad_left, keepalived_left) = (run_files(&kad_run)?, run_files(&keepalived_run)?);
    assert_eq!(
        keepalived_left,
        RunFiles::new(),
        "{case}: keepalived cleans up"
    );
    assert_eq!(
        kad_left,
        RunFiles::new(),
        "{case}: kad removes what it wrote"
    );
    Ok(())
}

#[test]
fn kad_writes_and_removes_the_pid_files_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("pidf", ROUTERS)?;
    compare(&mut lab, "default", "", &[])?;
    compare(&mut lab, "instance", "instance east", &[])?;
    compare(&mut lab, "piddir", "use_pid_dir", &[])?;
    compare(
        &mut lab,
        "command_line",
        "instance east\nuse_pid_dir",
        &["-p", "/run/main.pid"],
    )?;
    compare(&mut lab, "relocated", "use_pid_dir", &["-r", "/run/v.pid"])?;
    Ok(())
}

/// The second address the reload in [`reload_changing_the_instance`] asks for.
const VIP2: &str = "10.77.0.101";

/// Starts `program` alone on r1 with `instance east`, then reloads it (SIGHUP) with
/// `instance west` and a second VIP. Returns its log, whether it then holds [`VIP2`], and its
/// `/run` after the reload.
fn reload_changing_the_instance(
    lab: &mut Lab,
    case: &str,
    program: &Path,
    args: &[&str],
) -> Result<(String, bool, RunFiles)> {
    let conf = lab.dir().join(format!("{case}.conf"));
    let text = |instance: &str, extra: &str| {
        format!(
            "instance {instance}\n{}",
            lab_instance(200, "").replace(
                "virtual_ipaddress {\n",
                &format!("virtual_ipaddress {{\n{extra}")
            )
        )
    };
    std::fs::write(&conf, text("east", ""))?;
    let conf_arg = conf.to_string_lossy().into_owned();
    let mut all = args.to_vec();
    all.extend(["-n", "-l", "-f", &conf_arg]);
    let daemon = lab.start_private_run("r1", program, &all)?;
    lab.wait_for(
        &format!("{case}: r1 holds the VIP"),
        Duration::from_secs(20),
        || lab.holds("r1", kad_tests::lab::VIP),
    )
    .with_context(|| lab.logs())?;
    std::fs::write(&conf, text("west", &format!("    {VIP2}/24 dev eth0\n")))?;
    lab.daemon(daemon)?.signal(libc::SIGHUP)?;
    std::thread::sleep(Duration::from_secs(3));
    let holds = lab.holds("r1", VIP2)?;
    let files = run_files(&run_of(lab, daemon)?)?;
    let log = lab.daemon_log(daemon)?;
    lab.daemon(daemon)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(daemon)?.wait_exit(Duration::from_secs(10))?);
    Ok((log, holds, files))
}

#[test]
fn a_reload_that_changes_the_instance_is_refused_as_in_keepalived() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("pidr", &[("r1", 1)])?;
    let (keepalived_log, keepalived_holds, keepalived_files) =
        reload_changing_the_instance(&mut lab, "keepalived", Path::new("keepalived"), &[])?;
    assert!(
        keepalived_log.contains("Cannot change instance name at a reload"),
        "{keepalived_log}"
    );
    assert!(!keepalived_holds, "keepalived refuses the whole reload");
    let kad = kad_tests::kad_bin()?;
    let socket = lab.dir().join("kad.sock").to_string_lossy().into_owned();
    let (kad_log, kad_holds, kad_files) =
        reload_changing_the_instance(&mut lab, "kad", &kad, &["--control-socket", &socket])?;
    assert!(
        kad_log.contains("cannot change instance name at a reload"),
        "{kad_log}"
    );
    assert!(!kad_holds, "kad refuses the whole reload\n{kad_log}");
    let as_one_process: RunFiles = keepalived_files
        .iter()
        .map(|(name, (mode, text))| (name.clone(), (*mode, text.replace("CHILD", "PID"))))
        .collect();
    assert_eq!(
        kad_files, as_one_process,
        "the pid files keep the first name"
    );
    Ok(())
}
