//! Keyword tables of the LVS blocks: virtual_server_group, virtual_server, real_server,
//! the health checkers, and SSL.

use std::time::Duration;

use super::{
    error::{Severity, ValueError},
    keywords::{
        Ctx, HasPlaces, Keyword, Listed, Status, apply, ignored, kw, parse_int, parse_ip,
        parse_port, script,
    },
    model::{
        CheckTiming, Checker, LvsMethod, RealServer, SslConfig, Url, VirtualServer,
        VirtualServerGroup, VsAddress, VsgEntry,
    },
    place::Places,
    tree::Node,
};

impl HasPlaces for VirtualServer {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}
impl HasPlaces for RealServer {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}
impl HasPlaces for SslConfig {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}

/// keepalived.conf: lvs_sched values.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

/// keepalived.conf: lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum].
pub fn lvs_method(c: &mut Ctx, n: &Node) -> Option<LvsMethod> {
    let expected = "NAT, DR or TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]";
    let word = c.need(n, 0, expected)?;
    match word.as_str() {
        "NAT" => Some(LvsMethod::Nat),
        "DR" => Some(LvsMethod::Dr),
        "TUN" => {
            let mut tunnel = "ipip".to_owned();
            let mut port = None;
            let mut csum = None;
            let mut args = n.args.iter().skip(1);
            while let Some(w) = args.next() {
                match w.as_str() {
                    "type" => match args.next() {
                        Some(t) if matches!(t.as_str(), "ipip" | "gue" | "gre") => {
                            tunnel = t.text.clone();
                        }
                        Some(t) => {
                            c.bad(n, t, &ValueError::new(t.as_str(), "ipip, gue or gre"));
                            return None;
                        }
                        None => {
                            c.bad(n, w, &ValueError::new("", "a tunnel type after 'type'"));
                            return None;
                        }
                    },
                    "port" => match args.next().map(|p| (p, parse_port(p.as_str()))) {
                        Some((_, Ok(p))) => port = Some(p),
                        Some((p, Err(err))) => {
                            c.bad(n, p, &err);
                            return None;
                        }
                        None => {
                            c.bad(n, w, &ValueError::new("", "a port after 'port'"));
                            return None;
                        }
                    },
                    "nocsum" | "csum" | "remcsum" => csum = Some(w.text.clone()),
                    _ => {
                        c.bad(n, w, &ValueError::new(w.as_str(), expected));
                        return None;
                    }
                }
            }
            if tunnel == "gue" && port.is_none() {
                c.report(
                    Severity::Error,
                    n.place(),
                    format!("{}: TUN type gue needs a port", n.keyword()),
                );
                return None;
            }
            Some(LvsMethod::Tun { tunnel, port, csum })
        }
        other => {
            c.bad(n, word, &ValueError::new(other, expected));
            None
        }
    }
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn timer(c: &mut Ctx, n: &Node) -> Option<Duration> {
    c.timer(n, 0, 0.0, 1e9)
}

/// Timing keywords shared by virtual_server, real_server and checkers.
fn timing(t: &mut CheckTiming, n: &Node, c: &mut Ctx) -> bool {
    match n.keyword() {
        "connect_timeout" => t.connect_timeout = timer(c, n),
        "retry" => t.retry = c.int(n, 0, 0, i64::from(u32::MAX)).map(u32_of),
        "delay_before_retry" => t.delay_before_retry = timer(c, n),
        "warmup" => t.warmup = timer(c, n),
        "delay_loop" => t.delay_loop = timer(c, n),
        _ => return false,
    }
    true
}

/// The keyword table of virtual_server (keepalived.conf(5) "Virtual server(s)").
pub const VIRTUAL_SERVER: &[Keyword<VirtualServer>] = &[
    kw("lb_algo", sched),
    kw("lvs_sched", sched),
    kw("lb_kind", |v, n, c| {
        if let Some(m) = lvs_method(c, n) {
            v.lvs_method = m;
        }
    }),
    kw("lvs_method", |v, n, c| {
        if let Some(m) = lvs_method(c, n) {
            v.lvs_method = m;
        }
    }),
    kw("flag-1", sched_flag),
    kw("flag-2", sched_flag),
    kw("flag-3", sched_flag),
    kw("sh-port", sched_flag),
    kw("sh-fallback", sched_flag),
    kw("mh-port", sched_flag),
    kw("mh-fallback", sched_flag),
    kw("hashed", sched_flag),
    kw("ops", |v, _, _| v.ops = true),
    kw("persistence_engine", |v, n, c| {
        v.persistence_engine = c.string(n, 0, "an engine name")
    }),
    kw("persistence_timeout", |v, n, c| {
        v.persistence_timeout = if n.arg(0).is_some() {
            c.int(n, 0, 1, i64::from(u32::MAX)).map(u32_of)
        } else {
            Some(360)
        };
    }),
    kw("persistence_granularity", |v, n, c| {
        v.persistence_granularity = c.value(n, 0, "a netmask or prefix length", |s| {
            if parse_ip(s).is_ok() || parse_int(s, 0, 128).is_ok() {
                Ok(s.to_owned())
            } else {
                Err(ValueError::new(s, "a netmask or prefix length"))
            }
        });
    }),
    // keepalived compares the protocol name without regard to case.
    kw("protocol", |v, n, c| {
        if let Some(p) = c.value(n, 0, "TCP, UDP or SCTP", |s| {
            match s.to_ascii_uppercase().as_str() {
                p @ ("TCP" | "UDP" | "SCTP") => Ok(p.to_owned()),
                _ => Err(ValueError::new(s, "TCP, UDP or SCTP")),
            }
        }) {
            v.protocol = p;
        }
    }),
    kw("ha_suspend", |v, _, _| v.ha_suspend = true),
    kw("smtp_alert", |v, n, c| v.smtp_alert = c.flag(n, 0)),
    kw("virtualhost", |v, n, c| {
        v.virtualhost = c.string(n, 0, "a host name")
    }),
    ignored(
        "SNMP is not implemented",
        kw("snmp_name", |v, n, c| {
            v.snmp_name = c.string(n, 0, "a name")
        }),
    ),
    kw("alpha", |v, _, _| v.alpha = true),
    kw("omega", |v, _, _| v.omega = true),
    kw("quorum", |v, n, c| {
        if let Some(q) = c.int(n, 0, 1, i64::from(u32::MAX)) {
            v.quorum = u32_of(q);
        }
    }),
    kw("hysteresis", |v, n, c| {
        if let Some(h) = c.int(n, 0, 0, i64::from(u32::MAX)) {
            v.hysteresis = u32_of(h);
        }
    }),
    kw("quorum_up", |v, n, c| v.quorum_up = script(c, n, 0)),
    kw("quorum_down", |v, n, c| v.quorum_down = script(c, n, 0)),
    kw("ip_family", |v, n, c| {
        v.ip_family = c.value(n, 0, "inet or inet6", |s| match s {
            "inet" | "inet6" => Ok(s.to_owned()),
            _ => Err(ValueError::new(s, "inet or inet6")),
        });
    }),
    kw("sorry_server", |v, n, c| {
        let Some(ip) = c.ip(n, 0) else { return };
        let port = match n.arg(1) {
            Some(_) => match c.value(n, 1, "a port number", parse_port) {
                Some(p) => Some(p),
                None => return,
            },
            None => None,
        };
        v.sorry_server = Some((ip, port));
    }),
    kw("sorry_server_inhibit", |v, _, _| {
        v.sorry_server_inhibit = true
    }),
    kw("sorry_server_lvs_method", |v, n, c| {
        v.sorry_server_lvs_method = lvs_method(c, n)
    }),
    kw("connect_timeout", |v, n, c| {
        if let Some(t) = timer(c, n) {
            v.connect_timeout = t;
        }
    }),
    kw("retry", |v, n, c| {
        v.retry = c.int(n, 0, 0, i64::from(u32::MAX)).map(u32_of)
    }),
    kw("delay_before_retry", |v, n, c| {
        v.delay_before_retry = timer(c, n)
    }),
    kw("warmup", |v, n, c| v.warmup = timer(c, n)),
    kw("delay_loop", |v, n, c| {
        if let Some(t) = c.timer(n, 0, 0.000_001, 1e9) {
            v.delay_loop = t;
        }
    }),
    kw("inhibit_on_failure", |v, _, _| v.inhibit_on_failure = true),
    kw("real_server", |v, n, c| {
        if let Some(rs) = real_server(c, n) {
            v.real_servers.push(rs);
        }
    }),
];

fn sched(v: &mut VirtualServer, n: &Node, c: &mut Ctx) {
    let expected = "one of rr|wrr|lc|wlc|lblc|sh|mh|dh|fo|ovf|lblcr|sed|nq|twos";
    if let Some(s) = c.value(n, 0, expected, |s| {
        if SCHEDULERS.contains(&s) {
            Ok(s.to_owned())
        } else {
            Err(ValueError::new(s, expected))
        }
    }) {
        v.lvs_sched = s;
    }
}

fn sched_flag(v: &mut VirtualServer, n: &Node, _: &mut Ctx) {
    v.sched_flags.push(n.keyword().to_owned());
}

/// keepalived.conf: virtual_server IP [PORT] | fwmark N | group NAME { ... }.
pub fn virtual_server(c: &mut Ctx, n: &Node) -> Option<VirtualServer> {
    let first = c.need(n, 0, "an address, 'fwmark N' or 'group NAME'")?;
    let address = match first.as_str() {
        "fwmark" => VsAddress::Fwmark(u32_of(c.int(n, 1, 1, i64::from(u32::MAX))?)),
        "group" => VsAddress::Group(c.string(n, 1, "a virtual_server_group name")?),
        _ => {
            let ip = c.ip(n, 0)?;
            let port = match n.arg(1) {
                Some(_) => Some(c.value(n, 1, "a port number", parse_port)?),
                None => None,
            };
            VsAddress::Ip(ip, port)
        }
    };
    let mut vs = VirtualServer {
        address,
        lvs_sched: "wlc".to_owned(),
        sched_flags: Vec::new(),
        ops: false,
        lvs_method: LvsMethod::Nat,
        persistence_engine: None,
        persistence_timeout: None,
        persistence_granularity: None,
        protocol: "TCP".to_owned(),
        ha_suspend: false,
        smtp_alert: None,
        virtualhost: None,
        alpha: false,
        omega: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        ip_family: None,
        sorry_server: None,
        sorry_server_inhibit: false,
        sorry_server_lvs_method: None,
        connect_timeout: Duration::from_secs(5),
        retry: None,
        delay_before_retry: None,
        warmup: None,
        delay_loop: Duration::from_secs(60),
        inhibit_on_failure: false,
        snmp_name: None,
        real_servers: Vec::new(),
        place: n.place().clone(),
        places: Places::new(),
    };
    apply(&mut vs, VIRTUAL_SERVER, n.children(), c);
    // Kept for the daemon's life: no spare room from the vector's doubling.
    vs.real_servers.shrink_to_fit();
    Some(vs)
}

/// The keyword table of real_server.
pub const REAL_SERVER: &[Keyword<RealServer>] = &[
    kw("weight", |r, n, c| {
        if let Some(w) = c.int(n, 0, 0, i64::from(i32::MAX)) {
            r.weight = i32::try_from(w).unwrap_or(1);
        }
    }),
    kw("lvs_method", |r, n, c| r.lvs_method = lvs_method(c, n)),
    kw("notify_up", |r, n, c| r.notify_up = script(c, n, 0)),
    kw("notify_down", |r, n, c| r.notify_down = script(c, n, 0)),
    kw("uthreshold", |r, n, c| {
        r.uthreshold = c.int(n, 0, 0, i64::from(u32::MAX)).map(u32_of)
    }),
    kw("lthreshold", |r, n, c| {
        r.lthreshold = c.int(n, 0, 0, i64::from(u32::MAX)).map(u32_of)
    }),
    kw("smtp_alert", |r, n, c| r.smtp_alert = c.flag(n, 0)),
    kw("virtualhost", |r, n, c| {
        r.virtualhost = c.string(n, 0, "a host name")
    }),
    kw("inhibit_on_failure", |r, n, c| {
        r.inhibit_on_failure = c.flag(n, 0)
    }),
    ignored(
        "SNMP is not implemented",
        kw("snmp_name", |r, n, c| {
            r.snmp_name = c.string(n, 0, "a name")
        }),
    ),
    kw("connect_timeout", rs_timing),
    kw("retry", rs_timing),
    kw("delay_before_retry", rs_timing),
    kw("warmup", rs_timing),
    kw("delay_loop", rs_timing),
    kw("TCP_CHECK", rs_checker),
    kw("HTTP_GET", rs_checker),
    kw("SSL_GET", rs_checker),
    kw("SMTP_CHECK", rs_checker),
    kw("DNS_CHECK", rs_checker),
    kw("MISC_CHECK", rs_checker),
    kw("UDP_CHECK", rs_checker),
    kw("PING_CHECK", rs_checker),
    kw("FILE_CHECK", rs_checker),
    kw("BFD_CHECK", rs_checker),
];

fn rs_timing(r: &mut RealServer, n: &Node, c: &mut Ctx) {
    timing(&mut r.timing, n, c);
}

fn rs_checker(r: &mut RealServer, n: &Node, c: &mut Ctx) {
    if n.keyword() == "BFD_CHECK" {
        if let Some(ck) = super::bfd_track::bfd_check(c, n, r) {
            r.checkers.push(ck);
        }
        return;
    }
    let checkers = checkers(c, n);
    // Most real servers have one checker: room for exactly one more, not the four a
    // first push reserves (with 10,000 real servers that is 11 MB less).
    r.checkers.reserve_exact(checkers.len());
    r.checkers.extend(checkers);
}

/// A checker's connection keywords (keepalived's `install_checker_common_keywords`), also
/// those of an SMTP_CHECK `host { }` block.
pub const CONNECTION: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "fwmark",
    "connect_timeout",
];

/// A checker block as the checkers it makes: one, or for an SMTP_CHECK with `host { }`
/// blocks (deprecated in keepalived 2.x, which turns each into a checker of its own) the
/// checker itself (the real server, or its own connect_ip/connect_port) and one checker per
/// host, each taking the checker's settings and its own connection keywords (connect_ip,
/// connect_port, bindto, bind_port, bind_if, fwmark, connect_timeout). Timing keywords
/// written in a host apply to the whole checker, as in keepalived. The real server is up
/// when every one passes.
pub fn checkers(c: &mut Ctx, n: &Node) -> Vec<Checker> {
    let Some(main) = checker(c, n) else {
        return Vec::new();
    };
    let hosts: Vec<&Node> = if main.kind == "SMTP_CHECK" {
        n.children()
            .iter()
            .filter(|h| h.keyword() == "host")
            .collect()
    } else {
        Vec::new()
    };
    let mut out = Vec::with_capacity(1 + hosts.len());
    for host in hosts {
        let mut h = main.clone();
        h.other.remove("host");
        h.place = host.place().clone();
        h.end = host.end_place().clone();
        for child in host.children() {
            match child.keyword() {
                "connect_ip" => h.connect_ip = c.ip(child, 0).or(h.connect_ip),
                "connect_port" => {
                    h.connect_port = c
                        .value(child, 0, "a port number", parse_port)
                        .or(h.connect_port)
                }
                "bindto" => h.bindto = c.ip(child, 0).or(h.bindto),
                "bind_port" => {
                    h.bind_port = c
                        .value(child, 0, "a port number", parse_port)
                        .or(h.bind_port)
                }
                "bind_if" => {
                    h.bind_if = c.string(child, 0, "an interface name").or(h.bind_if.take())
                }
                "fwmark" => {
                    h.fwmark = c
                        .int(child, 0, 0, i64::from(u32::MAX))
                        .map(u32_of)
                        .or(h.fwmark)
                }
                "connect_timeout" => {
                    h.timing.connect_timeout = timer(c, child).or(h.timing.connect_timeout)
                }
                _ => {}
            }
        }
        out.push(h);
    }
    let mut main = main;
    main.other.remove("host");
    out.insert(0, main);
    out
}

fn real_server(c: &mut Ctx, n: &Node) -> Option<RealServer> {
    let addr = c.ip(n, 0)?;
    let port = match n.arg(1) {
        Some(_) => Some(c.value(n, 1, "a port number", parse_port)?),
        None => None,
    };
    let mut rs = RealServer {
        addr,
        port,
        weight: 1,
        lvs_method: None,
        notify_up: None,
        notify_down: None,
        uthreshold: None,
        lthreshold: None,
        smtp_alert: None,
        virtualhost: None,
        inhibit_on_failure: None,
        timing: CheckTiming::default(),
        snmp_name: None,
        checkers: Vec::new(),
        place: n.place().clone(),
        end: n.end_place().clone(),
        places: Places::new(),
    };
    apply(&mut rs, REAL_SERVER, n.children(), c);
    Some(rs)
}

/// Keywords every checker block takes (keepalived.conf(5) "checker common").
pub const CHECKER_COMMON: &[Listed] = &[
    ("connect_ip", Status::Supported),
    ("connect_port", Status::Supported),
    ("bindto", Status::Supported),
    ("bind_port", Status::Supported),
    ("bind_if", Status::Supported),
    ("fwmark", Status::Supported),
    ("connect_timeout", Status::Supported),
    ("retry", Status::Supported),
    ("delay_before_retry", Status::Supported),
    ("warmup", Status::Supported),
    ("delay_loop", Status::Supported),
    ("alpha", Status::Supported),
    ("log_all_failures", Status::Supported),
];

/// Whether checker `kind` takes the common keyword `keyword` in keepalived 2.2.7: MISC_CHECK
/// has no connection keywords (it runs a script), FILE_CHECK none (it reads a file),
/// BFD_CHECK only `alpha`.
pub fn takes_common(kind: &str, keyword: &str) -> bool {
    match kind {
        "MISC_CHECK" => !CONNECTION.contains(&keyword),
        "FILE_CHECK" => false,
        "BFD_CHECK" => keyword == "alpha",
        _ => true,
    }
}

/// The checker blocks of real_server.
pub const CHECKERS: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "DNS_CHECK",
    "MISC_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

/// Keywords of one checker beyond [`CHECKER_COMMON`] (keepalived.conf(5)); those without a
/// field of their own are kept as words in `Checker::other`.
pub fn checker_specific(kind: &str) -> &'static [Listed] {
    match kind {
        "HTTP_GET" | "SSL_GET" => &[
            ("url", Status::Supported),
            ("virtualhost", Status::Supported),
            ("enable_sni", Status::Supported),
            ("nb_get_retry", Status::Supported),
            (
                "fast_recovery",
                Status::Partial(
                    "a url failing during the recovery pass is fetched again after delay_before_retry (keepalived: at once, over and over while it fails)",
                ),
            ),
            ("http_protocol", Status::Supported),
        ],
        "SMTP_CHECK" => &[
            ("helo_name", Status::Supported),
            ("host", Status::Supported),
        ],
        "DNS_CHECK" => &[("type", Status::Supported), ("name", Status::Supported)],
        "MISC_CHECK" => &[
            ("misc_path", Status::Supported),
            ("misc_timeout", Status::Supported),
            ("misc_dynamic", Status::Supported),
            ("user", Status::Supported),
        ],
        "UDP_CHECK" => &[
            ("payload", Status::Supported),
            ("require_reply", Status::Supported),
            ("min_reply_length", Status::Supported),
            ("max_reply_length", Status::Supported),
        ],
        "FILE_CHECK" => &[
            ("track_file", Status::Supported),
            ("weight", Status::Supported),
            ("dynamic", Status::Supported),
        ],
        "BFD_CHECK" => &[("name", super::bfd_track::BFD_STATUS)],
        _ => &[],
    }
}

/// The keywords of an HTTP_GET/SSL_GET `url { ... }` block.
pub const URL: &[Listed] = &[
    ("path", Status::Supported),
    ("digest", Status::Supported),
    ("status_code", Status::Supported),
    ("virtualhost", Status::Supported),
    ("regex", Status::Supported),
    ("regex_no_match", Status::Supported),
    (
        "regex_options",
        Status::Ignored("regexes use the regex crate's defaults"),
    ),
    (
        "regex_stack",
        Status::Ignored("regexes use the regex crate's defaults"),
    ),
    (
        "regex_min_offset",
        Status::Partial("counted from the start of the body, keepalived from the status line"),
    ),
    (
        "regex_max_offset",
        Status::Partial("counted from the start of the body, keepalived from the status line"),
    ),
];

/// The status of `keyword` in `list` (Supported when absent: the parser handled it).
fn status_in(list: &[Listed], keyword: &str) -> Status {
    list.iter()
        .find(|(name, _)| *name == keyword)
        .map_or(Status::Supported, |(_, status)| *status)
}

/// A checker block (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK,
/// UDP_CHECK, PING_CHECK, FILE_CHECK, BFD_CHECK); None when it lacks what it needs.
pub fn checker(c: &mut Ctx, n: &Node) -> Option<Checker> {
    let kind = n.keyword();
    let mut ck = Checker::new(kind, n.place(), n.end_place());
    let http = matches!(kind, "HTTP_GET" | "SSL_GET");
    let misc = kind == "MISC_CHECK";
    for child in n.children() {
        let keyword = child.keyword();
        if CHECKER_COMMON.iter().any(|(k, _)| *k == keyword) && !takes_common(kind, keyword) {
            c.unknown(child);
            continue;
        }
        if timing(&mut ck.timing, child, c) {
            continue;
        }
        match child.keyword() {
            "connect_ip" => ck.connect_ip = c.ip(child, 0),
            "connect_port" => ck.connect_port = c.value(child, 0, "a port number", parse_port),
            "bindto" => ck.bindto = c.ip(child, 0),
            "bind_port" => ck.bind_port = c.value(child, 0, "a port number", parse_port),
            "bind_if" => ck.bind_if = c.string(child, 0, "an interface name"),
            "fwmark" => ck.fwmark = c.int(child, 0, 0, i64::from(u32::MAX)).map(u32_of),
            "url" if http => ck.urls.push(url(c, child)),
            "misc_path" if misc => ck.misc_path = script(c, child, 0),
            "misc_timeout" if misc => ck.misc_timeout = c.timer(child, 0, 0.000_001, 1e9),
            "misc_dynamic" if misc => ck.misc_dynamic = true,
            // keepalived 2.2.7 knows nb_get_retry in HTTP_GET/SSL_GET only, as an error.
            "nb_get_retry" if http => {
                c.report(
                    Severity::Error,
                    child.place(),
                    "nb_get_retry is deprecated - please use 'retry'",
                );
                if let Some(retry) = c.int(child, 0, 0, i64::from(u32::MAX)) {
                    ck.timing.retry = Some(u32_of(retry));
                }
            }
            // keepalived 2.2.7: 1.0 (its default), 1.0C or 1.0c, 1.1; anything else is an
            // error and the checker keeps its protocol.
            "http_protocol" if http => {
                let expected = "1.0, 1.0C or 1.1";
                if let Some(v) = c.value(child, 0, expected, |s| match s {
                    "1.0" | "1.0C" | "1.0c" | "1.1" => Ok(s.to_owned()),
                    _ => Err(ValueError::new(s, expected)),
                }) {
                    ck.other.insert("http_protocol".to_owned(), vec![v]);
                }
            }
            // keepalived 2.2.7: `fast_recovery [<BOOL>]`; a bad value is an error and
            // leaves it unset.
            "fast_recovery" if http => {
                if let Some(v) = c.flag(child, 0) {
                    ck.other
                        .insert("fast_recovery".to_owned(), vec![v.to_string()]);
                }
            }
            // SMTP_CHECK `host { }`: its connection keywords make a checker of their own
            // ([`checkers`]); its timing keywords are the checker's.
            "host" if kind == "SMTP_CHECK" => {
                for h in child.children() {
                    if CONNECTION.contains(&h.keyword()) || timing(&mut ck.timing, h, c) {
                        continue;
                    }
                    c.unknown(h);
                }
                ck.other.insert("host".to_owned(), Vec::new());
            }
            "log_all_failures" | "alpha" => {
                let value = c.flag(child, 0);
                if child.keyword() == "alpha" {
                    ck.alpha = value;
                } else {
                    ck.log_all_failures = value;
                }
                c.not_acted_on(child, status_in(CHECKER_COMMON, child.keyword()));
            }
            other if checker_specific(kind).iter().any(|(k, _)| *k == other) => {
                let mut words: Vec<String> = child.args.iter().map(|w| w.text.clone()).collect();
                words.extend(
                    child
                        .children()
                        .iter()
                        .flat_map(|x| std::iter::once(&x.key).chain(x.args.iter()))
                        .map(|w| w.text.clone()),
                );
                ck.other.insert(other.to_owned(), words);
                ck.places.insert(other.to_owned(), child.place().clone());
                c.not_acted_on(child, status_in(checker_specific(kind), other));
            }
            _ => c.unknown(child),
        }
    }
    if misc && ck.misc_path.is_none() {
        c.report(
            Severity::Error,
            n.end_place(),
            "MISC_CHECK: misc_path is required - checker ignored",
        );
        return None;
    }
    if http && ck.urls.is_empty() {
        c.report(
            Severity::Error,
            n.end_place(),
            format!("{kind}: no url configured - checker ignored"),
        );
        return None;
    }
    Some(ck)
}

fn url(c: &mut Ctx, n: &Node) -> Url {
    let mut u = Url {
        place: n.place().clone(),
        ..Url::default()
    };
    for child in n.children() {
        match child.keyword() {
            "path" => u.path = c.string(child, 0, "a URL path"),
            "digest" => {
                u.digest = c.value(child, 0, "an MD5 digest of 32 hex digits", |s| {
                    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        Ok(s.to_ascii_lowercase())
                    } else {
                        Err(ValueError::new(s, "an MD5 digest of 32 hex digits"))
                    }
                });
            }
            "status_code" => {
                for word in &child.args {
                    for part in word.as_str().split(',') {
                        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
                        match (parse_int(lo, 100, 599), parse_int(hi, 100, 599)) {
                            (Ok(lo), Ok(hi)) if lo <= hi => u.status_code.push((
                                u16::try_from(lo).unwrap_or(0),
                                u16::try_from(hi).unwrap_or(0),
                            )),
                            _ => c.bad(
                                child,
                                word,
                                &ValueError::new(part, "HTTP status codes or ranges in 100..=599"),
                            ),
                        }
                    }
                }
                if child.args.is_empty() {
                    c.need(child, 0, "HTTP status codes");
                }
            }
            "virtualhost" => u.virtualhost = c.string(child, 0, "a host name"),
            "regex" => u.regex = c.string(child, 0, "a regular expression"),
            "regex_no_match" => u.regex_no_match = true,
            // keepalived 2.2.7 logs a bad offset (no configuration error) and takes 0.
            "regex_min_offset" | "regex_max_offset" => {
                let offset = match child.args.as_slice() {
                    [word] => word.as_str().parse::<u64>().ok(),
                    _ => None,
                };
                if offset.is_none() {
                    c.report(
                        Severity::Warning,
                        child.place(),
                        format!(
                            "{}: expected one offset in bytes - taking 0",
                            child.keyword()
                        ),
                    );
                }
                u.other.insert(
                    child.keyword().to_owned(),
                    vec![offset.unwrap_or(0).to_string()],
                );
            }
            "regex_options" | "regex_stack" => {
                u.other.insert(
                    child.keyword().to_owned(),
                    child.args.iter().map(|w| w.text.clone()).collect(),
                );
                c.not_acted_on(child, status_in(URL, child.keyword()));
            }
            _ => c.unknown(child),
        }
    }
    if u.status_code.is_empty() && u.digest.is_none() {
        u.status_code.push((200, 299));
    }
    regex_offsets(c, n, &mut u);
    u
}

/// keepalived 2.2.7's checks of `regex_min_offset` / `regex_max_offset` at the end of a
/// url block: without a `regex` they are dropped, and both are dropped when the minimum is
/// beyond the maximum.
fn regex_offsets(c: &mut Ctx, n: &Node, u: &mut Url) {
    let offset = |u: &Url, key: &str| -> Option<u64> {
        u.other
            .get(key)
            .and_then(|w| w.first())
            .and_then(|w| w.parse().ok())
    };
    let (min, max) = (offset(u, "regex_min_offset"), offset(u, "regex_max_offset"));
    if min.is_none() && max.is_none() {
        return;
    }
    let why = if u.regex.is_none() {
        "regex parameters specified without regex - ignoring".to_owned()
    } else if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        format!("regex min offset {min} > regex_max_offset {max} - ignoring")
    } else {
        return;
    };
    c.report(Severity::Warning, n.end_place(), why);
    u.other.remove("regex_min_offset");
    u.other.remove("regex_max_offset");
}

/// keepalived.conf: virtual_server_group NAME { IP[-N] [PORT] | fwmark N [inet|inet6] }.
pub fn virtual_server_group(c: &mut Ctx, n: &Node) -> Option<VirtualServerGroup> {
    let name = c.string(n, 0, "a group name")?;
    let mut entries = Vec::new();
    for child in n.children() {
        let place = child.place().clone();
        if child.keyword() == "fwmark" {
            if let Some(mark) = c.int(child, 0, 1, i64::from(u32::MAX)) {
                entries.push(VsgEntry::Fwmark {
                    mark: u32_of(mark),
                    family: child.arg(1).map(|w| w.text.clone()),
                    place,
                });
            }
            continue;
        }
        let text = child.keyword();
        let (addr_text, range_end) = match text.rsplit_once('-') {
            Some((a, end)) if parse_ip(a).is_ok() => {
                let radix = if a.contains(':') { 16 } else { 10 };
                match u32::from_str_radix(end, radix) {
                    Ok(e) => (a, Some(e)),
                    Err(_) => {
                        c.report(
                            Severity::Error,
                            &child.key.place,
                            format!(
                                "virtual_server_group {name}: invalid value '{text}': expected an address or a range ADDR-LAST - skipping"
                            ),
                        );
                        continue;
                    }
                }
            }
            _ => (text, None),
        };
        let addr = match parse_ip(addr_text) {
            Ok(a) => a,
            Err(_) => {
                c.report(
                    Severity::Error,
                    &child.key.place,
                    format!("virtual_server_group {name}: invalid value '{text}': expected an address, a range ADDR-LAST or 'fwmark N' - skipping"),
                );
                continue;
            }
        };
        let port = match child.arg(0) {
            Some(_) => match c.value(child, 0, "a port number", parse_port) {
                Some(p) => Some(p),
                None => continue,
            },
            None => None,
        };
        entries.push(VsgEntry::Address {
            addr,
            range_end,
            port,
            place,
        });
    }
    if entries.is_empty() {
        c.report(
            Severity::Warning,
            n.end_place(),
            format!("virtual server group {name} has no entries - removing"),
        );
        return None;
    }
    Some(VirtualServerGroup {
        name,
        entries,
        place: n.place().clone(),
    })
}

/// The keyword table of SSL.
pub const SSL: &[Keyword<SslConfig>] = &[
    ignored(
        "encrypted keys are not supported; the key file must be unencrypted",
        kw("password", |s, n, c| {
            s.password = c.string(n, 0, "a password")
        }),
    ),
    kw("ca", |s, n, c| s.ca = c.string(n, 0, "a file path")),
    kw("certificate", |s, n, c| {
        s.certificate = c.string(n, 0, "a file path")
    }),
    kw("key", |s, n, c| s.key = c.string(n, 0, "a file path")),
];

/// keepalived.conf: SSL { ... }.
pub fn ssl(c: &mut Ctx, n: &Node) -> SslConfig {
    let mut s = SslConfig::default();
    apply(&mut s, SSL, n.children(), c);
    s
}
