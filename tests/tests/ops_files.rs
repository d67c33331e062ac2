//! What kad creates and reads on the file system, against running daemons in namespace labs
//! (issue 13 items 2, 9, 10): signal dumps in a folder where someone planted symlinks and
//! FIFOs, the process umask (`umask` in global_defs), pid files that refuse a second kad,
//! `track_file` on a FIFO, and kad started by `nsenter -n` (no `/sys` of its own).

use std::{
    os::unix::fs::{FileTypeExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    advert_watch::AdvertWatch,
    conf::vrrp_instance,
    kad_bin,
    lab::{Lab, ROUTERS, VIP},
    ops,
};

/// Starts kad on `host` with `config` (written to the lab folder) through `env`, so that
/// the daemon's pid is kad's; `env_vars` are `NAME=VALUE` words. Returns its index.
fn wait_master(lab: &Lab, kad: usize) -> Result<()> {
    lab.wait_for("kad is MASTER", Duration::from_secs(15), || {
        Ok(lab.daemon_log(kad)?.contains("Entering MASTER STATE"))
    })?;
    Ok(())
}

/// Adverts `host` sends onto the segment during `window`.
fn count_adverts(watch: &AdvertWatch, window: Duration) -> Result<usize> {
    let end = Instant::now() + window;
    let mut count = 0;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if watch.next(left)?.is_some() {
            count += 1;
        }
    }
    Ok(count)
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

fn mkfifo(path: &Path) -> Result<()> {
    let status = Command::new("mkfifo").arg(path).status()?;
    if !status.success() {
        bail!("mkfifo {}", path.display());
    }
    Ok(())
}

/// Issue 13 item 2: symlinks and FIFOs planted at the names kad used for its dumps'
/// temporary files (and a symlink at a final name) are never opened: the symlinks' target
/// is untouched, kad keeps advertising at its rate while they are there, and each dump is
/// a regular file of mode 0600.
#[test]
fn signal_dumps_ignore_planted_files_and_keep_adverts_flowing() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("fd", &[("r1", 1)])?;
    let dumps = lab.dir().join("dumps");
    std::fs::create_dir_all(&dumps)?;
    std::fs::set_permissions(&dumps, std::fs::Permissions::from_mode(0o1777))?;
    let env_dir = format!("KAD_DUMP_DIR={}", dumps.display());
    let kad = ops::start_kad(
        &mut lab,
        "r1",
        &vrrp_instance("VI_DUMP", 61, 150, VIP, ""),
        &[env_dir.as_str()],
        &[],
    )?
    .0;
    wait_master(&lab, kad)?;
    let pid = lab.daemon(kad)?.pid();

    let victim = lab.dir().join("victim");
    std::fs::write(&victim, "precious\n")?;
    std::os::unix::fs::symlink(&victim, dumps.join(format!(".keepalived.data.{pid}")))?;
    std::os::unix::fs::symlink(&victim, dumps.join("keepalived.data"))?;
    let fifos = [
        dumps.join(format!(".keepalived.stats.{pid}")),
        dumps.join(format!(".keepalived.json.{pid}")),
    ];
    for fifo in &fifos {
        mkfifo(fifo)?;
    }

    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    watch.drain();
    let daemon = lab.daemon(kad)?;
    daemon.signal(libc::SIGUSR2)?;
    daemon.signal(libc::SIGUSR1)?;
    daemon.signal(libc::SIGRTMIN() + 2)?;
    let sent = count_adverts(&watch, Duration::from_secs(3))?;
    // Unblock a daemon stuck opening a FIFO (the code before the fix), so that it can be
    // stopped whatever the outcome.
    for fifo in &fifos {
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags_nonblock()
            .open(fifo);
    }
    assert!(
        sent >= 24,
        "kad sent {sent} adverts in 3 s at advert_int 0.1 while dumping\n{}",
        lab.logs()
    );
    assert_eq!(
        std::fs::read_to_string(&victim)?,
        "precious\n",
        "symlink followed"
    );
    for name in ["keepalived.data", "keepalived.stats", "keepalived.json"] {
        let path = dumps.join(name);
        lab.wait_for(&format!("{name} written"), Duration::from_secs(5), || {
            Ok(std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()))
        })?;
        assert_eq!(mode(&path), 0o600, "{name} is 0{:o}", mode(&path));
        assert!(
            std::fs::read_to_string(&path)?.contains("VI_DUMP"),
            "{name}"
        );
    }
    for fifo in &fifos {
        assert!(
            std::fs::symlink_metadata(fifo).is_ok_and(|m| m.file_type().is_fifo()),
            "planted FIFO {} left alone",
            fifo.display()
        );
    }
    assert!(lab.daemon(kad)?.is_running(), "{}", lab.logs());
    Ok(())
}

/// `kad -t -f CONF`: exit status and stderr.
fn config_test(dir: &Path, name: &str, config: &str) -> Result<(i32, String)> {
    let path = dir.join(name);
    std::fs::write(&path, config)?;
    let out = Command::new(kad_bin()?)
        .arg("-t")
        .arg("-f")
        .arg(&path)
        .output()
        .context("kad -t")?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Issue 13 item 2: keepalived.conf(5) `umask` in global_defs: a number (`strtol(…, 0)`) or
/// bits joined by `|`, checked by `kad -t`; the daemon sets it (default 0077), so files its
/// scripts create get it.
#[test]
fn umask_keyword_is_checked_and_sets_the_mode_of_created_files() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::new("um")?;
    let dir = lab.dir().to_path_buf();
    for good in ["0027", "IWGRP|IWOTH", "IWGRP | IWOTH", "0x12"] {
        let (status, stderr) = config_test(
            &dir,
            "good.conf",
            &format!("global_defs {{\n  umask {good}\n}}\n"),
        )?;
        assert!(
            !stderr.contains("umask"),
            "umask {good}: status {status}\n{stderr}"
        );
    }
    for bad in ["0999", "IWGRP|", "FOO", "IWGRP IWOTH"] {
        let (status, stderr) = config_test(
            &dir,
            "bad.conf",
            &format!("global_defs {{\n  umask {bad}\n}}\n"),
        )?;
        assert_ne!(status, 0, "umask {bad} accepted\n{stderr}");
        assert!(stderr.contains("umask"), "umask {bad}:\n{stderr}");
    }

    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    let script = dir.join("made.sh");
    std::fs::write(&script, "#!/bin/sh\n: > \"$(dirname \"$0\")/made-$1\"\n")?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let notify = |tag: &str| format!("  notify_master \"{} {tag}\"\n", script.display());
    let security = "  enable_script_security\n  script_user root\n";
    let with_umask = format!(
        "global_defs {{\n{security}  umask 0027\n}}\n{}",
        vrrp_instance("VI_U1", 71, 150, VIP, &notify("set"))
    );
    let without = format!(
        "global_defs {{\n{security}}}\n{}",
        vrrp_instance("VI_U2", 72, 150, "10.77.0.101", &notify("default"))
    );
    ops::start_kad(&mut lab, "r1", &with_umask, &[], &[])?;
    ops::start_kad(&mut lab, "r2", &without, &[], &[])?;
    for (tag, want) in [("set", 0o640), ("default", 0o600)] {
        let made = dir.join(format!("made-{tag}"));
        lab.wait_for(
            &format!("notify_master made {}", made.display()),
            Duration::from_secs(15),
            || Ok(made.exists()),
        )?;
        assert_eq!(mode(&made), want, "{tag}: 0{:o}", mode(&made));
    }
    Ok(())
}

/// Issue 13 item 9: a second kad given the same pid file exits at once with an error naming
/// the pid file and the running pid; the first runs on.
#[test]
fn a_second_kad_with_the_same_pid_file_refuses_to_run() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("pf", ROUTERS)?;
    let pid_file = lab.dir().join("kad.pid");
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let config = vrrp_instance("VI_PID", 81, 150, VIP, "");
    let first = ops::start_kad(&mut lab, "r1", &config, &[], &["-p", &pid_arg])?.0;
    wait_master(&lab, first)?;
    let first_pid = lab.daemon(first)?.pid();
    assert_eq!(
        std::fs::read_to_string(&pid_file)?.trim(),
        first_pid.to_string()
    );
    assert_eq!(mode(&pid_file), 0o644);

    // Another namespace, another control socket: only the pid file is shared.
    let second = ops::start_kad(&mut lab, "r2", &config, &[], &["-p", &pid_arg])?.0;
    let exited = lab.daemon(second)?.wait_exit(Duration::from_secs(10))?;
    let log = lab.daemon_log(second)?;
    assert!(exited, "the second kad runs\n{}", lab.logs());
    assert!(
        log.contains("already running")
            && log.contains(&pid_arg)
            && log.contains(&first_pid.to_string()),
        "{log}"
    );
    assert!(lab.daemon(first)?.is_running(), "{}", lab.logs());
    assert_eq!(
        std::fs::read_to_string(&pid_file)?.trim(),
        first_pid.to_string(),
        "the first kad's pid file is left as it was"
    );

    Ok(())
}

/// Issue 13 item 9: two kads on one configuration file, without pid files: the second
/// refuses to run, naming the file and the first kad's pid; the first keeps running.
#[test]
fn a_second_kad_on_the_same_configuration_refuses_to_run() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("cf", ROUTERS)?;
    let conf = lab.dir().join("shared.conf");
    std::fs::write(&conf, vrrp_instance("VI_CF", 82, 150, VIP, ""))?;
    let conf = conf.to_string_lossy().into_owned();
    let bin = kad_bin()?;
    let start = |lab: &mut Lab, host: &str| -> Result<usize> {
        let socket = lab.dir().join(format!("{host}.sock"));
        let socket = socket.to_string_lossy().into_owned();
        let kad = lab.start(host, &bin, &["-f", &conf, "--control-socket", &socket])?;
        lab.wait_until_started(kad);
        Ok(kad)
    };
    let first = start(&mut lab, "r1")?;
    wait_master(&lab, first)?;
    let first_pid = lab.daemon(first)?.pid();

    let second = start(&mut lab, "r2")?;
    let exited = lab.daemon(second)?.wait_exit(Duration::from_secs(10))?;
    let log = lab.daemon_log(second)?;
    assert!(exited, "the second kad runs\n{}", lab.logs());
    assert!(
        log.contains("already running")
            && log.contains(&conf)
            && log.contains(&first_pid.to_string()),
        "{log}"
    );
    assert!(lab.daemon(first)?.is_running(), "{}", lab.logs());
    Ok(())
}

/// Issue 13 item 9: a FIFO as `track_file` (with no writer) does not stall VRRP: kad
/// becomes MASTER, keeps advertising, and stops at once on SIGTERM.
#[test]
fn a_fifo_as_track_file_does_not_stall_vrrp() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("tf", &[("r1", 1)])?;
    let fifo = lab.dir().join("level.fifo");
    mkfifo(&fifo)?;
    let config = format!(
        "track_file level {{\n  file {}\n  weight 1\n}}\n{}",
        fifo.display(),
        vrrp_instance("VI_TF", 91, 150, VIP, "  track_file {\n    level\n  }\n")
    );
    let kad = ops::start_kad(&mut lab, "r1", &config, &[], &[])?.0;
    wait_master(&lab, kad)?;
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    watch.drain();
    let sent = count_adverts(&watch, Duration::from_secs(2))?;
    assert!(sent >= 16, "{sent} adverts in 2 s\n{}", lab.logs());
    let daemon = lab.daemon(kad)?;
    daemon.signal(libc::SIGTERM)?;
    let stopped = daemon.wait_exit(Duration::from_secs(5))?;
    // Unblock a reader stuck on the FIFO (the code before the fix).
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags_nonblock()
        .open(&fifo);
    assert!(stopped, "kad did not stop within 5 s\n{}", lab.logs());
    assert!(
        lab.daemon_log(kad)?.contains("not a regular file"),
        "{}",
        lab.logs()
    );
    Ok(())
}

/// `OpenOptions` with `O_NONBLOCK`.
trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt as _;
        self.custom_flags(libc::O_NONBLOCK)
    }
}

/// A process started outside the lab's helpers, killed when dropped.
struct Spawned {
    child: Child,
    log: PathBuf,
}

impl Spawned {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nsenter --net=/run/netns/NS PROGRAM ARGS…`: the network namespace only, `/sys` stays
/// the machine's (unlike `ip netns exec`, which remounts it).
fn nsenter(ns: &str, args: &[&str], log: &Path) -> Result<Command> {
    let out = std::fs::File::create(log)?;
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--net=/run/netns/{ns}"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    Ok(command)
}

/// Issue 13 item 10: kad started by `nsenter -n` into a namespace, its `/sys` still the
/// machine's (where the namespace's interfaces do not show), finds its interface, becomes
/// MASTER and adds its VIP; `kad -t` there finds the interface too.
#[test]
fn kad_started_by_nsenter_without_its_sysfs_runs() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::new("ne")?;
    let ns = lab.add_host("r1", 1)?.ns.name().to_owned();
    // An interface whose name the machine's own namespace does not have.
    let iface = "kadnsx0";
    lab.host("r1")?.add_local_link(iface, "kadnsx1")?;
    lab.host("r1")?
        .ns
        .ip(&["addr", "add", "10.78.0.1/24", "dev", iface])?;
    assert!(
        !Path::new("/sys/class/net").join(iface).exists(),
        "the machine's sysfs must not show {iface}"
    );
    let vip = "10.78.0.100";
    let config = format!(
        "vrrp_instance VI_NS {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id 95\n\
         \x20 priority 150\n  advert_int 0.1\n  version 3\n\
         \x20 virtual_ipaddress {{\n    {vip}/24 dev {iface}\n  }}\n}}\n"
    );
    let dir = lab.dir().to_path_buf();
    let conf = dir.join("ns.conf");
    std::fs::write(&conf, &config)?;
    let bin = kad_bin()?.to_string_lossy().into_owned();
    let conf_arg = conf.to_string_lossy().into_owned();
    let socket = dir.join("ns.sock").to_string_lossy().into_owned();

    let test_log = dir.join("kad-t.log");
    let status = nsenter(&ns, &[&bin, "-t", "-f", &conf_arg], &test_log)?.status()?;
    let text = std::fs::read_to_string(&test_log)?;
    assert!(
        !text.contains("doesn't exist"),
        "kad -t under nsenter: {status}\n{text}"
    );
    assert!(status.success(), "kad -t under nsenter: {status}\n{text}");
    // And an interface only the machine's namespace has (its sysfs shows it) is missing.
    let host_only = std::fs::read_dir("/sys/class/net")?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| !["lo", "eth0", iface, "kadnsx1"].contains(&name.as_str()));
    if let Some(other) = host_only {
        let elsewhere = dir.join("elsewhere.conf");
        std::fs::write(&elsewhere, config.replace(iface, &other))?;
        let elsewhere = elsewhere.to_string_lossy().into_owned();
        nsenter(&ns, &[&bin, "-t", "-f", &elsewhere], &test_log)?.status()?;
        let text = std::fs::read_to_string(&test_log)?;
        assert!(
            text.contains(&format!("interface {other} ")) && text.contains("doesn't exist"),
            "kad -t under nsenter must not see the machine's {other}:\n{text}"
        );
    }

    let log = dir.join("kad-ns.log");
    // The machine's /run is this kad's too: its pid files go to the lab folder.
    let pid = |kind: &str| {
        dir.join(format!("{kind}.pid"))
            .to_string_lossy()
            .into_owned()
    };
    let (main_pid, vrrp_pid) = (pid("main"), pid("vrrp"));
    let child = nsenter(
        &ns,
        &[
            &bin,
            "-f",
            &conf_arg,
            "--control-socket",
            &socket,
            "-p",
            &main_pid,
            "-r",
            &vrrp_pid,
        ],
        &log,
    )?
    .spawn()?;
    let kad = Spawned { child, log };
    let host = lab.host("r1")?;
    lab.wait_for(
        "kad under nsenter holds its VIP",
        Duration::from_secs(20),
        || host.has_address(vip),
    )
    .with_context(|| kad.log())?;
    assert!(kad.log().contains("Entering MASTER STATE"), "{}", kad.log());
    drop(kad);
    Ok(())
}

/// Issue 13 item 2: the packaged unit gives kad its own /tmp (where the signal dumps go)
/// and the umask kad defaults to, and still says why in its comments.
#[test]
fn the_unit_has_a_private_tmp_and_umask_0077() -> Result<()> {
    let path = kad_tests::repo_root().join("packaging/kad.service");
    let unit = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let settings: Vec<&str> = unit
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .collect();
    assert!(settings.contains(&"PrivateTmp=yes"), "{unit}");
    assert!(settings.contains(&"UMask=0077"), "{unit}");
    assert!(
        unit.contains("/tmp/systemd-private-*-kad.service-*/tmp/"),
        "the unit says where the dumps are"
    );
    Ok(())
}
