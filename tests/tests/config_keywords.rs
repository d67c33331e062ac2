//! Table-driven tests, one table per keepalived.conf keyword family: the value parsed, the
//! default when the keyword is absent, and a bad value with its exact message and place.

use kad::config::{Config, Severity, VsAddress};
use kad_tests::conf::load_isolated;

/// One keyword of a family.
struct Case {
    /// A line setting the keyword (placed where the family's wrapper puts `{LINE}`).
    line: &'static str,
    /// Reads the keyword's value from the model.
    get: fn(&Config) -> String,
    /// The value `get` returns with `line`.
    value: &'static str,
    /// The value `get` returns without `line` (keepalived.conf(5) default).
    default: &'static str,
    /// A bad line.
    bad: &'static str,
    /// The exact diagnostic for `bad` (`file:line:col: severity: message`).
    error: &'static str,
}

/// Runs every case of a family; `wrap` puts a line into a minimal valid configuration.
fn run_family(family: &str, wrap: fn(&str) -> String, cases: &[Case]) {
    let clean = load_isolated(&wrap(""));
    let clean_errors: Vec<String> = clean
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(ToString::to_string)
        .collect();
    assert!(
        clean_errors.is_empty(),
        "{family}: wrapper not clean: {clean_errors:?}"
    );
    for case in cases {
        let with = load_isolated(&wrap(case.line));
        let diags: Vec<String> = with.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            with.diagnostics
                .iter()
                .all(|d| d.severity < Severity::Warning),
            "{family}: '{}' gave {diags:?}",
            case.line
        );
        assert_eq!(
            (case.get)(&with.config),
            case.value,
            "{family}: value of '{}'",
            case.line
        );
        assert_eq!(
            (case.get)(&clean.config),
            case.default,
            "{family}: default for '{}'",
            case.line
        );
        let bad = load_isolated(&wrap(case.bad));
        let got: Vec<String> = bad.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            got.iter().any(|d| d == case.error),
            "{family}: '{}' should give\n  {}\nbut gave\n  {}",
            case.bad,
            case.error,
            got.join("\n  ")
        );
        assert_eq!(
            (case.get)(&bad.config),
            case.default,
            "{family}: a bad value must leave the default for '{}'",
            case.bad
        );
    }
}

fn vrrp(line: &str) -> String {
    format!(
        "vrrp_instance VI {{\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {{\n        10.0.0.1\n    }}\n    {line}\n}}\n"
    )
}

fn inst(c: &Config) -> &kad::config::VrrpInstance {
    c.vrrp_instances
        .first()
        .unwrap_or_else(|| panic!("no instance in {c:?}"))
}

#[test]
fn vrrp_instance_keywords() {
    run_family(
        "vrrp_instance",
        vrrp,
        &[
            Case {
                line: "priority 150",
                get: |c| format!("{}", inst(c).priority),
                value: "150",
                default: "100",
                bad: "priority 300",
                error: "t.conf:7:14: error: priority: invalid value '300': expected an integer in 1..=255 - ignoring",
            },
            Case {
                line: "state MASTER",
                get: |c| format!("{:?}", inst(c).state),
                value: "Master",
                default: "Backup",
                bad: "state FOO",
                error: "t.conf:7:11: error: state: invalid value 'FOO': expected MASTER or BACKUP - ignoring",
            },
            Case {
                line: "advert_int 3",
                get: |c| format!("{:?}", inst(c).advert_int),
                value: "3s",
                default: "1s",
                bad: "advert_int 300",
                error: "t.conf:7:16: error: advert_int: invalid value '300': expected a time in seconds in 0.01..=255 - ignoring",
            },
            Case {
                line: "version 3",
                get: |c| format!("{}", inst(c).version),
                value: "3",
                default: "2",
                bad: "version 4",
                error: "t.conf:7:13: error: version: invalid value '4': expected an integer in 2..=3 - ignoring",
            },
            Case {
                line: "preempt_delay 4.12",
                get: |c| format!("{:?}", inst(c).preempt_delay),
                value: "4.12s",
                default: "0ns",
                bad: "preempt_delay 1001",
                error: "t.conf:7:19: error: preempt_delay: invalid value '1001': expected a time in seconds in 0..=1000 - ignoring",
            },
            Case {
                line: "garp_master_delay 10",
                get: |c| format!("{:?}", inst(c).garp_master_delay),
                value: "10s",
                default: "5s",
                bad: "garp_master_delay x",
                error: "t.conf:7:23: error: garp_master_delay: invalid value 'x': expected a time in seconds in 0..=86400 - ignoring",
            },
            Case {
                line: "garp_master_repeat 1",
                get: |c| format!("{}", inst(c).garp_master_repeat),
                value: "1",
                default: "5",
                bad: "garp_master_repeat -1",
                error: "t.conf:7:24: error: garp_master_repeat: invalid value '-1': expected an integer in 0..=65535 - ignoring",
            },
            Case {
                line: "down_timer_adverts 5",
                get: |c| format!("{}", inst(c).down_timer_adverts),
                value: "5",
                default: "3",
                bad: "down_timer_adverts 101",
                error: "t.conf:7:24: error: down_timer_adverts: invalid value '101': expected an integer in 1..=100 - ignoring",
            },
            // With a peer: without one keepalived resets unicast_ttl, and calls
            // unicast_src_ip deprecated.
            Case {
                line: "unicast_ttl 10\n    unicast_peer {\n        10.0.0.2\n    }",
                get: |c| format!("{}", inst(c).unicast_ttl),
                value: "10",
                default: "255",
                bad: "unicast_ttl 256\n    unicast_peer {\n        10.0.0.2\n    }",
                error: "t.conf:7:17: error: unicast_ttl: invalid value '256': expected an integer in 0..=255 - ignoring",
            },
            Case {
                line: "unicast_src_ip 10.0.0.9\n    unicast_peer {\n        10.0.0.2\n    }",
                get: |c| format!("{:?}", inst(c).unicast_src_ip),
                value: "Some(10.0.0.9)",
                default: "None",
                bad: "unicast_src_ip 10.0.0\n    unicast_peer {\n        10.0.0.2\n    }",
                error: "t.conf:7:20: error: unicast_src_ip: invalid value '10.0.0': expected an IPv4 or IPv6 address - ignoring",
            },
            Case {
                line: "mcast_dst_ip 224.0.0.19",
                get: |c| format!("{:?}", inst(c).mcast_dst_ip),
                value: "Some(224.0.0.19)",
                default: "None",
                bad: "mcast_dst_ip 10.0.0.1",
                error: "t.conf:7:18: error: mcast_dst_ip: invalid value '10.0.0.1': expected a multicast address - ignoring",
            },
            Case {
                line: "strict_mode off",
                get: |c| format!("{}/{}", inst(c).strict_mode, inst(c).accept),
                value: "false/true",
                default: "false/true",
                bad: "strict_mode maybe",
                error: "t.conf:7:17: error: strict_mode: invalid value 'maybe': expected one of on|off|true|false|yes|no - ignoring",
            },
            Case {
                line: "notify_master \"/bin/echo a b\" nobody",
                get: |c| {
                    format!(
                        "{:?}",
                        inst(c)
                            .notify
                            .master
                            .as_ref()
                            .map(|s| (&s.command, &s.user))
                    )
                },
                value: "Some((\"/bin/echo a b\", Some(\"nobody\")))",
                default: "None",
                // keepalived 2.2.7 stops at a notify script without its value (exit 2).
                bad: "notify_master",
                error: "t.conf:7:5: fatal: *** Configuration line starting `notify_master` is missing a parameter after keyword `notify_master` at word position 2",
            },
            Case {
                line: "debug 2",
                get: |c| format!("{}", inst(c).debug),
                value: "2",
                default: "0",
                bad: "debug 5",
                error: "t.conf:7:11: error: debug: invalid value '5': expected an integer in 0..=4 - ignoring",
            },
        ],
    );
}

#[test]
fn vrrp_instance_flags_and_lists() {
    let c = load_isolated(&vrrp(
        "nopreempt\n    no_accept\n    use_vmac vrrp1\n    vmac_xmit_base\n    dont_track_primary\n    track_interface {\n        eth1 weight -10 reverse\n    }\n    unicast_peer {\n        10.0.0.2 min_ttl 3\n    }\n    authentication {\n        auth_type PASS\n        auth_pass secret12345\n    }",
    ));
    let i = inst(&c.config);
    assert!(!i.preempt && !i.accept && i.vmac_xmit_base && i.dont_track_primary);
    assert_eq!(
        i.use_vmac.as_ref().and_then(|v| v.name.as_deref()),
        Some("vrrp1")
    );
    let t = i
        .tracking
        .interfaces
        .first()
        .map(|t| (t.name.as_str(), t.weight, t.reverse));
    assert_eq!(t, Some(("eth1", Some(-10), true)));
    assert_eq!(
        i.unicast_peers
            .first()
            .map(|p| (p.addr.to_string(), p.min_ttl)),
        Some(("10.0.0.2".to_owned(), Some(3)))
    );
    assert_eq!(
        i.authentication
            .as_ref()
            .and_then(|a| a.auth_pass.as_deref()),
        Some("secret12")
    );
    // Notes on keywords kad ignores are config_catalogue's subject.
    let d: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        d,
        vec!["t.conf:20:9: warning: auth_pass: password longer than 8 characters - truncated to 8"]
    );
}

fn vip(line: &str) -> String {
    format!(
        "vrrp_instance VI {{\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {{\n        10.0.0.1\n        {line}\n    }}\n}}\n"
    )
}

#[test]
fn virtual_ipaddress_syntax() {
    run_family(
        "virtual_ipaddress",
        vip,
        &[
            Case {
                line: "192.168.1.5/24 brd 192.168.1.255 dev eth1 scope link label eth1:1 no_track",
                get: |c| {
                    inst(c)
                        .virtual_ipaddress
                        .get(1)
                        .map_or("none".to_owned(), |a| {
                            format!(
                                "{}/{} {:?} {:?} {:?} {:?} {}",
                                a.addr,
                                a.prefix_len,
                                a.broadcast,
                                a.dev,
                                a.scope,
                                a.label,
                                a.no_track
                            )
                        })
                },
                value: "192.168.1.5/24 Some(192.168.1.255) Some(\"eth1\") Some(\"link\") Some(\"eth1:1\") true",
                default: "none",
                bad: "192.168.100./24",
                error: "t.conf:6:9: error: virtual_ipaddress: invalid value '192.168.100./24': expected an IPv4 or IPv6 address with an optional /prefix - skipping address",
            },
            Case {
                line: "10.0.0.2",
                get: |c| {
                    inst(c)
                        .virtual_ipaddress
                        .get(1)
                        .map_or("none".to_owned(), |a| {
                            format!("{}/{}", a.addr, a.prefix_len)
                        })
                },
                value: "10.0.0.2/32",
                default: "none",
                bad: "fe80::1",
                error: "t.conf:6:9: error: (VI): address family must match VRRP instance [fe80::1] - ignoring",
            },
        ],
    );
}

#[test]
fn virtual_routes_and_rules_syntax() {
    let c = load_isolated(&vrrp(
        "virtual_routes {\n        src 10.0.0.1 192.168.109.0/24 via 192.168.200.254 dev eth1 table 100 metric 5\n        blackhole 192.168.113.1/32 no_track\n    }\n    virtual_rules {\n        from 192.168.2.0/24 table 1 preference 100\n    }",
    ));
    let i = inst(&c.config);
    let r = i.virtual_routes.first().map(|r| {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            r.src, r.dest, r.via, r.dev, r.table, r.metric
        )
    });
    assert_eq!(
        r.as_deref(),
        Some(
            "Some(10.0.0.1) (192.168.109.0, 24) [192.168.200.254] Some(\"eth1\") Some(\"100\") Some(5)"
        )
    );
    assert_eq!(
        i.virtual_routes
            .get(1)
            .and_then(|r| r.route_type.as_deref()),
        Some("blackhole")
    );
    let rule = i
        .virtual_rules
        .first()
        .map(|r| format!("{:?} {:?} {:?}", r.from, r.table, r.preference));
    assert_eq!(
        rule.as_deref(),
        Some("Some((192.168.2.0, 24)) Some(\"1\") Some(100)")
    );
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);

    let bad = load_isolated(&vrrp(
        "virtual_routes {\n        10.1.0.0/16 via 10.0.0.300 dev eth0\n        10.2.0.0/16 via 10.0.0.1\n    }\n    virtual_rules {\n        to 10.0.0./8 table 2\n        from 10.0.0.0/8 table 2\n    }",
    ));
    let d: Vec<String> = bad.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "t.conf:8:25: error: virtual_routes: invalid value '10.0.0.300': expected an IPv4 or IPv6 address - skipping route",
            "t.conf:12:12: error: virtual_rules: invalid value '10.0.0./8': expected an IPv4 or IPv6 address with an optional /prefix - skipping rule",
            "t.conf:13:9: warning: virtual_rules: rule has no preference specified - keepalived assigns one. This is probably not what you want.",
            "t.conf:9:9: warning: Warning - cannot track route 10.2.0.0/16 with no interface specified, not tracking",
        ]
    );
}

fn global(line: &str) -> String {
    format!("global_defs {{\n    {line}\n}}\n")
}

#[test]
fn global_defs_keywords() {
    run_family(
        "global_defs",
        global,
        &[
            Case {
                line: "router_id LVS_1",
                get: |c| format!("{:?}", c.global.router_id),
                value: "Some(\"LVS_1\")",
                default: "None",
                bad: "router_id",
                error: "t.conf:2:5: error: router_id: missing value: expected a router id",
            },
            Case {
                line: "vrrp_version 3",
                get: |c| format!("{}", c.global.vrrp_version),
                value: "3",
                default: "2",
                bad: "vrrp_version 1",
                error: "t.conf:2:18: error: vrrp_version: invalid value '1': expected an integer in 2..=3 - ignoring",
            },
            Case {
                line: "smtp_server 10.0.0.5 2525",
                get: |c| format!("{:?}", c.global.smtp_server),
                value: "Some((\"10.0.0.5\", 2525))",
                default: "None",
                bad: "smtp_server 10.0.0.5 70000",
                error: "t.conf:2:26: error: smtp_server: invalid value '70000': expected a port number in 0..=65535 - ignoring",
            },
            Case {
                line: "smtp_connect_timeout 5",
                get: |c| format!("{:?}", c.global.smtp_connect_timeout),
                value: "5s",
                default: "30s",
                bad: "smtp_connect_timeout 0",
                error: "t.conf:2:26: error: smtp_connect_timeout: invalid value '0': expected a time in seconds in 0.000001..=1000000 - ignoring",
            },
            Case {
                line: "vrrp_mcast_group4 224.0.0.20",
                get: |c| format!("{}", c.global.vrrp_mcast_group4),
                value: "224.0.0.20",
                default: "224.0.0.18",
                bad: "vrrp_mcast_group4 224.0.0",
                error: "t.conf:2:23: error: vrrp_mcast_group4: invalid value '224.0.0': expected an IPv4 or IPv6 address - ignoring",
            },
            Case {
                line: "vrrp_garp_interval 0.001",
                get: |c| format!("{:?}", c.global.vrrp_garp_interval),
                value: "1ms",
                default: "0ns",
                bad: "vrrp_garp_interval 2s",
                error: "t.conf:2:24: error: vrrp_garp_interval: invalid value '2s': expected a time in seconds in 0..=86400 - ignoring",
            },
            Case {
                line: "vrrp_priority -5",
                get: |c| format!("{:?}", c.global.other.get("vrrp_priority")),
                value: "Some([\"-5\"])",
                default: "None",
                bad: "vrrp_priority 20",
                error: "t.conf:2:19: error: vrrp_priority: invalid value '20': expected an integer in -20..=19 - ignoring",
            },
            Case {
                line: "checker_log_all_failures yes",
                get: |c| format!("{:?}", c.global.other.get("checker_log_all_failures")),
                value: "Some([\"yes\"])",
                default: "None",
                bad: "checker_log_all_failures 2",
                error: "t.conf:2:30: error: checker_log_all_failures: invalid value '2': expected one of on|off|true|false|yes|no - ignoring",
            },
        ],
    );
}

#[test]
fn global_defaults_flow_into_instances() {
    let c = load_isolated(
        "global_defs {\n    vrrp_garp_master_delay 2\n    vrrp_strict\n    vrrp_version 3\n}\nvrrp_instance VI {\n    interface eth0\n    virtual_router_id 1\n    garp_master_repeat 2\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
    );
    let i = inst(&c.config);
    assert_eq!(
        (
            i.garp_master_delay.as_secs(),
            i.garp_lower_prio_delay.as_secs(),
            i.garp_master_repeat,
            i.garp_lower_prio_repeat
        ),
        (2, 2, 2, 2)
    );
    assert!(i.strict_mode && !i.accept && i.lower_prio_no_advert);
    assert_eq!(i.version, 3);
}

fn top(line: &str) -> String {
    format!("{line}\n")
}

#[test]
fn vrrp_script_track_file_track_process_and_groups() {
    run_family(
        "vrrp_script",
        |l| format!("vrrp_script chk {{\n    script /bin/true\n    {l}\n}}\n"),
        &[
            Case {
                line: "interval 2.5",
                get: |c| format!("{:?}", c.vrrp_scripts.first().map(|s| s.interval)),
                value: "Some(2.5s)",
                default: "Some(1s)",
                bad: "interval -1",
                error: "t.conf:3:14: error: interval: invalid value '-1': expected a time in seconds in 0.000001..=1000000000 - ignoring",
            },
            Case {
                line: "weight -20 reverse",
                get: |c| {
                    format!(
                        "{:?}",
                        c.vrrp_scripts.first().map(|s| (s.weight, s.weight_reverse))
                    )
                },
                value: "Some((-20, true))",
                default: "Some((0, false))",
                bad: "weight 254",
                error: "t.conf:3:12: error: weight: invalid value '254': expected an integer in -253..=253 - ignoring",
            },
            Case {
                line: "rise 3",
                get: |c| format!("{:?}", c.vrrp_scripts.first().map(|s| (s.rise, s.fall))),
                value: "Some((3, 1))",
                default: "Some((1, 1))",
                bad: "rise 0",
                error: "t.conf:3:10: error: rise: invalid value '0': expected an integer in 1..=4294967295 - ignoring",
            },
        ],
    );
    run_family(
        "track_file",
        |l| format!("track_file tf {{\n    file /tmp/x\n    {l}\n}}\n"),
        &[Case {
            line: "weight -10 reverse",
            get: |c| format!("{:?}", c.track_files.first().map(|t| (t.weight, t.reverse))),
            value: "Some((-10, true))",
            default: "Some((1, false))",
            bad: "weight 255",
            error: "t.conf:3:12: error: weight: invalid value '255': expected an integer in -254..=254 - ignoring",
        }],
    );
    run_family(
        "vrrp_track_process",
        |l| format!("vrrp_track_process p {{\n    process haproxy\n    {l}\n}}\n"),
        &[Case {
            line: "quorum 2",
            get: |c| format!("{:?}", c.track_processes.first().map(|t| t.quorum)),
            value: "Some(2)",
            default: "Some(1)",
            bad: "quorum 0",
            error: "t.conf:3:12: error: quorum: invalid value '0': expected an integer in 1..=65535 - ignoring",
        }],
    );
    run_family(
        "garp_group",
        |l| format!("garp_group {{\n    interface eth0\n    {l}\n}}\n"),
        &[Case {
            line: "garp_interval 0.5",
            get: |c| format!("{:?}", c.garp_groups.first().and_then(|g| g.garp_interval)),
            value: "Some(500ms)",
            default: "None",
            bad: "garp_interval -1",
            error: "t.conf:3:19: error: garp_interval: invalid value '-1': expected a time in seconds in 0..=86400 - ignoring",
        }],
    );
    run_family(
        "bfd_instance",
        |l| format!("bfd_instance b {{\n    neighbor_ip 10.0.0.2\n    {l}\n}}\n"),
        &[Case {
            line: "multiplier 3",
            get: |c| format!("{:?}", c.bfd_instances.first().map(|b| b.multiplier)),
            value: "Some(3)",
            default: "Some(5)",
            bad: "multiplier 256",
            error: "t.conf:3:5: error: Configuration error: BFD instance b multiplier value 256 not valid (must be in range [1-255]), ignoring",
        }],
    );
    run_family(
        "static_ipaddress",
        top,
        &[Case {
            line: "static_ipaddress {\n    192.168.200.16/24 dev eth0 scope link\n}",
            get: |c| {
                format!(
                    "{:?}",
                    c.static_ipaddress
                        .first()
                        .map(|a| (a.prefix_len, a.dev.clone()))
                )
            },
            value: "Some((24, Some(\"eth0\")))",
            default: "None",
            bad: "static_ipaddress {\n    192.168.200.16/24 scope galaxy\n}",
            error: "t.conf:2:29: error: static_ipaddress: invalid value 'galaxy': expected host|link|site|global|nowhere or 0..=255 - skipping address",
        }],
    );
    run_family(
        "static_routes",
        top,
        &[Case {
            line: "static_routes {\n    192.168.210.0/24 via 192.168.200.254 dev eth0\n}",
            get: |c| {
                format!(
                    "{:?}",
                    c.static_routes.first().map(|r| (r.dest, r.via.clone()))
                )
            },
            value: "Some(((192.168.210.0, 24), [192.168.200.254]))",
            default: "None",
            bad: "static_routes {\n    192.168.210.0/33 dev eth0\n}",
            error: "t.conf:2:5: error: static_routes: invalid value '192.168.210.0/33': expected an IPv4 or IPv6 address with an optional /prefix - skipping route",
        }],
    );
    run_family(
        "static_rules",
        top,
        &[Case {
            line: "static_rules {\n    from 10.0.0.0/8 table 5 priority 7\n}",
            get: |c| {
                format!(
                    "{:?}",
                    c.static_rules.first().map(|r| (r.from, r.preference))
                )
            },
            value: "Some((Some((10.0.0.0, 8)), Some(7)))",
            default: "None",
            bad: "static_rules {\n    from 10.0.0.0/8 table 5 priority x\n}",
            error: "t.conf:2:38: error: static_rules: invalid value 'x': expected an integer in 0..=4294967295 - skipping rule",
        }],
    );
}

#[test]
fn sync_group_members_and_unknown_references() {
    let text = format!(
        "{}vrrp_sync_group G {{\n    group {{\n        VI\n        NOPE\n    }}\n}}\n",
        vrrp("track_script {\n        missing\n    }")
    );
    let c = load_isolated(&text);
    assert_eq!(c.config.sync_groups.first().map(|g| g.group.len()), Some(1));
    assert!(inst(&c.config).tracking.scripts.is_empty());
    let d: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "t.conf:8:9: warning: (VI) track script missing not found, ignoring...",
            "warning: vrrp_sync_group G (defined at t.conf:11): \
             Virtual router NOPE specified in sync group G doesn't exist - ignoring",
            "warning: vrrp_sync_group G (defined at t.conf:11): \
             Sync group G has only 1 virtual router(s) - this probably isn't what you want",
        ]
    );
}

fn vs(line: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n    lvs_sched wlc\n    lvs_method NAT\n    protocol TCP\n    {line}\n    real_server 10.0.1.1 80 {{\n        weight 3\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n}}\n"
    )
}

fn vs0(c: &Config) -> &kad::config::VirtualServer {
    c.virtual_servers
        .first()
        .unwrap_or_else(|| panic!("no virtual_server in {c:?}"))
}

#[test]
fn virtual_server_keywords() {
    run_family(
        "virtual_server",
        vs,
        &[
            Case {
                line: "lb_algo rr",
                get: |c| vs0(c).lvs_sched.clone(),
                value: "rr",
                default: "wlc",
                bad: "lb_algo fastest",
                error: "t.conf:5:13: error: lb_algo: invalid value 'fastest': expected one of rr|wrr|lc|wlc|lblc|sh|mh|dh|fo|ovf|lblcr|sed|nq|twos - ignoring",
            },
            Case {
                line: "lvs_method TUN type gue port 6080 csum",
                get: |c| format!("{:?}", vs0(c).lvs_method),
                value: "Tun { tunnel: \"gue\", port: Some(6080), csum: Some(\"csum\") }",
                default: "Nat",
                bad: "lb_kind TUNNEL",
                error: "t.conf:5:13: error: lb_kind: invalid value 'TUNNEL': expected NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum] - ignoring",
            },
            Case {
                line: "persistence_timeout 50",
                get: |c| format!("{:?}", vs0(c).persistence_timeout),
                value: "Some(50)",
                default: "None",
                bad: "persistence_timeout 0",
                error: "t.conf:5:25: error: persistence_timeout: invalid value '0': expected an integer in 1..=4294967295 - ignoring",
            },
            Case {
                line: "protocol UDP",
                get: |c| vs0(c).protocol.clone(),
                value: "UDP",
                default: "TCP",
                bad: "protocol ICMP",
                error: "t.conf:5:14: error: protocol: invalid value 'ICMP': expected TCP, UDP or SCTP - ignoring",
            },
            Case {
                line: "quorum 3",
                get: |c| format!("{}/{}", vs0(c).quorum, vs0(c).hysteresis),
                value: "3/0",
                default: "1/0",
                bad: "quorum x",
                error: "t.conf:5:12: error: quorum: invalid value 'x': expected an integer in 1..=4294967295 - ignoring",
            },
            Case {
                line: "delay_loop 6.5",
                get: |c| format!("{:?}", vs0(c).delay_loop),
                value: "6.5s",
                default: "60s",
                bad: "delay_loop 0",
                error: "t.conf:5:16: error: delay_loop: invalid value '0': expected a time in seconds in 0.000001..=1000000000 - ignoring",
            },
            Case {
                line: "sorry_server 10.0.2.1 8080",
                get: |c| format!("{:?}", vs0(c).sorry_server),
                value: "Some((10.0.2.1, Some(8080)))",
                default: "None",
                bad: "sorry_server 10.0.2 8080",
                error: "t.conf:5:18: error: sorry_server: invalid value '10.0.2': expected an IPv4 or IPv6 address - ignoring",
            },
        ],
    );
}

fn rs(line: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n    lvs_sched wlc\n    lvs_method NAT\n    protocol TCP\n    real_server 10.0.1.1 80 {{\n        {line}\n    }}\n}}\n"
    )
}

fn rs0(c: &Config) -> &kad::config::RealServer {
    vs0(c)
        .real_servers
        .first()
        .unwrap_or_else(|| panic!("no real_server in {c:?}"))
}

#[test]
fn real_server_and_checker_keywords() {
    run_family(
        "real_server",
        rs,
        &[
            Case {
                line: "weight 3",
                get: |c| format!("{}", rs0(c).weight),
                value: "3",
                default: "1",
                bad: "weight -1",
                error: "t.conf:6:16: error: weight: invalid value '-1': expected an integer in 0..=2147483647 - ignoring",
            },
            Case {
                line: "TCP_CHECK {\n            connect_port 8080\n            connect_timeout 2.5\n        }",
                get: |c| {
                    format!(
                        "{:?}",
                        rs0(c)
                            .checkers
                            .first()
                            .and_then(|k| k.connect_port.zip(k.timing.connect_timeout))
                    )
                },
                value: "Some((8080, 2.5s))",
                default: "None",
                bad: "TCP_CHECK {\n            connect_port 80800\n        }",
                error: "t.conf:7:26: error: connect_port: invalid value '80800': expected a port number in 0..=65535 - ignoring",
            },
            Case {
                line: "HTTP_GET {\n            url {\n                path /index.html\n                digest 9b3a0c85a887a256d6939da88aabd8cd\n                status_code 200-299 404\n            }\n        }",
                get: |c| {
                    format!(
                        "{:?}",
                        rs0(c)
                            .checkers
                            .first()
                            .and_then(|k| k.urls.first())
                            .and_then(|u| u.digest.as_ref().map(|d| (&u.path, d, &u.status_code)))
                    )
                },
                value: "Some((Some(\"/index.html\"), \"9b3a0c85a887a256d6939da88aabd8cd\", [(200, 299), (404, 404)]))",
                default: "None",
                bad: "SSL_GET {\n            url {\n                path /\n                digest xyz\n            }\n        }",
                error: "t.conf:9:24: error: digest: invalid value 'xyz': expected an MD5 digest of 32 hex digits - ignoring",
            },
            Case {
                line: "MISC_CHECK {\n            misc_path \"/usr/local/bin/check.sh 10.0.1.1\"\n            misc_timeout 5\n        }",
                get: |c| {
                    format!(
                        "{:?}",
                        rs0(c)
                            .checkers
                            .first()
                            .map(|k| (k.misc_path.as_ref().map(|s| &s.command), k.misc_timeout))
                    )
                },
                value: "Some((Some(\"/usr/local/bin/check.sh 10.0.1.1\"), Some(5s)))",
                default: "None",
                bad: "MISC_CHECK {\n            misc_timeout 5\n        }",
                error: "t.conf:8:9: error: MISC_CHECK: misc_path is required - checker ignored",
            },
            Case {
                line: "DNS_CHECK {\n            type AAAA\n            name example.com\n            retry 2\n        }",
                get: |c| {
                    format!(
                        "{:?}",
                        rs0(c)
                            .checkers
                            .first()
                            .and_then(|k| k.timing.retry.map(|r| (k.other.get("type"), r)))
                    )
                },
                value: "Some((Some([\"AAAA\"]), 2))",
                default: "None",
                bad: "DNS_CHECK {\n            retry many\n        }",
                error: "t.conf:7:19: error: retry: invalid value 'many': expected an integer in 0..=4294967295 - ignoring",
            },
        ],
    );
}

#[test]
fn virtual_server_groups_and_forms() {
    let c = load_isolated(
        "virtual_server_group G {\n    10.0.0.1-20 80\n    fwmark 7 inet6\n}\nvirtual_server group G {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    persistence_timeout\n    real_server 10.1.0.1 80 {\n    }\n}\nvirtual_server fwmark 3 {\n    lb_algo rr\n    lb_kind DR\n    sorry_server 10.1.0.9 80\n}\n",
    );
    let g = c
        .config
        .virtual_server_groups
        .first()
        .map(|g| g.entries.len());
    assert_eq!(g, Some(2));
    assert_eq!(
        c.config
            .virtual_servers
            .first()
            .map(|v| (&v.address, v.persistence_timeout)),
        Some((&VsAddress::Group("G".into()), Some(360)))
    );
    assert_eq!(
        c.config.virtual_servers.get(1).map(|v| &v.address),
        Some(&VsAddress::Fwmark(3))
    );
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let bad = load_isolated(
        "virtual_server group NOPE {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    real_server 10.1.0.1 80 {\n    }\n}\n",
    );
    let d: Vec<String> = bad.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "t.conf:1:1: error: Virtual server group NOPE specified but not configured - ignoring virtual server"
        ]
    );
}

#[test]
fn ssl_block() {
    let c = load_isolated(
        "SSL {\n    password pw\n    ca /etc/ca.pem\n    certificate /etc/c.pem\n    key /etc/k.pem\n    cipher x\n}\n",
    );
    let ssl = c
        .config
        .ssl
        .as_ref()
        .map(|s| (s.ca.as_deref(), s.key.as_deref()));
    assert_eq!(ssl, Some((Some("/etc/ca.pem"), Some("/etc/k.pem"))));
    let d: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "t.conf:2:5: note: password: parsed, but kad does not act on it: encrypted keys are not supported; the key file must be unencrypted",
            "t.conf:6:5: warning: Unknown keyword 'cipher'"
        ]
    );
}

#[test]
fn cross_block_validation() {
    let two = format!("{}{}", vrrp(""), vrrp("").replace("VI {", "VJ {"));
    let c = load_isolated(&two);
    let d: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "error: vrrp_instance VJ (defined at t.conf:9): \
             VI and VJ both use VRID 1 with IPv4 on interface eth0"
        ]
    );
    let dup = load_isolated(&format!("{}{}", vrrp(""), vrrp("")));
    let d: Vec<String> = dup.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec!["t.conf:9:1: error: vrrp instance VI already defined"]
    );
    let v2 = load_isolated(&vrrp("advert_int 0.5"));
    let d: Vec<String> = v2.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "warning: vrrp_instance VI (defined at t.conf:1): \
             VRRPv2 advertisement interval 0.500000s must be an integer. rounding"
        ]
    );
    assert_eq!(inst(&v2.config).advert_int.as_secs(), 1);
    let v3 = load_isolated(&vrrp("advert_int 0.5\n    version 3"));
    assert!(v3.diagnostics.is_empty(), "{:?}", v3.diagnostics);
    let novrid = load_isolated(
        "vrrp_instance X {\n    interface eth0\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n",
    );
    let d: Vec<String> = novrid.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec!["error: vrrp_instance X (defined at t.conf:1): the virtual router id must be set"]
    );
    assert!(novrid.config.vrrp_instances.is_empty());
}

#[test]
fn unknown_keywords_warn_and_the_rest_loads() {
    let c = load_isolated(&vrrp("frobnicate 3\n    priority 200"));
    let d: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(d, vec!["t.conf:7:5: warning: Unknown keyword 'frobnicate'"]);
    assert_eq!(inst(&c.config).priority, 200);
    assert_eq!(c.exit_status(), kad::config::exit::ERRORS);
}

#[test]
fn every_value_keeps_its_place() {
    let c = load_isolated(&vrrp("priority 150"));
    let i = inst(&c.config);
    assert_eq!(
        i.places.get("priority").map(ToString::to_string).as_deref(),
        Some("t.conf:7:14")
    );
    assert_eq!(
        i.places
            .get("interface")
            .map(ToString::to_string)
            .as_deref(),
        Some("t.conf:2:15")
    );
    assert_eq!(
        i.virtual_ipaddress
            .first()
            .map(|a| a.place.to_string())
            .as_deref(),
        Some("t.conf:5:9")
    );
}

#[test]
fn virtual_server_defaults_warn_like_keepalived() {
    let c =
        load_isolated("virtual_server 10.0.0.1 80 {\n    real_server 10.0.1.1 80 {\n    }\n}\n");
    let v = vs0(&c.config);
    assert_eq!(
        (v.lvs_sched.as_str(), &v.lvs_method, v.protocol.as_str()),
        ("wlc", &kad::config::LvsMethod::Nat, "UDP")
    );
    let d: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        d,
        vec![
            "warning: virtual_server (defined at t.conf:1): \
             Virtual server [10.0.0.1]:80: no protocol set - defaulting to UDP",
            "warning: virtual_server (defined at t.conf:1): \
             Virtual server [10.0.0.1]:80: no scheduler set, setting default 'wlc'",
            "warning: virtual_server (defined at t.conf:1): \
             Virtual server [10.0.0.1]:80: no forwarding method set, setting default NAT",
        ]
    );
}
