//! The wanted table against keepalived.conf(5)'s defaults and rules.

use std::net::SocketAddr;

use super::*;
use crate::config::{LoadOptions, parse_str};

fn config(text: &str) -> KeptConfig {
    let loaded = parse_str(text, &LoadOptions::with_config_id("t"));
    // keepalived.conf(5) defaults come with warnings (e.g. "no protocol set"); errors
    // would mean the test's configuration is wrong.
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity >= crate::config::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    KeptConfig::new(loaded.config)
}

fn build(text: &str, health: &Health) -> Wanted {
    wanted(&config(text), health, &mut QuorumMemory::default()).unwrap()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn tcp(s: &str) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: sa(s),
    }
}

fn down(addr: &str) -> HealthUpdate {
    HealthUpdate {
        real_server: RealServerKey { addr: sa(addr) },
        up: false,
        weight: None,
        reason: "test".into(),
    }
}

fn up(addr: &str) -> HealthUpdate {
    HealthUpdate {
        up: true,
        ..down(addr)
    }
}

fn weights(w: &Wanted, key: &ServiceKey) -> Vec<(SocketAddr, i32)> {
    w.table[key]
        .dests
        .values()
        .map(|d| (d.addr, d.weight))
        .collect()
}

#[test]
fn defaults_follow_keepalived_conf() {
    let w = build(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n",
        &Health::default(),
    );
    // keepalived 2.2.7: "no protocol set - defaulting to UDP".
    let key = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: sa("10.0.0.1:80"),
    };
    let entry = &w.table[&key];
    assert_eq!(entry.service.scheduler, "wlc");
    assert_eq!(entry.service.flags, 0);
    assert_eq!(entry.service.timeout, 0);
    assert_eq!(entry.service.netmask, u32::MAX);
    let dest = &entry.dests[&sa("10.0.0.2:80")];
    assert_eq!(dest.forwarding, Forwarding::Masq);
    assert_eq!(dest.weight, 1);
    assert_eq!((dest.u_threshold, dest.l_threshold), (0, 0));
}

#[test]
fn persistence_without_value_is_360_seconds_with_the_granularity_given() {
    let w = build(
        "virtual_server 10.0.0.1 443 {\n protocol TCP\n lvs_sched sh\n sh-port\n persistence_timeout\n persistence_granularity 255.255.255.0\n real_server 10.0.0.2 443 {\n }\n}\n",
        &Health::default(),
    );
    let s = &w.table[&tcp("10.0.0.1:443")].service;
    assert_eq!(s.scheduler, "sh");
    assert_eq!(s.flags, svc_flags::PERSISTENT | svc_flags::SCHED_SH_PORT);
    assert_eq!(s.timeout, 360);
    assert_eq!(s.netmask, 0xffff_ff00);
}

#[test]
fn a_group_expands_its_range_and_fwmarks_into_services_with_the_same_real_servers() {
    let w = build(
        "virtual_server_group web {\n 10.0.0.10-12 80\n fwmark 5\n}\nvirtual_server group web {\n protocol TCP\n lvs_sched rr\n lvs_method DR\n real_server 10.0.1.2 80 {\n }\n}\n",
        &Health::default(),
    );
    let keys: Vec<ServiceKey> = w.table.keys().copied().collect();
    assert_eq!(
        keys,
        vec![
            tcp("10.0.0.10:80"),
            tcp("10.0.0.11:80"),
            tcp("10.0.0.12:80"),
            ServiceKey::Fwmark {
                family: Family::Inet,
                mark: 5
            },
        ]
    );
    for entry in w.table.values() {
        assert_eq!(entry.service.scheduler, "rr");
        let d = &entry.dests[&sa("10.0.1.2:80")];
        assert_eq!(d.forwarding, Forwarding::DirectRoute);
    }
}

#[test]
fn a_failed_real_server_leaves_or_drops_to_weight_zero_under_inhibit_on_failure() {
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n weight 3\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n inhibit_on_failure\n TCP_CHECK {\n }\n }\n real_server 10.0.0.4 80 {\n }\n}\n";
    let mut health = Health::default();
    assert!(health.apply(&down("10.0.0.2:80")));
    assert!(health.apply(&down("10.0.0.3:80")));
    assert!(!health.apply(&down("10.0.0.3:80")));
    let w = build(text, &health);
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![(sa("10.0.0.3:80"), 0), (sa("10.0.0.4:80"), 1)]
    );
    health.apply(&up("10.0.0.2:80"));
    health.apply(&up("10.0.0.3:80"));
    let w = build(text, &health);
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![
            (sa("10.0.0.2:80"), 3),
            (sa("10.0.0.3:80"), 1),
            (sa("10.0.0.4:80"), 1)
        ]
    );
}

#[test]
fn alpha_starts_checked_real_servers_down_and_unchecked_ones_up() {
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n alpha\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n }\n}\n";
    let w = build(text, &Health::default());
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![(sa("10.0.0.3:80"), 1)]
    );
    let without = build(&text.replace(" alpha\n", ""), &Health::default());
    assert_eq!(without.table[&tcp("10.0.0.1:80")].dests.len(), 2);
}

#[test]
fn a_reported_weight_misc_dynamic_replaces_the_configured_one() {
    let mut health = Health::default();
    health.apply(&HealthUpdate {
        weight: Some(7),
        ..up("10.0.0.2:80")
    });
    let w = build(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n}\n",
        &health,
    );
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![(sa("10.0.0.2:80"), 7)]
    );
}

#[test]
fn below_quorum_the_sorry_server_replaces_the_remaining_real_servers() {
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n quorum 2\n sorry_server 10.0.9.9 8080\n real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n TCP_CHECK {\n }\n }\n}\n";
    let config = config(text);
    let mut memory = QuorumMemory::default();
    let mut health = Health::default();
    let w = wanted(&config, &health, &mut memory).unwrap();
    assert_eq!(w.table[&tcp("10.0.0.1:80")].dests.len(), 2);
    assert!(w.quorum_changes.is_empty());

    health.apply(&down("10.0.0.3:80"));
    let w = wanted(&config, &health, &mut memory).unwrap();
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![(sa("10.0.9.9:8080"), 1)]
    );
    assert_eq!(
        w.quorum_changes,
        vec![QuorumChange {
            vs: "TCP 10.0.0.1:80".into(),
            up: false,
            alive_weight: 1
        }]
    );

    health.apply(&up("10.0.0.3:80"));
    let w = wanted(&config, &health, &mut memory).unwrap();
    assert_eq!(w.table[&tcp("10.0.0.1:80")].dests.len(), 2);
    assert!(w.quorum_changes[0].up);
}

#[test]
fn sorry_server_inhibit_keeps_it_at_weight_zero_while_quorum_holds() {
    let w = build(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n sorry_server 10.0.9.9 80\n sorry_server_inhibit\n real_server 10.0.0.2 80 {\n }\n}\n",
        &Health::default(),
    );
    assert_eq!(
        weights(&w, &tcp("10.0.0.1:80")),
        vec![(sa("10.0.0.2:80"), 1), (sa("10.0.9.9:80"), 0)]
    );
}

#[test]
fn hysteresis_holds_quorum_until_the_weight_falls_past_it() {
    // quorum 3, hysteresis 1: lost below 2, regained at 4.
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n quorum 3\n hysteresis 1\n sorry_server 10.0.9.9 80\n real_server 10.0.0.2 80 {\n weight 2\n TCP_CHECK {\n }\n }\n real_server 10.0.0.3 80 {\n weight 1\n TCP_CHECK {\n }\n }\n real_server 10.0.0.4 80 {\n weight 1\n TCP_CHECK {\n }\n }\n}\n";
    let config = config(text);
    let mut memory = QuorumMemory::default();
    let mut health = Health::default();
    let sorry = |w: &Wanted| {
        w.table[&tcp("10.0.0.1:80")]
            .dests
            .contains_key(&sa("10.0.9.9:80"))
    };
    assert!(!sorry(&wanted(&config, &health, &mut memory).unwrap())); // 4
    health.apply(&down("10.0.0.4:80"));
    health.apply(&down("10.0.0.3:80"));
    assert!(!sorry(&wanted(&config, &health, &mut memory).unwrap())); // 2: still held
    health.apply(&down("10.0.0.2:80"));
    assert!(sorry(&wanted(&config, &health, &mut memory).unwrap())); // 0: lost
    health.apply(&up("10.0.0.2:80"));
    health.apply(&up("10.0.0.3:80"));
    assert!(sorry(&wanted(&config, &health, &mut memory).unwrap())); // 3: not yet back
    health.apply(&up("10.0.0.4:80"));
    assert!(!sorry(&wanted(&config, &health, &mut memory).unwrap())); // 4: back
}

#[test]
fn tunnel_options_and_fwmark_family_reach_the_dest() {
    let w = build(
        "virtual_server fwmark 9 {\n ip_family inet6\n lvs_sched mh\n mh-port\n mh-fallback\n lvs_method TUN type gue port 6080 csum\n real_server 2001:db8::2 80 {\n }\n}\n",
        &Health::default(),
    );
    let key = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 9,
    };
    let entry = &w.table[&key];
    assert_eq!(entry.service.flags, svc_flags::SCHED1 | svc_flags::SCHED2);
    assert_eq!(entry.service.netmask, 128);
    assert_eq!(
        entry.dests[&sa("[2001:db8::2]:80")].forwarding,
        Forwarding::Tunnel(TunnelKind::Gue(6080), TunnelCsum::Csum)
    );
}

#[test]
fn an_unknown_group_is_an_error() {
    // The configuration check drops such a virtual server; the table refuses one too.
    let mut config = config("virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n }\n}\n");
    config.virtual_servers[0].server.address = VsAddress::Group("nope".into());
    assert_eq!(
        wanted(&config, &Health::default(), &mut QuorumMemory::default()),
        Err(TableError::UnknownGroup("nope".into()))
    );
}

#[test]
fn a_reload_forgets_the_health_of_real_servers_no_longer_configured() {
    let mut health = Health::default();
    health.apply(&down("10.0.0.2:80"));
    health.apply(&down("10.0.0.9:80"));
    health.retain_configured(&config(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n",
    ));
    assert!(
        health
            .get(&RealServerKey {
                addr: sa("10.0.0.2:80")
            })
            .is_some()
    );
    assert!(
        health
            .get(&RealServerKey {
                addr: sa("10.0.0.9:80")
            })
            .is_none()
    );
}
