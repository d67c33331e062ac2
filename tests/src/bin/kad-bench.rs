//! `cargo xtask bench failover`: the client-observed outage of kad and of keepalived 2.2.7 in
//! the same lab, trial by trial: two routers (priority 200 master, 100 backup) and a client
//! probing the VIP every 2 ms; the fault (master link down, or graceful stop by SIGTERM)
//! injected at a random point of the advert interval. Prints a table of medians.

use std::time::Duration;

use anyhow::{Result, bail};
use kad_tests::{
    kad_bin,
    lab::Lab,
    privilege::is_root,
    probe::{Prober, unix_now},
};

const VIP: &str = "10.77.0.100";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Kad,
    Keepalived,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    LinkDown,
    Sigterm,
}

#[derive(Clone, Copy)]
struct Row {
    version: u8,
    advert: &'static str,
    seconds: f64,
}

fn config(row: Row, priority: u8) -> String {
    format!(
        "vrrp_instance BENCH {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int {}\n  version {}\n\
         \x20 virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n",
        row.advert, row.version
    )
}

/// A small deterministic generator for fault timing (xorshift64*).
struct Jitter(u64);

impl Jitter {
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn trial(daemon: Daemon, row: Row, fault: Fault, jitter: &mut Jitter) -> Result<Duration> {
    let mut lab = Lab::new("bf")?;
    lab.add_host("r1", 1)?;
    lab.add_host("r2", 2)?;
    lab.add_host("c", 10)?;
    let start = |lab: &mut Lab, router: &str, priority: u8| -> Result<usize> {
        match daemon {
            Daemon::Keepalived => lab.start_keepalived(router, &config(row, priority)),
            Daemon::Kad => {
                let conf = lab.dir().join(format!("{router}.conf"));
                std::fs::write(&conf, config(row, priority))?;
                let conf = conf.to_string_lossy().into_owned();
                lab.start(router, &kad_bin(), &["-f", &conf])
            }
        }
    };
    let master = start(&mut lab, "r1", 200)?;
    start(&mut lab, "r2", 100)?;
    let settle = Duration::from_secs_f64(row.seconds * 5.0 + 2.0);
    lab.wait_for("r1 becomes master", settle + Duration::from_secs(5), || {
        lab.host("r1")?.has_address(VIP)
    })?;
    lab.wait_for("the client reaches the VIP", Duration::from_secs(5), || {
        Ok(lab.host("c")?.ping_once(VIP))
    })?;
    let prober = Prober::start(lab.host("c")?, VIP)?;
    std::thread::sleep(Duration::from_secs_f64(
        0.3 + row.seconds * jitter.fraction(),
    ));
    let at = unix_now();
    match fault {
        Fault::LinkDown => lab.host("r1")?.ns.ip(&["link", "set", "eth0", "down"])?,
        Fault::Sigterm => lab.daemon(master)?.signal(libc::SIGTERM)?,
    }
    prober.outage_since(at)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<()> {
    if !is_root() {
        bail!("the benchmark builds network namespaces: run it as root");
    }
    let mut args = std::env::args().skip(1);
    let mut trials = 5usize;
    let mut quick = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--trials" => trials = args.next().and_then(|n| n.parse().ok()).unwrap_or(trials),
            "--quick" => quick = true,
            "failover" => {}
            other => bail!(
                "unknown argument {other:?} (usage: kad-bench failover [--trials N] [--quick])"
            ),
        }
    }
    let mut rows = vec![
        Row {
            version: 3,
            advert: "0.1",
            seconds: 0.1,
        },
        Row {
            version: 3,
            advert: "0.01",
            seconds: 0.01,
        },
    ];
    if !quick {
        rows.insert(
            0,
            Row {
                version: 2,
                advert: "1",
                seconds: 1.0,
            },
        );
        rows.insert(
            0,
            Row {
                version: 3,
                advert: "1",
                seconds: 1.0,
            },
        );
    }
    let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
    println!("failover benchmark: median client outage over {trials} trials (ping every 2 ms)\n");
    println!("| advert_int | fault | keepalived 2.2.7 | kad | RFC floor |");
    println!("|---|---|---|---|---|");
    for row in rows {
        for fault in [Fault::LinkDown, Fault::Sigterm] {
            let mut results = [Vec::new(), Vec::new()];
            for _ in 0..trials {
                for (slot, daemon) in [Daemon::Keepalived, Daemon::Kad].into_iter().enumerate() {
                    results[slot].push(trial(daemon, row, fault, &mut jitter)?);
                }
            }
            let skew = (256.0 - 100.0) / 256.0 * if row.version == 2 { 1.0 } else { row.seconds };
            let floor = match fault {
                Fault::LinkDown => 3.0 * row.seconds + skew,
                Fault::Sigterm => skew,
            };
            let [keepalived, kad] = &mut results;
            println!(
                "| {} s, v{} | {} | {} ms | {} ms | {:.0} ms |",
                row.advert,
                row.version,
                if fault == Fault::LinkDown {
                    "master link down"
                } else {
                    "graceful stop (SIGTERM)"
                },
                median(keepalived).as_millis(),
                median(kad).as_millis(),
                floor * 1000.0
            );
        }
    }
    Ok(())
}
