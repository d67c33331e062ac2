//! bfd_instance, track_bfd and BFD_CHECK against keepalived 2.2.7's behaviour (each
//! expectation measured with `keepalived -t` on the same lines).

use std::{net::IpAddr, time::Duration};

use crate::{
    LoadOptions, Loaded, exit,
    model::{BfdInstance, Checker, TrackRef},
    parse_str,
};

fn load(text: &str) -> Loaded {
    parse_str(text, &LoadOptions::with_config_id("t"))
}

/// The errors and warnings (not the notes) as `LINE: message`.
fn findings(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.counts_as_error())
        .map(|d| {
            let line = d.place.as_ref().map_or(0, |p| p.line);
            format!("{line}: {}", d.message)
        })
        .collect()
}

/// One bfd_instance `b` with `lines` after its neighbour.
fn one(lines: &str) -> (Option<BfdInstance>, Vec<String>) {
    let loaded = load(&format!(
        "bfd_instance b {{\n neighbor_ip 10.0.0.2\n{lines}\n}}\n"
    ));
    let found = findings(&loaded);
    (loaded.config.bfd_instances.first().cloned(), found)
}

fn ms(value: f64) -> Duration {
    Duration::from_secs_f64(value / 1000.0)
}

#[test]
fn defaults_are_keepalived_s() {
    let (b, found) = one("");
    let b = b.expect("the instance");
    assert!(found.is_empty(), "{found:?}");
    assert!(b.enabled);
    assert_eq!(b.neighbor_ip, Some(IpAddr::from([10, 0, 0, 2])));
    assert_eq!(b.source_ip, None);
    assert_eq!(b.min_rx, Duration::from_millis(10));
    assert_eq!(b.min_tx, Duration::from_millis(10));
    assert_eq!(b.idle_tx, Duration::from_millis(1000));
    assert_eq!(b.multiplier, 5);
    assert!(!b.passive);
    assert_eq!(b.ttl, 255);
    assert_eq!(b.max_hops, 0);
    assert_eq!(b.min_received_ttl(), Some(255));
    assert_eq!((b.weight, b.weight_reverse), (0, false));
    assert!(b.vrrp && b.checker, "both sides by default");
}

#[test]
fn intervals_are_ms_with_microsecond_resolution() {
    let (b, found) = one(" min_rx 2.5\n min_tx 1\n idle_tx 1000.001");
    let b = b.expect("the instance");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(b.min_rx, Duration::from_micros(2500));
    assert_eq!(b.min_tx, Duration::from_millis(1));
    assert_eq!(b.idle_tx, Duration::from_micros(1_000_001));
    let (b, _) = one(" min_rx 4294967\n min_tx 3.312");
    let b = b.expect("the instance");
    assert_eq!(b.min_rx, Duration::from_millis(4_294_967));
    assert_eq!(b.min_tx, ms(3.312));
}

#[test]
fn intervals_out_of_range_are_refused_with_keepalived_s_two_messages() {
    let (b, found) = one(" min_rx 0.999\n min_tx 4294967.001\n idle_tx 999.999");
    let b = b.expect("the instance");
    assert_eq!(
        found,
        [
            "3: number '0.999' outside range [1.000, 4294967.000]",
            "3: Configuration error: BFD instance b min_rx value 0.999 is not valid (must be in range [1-4294967]), ignoring",
            "4: number '4294967.001' outside range [1.000, 4294967.000]",
            "4: Configuration error: BFD instance b min_tx value 4294967.001 is not valid (must be in range [1-4294967]), ignoring",
            "5: number '999.999' outside range [1000.000, 4294967.000]",
            "5: Configuration error: BFD instance b idle_tx value 999.999 is not valid (must be in range [1000-4294967]), ignoring",
        ]
    );
    assert_eq!(b.min_rx, Duration::from_millis(10), "defaults kept");
    assert_eq!(b.min_tx, Duration::from_millis(10));
    assert_eq!(b.idle_tx, Duration::from_millis(1000));
}

#[test]
fn a_bad_interval_text_says_why() {
    let (_, found) = one(" min_rx abc\n min_tx -3");
    assert_eq!(
        found,
        [
            "3: invalid number 'abc'",
            "3: Configuration error: BFD instance b min_rx value abc is not valid (must be in range [1-4294967]), ignoring",
            "4: negative number '-3'",
            "4: Configuration error: BFD instance b min_tx value -3 is not valid (must be in range [1-4294967]), ignoring",
        ]
    );
}

#[test]
fn a_fourth_decimal_is_an_error_but_the_value_is_rounded_and_kept() {
    let (b, found) = one(" min_rx 2.0005\n min_tx 2.0004");
    let b = b.expect("the instance");
    assert_eq!(
        found,
        [
            "3: number '2.0005' has too many decimal places",
            "4: number '2.0004' has too many decimal places",
        ]
    );
    assert_eq!(b.min_rx, Duration::from_micros(2001));
    assert_eq!(b.min_tx, Duration::from_micros(2000));
    // Rounded below the minimum: refused.
    let (_, found) = one(" min_tx 0.0015");
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn multiplier_is_1_to_255_default_5() {
    let (b, found) = one(" multiplier 255");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(b.expect("the instance").multiplier, 255);
    let (b, found) = one(" multiplier 1");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(b.expect("the instance").multiplier, 1);
    for (bad, why) in [
        ("0", "number '0' outside range [1, 255]"),
        ("256", "number '256' outside range [1, 255]"),
        ("5.0", "invalid number '5.0'"),
        ("-1", "negative number '-1'"),
    ] {
        let (b, found) = one(&format!(" multiplier {bad}"));
        assert_eq!(
            found,
            [
                format!("3: {why}"),
                format!(
                    "3: Configuration error: BFD instance b multiplier value {bad} not valid (must be in range [1-255]), ignoring"
                ),
            ]
        );
        assert_eq!(b.expect("the instance").multiplier, 5);
    }
}

#[test]
fn ttl_and_hoplimit_default_by_family_and_bound_max_hops() {
    let load_v6 = |lines: &str| {
        let loaded = load(&format!(
            "bfd_instance b {{\n neighbor_ip 2001:db8::2\n{lines}\n}}\n"
        ));
        let found = findings(&loaded);
        (loaded.config.bfd_instances.first().cloned(), found)
    };
    let (b, found) = load_v6("");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(b.expect("the instance").ttl, 64, "IPv6 hop limit 64");
    let (b, _) = one(" hoplimit 10\n max_hops 3");
    let b = b.expect("the instance");
    assert_eq!((b.ttl, b.max_hops), (10, 3));
    assert_eq!(b.min_received_ttl(), Some(7));
    // max_hops above ttl: lowered, with an error at the closing brace.
    let (b, found) = one(" ttl 10\n max_hops 11");
    assert_eq!(
        found,
        ["5: BFD instance b: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"]
    );
    assert_eq!(b.expect("the instance").max_hops, 10);
    // -1 is 255: no TTL check (multihop) when ttl is 255...
    let (b, found) = one(" max_hops -1");
    assert!(found.is_empty(), "{found:?}");
    let b = b.expect("the instance");
    assert_eq!(b.max_hops, 255);
    assert!(b.ttl_check_disabled());
    assert_eq!(b.min_received_ttl(), None);
    // ...but lowered to an IPv6 default hop limit of 64.
    let (b, found) = load_v6(" max_hops -1");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(b.expect("the instance").max_hops, 64);
    for (line, why, what) in [
        (
            " ttl 0",
            "number '0' outside range [1, 255]",
            "ttl/hoplimit value 0 not valid (must be in range [1-255])",
        ),
        (
            " hoplimit 256",
            "number '256' outside range [1, 255]",
            "ttl/hoplimit value 256 not valid (must be in range [1-255])",
        ),
        (
            " max_hops -2",
            "number '-2' outside range [-1, 255]",
            "max_hops value -2 not valid (must be in range [-1-255])",
        ),
    ] {
        let (_, found) = one(line);
        assert_eq!(
            found,
            [
                format!("3: {why}"),
                format!("3: Configuration error: BFD instance b {what}, ignoring"),
            ]
        );
    }
}

#[test]
fn weight_reverse_passive_and_sides() {
    let (b, found) = one(" weight -20 reverse\n passive\n checker");
    let b = b.expect("the instance");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!((b.weight, b.weight_reverse), (-20, true));
    assert!(b.passive);
    assert!(b.checker && !b.vrrp, "checker only");
    let (b, _) = one(" vrrp");
    let b = b.expect("the instance");
    assert!(b.vrrp && !b.checker, "vrrp only");
    let (b, found) = one(" weight 254 rev");
    assert_eq!(
        found,
        [
            "3: number '254' outside range [-253, 253]",
            "3: Configuration error: BFD instance b weight value 254 not valid (must be in range [-253-253]), ignoring",
            "3: Configuration error: BFD instance b unknown weight option rev",
        ]
    );
    assert_eq!(b.expect("the instance").weight, 0);
}

#[test]
fn neighbour_and_source_addresses() {
    let loaded = load(
        "bfd_instance a {\n min_rx 5\n}\n\
         bfd_instance b {\n neighbour_ip 10.0.0.2\n source_ip 2001:db8::1\n}\n\
         bfd_instance c {\n neighbor_ip 10.0.0.300\n multiplier 0\n}\n\
         bfd_instance d {\n neighbor_ip 10.0.0.4\n source_ip 10.0.0.x\n}\n",
    );
    assert_eq!(
        findings(&loaded),
        [
            "3: Configuration error: BFD instance a has no neighbor address set, disabling instance",
            "7: Configuration error: BFD instance b source address 2001:db8::1 and neighbour address 10.0.0.2 are not of the same family, disabling instance",
            // The rest of the block is not read.
            "9: Configuration error: BFD instance c has malformed neighbor address 10.0.0.300, ignoring instance",
            "14: Configuration error: BFD instance d has malformed source address 10.0.0.x, ignoring",
        ]
    );
    let enabled: Vec<(&str, bool)> = loaded
        .config
        .bfd_instances
        .iter()
        .map(|b| (b.name.as_str(), b.enabled))
        .collect();
    assert_eq!(
        enabled,
        [("a", false), ("b", false), ("c", false), ("d", true)]
    );
    assert_eq!(loaded.exit_status(), exit::ERRORS);
}

#[test]
fn names_and_neighbours_are_unique() {
    let long = "n".repeat(32);
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n}}\n\
         bfd_instance a {{\n neighbor_ip 10.0.0.3\n}}\n\
         bfd_instance {long} {{\n neighbor_ip 10.0.0.4\n}}\n\
         bfd_instance b {{\n neighbor_ip 10.0.0.2\n source_ip 10.0.0.1\n}}\n\
         bfd_instance c {{\n neighbor_ip 10.0.0.5\n source_ip 10.0.0.1\n}}\n\
         bfd_instance d {{\n neighbor_ip 10.0.0.5\n source_ip 10.0.0.9\n}}\n\
         bfd_instance e {{\n neighbor_ip 10.0.0.5\n}}\n"
    ));
    assert_eq!(
        findings(&loaded),
        [
            "4: Configuration error: BFD instance a already configured - ignoring".to_owned(),
            format!(
                "7: Configuration error: BFD instance {long} name too long (maximum length is 31 characters) - ignoring"
            ),
            "13: Configuration error: BFD instance b has duplicate source/neighbor address 10.0.0.1/10.0.0.2, ignoring instance".to_owned(),
            "24: Configuration error: BFD instance e has duplicate neighbor address 10.0.0.5, ignoring instance".to_owned(),
        ]
    );
    let names: Vec<(&str, bool)> = loaded
        .config
        .bfd_instances
        .iter()
        .map(|b| (b.name.as_str(), b.enabled))
        .collect();
    // The same neighbour from two different sources is two sessions.
    assert_eq!(
        names,
        [
            ("a", true),
            ("b", false),
            ("c", true),
            ("d", true),
            ("e", false)
        ]
    );
}

/// The notices (reported at their line, not counted) as `LINE: message`.
fn notices(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::error::Severity::Notice)
        .map(|d| format!("{}: {}", d.place.as_ref().map_or(0, |p| p.line), d.message))
        .collect()
}

#[test]
fn multihop_is_keepalived_2_4_s_flag_and_2_2_7_s_unknown_keyword() {
    let text = |lines: &str| format!("bfd_instance b {{\n neighbor_ip 10.0.0.2\n{lines}\n}}\n");
    for (line, want) in [
        (" multihop", true),
        (" multihop yes", true),
        (" multihop on", true),
        (" multihop true", true),
        (" multihop\n multihop no", false),
        (" multihop\n multihop off", false),
        (" multihop false", false),
    ] {
        let loaded = load(&text(line));
        assert!(
            findings(&loaded).is_empty(),
            "{line}: {:?}",
            findings(&loaded)
        );
        let b = loaded.config.bfd_instances.first().expect("the instance");
        assert_eq!(b.multihop, want, "{line}");
        // keepalived 2.2.7 says "Unknown keyword" there: kad flags the line, uncounted.
        let flagged = notices(&loaded);
        assert_eq!(
            flagged.len(),
            line.matches("multihop").count(),
            "{flagged:?}"
        );
        assert!(flagged[0].starts_with("3: multihop: keepalived 2.2.7 does not know"));
    }
    // keepalived 2.4: "multihop setting not valid", the setting unchanged.
    let (b, found) = one(" multihop\n multihop maybe");
    assert_eq!(
        found,
        ["4: Configuration error: BFD instance b multihop setting not valid - maybe"]
    );
    assert!(b.expect("the instance").multihop);
    let (b, found) = one(" multihop True");
    assert_eq!(
        found,
        ["3: Configuration error: BFD instance b multihop setting not valid - True"]
    );
    assert!(!b.expect("the instance").multihop);
    assert!(!load(&text("")).config.bfd_instances[0].multihop);
}

#[test]
fn a_multihop_session_sends_at_255_in_both_families_and_checks_ttl_minus_max_hops() {
    // IPv4 as single hop; IPv6 255 instead of keepalived's 64 (RFC 5883 keeps RFC 5881's
    // encapsulation; FRR's multihop sessions want 254 or more after one router).
    for neighbour in ["10.0.0.2", "2001:db8::2"] {
        let loaded = load(&format!(
            "bfd_instance b {{\n neighbor_ip {neighbour}\n multihop\n}}\n"
        ));
        let b = &loaded.config.bfd_instances[0];
        assert_eq!((b.ttl, b.max_hops), (255, 0), "{neighbour}");
        // keepalived 2.4: "if multiple hops are in use, then max_hops ... needs to be
        // configured": by default the check stays ttl - 0.
        assert_eq!(b.min_received_ttl(), Some(255));
    }
    let (b, found) = one(" multihop\n max_hops 2");
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(b.expect("the instance").min_received_ttl(), Some(253));
    // An explicit ttl / hoplimit wins, and max_hops stays within it.
    let (b, found) = one(" multihop\n hoplimit 64\n max_hops 70");
    assert_eq!(
        found,
        ["6: BFD instance b: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"]
    );
    let b = b.expect("the instance");
    assert_eq!((b.ttl, b.max_hops), (64, 64));
}

#[test]
fn single_hop_and_multihop_sessions_to_one_neighbour_are_two_sessions() {
    let loaded = load(
        "bfd_instance one {\n neighbor_ip 10.0.0.2\n}\n\
         bfd_instance multi {\n neighbor_ip 10.0.0.2\n multihop\n}\n\
         bfd_instance again {\n multihop\n neighbor_ip 10.0.0.2\n}\n",
    );
    assert_eq!(
        findings(&loaded),
        [
            "11: Configuration error: BFD instance again has duplicate neighbor address 10.0.0.2, ignoring instance"
        ]
    );
    let enabled: Vec<_> = loaded
        .config
        .bfd_instances
        .iter()
        .map(|b| (b.name.as_str(), b.multihop, b.enabled))
        .collect();
    assert_eq!(
        enabled,
        [
            ("one", false, true),
            ("multi", true, true),
            ("again", true, false)
        ]
    );
}

#[test]
fn a_missing_value_stops_without_checking_the_block_s_end() {
    let loaded = load("bfd_instance b {\n min_rx\n neighbor_ip 10.0.0.2\n}\n");
    assert_eq!(loaded.exit_status(), exit::MISSING_PARAMETER);
    assert_eq!(
        findings(&loaded),
        [
            "2: *** Configuration line starting `min_rx` is missing a parameter after keyword `min_rx` at word position 2"
        ]
    );
}

const INSTANCE: &str = "vrrp_instance V {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  10.1.0.1\n }\n";

fn bfds(loaded: &Loaded) -> Vec<(String, Option<i32>, bool)> {
    let list: &[TrackRef] = loaded
        .config
        .vrrp_instances
        .first()
        .map_or(&[], |i| &i.tracking.bfds);
    list.iter()
        .map(|t| (t.name.clone(), t.weight, t.reverse))
        .collect()
}

#[test]
fn track_bfd_takes_the_instance_s_weight_unless_it_gives_one() {
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n weight 20 reverse\n}}\n\
         bfd_instance b {{\n neighbor_ip 10.0.0.3\n weight -5\n}}\n\
         bfd_instance c {{\n neighbor_ip 10.0.0.4\n}}\n\
         {INSTANCE} track_bfd {{\n  a\n  b weight 7\n  c weight -3 reverse\n }}\n}}\n"
    ));
    assert!(findings(&loaded).is_empty(), "{:?}", findings(&loaded));
    assert_eq!(
        bfds(&loaded),
        [
            ("a".to_owned(), Some(20), true),
            ("b".to_owned(), Some(7), false),
            ("c".to_owned(), Some(-3), true),
        ]
    );
    // An entry's weight keeps the instance's reverse unless it says noreverse.
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n weight 20 reverse\n}}\n\
         {INSTANCE} track_bfd {{\n  a weight 1\n }}\n}}\n"
    ));
    assert_eq!(bfds(&loaded), [("a".to_owned(), Some(1), true)]);
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n weight 20 reverse\n}}\n\
         {INSTANCE} track_bfd {{\n  a weight 1 noreverse\n }}\n}}\n"
    ));
    assert_eq!(bfds(&loaded), [("a".to_owned(), Some(1), false)]);
}

#[test]
fn track_bfd_errors_in_keepalived_s_order() {
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n weight 9\n}}\n\
         bfd_instance ck {{\n neighbor_ip 10.0.0.3\n checker\n}}\n\
         bfd_instance off {{\n min_rx 5\n}}\n\
         {INSTANCE} track_bfd {{\n  a weight 300\n  a wt 5\n  ck\n  later\n  off weight\n  off wt\n }}\n}}\n\
         bfd_instance later {{\n neighbor_ip 10.0.0.9\n}}\n"
    ));
    assert_eq!(
        findings(&loaded),
        [
            "11: Configuration error: BFD instance off has no neighbor address set, disabling instance",
            "19: number '300' outside range [-253, 253]",
            "19: (V) weight for track bfd a must be in [-253..253] inclusive. Ignoring...",
            "20: (V) duplicate track_bfd a - ignoring",
            "21: (V) track bfd ck not found, ignoring...",
            "22: (V) track bfd later not found, ignoring...",
            "23: (V) weight without value specified for track bfd off - ignoring",
            "24: (V) unknown track bfd off option wt - ignoring",
        ]
    );
    // A bad weight keeps the entry with the instance's weight; a disabled instance is
    // still found (keepalived's VRRP process knows names only).
    assert_eq!(bfds(&loaded), [("a".to_owned(), Some(9), false)]);
    let loaded = load(&format!(
        "bfd_instance off {{\n min_rx 5\n}}\n{INSTANCE} track_bfd {{\n  off\n }}\n}}\n"
    ));
    assert_eq!(bfds(&loaded), [("off".to_owned(), Some(0), false)]);
}

#[test]
fn track_bfd_in_a_sync_group_and_weights_dropped_as_keepalived_does() {
    let loaded = load(
        "bfd_instance a {\n neighbor_ip 10.0.0.2\n weight 20\n}\n\
         bfd_instance z {\n neighbor_ip 10.0.0.3\n}\n\
         vrrp_instance V {\n interface eth0\n virtual_router_id 5\n priority 255\n virtual_ipaddress {\n  10.1.0.1\n }\n track_bfd {\n  a\n  z\n }\n}\n\
         vrrp_instance W {\n interface eth0\n virtual_router_id 6\n virtual_ipaddress {\n  10.1.0.2\n }\n}\n\
         vrrp_sync_group G {\n group {\n  V\n  W\n }\n track_bfd {\n  a weight 4 reverse\n  nope\n }\n}\n",
    );
    let found = findings(&loaded);
    for expected in [
        "34: (G) track bfd nope not found, ignoring...",
        "(V) ignoring tracked bfd a with weight 20 due to SYNC group",
        "(G) Cannot have weighted track bfd 'a' with member having priority 255 - setting weight 0",
    ] {
        assert!(
            found.iter().any(|f| f.ends_with(expected)),
            "{expected:?} in {found:?}"
        );
    }
    assert_eq!(bfds(&loaded), [("z".to_owned(), Some(0), false)]);
    let group = loaded.config.sync_groups.first().expect("the group");
    let tracked: Vec<(&str, Option<i32>, bool)> = group
        .tracking
        .bfds
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(tracked, [("a", Some(0), true)]);
}

fn bfd_checkers(loaded: &Loaded) -> Vec<Checker> {
    loaded
        .config
        .virtual_servers
        .iter()
        .flat_map(|vs| vs.real_servers.iter())
        .flat_map(|rs| rs.checkers.iter())
        .filter(|ck| ck.kind == "BFD_CHECK")
        .cloned()
        .collect()
}

const VS: &str = "virtual_server 10.2.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.2.0.2 80 {\n";

#[test]
fn bfd_check_follows_a_checker_side_instance_defined_above() {
    let loaded = load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n}}\n\
         bfd_instance v {{\n neighbor_ip 10.0.0.3\n vrrp\n}}\n\
         {VS}  BFD_CHECK {{\n   name a\n   alpha\n  }}\n  BFD_CHECK {{\n   name v\n  }}\n  \
         BFD_CHECK {{\n   name a\n  }}\n  BFD_CHECK {{\n   alpha no\n  }}\n  \
         BFD_CHECK {{\n   name a b\n  }}\n  BFD_CHECK {{\n   name later\n   alpha maybe\n  }}\n  \
         BFD_CHECK {{\n   alpha maybe\n   connect_ip 1.2.3.4\n  }}\n }}\n}}\n\
         bfd_instance later {{\n neighbor_ip 10.0.0.9\n}}\n"
    ));
    assert_eq!(
        findings(&loaded),
        [
            "18: ([10.2.0.2]:80) BFD_CHECK - BFD v not configured",
            "21: ([10.2.0.2]:80) BFD_CHECK - RS already monitoring a",
            "25: ([10.2.0.2]:80) No name has been specified for BFD_CHECKER - skipping",
            "27: ([10.2.0.2]:80) BFD_CHECK - No or too many names specified - skipping checker",
            // Nothing about the alpha of a checker already dropped.
            "30: ([10.2.0.2]:80) BFD_CHECK - BFD later not configured",
            "34: Invalid alpha parameter maybe",
            "35: Unknown keyword 'connect_ip'",
            "36: ([10.2.0.2]:80) No name has been specified for BFD_CHECKER - skipping",
        ]
    );
    let kept: Vec<(Option<String>, Option<bool>)> = bfd_checkers(&loaded)
        .into_iter()
        .map(|ck| (ck.bfd, ck.alpha))
        .collect();
    assert_eq!(kept, [(Some("a".to_owned()), Some(true))]);
}

/// kad extension `bfd_master NAME` (vrrp_instance) with `name` after two bfd_instances.
fn bfd_master(name: &str) -> Loaded {
    load(&format!(
        "bfd_instance a {{\n neighbor_ip 10.0.0.2\n}}\n\
         bfd_instance ck {{\n neighbor_ip 10.0.0.3\n checker\n}}\n\
         {INSTANCE} bfd_master {name}\n}}\n\
         bfd_instance later {{\n neighbor_ip 10.0.0.9\n}}\n"
    ))
}

fn errors(loaded: &Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.counts_as_error())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn bfd_master_names_a_bfd_instance_above_that_sends_to_vrrp() {
    let loaded = bfd_master("a");
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    assert_eq!(
        loaded
            .config
            .vrrp_instances
            .first()
            .and_then(|i| i.bfd_master.clone()),
        Some("a".to_owned())
    );
    assert_eq!(loaded.exit_status(), 0);
}

#[test]
fn bfd_master_errors_point_at_the_name() {
    for (name, why) in [
        (
            "nope",
            "(V) bfd_master nope: no bfd_instance nope above this instance - ignoring",
        ),
        (
            "later",
            "(V) bfd_master later: no bfd_instance later above this instance - ignoring",
        ),
        (
            "ck",
            "(V) bfd_master ck: bfd_instance ck sends its events to the checker only (add `vrrp` to it) - ignoring",
        ),
    ] {
        let loaded = bfd_master(name);
        assert_eq!(errors(&loaded), [format!("<string>:14:13: error: {why}")]);
        assert_eq!(
            loaded
                .config
                .vrrp_instances
                .first()
                .and_then(|i| i.bfd_master.clone()),
            None
        );
        assert_ne!(loaded.exit_status(), 0, "{name}: kad -t fails");
    }
    let loaded = bfd_master("a b");
    assert_eq!(
        errors(&loaded),
        ["<string>:14:2: error: (V) bfd_master takes one bfd_instance name - ignoring"]
    );
}
