//! keepalived.conf keywords that change what kad puts on the wire, on a real segment beside
//! keepalived 2.2.7: `mcast_dst_ip` (adverts go to that group, which kad's socket joins and
//! its receive paths accept).

use std::time::Duration;

use anyhow::{Context as _, Result};
use kad_tests::{
    advert_watch::AdvertWatch,
    conf::{lab_instance, vrrp_instance},
    lab::{Lab, ROUTERS, VIP, VIP6},
};

/// keepalived.conf text for `router` at `priority`, `extra` lines in the lab instance.
fn config(router: &str, priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id {router}\n}}\n{}",
        lab_instance(priority, extra)
    )
}

/// Like [`config`] for IPv6 (VRRPv3, a link-local VIP first as keepalived wants).
fn config6(router: &str, priority: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  router_id {router}\n}}\n\
         vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n{extra}\
         \x20 virtual_ipaddress {{\n    fe80::77:100/64 dev eth0\n    {VIP6}/64 dev eth0\n  }}\n}}\n"
    )
}

/// The IP destination of a captured VRRP frame (from the destination MAC on).
fn destination(frame: &[u8]) -> Option<std::net::IpAddr> {
    match frame.get(12..14)? {
        [0x08, 0x00] => {
            let octets: [u8; 4] = frame.get(14 + 16..14 + 20)?.try_into().ok()?;
            Some(octets.into())
        }
        [0x86, 0xdd] => {
            let octets: [u8; 16] = frame.get(14 + 24..14 + 40)?.try_into().ok()?;
            Some(octets.into())
        }
        _ => None,
    }
}

/// keepalived on r2 at 100 is master; kad on r1 at 200 joins and preempts, and keepalived
/// (whose socket is bound to the group: it hears only adverts sent there) backs off and stays
/// Backup; every advert kad sends goes to `group`.
fn kad_preempts_keepalived_on_group(
    tag: &str,
    conf: fn(&str, u8, &str) -> String,
    vip: &str,
    group: &str,
    no_xdp: bool,
) -> Result<()> {
    let extra = format!("  mcast_dst_ip {group}\n");
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    if no_xdp {
        lab.kad_args.push("--no-xdp".into());
    }
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    lab.start_keepalived("r2", &conf("r2", 100, &extra))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", vip)
    })?;
    lab.start_kad("r1", &conf("r1", 200, &extra))?;
    lab.wait_for(
        "kad (priority 200) preempts",
        Duration::from_secs(3),
        || lab.holds("r1", vip),
    )?;
    lab.wait_for(
        "keepalived hears kad on the group and backs off",
        Duration::from_secs(2),
        || Ok(!lab.holds("r2", vip)?),
    )?;
    watch.drain();
    for _ in 0..3 {
        let frame = watch
            .next_frame(Duration::from_secs(1))?
            .context("kad sends adverts")?;
        assert_eq!(
            destination(&frame),
            group.parse().ok(),
            "kad's advert goes to mcast_dst_ip"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !lab.holds("r2", vip)?,
        "keepalived stays backup\n{}",
        lab.logs()
    );
    assert!(lab.holds("r1", vip)?, "kad stays master\n{}", lab.logs());
    Ok(())
}

/// kad on r1 at 100 is master; keepalived on r2 at 200 joins and preempts; kad hears its
/// adverts on the group and stays Backup.
fn keepalived_preempts_kad_on_group(tag: &str, group: &str, no_xdp: bool) -> Result<()> {
    let extra = format!("  mcast_dst_ip {group}\n");
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    if no_xdp {
        lab.kad_args.push("--no-xdp".into());
    }
    lab.start_kad("r1", &config("r1", 100, &extra))?;
    lab.wait_for("kad becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.start_keepalived("r2", &config("r2", 200, &extra))?;
    lab.wait_for(
        "keepalived (priority 200) preempts",
        Duration::from_secs(3),
        || lab.holds("r2", VIP),
    )?;
    lab.wait_for(
        "kad hears keepalived on the group and backs off",
        Duration::from_secs(2),
        || Ok(!lab.holds("r1", VIP)?),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(!lab.holds("r1", VIP)?, "kad stays backup\n{}", lab.logs());
    Ok(())
}

#[test]
fn mcast_dst_ip_kad_preempts_keepalived_on_the_group() -> Result<()> {
    kad_tests::skip_unless!(Root);
    kad_preempts_keepalived_on_group("mdk", config, VIP, "224.0.0.19", false)
}

/// Through raw sockets (`--no-xdp`), kad hears only the groups its socket joined.
#[test]
fn mcast_dst_ip_keepalived_preempts_kad_on_the_group_raw_sockets() -> Result<()> {
    kad_tests::skip_unless!(Root);
    keepalived_preempts_kad_on_group("mdr", "224.0.0.19", true)
}

#[test]
fn mcast_dst_ip_ipv6_kad_preempts_keepalived_on_the_group() -> Result<()> {
    kad_tests::skip_unless!(Root);
    kad_preempts_keepalived_on_group("md6", config6, VIP6, "ff02::13", false)
}

/// A unicast instance between r1 and r2 (`unicast_src_ip`, `unicast_peer`), `extra` lines
/// added.
fn unicast_config(router: &str, priority: u8, extra: &str) -> String {
    let (own, peer) = if router == "r1" {
        ("10.77.0.1", "10.77.0.2")
    } else {
        ("10.77.0.2", "10.77.0.1")
    };
    config(
        router,
        priority,
        &format!("  unicast_src_ip {own}\n  unicast_peer {{\n    {peer}\n  }}\n{extra}"),
    )
}

/// The IPv4 TTL of a captured frame.
fn ttl(frame: &[u8]) -> Option<u8> {
    (frame.get(12..14)? == [0x08, 0x00])
        .then(|| frame.get(14 + 8).copied())
        .flatten()
}

/// `unicast_ttl 64`: kad's unicast adverts carry TTL 64, and keepalived, which checks no TTL
/// on unicast adverts (only a peer's `min_ttl`/`max_ttl`), accepts them: it backs off before
/// kad's higher priority. Without the keyword the TTL is 255.
#[test]
fn unicast_ttl_sets_the_ttl_of_unicast_adverts() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("uttl", ROUTERS)?;
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    lab.start_keepalived("r2", &unicast_config("r2", 100, ""))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    let kad = lab.start_kad("r1", &unicast_config("r1", 200, "  unicast_ttl 64\n"))?;
    lab.wait_for(
        "kad (priority 200) preempts",
        Duration::from_secs(3),
        || lab.holds("r1", VIP),
    )?;
    lab.wait_for(
        "keepalived accepts kad's TTL-64 adverts and backs off",
        Duration::from_secs(2),
        || Ok(!lab.holds("r2", VIP)?),
    )?;
    watch.drain();
    for _ in 0..3 {
        let frame = watch
            .next_frame(Duration::from_secs(1))?
            .context("kad sends adverts")?;
        assert_eq!(ttl(&frame), Some(64), "unicast_ttl 64");
        assert_eq!(destination(&frame), "10.77.0.2".parse().ok());
    }
    // The default: 255 (RFC 5798 §5.1.1.3), as keepalived sends.
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?);
    lab.start_kad("r1", &unicast_config("r1", 200, ""))?;
    lab.wait_for("kad preempts again", Duration::from_secs(3), || {
        lab.holds("r1", VIP)
    })?;
    watch.drain();
    let frame = watch
        .next_frame(Duration::from_secs(1))?
        .context("kad sends adverts")?;
    assert_eq!(ttl(&frame), Some(255), "the default TTL");
    Ok(())
}

/// IPv6: `unicast_ttl 64` is the hop limit of kad's unicast adverts.
#[test]
fn unicast_ttl_sets_the_hop_limit_of_ipv6_unicast_adverts() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("uttl6", ROUTERS)?;
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    let extra = "  unicast_src_ip fd77::1\n  unicast_peer {\n    fd77::2\n  }\n  unicast_ttl 64\n";
    lab.start_kad("r1", &config6("r1", 200, extra))?;
    lab.wait_for("kad becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP6)
    })?;
    watch.drain();
    let frame = watch
        .next_frame(Duration::from_secs(1))?
        .context("kad sends adverts")?;
    assert_eq!(destination(&frame), "fd77::2".parse().ok());
    assert_eq!(frame.get(14 + 7), Some(&64), "hop limit: unicast_ttl 64");
    Ok(())
}

/// `unicast_fault_no_peer` without any `unicast_peer`: keepalived 2.2.7 keeps the instance
/// in FAULT ("Cannot use unicast without any peers - going to fault state") instead of
/// falling back to multicast; so does kad: neither takes the VIP, kad sends no advert.
#[test]
fn unicast_fault_no_peer_without_peers_stays_in_fault_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("ufnp", ROUTERS)?;
    let watch = AdvertWatch::open(lab.switch(), &Lab::port("r1"))?;
    let extra = "  unicast_fault_no_peer\n";
    let keepalived = lab.start_keepalived("r2", &config("r2", 200, extra))?;
    let kad = lab.start_kad("r1", &config("r1", 200, extra))?;
    // keepalived starts such an instance in FAULT without an "Entering" line.
    lab.wait_for(
        "both put the instance in FAULT",
        Duration::from_secs(5),
        || {
            Ok(lab.daemon_log(kad)?.contains("Entering FAULT STATE")
                && lab
                    .daemon_log(keepalived)?
                    .contains("Cannot use unicast without any peers - going to fault state"))
        },
    )?;
    watch.drain();
    assert_eq!(
        watch.next_frame(Duration::from_secs(1))?,
        None,
        "kad sends no advert in FAULT"
    );
    assert!(!lab.holds("r1", VIP)?, "kad holds no VIP\n{}", lab.logs());
    assert!(
        !lab.holds("r2", VIP)?,
        "keepalived holds no VIP\n{}",
        lab.logs()
    );
    for daemon in [kad, keepalived] {
        let log = lab.daemon_log(daemon)?;
        assert!(
            log.contains("Cannot use unicast without any peers - going to fault state")
                && !log.contains("Entering MASTER STATE"),
            "{log}"
        );
    }
    Ok(())
}

/// `SO_RCVBUF` of every raw IP protocol 112 socket process `pid` holds, read through a
/// duplicate of each descriptor (`pidfd_getfd(2)`; root may).
fn vrrp_receive_buffers(pid: u32) -> Result<Vec<i32>> {
    let get = |fd: libc::c_int, name: libc::c_int| -> Option<i32> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into a live c_int of the size given.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&raw mut value).cast(),
                &raw mut len,
            )
        };
        (rc == 0).then_some(value)
    };
    // SAFETY: pidfd_open(2) with a pid and no flags.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    anyhow::ensure!(
        pidfd >= 0,
        "pidfd_open: {}",
        std::io::Error::last_os_error()
    );
    let pidfd = pidfd as libc::c_int;
    let mut sizes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(target) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: pidfd_getfd(2) on our pidfd; the duplicate is closed below.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target, 0) };
        if fd < 0 {
            continue;
        }
        let fd = fd as libc::c_int;
        if get(fd, libc::SO_TYPE) == Some(libc::SOCK_RAW)
            && get(fd, libc::SO_PROTOCOL) == Some(112)
            && let Some(size) = get(fd, libc::SO_RCVBUF)
        {
            sizes.push(size);
        }
        // SAFETY: closing the duplicate we own.
        unsafe { libc::close(fd) };
    }
    // SAFETY: closing the pidfd we own.
    unsafe { libc::close(pidfd) };
    Ok(sizes)
}

/// `kernel_rx_buf_size 100000`: the VRRP receive socket's `SO_RCVBUF` is 100000 (the kernel
/// reports it doubled), as keepalived 2.2.7 sets its own on the same configuration.
#[test]
fn kernel_rx_buf_size_sets_the_receive_buffer_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("rxbuf", ROUTERS)?;
    let extra = "  kernel_rx_buf_size 100000\n";
    lab.start_keepalived("r2", &config("r2", 100, extra))?;
    let kad = lab.start_kad("r1", &config("r1", 200, extra))?;
    lab.wait_for("kad becomes master", Duration::from_secs(5), || {
        lab.holds("r1", VIP)
    })?;
    let kad_sizes = vrrp_receive_buffers(lab.daemon(kad)?.pid())?;
    assert_eq!(kad_sizes, vec![200_000], "kad's VRRP socket");
    // keepalived's VRRP child: its receive socket has the size; its send socket none.
    let pid_file = lab.keepalived_pid_file("r2", "vrrp");
    let child: u32 = std::fs::read_to_string(&pid_file)?.trim().parse()?;
    let keepalived_sizes = vrrp_receive_buffers(child)?;
    assert!(
        keepalived_sizes.contains(&200_000),
        "keepalived's receive socket: {keepalived_sizes:?}"
    );
    Ok(())
}

/// The namespace's `net.ipv4.igmp_link_local_mcast_reports`.
fn link_local_reports(lab: &Lab, host: &str) -> Result<String> {
    let out = lab
        .host(host)?
        .command("cat")
        .arg("/proc/sys/net/ipv4/igmp_link_local_mcast_reports")
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// global `disable_local_igmp`: while kad runs, its namespace sends no IGMP reports for
/// link-local groups (`net.ipv4.igmp_link_local_mcast_reports` 0); at exit the sysctl is 1
/// again — what keepalived 2.2.7 does to the same sysctl in its own namespace.
#[test]
fn disable_local_igmp_turns_link_local_reports_off_while_running() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("igmp", ROUTERS)?;
    let conf = |router: &str| {
        format!(
            "global_defs {{\n  router_id {router}\n  disable_local_igmp\n}}\n{}",
            lab_instance(100, "")
        )
    };
    assert_eq!(link_local_reports(&lab, "r1")?, "1");
    assert_eq!(link_local_reports(&lab, "r2")?, "1");
    let kad = lab.start_kad("r1", &conf("r1"))?;
    let keepalived = lab.start_keepalived("r2", &conf("r2"))?;
    lab.wait_for("both turn the reports off", Duration::from_secs(5), || {
        Ok(link_local_reports(&lab, "r1")? == "0" && link_local_reports(&lab, "r2")? == "0")
    })?;
    for daemon in [kad, keepalived] {
        lab.daemon(daemon)?.signal(libc::SIGTERM)?;
        assert!(lab.daemon(daemon)?.wait_exit(Duration::from_secs(5))?);
    }
    assert_eq!(link_local_reports(&lab, "r1")?, "1", "kad restored it");
    assert_eq!(
        link_local_reports(&lab, "r2")?,
        "1",
        "keepalived restored it"
    );
    Ok(())
}

/// global `log_unknown_vrids`: an advert for a VRID no instance has on the interface is
/// logged with the VRID and the interface, as keepalived 2.2.7 logs it ("Unknown VRID(52)
/// received on interface(eth0). ignoring..."); kad at most once a second per VRID.
fn log_unknown_vrids(tag: &str, no_xdp: bool) -> Result<()> {
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    if no_xdp {
        lab.kad_args.push("--no-xdp".into());
    }
    let conf = |router: &str, vrid: u8| {
        format!(
            "global_defs {{\n  router_id {router}\n  log_unknown_vrids\n}}\n{}",
            vrrp_instance("LAB", vrid, 100, VIP, "")
        )
    };
    let kad = lab.start_kad("r1", &conf("r1", 51))?;
    let keepalived = lab.start_keepalived("r2", &conf("r2", 52))?;
    lab.wait_for("each logs the other's VRID", Duration::from_secs(5), || {
        Ok(lab
            .daemon_log(kad)?
            .contains("Unknown VRID(52) received on interface(eth0). ignoring...")
            && lab
                .daemon_log(keepalived)?
                .contains("Unknown VRID(51) received on interface(eth0). ignoring..."))
    })?;
    // Ten adverts a second from keepalived: kad's log stays at about one line a second.
    std::thread::sleep(Duration::from_millis(1500));
    let lines = lab.daemon_log(kad)?.matches("Unknown VRID(52)").count();
    assert!(lines <= 4, "rate-limited: {lines} lines");
    let log = lab.daemon_log(kad)?;
    assert_eq!(
        log.contains("XDP program attached"),
        !no_xdp,
        "receive path as asked:\n{log}"
    );
    Ok(())
}

#[test]
fn log_unknown_vrids_logs_another_routers_vrid_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    log_unknown_vrids("luv", false)
}

#[test]
fn log_unknown_vrids_logs_another_routers_vrid_raw_sockets() -> Result<()> {
    kad_tests::skip_unless!(Root);
    log_unknown_vrids("luvr", true)
}

/// `track_src_ip` (with `mcast_src_ip 10.77.1.1`, an extra address on r1's `eth0`, so that
/// removing it leaves the VIP's subnet alone): removing the source address takes kad's
/// Master to FAULT (VIP released, as keepalived.conf(5) says: "if the configured src_ip is
/// removed, the instance goes to FAULT"), adding it back brings it to MASTER again.
/// keepalived 2.2.7 does not: it compares the removed address with the whole socket
/// address of its source (`inaddr_equal(.., &vrrp->saddr, ..)`), which never matches, and
/// stays MASTER; `faults` says which is expected.
fn track_src_ip(tag: &str, keepalived: bool) -> Result<()> {
    let mut lab = Lab::with_hosts(tag, ROUTERS)?;
    let ip = |lab: &Lab, args: &[&str]| -> Result<()> {
        let status = lab.host("r1")?.command("ip").args(args).status()?;
        anyhow::ensure!(status.success(), "ip {args:?}");
        Ok(())
    };
    ip(&lab, &["addr", "add", "10.77.1.1/24", "dev", "eth0"])?;
    let conf = config("r1", 100, "  mcast_src_ip 10.77.1.1\n  track_src_ip\n");
    if keepalived {
        lab.start_keepalived("r1", &conf)?;
    } else {
        lab.start_kad("r1", &conf)?;
    }
    lab.wait_for("master", Duration::from_secs(10), || lab.holds("r1", VIP))?;
    ip(&lab, &["addr", "del", "10.77.1.1/24", "dev", "eth0"])?;
    if keepalived {
        std::thread::sleep(Duration::from_millis(800));
        assert!(
            lab.holds("r1", VIP)?,
            "keepalived 2.2.7 stays MASTER\n{}",
            lab.logs()
        );
        return Ok(());
    }
    lab.wait_for(
        "the source address gone, FAULT releases the VIP",
        Duration::from_secs(3),
        || Ok(!lab.holds("r1", VIP)?),
    )?;
    std::thread::sleep(Duration::from_millis(800));
    assert!(!lab.holds("r1", VIP)?, "stays in FAULT\n{}", lab.logs());
    ip(&lab, &["addr", "add", "10.77.1.1/24", "dev", "eth0"])?;
    lab.wait_for(
        "the source address back, master again",
        Duration::from_secs(5),
        || lab.holds("r1", VIP),
    )?;
    Ok(())
}

#[test]
fn track_src_ip_faults_while_the_source_address_is_missing() -> Result<()> {
    kad_tests::skip_unless!(Root);
    track_src_ip("tsi", false)
}

/// The same lab with keepalived 2.2.7, which does not act on `track_src_ip` (above).
#[test]
fn track_src_ip_keepalived_2_2_7_does_not_act_on_it() -> Result<()> {
    kad_tests::skip_unless!(Root);
    track_src_ip("tsik", true)
}
