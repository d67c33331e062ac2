//! Keywords whose value keepalived 2.2.7 reads without checking that one is there. Written
//! without it, keepalived stops parsing at that line ("*** Configuration line starting `K`
//! is missing a parameter after keyword `K` at word position 2") and exits 2
//! (`KEEPALIVED_EXIT_CONFIG`): what came before is reported, nothing after it is read and
//! nothing is validated. Other keywords without their value are ordinary errors (exit 5).
//!
//! The lists were measured with `keepalived -t` (2.2.7) on every keyword of
//! docs/keywords.md written without a value inside its block.

use super::{
    lvs::CONNECTION,
    place::{Place, Word},
    tree::Node,
};

/// The timing keywords of every checker but FILE_CHECK and BFD_CHECK.
const CHECK_TIMING: &[&str] = &["retry", "delay_before_retry", "warmup", "delay_loop"];

/// Keywords of a block (by the block's keyword; "" is the top level) that stop keepalived
/// when their value is missing, beyond a checker's [`CONNECTION`] and [`CHECK_TIMING`].
const STOPS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "track_file",
            "virtual_server",
            "virtual_server_group",
            "vrrp_script",
            "vrrp_track_file",
            "vrrp_track_process",
        ],
    ),
    (
        "global_defs",
        &[
            "bfd_process_name",
            "bfd_rlimit_rtime",
            "bfd_rlimit_rttime",
            "checker_process_name",
            "checker_rlimit_rtime",
            "checker_rlimit_rttime",
            "config_save_dir",
            "nftables_ipvs_priority",
            "nftables_ipvs_start_fwmark",
            "nftables_priority",
            "process_name",
            "random_seed",
            "smtp_connect_timeout",
            "smtp_server",
            "umask",
            "vmac_addr_prefix",
            "vmac_prefix",
            "vrrp_down_timer_adverts",
            "vrrp_garp_interval",
            "vrrp_garp_lower_prio_delay",
            "vrrp_garp_lower_prio_repeat",
            "vrrp_garp_master_delay",
            "vrrp_garp_master_refresh",
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_master_repeat",
            "vrrp_gna_interval",
            "vrrp_mcast_group4",
            "vrrp_mcast_group6",
            "vrrp_process_name",
            "vrrp_rlimit_rtime",
            "vrrp_rlimit_rttime",
            "vrrp_startup_delay",
            "vrrp_version",
        ],
    ),
    (
        "vrrp_instance",
        &[
            "advert_int",
            "debug",
            "down_timer_adverts",
            "garp_lower_prio_delay",
            "garp_lower_prio_repeat",
            "garp_master_delay",
            "garp_master_refresh",
            "garp_master_refresh_repeat",
            "garp_master_repeat",
            "interface",
            "lvs_sync_daemon_interface",
            "mcast_dst_ip",
            "mcast_src_ip",
            "notify",
            "notify_backup",
            "notify_fault",
            "notify_master",
            "notify_master_rx_lower_pri",
            "notify_stop",
            "preempt_delay",
            "priority",
            "state",
            "unicast_src_ip",
            "unicast_ttl",
            "version",
            "virtual_router_id",
            "vrf",
        ],
    ),
    ("authentication", &["auth_pass", "auth_type"]),
    (
        "vrrp_sync_group",
        &[
            "notify",
            "notify_backup",
            "notify_fault",
            "notify_master",
            "notify_stop",
        ],
    ),
    (
        "vrrp_script",
        &["fall", "interval", "rise", "timeout", "user", "weight"],
    ),
    (
        "vrrp_track_process",
        &[
            "delay",
            "fork_delay",
            "process",
            "quorum",
            "quorum_max",
            "terminate_delay",
        ],
    ),
    (
        "garp_group",
        &["garp_interval", "gna_interval", "interface"],
    ),
    (
        "virtual_server",
        &[
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "hysteresis",
            "ip_family",
            "lb_algo",
            "lb_kind",
            "lvs_method",
            "lvs_sched",
            "persistence_engine",
            "persistence_granularity",
            "protocol",
            "quorum",
            "quorum_down",
            "quorum_up",
            "real_server",
            "retry",
            "sorry_server",
            "warmup",
        ],
    ),
    (
        "real_server",
        &[
            "connect_timeout",
            "delay_before_retry",
            "delay_loop",
            "lthreshold",
            "lvs_method",
            "notify_down",
            "notify_up",
            "retry",
            "uthreshold",
            "warmup",
            "weight",
        ],
    ),
    ("HTTP_GET", &["nb_get_retry"]),
    ("SSL_GET", &["nb_get_retry"]),
    ("DNS_CHECK", &["name", "type"]),
    ("MISC_CHECK", &["misc_timeout"]),
    ("UDP_CHECK", &["max_reply_length", "min_reply_length"]),
    ("FILE_CHECK", &["track_file"]),
    ("url", &["digest", "path"]),
    (
        "bfd_instance",
        &[
            "hoplimit",
            "idle_tx",
            "max_hops",
            "min_rx",
            "min_tx",
            "multiplier",
            "source_ip",
            "ttl",
            "weight",
        ],
    ),
];

/// Whether `keyword` in the block opened by `block` ("" at the top level) stops keepalived
/// when written without a value.
pub fn stops(block: &str, keyword: &str) -> bool {
    let checker = match block {
        "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "DNS_CHECK" | "UDP_CHECK"
        | "PING_CHECK" => CONNECTION.contains(&keyword) || CHECK_TIMING.contains(&keyword),
        "MISC_CHECK" => CHECK_TIMING.contains(&keyword),
        _ => false,
    };
    checker
        || STOPS
            .iter()
            .any(|(b, keywords)| *b == block && keywords.contains(&keyword))
}

/// The pass of `keepalived -t` that reads a top-level block: global_defs first (with the
/// unknown top-level keywords), then the checkers' blocks, then the VRRP ones. A pass
/// reads the whole file and stops at a missing value in a block of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pass {
    /// global_defs and the global keywords allowed at the top level; unknown keywords.
    Global,
    /// virtual_server, virtual_server_group, SSL, track_file.
    Checker,
    /// Everything else (vrrp_*, static_*, garp_group, bfd_instance...).
    Vrrp,
}

/// Where keepalived stops.
#[derive(Clone, Debug)]
pub struct Stop {
    /// The keyword without its value.
    pub key: Word,
    /// The pass that stops there: the later passes never run.
    pub pass: Pass,
}

/// The pass reading the top-level keyword `keyword`; `global` tells the global keywords
/// allowed at the top level (and unknown keywords count as global: the first pass reports
/// them).
pub fn pass_of(keyword: &str, global: impl Fn(&str) -> bool) -> Pass {
    match keyword {
        "virtual_server" | "virtual_server_group" | "SSL" | "track_file" | "vrrp_track_file" => {
            Pass::Checker
        }
        "global_defs" => Pass::Global,
        k if global(k) => Pass::Global,
        _ => Pass::Vrrp,
    }
}

/// Finds the keyword where keepalived would stop, if any, and keeps in `nodes` only what
/// keepalived reads before it exits: the passes before the stopping one read the whole
/// file, the stopping one reads up to the stop (the keyword itself and its block's rest
/// are removed), the later ones do not run. `pass` classifies top-level keywords.
pub fn cut(nodes: &mut Vec<Node>, pass: impl Fn(&str) -> Pass) -> Option<Stop> {
    let (at, key) = nodes.iter_mut().enumerate().find_map(|(i, node)| {
        let found = if node.args.is_empty() && stops("", node.keyword()) {
            Some(node.key.clone())
        } else {
            let keyword = node.key.text.clone();
            node.block
                .as_mut()
                .and_then(|children| cut_in(&keyword, children))
        };
        found.map(|key| (i, key))
    })?;
    let stopping = nodes.get(at).map_or(Pass::Vrrp, |n| pass(n.keyword()));
    let whole = std::mem::take(nodes);
    for (i, node) in whole.into_iter().enumerate() {
        let own = pass(node.keyword());
        let keep = match i.cmp(&at) {
            std::cmp::Ordering::Less => own <= stopping,
            std::cmp::Ordering::Equal => node.keyword() != key.text || !node.args.is_empty(),
            std::cmp::Ordering::Greater => own < stopping,
        };
        if keep {
            nodes.push(node);
        }
    }
    Some(Stop {
        key,
        pass: stopping,
    })
}

/// Within a block: removes the stopping keyword and what follows it; returns it.
fn cut_in(block: &str, nodes: &mut Vec<Node>) -> Option<Word> {
    for i in 0..nodes.len() {
        let node = nodes.get_mut(i)?;
        if node.args.is_empty() && stops(block, node.keyword()) {
            let key = node.key.clone();
            nodes.truncate(i);
            return Some(key);
        }
        let keyword = node.key.text.clone();
        if let Some(children) = node.block.as_mut()
            && let Some(key) = cut_in(&keyword, children)
        {
            nodes.truncate(i + 1);
            return Some(key);
        }
    }
    None
}

/// keepalived's message for `key` written without its value.
pub fn message(key: &Word) -> String {
    format!(
        "*** Configuration line starting `{0}` is missing a parameter after keyword `{0}` at word position 2",
        key.text
    )
}

/// Whether a diagnostic of reading the file (preprocessing, braces) at `place` is about a
/// line keepalived never reads: only when the first pass stops (at `stop`).
pub fn unread(place: &Place, stop: &Stop) -> bool {
    stop.pass == Pass::Global
        && *place.file == *stop.key.place.file
        && place.line > stop.key.place.line
}

/// Whether the top-level block `node` holds the keyword keepalived stopped at.
pub fn inside(node: &Node, stop: &Stop) -> bool {
    let (at, start, end) = (&stop.key.place, node.place(), node.end_place());
    *at.file == *start.file
        && *at.file == *end.file
        && (start.line, start.col) < (at.line, at.col)
        && at.line <= end.line
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, exit, parse_str};

    #[test]
    fn a_missing_value_stops_its_pass_and_exits_2() {
        let loaded = parse_str(
            "global_defs {\n router_id\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id\n priority 300\n}\nbogus\n",
            &LoadOptions::with_config_id("t"),
        );
        let text: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "<string>:2:2: error: router_id: missing value: expected a router id",
                // The first pass reads the whole file; line 7 is never read.
                "<string>:9:1: warning: Unknown keyword 'bogus'",
                "<string>:6:2: fatal: *** Configuration line starting `virtual_router_id` is missing a parameter after keyword `virtual_router_id` at word position 2"
            ]
        );
        assert_eq!(loaded.exit_status(), exit::MISSING_PARAMETER);
    }
}
