//! Issue 13, crash isolation: keepalived runs VRRP and the checkers in separate processes
//! so that a checker fault cannot stop VRRP; kad runs them as tasks of one runtime. Here
//! the VRRP runtime and the health checkers run exactly as the daemon runs them (one
//! current-thread tokio runtime, in a lab namespace), a checker task and a tracker task
//! are made to panic (the `test-hooks` feature, compiled into no release binary), and:
//! both are restarted and go on working (the checker sees its real server leave, the
//! tracker sees its file change), while the Master's adverts on the wire never pause long
//! enough for a Backup to take over (its Master_Down_Interval) and it never leaves MASTER.
//!
//! In-process because the hook must not exist in the daemon users run (CI's lab tests run
//! the release binary, built without test features).

use std::{
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad::{
    check::CheckerSet,
    config::{LoadOptions, parse_str},
    net::addr::AddressControl,
    runtime::{self, Control, ReceivePath, RunOptions},
    status::{StatusHandle, health::HealthUpdate, status_channel},
    supervise::{self, Family},
};
use kad_tests::{
    lab::Lab,
    load::advert_gaps::{Capture, master_down_interval},
};
use tokio::sync::mpsc;

const ADVERT: Duration = Duration::from_millis(50);
/// The priority of the Backup whose Master_Down_Interval bounds the gaps.
const BACKUP_PRIORITY: u8 = 100;

fn config(track_file: &str) -> String {
    format!(
        "track_file TF {{\n  file {track_file}\n}}\n\
         vrrp_instance VI_CI {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n\
         \x20 priority 150\n  advert_int 0.05\n  version 3\n  track_file {{\n    TF weight 1\n  }}\n\
         \x20 virtual_ipaddress {{\n    10.77.0.100/24 dev eth0\n  }}\n}}\n\
         virtual_server 10.77.0.200 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
         \x20 real_server 10.77.0.2 8081 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n}}\n"
    )
}

/// VI_CI's (state, effective priority, times it became Master).
async fn instance(status: &StatusHandle) -> (String, u64, u64) {
    let now = status.fresh_vrrp(Duration::from_millis(100)).await;
    now.instances
        .iter()
        .find(|i| i.name == "VI_CI")
        .map(|i| {
            (
                i.state.clone(),
                u64::from(i.effective_priority),
                i.counters.became_master,
            )
        })
        .unwrap_or_default()
}

async fn wait(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !done().await {
        if start.elapsed() > limit {
            bail!("{what}: not within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The test's side, beside the runtime and the checkers.
async fn drive(
    status: StatusHandle,
    mut health: mpsc::Receiver<HealthUpdate>,
    server_up: Arc<AtomicBool>,
    track_file: std::path::PathBuf,
) -> Result<()> {
    wait("VI_CI is MASTER", Duration::from_secs(10), async || {
        instance(&status).await.0 == "MASTER"
    })
    .await?;
    let first = tokio::time::timeout(Duration::from_secs(10), health.recv())
        .await
        .context("the real server's first health")?
        .context("health channel")?;
    if !first.up {
        bail!("the real server starts up: {first:?}");
    }
    let restarts = supervise::restarts();
    supervise::inject::arm(Family::Checker, 1);
    supervise::inject::arm(Family::Tracker, 1);
    // Each panics within 50 ms and is restarted 1 s later.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The restarted checker still probes: its real server goes, it reports it.
    server_up.store(false, Ordering::SeqCst);
    let down = tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            match health.recv().await {
                Some(update) if !update.up => return Some(update),
                Some(_) => {}
                None => return None,
            }
        }
    })
    .await
    .context("the restarted checker reports its real server down")?
    .context("health channel")?;
    println!("after the panic, the checker reported: {down:?}");

    // The restarted tracker still reads its file: +10 on the priority.
    std::fs::write(&track_file, "10\n")?;
    wait(
        "the restarted tracker moves the priority to 160",
        Duration::from_secs(5),
        async || instance(&status).await.1 == 160,
    )
    .await?;
    // And VRRP carried on all along: a second more of adverts to look at.
    tokio::time::sleep(Duration::from_secs(1)).await;
    if supervise::restarts() < restarts + 2 {
        bail!("the checker and the tracker were restarted after their panics");
    }
    let (state, _, became_master) = instance(&status).await;
    if state != "MASTER" || became_master != 1 {
        bail!("VI_CI stayed MASTER throughout: {state}, became master {became_master} times");
    }
    Ok(())
}

#[test]
fn a_panicking_checker_or_tracker_is_restarted_and_vrrp_goes_on() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let lab = Lab::with_hosts("ci", &[("r1", 1), ("rs", 2)])?;
    let track_file = lab.dir().join("tf");
    std::fs::write(&track_file, "0\n")?;
    let text = config(&track_file.to_string_lossy());
    let loaded = parse_str(&text, &LoadOptions::with_config_id("ci"));
    if loaded.has_errors() {
        bail!("config: {:?}", loaded.diagnostics);
    }
    let config = loaded.config;

    // The real server: accepts while `server_up`, then closes its port.
    let listener = lab
        .host("rs")?
        .ns
        .run(|| Ok(TcpListener::bind("10.77.0.2:8081")?))?;
    listener.set_nonblocking(true)?;
    let server_up = Arc::new(AtomicBool::new(true));
    let server = {
        let up = Arc::clone(&server_up);
        std::thread::spawn(move || {
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };

    let capture = Capture::start(&lab, "r1")?;
    let daemon = {
        let server_up = Arc::clone(&server_up);
        let track_file = track_file.clone();
        lab.host("r1")?.ns.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let control = AddressControl::connect()?;
                let spec = runtime::runtime_spec(&config, &control).await?;
                let (publisher, status) = status_channel();
                let (stop, control_rx) = mpsc::channel(4);
                let (health_tx, health) = mpsc::channel(64);
                let checkers = CheckerSet::spawn(&config, health_tx);
                let options = RunOptions {
                    receive: ReceivePath::RawSockets,
                    ..RunOptions::default()
                };
                let vrrp = runtime::run_with_status(spec, options, control_rx, Some(publisher));
                let test = async {
                    let outcome = drive(status, health, server_up, track_file).await;
                    let _ = stop.send(Control::Stop).await;
                    outcome
                };
                let (vrrp, test) = tokio::join!(vrrp, test);
                checkers.stop();
                vrrp?;
                test
            })
        })?
    };
    let outcome = daemon
        .join()
        .map_err(|_| anyhow::anyhow!("the daemon thread panicked"))?;
    server_up.store(false, Ordering::SeqCst);
    let _ = server.join();
    let adverts = capture.stop()?;
    outcome?;
    let (gap, vrid) = adverts.max_gap();
    println!("{adverts:?}");
    // The test runs about 3 s after VI_CI becomes Master: ~60 adverts.
    assert!(adverts.count() > 40, "VI_CI advertised: {adverts:?}");
    let takeover = master_down_interval(ADVERT, BACKUP_PRIORITY);
    assert!(
        gap < takeover,
        "largest advert gap {gap:?} (VRID {vrid}): a Backup at priority {BACKUP_PRIORITY} \
         takes over after {takeover:?}; tcpdump dropped {}",
        adverts.dropped
    );
    Ok(())
}
