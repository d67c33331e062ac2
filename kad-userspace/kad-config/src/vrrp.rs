//! Keyword tables of the VRRP blocks: vrrp_instance, vrrp_script, vrrp_sync_group,
//! garp_group, track_file, vrrp_track_process, track_group.

use std::net::IpAddr;

use super::{
    error::{Severity, ValueError},
    keywords::{
        Ctx, HasPlaces, Keyword, Listed, Status, apply, ignored, kw, parse_int, partial, script,
    },
    model::{
        AuthType, Authentication, GarpExtraIf, GarpGroup, InitialState, Notify, SyncGroup,
        TrackFile, TrackGroup, TrackProcess, TrackRef, Tracking, UnicastPeer, Vmac, VrrpInstance,
        VrrpScript,
    },
    net,
    place::{Place, Places},
    tree::Node,
};

macro_rules! places {
    ($($t:ty),*) => {$(
        impl HasPlaces for $t {
            fn places_mut(&mut self) -> &mut Places {
                &mut self.places
            }
        }
    )*};
}
places!(
    VrrpInstance,
    VrrpScript,
    SyncGroup,
    GarpGroup,
    TrackFile,
    TrackProcess,
    TrackGroup
);

/// Parses a `NAME [weight N] [reverse|noreverse]` list (track_* blocks).
pub fn track_list(ctx: &mut Ctx, node: &Node, min: i64, max: i64) -> Vec<TrackRef> {
    if node.block.is_none() {
        ctx.report(
            Severity::Error,
            node.place(),
            format!("{}: expected a '{{' block", node.keyword()),
        );
    }
    let mut out = Vec::new();
    for child in node.children() {
        let mut entry = TrackRef {
            name: child.key.text.clone(),
            weight: None,
            reverse: false,
            place: child.key.place.clone(),
        };
        let mut args = child.args.iter();
        let mut ok = true;
        while let Some(word) = args.next() {
            match word.as_str() {
                "weight" => match args.next() {
                    Some(v) => match parse_int(v.as_str(), min, max) {
                        Ok(n) => entry.weight = i32::try_from(n).ok(),
                        Err(err) => {
                            ctx.report(
                                Severity::Error,
                                &v.place,
                                format!(
                                    "{}: weight {err} - ignoring {}",
                                    node.keyword(),
                                    entry.name
                                ),
                            );
                            ok = false;
                        }
                    },
                    None => {
                        ctx.report(
                            Severity::Error,
                            &word.place,
                            format!(
                                "{}: weight without a value for {}",
                                node.keyword(),
                                entry.name
                            ),
                        );
                        ok = false;
                    }
                },
                "reverse" => entry.reverse = true,
                "noreverse" | "no_reverse" => entry.reverse = false,
                other => ctx.report(
                    Severity::Warning,
                    &word.place,
                    format!(
                        "{}: unknown option '{other}' for {} - ignored",
                        node.keyword(),
                        entry.name
                    ),
                ),
            }
        }
        if ok {
            out.push(entry);
        }
    }
    out
}

fn name_of(ctx: &mut Ctx, node: &Node) -> String {
    match node.arg(0) {
        Some(w) => w.text.clone(),
        None => {
            ctx.report(
                Severity::Error,
                node.place(),
                format!("{}: missing name", node.keyword()),
            );
            String::new()
        }
    }
}

// ---------------------------------------------------------------- vrrp_instance

fn u8_of(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Why `skip_check_adv_addr` / `vrrp_skip_check_adv_addr` change nothing in kad.
pub const NO_ADVERT_ADDRESS_CHECK: &str = "kad never checks the addresses an advert lists, so it always behaves as with this keyword set; without it keepalived drops an advert whose address count or list differs from the instance's virtual_ipaddress";

/// The keyword table of vrrp_instance (keepalived.conf(5) "VRRP instance(s)").
pub const INSTANCE: &[Keyword<VrrpInstance>] = &[
    partial(
        "only `state MASTER` without `priority` (address owner, priority 255) changes anything; otherwise every instance starts as BACKUP (RFC 5798 §6.4.1)",
        kw("state", |i, n, c| {
            if let Some(v) = c.value(n, 0, "MASTER or BACKUP", |s| match s {
                "MASTER" => Ok(InitialState::Master),
                "BACKUP" => Ok(InitialState::Backup),
                _ => Err(ValueError::new(s, "MASTER or BACKUP")),
            }) {
                if i.state == InitialState::Master && v == InitialState::Backup {
                    c.report(
                        Severity::Warning,
                        n.place(),
                        format!(
                            "({}) state previously set as MASTER - ignoring BACKUP",
                            i.name
                        ),
                    );
                } else {
                    i.state = v;
                }
            }
        }),
    ),
    kw("interface", |i, n, c| {
        i.interface = c.string(n, 0, "an interface name")
    }),
    ignored(
        "keepalived applies vrf only to unicast instances without `interface` (their sockets \
         bound to the VRF device); kad runs every instance on an interface, and the test \
         kernel has no VRF",
        kw("vrf", |i, n, c| {
            i.vrf = c.string(n, 0, "a VRF interface name")
        }),
    ),
    kw("use_vmac", |i, n, _| {
        i.use_vmac = Some(Vmac {
            name: n.arg(0).map(|w| w.text.clone()),
            mac: n.arg(1).map(|w| w.text.clone()),
        });
    }),
    kw("use_vmac_addr", |i, _, _| i.use_vmac_addr = true),
    kw("vmac_xmit_base", |i, _, _| i.vmac_xmit_base = true),
    partial(
        "untested on a real kernel (the test kernel has no ipvlan): the netlink request \
         is unit-tested as a message",
        kw("use_ipvlan", |i, n, _| {
            i.use_ipvlan = Some(n.args.iter().map(|w| w.text.clone()).collect());
        }),
    ),
    // keepalived: the instance is IPv6 (and VRRPv3); refused after IPv4 addresses.
    kw("native_ipv6", |i, n, c| {
        if i.virtual_ipaddress
            .first()
            .is_some_and(|v| v.addr.is_ipv4())
        {
            c.report(
                Severity::Error,
                n.place(),
                format!(
                    "({}) Cannot specify native_ipv6 with IPv4 addresses",
                    i.name
                ),
            );
        } else {
            i.native_ipv6 = true;
        }
    }),
    kw("dont_track_primary", |i, _, _| i.dont_track_primary = true),
    kw("track_interface", |i, n, c| {
        i.tracking.interfaces.extend(track_list(c, n, -253, 253));
    }),
    kw("track_script", |i, n, c| {
        i.tracking.scripts.extend(track_list(c, n, -253, 253))
    }),
    kw("track_file", |i, n, c| {
        i.tracking.files.extend(track_list(c, n, -254, 254))
    }),
    kw("track_process", |i, n, c| {
        i.tracking.processes.extend(track_list(c, n, -254, 254));
    }),
    kw("track_bfd", |i, n, c| {
        super::bfd_track::track_bfd(c, n, &i.name, &mut i.tracking.bfds)
    }),
    Keyword {
        name: "bfd_master",
        handler: |i, n, c| i.bfd_master = super::bfd_track::bfd_master(c, n, &i.name),
        status: super::bfd_track::BFD_MASTER_STATUS,
    },
    kw("mcast_src_ip", |i, n, c| i.mcast_src_ip = c.ip(n, 0)),
    kw("unicast_src_ip", |i, n, c| i.unicast_src_ip = c.ip(n, 0)),
    kw("mcast_dst_ip", |i, n, c| {
        // keepalived: IPv6 adverts go to a link-local scope group (ff02::/16 style).
        if let Some(ip) = c.ip(n, 0) {
            let link_local = match ip {
                IpAddr::V6(a) => a.segments()[0] & 0xff0f == 0xff02,
                IpAddr::V4(_) => true,
            };
            if ip.is_multicast() && link_local {
                i.mcast_dst_ip = Some(ip);
            } else if let Some(w) = n.arg(0) {
                let expected = if ip.is_ipv6() {
                    "a link-local multicast address"
                } else {
                    "a multicast address"
                };
                c.bad(n, w, &ValueError::new(w.as_str(), expected));
            }
        }
    }),
    partial(
        "FAULT follows the source address's removal and return; whether it is there at start is not checked",
        kw("track_src_ip", |i, _, _| i.track_src_ip = true),
    ),
    kw("version", |i, n, c| {
        if let Some(v) = c.int(n, 0, 2, 3) {
            i.version = u8_of(v);
        }
    }),
    kw("check_unicast_src", |i, _, _| i.check_unicast_src = true),
    kw("unicast_peer", |i, n, c| {
        i.unicast_peers.extend(unicast_peers(c, n))
    }),
    kw("unicast_fault_no_peer", |i, _, _| {
        i.unicast_fault_no_peer = true
    }),
    kw("unicast_ttl", |i, n, c| {
        if let Some(v) = c.int(n, 0, 0, 255) {
            i.unicast_ttl = u8_of(v);
        }
    }),
    kw("old_unicast_checksum", |i, n, c| {
        match n.arg(0).map(|w| w.as_str()) {
            None => i.old_unicast_checksum = Some(false),
            Some("never") => i.old_unicast_checksum = Some(true),
            Some(other) => c.report(
                Severity::Error,
                n.place(),
                format!(
                    "({}) Unknown old_unicast_chksum mode {other} - ignoring",
                    i.name
                ),
            ),
        }
    }),
    kw("garp_master_delay", |i, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            i.garp_master_delay = v;
        }
    }),
    kw("garp_master_repeat", |i, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            i.garp_master_repeat = u32_of(v);
        }
    }),
    kw("garp_lower_prio_delay", |i, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            i.garp_lower_prio_delay = v;
        }
    }),
    kw("garp_lower_prio_repeat", |i, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            i.garp_lower_prio_repeat = u32_of(v);
        }
    }),
    kw("garp_master_refresh", |i, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 86400.0) {
            i.garp_master_refresh = v;
        }
    }),
    kw("garp_master_refresh_repeat", |i, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            i.garp_master_refresh_repeat = u32_of(v);
        }
    }),
    kw("garp_extra_if", |i, n, c| {
        i.garp_extra_if = garp_extra_if(c, n)
    }),
    kw("down_timer_adverts", |i, n, c| {
        if let Some(v) = c.int(n, 0, 1, 100) {
            i.down_timer_adverts = u32_of(v);
        }
    }),
    kw("lower_prio_no_advert", |i, n, c| {
        if let Some(v) = c.flag(n, 0) {
            i.lower_prio_no_advert = v;
        }
    }),
    kw("higher_prio_send_advert", |i, n, c| {
        if let Some(v) = c.flag(n, 0) {
            i.higher_prio_send_advert = v;
        }
    }),
    kw("virtual_router_id", |i, n, c| {
        if let Some(v) = c.int(n, 0, 1, 255) {
            i.virtual_router_id = Some(u8_of(v));
        }
    }),
    kw("priority", |i, n, c| {
        if let Some(v) = c.int(n, 0, 1, 255) {
            i.priority = u8_of(v);
        }
    }),
    kw("advert_int", |i, n, c| {
        if let Some(v) = c.timer(n, 0, 0.01, 255.0) {
            i.advert_int = v;
        }
    }),
    kw("authentication", |i, n, c| {
        i.authentication = Some(authentication(c, n))
    }),
    kw("virtual_ipaddress", |i, n, c| {
        i.virtual_ipaddress.extend(net::addresses(c, n))
    }),
    kw("virtual_ipaddress_excluded", |i, n, c| {
        i.virtual_ipaddress_excluded.extend(net::addresses(c, n));
    }),
    kw("promote_secondaries", |i, _, _| {
        i.promote_secondaries = true
    }),
    kw("virtual_routes", |i, n, c| {
        i.virtual_routes.extend(net::routes(c, n))
    }),
    kw("virtual_rules", |i, n, c| {
        i.virtual_rules.extend(net::rules(c, n))
    }),
    kw("accept", |i, _, _| i.accept = true),
    kw("no_accept", |i, _, _| i.accept = false),
    kw("nopreempt", |i, _, _| i.preempt = false),
    kw("preempt", |i, _, _| i.preempt = true),
    kw("preempt_delay", |i, n, c| {
        if let Some(v) = c.timer(n, 0, 0.0, 1000.0) {
            i.preempt_delay = v;
        }
    }),
    partial(
        NO_ADVERT_ADDRESS_CHECK,
        kw("skip_check_adv_addr", |i, n, c| {
            if let Some(v) = c.flag(n, 0) {
                i.skip_check_adv_addr = v;
            }
        }),
    ),
    kw("strict_mode", |i, n, c| {
        if let Some(v) = c.flag(n, 0) {
            i.strict_mode = v;
        }
    }),
    ignored(
        "use `kad -D` for detailed logs",
        kw("debug", |i, n, c| {
            if let Some(v) = c.int(n, 0, 0, 4) {
                i.debug = u8_of(v);
            }
        }),
    ),
    kw("notify_master", |i, n, c| {
        once(&mut i.notify.master, &format!("({})", i.name), c, n)
    }),
    kw("notify_backup", |i, n, c| {
        once(&mut i.notify.backup, &format!("({})", i.name), c, n)
    }),
    kw("notify_fault", |i, n, c| {
        once(&mut i.notify.fault, &format!("({})", i.name), c, n)
    }),
    kw("notify_stop", |i, n, c| {
        once(&mut i.notify.stop, &format!("({})", i.name), c, n)
    }),
    kw("notify_deleted", |i, n, c| {
        i.notify.deleted = Some(if n.arg(0).is_some() {
            script(c, n, 0)
        } else {
            None
        });
    }),
    kw("notify", |i, n, c| {
        once(&mut i.notify.any, &format!("({})", i.name), c, n)
    }),
    kw("notify_master_rx_lower_pri", |i, n, c| {
        once(
            &mut i.notify.master_rx_lower_pri,
            &format!("({})", i.name),
            c,
            n,
        );
    }),
    kw("notify_priority_changes", |i, n, c| {
        i.notify_priority_changes = c.flag(n, 0)
    }),
    kw("smtp_alert", |i, n, c| i.smtp_alert = c.flag(n, 0)),
    kw("kernel_rx_buf_size", |i, n, c| {
        i.kernel_rx_buf_size = c.int(n, 0, 0, i64::MAX).and_then(|v| u64::try_from(v).ok());
    }),
    ignored(
        crate::global::LINKBEAT,
        kw("linkbeat_use_polling", |i, _, _| {
            i.linkbeat_use_polling = true
        }),
    ),
    kw("lvs_sync_daemon_interface", |i, n, c| {
        i.lvs_sync_daemon_interface = c.string(n, 0, "an interface name");
        c.report(
            Severity::Warning,
            n.place(),
            format!(
                "({}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon",
                i.name
            ),
        );
    }),
];

/// keepalived.conf: (vrrp_)garp_extra_if [all] SECS.
pub fn garp_extra_if(c: &mut Ctx, n: &Node) -> Option<GarpExtraIf> {
    let all = n.arg(0).is_some_and(|w| w.as_str() == "all");
    let idx = usize::from(all);
    let interval = c.timer(n, idx, 0.0, 86400.0)?;
    Some(GarpExtraIf { interval, all })
}

fn unicast_peers(c: &mut Ctx, n: &Node) -> Vec<UnicastPeer> {
    let mut peers = Vec::new();
    for child in n.children() {
        // keepalived's inet_stosockaddr drops a `/prefix` or `-range` after the address.
        let text = child.keyword();
        let text = text.split(['/', '-']).next().unwrap_or(text);
        let addr = match super::keywords::parse_ip(text) {
            Ok(a) => a,
            Err(err) => {
                c.report(
                    Severity::Error,
                    child.place(),
                    format!("unicast_peer: {err} - skipping"),
                );
                continue;
            }
        };
        let mut peer = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
            place: child.place().clone(),
        };
        let mut args = child.args.iter();
        while let Some(word) = args.next() {
            let slot = match word.as_str() {
                "min_ttl" => &mut peer.min_ttl,
                "max_ttl" => &mut peer.max_ttl,
                other => {
                    c.report(
                        Severity::Warning,
                        &word.place,
                        format!("unicast_peer: unknown option '{other}' - ignored"),
                    );
                    continue;
                }
            };
            match args.next().map(|v| (v, parse_int(v.as_str(), 0, 255))) {
                Some((_, Ok(v))) => *slot = Some(u8_of(v)),
                Some((v, Err(err))) => c.report(
                    Severity::Error,
                    &v.place,
                    format!("unicast_peer: {} {err} - ignoring", word.text),
                ),
                None => c.report(
                    Severity::Error,
                    &word.place,
                    format!("unicast_peer: {} needs a value", word.text),
                ),
            }
        }
        peers.push(peer);
    }
    peers
}

/// The keywords of vrrp_instance's `authentication { ... }` block.
pub const AUTHENTICATION: &[Listed] = &[
    ("auth_type", Status::Supported),
    ("auth_pass", Status::Supported),
];

fn authentication(c: &mut Ctx, n: &Node) -> Authentication {
    let mut auth = Authentication {
        auth_type: None,
        auth_pass: None,
        place: n.place().clone(),
    };
    for child in n.children() {
        match child.keyword() {
            "auth_type" => {
                auth.auth_type = c.value(child, 0, "PASS or AH", |s| match s {
                    "PASS" => Ok(AuthType::Pass),
                    "AH" => Ok(AuthType::Ah),
                    _ => Err(ValueError::new(s, "PASS or AH")),
                });
            }
            "auth_pass" => {
                if let Some(pass) = c.string(child, 0, "a password") {
                    if pass.chars().count() > 8 {
                        c.report(
                            Severity::Warning,
                            child.place(),
                            "auth_pass: password longer than 8 characters - truncated to 8",
                        );
                    }
                    auth.auth_pass = Some(pass.chars().take(8).collect());
                }
            }
            _ => c.unknown(child),
        }
    }
    auth
}

// ---------------------------------------------------------------- other vrrp blocks

/// The keyword table of vrrp_script.
pub const SCRIPT: &[Keyword<VrrpScript>] = &[
    kw("script", |s, n, c| s.script = script(c, n, 0)),
    kw("interval", |s, n, c| {
        if let Some(v) = c.timer(n, 0, 0.000_001, 1e9) {
            s.interval = v;
        }
    }),
    kw("timeout", |s, n, c| {
        s.timeout = c.timer(n, 0, 0.000_001, 1e9)
    }),
    kw("weight", |s, n, c| {
        if let Some(v) = c.int(n, 0, -253, 253) {
            s.weight = i32::try_from(v).unwrap_or(0);
        }
        s.weight_reverse = n.arg(1).is_some_and(|w| w.as_str() == "reverse");
    }),
    kw("rise", |s, n, c| {
        if let Some(v) = c.int(n, 0, 1, i64::from(u32::MAX)) {
            s.rise = u32_of(v);
        }
    }),
    kw("fall", |s, n, c| {
        if let Some(v) = c.int(n, 0, 1, i64::from(u32::MAX)) {
            s.fall = u32_of(v);
        }
    }),
    kw("user", |s, n, c| {
        s.user = c
            .string(n, 0, "a user name")
            .map(|u| (u, n.arg(1).map(|w| w.text.clone())));
    }),
    kw("init_fail", |s, _, _| s.init_fail = true),
];

/// keepalived skips the whole block of a `vrrp_instance` or `vrrp_sync_group` without
/// exactly one name, or with a name already defined (`defined`), after an error at its
/// line: the message, or `None` when the block is read.
pub fn skipped_block<'a>(
    node: &Node,
    mut defined: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let (unnamed, duplicate) = match node.keyword() {
        "vrrp_sync_group" => (
            "vrrp_sync_group must have a name - skipping",
            "vrrp sync group",
        ),
        _ => ("vrrp_instance must have a name", "vrrp instance"),
    };
    match node.args.as_slice() {
        [name] if defined.any(|d| d == name.as_str()) => {
            Some(format!("{duplicate} {} already defined", name.as_str()))
        }
        [_] => None,
        _ => Some(unnamed.to_owned()),
    }
}

/// keepalived looks each `track_script`, `track_file` and `track_process` entry up when it
/// reads it (`track_bfd`: [`super::bfd_track`]): one naming a tracker not defined above it (even if defined
/// further down) is dropped with a warning at its line, and is not tracked.
pub fn drop_trackers_defined_later(
    tracking: &mut Tracking,
    owner: &str,
    defined: &super::model::Config,
    ctx: &mut Ctx,
) {
    let scripts: Vec<&str> = defined
        .vrrp_scripts
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let files: Vec<&str> = defined
        .track_files
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let processes: Vec<&str> = defined
        .track_processes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    for (list, known, what) in [
        (&mut tracking.scripts, &scripts, "track script"),
        (&mut tracking.files, &files, "track file"),
        (&mut tracking.processes, &processes, "track process"),
    ] {
        list.retain(|t| {
            let ok = known.contains(&t.name.as_str());
            if !ok {
                ctx.report(
                    Severity::Warning,
                    &t.place,
                    format!("({owner}) {what} {} not found, ignoring...", t.name),
                );
            }
            ok
        });
    }
}

/// A notify script of an instance or sync group (`owner` as keepalived names it in
/// messages): the first one given is kept; keepalived ignores a second with an error at
/// its line.
fn once(slot: &mut Option<super::model::Script>, owner: &str, ctx: &mut Ctx, node: &Node) {
    if slot.is_some() {
        let given = node.arg(0).map_or("", |w| w.as_str());
        ctx.report(
            Severity::Error,
            node.place(),
            format!(
                "{owner} {} script already specified - ignoring {given}",
                node.keyword()
            ),
        );
        return;
    }
    *slot = script(ctx, node, 0);
}

/// keepalived.conf: vrrp_script NAME { ... }.
pub fn vrrp_script(ctx: &mut Ctx, node: &Node) -> VrrpScript {
    let mut s = VrrpScript {
        name: name_of(ctx, node),
        script: None,
        interval: std::time::Duration::from_secs(1),
        timeout: None,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
        place: node.place().clone(),
        end: node.end_place().clone(),
        places: Places::new(),
    };
    apply(&mut s, SCRIPT, node.children(), ctx);
    s
}

/// The keyword table of vrrp_sync_group.
pub const SYNC_GROUP: &[Keyword<SyncGroup>] = &[
    kw("group", |g, n, c| {
        g.group
            .extend(c.list(n).into_iter().map(|w| (w.text, w.place)));
    }),
    kw("track_interface", |g, n, c| {
        g.tracking.interfaces.extend(track_list(c, n, -253, 253))
    }),
    kw("track_script", |g, n, c| {
        g.tracking.scripts.extend(track_list(c, n, -253, 253))
    }),
    kw("track_file", |g, n, c| {
        g.tracking.files.extend(track_list(c, n, -254, 254))
    }),
    kw("track_process", |g, n, c| {
        g.tracking.processes.extend(track_list(c, n, -254, 254))
    }),
    kw("track_bfd", |g, n, c| {
        super::bfd_track::track_bfd(c, n, &g.name, &mut g.tracking.bfds)
    }),
    kw("notify_master", |g, n, c| {
        once(
            &mut g.notify.master,
            &format!("vrrp group {}:", g.name),
            c,
            n,
        )
    }),
    kw("notify_backup", |g, n, c| {
        once(
            &mut g.notify.backup,
            &format!("vrrp group {}:", g.name),
            c,
            n,
        )
    }),
    kw("notify_fault", |g, n, c| {
        once(
            &mut g.notify.fault,
            &format!("vrrp group {}:", g.name),
            c,
            n,
        )
    }),
    kw("notify_stop", |g, n, c| {
        once(&mut g.notify.stop, &format!("vrrp group {}:", g.name), c, n)
    }),
    // keepalived 2.2.7 has no `notify_deleted` in a sync group ("Unknown keyword").
    kw("notify", |g, n, c| {
        once(&mut g.notify.any, &format!("vrrp group {}:", g.name), c, n)
    }),
    kw("notify_priority_changes", |g, n, c| {
        g.notify_priority_changes = c.flag(n, 0)
    }),
    kw("smtp_alert", |g, n, c| g.smtp_alert = c.flag(n, 0)),
    kw("global_tracking", |g, _, _| g.global_tracking = true),
    kw("sync_group_tracking_weight", |g, _, _| {
        g.sync_group_tracking_weight = true
    }),
];

/// keepalived.conf: vrrp_sync_group NAME { ... }.
pub fn sync_group(ctx: &mut Ctx, node: &Node) -> SyncGroup {
    let mut g = SyncGroup {
        name: name_of(ctx, node),
        group: Vec::new(),
        tracking: Tracking::default(),
        notify: Notify::default(),
        notify_priority_changes: None,
        smtp_alert: None,
        global_tracking: false,
        sync_group_tracking_weight: false,
        place: node.place().clone(),
        places: Places::new(),
    };
    apply(&mut g, SYNC_GROUP, node.children(), ctx);
    g
}

/// The keyword table of garp_group.
pub const GARP_GROUP: &[Keyword<GarpGroup>] = &[
    kw("garp_interval", |g, n, c| {
        g.garp_interval = c.timer(n, 0, 0.0, 86400.0)
    }),
    kw("gna_interval", |g, n, c| {
        g.gna_interval = c.timer(n, 0, 0.0, 86400.0)
    }),
    kw("interface", |g, n, c| {
        g.interface = c.string(n, 0, "an interface name")
    }),
    kw("interfaces", |g, n, c| {
        g.interfaces.extend(c.list(n).into_iter().map(|w| w.text));
    }),
];

/// keepalived.conf: garp_group { ... }.
pub fn garp_group(ctx: &mut Ctx, node: &Node) -> GarpGroup {
    let mut g = GarpGroup {
        garp_interval: None,
        gna_interval: None,
        interface: None,
        interfaces: Vec::new(),
        place: node.place().clone(),
        places: Places::new(),
    };
    apply(&mut g, GARP_GROUP, node.children(), ctx);
    if g.interface.is_some() && !g.interfaces.is_empty() {
        ctx.report(
            Severity::Warning,
            node.place(),
            "garp_group: only one of interface or interfaces should be used",
        );
    }
    g
}

fn weight_reverse(c: &mut Ctx, n: &Node, min: i64, max: i64) -> Option<(i32, bool)> {
    let w = c.int(n, 0, min, max)?;
    Some((
        i32::try_from(w).unwrap_or(0),
        n.arg(1).is_some_and(|w| w.as_str() == "reverse"),
    ))
}

/// The keyword table of track_file.
pub const TRACK_FILE: &[Keyword<TrackFile>] = &[
    kw("file", |t, n, c| t.file = c.string(n, 0, "a file path")),
    kw("weight", |t, n, c| {
        if let Some((w, r)) = weight_reverse(c, n, -254, 254) {
            t.weight = w;
            t.reverse = r;
        }
    }),
    kw("init_file", |t, n, c| {
        let value = match n.arg(0) {
            Some(w) if w.as_str() != "overwrite" => c.int(n, 0, i64::MIN + 1, i64::MAX),
            _ => Some(0),
        };
        let overwrite = n.args.iter().any(|w| w.as_str() == "overwrite");
        t.init_file = value.map(|v| (v, overwrite));
    }),
];

/// keepalived.conf: track_file NAME { ... } (also vrrp_track_file).
pub fn track_file(ctx: &mut Ctx, node: &Node) -> TrackFile {
    let mut t = TrackFile {
        name: name_of(ctx, node),
        file: None,
        weight: 1,
        reverse: false,
        init_file: None,
        place: node.place().clone(),
        places: Places::new(),
    };
    apply(&mut t, TRACK_FILE, node.children(), ctx);
    if t.file.is_none() {
        ctx.report(
            Severity::Error,
            node.end_place(),
            format!("No file set for track_file {} - removing", t.name),
        );
    }
    t
}

/// The keyword table of vrrp_track_process.
pub const TRACK_PROCESS: &[Keyword<TrackProcess>] = &[
    kw("process", |t, n, c| {
        if c.need(n, 0, "a process name").is_some() {
            t.process = Some(n.args.iter().map(|w| w.text.clone()).collect());
        }
    }),
    kw("param_match", |t, n, c| {
        // Alone: the parameters must match exactly (keepalived).
        if n.arg(0).is_none() {
            t.param_match = Some("exact".to_owned());
            return;
        }
        if let Some(m) = c.value(n, 0, "initial or partial", |s| match s {
            "initial" | "partial" => Ok(s.to_owned()),
            _ => Err(ValueError::new(s, "initial or partial")),
        }) {
            t.param_match = Some(m);
        }
    }),
    kw("weight", |t, n, c| {
        if let Some((w, r)) = weight_reverse(c, n, -254, 254) {
            t.weight = w;
            t.reverse = r;
        }
    }),
    kw("quorum", |t, n, c| {
        if let Some(v) = c.int(n, 0, 1, 65535) {
            if t.quorum_max.is_some_and(|max| u32_of(v) > max) {
                c.report(
                    Severity::Error,
                    n.place(),
                    "Quorum is greater than quorum_max - ignoring".to_owned(),
                );
                return;
            }
            t.quorum = u32_of(v);
        }
    }),
    kw("quorum_max", |t, n, c| {
        if let Some(v) = c.int(n, 0, 0, 65535) {
            let max = u32_of(v);
            // keepalived: quorum_max 0 (processes must not run) is allowed with the default
            // quorum, which it then sets to 0.
            if (max != 0 || t.quorum > 1) && max < t.quorum {
                c.report(
                    Severity::Error,
                    n.place(),
                    "quorum_max is less than quorum - ignoring".to_owned(),
                );
                return;
            }
            t.quorum_max = Some(max);
            if max == 0 {
                t.quorum = 0;
            }
        }
    }),
    kw("fork_delay", |t, n, c| {
        t.fork_delay = c.timer(n, 0, 0.0, 1e6)
    }),
    kw("terminate_delay", |t, n, c| {
        t.terminate_delay = c.timer(n, 0, 0.0, 1e6)
    }),
    kw("delay", |t, n, c| t.delay = c.timer(n, 0, 0.0, 1e6)),
    kw("full_command", |t, _, _| t.full_command = true),
];

/// keepalived.conf: vrrp_track_process NAME { ... }.
pub fn track_process(ctx: &mut Ctx, node: &Node) -> TrackProcess {
    let mut t = TrackProcess {
        name: name_of(ctx, node),
        process: None,
        param_match: None,
        weight: 1,
        reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay: None,
        terminate_delay: None,
        delay: None,
        full_command: false,
        place: node.place().clone(),
        places: Places::new(),
    };
    apply(&mut t, TRACK_PROCESS, node.children(), ctx);
    if t.process.is_none() {
        ctx.report(
            Severity::Error,
            node.end_place(),
            format!(
                "No process set for vrrp_track_process {} - removing",
                t.name
            ),
        );
    }
    t
}

/// The keyword table of track_group.
pub const TRACK_GROUP: &[Keyword<TrackGroup>] = &[kw("group", |g, n, c| {
    g.group.extend(c.list(n).into_iter().map(|w| w.text));
})];

/// keepalived.conf: track_group NAME { group { ... } }.
pub fn track_group(ctx: &mut Ctx, node: &Node) -> TrackGroup {
    let mut g = TrackGroup {
        name: name_of(ctx, node),
        group: Vec::new(),
        place: node.place().clone(),
        places: Places::new(),
    };
    apply(&mut g, TRACK_GROUP, node.children(), ctx);
    g
}

/// keepalived.conf: vrrp_instance NAME { ... } (global defaults not yet applied).
pub fn vrrp_instance(ctx: &mut Ctx, node: &Node) -> VrrpInstance {
    let mut inst = VrrpInstance::new(name_of(ctx, node), node.place().clone());
    inst.end = node.end_place().clone();
    apply(&mut inst, INSTANCE, node.children(), ctx);
    inst.family_ipv6 = family_in_order(node);
    // keepalived's end of the block: a TTL is for unicast adverts only.
    if inst.unicast_peers.is_empty() && inst.places.contains_key("unicast_ttl") {
        ctx.report(
            Severity::Error,
            node.end_place(),
            format!(
                "({}): Cannot use unicast_ttl without unicast peers - resetting",
                inst.name
            ),
        );
        inst.unicast_ttl = 255;
    }
    inst
}

/// The family the first address-giving keyword of a vrrp_instance block fixes, in the
/// order written (keepalived sets `vrrp->family` from whichever it reads first).
fn family_in_order(node: &Node) -> Option<bool> {
    let address = |text: &str| -> Option<bool> {
        let text = text.split_once('/').map_or(text, |(addr, _)| addr);
        super::keywords::parse_ip(text).ok().map(|ip| ip.is_ipv6())
    };
    node.children()
        .iter()
        .find_map(|child| match child.keyword() {
            "virtual_ipaddress" | "unicast_peer" => child
                .children()
                .iter()
                .find_map(|entry| address(entry.keyword())),
            "unicast_src_ip" | "mcast_dst_ip" => child.arg(0).and_then(|w| address(w.as_str())),
            "native_ipv6" => Some(true),
            _ => None,
        })
}

/// The place of keyword `key` in `places`, else `fallback`.
pub fn place_of<'a>(places: &'a Places, key: &str, fallback: &'a Place) -> &'a Place {
    places.get(key).unwrap_or(fallback)
}
