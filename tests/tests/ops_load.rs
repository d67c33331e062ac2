//! Issue 13 item 5: the metrics endpoint under load must cost VRRP and the checkers nothing.
//! kad runs 50 instances advertising every 50 ms and TCP_CHECKs 4 real servers, with the
//! descriptor limit services usually get (1024); from its namespace, 2,000 clients connect
//! to `--metrics-listen` and never send, while 200 GETs a second scrape it, for 10 s. The
//! Master's adverts are captured on the wire: no gap may reach a Backup's
//! Master_Down_Interval (a takeover), no checker may change state, and kad's open
//! descriptors stay bounded. (At 10 ms adverts the bound, 36 ms, is a few scheduler quanta of
//! a 2-core machine that also runs this test's 2,000 clients and tcpdump: it measured the
//! machine, not kad.)

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use kad_tests::{
    conf::fast_instances,
    fake::tcp::NsListener,
    kad_bin,
    lab::Lab,
    load::advert_gaps::{Capture, master_down_interval},
};
use serde_json::Value;

const INSTANCES: u8 = 50;
const ADVERT: Duration = Duration::from_millis(50);
/// The priority of the Backup whose Master_Down_Interval bounds the gaps.
const BACKUP_PRIORITY: u8 = 100;
const METRICS: &str = "127.0.0.1:9652";
const IDLE_CLIENTS: usize = 2000;
const GETS_PER_SECOND: u64 = 200;
const LOAD: Duration = Duration::from_secs(10);
const REAL_SERVERS: [u16; 4] = [8081, 8082, 8083, 8084];

fn config() -> String {
    let mut text: String = fast_instances(INSTANCES, "0.05");
    text.push_str(
        "virtual_server 10.77.0.200 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n",
    );
    for port in REAL_SERVERS {
        text.push_str(&format!(
            "  real_server 10.77.0.2 {port} {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n"
        ));
    }
    text.push_str("}\n");
    text
}

fn status(socket: &Path) -> Result<Value> {
    let text = kad::ops::control::query(socket, Duration::from_secs(5))?;
    serde_json::from_str(&text).context("status is not JSON")
}

/// Per real server `IP:PORT`: (up, its checker's transitions).
fn checkers(status: &Value) -> Vec<(String, bool, u64)> {
    status["virtual_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|vs| vs["real_servers"].as_array().into_iter().flatten())
        .map(|rs| {
            (
                rs["address"].as_str().unwrap_or("").to_owned(),
                rs["up"] == true,
                rs["checkers"][0]["transitions"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// One scrape: true when a whole `200` answer came back within 2 s.
fn scrape(address: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: kad\r\n\r\n")?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"# EOF\n"))
    };
    attempt().unwrap_or(false)
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn metrics_load_leaves_adverts_and_checkers_alone() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("ml", &[("r1", 1), ("rs", 2)])?;
    let _servers = REAL_SERVERS
        .iter()
        .map(|port| NsListener::start(&lab, "rs", &format!("10.77.0.2:{port}")))
        .collect::<Result<Vec<_>>>()?;
    let conf = lab.dir().join("kad-r1.conf");
    std::fs::write(&conf, config())?;
    let socket = lab.dir().join("r1.sock");
    let bin = kad_bin()?.to_string_lossy().into_owned();
    let conf = conf.to_string_lossy().into_owned();
    let sock = socket.to_string_lossy().into_owned();
    // prlimit execs kad: the daemon's pid is kad's, with a service's usual 1024 descriptors.
    let kad = lab.start(
        "r1",
        Path::new("prlimit"),
        &[
            "--nofile=1024:1024",
            bin.as_str(),
            "-f",
            conf.as_str(),
            "--control-socket",
            sock.as_str(),
            "--metrics-listen",
            METRICS,
        ],
    )?;
    lab.wait_until_started(kad);
    let pid = lab.daemon(kad)?.pid();
    let mut before = Value::Null;
    lab.wait_for(
        "50 Masters and 4 real servers up",
        Duration::from_secs(30),
        || {
            let Ok(now) = status(&socket) else {
                return Ok(false);
            };
            let masters = now["instances"]
                .as_array()
                .is_some_and(|all| all.len() == 50 && all.iter().all(|i| i["state"] == "MASTER"));
            let up = checkers(&now);
            let done = masters && up.len() == REAL_SERVERS.len() && up.iter().all(|c| c.1);
            before = now;
            Ok(done)
        },
    )?;
    let baseline_fds = open_descriptors(pid);
    let capture = Capture::start(&lab, "r1")?;
    let address: SocketAddr = METRICS.parse()?;
    let ns = &lab.host("r1")?.ns;

    // 2,000 clients that connect and never send, held for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let idle = {
        let stop = Arc::clone(&stop);
        ns.spawn(move || {
            let mut held = Vec::new();
            let mut failed = 0usize;
            for _ in 0..IDLE_CLIENTS {
                match TcpStream::connect_timeout(&address, Duration::from_millis(500)) {
                    Ok(stream) => held.push(stream),
                    Err(_) => failed += 1,
                }
            }
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok((held.len(), failed))
        })?
    };
    // 200 GETs a second, from 4 threads.
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut scrapers = Vec::new();
    for _ in 0..4 {
        let (ok, failed) = (Arc::clone(&ok), Arc::clone(&failed));
        scrapers.push(ns.spawn(move || {
            let every = Duration::from_secs(4) / u32::try_from(GETS_PER_SECOND).unwrap_or(1);
            let mut next = Instant::now();
            while started.elapsed() < LOAD {
                if scrape(address) {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                next += every;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            Ok(())
        })?);
    }
    let mut most_fds = 0;
    while started.elapsed() < LOAD {
        most_fds = most_fds.max(open_descriptors(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    for scraper in scrapers {
        scraper
            .join()
            .map_err(|_| anyhow::anyhow!("scraper panicked"))??;
    }
    stop.store(true, Ordering::Relaxed);
    let (held, refused) = idle
        .join()
        .map_err(|_| anyhow::anyhow!("idle clients panicked"))??;
    let adverts = capture.stop()?;
    let after = status(&socket)?;
    let (gap, vrid) = adverts.max_gap();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "idle clients connected {held} (refused {refused}); GETs ok {ok}, failed {failed}; \
         kad descriptors {baseline_fds} before, at most {most_fds} during; {adverts:?}; \
         largest gap {gap:?} (VRID {vrid})"
    );
    kad_tests::load::keep_logs(&lab, "metrics-load");

    assert!(lab.daemon(kad)?.is_running(), "kad still runs");
    assert_eq!(
        checkers(&after),
        checkers(&before),
        "no checker changed state under the load\n{}",
        lab.logs()
    );
    assert!(
        most_fds < baseline_fds + 200,
        "kad's descriptors stay bounded: {most_fds} (from {baseline_fds})"
    );
    assert_eq!(
        adverts.instances(),
        usize::from(INSTANCES),
        "every instance advertised"
    );
    let takeover = master_down_interval(ADVERT, BACKUP_PRIORITY);
    assert!(
        gap < takeover,
        "largest advert gap {gap:?} (VRID {vrid}): a Backup at priority {BACKUP_PRIORITY} \
         takes over after {takeover:?}; tcpdump dropped {}",
        adverts.dropped
    );
    assert!(
        ok * 2 > ok + failed,
        "most scrapes answered: {ok} of {}",
        ok + failed
    );
    assert!(
        lab.host("r1")?.ns.run(move || Ok(scrape(address)))?,
        "the endpoint answers once the load is gone"
    );
    Ok(())
}
