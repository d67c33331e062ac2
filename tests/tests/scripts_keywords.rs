//! keepalived.conf scripts kad once parsed and ignored, kad against keepalived 2.2.7 on the
//! same lab: global `startup_script` (run and waited for before the instances start, killed
//! after `startup_script_timeout`) and `shutdown_script` (after the instances stopped and
//! notified STOP, killed after `shutdown_script_timeout`); an instance's
//! `notify_master_rx_lower_pri` (run, alone, when the Master receives a lower priority);
//! `-V` (VIPs kept at stop); `-u` (umask over global_defs `umask`); `data_use_instance`
//! (dump names); a sync group's `notify_priority_changes` (MASTER_PRIORITY on the FIFO).

use std::{
    net::{IpAddr, Ipv4Addr},
    path::Path,
    time::Duration,
};

use anyhow::{Result, ensure};
use kad::{
    net::{garp::FrameSender, interface::ifindex},
    vrrp::packet::{AdvertSpec, AuthConfig, ChecksumMode, Ipv4Options, Version, encode_ipv4_vec},
};
use kad_tests::{
    conf::lab_instance,
    lab::{Host, Lab, ROUTERS, VIP},
    scratch,
};

/// Which daemon runs on r1.
#[derive(Clone, Copy, Debug)]
enum Daemon {
    Kad,
    Keepalived,
}

const SECURE: &str = "  script_user root\n  enable_script_security\n";

/// Starts `daemon` on r1 with `global` lines (`SCRIPT` standing for a script that appends
/// its arguments to a log) and the lab instance with `instance` lines; returns the lab,
/// the daemon and the log's path.
fn start(
    tag: &str,
    daemon: Daemon,
    global: &str,
    instance: &str,
) -> Result<(Lab, usize, std::path::PathBuf)> {
    let dir = scratch::dir(tag)?;
    let log = dir.join("events.log");
    let script = dir.join("event.sh");
    scratch::script(&script, &format!("echo \"$*\" >> {}", log.display()), 0o755)?;
    let script = script.to_string_lossy();
    let config = format!(
        "global_defs {{\n{SECURE}{}}}\n{}",
        global.replace("SCRIPT", &script),
        lab_instance(200, &instance.replace("SCRIPT", &script))
    );
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let started = match daemon {
        Daemon::Kad => lab.start_kad("r1", &config)?,
        Daemon::Keepalived => lab.start_keepalived("r1", &config)?,
    };
    Ok((lab, started, log))
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The events of a run of `daemon`: started alone on r1 (it becomes Master), then stopped
/// with SIGTERM. The startup script logs `start` and then outlives its 1 s timeout; the
/// shutdown script logs `stop` and outlives its own.
fn start_and_stop(tag: &str, daemon: Daemon) -> Result<String> {
    let global = "  startup_script \"/bin/sh -c 'SCRIPT start; exec sleep 100'\"\n\
                  \x20 startup_script_timeout 1\n\
                  \x20 shutdown_script \"/bin/sh -c 'SCRIPT stop; exec sleep 100'\"\n\
                  \x20 shutdown_script_timeout 1\n";
    let (mut lab, started, log) = start(tag, daemon, global, "  notify SCRIPT\n")?;
    lab.wait_for(
        "the instance notifies MASTER",
        Duration::from_secs(10),
        || Ok(read(&log).contains("MASTER")),
    )?;
    lab.daemon(started)?.signal(libc::SIGTERM)?;
    let exited = lab.daemon(started)?.wait_exit(Duration::from_secs(8))?;
    ensure!(exited, "{daemon:?} still running\n{}", lab.logs());
    Ok(read(&log))
}

#[test]
fn startup_and_shutdown_scripts_run_first_and_last_as_keepalived_runs_them() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = start_and_stop("ssk", Daemon::Keepalived)?;
    assert_eq!(
        keepalived,
        "start\nINSTANCE LAB BACKUP 200\nINSTANCE LAB MASTER 200\nINSTANCE LAB STOP 200\nstop\n",
        "keepalived"
    );
    let kad = start_and_stop("ssd", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad's events, then keepalived's");
    Ok(())
}

/// A VRRPv3 advert for the lab instance (VRID 51, the lab VIP, 0.1 s) at `priority` from
/// r2's address, in an Ethernet frame to the VRRP multicast group.
fn lab_advert(priority: u8) -> Result<Vec<u8>> {
    let vip: [IpAddr; 1] = [VIP.parse()?];
    let spec = AdvertSpec {
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs: 10,
        addresses: &vip,
        auth: AuthConfig::None,
        ah_seq: 0,
        src: IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2)),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        checksum: ChecksumMode::PseudoHeader,
    };
    let mut frame = vec![
        0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 0x66, 0x08, 0x00,
    ];
    frame.extend_from_slice(&encode_ipv4_vec(&spec, &Ipv4Options::keepalived(7))?);
    Ok(frame)
}

/// The events logged after `daemon`, Master at 200 on r1, receives one advert at priority
/// 100 from r2, with `notify_master_rx_lower_pri` and the generic `notify` script set.
fn lower_priority_advert(tag: &str, daemon: Daemon) -> Result<String> {
    let instance = "  notify SCRIPT\n  notify_master_rx_lower_pri \"SCRIPT rx_lower\"\n";
    let (lab, _, log) = start(tag, daemon, "", instance)?;
    lab.wait_for(
        "the instance notifies MASTER",
        Duration::from_secs(10),
        || Ok(read(&log).contains("MASTER 200")),
    )?;
    let before = read(&log).len();
    let frame = lab_advert(100)?;
    lab.host("r2")?.ns.run(move || {
        let sender = FrameSender::open(ifindex(Host::IFACE)?)?;
        Ok(sender.send(&frame)?)
    })?;
    lab.wait_for("the script runs", Duration::from_secs(3), || {
        Ok(read(&log).contains("rx_lower"))
    })?;
    // Anything else it would run.
    std::thread::sleep(Duration::from_millis(500));
    let text = read(&log);
    Ok(text.get(before..).unwrap_or_default().to_owned())
}

#[test]
fn notify_master_rx_lower_pri_runs_alone_as_keepalived_runs_it() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = lower_priority_advert("rlk", Daemon::Keepalived)?;
    assert_eq!(keepalived, "rx_lower\n", "keepalived");
    let kad = lower_priority_advert("rld", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad's events, then keepalived's");
    Ok(())
}

/// Whether the lab VIP is still on r1 after `daemon`, Master there alone and started with
/// `-V` (`--dont-release-vrrp`), is stopped with SIGTERM.
fn vip_after_stop_with_dont_release(tag: &str, daemon: Daemon) -> Result<bool> {
    let dir = scratch::dir(tag)?;
    let conf = dir.join("r1.conf");
    std::fs::write(&conf, lab_instance(200, ""))?;
    let conf = conf.to_string_lossy().into_owned();
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let started = match daemon {
        Daemon::Kad => {
            let socket = dir.join("kad.sock").to_string_lossy().into_owned();
            let kad = kad_tests::kad_bin()?;
            let args = [
                "-f",
                conf.as_str(),
                "-V",
                "--control-socket",
                socket.as_str(),
            ];
            lab.start("r1", &kad, &args)?
        }
        Daemon::Keepalived => {
            let pid = |kind: &str| {
                lab.keepalived_pid_file("r1", kind)
                    .to_string_lossy()
                    .into_owned()
            };
            let (main, vrrp, check) = (pid("main"), pid("vrrp"), pid("check"));
            let args = [
                "-n", "-l", "-D", "-P", "-V", "-f", &conf, "-p", &main, "-r", &vrrp, "-c", &check,
            ];
            // Its net_namespace directory under /run/keepalived/ stays in the lab folder.
            lab.start_private_run("r1", Path::new("keepalived"), &args)?
        }
    };
    lab.wait_for("r1 holds the VIP", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.daemon(started)?.signal(libc::SIGTERM)?;
    let exited = lab.daemon(started)?.wait_exit(Duration::from_secs(8))?;
    ensure!(exited, "{daemon:?} still running\n{}", lab.logs());
    lab.holds("r1", VIP)
}

#[test]
fn dont_release_vrrp_leaves_the_vips_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    assert!(
        vip_after_stop_with_dont_release("dvk", Daemon::Keepalived)?,
        "keepalived -V keeps the VIP"
    );
    assert!(
        vip_after_stop_with_dont_release("dvd", Daemon::Kad)?,
        "kad -V keeps the VIP"
    );
    Ok(())
}

/// The mode of the file the startup script of `daemon` creates, with global_defs `umask
/// 0077` and `-u 0027` on the command line.
fn startup_file_mode_under_u(tag: &str, daemon: Daemon) -> Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch::dir(tag)?;
    let made = dir.join("made");
    let conf = dir.join("r1.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n{SECURE}  umask 0077\n  startup_script \"/bin/touch {}\"\n}}\n{}",
            made.display(),
            lab_instance(200, "")
        ),
    )?;
    let conf = conf.to_string_lossy().into_owned();
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    match daemon {
        Daemon::Kad => {
            let socket = dir.join("kad.sock").to_string_lossy().into_owned();
            let args = ["-f", &conf, "-u", "0027", "--control-socket", &socket];
            lab.start("r1", &kad_tests::kad_bin()?, &args)?
        }
        Daemon::Keepalived => {
            let pid = |kind: &str| {
                lab.keepalived_pid_file("r1", kind)
                    .to_string_lossy()
                    .into_owned()
            };
            let (main, vrrp, check) = (pid("main"), pid("vrrp"), pid("check"));
            let args = [
                "-n", "-l", "-D", "-P", "-u", "0027", "-f", &conf, "-p", &main, "-r", &vrrp, "-c",
                &check,
            ];
            lab.start("r1", Path::new("keepalived"), &args)?
        }
    };
    lab.wait_for("the startup script runs", Duration::from_secs(10), || {
        Ok(made.exists())
    })?;
    Ok(std::fs::metadata(&made)?.permissions().mode() & 0o777)
}

#[test]
fn the_command_line_umask_wins_over_the_configuration_as_in_keepalived() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let keepalived = startup_file_mode_under_u("umk", Daemon::Keepalived)?;
    assert_eq!(keepalived, 0o640, "keepalived: 0{keepalived:o}");
    let kad = startup_file_mode_under_u("umd", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad: 0{kad:o}");
    Ok(())
}

/// Whether `daemon`, with `data_use_instance`, `net_namespace` (a top-level keyword) naming
/// the namespace it already runs in (r1's) and top-level `instance east`, writes its SIGUSR1
/// data file as `/tmp/keepalived.NS_east.data` (keepalived 2.2.7's open_dump_file).
fn data_file_with_namespace(tag: &str, daemon: Daemon) -> Result<bool> {
    let dir = scratch::dir(tag)?;
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let namespace = lab.host("r1")?.ns.name().to_owned();
    let expected = Path::new("/tmp").join(format!("keepalived.{namespace}_east.data"));
    let _ = std::fs::remove_file(&expected);
    let conf = dir.join("r1.conf");
    std::fs::write(
        &conf,
        format!(
            "net_namespace {namespace}\ninstance east\nglobal_defs {{\n  data_use_instance\n}}\n{}",
            lab_instance(200, "")
        ),
    )?;
    let conf = conf.to_string_lossy().into_owned();
    let started = match daemon {
        Daemon::Kad => {
            let socket = dir.join("kad.sock").to_string_lossy().into_owned();
            let args = ["-f", &conf, "--control-socket", &socket];
            lab.start("r1", &kad_tests::kad_bin()?, &args)?
        }
        Daemon::Keepalived => {
            let pid = |kind: &str| {
                lab.keepalived_pid_file("r1", kind)
                    .to_string_lossy()
                    .into_owned()
            };
            let (main, vrrp, check) = (pid("main"), pid("vrrp"), pid("check"));
            let args = [
                "-n", "-l", "-D", "-P", "-f", &conf, "-p", &main, "-r", &vrrp, "-c", &check,
            ];
            // Its net_namespace directory under /run/keepalived/ stays in the lab folder.
            lab.start_private_run("r1", Path::new("keepalived"), &args)?
        }
    };
    lab.wait_for("r1 holds the VIP", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.daemon(started)?.signal(libc::SIGUSR1)?;
    let written = lab
        .wait_for("the data file", Duration::from_secs(5), || {
            Ok(expected.exists())
        })
        .is_ok();
    let _ = std::fs::remove_file(&expected);
    Ok(written)
}

#[test]
fn data_use_instance_names_the_data_file_after_the_namespace() -> Result<()> {
    kad_tests::skip_unless!(Root);
    assert!(
        data_file_with_namespace("duk", Daemon::Keepalived)?,
        "keepalived"
    );
    assert!(data_file_with_namespace("dud", Daemon::Kad)?, "kad");
    Ok(())
}

/// The notify FIFO's priority lines when the track file of the lab instance, Master alone
/// on r1 in sync group G with `notify_priority_changes` (the instance sets none), goes from
/// 0 to 5 (weight 10: priority 200 → 250).
fn priority_lines(tag: &str, daemon: Daemon) -> Result<String> {
    let dir = scratch::dir(tag)?;
    let fifo_log = dir.join("fifo.log");
    let reader = dir.join("reader.sh");
    scratch::script(
        &reader,
        &format!("exec cat \"$1\" >> {}", fifo_log.display()),
        0o755,
    )?;
    let track = dir.join("track");
    std::fs::write(&track, "0\n")?;
    let config = format!(
        "global_defs {{\n{SECURE}  vrrp_notify_fifo {}\n  vrrp_notify_fifo_script {}\n}}\n\
         vrrp_track_file F {{\n  file {}\n}}\n{}\
         vrrp_sync_group G {{\n  group {{\n    LAB\n  }}\n  sync_group_tracking_weight\n  notify_priority_changes\n}}\n",
        dir.join("vrrp.fifo").display(),
        reader.display(),
        track.display(),
        lab_instance(200, "  track_file {\n    F weight 10\n  }\n"),
    );
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    match daemon {
        Daemon::Kad => lab.start_kad("r1", &config)?,
        Daemon::Keepalived => lab.start_keepalived("r1", &config)?,
    };
    let read = || std::fs::read_to_string(&fifo_log).unwrap_or_default();
    lab.wait_for("the instance is master", Duration::from_secs(10), || {
        Ok(read().contains("INSTANCE \"LAB\" MASTER 200"))
    })?;
    std::fs::write(&track, "5\n")?;
    lab.wait_for("the priority line", Duration::from_secs(5), || {
        Ok(read().contains("250"))
    })?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(read()
        .lines()
        .filter(|line| line.contains("PRIORITY"))
        .collect::<Vec<_>>()
        .join("\n"))
}

#[test]
fn a_sync_group_s_notify_priority_changes_writes_master_priority_as_keepalived_does() -> Result<()>
{
    kad_tests::skip_unless!(Root);
    let keepalived = priority_lines("npk", Daemon::Keepalived)?;
    assert_eq!(
        keepalived, "INSTANCE \"LAB\" MASTER_PRIORITY 250",
        "keepalived"
    );
    let kad = priority_lines("npd", Daemon::Kad)?;
    assert_eq!(kad, keepalived, "kad's lines, then keepalived's");
    Ok(())
}
