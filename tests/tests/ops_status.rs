//! Operating kad from outside, against running daemons in a namespace lab (issue 8):
//! `kad status [--json]` over the control socket (validated against
//! `docs/status.schema.json`), the Prometheus endpoint scraped by a real HTTP client, the
//! keepalived dump signals and `kad --signum`; virtual and real servers with their checkers
//! probing real listeners in the lab (with `-C` and beside VRRP).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    conf::{fast_instances, vrrp_instance},
    fake::tcp::NsListener,
    kad_bin,
    lab::{Lab, ROUTERS, VIP},
    ops::{self, assert_valid, http_get, schema, signum, status_json, wait_file},
};
use serde_json::Value;

/// Starts kad on `host` (see [`ops::start_kad`]) with dumps going to `dumps` (through
/// `KAD_DUMP_DIR`, so no test writes /tmp/keepalived.*).
fn start_kad(
    lab: &mut Lab,
    host: &str,
    config: &str,
    extra: &[&str],
    dumps: &Path,
) -> Result<(usize, PathBuf)> {
    std::fs::create_dir_all(dumps)?;
    let env_dir = format!("KAD_DUMP_DIR={}", dumps.display());
    ops::start_kad(lab, host, config, &[env_dir.as_str()], extra)
}

/// The instance called `name` in a status document.
fn instance<'a>(status: &'a Value, name: &str) -> Result<&'a Value> {
    status["instances"]
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == name))
        .with_context(|| format!("no instance {name} in {status}"))
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// Waits until `socket`'s daemon reports `name` in `state`.
fn wait_state(lab: &Lab, socket: &Path, name: &str, state: &str) -> Result<Value> {
    let mut last = Value::Null;
    lab.wait_for(
        &format!("{name} is {state} at {}", socket.display()),
        Duration::from_secs(15),
        || {
            let Ok(status) = status_json(socket) else {
                return Ok(false);
            };
            let done = instance(&status, name).is_ok_and(|i| i["state"] == state);
            last = status;
            Ok(done)
        },
    )?;
    Ok(last)
}

#[test]
fn status_shows_master_and_backup_with_growing_counters() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let validator = schema()?;
    let mut lab = Lab::with_hosts("st", ROUTERS)?;
    let dumps = lab.dir().join("dumps");
    // A tracked interface of its own: keepalived (and kad) drop `track_interface` naming the
    // instance's own interface, with a warning.
    for host in ["r1", "r2"] {
        let ns = &lab.host(host)?.ns;
        ns.ip(&["link", "add", "trk0", "type", "bridge"])?;
        ns.ip(&["link", "set", "trk0", "up"])?;
    }
    let track = "  track_interface {\n    trk0\n  }\n";
    let (k1, s1) = start_kad(
        &mut lab,
        "r1",
        &vrrp_instance("VI_ST", 51, 200, VIP, track),
        &[],
        &dumps,
    )?;
    let (_, s2) = start_kad(
        &mut lab,
        "r2",
        &vrrp_instance("VI_ST", 51, 100, VIP, track),
        &[],
        &dumps,
    )?;
    let first1 = wait_state(&lab, &s1, "VI_ST", "MASTER")?;
    let first2 = wait_state(&lab, &s2, "VI_ST", "BACKUP")?;
    let mode = std::fs::metadata(&s1)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)?;
    assert_eq!(mode, 0o600, "the control socket is root-only");

    std::thread::sleep(Duration::from_millis(600));
    let second1 = status_json(&s1)?;
    let second2 = status_json(&s2)?;
    for status in [&first1, &first2, &second1, &second2] {
        assert_valid(&validator, status);
        assert_eq!(status["virtual_servers"], Value::Array(Vec::new()));
    }

    let (m1, m2) = (instance(&first1, "VI_ST")?, instance(&second1, "VI_ST")?);
    let (b1, b2) = (instance(&first2, "VI_ST")?, instance(&second2, "VI_ST")?);
    assert_eq!(m2["effective_priority"], 200);
    assert_eq!(m2["base_priority"], 200);
    assert_eq!(b2["effective_priority"], 100);
    assert_eq!(b2["base_priority"], 100);
    assert_eq!(m2["master"]["local"], true);
    assert_eq!(b2["master"]["address"], "10.77.0.1", "{b2:#}");
    assert_eq!(b2["master"]["priority"], 200);
    assert_eq!(m2["vips_held"], serde_json::json!([VIP]));
    assert_eq!(b2["vips_held"], serde_json::json!([]));
    assert_eq!(m2["timers"]["advert_interval_ms"], 100);
    assert!(count(&m2["counters"]["became_master"]) >= 1);
    assert!(m2["last_transition"]["reason"].is_string(), "{m2:#}");
    assert_eq!(m2["trackers"][0]["name"], "trk0");
    assert_eq!(m2["trackers"][0]["kind"], "interface");
    assert_eq!(m2["trackers"][0]["status"], "up");

    let sent = |i: &Value| count(&i["counters"]["adverts_sent"]);
    let received = |i: &Value| count(&i["counters"]["adverts_received"]);
    println!(
        "master sent {} → {}, backup received {} → {}",
        sent(m1),
        sent(m2),
        received(b1),
        received(b2)
    );
    assert!(
        sent(m2) > sent(m1),
        "the master's sent counter grows: {m1:#} → {m2:#}"
    );
    assert!(
        received(b2) > received(b1),
        "the backup's received counter grows: {b1:#} → {b2:#}"
    );
    if second2["receive_path"] == "xdp" {
        let recorded = count(&b2["xdp"]["counters"]["recorded"]);
        assert!(recorded > 0, "XDP recorded the master's adverts: {b2:#}");
    }

    let table = Command::new(kad_bin()?)
        .args(["status", "--control-socket"])
        .arg(&s1)
        .output()?;
    let table = String::from_utf8_lossy(&table.stdout);
    println!("{table}");
    let row = table
        .lines()
        .find(|line| line.starts_with("VI_ST"))
        .with_context(|| format!("no VI_ST row in\n{table}"))?;
    assert!(row.contains("MASTER") && row.contains("200"), "{table}");

    // A planned stop: r1 sends priority 0, r2 counts it and takes over.
    lab.daemon(k1)?.signal(libc::SIGTERM)?;
    let after = wait_state(&lab, &s2, "VI_ST", "MASTER")?;
    assert_valid(&validator, &after);
    let taken = instance(&after, "VI_ST")?;
    assert!(
        count(&taken["counters"]["priority_zero_received"]) >= 1,
        "r2 counted r1's priority 0: {taken:#}"
    );
    assert_eq!(taken["counters"]["became_master"], 1);
    assert_eq!(taken["master"]["local"], true);
    assert_eq!(taken["vips_held"], serde_json::json!([VIP]));
    assert!(lab.daemon(k1)?.wait_exit(Duration::from_secs(5))?);
    assert!(!s1.exists(), "a stopping kad removes its control socket");
    Ok(())
}

#[test]
fn status_answers_while_50_instances_advertise_every_10ms() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let validator = schema()?;
    let mut lab = Lab::with_hosts("sb", &[("r1", 1)])?;
    let config = fast_instances(50, "0.01");
    let dumps = lab.dir().join("dumps");
    let (_, socket) = start_kad(&mut lab, "r1", &config, &[], &dumps)?;
    lab.wait_for(
        "all 50 instances are MASTER",
        Duration::from_secs(20),
        || {
            Ok(status_json(&socket).is_ok_and(|s| {
                s["instances"].as_array().is_some_and(|all| {
                    all.len() == 50 && all.iter().all(|i| i["state"] == "MASTER")
                })
            }))
        },
    )?;
    let mut latencies = Vec::new();
    let mut last = Value::Null;
    for _ in 0..20 {
        let started = Instant::now();
        let answer = kad::ops::control::query(&socket, Duration::from_secs(5))?;
        latencies.push(started.elapsed());
        last = serde_json::from_str(&answer)?;
        assert_eq!(
            last["instances"].as_array().map(Vec::len),
            Some(50),
            "every instance in each answer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_valid(&validator, &last);
    latencies.sort();
    println!(
        "kad status over the control socket with 50 instances at 10 ms: min {:?}, median {:?}, max {:?}",
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    let sent: u64 = last["instances"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|i| count(&i["counters"]["adverts_sent"]))
                .sum()
        })
        .unwrap_or(0);
    assert!(
        sent > 50 * 10,
        "the daemon was busy advertising: {sent} adverts"
    );
    Ok(())
}

/// One sample of the exposition text: metric name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// A small parser of the Prometheus / OpenMetrics text format: `# TYPE` lines give the
/// families and their types, other non-comment lines are samples.
fn parse_exposition(text: &str) -> Result<(HashMap<String, String>, Vec<Sample>)> {
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                bail!("bad TYPE line {line:?}");
            };
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .with_context(|| format!("no value in {line:?}"))?;
        let value: f64 = value
            .parse()
            .with_context(|| format!("value in {line:?}"))?;
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), HashMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .with_context(|| format!("labels in {line:?}"))?;
                let mut labels = HashMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair
                        .split_once("=\"")
                        .with_context(|| format!("label {pair:?} in {line:?}"))?;
                    labels.insert(key.to_owned(), value.trim_end_matches('"').to_owned());
                }
                (name.to_owned(), labels)
            }
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    Ok((types, samples))
}

#[test]
fn metrics_endpoint_serves_vrrp_families_with_labels() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("me", ROUTERS)?;
    let dumps = lab.dir().join("dumps");
    let listen = ["--metrics-listen", "127.0.0.1:9650"];
    let (_, s1) = start_kad(
        &mut lab,
        "r1",
        &vrrp_instance("VI_ME", 51, 200, VIP, ""),
        &listen,
        &dumps,
    )?;
    // The backup receives on raw sockets: its counters come from the socket path.
    let (_, s2) = start_kad(
        &mut lab,
        "r2",
        &vrrp_instance("VI_ME", 51, 100, VIP, ""),
        &[listen[0], listen[1], "--no-xdp"],
        &dumps,
    )?;
    wait_state(&lab, &s1, "VI_ME", "MASTER")?;
    wait_state(&lab, &s2, "VI_ME", "BACKUP")?;
    std::thread::sleep(Duration::from_millis(300));

    let labels = |sample: &Sample| {
        sample.labels.get("instance").map(String::as_str) == Some("VI_ME")
            && sample.labels.get("vrid").map(String::as_str) == Some("51")
            && sample.labels.get("interface").map(String::as_str) == Some("eth0")
            && sample.labels.get("family").map(String::as_str) == Some("ipv4")
    };
    let mut by_router = Vec::new();
    for host in ["r1", "r2"] {
        let (code, text) = http_get(&lab, host, "http://127.0.0.1:9650/metrics")?;
        assert_eq!(code, 200, "{text}");
        let (types, samples) = parse_exposition(&text)?;
        for (family, kind) in [
            ("kad_vrrp_state", "gauge"),
            ("kad_vrrp_priority", "gauge"),
            ("kad_vrrp_base_priority", "gauge"),
            ("kad_vrrp_adverts_received", "counter"),
            ("kad_vrrp_adverts_sent", "counter"),
            ("kad_vrrp_priority_zero_received", "counter"),
            ("kad_vrrp_priority_zero_sent", "counter"),
            ("kad_vrrp_receive_errors", "counter"),
            ("kad_vrrp_transitions", "counter"),
            ("kad_vrrp_master_down_interval_seconds", "gauge"),
        ] {
            assert_eq!(
                types.get(family).map(String::as_str),
                Some(kind),
                "{host}: family {family}\n{text}"
            );
        }
        let value = |name: &str| {
            samples
                .iter()
                .find(|s| s.name == name && labels(s))
                .map(|s| s.value)
        };
        by_router.push((
            host,
            value("kad_vrrp_state"),
            value("kad_vrrp_priority"),
            value("kad_vrrp_adverts_sent_total"),
            value("kad_vrrp_adverts_received_total"),
        ));
        let errors: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == "kad_vrrp_receive_errors_total" && labels(s))
            .collect();
        assert!(
            errors
                .iter()
                .any(|s| s.labels.get("class").map(String::as_str) == Some("auth")),
            "{host}: error classes as a label\n{text}"
        );
        let (missing, _) = http_get(&lab, host, "http://127.0.0.1:9650/nothing")?;
        assert_eq!(missing, 404);
    }
    println!("{by_router:?}");
    let (_, state1, prio1, sent1, _) = by_router[0];
    let (_, state2, prio2, _, received2) = by_router[1];
    assert_eq!(state1, Some(2.0), "r1 is MASTER (2)");
    assert_eq!(prio1, Some(200.0));
    assert!(sent1.is_some_and(|v| v > 0.0), "r1 sent adverts");
    assert_eq!(state2, Some(1.0), "r2 is BACKUP (1)");
    assert_eq!(prio2, Some(100.0));
    assert!(
        received2.is_some_and(|v| v > 0.0),
        "r2 counted adverts on its raw socket"
    );
    Ok(())
}

#[test]
fn signals_write_keepalived_dumps_and_signum_names_them() -> Result<()> {
    kad_tests::skip_unless!(Root);
    assert_eq!(signum("DATA")?, libc::SIGUSR1);
    assert_eq!(signum("STATS")?, libc::SIGUSR2);
    assert_eq!(signum("JSON")?, libc::SIGRTMIN() + 2);
    assert_eq!(signum("STOP")?, libc::SIGTERM);
    assert_eq!(signum("RELOAD")?, libc::SIGHUP);
    assert!(signum("NOPE").is_err());

    let mut lab = Lab::with_hosts("sg", &[("r1", 1)])?;
    let dumps = lab.dir().join("dumps");
    // Two instances in a sync group, so that groups show in the status and the dumps.
    let config = format!(
        "vrrp_sync_group G_SIG {{\n  group {{\n    VI_SIG\n    VI_SIG2\n  }}\n}}\n{}{}",
        vrrp_instance("VI_SIG", 51, 150, VIP, ""),
        vrrp_instance("VI_SIG2", 52, 150, "10.77.0.101", "")
    );
    let (kad, socket) = start_kad(&mut lab, "r1", &config, &[], &dumps)?;
    wait_state(&lab, &socket, "VI_SIG", "MASTER")?;
    let status = wait_state(&lab, &socket, "VI_SIG2", "MASTER")?;
    assert_valid(&schema()?, &status);
    assert_eq!(
        status["sync_groups"],
        serde_json::json!([{"name": "G_SIG", "state": "MASTER", "members": ["VI_SIG", "VI_SIG2"]}])
    );
    assert_eq!(instance(&status, "VI_SIG2")?["sync_group"], "G_SIG");

    lab.daemon(kad)?.signal(signum("DATA")?)?;
    let data = wait_file(
        &lab,
        &dumps.join("keepalived.data"),
        "VRRP Instance = VI_SIG",
    )?;
    assert!(data.contains("State = MASTER"), "{data}");
    assert!(data.contains("Virtual Router ID = 51"), "{data}");
    assert!(data.contains("VRRP Sync Group = G_SIG, MASTER"), "{data}");

    lab.daemon(kad)?.signal(signum("STATS")?)?;
    let stats = wait_file(
        &lab,
        &dumps.join("keepalived.stats"),
        "VRRP Instance: VI_SIG",
    )?;
    assert!(stats.contains("Advertisements:"), "{stats}");
    assert!(stats.contains("Became master: 1"), "{stats}");

    lab.daemon(kad)?.signal(signum("JSON")?)?;
    let json = wait_file(&lab, &dumps.join("keepalived.json"), "VI_SIG")?;
    let json: Value = serde_json::from_str(&json)?;
    assert_eq!(json[0]["data"]["iname"], "VI_SIG");
    assert_eq!(
        json[0]["data"]["state"], 2,
        "keepalived's number for MASTER"
    );
    assert!(count(&json[0]["stats"]["advert_sent"]) > 0, "{json:#}");

    assert!(
        lab.daemon(kad)?.is_running(),
        "the dump signals do not stop kad\n{}",
        lab.logs()
    );
    assert!(
        status_json(&socket).is_ok(),
        "and it still answers on its socket"
    );
    Ok(())
}

#[test]
fn receive_errors_are_counted_per_class() -> Result<()> {
    kad_tests::skip_unless!(Root);
    use kad_tests::xdp_frames::{Advert, L3, fix_ipv4_checksum};
    let mut lab = Lab::with_hosts("er", &[("r1", 1), ("r2", 2), ("x", 9)])?;
    let dumps = lab.dir().join("dumps");
    // r1 receives on raw sockets (errors counted per instance), r2 through XDP (errors
    // counted per interface by the program).
    let (_, s1) = start_kad(
        &mut lab,
        "r1",
        &vrrp_instance("VI_ER", 51, 200, VIP, ""),
        &["--no-xdp"],
        &dumps,
    )?;
    let (_, s2) = start_kad(
        &mut lab,
        "r2",
        &vrrp_instance("VI_ER", 51, 100, VIP, ""),
        &[],
        &dumps,
    )?;
    wait_state(&lab, &s1, "VI_ER", "MASTER")?;
    wait_state(&lab, &s2, "VI_ER", "BACKUP")?;

    let advert = Advert::v3("10.77.0.9", 51, 50);
    let mut bad_ttl = advert.frame()?;
    bad_ttl[L3 + 8] = 254;
    fix_ipv4_checksum(&mut bad_ttl);
    let mut bad_checksum = advert.frame()?;
    bad_checksum[L3 + 20 + 6] ^= 0xff;
    lab.host("x")?.ns.run(|| {
        for _ in 0..3 {
            kad_tests::packet_socket::send_frame("eth0", &bad_ttl)?;
        }
        for _ in 0..2 {
            kad_tests::packet_socket::send_frame("eth0", &bad_checksum)?;
        }
        Ok(())
    })?;

    let mut last = Value::Null;
    lab.wait_for(
        "r1 counts the bad TTLs and checksums against VI_ER",
        Duration::from_secs(5),
        || {
            last = status_json(&s1)?;
            let errors = &instance(&last, "VI_ER")?["counters"]["receive_errors"];
            Ok(count(&errors["ttl"]) >= 3 && count(&errors["checksum"]) >= 2)
        },
    )?;
    let errors = &instance(&last, "VI_ER")?["counters"]["receive_errors"];
    assert_eq!(count(&errors["auth"]), 0, "{errors}");
    assert_eq!(instance(&last, "VI_ER")?["state"], "MASTER");

    let mut status2 = status_json(&s2)?;
    if status2["receive_path"] == "xdp" {
        // The program counts per interface as the frames pass; read until they all have.
        lab.wait_for(
            "r2's XDP program counts the bad TTLs and checksums",
            Duration::from_secs(5),
            || {
                status2 = status_json(&s2)?;
                let xdp = &instance(&status2, "VI_ER")?["xdp"]["counters"];
                Ok(count(&xdp["bad_ttl"]) >= 3 && count(&xdp["bad_checksum"]) >= 2)
            },
        )?;
    }
    assert_eq!(instance(&status2, "VI_ER")?["state"], "BACKUP");
    Ok(())
}

/// A virtual server on `vip`:80 with two TCP_CHECKed real servers on 10.77.0.2: port 8081
/// (weight 2) and port 8082 (weight 1, inhibit_on_failure), probed every second.
fn lvs_config(vip: &str) -> String {
    let rs = |port: u16, weight: u8, extra: &str| {
        format!(
            "  real_server 10.77.0.2 {port} {{\n    weight {weight}\n{extra}    TCP_CHECK {{\n      \
             connect_timeout 1\n      retry 0\n    }}\n  }}\n"
        )
    };
    format!(
        "virtual_server {vip} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{}{}}}\n",
        rs(8081, 2, ""),
        rs(8082, 1, "    inhibit_on_failure\n")
    )
}

/// The real server at `address` of the virtual server called `vs`.
fn real_server<'a>(status: &'a Value, vs: &str, address: &str) -> Result<&'a Value> {
    status["virtual_servers"]
        .as_array()
        .and_then(|all| all.iter().find(|v| v["name"] == vs))
        .and_then(|v| v["real_servers"].as_array())
        .and_then(|all| all.iter().find(|r| r["address"] == address))
        .with_context(|| format!("no real server {address} in {vs}: {status:#}"))
}

/// Waits until the real server at `address` of `vs` is `up` with a checker result in.
fn wait_real_server(lab: &Lab, socket: &Path, vs: &str, address: &str, up: bool) -> Result<Value> {
    let mut last = Value::Null;
    lab.wait_for(
        &format!("{address} of {vs} is {}", if up { "up" } else { "down" }),
        Duration::from_secs(20),
        || {
            let Ok(status) = status_json(socket) else {
                return Ok(false);
            };
            let done = real_server(&status, vs, address)
                .is_ok_and(|rs| rs["up"] == up && rs["checkers"][0]["last_result"].is_string());
            last = status;
            Ok(done)
        },
    )?;
    Ok(last)
}

/// The value of `name` whose labels include every pair of `labels`.
fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

#[test]
fn checker_mode_reports_real_servers_up_and_down_with_reasons() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let validator = schema()?;
    let mut lab = Lab::with_hosts("lv", &[("lb", 1), ("rs", 2)])?;
    let dumps = lab.dir().join("dumps");
    let _up = NsListener::start(&lab, "rs", "10.77.0.2:8081")?;
    let (kad, socket) = start_kad(
        &mut lab,
        "lb",
        &lvs_config("10.77.0.100"),
        &["-C", "--metrics-listen", "127.0.0.1:9651"],
        &dumps,
    )?;
    const VS: &str = "TCP 10.77.0.100:80";
    let status = wait_real_server(&lab, &socket, VS, "10.77.0.2:8082", false)?;
    let status =
        if real_server(&status, VS, "10.77.0.2:8081")?["checkers"][0]["last_result"].is_string() {
            status
        } else {
            wait_real_server(&lab, &socket, VS, "10.77.0.2:8081", true)?
        };
    assert_valid(&validator, &status);
    println!("{:#}", status["virtual_servers"]);
    assert_eq!(status["receive_path"], "none", "no VRRP side with -C");
    assert_eq!(status["instances"], serde_json::json!([]));
    // This kernel may or may not have IPVS; without it the checkers still run.
    let ipvs = status["ipvs"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(ipvs == "running" || ipvs == "unavailable", "{status:#}");
    let vs = &status["virtual_servers"][0];
    assert_eq!(vs["name"], VS);
    assert_eq!(vs["address"], "10.77.0.100:80");
    assert_eq!(vs["protocol"], "TCP");
    assert_eq!(vs["scheduler"], "rr");
    assert_eq!(vs["forwarding"], "NAT");
    assert_eq!(vs["alive_weight"], 2, "only 8081 (weight 2) is alive");
    assert_eq!(vs["quorum_up"], true);

    let up = real_server(&status, VS, "10.77.0.2:8081")?;
    assert_eq!(up["up"], true);
    assert_eq!(
        (up["weight"].as_i64(), up["effective_weight"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(up["checkers"][0]["kind"], "TCP_CHECK");
    assert_eq!(up["checkers"][0]["target"], "10.77.0.2:8081");
    assert_eq!(up["checkers"][0]["up"], true);
    assert_eq!(up["checkers"][0]["last_result"], "passed");
    let down = real_server(&status, VS, "10.77.0.2:8082")?;
    assert_eq!(down["up"], false);
    assert_eq!(down["weight"], 1);
    assert_eq!(
        down["effective_weight"], 0,
        "down under inhibit_on_failure: weight 0"
    );
    let reason = down["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("TCP_CHECK 10.77.0.2:8082") && reason.contains("refused"),
        "{down:#}"
    );
    assert_eq!(down["checkers"][0]["up"], false);
    assert_eq!(down["checkers"][0]["last_result"], "failed");
    let check_reason = down["checkers"][0]["reason"].as_str().unwrap_or_default();
    assert!(check_reason.contains("Connection refused"), "{down:#}");
    assert_eq!(
        down["checkers"][0]["transitions"], 1,
        "up at start, then down"
    );
    if ipvs == "unavailable" {
        assert!(status["ipvs"]["error"].is_string(), "{status:#}");
        assert_eq!(vs["installed"], false);
        assert_eq!(up["installed"], false, "nothing installed without IPVS");
        let log = lab.daemon_log(kad)?;
        assert!(
            log.contains("ERROR") && log.contains("ipvs: unavailable"),
            "{log}"
        );
    } else {
        assert_eq!(up["installed"], true);
    }

    let (code, text) = http_get(&lab, "lb", "http://127.0.0.1:9651/metrics")?;
    assert_eq!(code, 200, "{text}");
    let (types, samples) = parse_exposition(&text)?;
    for (family, kind) in [
        ("kad_ipvs_up", "gauge"),
        ("kad_virtual_server_quorum_up", "gauge"),
        ("kad_virtual_server_alive_weight", "gauge"),
        ("kad_real_server_up", "gauge"),
        ("kad_real_server_weight", "gauge"),
        ("kad_real_server_effective_weight", "gauge"),
        ("kad_real_server_installed", "gauge"),
        ("kad_checker_up", "gauge"),
        ("kad_checker_transitions", "counter"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "family {family}\n{text}"
        );
    }
    let rs = |port: &'static str| [("virtual_server", VS), ("real_server", port)];
    assert_eq!(
        sample(&samples, "kad_real_server_up", &rs("10.77.0.2:8081")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&samples, "kad_real_server_up", &rs("10.77.0.2:8082")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&samples, "kad_real_server_weight", &rs("10.77.0.2:8081")),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &samples,
            "kad_real_server_effective_weight",
            &rs("10.77.0.2:8082")
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &samples,
            "kad_virtual_server_alive_weight",
            &[("virtual_server", VS)]
        ),
        Some(2.0)
    );
    let checker = |port: &'static str| {
        [
            ("virtual_server", VS),
            ("real_server", port),
            ("checker", "TCP_CHECK"),
            ("target", port),
        ]
    };
    assert_eq!(
        sample(&samples, "kad_checker_up", &checker("10.77.0.2:8082")),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &samples,
            "kad_checker_transitions_total",
            &checker("10.77.0.2:8082")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&samples, "kad_ipvs_up", &[]),
        Some(if ipvs == "running" { 1.0 } else { 0.0 })
    );

    let table = Command::new(kad_bin()?)
        .args(["status", "--control-socket"])
        .arg(&socket)
        .output()?;
    let table = String::from_utf8_lossy(&table.stdout);
    println!("{table}");
    assert!(table.contains(&format!("ipvs: {ipvs}")), "{table}");
    assert!(
        table.contains(&format!("virtual server {VS}: rr NAT")),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("10.77.0.2:8082"))
        .unwrap_or_default();
    assert!(row.contains("down") && row.contains("refused"), "{table}");

    // The down one comes up: a listener on 8082.
    let before = down["since_unix_ms"].as_u64().unwrap_or(0);
    let _healed = NsListener::start(&lab, "rs", "10.77.0.2:8082")?;
    let status = wait_real_server(&lab, &socket, VS, "10.77.0.2:8082", true)?;
    assert_valid(&validator, &status);
    let healed = real_server(&status, VS, "10.77.0.2:8082")?;
    assert_eq!(healed["effective_weight"], 1);
    assert_eq!(healed["checkers"][0]["up"], true);
    assert_eq!(healed["checkers"][0]["last_result"], "passed");
    assert_eq!(healed["checkers"][0]["transitions"], 2, "down, then up");
    assert!(
        healed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("passed")),
        "{healed:#}"
    );
    assert!(
        healed["since_unix_ms"].as_u64().unwrap_or(0) > before,
        "{healed:#}"
    );
    assert_eq!(status["virtual_servers"][0]["alive_weight"], 3);
    let (_, text) = http_get(&lab, "lb", "http://127.0.0.1:9651/metrics")?;
    let (_, samples) = parse_exposition(&text)?;
    assert_eq!(
        sample(&samples, "kad_real_server_up", &rs("10.77.0.2:8082")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &samples,
            "kad_checker_transitions_total",
            &checker("10.77.0.2:8082")
        ),
        Some(2.0),
        "{text}"
    );

    lab.daemon(kad)?.signal(signum("DATA")?)?;
    let data = wait_file(&lab, &dumps.join("keepalived.data"), "LVS Topology")?;
    assert!(data.contains(&format!(" Virtual Server = {VS}")), "{data}");
    assert!(data.contains("   Real Server = 10.77.0.2:8082"), "{data}");
    assert!(
        data.contains("Checker = TCP_CHECK 10.77.0.2:8082: up"),
        "{data}"
    );
    lab.daemon(kad)?.signal(signum("JSON")?)?;
    let json = wait_file(&lab, &dumps.join("keepalived.json"), "virtual_server")?;
    let json: Value = serde_json::from_str(&json)?;
    assert_eq!(json[0]["virtual_server"]["name"], VS, "{json:#}");
    Ok(())
}

#[test]
fn status_reports_vrrp_instances_and_real_servers_together() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let validator = schema()?;
    let mut lab = Lab::with_hosts("lw", &[("lb", 1), ("rs", 2)])?;
    let dumps = lab.dir().join("dumps");
    let _up = NsListener::start(&lab, "rs", "10.77.0.2:8081")?;
    let config = format!(
        "{}{}",
        vrrp_instance("VI_LB", 51, 150, VIP, ""),
        lvs_config(VIP)
    );
    let (_, socket) = start_kad(&mut lab, "lb", &config, &[], &dumps)?;
    let vs = format!("TCP {VIP}:80");
    wait_state(&lab, &socket, "VI_LB", "MASTER")?;
    wait_real_server(&lab, &socket, &vs, "10.77.0.2:8082", false)?;
    let status = wait_real_server(&lab, &socket, &vs, "10.77.0.2:8081", true)?;
    assert_valid(&validator, &status);
    assert_ne!(status["receive_path"], "none");
    assert_eq!(instance(&status, "VI_LB")?["state"], "MASTER");
    let down = real_server(&status, &vs, "10.77.0.2:8082")?;
    assert!(
        down["checkers"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("refused")),
        "{down:#}"
    );
    assert_eq!(real_server(&status, &vs, "10.77.0.2:8081")?["up"], true);
    Ok(())
}
