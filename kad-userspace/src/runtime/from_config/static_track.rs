//! keepalived.conf `track_group NAME { group { INSTANCE... } }` with `track_group NAME` on
//! `static_ipaddress`, `static_routes` and `static_rules` entries: each instance of the
//! group tracks the interface of each such entry (`dev`; a route's `dev`, a rule's
//! `iif`/`dev`) as a `track_interface` of weight 0, so it goes FAULT while that interface
//! is down or deleted (the entry cannot be restored there) and comes back with it. This is
//! what keepalived 2.2.7 does (`static_track_group_init`); a deleted entry on a working
//! interface is restored instead (see `runtime::restore`).

use crate::config::model::Config;

/// The interfaces instance `instance` tracks through static track groups, each once, in
/// configuration order (addresses, routes, rules). An address without `dev` is on
/// `default_interface` (default eth0); entries with `no_track` track nothing, as in
/// keepalived ("has both track_group and no_track set - not tracking").
pub fn tracked_interfaces(config: &Config, instance: &str) -> Vec<String> {
    let member = |group: &Option<String>| {
        group.as_ref().is_some_and(|name| {
            config
                .track_groups
                .iter()
                .any(|g| &g.name == name && g.group.iter().any(|i| i == instance))
        })
    };
    let default_dev = config.global.default_interface.as_deref().unwrap_or("eth0");
    let addresses = config
        .static_ipaddress
        .iter()
        .filter(|a| !a.no_track && member(&a.track_group))
        .map(|a| a.dev.as_deref().unwrap_or(default_dev));
    let routes = config
        .static_routes
        .iter()
        .filter(|r| !r.no_track && member(&r.track_group))
        .filter_map(|r| r.dev.as_deref());
    let rules = config
        .static_rules
        .iter()
        .filter(|r| !r.no_track && member(&r.track_group))
        .filter_map(|r| r.options.iif.as_deref());
    let mut names: Vec<String> = Vec::new();
    for name in addresses.chain(routes).chain(rules) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    fn config(text: &str) -> Config {
        parse_str(text, &LoadOptions::with_config_id("t")).config
    }

    #[test]
    fn members_track_the_interfaces_of_their_groups_entries_once() {
        let config = config(
            "track_group G {\n group {\n VI_1\n VI_2\n }\n}\n\
             track_group H {\n group {\n VI_2\n }\n}\n\
             static_ipaddress {\n 192.0.2.1/24 dev up0 track_group G\n \
             192.0.2.2/24 track_group H\n 192.0.2.3/24 dev up9 track_group G no_track\n}\n\
             static_routes {\n 198.51.100.0/24 via 192.0.2.254 dev up1 track_group G\n \
             198.51.100.0/25 via 192.0.2.254 dev up0 track_group G\n}\n\
             static_rules {\n from 203.0.113.0/24 table 100 priority 100 iif up2 track_group H\n}\n",
        );
        assert_eq!(tracked_interfaces(&config, "VI_1"), ["up0", "up1"]);
        assert_eq!(
            tracked_interfaces(&config, "VI_2"),
            ["up0", "eth0", "up1", "up2"]
        );
        assert!(tracked_interfaces(&config, "VI_3").is_empty());
    }

    #[test]
    fn an_unknown_group_or_a_route_without_dev_tracks_nothing() {
        let loaded = parse_str(
            "track_group G {\n group {\n VI_1\n }\n}\n\
             static_ipaddress {\n 192.0.2.1/24 dev up0 track_group NOPE\n}\n\
             static_routes {\n 198.51.100.0/24 via 192.0.2.254 track_group G\n}\n\
             static_rules {\n from 203.0.113.0/24 table 100 priority 100 track_group G\n}\n",
            &LoadOptions::with_config_id("t"),
        );
        assert!(tracked_interfaces(&loaded.config, "VI_1").is_empty());
        let messages: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        for expected in [
            "track_group NOPE not found",
            "Static route cannot have track group if no oif specified",
            "Static rule cannot have track_group if dev/iif not specified",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(expected)),
                "{expected}: {messages:?}"
            );
        }
    }
}
