//! Process life cycle and unicast operation of `kad -f`, with keepalived 2.2.7 as the peer:
//! a `kill -9` leaves a VIP behind that the next start removes; unicast peers elect and hand
//! over without multicast.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    conf::lab_instance,
    lab::{Lab, ROUTERS, ROUTERS_AND_CLIENT, VIP, VIP6},
};

/// Whether `host`'s eth0 has an XDP program attached (`ip -d link` shows `prog/xdp`).
fn has_xdp(lab: &Lab, host: &str) -> Result<bool> {
    let output = lab
        .host(host)?
        .command("ip")
        .args(["-d", "link", "show", "dev", "eth0"])
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).contains("prog/xdp"))
}

#[test]
fn restart_after_kill_9_removes_the_stale_vip() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("k9", ROUTERS)?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad("r1", &lab_instance(200, ""))?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    assert!(has_xdp(&lab, "r1")?, "kad runs its XDP program on eth0");

    lab.daemon(kad)?.signal(libc::SIGKILL)?;
    lab.wait_for(
        "keepalived takes over from the dead kad",
        Duration::from_secs(3),
        || lab.holds("r2", VIP),
    )?;
    assert!(
        lab.holds("r1", VIP)?,
        "kill -9 leaves the VIP on r1 (as with keepalived)"
    );
    // ...but not its XDP program: the link dies with the process (nothing is pinned).
    lab.wait_for(
        "the dead kad's XDP program is detached",
        Duration::from_secs(3),
        || Ok(!has_xdp(&lab, "r1")?),
    )?;

    // Restart with a lower priority: kad stays backup, so the VIP on r1 can only go away
    // through the start-up clean-up.
    lab.start_kad("r1", &lab_instance(50, ""))?;
    lab.wait_for(
        "the restarted kad removes the stale VIP",
        Duration::from_secs(3),
        || Ok(!lab.holds("r1", VIP)?),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(lab.holds("r2", VIP)?, "keepalived keeps the VIP");
    assert!(!lab.holds("r1", VIP)?, "kad (priority 50) stays backup");
    Ok(())
}

#[test]
fn unicast_peers_elect_and_hand_over() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("uc", ROUTERS_AND_CLIENT)?;
    let unicast = |me: &str, peer: &str| {
        format!("  unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n")
    };
    let keepalived =
        lab.start_keepalived("r2", &lab_instance(100, &unicast("10.77.0.2", "10.77.0.1")))?;
    let kad = lab.start_kad("r1", &lab_instance(200, &unicast("10.77.0.1", "10.77.0.2")))?;
    lab.wait_for(
        "kad is master over unicast",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        !lab.holds("r2", VIP)?,
        "keepalived hears kad's unicast adverts\n{}",
        lab.logs()
    );
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    lab.wait_for(
        "keepalived takes over on kad's unicast priority 0",
        Duration::from_secs(2),
        || lab.holds("r2", VIP),
    )?;
    let log = lab.daemon(keepalived)?.log().to_ascii_lowercase();
    assert!(
        !log.contains("invalid") && !log.contains("bad "),
        "keepalived accepted kad's adverts:\n{log}"
    );
    Ok(())
}

/// The client's neighbour entry for `ip`, e.g. `00:00:5e:00:01:33`.
fn client_mac_for(lab: &Lab, ip: &str) -> Result<String> {
    let out = std::process::Command::new("ip")
        .args(["-n", lab.host("c")?.ns.name(), "neigh", "show", ip])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .skip_while(|word| *word != "lladdr")
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

#[test]
fn use_vmac_moves_the_virtual_mac_with_the_vip() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("vm", ROUTERS_AND_CLIENT)?;
    let vmac = "  use_vmac\n";
    lab.start_keepalived("r2", &lab_instance(100, vmac))?;
    let kad = lab.start_kad("r1", &lab_instance(200, vmac))?;
    lab.wait_for(
        "kad holds the VIP on its VMAC",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    let link = std::process::Command::new("ip")
        .args([
            "-n",
            lab.host("r1")?.ns.name(),
            "-d",
            "link",
            "show",
            "vrrp.51",
        ])
        .output()?;
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(
        link.contains("00:00:5e:00:01:33") && link.contains("macvlan"),
        "VMAC on r1: {link}"
    );
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    assert_eq!(
        client_mac_for(&lab, VIP)?,
        "00:00:5e:00:01:33",
        "the client learnt the virtual MAC"
    );

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    lab.wait_for("keepalived takes over", Duration::from_secs(2), || {
        lab.holds("r2", VIP)
    })?;
    lab.wait_for(
        "the client reaches the VIP on keepalived",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP)),
    )?;
    // (Which MAC keepalived answers with is keepalived's business; kad's side is above.)
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?);
    let gone = std::process::Command::new("ip")
        .args(["-n", lab.host("r1")?.ns.name(), "link", "show", "vrrp.51"])
        .output()?;
    assert!(!gone.status.success(), "kad removed its VMAC at exit");
    Ok(())
}

/// An IPv6 VRRPv3 instance (keepalived wants a link-local VIP first, RFC 5798 §5.2.9).
fn ipv6_instance(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance LAB6 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 52\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n{extra}\
         \x20 virtual_ipaddress {{\n    fe80::77:100/64 dev eth0\n    {VIP6}/64 dev eth0\n  }}\n}}\n"
    )
}

#[test]
fn ipv6_use_vmac_moves_the_virtual_mac_with_the_vip() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("v6", ROUTERS_AND_CLIENT)?;
    let vmac = "  use_vmac\n";
    let keepalived = lab.start_keepalived("r2", &ipv6_instance(100, vmac))?;
    let kad = lab.start_kad("r1", &ipv6_instance(200, vmac))?;
    lab.wait_for(
        "kad holds the IPv6 VIP on its VMAC",
        Duration::from_secs(10),
        || lab.holds("r1", VIP6),
    )?;
    let show = |args: &[&str]| -> Result<String> {
        let out = std::process::Command::new("ip")
            .args(["-n", lab.host("r1")?.ns.name()])
            .args(args)
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let link = show(&["-d", "link", "show", "vrrp.52"])?;
    assert!(
        link.contains("00:00:5e:00:02:34") && link.contains("macvlan"),
        "IPv6 VMAC (00:00:5e:00:02:VRID) on r1: {link}"
    );
    // The VMAC carries eth0's own link-local address (adverts' source), not one made
    // from the shared virtual MAC.
    let base = show(&["-6", "addr", "show", "dev", "eth0", "scope", "link"])?;
    let on_vmac = show(&["-6", "addr", "show", "dev", "vrrp.52", "scope", "link"])?;
    let base_ll = base
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(!base_ll.is_empty(), "eth0 has a link-local address: {base}");
    assert!(
        on_vmac.contains(&base_ll) && !on_vmac.contains("fe80::200:5eff:fe00:234"),
        "VMAC link-local: {on_vmac} (eth0: {base_ll})"
    );
    lab.wait_for(
        "the client reaches the IPv6 VIP",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP6)),
    )?;
    assert_eq!(
        client_mac_for(&lab, VIP6)?,
        "00:00:5e:00:02:34",
        "the client learnt the IPv6 virtual MAC"
    );
    assert!(
        !lab.holds("r2", VIP6)?,
        "keepalived hears kad's adverts from the VMAC and stays Backup\n{}",
        lab.logs()
    );

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    lab.wait_for("keepalived takes over", Duration::from_secs(2), || {
        lab.holds("r2", VIP6)
    })?;
    lab.wait_for(
        "the client reaches the IPv6 VIP on keepalived",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(VIP6)),
    )?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?);
    let log = lab.daemon(keepalived)?.log().to_ascii_lowercase();
    assert!(
        !log.contains("invalid") && !log.contains("bad "),
        "keepalived accepted kad's adverts:\n{log}"
    );
    Ok(())
}

#[test]
fn keepalived_command_line_runs_unchanged_and_pid_files_come_and_go() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("cl", &[("r1", 1)])?;
    let conf = lab.dir().join("kad.conf");
    std::fs::write(&conf, lab_instance(200, ""))?;
    let pid = |kind: &str| lab.dir().join(format!("{kind}.pid"));
    let (main_pid, vrrp_pid, check_pid) = (pid("main"), pid("vrrp"), pid("check"));
    let text = |path: &std::path::Path| path.to_string_lossy().into_owned();
    let kad = lab.start(
        "r1",
        &kad_tests::kad_bin()?,
        &[
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            &text(&conf),
            "-p",
            &text(&main_pid),
            "-r",
            &text(&vrrp_pid),
            "-c",
            &text(&check_pid),
        ],
    )?;
    lab.wait_for(
        "kad runs as keepalived would",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    let daemon_pid = lab.daemon(kad)?.pid().to_string();
    for file in [&main_pid, &vrrp_pid] {
        assert_eq!(
            std::fs::read_to_string(file)?.trim(),
            daemon_pid,
            "{}",
            file.display()
        );
    }
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?);
    assert!(
        !main_pid.exists() && !vrrp_pid.exists(),
        "pid files removed at exit"
    );
    Ok(())
}

/// keepalived logs to syslog by default; so does kad: `-S 3` selects LOG_LOCAL3. kad runs in
/// a private mount namespace whose `/dev/log` is this test's datagram socket.
#[test]
fn logs_reach_syslog_with_keepalived_facility() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("sl", &[("r1", 1)])?;
    let socket_path = lab.dir().join("log");
    let listener = std::os::unix::net::UnixDatagram::bind(&socket_path)?;
    listener.set_read_timeout(Some(Duration::from_millis(200)))?;
    let config = lab.dir().join("kad.conf");
    std::fs::write(&config, lab_instance(200, ""))?;
    let olddev = lab.dir().join("olddev");
    let script = format!(
        "set -e; mount --make-rprivate /; mkdir -p {old}; mount --bind /dev {old}; \
         mount -t tmpfs tmpfs /dev; \
         for n in null zero random urandom; do touch /dev/$n; mount --bind {old}/$n /dev/$n; done; \
         ln -s {sock} /dev/log; exec {kad} -f {conf} -S 3",
        old = olddev.display(),
        sock = socket_path.display(),
        kad = kad_tests::kad_bin()?.display(),
        conf = config.display(),
    );
    lab.start(
        "r1",
        std::path::Path::new("/usr/bin/unshare"),
        &["-m", "sh", "-c", &script],
    )?;
    let mut received = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < deadline {
        if let Ok(len) = listener.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..len]).into_owned();
            let master = line.contains("Entering MASTER STATE");
            received.push(line);
            if master {
                break;
            }
        }
    }
    let master = received
        .iter()
        .find(|line| line.contains("Entering MASTER STATE"))
        .unwrap_or_else(|| {
            panic!(
                "no MASTER line reached syslog: {received:#?}\n{}",
                lab.logs()
            )
        });
    // LOG_LOCAL3 (19) × 8 + LOG_INFO (6) = 158; the tag is kad[PID].
    assert!(master.starts_with("<158>"), "{master}");
    assert!(master.contains(" kad["), "{master}");
    assert!(master.contains("instance=LAB"), "{master}");
    Ok(())
}

/// `unicast_peer { ADDR min_ttl N max_ttl M }`: keepalived's unicast adverts (TTL 255) are
/// taken when 255 is in the range and dropped, with a log line naming the range, when not.
#[test]
fn unicast_peer_ttl_range_is_enforced() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (range, accepted) in [
        ("min_ttl 250 max_ttl 255", true),
        ("min_ttl 1 max_ttl 64", false),
    ] {
        let mut lab = Lab::with_hosts("ut", ROUTERS)?;
        let keepalived_side =
            "  unicast_src_ip 10.77.0.2\n  unicast_peer {\n    10.77.0.1\n  }\n".to_owned();
        let kad_side =
            format!("  unicast_src_ip 10.77.0.1\n  unicast_peer {{\n    10.77.0.2 {range}\n  }}\n");
        lab.start_keepalived("r2", &lab_instance(200, &keepalived_side))?;
        lab.wait_for("keepalived is master", Duration::from_secs(10), || {
            lab.holds("r2", VIP)
        })?;
        let kad = lab.start_kad("r1", &lab_instance(100, &kad_side))?;
        std::thread::sleep(Duration::from_secs(5));
        let kad_master = lab.holds("r1", VIP)?;
        let log = lab.daemon(kad)?.log();
        if accepted {
            assert!(!kad_master, "{range}: kad must hear keepalived\n{log}");
        } else {
            assert!(kad_master, "{range}: TTL 255 must be dropped\n{log}");
            assert!(
                log.contains("outside this peer's min_ttl 1 .. max_ttl 64"),
                "the drop is logged with the range:\n{log}"
            );
        }
    }
    Ok(())
}

/// Gratuitous ARPs of one interface are spaced by keepalived's `vrrp_garp_interval`
/// (`garp_group` overrides it per interface); without it they go back to back.
#[test]
fn gratuitous_arps_are_spaced_by_garp_interval() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (global, expect_gap) in [
        ("", None),
        (
            "global_defs {\n  vrrp_garp_interval 0.1\n}\n",
            Some(Duration::from_millis(95)),
        ),
    ] {
        let mut lab = Lab::with_hosts("ga", &[("r1", 1), ("c", 10)])?;
        let pcap = lab.dir().join("arp.pcap");
        let pcap_text = pcap.to_string_lossy().into_owned();
        let tcpdump = lab.start(
            "c",
            std::path::Path::new("/usr/bin/tcpdump"),
            &[
                "-Z",
                "root",
                "--immediate-mode",
                "-i",
                "eth0",
                "-U",
                "-n",
                "-w",
                &pcap_text,
                "arp",
            ],
        )?;
        std::thread::sleep(Duration::from_millis(500));
        let config = format!(
            "{global}{}",
            lab_instance(200, "  garp_master_repeat 4\n  garp_master_delay 0\n")
        );
        lab.start_kad("r1", &config)?;
        lab.wait_for("kad is master", Duration::from_secs(10), || {
            lab.holds("r1", VIP)
        })?;
        std::thread::sleep(Duration::from_millis(800));
        lab.daemon(tcpdump)?.signal(libc::SIGTERM)?;
        lab.daemon(tcpdump)?.wait_exit(Duration::from_secs(5))?;
        let vip: std::net::Ipv4Addr = VIP.parse()?;
        let times: Vec<Duration> = kad_tests::capture::read_frames(&pcap)?
            .into_iter()
            // ARP (0x0806) whose sender protocol address (bytes 28..32) is the VIP.
            .filter(|f| {
                f.data.get(12..14) == Some(&[0x08, 0x06])
                    && f.data.get(28..32) == Some(&vip.octets())
            })
            .map(|f| f.timestamp)
            .collect();
        assert!(
            times.len() >= 4,
            "4 gratuitous ARPs expected, saw {}: {times:?}\n{}",
            times.len(),
            lab.logs()
        );
        let gaps: Vec<Duration> = times
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        match expect_gap {
            Some(min) => assert!(
                gaps.iter().take(3).all(|gap| *gap >= min),
                "vrrp_garp_interval 0.1: gaps {gaps:?}"
            ),
            None => assert!(
                gaps.iter()
                    .take(3)
                    .all(|gap| *gap < Duration::from_millis(50)),
                "no interval: back to back, gaps {gaps:?}"
            ),
        }
    }
    Ok(())
}

/// The instance's interface is deleted and created again (new ifindex, same name): kad goes
/// to FAULT, keepalived takes over, and once the interface is back kad restarts the
/// instance on it (new socket, XDP attached again) and preempts again.
#[test]
fn a_re_created_interface_gets_its_instance_back() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("rc", ROUTERS_AND_CLIENT)?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad("r1", &lab_instance(200, ""))?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.host("r1")?.ns.ip(&["link", "del", "eth0"])?;
    lab.wait_for(
        "keepalived takes over from kad without an interface",
        Duration::from_secs(5),
        || lab.holds("r2", VIP),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    lab.replug_host_back("r1", 1)?;
    lab.wait_for(
        "kad (priority 200) is master again on the new interface",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for("keepalived backs off", Duration::from_secs(3), || {
        Ok(!lab.holds("r2", VIP)?)
    })?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let log = lab.daemon(kad)?.log();
    assert!(log.contains("interface re-created"), "{log}");
    assert!(has_xdp(&lab, "r1")?, "XDP attached to the new eth0\n{log}");
    Ok(())
}

/// keepalived follows the interface's primary address: when the address kad sends adverts
/// from is removed, the instance carries on from the next one, with no state change, and
/// keepalived keeps hearing it.
#[test]
fn adverts_follow_the_primary_address_when_it_is_removed() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("pa", ROUTERS)?;
    let r1 = lab.host("r1")?;
    // As keepalived recommends: the secondaries (the next address, the VIP) survive the
    // primary's removal.
    r1.command("sysctl")
        .args(["-qw", "net.ipv4.conf.eth0.promote_secondaries=1"])
        .status()?;
    r1.ns.ip(&["addr", "add", "10.77.0.51/24", "dev", "eth0"])?;
    lab.start_keepalived("r2", &lab_instance(100, ""))?;
    let kad = lab.start_kad("r1", &lab_instance(200, ""))?;
    lab.wait_for("kad is master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let transitions = lab.daemon(kad)?.log().matches("Entering").count();
    lab.host("r1")?
        .ns
        .ip(&["addr", "del", "10.77.0.1/24", "dev", "eth0"])?;
    std::thread::sleep(Duration::from_secs(4));
    let log = lab.daemon(kad)?.log();
    assert!(
        log.contains("new=10.77.0.51"),
        "kad moves to the next address\n{log}"
    );
    assert_eq!(
        log.matches("Entering").count(),
        transitions,
        "no state change\n{log}"
    );
    assert!(lab.holds("r1", VIP)?, "kad stays master");
    assert!(
        !lab.holds("r2", VIP)?,
        "keepalived hears kad's adverts from the new source\n{}",
        lab.logs()
    );
    Ok(())
}
