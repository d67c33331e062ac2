//! `cargo xtask run` with no arguments: two kad routers and a client on one bridged segment
//! (network namespaces), election, failures, and the client's outage in milliseconds.

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{kad_bin, lab::Lab, privilege::is_root};

const VIP: &str = "10.77.0.100";

fn config(router: &str, priority: u8) -> String {
    format!(
        "! kad demo: router {router}\n\
         global_defs {{\n  router_id {router}\n}}\n\n\
         vrrp_instance DEMO {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

/// Replies seen by a fast `ping` from the client (every 2 ms), as times since the start.
struct Prober {
    child: Child,
    replies: Arc<Mutex<Vec<Instant>>>,
}

impl Prober {
    fn start(lab: &Lab) -> Result<Self> {
        let mut child = lab
            .host("c")?
            .command("ping")
            .args(["-n", "-i", "0.002", "-W", "0.05", VIP])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting ping in the client namespace")?;
        let stdout = child.stdout.take().context("ping stdout")?;
        let replies = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&replies);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("bytes from") {
                    if let Ok(mut replies) = sink.lock() {
                        replies.push(Instant::now());
                    }
                }
            }
        });
        Ok(Self { child, replies })
    }

    /// The longest gap between replies after `since` (waits until replies flow again).
    fn outage_since(&self, since: Instant) -> Result<Duration> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let replies = self
                .replies
                .lock()
                .map_err(|_| anyhow::anyhow!("prober poisoned"))?;
            let after: Vec<Instant> = replies.iter().copied().filter(|t| *t >= since).collect();
            // Replies flowing again for 200 ms: the outage is over.
            if after.len() > 50
                && after
                    .last()
                    .is_some_and(|last| last.elapsed() < Duration::from_millis(50))
            {
                let mut previous = replies
                    .iter()
                    .copied()
                    .filter(|t| *t < since)
                    .last()
                    .unwrap_or(since);
                let mut longest = Duration::ZERO;
                for t in after {
                    longest = longest.max(t.duration_since(previous));
                    previous = t;
                }
                return Ok(longest);
            }
            if Instant::now() > deadline {
                bail!("the client did not reach the VIP again within 10 s");
            }
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn holder(lab: &Lab) -> Result<&'static str> {
    for name in ["r1", "r2"] {
        if lab.host(name)?.has_address(VIP)? {
            return Ok(if name == "r1" { "r1" } else { "r2" });
        }
    }
    Ok("nobody")
}

fn main() -> Result<()> {
    if !is_root() {
        bail!("the demo builds network namespaces: run it as root");
    }
    let kad = kad_bin();
    if !kad.exists() {
        bail!(
            "{} not found: build it first (cargo xtask run does)",
            kad.display()
        );
    }
    println!(
        "kad demo: routers r1 (priority 200) and r2 (priority 100) and a client on one bridge,"
    );
    println!(
        "          VRRPv3, advert_int 0.1 s, VIP {VIP}; each router runs `kad -f` in its own namespace\n"
    );
    let mut lab = Lab::new("demo")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    lab.add_host("c", 10)?;
    let start = |lab: &mut Lab, router: &str, priority: u8| -> Result<usize> {
        let conf = lab.dir().join(format!("{router}.conf"));
        std::fs::write(&conf, config(router, priority))?;
        let conf = conf.to_string_lossy().into_owned();
        lab.start(router, &kad, &["-f", &conf])
    };
    let r1 = start(&mut lab, "r1", 200)?;
    start(&mut lab, "r2", 100)?;
    let elected = lab.wait_for("r1 becomes master", Duration::from_secs(10), || {
        lab.host("r1")?.has_address(VIP)
    })?;
    println!(
        "election: r1 holds the VIP {} ms after start (r2 holds it: {})",
        elected.as_millis(),
        lab.host("r2")?.has_address(VIP)?
    );
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let prober = Prober::start(&lab)?;
    std::thread::sleep(Duration::from_millis(500));

    let at = Instant::now();
    lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?;
    let outage = prober.outage_since(at)?;
    println!(
        "1) r1's link goes down      -> {} takes over; client outage {:>4} ms   (keepalived 2.2.7: 304 ms; RFC floor 3x0.1 s + skew = 361 ms)",
        holder(&lab)?,
        outage.as_millis()
    );

    std::thread::sleep(Duration::from_millis(500));
    let at = Instant::now();
    lab.host("r1")?.ns.ip(&["link", "set", "eth0", "up"])?;
    lab.wait_for("r2 gives the VIP back", Duration::from_secs(5), || {
        Ok(!lab.host("r2")?.has_address(VIP)?)
    })?;
    let outage = prober.outage_since(at)?;
    println!(
        "2) r1's link comes back     -> r1 preempts (priority 200); client outage {:>4} ms",
        outage.as_millis()
    );

    std::thread::sleep(Duration::from_millis(500));
    let at = Instant::now();
    lab.daemon(r1)?.signal(libc::SIGTERM)?;
    let outage = prober.outage_since(at)?;
    println!(
        "3) kad on r1 gets SIGTERM   -> priority-0 advert, {} takes over; client outage {:>4} ms   (keepalived 2.2.7: 72 ms; floor = skew 61 ms)",
        holder(&lab)?,
        outage.as_millis()
    );
    drop(prober);
    drop(lab);
    println!("\ncleanup: namespaces and processes removed");
    Ok(())
}
