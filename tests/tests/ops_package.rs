//! The Debian package (issue 8, "Must show"): build it the way `cargo xtask package` does,
//! `dpkg -i` it on this machine (its maintainer scripts must succeed here, where systemd is
//! not PID 1), check what it installed (gzipped man pages and documents, conffiles, the
//! unit enabled), `kad -t` the packaged default configuration, then start the installed
//! binary — with the command line of the packaged systemd unit and /etc/default/kad, but
//! without systemctl — inside a fresh network namespace, see it report READY=1 and answer
//! `kad status`, and stop it with SIGTERM. Then `dpkg -r` (configuration kept) and
//! `dpkg --purge` (/etc/kad gone). The package is purged afterwards whatever happens.
//!
//! Building reuses the release build of `KAD_BIN` when it is `<target>/release/kad`.

use std::{
    os::unix::net::UnixDatagram,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail, ensure};
use kad_tests::lab::Lab;

/// The cargo target directory holding kad's release build.
fn target_dir() -> PathBuf {
    let from_kad_bin = std::env::var_os("KAD_BIN")
        .map(PathBuf::from)
        .and_then(|bin| {
            let release = bin.parent()?;
            (release.file_name()? == "release").then(|| release.parent().map(Path::to_path_buf))?
        });
    from_kad_bin
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| kad_tests::repo_root().join("target"))
}

/// `cargo xtask package`; returns the .deb it printed.
fn build_package() -> Result<PathBuf> {
    let out = kad_tests::daemon_binary::cargo()
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["xtask", "package"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo xtask package")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "cargo xtask package: {}\n{stdout}",
        out.status
    );
    let deb = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| line.ends_with(".deb"))
        .map(PathBuf::from)
        .with_context(|| format!("no .deb path printed:\n{stdout}"))?;
    ensure!(deb.is_file(), "{} does not exist", deb.display());
    Ok(deb)
}

/// Runs `program args`, fails unless it exits 0; returns stdout.
fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {program}"))?;
    ensure!(
        out.status.success(),
        "{program} {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The installed package, purged when dropped (also when the test fails or panics).
struct Installed;

impl Installed {
    /// `dpkg -i`; returns the guard and what dpkg (and the maintainer scripts) printed.
    fn install(deb: &Path) -> Result<(Self, String)> {
        let guard = Self;
        let out = Command::new("dpkg")
            .args(["-i", &deb.to_string_lossy()])
            .stdin(Stdio::null())
            .output()
            .context("starting dpkg")?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(out.status.success(), "dpkg -i: {}\n{said}", out.status);
        Ok((guard, said))
    }
}

/// dpkg's status of the package kad (`install ok installed`, `deinstall ok config-files`...).
fn package_status() -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "kad"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// `gzip -dc FILE`.
fn gunzip(path: &str) -> Result<String> {
    run("gzip", &["-dc", path])
}

/// Where deb-systemd-helper records that the unit is enabled (multi-user.target's wants).
const WANTS_LINK: &str = "/etc/systemd/system/multi-user.target.wants/kad.service";

impl Drop for Installed {
    fn drop(&mut self) {
        match Command::new("dpkg")
            .args(["--purge", "kad"])
            .stdout(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => {}
            other => eprintln!("dpkg --purge kad: {other:?}"),
        }
    }
}

/// A process started by the test, killed when dropped unless it was waited for.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The packaged unit's `ExecStart=` with `$DAEMON_ARGS` taken from the packaged
/// /etc/default/kad: the command line systemd would run.
fn unit_command_line() -> Result<Vec<String>> {
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/kad.service")?;
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .context("the unit has no ExecStart=")?;
    let default = std::fs::read_to_string("/etc/default/kad")?;
    let daemon_args = default
        .lines()
        .find_map(|line| line.trim().strip_prefix("DAEMON_ARGS="))
        .context("/etc/default/kad sets no DAEMON_ARGS")?
        .trim_matches('"');
    Ok(exec
        .split_whitespace()
        .flat_map(|word| {
            if word == "$DAEMON_ARGS" {
                daemon_args.split_whitespace().collect::<Vec<_>>()
            } else {
                vec![word]
            }
        })
        .map(str::to_owned)
        .collect())
}

/// Reads sd_notify datagrams until one has the line `line`; fails early if `process` exits.
fn wait_notify(
    socket: &UnixDatagram,
    process: &mut Process,
    line: &str,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(exit) = process.0.try_wait()? {
            bail!("kad exited ({exit}) before {line:?}; seen {seen:?}");
        }
        if let Ok(len) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..len]).into_owned();
            if message.lines().any(|l| l == line) {
                return Ok(());
            }
            seen.push(message);
        }
    }
    bail!("no {line:?} within {timeout:?}; seen {seen:?}")
}

#[test]
fn debian_package_installs_and_its_binary_runs_the_default_config() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let deb = build_package()?;
    let (_installed, said) = Installed::install(&deb)?;

    // The maintainer scripts ran, without complaint, and left the package configured.
    assert_eq!(
        package_status(),
        "install ok installed",
        "dpkg -i said:\n{said}"
    );
    assert!(
        !said.to_lowercase().contains("error") && !said.contains("warning"),
        "dpkg -i (maintainer scripts included) complained:\n{said}"
    );
    // postinst enabled the unit although systemd is not running here: the link
    // deb-systemd-helper makes.
    let wants = std::fs::read_link(WANTS_LINK).with_context(|| format!("{WANTS_LINK}: {said}"))?;
    // (deb-systemd-helper names /lib/systemd/system, the same directory on a merged /usr.)
    assert_eq!(
        std::fs::canonicalize(&wants)?,
        std::fs::canonicalize("/usr/lib/systemd/system/kad.service")?,
        "{WANTS_LINK} -> {}",
        wants.display()
    );

    let files = run("dpkg", &["-L", "kad"])?;
    for path in [
        "/usr/sbin/kad",
        "/usr/lib/systemd/system/kad.service",
        "/usr/share/man/man8/kad.8.gz",
        "/usr/share/man/man8/kad-status.8.gz",
        "/usr/share/doc/kad/README.md.gz",
        "/usr/share/doc/kad/keywords.md.gz",
        "/usr/share/doc/kad/config-compat.md.gz",
        "/usr/share/doc/kad/copyright",
        "/etc/kad/kad.conf",
        "/etc/default/kad",
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "dpkg -L kad lists {path}:\n{files}"
        );
    }
    let conffiles = run("dpkg-query", &["-W", "-f=${Conffiles}", "kad"])?;
    assert!(
        conffiles.contains("/etc/kad/kad.conf"),
        "the default config is a conffile: {conffiles}"
    );
    assert!(
        !files.lines().any(|l| l.ends_with(".8")),
        "man pages are gzipped (Debian policy 12.1):\n{files}"
    );
    let man = gunzip("/usr/share/man/man8/kad.8.gz")?;
    assert!(
        man.contains(".TH kad 8") && man.contains("config\\-test"),
        "kad.8 is a section-8 page listing the options"
    );
    // The keyword page shipped is the one generated from this build's keyword tables.
    assert_eq!(
        gunzip("/usr/share/doc/kad/keywords.md.gz")?,
        kad::config::catalogue::markdown(),
        "/usr/share/doc/kad/keywords.md.gz is current"
    );

    // systemd's own check of the installed unit: directives, capabilities, the ExecStart
    // binary and the Documentation= man page.
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let verify = Command::new("systemd-analyze")
            .args(["verify", "/usr/lib/systemd/system/kad.service"])
            .output()?;
        let complaints = String::from_utf8_lossy(&verify.stderr);
        assert!(
            verify.status.success() && complaints.trim().is_empty(),
            "systemd-analyze verify kad.service: {}\n{complaints}",
            verify.status
        );
    } else {
        eprintln!("note: no systemd-analyze here; the unit file is not verified");
    }

    // `kad -t` on the packaged default configuration.
    let check = Command::new("/usr/sbin/kad")
        .args(["-t", "-f", "/etc/kad/kad.conf"])
        .output()?;
    assert_eq!(
        check.status.code(),
        Some(0),
        "kad -t -f /etc/kad/kad.conf: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    // The unit's command line, systemctl-less, in a fresh namespace.
    let lab = Lab::with_hosts("pkg", &[("r1", 1)])?;
    let notify_path = lab.dir().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path)?;
    notify.set_read_timeout(Some(Duration::from_millis(200)))?;
    let control = lab.dir().join("kad.sock");
    let log_path = lab.dir().join("kad.log");
    let command_line = unit_command_line()?;
    assert_eq!(
        command_line.first().map(String::as_str),
        Some("/usr/sbin/kad")
    );
    assert!(
        command_line.iter().any(|a| a == "/etc/kad/kad.conf"),
        "the unit runs the packaged config via DAEMON_ARGS: {command_line:?}"
    );
    let log = std::fs::File::create(&log_path)?;
    let mut command = lab.host("r1")?.command("/usr/bin/env");
    command
        .arg(format!("NOTIFY_SOCKET={}", notify_path.display()))
        .args(&command_line)
        .arg("--control-socket")
        .arg(&control)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut kad = Process(command.spawn().context("starting the installed kad")?);
    let logs = || std::fs::read_to_string(&log_path).unwrap_or_default();

    wait_notify(&notify, &mut kad, "READY=1", Duration::from_secs(30)).with_context(logs)?;
    let status = Command::new("/usr/sbin/kad")
        .arg("status")
        .arg("--control-socket")
        .arg(&control)
        .output()?;
    assert!(
        status.status.success(),
        "kad status answers: {}\n{}",
        String::from_utf8_lossy(&status.stderr),
        logs()
    );

    let pid = i32::try_from(kad.0.id())?;
    // SAFETY: kill(2) on our own child's pid.
    ensure!(unsafe { libc::kill(pid, libc::SIGTERM) } == 0, "kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = kad.0.try_wait()? {
            break exit;
        }
        ensure!(
            Instant::now() < deadline,
            "kad still runs 10 s after SIGTERM\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0), "exit after SIGTERM\n{}", logs());

    // Remove: the configuration stays (conffiles and what the administrator added).
    std::fs::write("/etc/kad/local.conf", "# added by the administrator\n")?;
    run("dpkg", &["-r", "kad"])?;
    assert_eq!(package_status(), "deinstall ok config-files");
    assert!(
        !Path::new("/usr/sbin/kad").exists(),
        "the binary is removed"
    );
    assert!(Path::new("/etc/kad/kad.conf").exists() && Path::new("/etc/default/kad").exists());
    assert!(Path::new("/etc/kad/local.conf").exists());
    // Purge: /etc/kad goes, with the administrator's file; the enablement is forgotten.
    let purged = run("dpkg", &["--purge", "kad"])?;
    let status = package_status();
    assert!(
        status.is_empty() || status.ends_with("not-installed"),
        "dpkg forgot kad: {status} ({purged})"
    );
    for gone in [
        "/etc/kad",
        "/etc/default/kad",
        WANTS_LINK,
        "/etc/systemd/system/kad.service",
    ] {
        assert!(
            std::fs::symlink_metadata(gone).is_err(),
            "{gone} is left after purge ({purged})"
        );
    }
    Ok(())
}
