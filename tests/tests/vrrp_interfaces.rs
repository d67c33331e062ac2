//! Interface keywords of `kad -f` beside keepalived 2.2.7 on the same lab: `garp_extra_if`
//! (periodic gratuitous ARPs on the other interfaces holding virtual addresses).

use std::{net::Ipv4Addr, path::Path, time::Duration};

use anyhow::{Context as _, Result};
use kad_tests::lab::{Lab, VIP};

/// Which daemon a lab runs.
#[derive(Clone, Copy, Debug)]
enum Daemon {
    Kad,
    Keepalived,
}

impl Daemon {
    fn start(self, lab: &mut Lab, host: &str, config: &str) -> Result<usize> {
        match self {
            Daemon::Kad => lab.start_kad(host, config),
            Daemon::Keepalived => lab.start_keepalived(host, config),
        }
    }
}

/// The MAC address of `interface` in `host`.
fn mac_of(lab: &Lab, host: &str, interface: &str) -> Result<[u8; 6]> {
    let out = lab
        .host(host)?
        .command("ip")
        .args(["-o", "link", "show", interface])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .with_context(|| format!("no MAC in {text:?}"))?;
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(word.split(':')) {
        *byte = u8::from_str_radix(part, 16)?;
    }
    Ok(mac)
}

/// Starts tcpdump on `interface` of `host`, writing ARP frames to `pcap`.
fn capture_arp(lab: &mut Lab, host: &str, interface: &str, pcap: &Path) -> Result<usize> {
    let pcap = pcap.to_string_lossy().into_owned();
    let tcpdump = lab.start(
        host,
        Path::new("/usr/bin/tcpdump"),
        &[
            "-Z",
            "root",
            "--immediate-mode",
            "-i",
            interface,
            "-U",
            "-n",
            "-w",
            &pcap,
            "arp",
        ],
    )?;
    std::thread::sleep(Duration::from_millis(500));
    Ok(tcpdump)
}

/// The capture times of the gratuitous ARPs for `address` from `mac` in `pcap`.
fn garps(pcap: &Path, address: Ipv4Addr, mac: [u8; 6]) -> Result<Vec<Duration>> {
    Ok(kad_tests::capture::read_frames(pcap)?
        .into_iter()
        .filter(|f| {
            f.data.get(12..14) == Some(&[0x08, 0x06])
                && f.data.get(6..12) == Some(&mac)
                && f.data.get(28..32) == Some(&address.octets())
        })
        .map(|f| f.timestamp)
        .collect())
}

/// The second VIP, on r1's second interface `ex0` (a veth whose peer `ex1` is captured).
const EXTRA_VIP: &str = "10.88.0.100";

/// `garp_extra_if all 1`: while Master, one gratuitous ARP a second on `ex0` for the VIP it
/// holds, from `ex0`'s MAC, besides the burst on becoming Master — as keepalived sends.
/// Returns the ARPs seen on ex0 in the 3.3 s after the election.
fn extra_if_garps(daemon: Daemon, tag: &str, keyword: &str) -> Result<Vec<Duration>> {
    let mut lab = Lab::with_hosts(tag, &[("r1", 1)])?;
    lab.host("r1")?.add_local_link("ex0", "ex1")?;
    // With use_vmac_addr the VIP is on a VMAC of ex0, which sends from the virtual MAC.
    let mac = if keyword.contains("use_vmac_addr") {
        [0, 0, 0x5e, 0, 1, 51]
    } else {
        mac_of(&lab, "r1", "ex0")?
    };
    let pcap = lab.dir().join("ex.pcap");
    let tcpdump = capture_arp(&mut lab, "r1", "ex1", &pcap)?;
    let config = format!(
        "vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority 200\n  advert_int 0.1\n  version 3\n  garp_master_delay 0\n\
         \x20 garp_master_repeat 1\n{keyword}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n\
         \x20   {EXTRA_VIP}/24 dev ex0\n  }}\n}}\n"
    );
    daemon.start(&mut lab, "r1", &config)?;
    lab.wait_for("master", Duration::from_secs(10), || lab.holds("r1", VIP))?;
    std::thread::sleep(Duration::from_millis(3300));
    lab.daemon(tcpdump)?.signal(libc::SIGTERM)?;
    lab.daemon(tcpdump)?.wait_exit(Duration::from_secs(5))?;
    let times = garps(&pcap, EXTRA_VIP.parse()?, mac)?;
    if times.is_empty() {
        eprintln!("{daemon:?}: no ARP on ex0\n{}", lab.logs());
    }
    Ok(times)
}

#[test]
fn garp_extra_if_all_refreshes_the_other_interface_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (daemon, tag) in [(Daemon::Keepalived, "gxk"), (Daemon::Kad, "gxd")] {
        let times = extra_if_garps(daemon, tag, "  garp_extra_if all 1\n")?;
        // The burst on becoming Master, then one a second: 4 in 3.3 s.
        assert!(
            (4..=5).contains(&times.len()),
            "{daemon:?}: ARPs on ex0 at {times:?}"
        );
        let gaps: Vec<Duration> = times
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]))
            .collect();
        assert!(
            gaps.iter()
                .all(|g| *g >= Duration::from_millis(800) && *g <= Duration::from_millis(1300)),
            "{daemon:?}: one a second, gaps {gaps:?}"
        );
    }
    Ok(())
}

/// `garp_extra_if 1` without `all` refreshes the VMACs kad made: here the `use_vmac_addr`
/// VMAC of ex0 — as keepalived.
#[test]
fn garp_extra_if_refreshes_the_address_vmacs_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (daemon, tag) in [(Daemon::Keepalived, "gvk"), (Daemon::Kad, "gvd")] {
        let times = extra_if_garps(daemon, tag, "  use_vmac_addr\n  garp_extra_if 1\n")?;
        assert!(
            (4..=5).contains(&times.len()),
            "{daemon:?}: ARPs on ex0's VMAC at {times:?}"
        );
    }
    Ok(())
}

#[test]
fn without_all_garp_extra_if_leaves_interfaces_kad_did_not_make() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (daemon, tag) in [(Daemon::Keepalived, "gnk"), (Daemon::Kad, "gnd")] {
        let times = extra_if_garps(daemon, tag, "  garp_extra_if 1\n")?;
        // Only the burst on becoming Master, sent on the VIP's own interface.
        assert_eq!(times.len(), 1, "{daemon:?}: ARPs on ex0 at {times:?}");
    }
    Ok(())
}

/// `net.ipv4.conf.eth0.promote_secondaries` in `host`.
fn promote_secondaries(lab: &Lab, host: &str) -> Result<String> {
    let out = lab
        .host(host)?
        .command("sysctl")
        .args(["-n", "net.ipv4.conf.eth0.promote_secondaries"])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `promote_secondaries`: while the instance runs its interface promotes secondaries, so
/// deleting the primary address of the VIP's subnet (10.88.0.1/24, not the advert source)
/// keeps the VIP; the flag is put back to 0 at exit — as keepalived does.
#[test]
fn promote_secondaries_keeps_the_vip_when_the_primary_address_goes() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (daemon, tag) in [(Daemon::Keepalived, "psk"), (Daemon::Kad, "psd")] {
        let mut lab = Lab::with_hosts(tag, &[("r1", 1)])?;
        assert_eq!(promote_secondaries(&lab, "r1")?, "0");
        lab.host("r1")?
            .ns
            .ip(&["addr", "add", "10.88.0.1/24", "dev", "eth0"])?;
        let config =
            kad_tests::conf::vrrp_instance("LAB", 51, 200, EXTRA_VIP, "  promote_secondaries\n");
        let index = daemon.start(&mut lab, "r1", &config)?;
        lab.wait_for("master", Duration::from_secs(10), || {
            lab.holds("r1", EXTRA_VIP)
        })?;
        assert_eq!(promote_secondaries(&lab, "r1")?, "1", "{daemon:?}");
        lab.host("r1")?
            .ns
            .ip(&["addr", "del", "10.88.0.1/24", "dev", "eth0"])?;
        assert!(
            lab.holds("r1", EXTRA_VIP)?,
            "{daemon:?}: the VIP was promoted, not deleted\n{}",
            lab.logs()
        );
        lab.daemon(index)?.signal(libc::SIGTERM)?;
        lab.daemon(index)?.wait_exit(Duration::from_secs(10))?;
        assert_eq!(promote_secondaries(&lab, "r1")?, "0", "{daemon:?} at exit");
    }
    Ok(())
}

/// global `vrrp_startup_delay 2`: the instance cannot become Master before the delay plus
/// its Master_Down_Interval (0.32 s here) — as keepalived.
#[test]
fn vrrp_startup_delay_holds_the_first_election_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // Built before the clock starts.
    kad_tests::kad_bin()?;
    for (daemon, tag) in [(Daemon::Keepalived, "sdk"), (Daemon::Kad, "sdd")] {
        let mut lab = Lab::with_hosts(tag, &[("r1", 1)])?;
        let config = format!(
            "global_defs {{\n  vrrp_startup_delay 2\n}}\n{}",
            kad_tests::conf::lab_instance(200, "")
        );
        let started = std::time::Instant::now();
        daemon.start(&mut lab, "r1", &config)?;
        lab.wait_for("master", Duration::from_secs(10), || lab.holds("r1", VIP))?;
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2300) && elapsed < Duration::from_millis(4000),
            "{daemon:?}: master after {elapsed:?}\n{}",
            lab.logs()
        );
    }
    Ok(())
}

/// r1's macvlan interfaces as "NAME@BASE MAC ADDRESSES…", sorted.
fn vmacs(lab: &Lab, host: &str) -> Result<Vec<String>> {
    let out = lab
        .host(host)?
        .command("ip")
        .args(["-o", "link", "show", "type", "macvlan"])
        .output()?;
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let name = words.nth(1).unwrap_or_default().trim_end_matches(':');
        let mac = words
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_default();
        let dev = name.split('@').next().unwrap_or_default();
        let addrs = lab
            .host(host)?
            .command("ip")
            .args(["-o", "-4", "addr", "show", "dev", dev])
            .output()?;
        let addrs: Vec<String> = String::from_utf8_lossy(&addrs.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
            .collect();
        found.push(format!("{name} {mac} {}", addrs.join(" ")));
    }
    found.sort();
    Ok(found)
}

/// `vmac_prefix`, `vmac_addr_prefix` and `use_vmac_addr` (or the VIP's own `use_vmac`):
/// the instance's VMAC is named `vmac_prefix.VRID`; the VIP on `ex0` goes on a VMAC of
/// `ex0` named with `vmac_addr_prefix` (or, without it, the next free `vmac_prefix` name) —
/// as keepalived names and fills them.
#[test]
fn vmac_prefixes_and_use_vmac_addr_name_the_vmacs_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // (globals, instance keyword, option of the VIP on ex0, its VMAC)
    let cases = [
        (
            "  vmac_prefix vm\n  vmac_addr_prefix va\n",
            "  use_vmac_addr\n",
            "",
            "va.51@ex0",
        ),
        ("  vmac_prefix vm\n", "  use_vmac_addr\n", "", "vm1.51@ex0"),
        ("  vmac_prefix vm\n", "", " use_vmac", "vm1.51@ex0"),
    ];
    for (n, (globals, keyword, option, addr_vmac)) in cases.iter().enumerate() {
        let mut seen = Vec::new();
        for (daemon, tag) in [(Daemon::Keepalived, "vpk"), (Daemon::Kad, "vpd")] {
            let mut lab = Lab::with_hosts(&format!("{tag}{n}"), &[("r1", 1)])?;
            lab.host("r1")?.add_local_link("ex0", "ex1")?;
            let config = format!(
                "global_defs {{\n{globals}}}\nvrrp_instance LAB {{\n  state BACKUP\n\
                 \x20 interface eth0\n  virtual_router_id 51\n  priority 200\n\
                 \x20 advert_int 0.1\n  version 3\n  use_vmac\n{keyword}\
                 \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n    {EXTRA_VIP}/24 dev ex0{option}\n\
                 \x20 }}\n}}\n"
            );
            daemon.start(&mut lab, "r1", &config)?;
            lab.wait_for("master", Duration::from_secs(10), || {
                lab.holds("r1", EXTRA_VIP)
            })?;
            let found = vmacs(&lab, "r1")?;
            let mut expected = vec![
                format!("{addr_vmac} 00:00:5e:00:01:33 {EXTRA_VIP}/24"),
                format!("vm.51@eth0 00:00:5e:00:01:33 {VIP}/24"),
            ];
            expected.sort();
            assert_eq!(found, expected, "{daemon:?}\n{}", lab.logs());
            seen.push(found);
        }
        assert_eq!(seen[0], seen[1]);
    }
    Ok(())
}

/// `dont_track_primary`: the instance's interface going down leaves it Master with its VIP
/// (without it: FAULT, the VIP removed) — as keepalived.
#[test]
fn dont_track_primary_ignores_the_interface_going_down_as_keepalived_does() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (extra, kept) in [("  dont_track_primary\n", true), ("", false)] {
        for (daemon, tag) in [(Daemon::Keepalived, "dtk"), (Daemon::Kad, "dtd")] {
            let mut lab = Lab::with_hosts(&format!("{tag}{}", u8::from(kept)), &[("r1", 1)])?;
            let config = kad_tests::conf::lab_instance(200, extra);
            daemon.start(&mut lab, "r1", &config)?;
            lab.wait_for("master", Duration::from_secs(10), || lab.holds("r1", VIP))?;
            lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?;
            std::thread::sleep(Duration::from_millis(700));
            assert_eq!(
                lab.holds("r1", VIP)?,
                kept,
                "{daemon:?} {extra:?}\n{}",
                lab.logs()
            );
        }
    }
    Ok(())
}

/// global `dynamic_interfaces`: an instance on an interface that does not exist at start
/// waits for it and runs once it is there (the other instances run meanwhile) — as
/// keepalived.
#[test]
fn dynamic_interfaces_starts_an_instance_when_its_interface_appears() -> Result<()> {
    kad_tests::skip_unless!(Root);
    for (daemon, tag) in [(Daemon::Keepalived, "dik"), (Daemon::Kad, "did")] {
        let mut lab = Lab::with_hosts(tag, &[("r1", 1)])?;
        let config = format!(
            "global_defs {{\n  dynamic_interfaces\n}}\n{}{}",
            kad_tests::conf::lab_instance(200, ""),
            kad_tests::conf::vrrp_instance("LATE", 52, 200, EXTRA_VIP, "")
                .replace("interface eth0", "interface ex0")
                .replace("dev eth0", "dev ex0")
        );
        daemon.start(&mut lab, "r1", &config)?;
        lab.wait_for("master", Duration::from_secs(10), || lab.holds("r1", VIP))?;
        let r1 = lab.host("r1")?;
        r1.ns
            .ip(&["link", "add", "ex0", "type", "veth", "peer", "name", "ex1"])?;
        r1.ns.ip(&["addr", "add", "10.88.0.1/24", "dev", "ex0"])?;
        r1.ns.ip(&["link", "set", "ex1", "up"])?;
        r1.ns.ip(&["link", "set", "ex0", "up"])?;
        lab.wait_for("the late instance", Duration::from_secs(5), || {
            lab.holds("r1", EXTRA_VIP)
        })?;
        assert!(
            lab.holds("r1", VIP)?,
            "{daemon:?}: the first instance runs on"
        );
    }
    Ok(())
}
