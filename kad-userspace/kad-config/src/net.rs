//! `ip addr`, `ip route` and `ip rule` syntax inside keepalived.conf blocks
//! (virtual_ipaddress, static_ipaddress, virtual_routes, static_routes, virtual_rules,
//! static_rules).

use std::net::IpAddr;

use super::{
    error::{Severity, ValueError},
    keywords::{Ctx, parse_int, parse_ip},
    model::{Route, Rule, VirtualAddress},
    place::Word,
    route_options::{self, OptionError, ROUTE_METRICS, RuleOptions},
    tree::Node,
};

const ADDR_EXPECTED: &str = "an IPv4 or IPv6 address with an optional /prefix";

/// `ADDR[/PREFIX]`; a prefix over the family's length is an error.
pub fn parse_prefix(text: &str) -> Result<(IpAddr, u8), ValueError> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| ValueError::new(text, ADDR_EXPECTED))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        None => max,
        Some(p) => parse_int(p, 0, i64::from(max))
            .ok()
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| ValueError::new(text, ADDR_EXPECTED))?,
    };
    Ok((addr, len))
}

/// The entries of an address/route/rule block: one per child line.
fn entries(ctx: &mut Ctx, node: &Node) -> Vec<Vec<Word>> {
    if node.block.is_none() {
        ctx.report(
            Severity::Error,
            node.place(),
            format!("{}: expected a '{{' block", node.keyword()),
        );
    }
    node.children()
        .iter()
        .map(|child| {
            let mut words = vec![child.key.clone()];
            words.extend(child.args.iter().cloned());
            words
        })
        .collect()
}

fn bad(ctx: &mut Ctx, block: &str, word: &Word, err: &ValueError, what: &str) {
    ctx.report(
        Severity::Error,
        &word.place,
        format!("{block}: {err} - skipping {what}"),
    );
}

/// keepalived.conf: virtual_ipaddress / virtual_ipaddress_excluded / static_ipaddress.
pub fn addresses(ctx: &mut Ctx, node: &Node) -> Vec<VirtualAddress> {
    let block = node.keyword().to_owned();
    entries(ctx, node)
        .into_iter()
        .filter_map(|words| address(ctx, &block, &words))
        .collect()
}

/// One `ip addr` line.
pub fn address(ctx: &mut Ctx, block: &str, words: &[Word]) -> Option<VirtualAddress> {
    let first = words.first()?;
    let (addr, prefix_len) = match parse_prefix(first.as_str()) {
        Ok(v) => v,
        Err(err) => {
            bad(ctx, block, first, &err, "address");
            return None;
        }
    };
    let mut vip = VirtualAddress {
        addr,
        prefix_len,
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        use_vmac: false,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        track_group: None,
        preferred_lft: None,
        place: first.place.clone(),
    };
    // keepalived: `track_group` is an option of static addresses only.
    let is_static = block == "static_ipaddress";
    let mut broadcast: Option<(Broadcast, &Word)> = None;
    let mut iter = words.iter().skip(1);
    while let Some(word) = iter.next() {
        let option = word.as_str();
        let needs_value = matches!(
            option,
            "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" | "preferred_lft"
        ) || (is_static && option == "track_group");
        let value = if needs_value {
            match iter.next() {
                Some(v) => Some(v),
                None => {
                    ctx.report(
                        Severity::Error,
                        &word.place,
                        format!("{block}: '{option}' needs a value - skipping address"),
                    );
                    return None;
                }
            }
        } else {
            None
        };
        match (option, value) {
            ("brd" | "broadcast", Some(v)) => {
                if addr.is_ipv6() {
                    ctx.report(
                        Severity::Error,
                        &v.place,
                        format!(
                            "VRRP is trying to assign a broadcast {} to the IPv6 address {} !!?? WTF... skipping VIP...",
                            v.as_str(),
                            first.as_str()
                        ),
                    );
                    return None;
                }
                broadcast = match v.as_str() {
                    "+" => Some((Broadcast::Plus, v)),
                    "-" => Some((Broadcast::Minus, v)),
                    text => match parse_ip(text) {
                        Ok(ip) => Some((Broadcast::Address(ip), v)),
                        Err(err) => {
                            bad(ctx, block, v, &err, "address");
                            return None;
                        }
                    },
                };
            }
            ("dev", Some(v)) => vip.dev = Some(v.text.clone()),
            ("scope", Some(v)) => match v.as_str() {
                "host" | "link" | "site" | "global" | "nowhere" => {
                    vip.scope = Some(v.text.clone());
                }
                other if parse_int(other, 0, 255).is_ok() => vip.scope = Some(v.text.clone()),
                _ => {
                    bad(
                        ctx,
                        block,
                        v,
                        &ValueError::new(v.as_str(), "host|link|site|global|nowhere or 0..=255"),
                        "address",
                    );
                    return None;
                }
            },
            ("label", Some(v)) => vip.label = Some(v.text.clone()),
            ("peer", Some(v)) => match parse_prefix(v.as_str()) {
                Ok(p) => vip.peer = Some(p),
                Err(err) => {
                    bad(ctx, block, v, &err, "address");
                    return None;
                }
            },
            ("preferred_lft", Some(v)) => {
                if v.as_str() == "forever" {
                    vip.preferred_lft = None;
                } else {
                    match parse_int(v.as_str(), 0, i64::from(u32::MAX)) {
                        Ok(n) => vip.preferred_lft = u32::try_from(n).ok(),
                        Err(err) => {
                            bad(ctx, block, v, &err, "address");
                            return None;
                        }
                    }
                }
            }
            ("track_group", Some(v)) => set_track_group(ctx, &mut vip.track_group, v),
            ("use_vmac", _) => vip.use_vmac = true,
            ("home", _) => vip.home = true,
            ("-nodad", _) => vip.nodad = true,
            ("mngtmpaddr", _) => vip.mngtmpaddr = true,
            ("noprefixroute", _) => vip.noprefixroute = true,
            ("autojoin", _) => vip.autojoin = true,
            ("no_track", _) => vip.no_track = true,
            _ => ctx.report(
                Severity::Warning,
                &word.place,
                format!("{block}: unknown address option '{option}' - ignored"),
            ),
        }
    }
    if let Some((brd, word)) = broadcast {
        vip.broadcast = broadcast_address(ctx, &vip, brd, word);
    }
    Some(vip)
}

/// What `brd`/`broadcast` gives: an address, or `+`/`-` (all host bits set/cleared).
#[derive(Clone, Copy)]
enum Broadcast {
    Address(IpAddr),
    Plus,
    Minus,
}

/// The broadcast address of `vip` (IPv4): none with a `peer`, `+`/`-` only up to /30
/// (keepalived's messages otherwise; the address is kept without a broadcast).
fn broadcast_address(
    ctx: &mut Ctx,
    vip: &VirtualAddress,
    brd: Broadcast,
    word: &Word,
) -> Option<IpAddr> {
    if vip.peer.is_some() {
        ctx.report(
            Severity::Error,
            &word.place,
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
        return None;
    }
    let IpAddr::V4(addr) = vip.addr else {
        return None;
    };
    let host_bits = match brd {
        Broadcast::Address(ip) => return Some(ip),
        _ if vip.prefix_len > 30 => {
            ctx.report(
                Severity::Error,
                &word.place,
                format!(
                    "Address prefix length {} too long for broadcast",
                    vip.prefix_len
                ),
            );
            return None;
        }
        _ => u32::MAX.checked_shr(u32::from(vip.prefix_len)).unwrap_or(0),
    };
    let bits = u32::from(addr);
    let brd = match brd {
        Broadcast::Plus => bits | host_bits,
        _ => bits & !host_bits,
    };
    Some(IpAddr::V4(brd.into()))
}

/// Route types of `ip route` that keepalived accepts before the destination.
const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "nat",
];

/// Reports bad `ip route` / `ip rule` option values as errors at their place, the entry
/// skipped as keepalived does; whether there was one.
fn report_option_errors(
    ctx: &mut Ctx,
    block: &str,
    what: &str,
    errors: &[OptionError<'_>],
) -> bool {
    for error in errors {
        ctx.report(
            Severity::Error,
            &error.word.place,
            format!("{block}: {} - skipping {what}", error.message),
        );
    }
    !errors.is_empty()
}

/// keepalived.conf: virtual_routes / static_routes.
pub fn routes(ctx: &mut Ctx, node: &Node) -> Vec<Route> {
    let block = node.keyword().to_owned();
    entries(ctx, node)
        .into_iter()
        .filter_map(|words| route(ctx, &block, &words))
        .collect()
}

/// One `ip route` line.
pub fn route(ctx: &mut Ctx, block: &str, words: &[Word]) -> Option<Route> {
    let first = words.first()?;
    let mut route_type = None;
    let mut dest: Option<(IpAddr, u8)> = None;
    let mut src = None;
    let mut via = Vec::new();
    let mut dev = None;
    let mut table = None;
    let mut metric = None;
    let mut scope = None;
    let mut no_track = false;
    let mut track_group = None;
    let is_static = block == "static_routes";
    let mut options: Vec<Word> = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let w = word.as_str();
        if is_static && w == "track_group" {
            match iter.next() {
                Some(v) => set_track_group(ctx, &mut track_group, v),
                None => {
                    ctx.report(
                        Severity::Error,
                        &word.place,
                        format!("{block}: 'track_group' needs a value - skipping route"),
                    );
                    return None;
                }
            }
            continue;
        }
        if w == "nexthop" {
            // `nexthop NH [nexthop NH]...` ends an `ip route` line: keep its words together
            // for the runtime to read (via, dev, weight, onlink, realms per hop).
            options.push(word.clone());
            for rest in iter.by_ref() {
                if rest.as_str() == "no_track" {
                    no_track = true;
                } else {
                    options.push(rest.clone());
                }
            }
            break;
        }
        let takes_value = matches!(
            w,
            "src"
                | "via"
                | "gw"
                | "or"
                | "dev"
                | "oif"
                | "table"
                | "metric"
                | "preference"
                | "priority"
                | "scope"
                | "protocol"
                | "realms"
                | "mtu"
                | "advmss"
                | "rtt"
                | "rttvar"
                | "reordering"
                | "window"
                | "cwnd"
                | "ssthresh"
                | "initcwnd"
                | "initrwnd"
                | "features"
                | "quickack"
                | "congctl"
                | "pref"
                | "tos"
                | "dsfield"
                | "expires"
                | "fastopen_no_cookie"
                | "ttl-propagate"
                | "encap"
                | "hoplimit"
                | "rto_min"
                | "weight"
        );
        if takes_value {
            let mut value = iter.next();
            // `via inet6 ADDR`, `mtu lock 1400`: the real value follows the qualifier.
            let qualified = match value.map(Word::as_str) {
                Some("inet" | "inet6") => matches!(w, "via" | "gw" | "or"),
                Some("lock") => ROUTE_METRICS.contains(&w),
                _ => false,
            };
            let qualifier = if qualified {
                let qualifier = value.cloned();
                value = iter.next();
                qualifier
            } else {
                None
            };
            let Some(value) = value else {
                ctx.report(
                    Severity::Error,
                    &word.place,
                    format!("{block}: '{w}' needs a value - skipping route"),
                );
                return None;
            };
            match w {
                "src" => match parse_ip(value.as_str()) {
                    Ok(ip) => src = Some(ip),
                    Err(err) => {
                        bad(ctx, block, value, &err, "route");
                        return None;
                    }
                },
                "via" | "gw" | "or" => {
                    if w != "via" {
                        ctx.report(
                            Severity::Warning,
                            &word.place,
                            format!(
                                "\"{w}\" for routes is deprecated. Please use \"{}\"",
                                if w == "gw" { "via" } else { "nexthop" }
                            ),
                        );
                    }
                    let text = value.as_str();
                    let addr = text.strip_prefix("inet6 ").unwrap_or(text);
                    match parse_ip(addr) {
                        Ok(ip) => via.push(ip),
                        Err(err) => {
                            bad(ctx, block, value, &err, "route");
                            return None;
                        }
                    }
                }
                "dev" | "oif" => dev = Some(value.text.clone()),
                "table" => table = Some(value.text.clone()),
                "metric" | "preference" | "priority" => {
                    match parse_int(value.as_str(), 0, i64::from(u32::MAX)) {
                        Ok(n) => metric = u32::try_from(n).ok(),
                        Err(err) => {
                            bad(ctx, block, value, &err, "route");
                            return None;
                        }
                    }
                }
                "scope" => scope = Some(value.text.clone()),
                _ => {
                    options.push(word.clone());
                    options.extend(qualifier);
                    options.push(value.clone());
                }
            }
            continue;
        }
        match w {
            "no_track" => no_track = true,
            "to" => {}
            "onlink" | "pervasive" | "inet" | "inet6" | "add" | "append" | "prepend" => {
                options.push(word.clone());
            }
            t if dest.is_none() && route_type.is_none() && ROUTE_TYPES.contains(&t) => {
                route_type = Some(word.text.clone());
            }
            _ if dest.is_none() => {
                let parsed = if w == "default" {
                    Ok((IpAddr::from([0, 0, 0, 0]), 0))
                } else {
                    parse_prefix(w)
                };
                match parsed {
                    Ok(p) => dest = Some(p),
                    Err(err) => {
                        bad(ctx, block, word, &err, "route");
                        return None;
                    }
                }
            }
            _ => {
                ctx.report(
                    Severity::Warning,
                    &word.place,
                    format!("{block}: unknown route option '{w}' - ignored"),
                );
            }
        }
    }
    let Some(dest) = dest else {
        ctx.report(
            Severity::Error,
            &first.place,
            format!("{block}: route without a destination - skipping"),
        );
        return None;
    };
    let (parsed, errors) = route_options::parse_route(&options);
    if report_option_errors(ctx, block, "route", &errors) {
        return None;
    }
    let track_group = track_group_with_interface(ctx, track_group, dev.is_some(), first, "route");
    Some(Route {
        route_type,
        dest,
        src,
        via,
        dev,
        table,
        metric,
        scope,
        no_track,
        track_group,
        options: parsed,
        place: first.place.clone(),
    })
}

/// keepalived.conf: virtual_rules / static_rules.
pub fn rules(ctx: &mut Ctx, node: &Node) -> Vec<Rule> {
    let block = node.keyword().to_owned();
    entries(ctx, node)
        .into_iter()
        .filter_map(|words| rule(ctx, &block, &words))
        .collect()
}

/// One `ip rule` line.
pub fn rule(ctx: &mut Ctx, block: &str, words: &[Word]) -> Option<Rule> {
    let first = words.first()?;
    let mut rule = Rule {
        from: None,
        to: None,
        table: None,
        preference: None,
        no_track: false,
        track_group: None,
        options: RuleOptions::default(),
        place: first.place.clone(),
    };
    let is_static = block == "static_rules";
    let mut options: Vec<Word> = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let w = word.as_str();
        match w {
            "no_track" => rule.no_track = true,
            "not" | "l3mdev" | "inet" | "inet6" => options.push(word.clone()),
            _ => {
                let Some(value) = iter.next() else {
                    ctx.report(
                        Severity::Error,
                        &word.place,
                        format!("{block}: '{w}' needs a value - skipping rule"),
                    );
                    return None;
                };
                match w {
                    "from" | "to" => {
                        let parsed = if value.as_str() == "all" {
                            Ok(None)
                        } else {
                            parse_prefix(value.as_str()).map(Some)
                        };
                        match parsed {
                            Ok(p) if w == "from" => rule.from = p,
                            Ok(p) => rule.to = p,
                            Err(err) => {
                                bad(ctx, block, value, &err, "rule");
                                return None;
                            }
                        }
                    }
                    "track_group" if is_static => {
                        set_track_group(ctx, &mut rule.track_group, value);
                    }
                    "table" | "lookup" => rule.table = Some(value.text.clone()),
                    "preference" | "priority" | "order" | "pref" | "prio" => {
                        match parse_int(value.as_str(), 0, i64::from(u32::MAX)) {
                            Ok(n) => rule.preference = u32::try_from(n).ok(),
                            Err(err) => {
                                bad(ctx, block, value, &err, "rule");
                                return None;
                            }
                        }
                    }
                    "iif"
                    | "dev"
                    | "oif"
                    | "fwmark"
                    | "tos"
                    | "dsfield"
                    | "realms"
                    | "goto"
                    | "suppress_prefixlength"
                    | "suppress_ifgroup"
                    | "uidrange"
                    | "sport"
                    | "dport"
                    | "ipproto"
                    | "ip_proto"
                    | "protocol"
                    | "nat"
                    | "map-to"
                    | "type"
                    | "tun_id" => {
                        options.push(word.clone());
                        options.push(value.clone());
                    }
                    _ => {
                        ctx.report(
                            Severity::Error,
                            &word.place,
                            format!("{block}: unknown rule option '{w}' - skipping rule"),
                        );
                        return None;
                    }
                }
            }
        }
    }
    let (parsed, errors) = route_options::parse_rule(&options);
    if report_option_errors(ctx, block, "rule", &errors) {
        return None;
    }
    rule.options = parsed;
    let group = rule.track_group.take();
    rule.track_group =
        track_group_with_interface(ctx, group, rule.options.iif.is_some(), first, "rule");
    if rule.preference.is_none() {
        ctx.report(
            Severity::Warning,
            &first.place,
            format!(
                "{block}: rule has no preference specified - keepalived assigns one. This is probably not what you want."
            ),
        );
    }
    Some(rule)
}

/// keepalived.conf: `track_group GROUP` of a static address, route or rule; a second one is
/// an error and ignored (keepalived: "track_group %s is a duplicate"). Whether the group
/// exists is checked once the whole file is read ([`crate::checks`]).
fn set_track_group(ctx: &mut Ctx, group: &mut Option<String>, value: &Word) {
    if group.is_some() {
        ctx.report(
            Severity::Error,
            &value.place,
            format!("track_group {} is a duplicate", value.as_str()),
        );
        return;
    }
    *group = Some(value.text.clone());
}

/// keepalived drops the `track_group` of a static route without `dev` and of a static rule
/// without `iif`/`dev`: the group's instances track that interface.
fn track_group_with_interface(
    ctx: &mut Ctx,
    group: Option<String>,
    has_interface: bool,
    first: &Word,
    what: &str,
) -> Option<String> {
    if group.is_none() || has_interface {
        return group;
    }
    let message = if what == "route" {
        "Static route cannot have track group if no oif specified"
    } else {
        "Static rule cannot have track_group if dev/iif not specified"
    };
    ctx.report(Severity::Error, &first.place, message);
    None
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, parse_str};

    fn vip_broadcasts(vips: &str) -> (Vec<Option<String>>, Vec<String>) {
        let text = format!(
            "vrrp_instance A {{\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {{\n{vips}}}\n}}\n"
        );
        let loaded = parse_str(&text, &LoadOptions::with_config_id("t"));
        let brd = loaded
            .config
            .vrrp_instances
            .iter()
            .flat_map(|i| i.virtual_ipaddress.iter())
            .map(|a| a.broadcast.map(|b| b.to_string()))
            .collect();
        let diags = loaded.diagnostics.iter().map(ToString::to_string).collect();
        (brd, diags)
    }

    #[test]
    fn brd_plus_and_minus_set_or_clear_the_host_bits_up_to_a_slash_30() {
        let (brd, diags) = vip_broadcasts(
            " 10.0.0.1/24 brd +\n 10.0.0.1/24 broadcast -\n 10.0.0.9/30 brd +\n 10.0.0.5 brd +\n",
        );
        assert_eq!(
            brd,
            [
                Some("10.0.0.255".to_owned()),
                Some("10.0.0.0".to_owned()),
                Some("10.0.0.11".to_owned()),
                None
            ]
        );
        assert_eq!(
            diags,
            ["<string>:8:15: error: Address prefix length 32 too long for broadcast"]
        );
    }
}
