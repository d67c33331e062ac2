//! keepalived.conf `virtual_routes` / `virtual_rules` and `static_ipaddress` /
//! `static_routes` / `static_rules` on the real kernel, kad as r1 and keepalived 2.2.7 as the
//! higher-priority peer r2: virtual entries exist exactly while kad is MASTER (a route whose
//! `src` is the VIP, one in table 100, blackholes, an IPv6 route, `from`/`to` rules), static
//! ones exist exactly while kad runs, whatever its state, and a `kill -9` then restart leaves
//! neither stale nor duplicate entries. Read back with `ip -j route|rule show` in r1's
//! namespace.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use kad_tests::{
    conf::lab_instance,
    lab::{Host, Lab, ROUTERS, VIP},
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(5);

/// kad's configuration: statics at the top level (the static address has no `dev`, so it
/// goes on `default_interface`, eth0), virtual routes and rules in the instance.
fn kad_config(priority: u8) -> String {
    let statics = "static_ipaddress {\n  10.66.0.1/24\n}\n\
         static_routes {\n  10.67.0.0/24 via 10.66.0.254 dev eth0\n  blackhole 10.68.0.0/24 table 200\n}\n\
         static_rules {\n  from 10.66.0.1/32 table 200 preference 2000\n}\n";
    let virtuals = "  virtual_routes {\n\
         \x20   src 10.77.0.100 to 10.88.0.0/24 via 10.77.0.254 dev eth0\n\
         \x20   10.89.0.0/24 via 10.77.0.254 dev eth0 table 100\n\
         \x20   blackhole 10.90.0.0/24\n\
         \x20   blackhole 10.91.0.0/24 table 100 metric 10\n\
         \x20   fd88::/64 via fd77::fe dev eth0\n\
         \x20 }\n\
         \x20 virtual_rules {\n\
         \x20   from 10.77.0.100/32 table 100 preference 1000\n\
         \x20   to 10.92.0.0/24 table 100 priority 1001\n\
         \x20 }\n";
    format!("{statics}{}", lab_instance(priority, virtuals))
}

/// The peer: same instance, no routes.
fn keepalived_config(priority: u8) -> String {
    lab_instance(priority, "")
}

/// One route or rule kad must install, as `ip -j` shows it.
struct Entry {
    what: &'static str,
    /// `route -4`, `route -6` or `rule -4`.
    list: [&'static str; 2],
    /// Fields that pick the entry out (every one must match).
    key: &'static [(&'static str, &'static str)],
    /// Fields it must also have.
    more: &'static [(&'static str, &'static str)],
}

const VIRTUAL: &[Entry] = &[
    Entry {
        what: "route with the VIP as source",
        list: ["route", "-4"],
        key: &[("dst", "10.88.0.0/24"), ("table", "main")],
        more: &[
            ("gateway", "10.77.0.254"),
            ("prefsrc", VIP),
            ("dev", "eth0"),
            ("protocol", "keepalived"),
        ],
    },
    Entry {
        what: "route in table 100",
        list: ["route", "-4"],
        key: &[("dst", "10.89.0.0/24"), ("table", "100")],
        more: &[("gateway", "10.77.0.254"), ("protocol", "keepalived")],
    },
    Entry {
        what: "blackhole in main",
        list: ["route", "-4"],
        key: &[("dst", "10.90.0.0/24"), ("table", "main")],
        more: &[("type", "blackhole"), ("protocol", "keepalived")],
    },
    Entry {
        what: "blackhole in table 100 with a metric",
        list: ["route", "-4"],
        key: &[("dst", "10.91.0.0/24"), ("table", "100")],
        more: &[("type", "blackhole"), ("metric", "10")],
    },
    Entry {
        what: "IPv6 route",
        list: ["route", "-6"],
        key: &[("dst", "fd88::/64"), ("table", "main")],
        more: &[("gateway", "fd77::fe"), ("protocol", "keepalived")],
    },
    Entry {
        what: "rule from the VIP",
        list: ["rule", "-4"],
        key: &[("priority", "1000")],
        more: &[("src", VIP), ("table", "100"), ("protocol", "keepalived")],
    },
    Entry {
        what: "rule to a prefix",
        list: ["rule", "-4"],
        key: &[("priority", "1001")],
        more: &[("dst", "10.92.0.0"), ("dstlen", "24"), ("table", "100")],
    },
];

const STATIC: &[Entry] = &[
    Entry {
        what: "static route via the static address's subnet",
        list: ["route", "-4"],
        key: &[("dst", "10.67.0.0/24"), ("table", "main")],
        more: &[("gateway", "10.66.0.254"), ("protocol", "keepalived")],
    },
    Entry {
        what: "static blackhole in table 200",
        list: ["route", "-4"],
        key: &[("dst", "10.68.0.0/24"), ("table", "200")],
        more: &[("type", "blackhole")],
    },
    Entry {
        what: "static rule",
        list: ["rule", "-4"],
        key: &[("priority", "2000")],
        more: &[("src", "10.66.0.1"), ("table", "200")],
    },
];

/// A JSON field as text (numbers too); a route without `table` is in main.
fn field(entry: &Value, name: &str) -> Option<String> {
    match entry.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        Some(_) => None,
        None if name == "table" => Some("main".into()),
        None => None,
    }
}

/// `ip -j FAMILY route show table all` or `ip -j FAMILY rule show` in `host`.
fn listing(host: &Host, list: [&str; 2]) -> Result<Vec<Value>> {
    let [object, family] = list;
    let mut args = vec!["-n", host.ns.name(), "-j", family, object, "show"];
    if object == "route" {
        args.extend(["table", "all"]);
    }
    let out = std::process::Command::new("ip").args(&args).output()?;
    if !out.status.success() {
        bail!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let parsed: Value = serde_json::from_str(&text).with_context(|| format!("ip -j: {text}"))?;
    Ok(parsed.as_array().cloned().unwrap_or_default())
}

/// How many times each entry is installed in `host`; fails if one has the wrong fields.
fn counts(host: &Host, entries: &[Entry]) -> Result<Vec<usize>> {
    let mut counts = Vec::new();
    for entry in entries {
        let listed = listing(host, entry.list)?;
        let matching: Vec<&Value> = listed
            .iter()
            .filter(|item| {
                entry
                    .key
                    .iter()
                    .all(|(name, value)| field(item, name).as_deref() == Some(*value))
            })
            .collect();
        for item in &matching {
            for (name, value) in entry.more {
                if field(item, name).as_deref() != Some(*value) {
                    bail!("{}: {name} should be {value}: {item}", entry.what);
                }
            }
        }
        counts.push(matching.len());
    }
    Ok(counts)
}

/// Every entry installed exactly once.
fn all_once(host: &Host, entries: &[Entry]) -> Result<bool> {
    let counts = counts(host, entries)?;
    if let Some((entry, n)) = entries.iter().zip(&counts).find(|(_, n)| **n > 1) {
        bail!("{} installed {n} times", entry.what);
    }
    Ok(counts.iter().all(|n| *n == 1))
}

/// No entry installed.
fn none(host: &Host, entries: &[Entry]) -> Result<bool> {
    Ok(counts(host, entries)?.iter().all(|n| *n == 0))
}

/// What is still installed, for failure messages.
fn describe(host: &Host, entries: &[Entry]) -> String {
    match counts(host, entries) {
        Ok(counts) => entries
            .iter()
            .zip(counts)
            .map(|(entry, n)| format!("{}: {n}", entry.what))
            .collect::<Vec<_>>()
            .join(", "),
        Err(err) => err.to_string(),
    }
}

/// kad's router.
fn r1(lab: &Lab) -> Result<&Host> {
    lab.host("r1")
}

/// Waits until no entry is installed in r1; on timeout says which still are.
fn wait_none(lab: &Lab, what: &str, entries: &[Entry]) -> Result<()> {
    let host = lab.host("r1")?;
    lab.wait_for(what, LIMIT, || none(host, entries))
        .with_context(|| format!("still installed: {}", describe(host, entries)))?;
    Ok(())
}

fn kad_log_is_clean(lab: &mut Lab, kad: usize) -> Result<()> {
    let log = lab.daemon(kad)?.log();
    for complaint in ["change failed", "not supported", "- ignored", "ERROR"] {
        if log.contains(complaint) {
            bail!("kad's log has '{complaint}':\n{log}");
        }
    }
    Ok(())
}

#[test]
fn virtual_routes_and_rules_follow_mastership_and_statics_stay_while_kad_runs() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("vr", ROUTERS)?;
    let kad = lab.start_kad("r1", &kad_config(100))?;
    lab.wait_for("kad alone becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    lab.wait_for(
        "master kad installs its virtual routes and rules",
        LIMIT,
        || all_once(r1(&lab)?, VIRTUAL),
    )?;
    lab.wait_for("kad installs its static entries", LIMIT, || {
        all_once(r1(&lab)?, STATIC)
    })?;
    assert!(
        r1(&lab)?.has_address("10.66.0.1")?,
        "static_ipaddress on eth0"
    );

    // A higher-priority keepalived preempts: kad turns backup.
    let keepalived = lab.start_keepalived("r2", &keepalived_config(200))?;
    lab.wait_for("keepalived (200) preempts", LIMIT, || lab.holds("r2", VIP))?;
    wait_none(
        &lab,
        "backup kad removes its virtual routes and rules",
        VIRTUAL,
    )?;
    assert!(!r1(&lab)?.has_address(VIP)?, "backup kad released the VIP");
    assert!(
        all_once(r1(&lab)?, STATIC)?,
        "static entries stay while kad is backup: {}",
        describe(r1(&lab)?, STATIC)
    );
    assert!(
        r1(&lab)?.has_address("10.66.0.1")?,
        "static_ipaddress stays"
    );

    // keepalived stops (priority 0): kad is master again and reinstalls them once.
    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    lab.wait_for("kad takes over again", LIMIT, || r1(&lab)?.has_address(VIP))?;
    lab.wait_for("virtual routes and rules come back once", LIMIT, || {
        all_once(r1(&lab)?, VIRTUAL)
    })?;
    assert!(all_once(r1(&lab)?, STATIC)?, "static entries untouched");

    // SIGTERM: kad leaves MASTER and exits; nothing of its own is left.
    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    assert!(
        lab.daemon(kad)?.wait_exit(LIMIT)?,
        "kad exits on SIGTERM\n{}",
        lab.logs()
    );
    assert!(
        none(r1(&lab)?, VIRTUAL)?,
        "virtual entries removed at exit: {}",
        describe(r1(&lab)?, VIRTUAL)
    );
    assert!(
        none(r1(&lab)?, STATIC)?,
        "static entries removed at exit, as keepalived does: {}",
        describe(r1(&lab)?, STATIC)
    );
    assert!(!r1(&lab)?.has_address(VIP)?, "VIP removed at exit");
    assert!(
        !r1(&lab)?.has_address("10.66.0.1")?,
        "static_ipaddress removed at exit"
    );
    kad_log_is_clean(&mut lab, kad)
}

#[test]
fn kill_9_then_restart_leaves_no_stale_or_duplicate_routes_and_rules() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("vk", ROUTERS)?;
    let first = lab.start_kad("r1", &kad_config(100))?;
    lab.wait_for(
        "kad is master with everything installed",
        Duration::from_secs(10),
        || {
            Ok(r1(&lab)?.has_address(VIP)?
                && all_once(r1(&lab)?, VIRTUAL)?
                && all_once(r1(&lab)?, STATIC)?)
        },
    )?;

    lab.daemon(first)?.signal(libc::SIGKILL)?;
    assert!(lab.daemon(first)?.wait_exit(LIMIT)?, "kill -9");
    assert!(
        all_once(r1(&lab)?, VIRTUAL)? && all_once(r1(&lab)?, STATIC)?,
        "kill -9 leaves everything behind (as with keepalived)"
    );

    // keepalived (200) takes the VIP; the restarted kad (100) stays backup, so its virtual
    // entries can only go away through the start-up clean-up.
    let keepalived = lab.start_keepalived("r2", &keepalived_config(200))?;
    lab.wait_for("keepalived takes over", LIMIT, || lab.holds("r2", VIP))?;
    let second = lab.start_kad("r1", &kad_config(100))?;
    wait_none(
        &lab,
        "the restarted backup kad removes the stale virtual routes and rules",
        VIRTUAL,
    )?;
    lab.wait_for("stale VIP removed", LIMIT, || {
        Ok(!r1(&lab)?.has_address(VIP)?)
    })?;
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        all_once(r1(&lab)?, STATIC)?,
        "static entries present once after the restart: {}",
        describe(r1(&lab)?, STATIC)
    );
    assert!(none(r1(&lab)?, VIRTUAL)?, "kad (100) stays backup");

    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    lab.wait_for("kad becomes master", LIMIT, || r1(&lab)?.has_address(VIP))?;
    lab.wait_for("virtual entries installed once", LIMIT, || {
        all_once(r1(&lab)?, VIRTUAL)
    })?;
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        all_once(r1(&lab)?, VIRTUAL)? && all_once(r1(&lab)?, STATIC)?,
        "no duplicates: {} / {}",
        describe(r1(&lab)?, VIRTUAL),
        describe(r1(&lab)?, STATIC)
    );
    kad_log_is_clean(&mut lab, second)
}

#[test]
fn sighup_applies_the_static_diff_and_new_virtual_routes() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut lab = Lab::with_hosts("vh", &[("r1", 1)])?;
    let kad = lab.start_kad("r1", &kad_config(100))?;
    lab.wait_for(
        "kad is master with everything installed",
        Duration::from_secs(10),
        || {
            Ok(r1(&lab)?.has_address(VIP)?
                && all_once(r1(&lab)?, VIRTUAL)?
                && all_once(r1(&lab)?, STATIC)?)
        },
    )?;

    // One static route and one static rule change; the instance gains a virtual route.
    let changed = kad_config(100)
        .replace(
            "blackhole 10.68.0.0/24 table 200",
            "blackhole 10.69.0.0/24 table 200",
        )
        .replace("table 200 preference 2000", "table 200 preference 2001")
        .replace(
            "    blackhole 10.90.0.0/24\n",
            "    blackhole 10.90.0.0/24\n    blackhole 10.93.0.0/24\n",
        );
    std::fs::write(lab.dir().join("kad-r1.conf"), changed)?;
    lab.daemon(kad)?.signal(libc::SIGHUP)?;
    const OLD: &[Entry] = &[
        Entry {
            what: "static blackhole no longer configured",
            list: ["route", "-4"],
            key: &[("dst", "10.68.0.0/24"), ("table", "200")],
            more: &[],
        },
        Entry {
            what: "static rule no longer configured",
            list: ["rule", "-4"],
            key: &[("priority", "2000")],
            more: &[],
        },
    ];
    const NEW: &[Entry] = &[
        Entry {
            what: "new static blackhole",
            list: ["route", "-4"],
            key: &[("dst", "10.69.0.0/24"), ("table", "200")],
            more: &[("type", "blackhole")],
        },
        Entry {
            what: "new static rule",
            list: ["rule", "-4"],
            key: &[("priority", "2001")],
            more: &[("src", "10.66.0.1"), ("table", "200")],
        },
        Entry {
            what: "new virtual blackhole",
            list: ["route", "-4"],
            key: &[("dst", "10.93.0.0/24"), ("table", "main")],
            more: &[("type", "blackhole")],
        },
        Entry {
            what: "unchanged static route",
            list: ["route", "-4"],
            key: &[("dst", "10.67.0.0/24"), ("table", "main")],
            more: &[("gateway", "10.66.0.254")],
        },
    ];
    wait_none(&lab, "the reload removes what is no longer configured", OLD)?;
    lab.wait_for("the reload installs the new entries", LIMIT, || {
        Ok(all_once(r1(&lab)?, NEW)? && all_once(r1(&lab)?, VIRTUAL)?)
    })?;
    assert!(
        r1(&lab)?.has_address(VIP)?,
        "kad is master after the reload"
    );
    kad_log_is_clean(&mut lab, kad)
}
