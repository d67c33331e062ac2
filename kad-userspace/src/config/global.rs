//! The keyword table of global_defs: typed rows for what kad acts on, and a spec table
//! that parses and checks every other keepalived.conf(5) global keyword.

use super::{
    error::Severity,
    keywords::{
        Ctx, HasPlaces, Keyword, Places, kw, parse_bool, parse_int, parse_ip, parse_timer, script,
    },
    model::GlobalDefs,
    tree::Node,
    vrrp::garp_extra_if,
};

impl HasPlaces for GlobalDefs {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Typed global_defs keywords (keepalived.conf(5) "Global definitions").
pub const GLOBAL: &[Keyword<GlobalDefs>] = &[
    kw("router_id", |g, n, c| {
        g.router_id = c.string(n, 0, "a router id")
    }),
    kw("notification_email", |g, n, c| {
        g.notification_email
            .extend(c.list(n).into_iter().map(|w| w.text));
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
        if let Some(ip) = c.ip(n, 0) {
            g.vrrp_mcast_group4 = ip;
        }
    }),
    kw("vrrp_mcast_group6", |g, n, c| {
        if let Some(ip) = c.ip(n, 0) {
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
            g.vrrp_garp_interval = v;
        }
    }),
    kw("vrrp_gna_interval", |g, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            g.vrrp_gna_interval = v;
        }
    }),
    kw("vrrp_min_garp", |g, n, c| {
        if let Some(v) = c.flag(n, 0) {
            g.vrrp_min_garp = v;
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
    kw("vrrp_skip_check_adv_addr", |g, _, _| {
        g.vrrp_skip_check_adv_addr = true
    }),
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
    kw("dynamic_interfaces", |g, n, _| {
        g.dynamic_interfaces = Some(n.arg(0).is_some_and(|w| w.as_str() == "allow_if_changes"));
    }),
    kw("lvs_sync_daemon", |g, n, c| {
        if c.need(n, 0, "an interface name").is_some() {
            g.lvs_sync_daemon = Some(n.args.iter().map(|w| w.text.clone()).collect());
        }
    }),
    kw("startup_script", |g, n, c| {
        g.startup_script = script(c, n, 0)
    }),
    kw("shutdown_script", |g, n, c| {
        g.shutdown_script = script(c, n, 0)
    }),
    kw("notify_fifo", fifo),
    kw("notify_fifo_script", fifo),
    kw("vrrp_notify_fifo", fifo),
    kw("vrrp_notify_fifo_script", fifo),
    kw("lvs_notify_fifo", fifo),
    kw("lvs_notify_fifo_script", fifo),
];

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
    /// A `<TIMER>` in range.
    Timer(f64, f64),
    /// An IP address.
    Ip,
    /// A `{ ... }` list.
    List,
}

/// Every other global_defs keyword of keepalived.conf(5), with how its value is checked.
/// kad parses these but does not act on them at runtime yet.
pub const GENERIC: &[(&str, Spec)] = &[
    ("tmp_config_directory", Spec::One),
    ("config_save_dir", Spec::One),
    ("process_names", Spec::Flag),
    ("process_name", Spec::One),
    ("vrrp_process_name", Spec::One),
    ("checker_process_name", Spec::One),
    ("bfd_process_name", Spec::One),
    ("checker_log_all_failures", Spec::OptBool),
    ("no_email_faults", Spec::Flag),
    ("lvs_timeouts", Spec::Some),
    ("lvs_flush", Spec::Flag),
    ("lvs_flush_on_stop", Spec::OptOne),
    ("nftables", Spec::OptOne),
    (
        "nftables_priority",
        Spec::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    ("nftables_counters", Spec::Flag),
    ("nftables_ifindex", Spec::Flag),
    ("nftables_ipvs", Spec::OptOne),
    (
        "nftables_ipvs_priority",
        Spec::Int(i32::MIN as i64, i32::MAX as i64),
    ),
    ("nftables_ipvs_start_fwmark", Spec::Int(0, u32::MAX as i64)),
    ("vrrp_iptables", Spec::Any),
    ("vrrp_ipsets", Spec::Any),
    ("disable_local_igmp", Spec::Flag),
    ("min_auto_priority_delay", Spec::Int(0, i64::MAX)),
    ("vrrp_priority", Spec::Int(-20, 19)),
    ("checker_priority", Spec::Int(-20, 19)),
    ("bfd_priority", Spec::Int(-20, 19)),
    ("vrrp_no_swap", Spec::Flag),
    ("checker_no_swap", Spec::Flag),
    ("bfd_no_swap", Spec::Flag),
    ("vrrp_cpu_affinity", Spec::Some),
    ("checker_cpu_affinity", Spec::Some),
    ("bfd_cpu_affinity", Spec::Some),
    ("vrrp_rt_priority", Spec::Int(1, 99)),
    ("checker_rt_priority", Spec::Int(1, 99)),
    ("bfd_rt_priority", Spec::Int(1, 99)),
    ("vrrp_rlimit_rttime", Spec::Int(1, i64::MAX)),
    ("checker_rlimit_rttime", Spec::Int(1, i64::MAX)),
    ("bfd_rlimit_rttime", Spec::Int(1, i64::MAX)),
    ("vrrp_rlimit_rtime", Spec::Int(1, i64::MAX)),
    ("checker_rlimit_rtime", Spec::Int(1, i64::MAX)),
    ("bfd_rlimit_rtime", Spec::Int(1, i64::MAX)),
    ("snmp_socket", Spec::One),
    ("enable_snmp_vrrp", Spec::Flag),
    ("enable_snmp_keepalived", Spec::Flag),
    ("enable_snmp_checker", Spec::Flag),
    ("enable_snmp_rfc", Spec::Flag),
    ("enable_snmp_rfcv2", Spec::Flag),
    ("enable_snmp_rfcv3", Spec::Flag),
    ("enable_traps", Spec::Flag),
    ("enable_dbus", Spec::Flag),
    ("dbus_service_name", Spec::One),
    ("fifo_write_vrrp_states_on_reload", Spec::Flag),
    ("vrrp_netlink_cmd_rcv_bufs", Spec::Int(0, u32::MAX as i64)),
    ("vrrp_netlink_cmd_rcv_bufs_force", Spec::OptBool),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
    ),
    ("vrrp_netlink_monitor_rcv_bufs_force", Spec::OptBool),
    ("lvs_netlink_cmd_rcv_bufs", Spec::Int(0, u32::MAX as i64)),
    ("lvs_netlink_cmd_rcv_bufs_force", Spec::OptBool),
    (
        "lvs_netlink_monitor_rcv_bufs",
        Spec::Int(0, u32::MAX as i64),
    ),
    ("lvs_netlink_monitor_rcv_bufs_force", Spec::OptBool),
    ("process_monitor_rcv_bufs", Spec::Int(0, u32::MAX as i64)),
    ("process_monitor_rcv_bufs_force", Spec::OptBool),
    ("vrrp_rx_bufs_policy", Spec::Some),
    ("vrrp_rx_bufs_multiplier", Spec::Int(1, u32::MAX as i64)),
    ("rs_init_notifies", Spec::Flag),
    ("no_checker_emails", Spec::Flag),
    ("umask", Spec::Some),
    ("log_unknown_vrids", Spec::Flag),
    ("vmac_prefix", Spec::One),
    ("vmac_addr_prefix", Spec::One),
    ("random_seed", Spec::Int(0, u32::MAX as i64)),
    ("reload_check_config", Spec::OptOne),
    ("include_check", Spec::Any),
    ("reload_time_file", Spec::One),
    ("reload_repeat", Spec::Flag),
    ("reload_file", Spec::OptOne),
    ("data_use_instance", Spec::OptBool),
    ("net_namespace", Spec::One),
    ("net_namespace_ipvs", Spec::OptOne),
    ("namespace_with_ipsets", Spec::Flag),
    ("instance", Spec::One),
    ("use_pid_dir", Spec::Flag),
    ("linkbeat_use_polling", Spec::Flag),
    ("vrrp_garp_lower_prio_no_advert", Spec::OptBool),
    ("vrrp_lower_prio_dont_send_advert", Spec::OptBool),
    ("checker_notify_fifo", Spec::Some),
    ("bfd_nice_priority", Spec::Int(-20, 19)),
    ("vrrp_nice_priority", Spec::Int(-20, 19)),
    ("checker_nice_priority", Spec::Int(-20, 19)),
    ("vrrp_socket_priority", Spec::Int(0, 7)),
    ("max_auto_priority", Spec::Int(-1, 99)),
    ("script_security", Spec::Flag),
    ("lvs_id", Spec::One),
    ("lvs_sync_daemon_interface", Spec::One),
    ("vrrp_ipvs_sync_daemon", Spec::Any),
    ("smtp_alert_vrrp_instance", Spec::OptBool),
    ("vrrp_dont_release_vips", Spec::Flag),
    ("no_notify_if_not_running", Spec::Flag),
    ("bfd_rlimit_time", Spec::Int(1, i64::MAX)),
    ("vrrp_startup_delay_allow_zero", Spec::Flag),
    ("lvs_flush_onstop", Spec::OptOne),
    ("checker_process_monitor", Spec::Flag),
    ("snmp_socket_path", Spec::One),
    ("child_wait_time", Spec::Timer(0.0, 1e6)),
    ("vrrp_min_garp_interval", Spec::Timer(0.0, 1.0)),
    ("vrrp_mcast_group", Spec::Ip),
    ("notification_email_list", Spec::List),
];

/// The [`GENERIC`] keywords kad does act on, read from `GlobalDefs::other` by the LVS side
/// (`lvs::settings`).
pub const ACTED_ON: &[&str] = &[
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_timeouts",
];

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
        } else if let Some((_, spec)) = GENERIC.iter().find(|(k, _)| *k == name) {
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
                if !ACTED_ON.contains(&name) {
                    ctx.report(
                        Severity::Note,
                        child.place(),
                        format!("{name}: parsed, but kad does not act on it at runtime yet"),
                    );
                }
            }
        } else {
            ctx.unknown(child);
        }
    }
    if !g.places.contains_key("vrrp_garp_lower_prio_delay") {
        g.vrrp_garp_lower_prio_delay = g.vrrp_garp_master_delay;
    }
    if !g.places.contains_key("vrrp_garp_lower_prio_repeat") {
        g.vrrp_garp_lower_prio_repeat = g.vrrp_garp_master_repeat;
    }
}

/// Checks a generic keyword's arguments; false when the value is bad.
fn check_spec(ctx: &mut Ctx, node: &Node, spec: Spec) -> bool {
    let first = node.arg(0);
    let result = match (spec, first) {
        (Spec::Flag, _) | (Spec::Any, _) => Ok(()),
        (Spec::OptBool, None) | (Spec::OptOne, _) => Ok(()),
        (Spec::OptBool, Some(w)) => parse_bool(w.as_str()).map(|_| ()),
        (Spec::One | Spec::Some, Some(_)) => Ok(()),
        (Spec::Int(min, max), Some(w)) => parse_int(w.as_str(), min, max).map(|_| ()),
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
