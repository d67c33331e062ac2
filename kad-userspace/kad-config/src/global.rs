//! The keyword table of global_defs: typed rows for what kad acts on, and a spec table
//! that parses and checks every other keepalived.conf(5) global keyword.

use super::{
    error::Severity,
    keywords::{
        Ctx, HasPlaces, Keyword, Status, kw, parse_bool, parse_int, parse_ip, parse_timer, partial,
        script,
    },
    model::GlobalDefs,
    place::Places,
    tree::Node,
    vrrp::{NO_ADVERT_ADDRESS_CHECK, garp_extra_if},
};

impl HasPlaces for GlobalDefs {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// keepalived.conf `vrrp_mcast_group4` / `vrrp_mcast_group6`: an address of the keyword's
/// family that is multicast, else an error and the default kept (keepalived: "is not IPv4",
/// "is not multicast". Skipping).
fn mcast_group(node: &Node, c: &mut Ctx, ipv6: bool) -> Option<std::net::IpAddr> {
    let ip = c.ip(node, 0)?;
    if ip.is_ipv6() == ipv6 && ip.is_multicast() {
        return Some(ip);
    }
    if let Some(word) = node.arg(0) {
        let expected = if ipv6 {
            "an IPv6 multicast address"
        } else {
            "an IPv4 multicast address"
        };
        c.bad(
            node,
            word,
            &super::error::ValueError::new(word.as_str(), expected),
        );
    }
    None
}

/// Typed global_defs keywords (keepalived.conf(5) "Global definitions").
pub const GLOBAL: &[Keyword<GlobalDefs>] = &[
    kw("router_id", |g, n, c| {
        g.router_id = c.string(n, 0, "a router id")
    }),
    kw("notification_email", |g, n, c| {
        let emails = c.list(n);
        if emails.is_empty() && n.block.is_some() {
            // keepalived warns at the block's closing line.
            c.report(
                Severity::Warning,
                n.end_place(),
                "Warning - empty notification_email block",
            );
        }
        g.notification_email
            .extend(emails.into_iter().map(|w| w.text));
    }),
    kw("notification_email_from", |g, n, c| {
        g.notification_email_from = c.string(n, 0, "an email address");
    }),
    kw("smtp_server", |g, n, c| {
        let Some(host) = c.string(n, 0, "an address or host name") else {
            return;
        };
        let port = match n.arg(1) {
            Some(_) => match c.value(n, 1, "a port number", super::keywords::parse_port) {
                Some(p) => p,
                None => return,
            },
            None => 25,
        };
        g.smtp_server = Some((host, port));
    }),
    kw("smtp_helo_name", |g, n, c| {
        g.smtp_helo_name = c.string(n, 0, "a host name")
    }),
    kw("smtp_connect_timeout", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.000_001, 1e6) {
            g.smtp_connect_timeout = v;
        }
    }),
    kw("smtp_alert", |g, n, c| g.smtp_alert = c.flag(n, 0)),
    kw("smtp_alert_vrrp", |g, n, c| {
        g.smtp_alert_vrrp = c.flag(n, 0)
    }),
    kw("smtp_alert_checker", |g, n, c| {
        g.smtp_alert_checker = c.flag(n, 0)
    }),
    kw("vrrp_mcast_group4", |g, n, c| {
        if let Some(ip) = mcast_group(n, c, false) {
            g.vrrp_mcast_group4 = ip;
        }
    }),
    kw("vrrp_mcast_group6", |g, n, c| {
        if let Some(ip) = mcast_group(n, c, true) {
            g.vrrp_mcast_group6 = ip;
        }
    }),
    kw("default_interface", |g, n, c| {
        g.default_interface = c.string(n, 0, "an interface name")
    }),
    kw("vrrp_garp_master_delay", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            g.vrrp_garp_master_delay = v;
        }
    }),
    kw("vrrp_garp_master_repeat", |g, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            g.vrrp_garp_master_repeat = u32_of(v);
        }
    }),
    kw("vrrp_garp_lower_prio_delay", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            g.vrrp_garp_lower_prio_delay = v;
        }
    }),
    kw("vrrp_garp_lower_prio_repeat", |g, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            g.vrrp_garp_lower_prio_repeat = u32_of(v);
        }
    }),
    kw("vrrp_garp_master_refresh", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            g.vrrp_garp_master_refresh = v;
        }
    }),
    kw("vrrp_garp_master_refresh_repeat", |g, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            g.vrrp_garp_master_refresh_repeat = u32_of(v);
        }
    }),
    kw("vrrp_garp_interval", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            zero_refused_by_keepalived(c, n, v);
            g.vrrp_garp_interval = v;
        }
    }),
    kw("vrrp_gna_interval", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            zero_refused_by_keepalived(c, n, v);
            g.vrrp_gna_interval = v;
        }
    }),
    // keepalived: one gratuitous ARP/NA on becoming Master, no second burst, no refresh —
    // for the settings still at their default when the keyword is read (later ones win).
    kw("vrrp_min_garp", |g, n, c| {
        if let Some(v) = c.flag(n, 0) {
            g.vrrp_min_garp = v;
            if v {
                min_garp(g);
            }
        }
    }),
    kw("vrrp_garp_extra_if", |g, n, c| {
        g.vrrp_garp_extra_if = garp_extra_if(c, n)
    }),
    kw("vrrp_down_timer_adverts", |g, n, c| {
        if let Some(v) = c.int(n, 0, 1, 100) {
            g.vrrp_down_timer_adverts = u32_of(v);
        }
    }),
    kw("vrrp_lower_prio_no_advert", |g, n, c| {
        g.vrrp_lower_prio_no_advert = c.flag(n, 0)
    }),
    kw("vrrp_higher_prio_send_advert", |g, n, c| {
        g.vrrp_higher_prio_send_advert = c.flag(n, 0);
    }),
    kw("vrrp_version", |g, n, c| {
        if let Some(v) = c.int(n, 0, 2, 3) {
            g.vrrp_version = u8::try_from(v).unwrap_or(2);
        }
    }),
    kw("vrrp_strict", |g, _, _| g.vrrp_strict = true),
    kw("vrrp_check_unicast_src", |g, _, _| {
        g.vrrp_check_unicast_src = true
    }),
    partial(
        NO_ADVERT_ADDRESS_CHECK,
        kw("vrrp_skip_check_adv_addr", |g, _, _| {
            g.vrrp_skip_check_adv_addr = true
        }),
    ),
    kw("vrrp_notify_priority_changes", |g, n, c| {
        g.vrrp_notify_priority_changes = c.flag(n, 0);
    }),
    kw("vrrp_startup_delay", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 1e6) {
            g.vrrp_startup_delay = v;
        }
    }),
    kw("enable_script_security", |g, _, _| {
        g.enable_script_security = true
    }),
    kw("script_user", |g, n, c| {
        g.script_user = c
            .string(n, 0, "a user name")
            .map(|u| (u, n.arg(1).map(|w| w.text.clone())));
    }),
    kw("vrrp_track_process_fork_delay", |g, n, c| {
        g.vrrp_track_process_fork_delay = c.timer(n, 0, 0.0, 1e6)
    }),
    kw("vrrp_track_process_terminate_delay", |g, n, c| {
        g.vrrp_track_process_terminate_delay = c.timer(n, 0, 0.0, 1e6)
    }),
    partial(
        "an instance whose interface is missing at start is left out until the interface \
         comes up, then kad reloads its configuration as on SIGHUP (keepalived shows it in \
         FAULT meanwhile); kad always follows a re-created interface, as with allow_if_changes",
        kw("dynamic_interfaces", |g, n, _| {
            g.dynamic_interfaces = Some(n.arg(0).is_some_and(|w| w.as_str() == "allow_if_changes"));
        }),
    ),
    kw("lvs_sync_daemon", |g, n, c| {
        if c.need(n, 0, "an interface name").is_some() {
            g.lvs_sync_daemon = Some(n.args.iter().map(|w| w.text.clone()).collect());
        }
    }),
    kw("startup_script", |g, n, c| {
        g.startup_script = script(c, n, 0)
    }),
    kw("startup_script_timeout", |g, n, c| {
        if let Some(v) = c.int(n, 0, 1, 1000) {
            g.startup_script_timeout = std::time::Duration::from_secs(u64::from(u32_of(v)));
        }
    }),
    kw("shutdown_script", |g, n, c| {
        g.shutdown_script = script(c, n, 0)
    }),
    kw("shutdown_script_timeout", |g, n, c| {
        if let Some(v) = c.int(n, 0, 1, 1000) {
            g.shutdown_script_timeout = std::time::Duration::from_secs(u64::from(u32_of(v)));
        }
    }),
    kw("umask", |g, n, c| {
        let words: Vec<&str> = n.args.iter().map(|w| w.text.as_str()).collect();
        match parse_umask(&words) {
            Ok(mask) => g.umask = Some(mask),
            Err(err) => match n.arg(0) {
                Some(word) => c.bad(n, word, &err),
                None => {
                    c.need(n, 0, "a umask");
                }
            },
        }
    }),
    kw("notify_fifo", fifo),
    kw("notify_fifo_script", fifo),
    kw("vrrp_notify_fifo", fifo),
    kw("vrrp_notify_fifo_script", fifo),
    kw("lvs_notify_fifo", fifo),
    kw("lvs_notify_fifo_script", fifo),
];

/// The process umask when the configuration sets none: what kad creates is its own
/// (keepalived's is 0177, which would also make directories unsearchable).
pub const DEFAULT_UMASK: u32 = 0o077;

/// keepalived.conf `umask`: a number as C's `strtol(…, 0)` reads it (`0027` octal, `0x17`
/// hex, `23` decimal), or permission bits `IRUSR IWUSR IXUSR IRGRP IWGRP IXGRP IROTH IWOTH
/// IXOTH` joined by `|` (spaces allowed around it), as keepalived 2.2.7 parses it.
pub fn parse_umask(words: &[&str]) -> Result<u32, super::error::ValueError> {
    use super::error::ValueError;
    let all = words.join(" ");
    let first = words.first().copied().unwrap_or("");
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        let number = if words.len() != 1 {
            None
        } else if let Some(hex) = first
            .strip_prefix("0x")
            .or_else(|| first.strip_prefix("0X"))
        {
            u32::from_str_radix(hex, 16).ok()
        } else if first.len() > 1 && first.starts_with('0') {
            u32::from_str_radix(&first[1..], 8).ok()
        } else {
            first.parse::<u32>().ok()
        };
        return number
            .filter(|mask| mask & !0o777 == 0)
            .ok_or_else(|| ValueError::new(&all, "a umask in 0..=0777"));
    }
    const BITS: [(&str, u32); 9] = [
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let expected = "a number or bits such as IWGRP|IWOTH";
    let mut mask = 0;
    let mut need_or = false;
    for word in words {
        let mut rest = *word;
        while !rest.is_empty() {
            if need_or {
                rest = rest
                    .strip_prefix('|')
                    .ok_or_else(|| ValueError::new(&all, expected))?;
                need_or = false;
                continue;
            }
            let (name, bit) = BITS
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .ok_or_else(|| ValueError::new(&all, expected))?;
            mask |= bit;
            rest = &rest[name.len()..];
            need_or = true;
        }
    }
    if !need_or {
        return Err(ValueError::new(&all, expected));
    }
    Ok(mask)
}

fn fifo(g: &mut GlobalDefs, n: &Node, c: &mut Ctx) {
    if let Some(s) = script(c, n, 0) {
        g.fifos.insert(n.keyword().to_owned(), s);
    }
}

/// How a generic global keyword's arguments are checked.
#[derive(Clone, Copy, Debug)]
pub enum Spec {
    /// No argument.
    Flag,
    /// `[<BOOL>]`.
    OptBool,
    /// Exactly one word.
    One,
    /// Zero or one word.
    OptOne,
    /// One or more words.
    Some,
    /// Any words (including none).
    Any,
    /// An integer in range.
    Int(i64, i64),
    /// An optional integer in range.
    OptInt(i64, i64),
    /// A `<TIMER>` in range.
    Timer(f64, f64),
    /// An IP address.
    Ip,
    /// A `{ ... }` list.
    List,
}

/// Why the SNMP keywords are ignored.
const SNMP: Status = Status::Ignored("SNMP (AgentX) is not implemented");
/// Why the DBus keywords are ignored.
const DBUS: Status = Status::Ignored("DBus is not implemented");
/// Why the firewall keywords are ignored.
const FIREWALL: Status = Status::Ignored(
    "kad sets no nftables/iptables/ipsets rules; its XDP program drops traffic to virtual addresses under no_accept / vrrp_strict instead",
);
/// The VRRP process's scheduling keywords: applied to the kad process (kad-userspace's
/// `sched`) when it runs VRRP.
const SCHED: Status = Status::Supported;
/// The checker process's scheduling keywords.
const SCHED_CHECKER: Status = Status::Partial(
    "applied only when kad runs no VRRP (`-C`, or virtual servers without vrrp_instance); beside VRRP the one process takes the vrrp_* values",
);
/// The BFD process's scheduling keywords: applied to kad's BFD thread (kad-userspace's
/// `sched::ThreadScheduling`).
const SCHED_BFD: Status = Status::Supported;
/// `bfd_rlimit_rttime`: RLIMIT_RTTIME is a process limit in kad's one process.
const SCHED_BFD_RTTIME: Status = Status::Ignored(
    "RLIMIT_RTTIME is a process limit and kad is one process; the BFD thread blocks in ppoll between packets",
);
/// Why the netlink buffer keywords are ignored.
const BUFS: Status = Status::Ignored("kad sizes its own netlink and receive buffers");
/// Why the process name keywords are ignored.
const ONE_PROCESS: Status =
    Status::Ignored("kad is one process (no VRRP/checker/BFD children to name)");
/// Why net_namespace is ignored.
const NETNS: Status = Status::Ignored(
    "kad runs in the namespace it is started in (start it with `ip netns exec NAME`); `kad -t` then skips interface checks (scripts are still checked for safety; a missing one is kept, as keepalived -t keeps it)",
);
/// Why the reload keywords are ignored.
const RELOAD: Status = Status::Ignored(
    "on SIGHUP kad re-reads and checks the configuration itself and keeps the running one when the new one cannot run",
);
/// Why `linkbeat_use_polling` (top level and `vrrp_instance`) and `linkbeat_interfaces` are
/// ignored: keepalived 2.2.7 polls such an interface's link once a second (MII BMSR, else
/// ETHTOOL_GLINK, else SIOCGIFFLAGS) and ignores netlink's link messages for it.
pub const LINKBEAT: &str = "kad follows links through netlink (keepalived would poll the link once a second through MII, ETHTOOL_GLINK or SIOCGIFFLAGS instead, for NICs that do not report link changes by netlink)";

/// Every other global_defs keyword of keepalived.conf(5), with how its value is checked
/// and what kad does with it; their words are kept in `GlobalDefs::other`.
pub const GENERIC: &[(&str, Spec, Status)] = &[
    ("tmp_config_directory", Spec::One, RELOAD),
    ("config_save_dir", Spec::One, RELOAD),
    ("process_names", Spec::Flag, ONE_PROCESS),
    ("process_name", Spec::One, ONE_PROCESS),
    ("vrrp_process_name", Spec::One, ONE_PROCESS),
    ("checker_process_name", Spec::One, ONE_PROCESS),
    ("bfd_process_name", Spec::One, ONE_PROCESS),
    ("checker_log_all_failures", Spec::OptBool, Status::Supported),
    ("no_email_faults", Spec::Flag, Status::Supported),
    ("lvs_timeouts", Spec::Some, Status::Supported),
    ("lvs_flush", Spec::Flag, Status::Supported),
    ("lvs_flush_on_stop", Spec::OptOne, Status::Supported),
    ("nftables", Spec::OptOne, FIREWALL),
    (
        "nftables_priority",
        Spec::Int(i32::MIN as i64, i32::MAX as i64),
        FIREWALL,
    ),
    ("nftables_counters", Spec::Flag, FIREWALL),
    ("nftables_ifindex", Spec::Flag, FIREWALL),
    ("nftables_ipvs", Spec::OptOne, FIREWALL),
    (
        "nftables_ipvs_priority",
        Spec::Int(i32::MIN as i64, i32::MAX as i64),
        FIREWALL,
    ),
    (
        "nftables_ipvs_start_fwmark",
        Spec::Int(0, u32::MAX as i64),
        FIREWALL,
    ),
    ("vrrp_iptables", Spec::Any, FIREWALL),
    ("disable_local_igmp", Spec::Flag, Status::Supported),
    ("min_auto_priority_delay", Spec::Int(1, 10_000_000), SCHED),
    ("vrrp_priority", Spec::Int(-20, 19), SCHED),
    ("checker_priority", Spec::Int(-20, 19), SCHED_CHECKER),
    ("bfd_priority", Spec::Int(-20, 19), SCHED_BFD),
    ("vrrp_no_swap", Spec::Flag, SCHED),
    ("checker_no_swap", Spec::Flag, SCHED_CHECKER),
    ("bfd_no_swap", Spec::Flag, SCHED_BFD),
    ("vrrp_cpu_affinity", Spec::Some, SCHED),
    ("checker_cpu_affinity", Spec::Some, SCHED_CHECKER),
    ("bfd_cpu_affinity", Spec::Some, SCHED_BFD),
    ("vrrp_rt_priority", Spec::Int(1, 99), SCHED),
    ("checker_rt_priority", Spec::Int(1, 99), SCHED_CHECKER),
    ("bfd_rt_priority", Spec::Int(1, 99), SCHED_BFD),
    ("vrrp_rlimit_rttime", Spec::Int(1, u32::MAX as i64), SCHED),
    (
        "checker_rlimit_rttime",
        Spec::Int(1, u32::MAX as i64),
        SCHED_CHECKER,
    ),
    (
        "bfd_rlimit_rttime",
        Spec::Int(1, u32::MAX as i64),
        SCHED_BFD_RTTIME,
    ),
    ("vrrp_rlimit_rtime", Spec::Int(1, u32::MAX as i64), SCHED),
    (
        "checker_rlimit_rtime",
        Spec::Int(1, u32::MAX as i64),
        SCHED_CHECKER,
    ),
    (
        "bfd_rlimit_rtime",
        Spec::Int(1, u32::MAX as i64),
        SCHED_BFD_RTTIME,
    ),
    ("snmp_socket", Spec::One, SNMP),
    ("enable_snmp_vrrp", Spec::Flag, SNMP),
    ("enable_snmp_keepalived", Spec::Flag, SNMP),
    ("enable_snmp_checker", Spec::Flag, SNMP),
    ("enable_snmp_rfc", Spec::Flag, SNMP),
    ("enable_snmp_rfcv2", Spec::Flag, SNMP),
    ("enable_snmp_rfcv3", Spec::Flag, SNMP),
    ("enable_traps", Spec::Flag, SNMP),
    ("enable_dbus", Spec::Flag, DBUS),
    ("dbus_service_name", Spec::One, DBUS),
    (
        "fifo_write_vrrp_states_on_reload",
        Spec::Flag,
        Status::Supported,
    ),
    (
        "vrrp_netlink_cmd_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
        BUFS,
    ),
    ("vrrp_netlink_cmd_rcv_bufs_force", Spec::OptBool, BUFS),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
        BUFS,
    ),
    ("vrrp_netlink_monitor_rcv_bufs_force", Spec::OptBool, BUFS),
    (
        "lvs_netlink_cmd_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
        BUFS,
    ),
    ("lvs_netlink_cmd_rcv_bufs_force", Spec::OptBool, BUFS),
    (
        "lvs_netlink_monitor_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
        BUFS,
    ),
    ("lvs_netlink_monitor_rcv_bufs_force", Spec::OptBool, BUFS),
    (
        "process_monitor_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
        BUFS,
    ),
    ("process_monitor_rcv_bufs_force", Spec::OptBool, BUFS),
    ("vrrp_rx_bufs_policy", Spec::Some, BUFS),
    (
        "vrrp_rx_bufs_multiplier",
        Spec::Int(1, u32::MAX as i64),
        BUFS,
    ),
    ("rs_init_notifies", Spec::Flag, Status::Supported),
    ("no_checker_emails", Spec::Flag, Status::Supported),
    ("log_unknown_vrids", Spec::Flag, Status::Supported),
    ("vmac_prefix", Spec::One, Status::Supported),
    ("vmac_addr_prefix", Spec::One, Status::Supported),
    (
        "random_seed",
        Spec::Int(0, u32::MAX as i64),
        Status::Supported,
    ),
    ("reload_check_config", Spec::OptOne, RELOAD),
    ("include_check", Spec::Any, Status::Supported),
    ("reload_time_file", Spec::One, RELOAD),
    ("reload_repeat", Spec::Flag, RELOAD),
    ("reload_file", Spec::OptOne, RELOAD),
    ("data_use_instance", Spec::OptBool, Status::Supported),
    // Without a value keepalived takes the highest SCHED_RR priority (99).
    ("max_auto_priority", Spec::OptInt(-1, 99), SCHED),
    ("lvs_flush_onstop", Spec::OptOne, Status::Supported),
];

/// Global keywords keepalived 2.2.7 reads only outside global_defs (keepalived.conf(5)
/// lists them before the `global_defs` block; inside it they are unknown keywords).
pub const TOP_LEVEL: &[(&str, Spec, Status)] = &[
    ("net_namespace", Spec::One, NETNS),
    ("net_namespace_ipvs", Spec::OptOne, NETNS),
    ("namespace_with_ipsets", Spec::Flag, FIREWALL),
    ("instance", Spec::One, Status::Supported),
    ("use_pid_dir", Spec::Flag, Status::Supported),
    (
        "linkbeat_use_polling",
        Spec::Flag,
        Status::Ignored(LINKBEAT),
    ),
    (
        "child_wait_time",
        Spec::Int(0, u32::MAX as i64),
        ONE_PROCESS,
    ),
];

/// Why keepalived 2.2.7 does not know a global_defs keyword some configurations carry: a
/// note after its "Unknown keyword" warning.
fn unknown_hint(keyword: &str) -> Option<String> {
    if TOP_LEVEL.iter().any(|(k, ..)| *k == keyword) {
        return Some(format!(
            "{keyword}: keepalived 2.2.7 reads it only outside global_defs"
        ));
    }
    let hint = match keyword {
        "script_security" => "did you mean enable_script_security?",
        "lvs_id" => "keepalived 1.x's name of the router; router_id names it now",
        "vrrp_mcast_group" => "the groups are vrrp_mcast_group4 and vrrp_mcast_group6",
        "vrrp_ipsets" => "keepalived 2.2.7 is built without ipsets (Debian's build)",
        "lvs_sync_daemon_interface" => {
            "keepalived 1.x's keyword; lvs_sync_daemon INTERFACE VRRP_INSTANCE replaces it"
        }
        _ => return None,
    };
    Some(format!("{keyword}: {hint}"))
}

/// keepalived.conf: global_defs { ... }.
pub fn global_defs(g: &mut GlobalDefs, node: &Node, ctx: &mut Ctx) {
    for child in node.children() {
        let name = child.keyword();
        if let Some(row) = GLOBAL.iter().find(|k| k.name == name) {
            let place = child
                .arg(0)
                .map_or_else(|| child.place().clone(), |w| w.place.clone());
            g.places.insert(name.to_owned(), place);
            (row.handler)(g, child, ctx);
            ctx.not_acted_on(child, row.status);
        } else if let Some((_, spec, status)) = GENERIC.iter().find(|(k, ..)| *k == name) {
            flagged_by_keepalived(ctx, child);
            if check_spec(ctx, child, *spec) {
                let place = child
                    .arg(0)
                    .map_or_else(|| child.place().clone(), |w| w.place.clone());
                g.places.insert(name.to_owned(), place);
                let mut words: Vec<String> = child.args.iter().map(|w| w.text.clone()).collect();
                words.extend(
                    child
                        .children()
                        .iter()
                        .flat_map(|c| std::iter::once(&c.key).chain(c.args.iter()))
                        .map(|w| w.text.clone()),
                );
                g.other.insert(name.to_owned(), words);
                ctx.not_acted_on(child, *status);
            }
        } else {
            ctx.unknown(child);
            if let Some(hint) = unknown_hint(name) {
                ctx.report(Severity::Note, child.place(), hint);
            }
        }
    }
    if !g.places.contains_key("vrrp_garp_lower_prio_delay") {
        g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
    }
    if !g.places.contains_key("vrrp_garp_lower_prio_repeat") {
        g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
    }
}

/// `vrrp_garp_interval 0` / `vrrp_gna_interval 0`: keepalived.conf(5) gives 0 as the
/// default, but keepalived 2.2.7 refuses it ("outside range [0.000001, 4294.967295]"); kad
/// follows the manual and says so in a note (docs/config-compat.md).
fn zero_refused_by_keepalived(ctx: &mut Ctx, node: &Node, value: std::time::Duration) {
    if value.is_zero() {
        ctx.report(
            Severity::Note,
            node.place(),
            format!(
                "{} 0: accepted (keepalived.conf(5): the default is 0), although keepalived \
                 2.2.7 refuses 0 as outside range [0.000001, 4294.967295]",
                node.keyword()
            ),
        );
    }
}

/// Generic keywords keepalived 2.2.7 (Debian's build: nftables, no iptables or ipsets)
/// flags at their line although kad parses them: a warning there, as keepalived's.
fn flagged_by_keepalived(ctx: &mut Ctx, node: &Node) {
    let message = match node.keyword() {
        "vrrp_iptables" => {
            "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and \
             'vrrp_ipsets' with 'nftables' config option"
        }
        _ => return,
    };
    ctx.report(Severity::Warning, node.place(), message);
}

/// Checks a generic keyword's arguments; false when the value is bad.
pub(crate) fn check_spec(ctx: &mut Ctx, node: &Node, spec: Spec) -> bool {
    let first = node.arg(0);
    let result = match (spec, first) {
        (Spec::Flag, _) | (Spec::Any, _) => Ok(()),
        (Spec::OptBool | Spec::OptInt(..), None) | (Spec::OptOne, _) => Ok(()),
        (Spec::OptBool, Some(w)) => parse_bool(w.as_str()).map(|_| ()),
        (Spec::One | Spec::Some, Some(_)) => Ok(()),
        (Spec::Int(min, max) | Spec::OptInt(min, max), Some(w)) => {
            parse_int(w.as_str(), min, max).map(|_| ())
        }
        (Spec::Timer(min, max), Some(w)) => parse_timer(w.as_str(), min, max).map(|_| ()),
        (Spec::Ip, Some(w)) => parse_ip(w.as_str()).map(|_| ()),
        (Spec::List, _) => {
            if node.block.is_none() {
                ctx.report(
                    Severity::Error,
                    node.place(),
                    format!("{}: expected a '{{' block", node.keyword()),
                );
                return false;
            }
            Ok(())
        }
        (Spec::One | Spec::Some | Spec::Int(..) | Spec::Timer(..) | Spec::Ip, None) => {
            ctx.report(
                Severity::Error,
                node.place(),
                format!("{}: missing value", node.keyword()),
            );
            return false;
        }
    };
    match (result, first) {
        (Ok(()), _) => true,
        (Err(err), Some(word)) => {
            ctx.bad(node, word, &err);
            false
        }
        (Err(_), None) => false,
    }
}

/// keepalived.conf `vrrp_min_garp`: the global GARP settings still at keepalived's defaults
/// take their minimum (repeat 1, delay 0, refresh 0 with repeat 0).
fn min_garp(g: &mut GlobalDefs) {
    let defaults = GlobalDefs::default();
    if g.vrrp_garp_master_repeat == defaults.vrrp_garp_master_repeat {
        g.vrrp_garp_master_repeat = 1;
    }
    if g.vrrp_garp_master_refresh == defaults.vrrp_garp_master_refresh {
        g.vrrp_garp_master_refresh = std::time::Duration::ZERO;
    }
    if g.vrrp_garp_master_refresh_repeat == defaults.vrrp_garp_master_refresh_repeat {
        g.vrrp_garp_master_refresh_repeat = 0;
    }
    if g.vrrp_garp_master_delay == defaults.vrrp_garp_master_delay {
        g.vrrp_garp_master_delay = std::time::Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn umask_reads_numbers_and_bits_like_keepalived() {
        use super::parse_umask;
        assert_eq!(parse_umask(&["0027"]), Ok(0o027));
        assert_eq!(parse_umask(&["0x12"]), Ok(0o022));
        assert_eq!(
            parse_umask(&["18"]),
            Ok(0o022),
            "decimal, as strtol(..., 0)"
        );
        assert_eq!(parse_umask(&["IWGRP|IWOTH"]), Ok(0o022));
        assert_eq!(parse_umask(&["IWGRP", "|", "IWOTH", "|IXOTH"]), Ok(0o023));
        for bad in [
            &["0999"][..],
            &["01000"],
            &["7a"],
            &["IWGRP|"],
            &["|IWGRP"],
            &["IWGRP", "IWOTH"],
            &["FOO"],
            &[],
            &["022", "x"],
        ] {
            assert!(parse_umask(bad).is_err(), "{bad:?}");
        }
    }
}
