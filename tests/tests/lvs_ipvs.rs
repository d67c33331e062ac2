//! kad's IPVS control against a real IPVS: a User-Mode Linux guest (this machine's kernel
//! has no IPVS) runs `kad -C`, and `ipvsadm -Ln` in the guest must show exactly the table
//! keepalived builds from the same configuration (keepalived.conf(5), written out by hand
//! below). A SIGHUP that changes one real server's weight must change only that entry.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{kad_bin, uml::UmlGuest};

/// Several virtual servers: an address VS (NAT, rr, with `alpha`: its checked real servers
/// start down, one kept at weight 0 by `inhibit_on_failure`), a fwmark VS (DR, wlc,
/// persistence), a virtual_server_group with a range (TUN, sh with sh-port, persistence
/// with granularity, one real server over GUE with checksums), a UDP VS (DR, mh with mh-port,
/// thresholds), a SIP VS (wrr, one-packet scheduling, the sip persistence engine), an
/// IPv6 VS (DR, nq), an IPv6 fwmark VS (NAT, sed, persistence per /64) and
/// a VS below its quorum (lc) served by its sorry server.
const CONFIG: &str = r#"
global_defs {
    lvs_flush
    lvs_flush_on_stop
    lvs_timeouts tcp 7200 tcpfin 120 udp 300
}

virtual_server 10.0.0.1 80 {
    protocol TCP
    lvs_sched rr
    lvs_method NAT
    alpha
    real_server 192.168.1.2 8080 {
        weight 1
    }
    real_server 192.168.1.3 8080 {
        weight 2
    }
    real_server 192.168.1.4 8080 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.5 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}

virtual_server fwmark 7 {
    lvs_sched wlc
    lvs_method DR
    persistence_timeout 600
    real_server 10.0.0.5 80 {
        weight 3
    }
    real_server 10.0.0.6 80 {
    }
}

virtual_server_group web {
    10.0.1.10-12 443
}

virtual_server group web {
    protocol TCP
    lvs_sched sh
    sh-port
    lvs_method TUN
    persistence_timeout
    persistence_granularity 255.255.255.0
    real_server 10.0.2.2 443 {
        weight 5
    }
    real_server 10.0.2.3 443 {
        weight 5
        lvs_method TUN type gue port 6080 csum
    }
}

virtual_server 10.0.0.1 53 {
    protocol UDP
    lvs_sched mh
    mh-port
    lvs_method DR
    real_server 10.0.0.7 53 {
        uthreshold 100
        lthreshold 10
    }
}

virtual_server 2001:db8::1 80 {
    protocol TCP
    lvs_sched nq
    lvs_method DR
    real_server 2001:db8::2 80 {
        weight 4
    }
}

virtual_server fwmark 8 {
    ip_family inet6
    lvs_sched sed
    lvs_method NAT
    persistence_timeout 300
    persistence_granularity 64
    real_server 2001:db8::3 8080 {
    }
}

virtual_server 10.0.0.3 5060 {
    protocol UDP
    lvs_sched wrr
    lvs_method NAT
    ops
    persistence_timeout 120
    persistence_engine sip
    real_server 10.0.3.2 5060 {
        weight 2
    }
}

virtual_server 10.0.0.2 80 {
    protocol TCP
    lvs_sched lc
    lvs_method NAT
    alpha
    quorum 5
    sorry_server 10.0.0.9 80
    real_server 10.0.0.10 80 {
        weight 2
    }
    real_server 10.0.0.11 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"#;

/// The table keepalived builds from [`CONFIG`], as `ipvsadm -Ln --sort` prints it (services
/// and real servers sorted). Defaults from keepalived.conf(5): weight 1, a bare
/// `persistence_timeout` is 360 s; `alpha` keeps 192.168.1.4/.5 down until their checks
/// pass, so .4 (`inhibit_on_failure`) is at weight 0 and .5 absent; 10.0.0.2:80's live
/// weight 2 (10.0.0.11 is down until its check passes, which it never does here) is below
/// `quorum 5`, so only its sorry server (weight 1) is in. (Its real servers' total weight, 5,
/// reaches the quorum: keepalived lowers a quorum no weight can reach.)
const EXPECTED: &str = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr
  -> 192.168.1.2:8080             Masq    1      0          0
  -> 192.168.1.3:8080             Masq    2      0          0
  -> 192.168.1.4:8080             Masq    0      0          0
TCP  10.0.0.2:80 lc
  -> 10.0.0.9:80                  Masq    1      0          0
TCP  10.0.1.10:443 sh (sh-port) persistent 360 mask 255.255.255.0
  -> 10.0.2.2:443                 Tunnel  5      0          0
  -> 10.0.2.3:443                 Tunnel  5      0          0
TCP  10.0.1.11:443 sh (sh-port) persistent 360 mask 255.255.255.0
  -> 10.0.2.2:443                 Tunnel  5      0          0
  -> 10.0.2.3:443                 Tunnel  5      0          0
TCP  10.0.1.12:443 sh (sh-port) persistent 360 mask 255.255.255.0
  -> 10.0.2.2:443                 Tunnel  5      0          0
  -> 10.0.2.3:443                 Tunnel  5      0          0
UDP  10.0.0.1:53 mh (mh-port)
  -> 10.0.0.7:53                  Route   1      0          0
UDP  10.0.0.3:5060 wrr persistent 120 pe sip ops
  -> 10.0.3.2:5060                Masq    2      0          0
TCP  [2001:db8::1]:80 nq
  -> [2001:db8::2]:80             Route   4      0          0
FWM  7 wlc persistent 600
  -> 10.0.0.5:80                  Route   3      0          0
  -> 10.0.0.6:80                  Route   1      0          0
FWM  8 IPv6 sed persistent 300 mask 64
  -> [2001:db8::3]:8080           Masq    1      0          0
";

/// `ipvsadm` pads its columns with trailing blanks; compare without them.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end().to_owned()).collect()
}

/// The `ipvs: add/edit/del …` operations kad logged between two markers.
fn operations_between(log: &str, from: &str, to: &str) -> Vec<String> {
    let start = log.find(from).map_or(0, |i| i + from.len());
    let end = log[start..].find(to).map_or(log.len(), |i| start + i);
    log[start..end]
        .lines()
        .filter_map(|l| l.split_once("ipvs: ").map(|(_, op)| op.to_owned()))
        .filter(|op| ["add ", "edit ", "del "].iter().any(|p| op.starts_with(p)))
        .collect()
}

const SCRIPT: &str = r#"
# A service nobody configured: lvs_flush must remove it.
ipvsadm -A -t 192.0.2.1:25 -s rr
/sbin/kad -C -G -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
KAD=$!
wait_log() { i=0; until grep -q "$1" /out/kad.log || [ $i -ge 150 ]; do sleep 0.1; i=$((i+1)); done; }
wait_log "table applied (start)"
ipvsadm -Ln --sort > /out/start.txt
ipvsadm -L --timeout > /out/timeouts.txt
ipvsadm -Ln --sort --thresholds > /out/thresholds.txt
ipvsadm -Ln --sort --tun-info > /out/tun.txt
cp /etc/keepalived/reload.conf /etc/keepalived/keepalived.conf
kill -HUP $KAD
wait_log "table applied (reload)"
ipvsadm -Ln --sort > /out/reload.txt
kill -TERM $KAD
wait $KAD
echo "exit $?" > /out/exit.txt
ipvsadm -Ln --sort > /out/stop.txt
"#;

#[test]
fn kad_builds_the_keepalived_table_in_real_ipvs_and_a_reload_changes_one_entry() -> Result<()> {
    kad_tests::skip_unless!(Uml);
    let guest = UmlGuest::new("table", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", CONFIG)?;
    let reloaded = CONFIG.replacen(
        "real_server 192.168.1.3 8080 {\n        weight 2",
        "real_server 192.168.1.3 8080 {\n        weight 7",
        1,
    );
    assert_ne!(reloaded, CONFIG);
    guest.write("/etc/keepalived/reload.conf", &reloaded)?;

    let console = guest.boot(SCRIPT, Duration::from_secs(120))?;
    let log = guest.read("/out/kad.log").unwrap_or_default();
    let context = format!("console:\n{console}\nkad log:\n{log}");

    assert_eq!(
        lines(&guest.read("/out/start.txt")?),
        lines(EXPECTED),
        "{context}"
    );
    assert!(
        guest
            .read("/out/timeouts.txt")?
            .contains("Timeout (tcp tcpfin udp): 7200 120 300"),
        "{context}"
    );
    // What `-Ln` does not show: thresholds and tunnel encapsulation reached the kernel.
    let thresholds = lines(&guest.read("/out/thresholds.txt")?);
    assert!(
        thresholds.contains(
            &"  -> 10.0.0.7:53                  100        10         0          0".to_owned()
        ),
        "{context}"
    );
    let tunnels = lines(&guest.read("/out/tun.txt")?);
    for (dest, info) in [("10.0.2.2:443", "ipip"), ("10.0.2.3:443", "gue:6080:+c")] {
        let line = format!("  -> {dest:<28} Tunnel  {info:<13} 5      0          0");
        assert_eq!(
            tunnels.iter().filter(|l| **l == line).count(),
            3,
            "{line}\n{context}"
        );
    }

    // The reload: exactly one operation, the edit of that real server's weight.
    assert_eq!(
        operations_between(&log, "SIGHUP", "table applied (reload)"),
        vec!["edit dest 192.168.1.3:8080 in TCP 10.0.0.1:80 weight 7 (masq)".to_owned()],
        "{context}"
    );
    let expected_reload = EXPECTED.replacen(
        "  -> 192.168.1.3:8080             Masq    2",
        "  -> 192.168.1.3:8080             Masq    7",
        1,
    );
    assert_eq!(
        lines(&guest.read("/out/reload.txt")?),
        lines(&expected_reload),
        "{context}"
    );

    // lvs_flush_on_stop: the table is empty after SIGTERM, and kad exited cleanly.
    assert_eq!(guest.read("/out/exit.txt")?.trim(), "exit 0", "{context}");
    assert_eq!(
        lines(&guest.read("/out/stop.txt")?),
        lines(EXPECTED)[..3].to_vec(),
        "{context}"
    );
    Ok(())
}

/// The director's configuration: LVS-DR round robin over the two real servers, the
/// connection-sync daemon on the director's interface (backup at start, master once the
/// VRRP instance it follows is MASTER), and a VRRP instance: the director runs kad in its
/// default mode, VRRP beside IPVS in one daemon.
const DR_CONFIG: &str = r#"
global_defs {
    lvs_sync_daemon vec0 VI id 7 maxlen 1400 port 8850 ttl 2 group 224.0.0.82
}

vrrp_instance VI {
    interface vec0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.77.0.201
    }
}

virtual_server 10.77.0.200 80 {
    protocol TCP
    lvs_sched rr
    lvs_method DR
    real_server 10.77.0.1 80 {
    }
    real_server 10.77.0.2 80 {
    }
}
"#;

const DR_SCRIPT: &str = r#"
ip link set vec0 up
ip addr add 10.77.0.50/24 dev vec0
ip addr add 10.77.0.200/32 dev vec0
/sbin/kad --no-xdp -G -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
KAD=$!
wait_log() { i=0; until grep -q "$1" /out/kad.log || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; }
wait_for() { i=0; until [ -e "$1" ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done; }
wait_log "table applied (start)"
wait_log "started backup sync daemon"
ipvsadm -L --daemon > /out/daemon.txt
wait_log "Entering MASTER STATE"
wait_log "started master sync daemon"
ipvsadm -L --daemon > /out/daemon-master.txt
echo ready > /out/ready
wait_for /tmp/hup
cp /etc/keepalived/reload.conf /etc/keepalived/keepalived.conf
kill -HUP $KAD
wait_log "table applied (reload)"
echo reloaded > /out/reloaded
wait_for /tmp/stop
ipvsadm -Lnc > /out/conns.txt
kill -TERM $KAD
wait $KAD
ipvsadm -L --daemon > /out/daemon-after.txt
"#;

/// One HTTP/1.0 GET of `http://10.77.0.200/` from the client namespace: the body.
fn get_vip(lab: &kad_tests::lab::Lab) -> Result<String> {
    use std::io::{Read as _, Write as _};
    lab.host("c")?.ns.run(|| {
        let addr = "10.77.0.200:80".parse()?;
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        stream.write_all(b"GET /index.html HTTP/1.0\r\nHost: vip\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.trim().to_owned())
            .unwrap_or(reply))
    })
}

fn wait_for_file(guest: &UmlGuest, running: &kad_tests::uml::Running, path: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while guest.read(path).is_err() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "guest never wrote {path}; console:\n{}\nkad log:\n{}",
                running.console(),
                guest.read("/out/kad.log").unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The LVS-DR segment: real servers r1 and r2 (the VIP 10.77.0.200 on `lo`, ARP for it
/// ignored, busybox httpd serving `index.html` = "served-by-rN" and `health.html` = "ok"),
/// a client c, and tap `tap` on the bridge for the UML director. Returns the lab and the
/// real servers' `health.html` paths.
fn dr_lab(tag: &str, tap: &str) -> Result<(kad_tests::lab::Lab, Vec<std::path::PathBuf>)> {
    let mut lab = kad_tests::lab::Lab::with_hosts(tag, &[("r1", 1), ("r2", 2), ("c", 100)])?;
    let busybox = std::path::Path::new("/usr/bin/busybox");
    let mut health_pages = Vec::new();
    for r in ["r1", "r2"] {
        let host = lab.host(r)?;
        host.ns
            .ip(&["addr", "add", "10.77.0.200/32", "dev", "lo"])?;
        let sysctl = host
            .command("sysctl")
            .args([
                "-qw",
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
            ])
            .status()?;
        anyhow::ensure!(sysctl.success(), "sysctl arp_ignore in {r}");
        let www = lab.dir().join(format!("www-{r}"));
        std::fs::create_dir_all(&www)?;
        std::fs::write(www.join("index.html"), format!("served-by-{r}\n"))?;
        std::fs::write(www.join("health.html"), "ok\n")?;
        health_pages.push(www.join("health.html"));
        let www = www.to_string_lossy().into_owned();
        lab.start(r, busybox, &["httpd", "-f", "-p", "80", "-h", &www])?;
    }
    lab.switch().ip(&["tuntap", "add", tap, "mode", "tap"])?;
    lab.switch()
        .ip(&["link", "set", tap, "master", "br0", "up"])?;
    Ok((lab, health_pages))
}

#[test]
fn lvs_dr_traffic_reaches_the_real_servers_through_a_uml_director_and_follows_a_reload()
-> Result<()> {
    kad_tests::skip_unless!(Uml);
    let (lab, _) = dr_lab("lvs", "tapu")?;

    let guest = UmlGuest::new("dr", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", DR_CONFIG)?;
    let reloaded = DR_CONFIG.replacen(
        "real_server 10.77.0.2 80 {\n",
        "real_server 10.77.0.2 80 {\n        weight 0\n",
        1,
    );
    guest.write("/etc/keepalived/reload.conf", &reloaded)?;
    let running = guest.start(
        DR_SCRIPT,
        &["vec0:transport=tap,ifname=tapu".to_owned()],
        Some(lab.switch().name()),
    )?;
    wait_for_file(&guest, &running, "/out/ready")?;
    assert_eq!(
        guest.read("/out/daemon.txt")?.trim(),
        "backup sync daemon (mcast=vec0, syncid=7, maxlen=1400, group=224.0.0.82, port=8850, ttl=2)",
        "{}",
        guest.read("/out/kad.log")?
    );
    // The instance is MASTER (no peer): the master daemon replaced the backup one.
    assert_eq!(
        guest.read("/out/daemon-master.txt")?.trim(),
        "master sync daemon (mcast=vec0, syncid=7, maxlen=1400, group=224.0.0.82, port=8850, ttl=2)",
        "{}",
        guest.read("/out/kad.log")?
    );

    // The VRRP half of the same daemon holds its address on the segment.
    assert!(
        lab.host("c")?.ping_once("10.77.0.201"),
        "VRRP VIP unreachable"
    );

    // Round robin over both real servers, each connection answered directly by one.
    let mut bodies = Vec::new();
    for _ in 0..6 {
        bodies.push(get_vip(&lab)?);
    }
    let count = |bodies: &[String], who: &str| bodies.iter().filter(|b| *b == who).count();
    assert_eq!(count(&bodies, "served-by-r1"), 3, "{bodies:?}");
    assert_eq!(count(&bodies, "served-by-r2"), 3, "{bodies:?}");

    // Reload with r2 at weight 0: no new connection reaches it.
    guest.write("/tmp/hup", "")?;
    wait_for_file(&guest, &running, "/out/reloaded")?;
    let mut after = Vec::new();
    for _ in 0..4 {
        after.push(get_vip(&lab)?);
    }
    assert_eq!(count(&after, "served-by-r1"), 4, "{after:?}");

    guest.write("/tmp/stop", "")?;
    running.wait(Duration::from_secs(60))?;
    let log = guest.read("/out/kad.log")?;
    assert_eq!(guest.read("/out/daemon-after.txt")?.trim(), "", "{log}");
    // The director's connection table holds every one of those connections: the traffic
    // went through IPVS, not straight to a real server.
    let conns = guest.read("/out/conns.txt")?;
    let through = |rs: &str| {
        conns
            .lines()
            .filter(|l| l.contains("10.77.0.200:80") && l.trim_end().ends_with(rs))
            .count()
    };
    assert_eq!(
        (through("10.77.0.1:80"), through("10.77.0.2:80")),
        (7, 3),
        "{conns}"
    );
    assert_eq!(
        operations_between(&log, "SIGHUP", "table applied (reload)"),
        vec!["edit dest 10.77.0.2:80 in TCP 10.77.0.200:80 weight 0 (dr)".to_owned()],
        "{log}"
    );
    Ok(())
}

const LIVE_CONFIG: &str = r#"
virtual_server 10.0.0.1 80 {
    protocol TCP
    lvs_sched rr
    lvs_method NAT
    real_server 192.168.1.2 8080 {
    }
    real_server 192.168.1.3 8080 {
        weight 2
    }
}
"#;

const LIVE_SCRIPT: &str = r#"
ipvsadm -A -t 10.0.0.1:80 -s rr
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 1
ipvsadm -a -t 10.0.0.1:80 -r 192.168.1.9:8080 -m -w 4
ipvsadm -A -t 10.9.9.9:25 -s wlc
/sbin/kad -C -G -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
KAD=$!
i=0; until grep -q "table applied (start)" /out/kad.log || [ $i -ge 150 ]; do sleep 0.1; i=$((i+1)); done
ipvsadm -Ln --sort > /out/start.txt
kill -TERM $KAD
wait $KAD
ipvsadm -Ln --sort > /out/stop.txt
"#;

/// Without `lvs_flush`, kad takes over a live table: the configured service is kept (not
/// re-created), only the real servers that differ change, a service it does not configure
/// stays, and without `lvs_flush_on_stop` the table outlives kad.
#[test]
fn kad_starts_on_a_live_table_by_applying_only_the_difference() -> Result<()> {
    kad_tests::skip_unless!(Uml);
    let guest = UmlGuest::new("live", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", LIVE_CONFIG)?;
    let console = guest.boot(LIVE_SCRIPT, Duration::from_secs(120))?;
    let log = guest.read("/out/kad.log").unwrap_or_default();
    let context = format!("console:\n{console}\nkad log:\n{log}");
    assert_eq!(
        operations_between(&log, "", "table applied (start)"),
        vec![
            "del dest 192.168.1.9:8080 from TCP 10.0.0.1:80".to_owned(),
            "add dest 192.168.1.3:8080 to TCP 10.0.0.1:80 weight 2 (masq)".to_owned(),
        ],
        "{context}"
    );
    let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 rr
  -> 192.168.1.2:8080             Masq    1      0          0
  -> 192.168.1.3:8080             Masq    2      0          0
TCP  10.9.9.9:25 wlc
";
    assert_eq!(
        lines(&guest.read("/out/start.txt")?),
        lines(expected),
        "{context}"
    );
    assert_eq!(
        lines(&guest.read("/out/stop.txt")?),
        lines(expected),
        "{context}"
    );
    Ok(())
}

/// `kad -P` (VRRP only, keepalived's `-P`) leaves IPVS alone even with virtual servers
/// configured; the same configuration without `-P` installs them.
#[test]
fn kad_vrrp_only_leaves_ipvs_alone() -> Result<()> {
    kad_tests::skip_unless!(Uml);
    let guest = UmlGuest::new("vrrponly", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", LIVE_CONFIG)?;
    let script = r#"
# run MARKER ARGS: start kad and wait for MARKER in its log.
run() {
  marker=$1; shift
  /sbin/kad --no-xdp -G "$@" -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
  KAD=$!
  i=0; until grep -q "$marker" /out/kad.log || [ $i -ge 150 ]; do sleep 0.1; i=$((i+1)); done
}
# -P: the daemon is up (VRRP side waiting) well after an LVS side would have applied.
run "no vrrp_instance configured" -P
sleep 0.5
ipvsadm -Ln --sort > /out/vrrp-only.txt
kill -TERM $KAD; wait $KAD
run "table applied (start)"
ipvsadm -Ln --sort > /out/default.txt
kill -TERM $KAD; wait $KAD
"#;
    let console = guest.boot(script, Duration::from_secs(120))?;
    let context = format!(
        "console:\n{console}\nkad log:\n{}",
        guest.read("/out/kad.log").unwrap_or_default()
    );
    let header = &lines(EXPECTED)[..3];
    assert_eq!(
        lines(&guest.read("/out/vrrp-only.txt")?),
        header,
        "{context}"
    );
    let default = lines(&guest.read("/out/default.txt")?);
    assert_eq!(default.len(), 6, "{context}");
    assert_eq!(default[3], "TCP  10.0.0.1:80 rr", "{context}");
    Ok(())
}

/// The director checks each real server's `/health.html` (HTTP_GET, every second, one
/// retry a second later, 1 s connect timeout); kad runs checkers and IPVS (`-C`).
const CHECKED_CONFIG: &str = r#"
virtual_server 10.77.0.200 80 {
    protocol TCP
    lvs_sched rr
    lvs_method DR
    delay_loop 1
    real_server 10.77.0.1 80 {
        HTTP_GET {
            url {
                path /health.html
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.77.0.2 80 {
        HTTP_GET {
            url {
                path /health.html
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
"#;

const CHECKED_SCRIPT: &str = r#"
ip link set vec0 up
ip addr add 10.77.0.50/24 dev vec0
ip addr add 10.77.0.200/32 dev vec0
/sbin/kad -C -G -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
KAD=$!
wait_for() { i=0; until [ -e "$1" ] || [ $i -ge 900 ]; do sleep 0.1; i=$((i+1)); done; }
i=0; until grep -q "table applied (start)" /out/kad.log || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done
echo ready > /out/ready
wait_for /tmp/stop
kill -TERM $KAD
wait $KAD
"#;

/// Issue 7: real LVS-DR traffic through a UML director whose real servers kad health-checks
/// over HTTP. When r2's check starts failing (its health page gone: 404), kad removes it
/// from IPVS within delay_loop × (retry + 1) + timeouts and no new connection reaches it;
/// when the page is back, r2 returns and receives connections again.
#[test]
fn a_real_server_failing_its_http_check_stops_receiving_connections_and_returns_healed()
-> Result<()> {
    kad_tests::skip_unless!(Uml);
    let (lab, health_pages) = dr_lab("lvh", "tapc")?;

    let guest = UmlGuest::new("hc", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", CHECKED_CONFIG)?;
    let running = guest.start(
        CHECKED_SCRIPT,
        &["vec0:transport=tap,ifname=tapc".to_owned()],
        Some(lab.switch().name()),
    )?;
    wait_for_file(&guest, &running, "/out/ready")?;
    let count = |bodies: &[String], who: &str| bodies.iter().filter(|b| *b == who).count();
    let round = |n: usize| -> Result<Vec<String>> { (0..n).map(|_| get_vip(&lab)).collect() };
    let first = round(4)?;
    assert_eq!(
        count(&first, "served-by-r2"),
        2,
        "{first:?}\n{}",
        guest.read("/out/kad.log")?
    );

    // r2's health page goes: its check fails, kad takes it out of IPVS.
    let r2_health = health_pages.get(1).cloned().unwrap_or_default();
    std::fs::remove_file(&r2_health)?;
    let failed_at = std::time::Instant::now();
    let removed = "del dest 10.77.0.2:80 from TCP 10.77.0.200:80";
    let deadline = failed_at + Duration::from_secs(15);
    while !guest.read("/out/kad.log")?.contains(removed) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "r2 never removed:\n{}",
            guest.read("/out/kad.log")?
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = failed_at.elapsed();
    eprintln!(
        "r2 removed {:.1} s after its health page went",
        took.as_secs_f64()
    );
    // delay_loop 1 s, then one retry 1 s later, each within its 1 s connect timeout.
    assert!(took < Duration::from_secs(6), "removal took {took:?}");
    let down = round(6)?;
    assert_eq!(count(&down, "served-by-r1"), 6, "{down:?}");

    // The page is back: one successful check brings r2 back.
    std::fs::write(&r2_health, "ok\n")?;
    // (The first "add dest" line is from the start.)
    let added = "add dest 10.77.0.2:80 to TCP 10.77.0.200:80";
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while guest.read("/out/kad.log")?.matches(added).count() < 2 {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "r2 never came back:\n{}",
            guest.read("/out/kad.log")?
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let healed = round(4)?;
    assert_eq!(count(&healed, "served-by-r2"), 2, "{healed:?}");

    guest.write("/tmp/stop", "")?;
    running.wait(Duration::from_secs(60))?;
    Ok(())
}

/// The director follows a BFD session to r2 (keepalived.conf `BFD_CHECK`; 100 ms × 3); r1
/// has no checker. The session's peer is keepalived 2.2.7's BFD process on r2.
const BFD_CHECKED_CONFIG: &str = r#"
bfd_instance r2 {
    neighbor_ip 10.77.0.2
    source_ip 10.77.0.50
    min_rx 100
    min_tx 100
    multiplier 3
    checker
}

virtual_server 10.77.0.200 80 {
    protocol TCP
    lvs_sched rr
    lvs_method DR
    real_server 10.77.0.1 80 {
    }
    real_server 10.77.0.2 80 {
        notify_up "/etc/keepalived/notify.sh up"
        notify_down "/etc/keepalived/notify.sh down"
        BFD_CHECK {
            name r2
        }
    }
}
"#;

/// Issue 16: a real server's BFD_CHECK down → it leaves IPVS, and comes back with its
/// session. r2 runs keepalived's BFD (`bfd_instance` to the director); the director, a UML
/// guest running `kad -C` with real IPVS, follows that session. Stopping r2's BFD process
/// (SIGSTOP) takes r2 out of IPVS within the detection time (and no new connection reaches
/// it although its web server still answers, and its notify_down runs); resuming it brings
/// r2 back (notify_up).
#[test]
fn a_real_server_whose_bfd_session_goes_down_leaves_ipvs_and_comes_back_with_it() -> Result<()> {
    kad_tests::skip_unless!(Uml);
    let (mut lab, _) = dr_lab("lvb", "tapb")?;
    let peer = kad_tests::bfd_peers::BfdInstance::new("director", "10.77.0.50", "10.77.0.2")
        .timers("100", 3);
    let peer = lab.start_keepalived_bfd("r2", &peer.conf())?;

    let guest = UmlGuest::new("bfd", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", BFD_CHECKED_CONFIG)?;
    guest.write(
        "/etc/keepalived/notify.sh",
        "#!/bin/sh\necho \"$1\" >> /out/notify.txt\n",
    )?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        let script = guest.root().join("etc/keepalived/notify.sh");
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755))?;
    }
    // The lines the notify scripts wrote.
    let notified = || {
        let text = guest.read("/out/notify.txt").unwrap_or_default();
        text.lines().map(str::to_owned).collect::<Vec<_>>()
    };
    let running = guest.start(
        CHECKED_SCRIPT,
        &["vec0:transport=tap,ifname=tapb".to_owned()],
        Some(lab.switch().name()),
    )?;
    wait_for_file(&guest, &running, "/out/ready")?;
    let log = || guest.read("/out/kad.log").unwrap_or_default();
    let wait = |what: &str, done: &dyn Fn(&str) -> bool| -> Result<Duration> {
        let start = std::time::Instant::now();
        while !done(&log()) {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(20),
                "{what} never happened; kad log:\n{}\nr2's keepalived:\n{}",
                log(),
                lab.daemon_log(peer.daemon()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(start.elapsed())
    };
    let wait_until = |what: &str, done: &dyn Fn() -> bool| -> Result<()> {
        let start = std::time::Instant::now();
        while !done() {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(20),
                "{what} never happened; notify lines {:?}; kad log:\n{}",
                notified(),
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    };
    let count = |bodies: &[String], who: &str| bodies.iter().filter(|b| *b == who).count();
    let round = |n: usize| -> Result<Vec<String>> { (0..n).map(|_| get_vip(&lab)).collect() };
    let up_line = "BFD check of [r2] RS(10.77.0.2:80) is UP";
    let down_line = "BFD check of [r2] RS(10.77.0.2:80) is DOWN";
    let added = "add dest 10.77.0.2:80 to TCP 10.77.0.200:80";
    let removed = "del dest 10.77.0.2:80 from TCP 10.77.0.200:80";
    // r2 comes up with its session (as keepalived: down at start while the session is not
    // up yet, which the unit tests of check::bfd show).
    wait("r2's session up", &|l| l.contains(up_line))?;
    wait("r2 in IPVS", &|l| {
        l.matches(added).count() > l.matches(removed).count()
    })?;
    let first = round(4)?;
    assert_eq!(count(&first, "served-by-r2"), 2, "{first:?}\n{}", log());

    // Just up, the peers still send at idle_tx (1 s) until their poll sequences bring them
    // to 100 ms: the detection time is 3 s until then.
    let (downs, removals) = (
        log().matches(down_line).count(),
        log().matches(removed).count(),
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        log().matches(removed).count(),
        removals,
        "r2 stays: {}",
        log()
    );

    let notes_before = notified().len();

    // r2's BFD falls silent: its session times out, r2 leaves IPVS.
    peer.pause(&lab)?;
    let took = wait("r2's removal", &|l| l.matches(removed).count() > removals)?;
    eprintln!("r2 removed {} ms after its BFD stopped", took.as_millis());
    // 300 ms detection, then the guest's reaction (polled every 20 ms here).
    assert!(
        took < Duration::from_millis(1500),
        "removal took {took:?}\n{}",
        log()
    );
    assert_eq!(log().matches(down_line).count(), downs + 1, "{}", log());
    let down = round(6)?;
    assert_eq!(count(&down, "served-by-r1"), 6, "{down:?}");
    // notify_down ran (the common checker path; a process start is slow in UML).
    wait_until("notify_down", &|| {
        notified().get(notes_before).map(String::as_str) == Some("down")
    })?;

    // BFD back: the session comes up again, and r2 with it.
    let adds_before = log().matches(added).count();
    peer.resume(&lab)?;
    wait("r2's return", &|l| l.matches(added).count() > adds_before)?;
    let healed = round(4)?;
    assert_eq!(count(&healed, "served-by-r2"), 2, "{healed:?}");
    wait_until("notify_up", &|| {
        notified().get(notes_before + 1).map(String::as_str) == Some("up")
    })?;

    guest.write("/tmp/stop", "")?;
    running.wait(Duration::from_secs(60))?;
    Ok(())
}

/// keepalived.conf lvs_sync_daemon following its VRRP instance, with no virtual server at
/// all: the instance starts in FAULT (a track_file of weight 0 reading 1), so the backup
/// daemon runs; the file cleared, the instance becomes MASTER (no peer on the segment) and
/// the master daemon replaces it; FAULT again brings the backup daemon back; SIGTERM stops
/// both. The deprecated per-instance `lvs_sync_daemon_interface` names the interface, the
/// sync id defaulting to the instance's virtual_router_id.
const SYNC_CONFIG: &str = r#"
vrrp_track_file down {
    file /tmp/fault
    weight 0
}

vrrp_instance VI {
    interface vec0
    lvs_sync_daemon_interface vec0
    virtual_router_id 61
    priority 100
    advert_int 0.2
    track_file {
        down
    }
    virtual_ipaddress {
        10.77.0.211
    }
}
"#;

const SYNC_SCRIPT: &str = r#"
ip link set vec0 up
ip addr add 10.77.0.60/24 dev vec0
echo 1 > /tmp/fault
/sbin/kad --no-xdp -P -f /etc/keepalived/keepalived.conf > /out/kad.log 2>&1 &
KAD=$!
wait_count() { i=0; until [ "$(grep -c "$1" /out/kad.log)" -ge "$2" ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; }
wait_count "Entering FAULT STATE" 1
wait_count "started backup sync daemon" 1
ipvsadm -L --daemon > /out/fault.txt
echo 0 > /tmp/fault
wait_count "Entering MASTER STATE" 1
wait_count "started master sync daemon" 1
ipvsadm -L --daemon > /out/master.txt
echo 1 > /tmp/fault
wait_count "Entering FAULT STATE" 2
wait_count "started backup sync daemon" 2
ipvsadm -L --daemon > /out/fault-again.txt
kill -TERM $KAD
wait $KAD
echo "exit $?" > /out/exit.txt
ipvsadm -L --daemon > /out/after.txt
"#;

#[test]
fn the_sync_daemon_follows_the_vrrp_instance_in_a_uml_guest() -> Result<()> {
    kad_tests::skip_unless!(Uml);
    // A segment for the guest's interface: VRRP needs a link with an address.
    let lab = kad_tests::lab::Lab::new("syn")?;
    lab.switch().ip(&["tuntap", "add", "taps", "mode", "tap"])?;
    lab.switch()
        .ip(&["link", "set", "taps", "master", "br0", "up"])?;

    let guest = UmlGuest::new("sync", &kad_bin()?)?;
    guest.write("/etc/keepalived/keepalived.conf", SYNC_CONFIG)?;
    let running = guest.start(
        SYNC_SCRIPT,
        &["vec0:transport=tap,ifname=taps".to_owned()],
        Some(lab.switch().name()),
    )?;
    let console = running.wait(Duration::from_secs(90))?;
    let log = guest.read("/out/kad.log").unwrap_or_default();
    let context = format!("console:\n{console}\nkad log:\n{log}");
    let read = |path: &str| -> Result<String> { Ok(guest.read(path)?.trim().to_owned()) };
    // ipvsadm prints the kernel's defaults for maxlen, group, port and ttl after these.
    let daemon = |role: &str, text: &str| {
        let head = format!("{role} sync daemon (mcast=vec0, syncid=61");
        text.lines().count() == 1
            && text.starts_with(&head)
            && matches!(text[head.len()..].chars().next(), Some(')' | ','))
    };
    let fault = read("/out/fault.txt")?;
    assert!(daemon("backup", &fault), "{fault}\n{context}");
    let master = read("/out/master.txt")?;
    assert!(daemon("master", &master), "{master}\n{context}");
    let again = read("/out/fault-again.txt")?;
    assert!(daemon("backup", &again), "{again}\n{context}");
    assert_eq!(read("/out/exit.txt")?, "exit 0", "{context}");
    assert_eq!(read("/out/after.txt")?, "", "{context}");
    // Every start and stop was accepted by the kernel (stopping a daemon that does not run,
    // as at start, is expected and not reported).
    assert!(
        !log.lines()
            .any(|l| l.contains("ipvs") && (l.contains("ERROR") || l.contains("WARN"))),
        "{context}"
    );
    assert_eq!(
        log.matches("started master sync daemon").count(),
        1,
        "{context}"
    );
    assert_eq!(
        log.matches("started backup sync daemon").count(),
        2,
        "{context}"
    );
    Ok(())
}
