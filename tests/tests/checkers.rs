//! The health checkers (kad::check) against real servers started here on loopback: an HTTP
//! server with a known page, a TLS server with a self-signed certificate, an SMTP listener,
//! a DNS responder, a UDP echo, a blackhole that accepts and never answers, and a port that
//! refuses. Every test asserts what the servers saw (connections, requests, their order)
//! and the order of the health updates; wall-clock bounds are loose (≥ 50 %).

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad::{
    check::CheckerSet,
    config::{LoadOptions, model::Config, parse_str},
    status::health::HealthUpdate,
};
use kad_tests::fake::{
    dns::dns_server,
    http::{http_server, http_server_on, http_state, lock, tls_server},
    smtp::smtp_server,
    tcp::{blackhole, count, peer_recorder, refusing_port, tcp_counter},
    udp::udp_echo,
};
use md5::{Digest as _, Md5};
use tokio::{
    net::{TcpListener, UdpSocket},
    sync::mpsc,
};

/// Scripts run as root from root-owned folders, as keepalived wants them.
const SCRIPT_SECURITY: &str = "global_defs {\n  enable_script_security\n  script_user root\n}\n";

const PAGE: &str = "<html><body>kad health page: all good</body></html>\n";

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a configuration, failing on any error diagnostic.
fn config(text: &str) -> Result<Config> {
    let loaded = parse_str(text, &LoadOptions::with_config_id("test"));
    if loaded.has_errors() {
        bail!(
            "config errors: {:?}\n{text}",
            loaded
                .diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    }
    Ok(loaded.config)
}

/// A virtual server block with `real_servers` inside.
fn vs(vip: &str, delay_loop: &str, real_servers: &str) -> String {
    format!(
        "virtual_server {vip} {{\n  delay_loop {delay_loop}\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{real_servers}\n}}\n"
    )
}

/// Waits for the next update within `limit`.
async fn next(rx: &mut mpsc::Receiver<HealthUpdate>, limit: Duration) -> Result<HealthUpdate> {
    tokio::time::timeout(limit, rx.recv())
        .await
        .context("no health update in time")?
        .context("updates closed")
}

/// The initial update of every real server (one each), returned in order.
async fn initial(rx: &mut mpsc::Receiver<HealthUpdate>, n: usize) -> Result<Vec<HealthUpdate>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let update = next(rx, Duration::from_secs(2)).await?;
        assert!(update.reason.contains("initial") || update.reason.contains("no checker"));
        out.push(update);
    }
    Ok(out)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// keepalived 2.2.7 brings an HTTP_GET checker that went down back up only after a full pass
/// of its urls following the pass of the failed one: with one url, two passes (kad brought
/// it up on the first before it followed keepalived's url cycle).
#[tokio::test]
async fn http_get_goes_down_after_exactly_retry_attempts_and_up_after_two_passes() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    let dir = kad_tests::scratch::dir("http")?;
    let notify = dir.join("notify.log");
    let fifo = dir.join("lvs.fifo");
    let script = |word: &str| -> Result<PathBuf> {
        let path = dir.join(format!("notify_{word}.sh"));
        kad_tests::scratch::script(
            &path,
            &format!("echo {word} >> {}", notify.display()),
            0o755,
        )?;
        Ok(path)
    };
    let (up_script, down_script) = (script("up")?, script("down")?);
    let text = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n  lvs_notify_fifo {}\n}}\n{}",
        fifo.display(),
        vs(
            "10.9.9.9 80",
            "0.6",
            &format!(
                "  real_server 127.0.0.1 {port} {{
    notify_up {}
    notify_down {}
    HTTP_GET {{
      url {{
        path /health
        digest {}
        status_code 200-299
      }}
      connect_timeout 1
      retry 2
      delay_before_retry 0.2
      warmup 0
    }}
  }}",
                up_script.display(),
                down_script.display(),
                md5_hex(PAGE.as_bytes())
            )
        )
    );
    let (tx, mut rx) = mpsc::channel(16);
    let handle = CheckerSet::spawn(&config(&text)?, tx);
    let first = initial(&mut rx, 1).await?;
    assert!(first[0].up);
    assert_eq!(first[0].real_server.addr, addr(port));
    // The checkers made the FIFO before the first update; read it while they hold it.
    let mut fifo_reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)?;
    // Passing probes, one per delay_loop: no update.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(rx.try_recv().is_err(), "no change while the page is good");
    let good = lock(&state).requests.len();
    assert!(
        (2..=4).contains(&good),
        "{good} probes in 1.5 s at delay_loop 0.6"
    );
    assert_eq!(lock(&state).requests[0].2, format!("127.0.0.1:{port}"));
    lock(&state).status = 500;
    let down = next(&mut rx, Duration::from_secs(5)).await?;
    assert!(!down.up);
    assert!(down.reason.contains("status 500"), "{}", down.reason);
    assert!(down.reason.contains("HTTP_GET"), "{}", down.reason);
    let failed: Vec<Instant> = lock(&state)
        .requests
        .iter()
        .filter(|r| r.1 == 500)
        .map(|r| r.0)
        .collect();
    assert_eq!(failed.len(), 3, "1 probe + retry 2, then down");
    for pair in failed.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(100) && gap <= Duration::from_millis(400),
            "retries spaced by delay_before_retry 0.2 s, saw {gap:?}"
        );
    }
    // Down: the failed url once per delay_loop; once it passes, every url once more (here
    // the same one), then up.
    lock(&state).status = 200;
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up, "{up:?}");
    let after: Vec<u16> = lock(&state).requests.iter().map(|r| r.1).collect();
    assert_eq!(after.iter().filter(|&&s| s == 500).count(), 3);
    assert_eq!(after[after.len() - 2..], [200, 200], "{after:?}");
    // The FIFO has keepalived's RS lines; notify_down then notify_up ran.
    let mut lines = String::new();
    let _ = std::io::Read::read_to_string(&mut fifo_reader, &mut lines);
    drop(handle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(std::fs::read_to_string(&notify)?, "down\nup\n");
    assert_eq!(
        lines,
        format!(
            "RS [127.0.0.1]:tcp:{port} [10.9.9.9]:tcp:80 DOWN\n\
             RS [127.0.0.1]:tcp:{port} [10.9.9.9]:tcp:80 UP\n"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

use std::os::unix::fs::OpenOptionsExt as _;

#[tokio::test]
async fn digest_regex_and_status_code_decide_each_real_server() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    // Four real servers probing the same page (connect_ip/connect_port aim them at it):
    // good digest, wrong digest, regex_no_match that matches, status_code 500 only.
    let rs = |ip: &str, url: &str| {
        format!(
            "  real_server {ip} 80 {{
    HTTP_GET {{
      connect_ip 127.0.0.1
      connect_port {port}
      url {{
        path /
{url}
      }}
      connect_timeout 1
      retry 0
      warmup 0
    }}
  }}\n"
        )
    };
    let text = vs(
        "10.9.9.9 80",
        "0.5",
        &[
            rs(
                "10.0.0.1",
                &format!("        digest {}", md5_hex(PAGE.as_bytes())),
            ),
            rs("10.0.0.2", &format!("        digest {}", md5_hex(b"other"))),
            rs(
                "10.0.0.3",
                "        regex \"all good\"\n        regex_no_match",
            ),
            rs("10.0.0.4", "        status_code 500"),
        ]
        .concat(),
    );
    let mut text = text.replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    text.push('\n');
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    let first = initial(&mut rx, 4).await?;
    assert!(first.iter().all(|u| !u.up), "alpha: all start down");
    // Only 10.0.0.1 comes up; the others stay down (no update) over several loops.
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    assert_eq!(up.real_server.addr, "10.0.0.1:80".parse()?);
    assert!(
        up.reason.contains(&format!("127.0.0.1:{port}")),
        "{}",
        up.reason
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(rx.try_recv().is_err());
    // The good one every 0.5 s; each failing one fetched once: as keepalived 2.2.7, a
    // failed url is fetched again only after max(delay_before_retry, delay_loop), here
    // HTTP_GET's default delay_before_retry of 3 s (kad probed it every delay_loop before).
    let requests = lock(&state).requests.len();
    assert!((5..=8).contains(&requests), "{requests} requests");
    Ok(())
}

#[tokio::test]
async fn ssl_get_sends_sni_and_virtualhost_to_a_self_signed_server() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = tls_server(state.clone()).await?;
    let text = vs(
        "10.9.9.9 443",
        "0.5",
        &format!(
            "  alpha_placeholder
  real_server 127.0.0.1 {port} {{
    SSL_GET {{
      enable_sni
      virtualhost check.test
      url {{
        path /tls
        digest {}
      }}
      connect_timeout 2
      warmup 0
    }}
  }}",
            md5_hex(PAGE.as_bytes())
        ),
    )
    .replace("  alpha_placeholder\n", "  alpha\n");
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(!initial(&mut rx, 1).await?[0].up);
    let up = next(&mut rx, Duration::from_secs(4)).await?;
    assert!(up.up, "{up:?}");
    assert!(up.reason.contains("SSL_GET"), "{}", up.reason);
    let s = lock(&state);
    assert_eq!(s.sni.first(), Some(&Some("check.test".to_owned())));
    assert_eq!(s.requests.first().map(|r| r.2.as_str()), Some("check.test"));
    Ok(())
}

#[tokio::test]
async fn a_hung_server_never_stalls_other_checks_and_times_out_as_configured() -> Result<()> {
    let (hole, accepted) = blackhole().await?;
    let refused = refusing_port().await?;
    let (alive, alive_seen) = tcp_counter().await?;
    let text = vs(
        "10.9.9.9 80",
        "0.3",
        &format!(
            "  real_server 127.0.0.1 {hole} {{
    HTTP_GET {{
      url {{
        path /
      }}
      connect_timeout 1
      retry 1
      delay_before_retry 0.3
      warmup 0
    }}
  }}
  real_server 127.0.0.1 {refused} {{
    TCP_CHECK {{
      connect_timeout 1
      retry 2
      delay_before_retry 0.1
      warmup 0
    }}
  }}
  real_server 127.0.0.1 {alive} {{
    TCP_CHECK {{
      connect_timeout 1
      warmup 0
    }}
  }}"
        ),
    );
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    initial(&mut rx, 3).await?;
    // The refusing port is down first: 3 refused connects 0.1 s apart, long before the
    // blackhole's first 1 s timeout.
    let first = next(&mut rx, Duration::from_secs(5)).await?;
    assert_eq!(first.real_server.addr, addr(refused));
    assert!(!first.up);
    assert!(first.reason.contains("refused"), "{}", first.reason);
    assert!(start.elapsed() < Duration::from_millis(800));
    // The blackhole: one attempt cut at connect_timeout 1 s, and down: keepalived 2.2.7
    // starts an HTTP_GET checker with its retries spent, so at start one failure is enough
    // (kad retried it before it followed keepalived's url cycle, check_http.c).
    let second = next(&mut rx, Duration::from_secs(6)).await?;
    let took = start.elapsed();
    assert_eq!(second.real_server.addr, addr(hole));
    assert!(!second.up);
    assert!(second.reason.contains("timeout"), "{}", second.reason);
    assert_eq!(count(&accepted), 1, "1 attempt, no retry at start");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_millis(2500),
        "connect_timeout 1 s, took {took:?}"
    );
    // Meanwhile the live server was probed every 0.3 s, never held up by the blackhole.
    let seen = count(&alive_seen);
    assert!(
        seen >= 4,
        "{seen} probes of the live server in {took:?} at delay_loop 0.3"
    );
    assert!(rx.try_recv().is_err(), "the live server never changed");
    Ok(())
}

#[tokio::test]
async fn smtp_dns_udp_and_ping_checks_judge_their_servers() -> Result<()> {
    let (smtp_ok, helos) = smtp_server("220 mail ESMTP\r\n").await?;
    let (smtp_busy, _) = smtp_server("554 no service\r\n").await?;
    let (dns, queries) = dns_server().await?;
    let (echo, echoed) = udp_echo().await?;
    let closed_udp = {
        let s = UdpSocket::bind("127.0.0.1:0").await?;
        s.local_addr()?.port()
    };
    let timing = "      connect_timeout 1\n      retry 0\n      warmup 0\n";
    let rs = |ip: &str, port: u16, checker: &str, body: &str| {
        format!("  real_server {ip} {port} {{\n    {checker} {{\n{body}{timing}    }}\n  }}\n")
    };
    let text = vs(
        "10.9.9.9 25",
        "0.4",
        &[
            rs("127.0.0.1", smtp_ok, "SMTP_CHECK", "      helo_name kad.test\n"),
            rs("127.0.0.1", smtp_busy, "SMTP_CHECK", ""),
            rs("127.0.0.1", dns, "DNS_CHECK", "      type A\n      name ok.test\n"),
            rs(
                "127.0.0.2",
                dns,
                "DNS_CHECK",
                "      connect_ip 127.0.0.1\n      type A\n      name missing.test\n",
            ),
            rs(
                "127.0.0.1",
                echo,
                "UDP_CHECK",
                "      payload 6b6164\n      require_reply\n      min_reply_length 3\n",
            ),
            rs(
                "127.0.0.2",
                echo,
                "UDP_CHECK",
                "      connect_ip 127.0.0.1\n      payload 6b6164\n      require_reply\n      min_reply_length 10\n",
            ),
            rs("127.0.0.1", closed_udp, "UDP_CHECK", "      require_reply\n"),
            rs(
                "127.0.0.4",
                echo,
                "UDP_CHECK",
                "      connect_ip 127.0.0.1\n      payload 6b6164\n      require_reply 6b61 65\n",
            ),
            rs("127.0.0.3", 0, "PING_CHECK", "      connect_ip 127.0.0.1\n"),
        ]
        .concat(),
    )
    .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    let (tx, mut rx) = mpsc::channel(32);
    let set = CheckerSet::new(&config(&text)?);
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let _handle = set.start(tx);
    initial(&mut rx, 9).await?;
    let mut up = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Ok(update) = next(&mut rx, deadline.saturating_duration_since(Instant::now())).await {
        assert!(update.up, "alpha: only up transitions: {update:?}");
        up.push(update.real_server.addr);
    }
    up.sort();
    let mut want = vec![addr(smtp_ok), addr(dns), addr(echo), "127.0.0.3:0".parse()?];
    want.sort();
    assert_eq!(up, want, "exactly the healthy servers came up");
    assert!(
        helos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .all(|l| l == "HELO kad.test")
    );
    assert!(*queries.lock().unwrap_or_else(|e| e.into_inner()) >= 2);
    assert!(
        echoed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .all(|p| p == b"kad")
    );
    Ok(())
}

#[tokio::test]
async fn misc_dynamic_exit_codes_set_up_down_and_weight() -> Result<()> {
    let dir = kad_tests::scratch::dir("misc")?;
    let code = dir.join("code");
    std::fs::write(&code, "12")?;
    let script = dir.join("check.sh");
    kad_tests::scratch::script(&script, &format!("exit $(cat {})", code.display()), 0o755)?;
    let text = SCRIPT_SECURITY.to_owned()
        + &vs(
            "10.9.9.9 80",
            "0.2",
            &format!(
                "  real_server 10.0.0.1 80 {{
    weight 5
    MISC_CHECK {{
      misc_path \"{} arg\"
      misc_timeout 2
      misc_dynamic
      retry 0
      warmup 0
    }}
  }}",
                script.display()
            ),
        );
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(initial(&mut rx, 1).await?[0].up);
    // Exit 12: up with weight 10.
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(10)), "{u:?}");
    // Exit 1: down.
    std::fs::write(&code, "1")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(!u.up, "{u:?}");
    assert!(u.reason.contains("exit status 1"), "{}", u.reason);
    // Exit 0: up, weight unchanged; then exit 2: weight 0.
    std::fs::write(&code, "0")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(10)), "{u:?}");
    std::fs::write(&code, "2")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(0)), "{u:?}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn two_virtual_servers_sharing_a_real_server_share_one_probe() -> Result<()> {
    let (port, seen) = tcp_counter().await?;
    let rs = format!(
        "  real_server 127.0.0.1 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      warmup 0\n    }}\n  }}"
    );
    let text = [
        vs("10.9.9.9 80", "0.5", &rs),
        vs("10.9.9.10 8080", "0.5", &rs),
    ]
    .concat();
    let set = CheckerSet::new(&config(&text)?);
    assert_eq!(set.plan().servers.len(), 1);
    assert_eq!(set.plan().probes.len(), 1);
    assert_eq!(set.plan().servers[0].virtual_servers.len(), 2);
    let (tx, mut rx) = mpsc::channel(16);
    let start = Instant::now();
    let handle = set.start(tx);
    assert_eq!(handle.probes(), 1, "one probe for the two virtual servers");
    initial(&mut rx, 1).await?;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    drop(handle);
    let n = count(&seen);
    let took = start.elapsed();
    // One probe every 0.5 s from t=0: 5 in 2.2 s; two streams would make 10.
    assert!((4..=6).contains(&n), "{n} connections in {took:?}");
    Ok(())
}

#[test]
fn genhash_prints_the_md5_of_the_page() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = http_state(200, PAGE);
    let port = runtime.block_on(http_server(state.clone()))?;
    let server = std::thread::spawn(move || {
        runtime.block_on(async { tokio::time::sleep(Duration::from_secs(10)).await });
    });
    let output = std::process::Command::new(kad_tests::kad_bin()?)
        .args(["genhash", "-s", "127.0.0.1", "-p", &port.to_string()])
        .args(["-u", "/page", "-V", "www.test"])
        .output()
        .context("running kad genhash")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("MD5SUM = {}", md5_hex(PAGE.as_bytes()))
    );
    assert_eq!(
        lock(&state).requests.first().map(|r| r.2.as_str()),
        Some("www.test")
    );
    drop(server);
    Ok(())
}

#[tokio::test]
async fn bindto_bind_port_bind_if_and_fwmark_shape_the_probe_socket() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let (port, peers) = peer_recorder().await?;
    let bind_port = refusing_port().await?;
    let text = vs(
        "10.9.9.9 80",
        "5",
        &format!(
            "  real_server 127.0.0.1 {port} {{
    TCP_CHECK {{
      bindto 127.0.0.2
      bind_port {bind_port}
      bind_if lo
      fwmark 7
      connect_timeout 1
      warmup 0
    }}
  }}"
        ),
    )
    .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(!initial(&mut rx, 1).await?[0].up);
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up, "{up:?}");
    let first = peers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .first()
        .copied();
    assert_eq!(first, Some(SocketAddr::from(([127, 0, 0, 2], bind_port))));
    Ok(())
}

#[tokio::test]
async fn file_check_and_udp_without_reply_follow_keepalived() -> Result<()> {
    let dir = kad_tests::scratch::dir("file")?;
    let value = dir.join("value");
    std::fs::write(&value, "3\n")?;
    let (echo, _) = udp_echo().await?;
    let closed_udp = {
        let s = UdpSocket::bind("127.0.0.1:0").await?;
        s.local_addr()?.port()
    };
    let text = format!(
        "track_file weights {{\n  file {}\n}}\n{}",
        value.display(),
        vs(
            "10.9.9.9 53",
            "0.3",
            &format!(
                "  real_server 10.0.0.1 80 {{
    weight 10
    FILE_CHECK {{
      track_file weights
      weight 2
      dynamic
    }}
  }}
  real_server 127.0.0.1 {echo} {{
    UDP_CHECK {{
      connect_timeout 0.5
      retry 0
      warmup 0
    }}
  }}
  real_server 127.0.0.1 {closed_udp} {{
    UDP_CHECK {{
      connect_timeout 0.5
      retry 0
      warmup 0
    }}
  }}"
            ),
        )
    );
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    initial(&mut rx, 3).await?;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1500);
    while let Ok(u) = next(&mut rx, deadline.saturating_duration_since(Instant::now())).await {
        seen.push((u.real_server.addr, u.up, u.weight));
    }
    // The file's 3 × weight 2 on top of weight 10; the closed UDP port answers with ICMP
    // port unreachable; the echo port (no reply required) stays up.
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("10.0.0.1:80".parse()?, true, Some(16)),
            (addr(closed_udp), false, None),
        ]
    );
    // -6 × 2 + 10 < 0: down.
    std::fs::write(&value, "-6\n")?;
    let u = next(&mut rx, Duration::from_secs(2)).await?;
    assert_eq!((u.real_server.addr, u.up), ("10.0.0.1:80".parse()?, false));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn a_reload_keeps_each_real_servers_state() -> Result<()> {
    let refused = refusing_port().await?;
    let (alive, _) = tcp_counter().await?;
    let text = vs(
        "10.9.9.9 80",
        "0.3",
        &[refused, alive]
            .iter()
            .map(|p| {
                format!(
                    "  real_server 127.0.0.1 {p} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n      warmup 0\n    }}\n  }}\n"
                )
            })
            .collect::<String>(),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let old = CheckerSet::spawn(&config(&text)?, tx.clone());
    initial(&mut rx, 2).await?;
    let down = next(&mut rx, Duration::from_secs(2)).await?;
    assert_eq!((down.real_server.addr, down.up), (addr(refused), false));
    // Reload: the failed server stays down from the first update on (no flap to up).
    let new = CheckerSet::new(&config(&text)?).replace(old, tx);
    let mut after = initial(&mut rx, 2).await?;
    after.sort_by_key(|u| u.real_server.addr);
    let mut want = vec![(addr(refused), false), (addr(alive), true)];
    want.sort();
    assert_eq!(
        after
            .iter()
            .map(|u| (u.real_server.addr, u.up))
            .collect::<Vec<_>>(),
        want
    );
    assert!(after.iter().all(|u| u.reason.contains("reload")));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(rx.try_recv().is_err(), "no flap after the reload");
    assert_eq!(
        new.health()
            .get(&kad::status::health::RealServerKey {
                addr: addr(refused)
            })
            .map(|h| h.up),
        Some(false)
    );
    Ok(())
}

/// In a namespace of its own, a veth whose peer drops every frame sent to 10.77.0.2:
/// TCP SYNs and ICMP echoes go unanswered, so the probes end at their connect_timeout.
#[test]
fn silent_hosts_fail_tcp_and_ping_checks_at_connect_timeout() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let ns = kad_tests::netns::NetNs::new("chk")?;
    ns.ip(&[
        "link", "add", "sink", "type", "veth", "peer", "name", "sinkp",
    ])?;
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", "sink"])?;
    ns.ip(&["link", "set", "sink", "up"])?;
    ns.ip(&["link", "set", "sinkp", "up"])?;
    // Frames for 10.77.0.2 go out at once (no ARP) to a MAC nobody has: dropped.
    ns.ip(&[
        "neigh",
        "add",
        "10.77.0.2",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "sink",
        "nud",
        "permanent",
    ])?;
    let text = vs(
        "10.9.9.9 80",
        "5",
        "  real_server 10.77.0.2 80 {
    TCP_CHECK {
      connect_timeout 0.5
      retry 1
      delay_before_retry 0.2
      warmup 0
    }
  }
  real_server 10.77.0.2 0 {
    PING_CHECK {
      connect_timeout 0.5
      retry 0
      warmup 0
    }
  }
  real_server 10.77.0.1 0 {
    PING_CHECK {
      connect_timeout 0.5
      retry 0
      warmup 0
    }
  }",
    );
    let config = config(&text)?;
    ns.run(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let start = Instant::now();
            let (tx, mut rx) = mpsc::channel(16);
            let _handle = CheckerSet::spawn(&config, tx);
            initial(&mut rx, 3).await?;
            let mut downs = Vec::new();
            let deadline = Instant::now() + Duration::from_millis(2500);
            while let Ok(u) =
                next(&mut rx, deadline.saturating_duration_since(Instant::now())).await
            {
                downs.push((u.real_server.addr, u.up, u.reason, start.elapsed()));
            }
            downs.sort_by_key(|d| d.3);
            let order: Vec<(SocketAddr, bool)> = downs.iter().map(|d| (d.0, d.1)).collect();
            // PING (retry 0): down at its first 0.5 s timeout; TCP (retry 1): two 0.5 s
            // timeouts 0.2 s apart. The local address answers its pings: no change.
            assert_eq!(
                order,
                vec![
                    (SocketAddr::from(([10, 77, 0, 2], 0)), false),
                    (SocketAddr::from(([10, 77, 0, 2], 80)), false),
                ],
                "{downs:?}"
            );
            assert!(downs[0].2.contains("timeout"), "{}", downs[0].2);
            assert!(downs[1].2.contains("timeout (connect)"), "{}", downs[1].2);
            let (ping, tcp) = (downs[0].3, downs[1].3);
            assert!(
                ping >= Duration::from_millis(400) && ping <= Duration::from_millis(1000),
                "PING down after {ping:?}"
            );
            assert!(
                tcp >= Duration::from_millis(1000) && tcp <= Duration::from_millis(2200),
                "TCP down after 0.5 + 0.2 + 0.5 s, took {tcp:?}"
            );
            Ok(())
        })
    })
}

#[tokio::test]
async fn ipv6_http_get_and_ping_check() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server_on("[::1]:0", state.clone()).await?;
    let text = vs(
        "fd00::9 80",
        "0.5",
        &format!(
            "  real_server ::1 {port} {{
    HTTP_GET {{
      url {{
        path /v6
        digest {}
      }}
      connect_timeout 1
      warmup 0
    }}
    PING_CHECK {{
      connect_timeout 1
      warmup 0
    }}
  }}",
            md5_hex(PAGE.as_bytes())
        ),
    )
    .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(!initial(&mut rx, 1).await?[0].up);
    // Up only once both checkers passed: one update.
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up, "{up:?}");
    assert_eq!(up.real_server.addr, format!("[::1]:{port}").parse()?);
    assert_eq!(
        lock(&state).requests.first().map(|r| r.2.clone()),
        Some(format!("[::1]:{port}"))
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(rx.try_recv().is_err());
    Ok(())
}

#[test]
fn genhash_over_tls_sends_the_virtualhost_as_sni() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = http_state(200, "secret page\n");
    let port = runtime.block_on(tls_server(state.clone()))?;
    let server = std::thread::spawn(move || {
        runtime.block_on(async { tokio::time::sleep(Duration::from_secs(10)).await });
    });
    let output = std::process::Command::new(kad_tests::kad_bin()?)
        .args(["genhash", "-S", "-s", "127.0.0.1", "-p", &port.to_string()])
        .args(["-u", "/tls", "-V", "check.test"])
        .output()
        .context("running kad genhash")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("MD5SUM = {}", md5_hex(b"secret page\n"))
    );
    assert_eq!(
        lock(&state).sni.first(),
        Some(&Some("check.test".to_owned()))
    );
    drop(server);
    Ok(())
}

/// keepalived.conf(5): `bind_if` is needed for IPv6 link-local addresses. Two ends of a
/// veth in a namespace of their own: the checker reaches fe80::a from fe80::b through
/// `bind_if lb`.
#[test]
fn link_local_targets_are_reached_through_bind_if() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let ns = kad_tests::netns::NetNs::new("ll")?;
    ns.ip(&["link", "add", "la", "type", "veth", "peer", "name", "lb"])?;
    ns.ip(&["-6", "addr", "add", "fe80::a/64", "dev", "la", "nodad"])?;
    ns.ip(&["-6", "addr", "add", "fe80::b/64", "dev", "lb", "nodad"])?;
    ns.ip(&["link", "set", "la", "up"])?;
    ns.ip(&["link", "set", "lb", "up"])?;
    ns.run(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let index = |name: &str| -> Result<u32> {
                let c = std::ffi::CString::new(name)?;
                // SAFETY: if_nametoindex reads a valid NUL-terminated string.
                match unsafe { libc::if_nametoindex(c.as_ptr()) } {
                    0 => bail!("no interface {name}"),
                    i => Ok(i),
                }
            };
            let local = std::net::SocketAddrV6::new("fe80::a".parse()?, 0, 0, index("la")?);
            let listener = TcpListener::bind(local).await?;
            let port = listener.local_addr()?.port();
            let peers = Arc::new(Mutex::new(Vec::new()));
            let log = peers.clone();
            tokio::spawn(async move {
                while let Ok((_s, peer)) = listener.accept().await {
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(peer);
                }
            });
            let text = vs(
                "fd00::9 80",
                "5",
                &format!(
                    "  real_server fe80::a {port} {{
    TCP_CHECK {{
      bindto fe80::b
      bind_if lb
      connect_timeout 1
      warmup 0
    }}
  }}"
                ),
            )
            .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
            let (tx, mut rx) = mpsc::channel(16);
            let _handle = CheckerSet::spawn(&config(&text)?, tx);
            assert!(!initial(&mut rx, 1).await?[0].up);
            let up = next(&mut rx, Duration::from_secs(3)).await?;
            assert!(up.up, "{up:?}");
            let peer = peers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .first()
                .copied();
            assert_eq!(peer.map(|p| p.ip()), Some("fe80::b".parse()?));
            Ok(())
        })
    })
}

/// keepalived.conf misc_dynamic with two MISC_CHECKs on one real server: each sets the
/// weight when its exit code asks for a new one, so the latest request wins; the real
/// server is up only while both pass, and keeps its weight while down.
#[tokio::test]
async fn with_two_dynamic_checkers_the_latest_weight_request_wins() -> Result<()> {
    let dir = kad_tests::scratch::dir("misc2")?;
    let mut checks = String::new();
    let mut codes = Vec::new();
    for name in ["a", "b"] {
        let code = dir.join(format!("code-{name}"));
        std::fs::write(&code, "0")?;
        let script = dir.join(format!("check-{name}.sh"));
        kad_tests::scratch::script(&script, &format!("exit $(cat {})", code.display()), 0o755)?;
        checks += &format!(
            "    MISC_CHECK {{\n      misc_path \"{}\"\n      misc_timeout 2\n      misc_dynamic\n      retry 0\n      warmup 0\n    }}\n",
            script.display()
        );
        codes.push(code);
    }
    let text = SCRIPT_SECURITY.to_owned()
        + &vs(
            "10.9.9.9 80",
            "0.2",
            &format!("  real_server 10.0.0.1 80 {{\n    weight 5\n{checks}  }}"),
        );
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(initial(&mut rx, 1).await?[0].up);
    let set = |i: usize, code: &str| std::fs::write(&codes[i], code);
    // a asks for 10.
    set(0, "12")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(10)), "{u:?}");
    // b asks for 5 later: 5, though a still says 10.
    set(1, "7")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(5)), "{u:?}");
    // a asks for 7: 7.
    set(0, "9")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(7)), "{u:?}");
    // b fails: down, weight kept.
    set(1, "1")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (false, Some(7)), "{u:?}");
    // b passes with exit 0 (weight unchanged for itself): up, weight 7 still.
    set(1, "0")?;
    let u = next(&mut rx, Duration::from_secs(3)).await?;
    assert_eq!((u.up, u.weight), (true, Some(7)), "{u:?}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// keepalived.conf `http_protocol`: each value's request head byte for byte as keepalived
/// 2.2.7 sends it (check_http.c's request template: `GET PATH HTTP/1.V`, `User-Agent:
/// KeepAliveClient`, `Connection: close` for 1.0C and 1.1, `Host`, in that order and case;
/// 1.0 without `http_protocol`), over HTTP and TLS. `tests/tests/lvs_ipvs.rs` compares
/// these with keepalived's own requests.
#[tokio::test]
async fn http_protocol_sends_keepalived_s_request_head() -> Result<()> {
    let cases = [
        ("", "1.0", ""),
        ("http_protocol 1.0", "1.0", ""),
        ("http_protocol 1.0C", "1.0", "Connection: close\r\n"),
        ("http_protocol 1.0c", "1.0", "Connection: close\r\n"),
        ("http_protocol 1.1", "1.1", "Connection: close\r\n"),
    ];
    let mut servers = Vec::new();
    let mut real_servers = String::new();
    for (i, (line, _, _)) in cases.iter().enumerate() {
        let state = http_state(200, PAGE);
        let port = http_server(state.clone()).await?;
        let (kind, tls_port) = if i == 4 {
            let tls_state = http_state(200, PAGE);
            let tls_port = tls_server(tls_state.clone()).await?;
            servers.push((tls_state, tls_port, *line, i));
            ("SSL_GET", Some(tls_port))
        } else {
            ("HTTP_GET", None)
        };
        servers.push((state, port, *line, i));
        real_servers.push_str(&format!(
            "  real_server 127.0.0.1 {port} {{
    HTTP_GET {{
      {line}
      url {{
        path /health?probe={i}
      }}
      connect_timeout 2
      warmup 0
    }}
  }}
"
        ));
        if let Some(tls_port) = tls_port {
            real_servers.push_str(&format!(
                "  real_server 127.0.0.1 {tls_port} {{
    {kind} {{
      {line}
      url {{
        path /health?probe={i}
      }}
      connect_timeout 2
      warmup 0
    }}
  }}
"
            ));
        }
    }
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&vs("10.9.9.9 80", "0.3", &real_servers))?, tx);
    initial(&mut rx, servers.len()).await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while servers.iter().any(|(s, ..)| lock(s).heads.is_empty()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (state, port, line, i) in &servers {
        let (_, version, connection) = cases[*i];
        let want = format!(
            "GET /health?probe={i} HTTP/{version}\r\n\
             User-Agent: KeepAliveClient\r\n\
             {connection}\
             Host: 127.0.0.1:{port}\r\n\r\n"
        );
        let heads = lock(state).heads.clone();
        assert_eq!(heads.first(), Some(&want), "'{line}' on port {port}");
    }
    assert!(rx.try_recv().is_err(), "every server stays up");
    Ok(())
}

/// keepalived.conf `regex_min_offset` / `regex_max_offset`: a real server comes up only
/// when the regex matches starting within [min, max] bytes into the page; a match before
/// the minimum or after the maximum does not count (offsets without a regex, or with the
/// minimum beyond the maximum, are dropped as keepalived drops them).
#[tokio::test]
async fn regex_offsets_bound_where_the_match_starts() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    let at = PAGE.find("all good").context("the page says all good")?;
    let rs = |ip: &str, url: &str| {
        format!(
            "  real_server {ip} 80 {{
    HTTP_GET {{
      connect_ip 127.0.0.1
      connect_port {port}
      url {{
        path /
        regex \"all good\"
{url}
      }}
      connect_timeout 1
      retry 0
      warmup 0
    }}
  }}\n"
        )
    };
    let text = vs(
        "10.9.9.9 80",
        "0.3",
        &[
            rs(
                "10.0.0.1",
                &format!("        regex_min_offset {at}\n        regex_max_offset {at}"),
            ),
            rs("10.0.0.2", &format!("        regex_max_offset {}", at - 1)),
            rs("10.0.0.3", &format!("        regex_min_offset {}", at + 1)),
        ]
        .concat(),
    )
    .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    let first = initial(&mut rx, 3).await?;
    assert!(first.iter().all(|u| !u.up), "alpha: all start down");
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    assert_eq!(up.real_server.addr, "10.0.0.1:80".parse()?);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(rx.try_recv().is_err(), "the others stay down");
    assert!(lock(&state).requests.len() >= 6, "3 probes every 0.3 s");
    Ok(())
}

/// keepalived.conf SMTP_CHECK `host { connect_ip connect_port ... }` blocks (deprecated in
/// keepalived 2.x, which makes each host a checker of its own beside the checker itself):
/// every host is checked with the checker's `helo_name`, and the real server is up only
/// when the checker's own target and every host pass.
#[tokio::test]
async fn smtp_check_host_blocks_are_each_checked_and_all_must_pass() -> Result<()> {
    let (main, main_helos) = smtp_server("220 main ESMTP\r\n").await?;
    let (second, second_helos) = smtp_server("220 second ESMTP\r\n").await?;
    let (third, third_helos) = smtp_server("220 third ESMTP\r\n").await?;
    let refusing = refusing_port().await?;
    let rs = |ip: &str, hosts: &str| {
        format!(
            "  real_server {ip} 25 {{
    SMTP_CHECK {{
      connect_ip 127.0.0.1
      connect_port {main}
      helo_name kad.test
{hosts}      connect_timeout 1
      retry 0
      warmup 0
    }}
  }}\n"
        )
    };
    let text = vs(
        "10.9.9.9 25",
        "0.3",
        &[
            rs(
                "10.0.0.1",
                &format!(
                    "      host {{\n        connect_port {second}\n      }}\n      \
                     host {{\n        connect_ip 127.0.0.1\n        connect_port {third}\n      }}\n"
                ),
            ),
            rs(
                "10.0.0.2",
                &format!("      host {{\n        connect_port {refusing}\n      }}\n"),
            ),
        ]
        .concat(),
    )
    .replace("  lb_algo rr", "  lb_algo rr\n  alpha");
    let config = config(&text)?;
    let checkers: Vec<usize> = config.virtual_servers[0]
        .real_servers
        .iter()
        .map(|rs| rs.checkers.len())
        .collect();
    assert_eq!(checkers, [3, 2], "the checker and one per host");
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config, tx);
    assert!(initial(&mut rx, 2).await?.iter().all(|u| !u.up));
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    assert_eq!(up.real_server.addr, "10.0.0.1:25".parse()?);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        rx.try_recv().is_err(),
        "10.0.0.2 stays down: its host refuses"
    );
    for (name, helos) in [
        ("main", &main_helos),
        ("second", &second_helos),
        ("third", &third_helos),
    ] {
        let helos = helos.lock().map(|h| h.clone()).unwrap_or_default();
        assert!(
            helos.first().is_some_and(|h| h == "HELO kad.test"),
            "{name}: {helos:?}"
        );
    }
    Ok(())
}

/// A `MakeWriter` keeping every log line (the checkers' logs, captured on this thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// keepalived.conf `log_all_failures` (checker) and global `checker_log_all_failures`:
/// with either, each failed check that is retried is logged (info); without, only the
/// failure that takes the checker down is, as keepalived 2.2.7 logs them.
#[tokio::test(flavor = "current_thread")]
async fn log_all_failures_logs_each_retried_failure() -> Result<()> {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let quiet = refusing_port().await?;
    let logged = refusing_port().await?;
    let global = refusing_port().await?;
    let rs = |port: u16, line: &str| {
        format!(
            "  real_server 127.0.0.1 {port} {{
    TCP_CHECK {{
      {line}
      connect_timeout 1
      retry 2
      delay_before_retry 0.1
      warmup 0
    }}
  }}\n"
        )
    };
    let checks = |global_defs: &str, servers: &[String]| -> Result<Config> {
        config(&format!(
            "{global_defs}{}",
            vs("10.9.9.9 80", "5", &servers.concat())
        ))
    };
    let (tx, mut rx) = mpsc::channel(16);
    let _a = CheckerSet::spawn(
        &checks("", &[rs(quiet, ""), rs(logged, "log_all_failures")])?,
        tx.clone(),
    );
    let _b = CheckerSet::spawn(
        &checks(
            "global_defs {\n  checker_log_all_failures\n}\n",
            &[rs(global, "")],
        )?,
        tx,
    );
    initial(&mut rx, 3).await?;
    for _ in 0..3 {
        let down = next(&mut rx, Duration::from_secs(3)).await?;
        assert!(!down.up, "{down:?}");
    }
    let text =
        String::from_utf8_lossy(&logs.0.lock().map(|l| l.clone()).unwrap_or_default()).into_owned();
    let retried = |port: u16| {
        text.lines()
            .filter(|l| l.contains(&format!("127.0.0.1:{port}")) && l.contains("retrying"))
            .count()
    };
    assert_eq!(retried(quiet), 0, "{text}");
    assert_eq!(retried(logged), 2, "{text}");
    assert_eq!(retried(global), 2, "{text}");
    Ok(())
}

/// keepalived.conf `alpha` in a checker: it overrides the virtual server's. A checker with
/// `alpha` starts its real server down (until it first passes) under a virtual server
/// without; `alpha no` starts it up under a virtual server with `alpha`.
#[tokio::test]
async fn a_checker_s_alpha_overrides_the_virtual_server_s() -> Result<()> {
    let (port, _) = tcp_counter().await?;
    let rs = |ip: &str, line: &str| {
        format!(
            "  real_server {ip} 80 {{
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port {port}
      {line}
      connect_timeout 1
      warmup 0
    }}
  }}\n"
        )
    };
    let text = [
        vs("10.9.9.9 80", "0.3", &rs("10.0.0.1", "alpha")),
        vs("10.9.9.10 80", "0.3", &rs("10.0.0.2", "alpha no"))
            .replace("  lb_algo rr", "  lb_algo rr\n  alpha"),
    ]
    .concat();
    let (tx, mut rx) = mpsc::channel(16);
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    let first = initial(&mut rx, 2).await?;
    let starts_up = |ip: &str| {
        first
            .iter()
            .find(|u| u.real_server.addr.ip().to_string() == ip)
            .map(|u| u.up)
    };
    assert_eq!(starts_up("10.0.0.1"), Some(false), "{first:?}");
    assert_eq!(starts_up("10.0.0.2"), Some(true), "{first:?}");
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    assert_eq!(up.real_server.addr, "10.0.0.1:80".parse()?);
    Ok(())
}

/// keepalived.conf `smtp_alert` with global `no_checker_emails`: keepalived mails each
/// change of a checker of the real server (a second checker failing on a real server that
/// is already down is mailed, with the real server's state, DOWN, in the subject); with
/// `no_checker_emails` only the real server's own changes are.
#[tokio::test]
async fn no_checker_emails_mails_only_the_real_server_s_changes() -> Result<()> {
    let first = refusing_port().await?;
    let second = refusing_port().await?;
    let mut mailboxes = Vec::new();
    let mut handles = Vec::new();
    let (tx, mut rx) = mpsc::channel(16);
    for extra in ["", "  no_checker_emails\n"] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let smtp_port = listener.local_addr()?.port();
        mailboxes.push(kad_tests::fake::mail::serve_smtp(listener));
        let text = format!(
            "global_defs {{\n  router_id lb-test\n  notification_email {{\n    ops@example.net\n  }}\n  \
             notification_email_from kad@example.net\n  smtp_server 127.0.0.1 {smtp_port}\n{extra}}}\n{}",
            vs(
                "10.9.9.9 80",
                "5",
                &format!(
                    "  smtp_alert\n  real_server 127.0.0.1 80 {{
    TCP_CHECK {{
      connect_port {first}
      connect_timeout 1
      retry 0
      warmup 0
    }}
    TCP_CHECK {{
      connect_port {second}
      connect_timeout 1
      retry 2
      delay_before_retry 0.2
      warmup 0
    }}
  }}"
                )
            )
        );
        handles.push(CheckerSet::spawn(&config(&text)?, tx.clone()));
    }
    initial(&mut rx, 2).await?;
    for _ in 0..2 {
        assert!(!next(&mut rx, Duration::from_secs(3)).await?.up);
    }
    // The second checker goes down after its retries (0.4 s); the mails go out.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let subjects: Vec<Vec<String>> = mailboxes
        .iter()
        .map(|m| {
            m.lock()
                .map(|m| m.iter().filter_map(|mail| mail.subject()).collect())
                .unwrap_or_default()
        })
        .collect();
    let down = "[lb-test] Realserver [127.0.0.1]:tcp:80 of virtual server [10.9.9.9]:tcp:80 - DOWN";
    assert_eq!(subjects[0], [down, down], "each checker's failure");
    assert_eq!(
        subjects[1],
        [down],
        "no_checker_emails: the real server's only"
    );
    Ok(())
}

/// keepalived.conf global `rs_init_notifies`: a real server that starts up runs its
/// notify_up at start (keepalived: when it is first added to IPVS); one starting down
/// (`alpha`) does not, and without the keyword nothing runs until a state changes.
#[tokio::test]
async fn rs_init_notifies_runs_notify_up_for_real_servers_starting_up() -> Result<()> {
    let (port, _) = tcp_counter().await?;
    let dir = kad_tests::scratch::dir("rsinit")?;
    let mut logs = Vec::new();
    let (tx, mut rx) = mpsc::channel(16);
    let mut handles = Vec::new();
    for (i, global) in ["  rs_init_notifies\n", ""].iter().enumerate() {
        let log = dir.join(format!("notify{i}.log"));
        let script = dir.join(format!("notify{i}.sh"));
        kad_tests::scratch::script(&script, &format!("echo \"$@\" >> {}", log.display()), 0o755)?;
        let rs = |ip: &str| {
            format!(
                "  real_server {ip} 80 {{
    notify_up \"{} {ip}\"
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port {port}
      connect_timeout 1
      warmup 0
    }}
  }}\n",
                script.display()
            )
        };
        let text = format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n{global}}}\n{}{}",
            vs("10.9.9.9 80", "5", &rs("10.0.0.1")),
            vs("10.9.9.10 80", "5", &rs("10.0.0.2"))
                .replace("  lb_algo rr", "  lb_algo rr\n  alpha"),
        );
        handles.push(CheckerSet::spawn(&config(&text)?, tx.clone()));
        logs.push(log);
    }
    initial(&mut rx, 4).await?;
    // Both alpha servers come up: their notify_up runs in both sets.
    for _ in 0..2 {
        assert!(next(&mut rx, Duration::from_secs(3)).await?.up);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines = |i: usize| -> Vec<String> {
        let mut l: Vec<String> = std::fs::read_to_string(&logs[i])
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        l.sort();
        l
    };
    assert_eq!(lines(0), ["10.0.0.1", "10.0.0.2"], "rs_init_notifies");
    assert_eq!(lines(1), ["10.0.0.2"], "without: only the change");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The (path, status, when) of every request `state`'s server got, from `start`.
fn gets(state: &kad_tests::fake::http::Shared, start: Instant) -> Vec<(String, u16, Duration)> {
    lock(state)
        .gets
        .iter()
        .map(|(at, path, status)| (path.clone(), *status, *at - start))
        .collect()
}

/// An HTTP_GET of urls /a, /b, /c starting down (`alpha`), with `extra` lines.
fn three_urls(port: u16, delay_loop: &str, extra: &str) -> String {
    vs(
        "10.9.9.9 80",
        delay_loop,
        &format!(
            "  real_server 127.0.0.1 {port} {{
    HTTP_GET {{
      url {{
        path /a
      }}
      url {{
        path /b
      }}
      url {{
        path /c
      }}
      alpha
      connect_timeout 1
      warmup 0
{extra}
    }}
  }}"
        ),
    )
}

/// keepalived 2.2.7 (check_http.c) fetches one url per run, in turn, `delay_loop` apart; a
/// failing url is retried `retry` times `delay_before_retry` apart, then the checker is
/// down and only that url is fetched, every max(`delay_before_retry`, `delay_loop`); once it
/// passes, every url is fetched again from the first, one per `delay_loop`, and the checker
/// comes up when all have passed. (kad fetched every url in each run before.)
#[tokio::test]
async fn http_get_fetches_one_url_per_delay_loop_in_turn_as_keepalived() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    let text = three_urls(port, "0.3", "      retry 1\n      delay_before_retry 0.1");
    let (tx, mut rx) = mpsc::channel(16);
    let start = Instant::now();
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(!initial(&mut rx, 1).await?[0].up, "alpha: starts down");
    // Up once /a, /b and /c have passed, one per delay_loop: after two delay_loops.
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    let took = start.elapsed();
    let seen = gets(&state, start);
    let paths: Vec<&str> = seen.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(paths, ["/a", "/b", "/c"], "{seen:?}");
    assert!(took >= Duration::from_millis(450), "up after {took:?}");
    // Up: on in turn, one url per delay_loop.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    lock(&state).status_of.insert("/b".into(), 500);
    let down = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(!down.up);
    assert!(down.reason.contains("status 500"), "{}", down.reason);
    tokio::time::sleep(Duration::from_millis(700)).await;
    lock(&state).status_of.clear();
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    let seen = gets(&state, start);
    let paths: Vec<&str> = seen.iter().map(|g| g.0.as_str()).collect();
    let first_fail = seen.iter().position(|g| g.1 == 500).context("no failure")?;
    // Before it: /a /b /c /a /b ... each delay_loop (0.3 s) after the previous.
    for (i, path) in paths[..first_fail].iter().enumerate() {
        assert_eq!(*path, ["/a", "/b", "/c"][i % 3], "{seen:?}");
    }
    assert_eq!(first_fail % 3, 1, "/b failed first: {seen:?}");
    for pair in seen[..=first_fail].windows(2) {
        let gap = pair[1].2 - pair[0].2;
        assert!(gap >= Duration::from_millis(150), "{gap:?} in {seen:?}");
    }
    // Then /b only: its retry 0.1 s later (down), then every 0.3 s while it fails; the
    // first /b that passes, then /a, /b, /c 0.3 s apart, and up.
    let recovered = seen[first_fail..]
        .iter()
        .position(|g| g.1 == 200)
        .context("no recovery")?
        + first_fail;
    assert!(
        seen[first_fail..recovered].iter().all(|g| g.0 == "/b"),
        "{seen:?}"
    );
    assert!(
        recovered - first_fail >= 3,
        "retry, down, then /b again: {seen:?}"
    );
    let retry_gap = seen[first_fail + 1].2 - seen[first_fail].2;
    assert!(
        retry_gap >= Duration::from_millis(50) && retry_gap < Duration::from_millis(250),
        "retry after delay_before_retry 0.1 s: {seen:?}"
    );
    for pair in seen[first_fail + 1..recovered].windows(2) {
        let gap = pair[1].2 - pair[0].2;
        assert!(gap >= Duration::from_millis(150), "{gap:?} in {seen:?}");
    }
    assert_eq!(
        paths[recovered..],
        ["/b", "/a", "/b", "/c"],
        "after the failed url passes, every url from the first: {seen:?}"
    );
    for pair in seen[recovered..].windows(2) {
        let gap = pair[1].2 - pair[0].2;
        assert!(gap >= Duration::from_millis(150), "{gap:?} in {seen:?}");
    }
    Ok(())
}

/// keepalived.conf `fast_recovery` (HTTP_GET/SSL_GET): every url fetched at once at start
/// and once the failed url passes again (the real server up as soon as all have passed),
/// one url per `delay_loop` otherwise.
#[tokio::test]
async fn fast_recovery_fetches_every_url_at_once_at_start_and_on_recovery() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    let text = three_urls(
        port,
        "1",
        "      fast_recovery\n      retry 0\n      delay_before_retry 0.2",
    );
    let (tx, mut rx) = mpsc::channel(16);
    let start = Instant::now();
    let _handle = CheckerSet::spawn(&config(&text)?, tx);
    assert!(!initial(&mut rx, 1).await?[0].up, "alpha: starts down");
    let up = next(&mut rx, Duration::from_secs(2)).await?;
    assert!(up.up);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "all urls at once: up after {:?}",
        start.elapsed()
    );
    // Up: one url per delay_loop (1 s); /b fails at its next turn (about 2 s), retry 0.
    lock(&state).status_of.insert("/b".into(), 500);
    let down = next(&mut rx, Duration::from_secs(4)).await?;
    assert!(!down.up);
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock(&state).status_of.clear();
    let up = next(&mut rx, Duration::from_secs(3)).await?;
    assert!(up.up);
    let seen = gets(&state, start);
    let paths: Vec<&str> = seen.iter().map(|g| g.0.as_str()).collect();
    let at_once = |from: usize, to: usize| {
        seen[from..to]
            .windows(2)
            .all(|pair| pair[1].2 - pair[0].2 < Duration::from_millis(200))
    };
    assert_eq!(paths[..4], ["/a", "/b", "/c", "/a"], "{seen:?}");
    assert!(at_once(0, 3), "at start, at once: {seen:?}");
    assert!(
        seen[3].2 - seen[2].2 >= Duration::from_millis(500),
        "then one per delay_loop: {seen:?}"
    );
    // /b fails (down), /b again a delay_loop later (passes): /a, /b, /c at once, up.
    let n = seen.len();
    assert_eq!(
        seen[4..]
            .iter()
            .map(|g| (g.0.as_str(), g.1))
            .collect::<Vec<_>>(),
        [
            ("/b", 500),
            ("/b", 200),
            ("/a", 200),
            ("/b", 200),
            ("/c", 200)
        ],
        "{seen:?}"
    );
    assert!(
        seen[5].2 - seen[4].2 >= Duration::from_millis(500),
        "the failed url every delay_loop: {seen:?}"
    );
    assert!(at_once(5, n), "on recovery, at once: {seen:?}");
    Ok(())
}

/// keepalived 2.2.7 carries an HTTP_GET checker's state across a reload (`has_run` with
/// it), so after a reload a checker that is up goes on one url per `delay_loop`, even with
/// `fast_recovery` (which fetches every url at once only before the first pass is complete
/// or while recovering).
#[tokio::test]
async fn after_a_reload_fast_recovery_goes_on_one_url_per_delay_loop() -> Result<()> {
    let state = http_state(200, PAGE);
    let port = http_server(state.clone()).await?;
    let text = three_urls(port, "1", "      fast_recovery").replace("      alpha\n", "");
    let (tx, mut rx) = mpsc::channel(16);
    let start = Instant::now();
    let old = CheckerSet::spawn(&config(&text)?, tx.clone());
    assert!(initial(&mut rx, 1).await?[0].up);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = lock(&state).gets.len();
    assert_eq!(before, 3, "at start, every url at once");
    let _new = CheckerSet::new(&config(&text)?).replace(old, tx);
    assert!(initial(&mut rx, 1).await?[0].up);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let seen = gets(&state, start);
    let after: Vec<&str> = seen[before..].iter().map(|g| g.0.as_str()).collect();
    assert_eq!(after, ["/a"], "{seen:?}");
    assert!(rx.try_recv().is_err(), "no change");
    Ok(())
}
