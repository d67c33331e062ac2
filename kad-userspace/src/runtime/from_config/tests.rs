//! The pure mapping from keepalived.conf to the runtime, on configurations parsed from text
//! and a table of interfaces in place of the kernel.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use super::*;
use crate::config::{LoadOptions, parse_str};

/// Interfaces by name, as a kernel would number them.
struct Table(HashMap<&'static str, u32>);

impl Table {
    fn new(names: &[(&'static str, u32)]) -> Self {
        Self(names.iter().copied().collect())
    }
}

impl Interfaces for Table {
    fn ifindex(&self, name: &str) -> Result<u32, InterfaceError> {
        self.0
            .get(name)
            .copied()
            .ok_or_else(|| InterfaceError::NotFound(name.to_owned()))
    }
}

fn config(text: &str) -> Config {
    parse_str(
        &format!("global_defs {{\n script_user root\n}}\n{text}"),
        &LoadOptions::with_config_id("t"),
    )
    .config
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

const PRIMARY: [u8; 4] = [192, 0, 2, 1];

#[test]
fn an_instance_maps_its_keywords_to_the_core() {
    let config = config(
        "garp_group {\n garp_interval 0.5\n interface eth0\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n \
         advert_int 2\n nopreempt\n authentication {\n auth_type PASS\n auth_pass secret\n }\n \
         unicast_peer {\n 192.0.2.7 min_ttl 250\n }\n virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let instance = &config.vrrp_instances[0];
    let (spec, vmac) =
        instance_spec(instance, IpAddr::from(PRIMARY), &mut trackers).expect("the instance maps");
    assert_eq!(vmac, None);
    assert_eq!(&*spec.fsm.name, "VI_1");
    assert_eq!(spec.fsm.vrid, 51);
    assert_eq!(spec.fsm.version, Version::V2);
    assert_eq!(spec.fsm.priority, 150);
    assert_eq!(spec.fsm.advert_interval.get(), 200);
    assert!(spec.fsm.nopreempt);
    assert_eq!(spec.fsm.primary_address, IpAddr::from(PRIMARY));
    assert_eq!(spec.fsm.virtuals.addresses, vec![ip("192.0.2.100")]);
    assert_eq!(spec.auth, AuthConfig::pass(b"secret"));
    assert_eq!(spec.interface, "eth0");
    assert_eq!(spec.receive_interface, "eth0");
    assert!(spec.primary_auto);
    assert_eq!(spec.garp_spacing.arp, Duration::from_millis(500));
    assert!(spec.unicast_rx.check_source);
    assert_eq!(
        spec.unicast_rx.ttl_ranges,
        vec![(ip("192.0.2.7"), 250, 255)]
    );
    assert!(
        spec.addresses.is_empty(),
        "addresses wait for vip_addresses"
    );

    let addresses = vip_addresses(instance, "eth0", &interfaces).expect("eth0 is there");
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].address, ip("192.0.2.100"));
    assert_eq!(addresses[0].prefix_len, 24);
    assert_eq!(addresses[0].ifindex, 2);
}

#[test]
fn an_ipv6_instance_is_version_3_and_unauthenticated() {
    let config = config(
        "vrrp_instance V6 {\n interface eth0\n virtual_router_id 9\n priority 100\n \
         authentication {\n auth_type PASS\n auth_pass secret\n }\n \
         virtual_ipaddress {\n fe80::9\n 2001:db8::9/64\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let (spec, _) = instance_spec(&config.vrrp_instances[0], ip("fe80::1"), &mut trackers)
        .expect("the instance maps");
    assert_eq!(spec.fsm.version, Version::V3);
    assert_eq!(spec.auth, AuthConfig::None);
}

#[test]
fn use_vmac_names_the_macvlan_and_its_addresses_go_there() {
    let config = config(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
         use_vmac\n virtual_ipaddress {\n 192.0.2.100/24\n 192.0.2.101/24 dev eth0\n \
         192.0.2.102/24 dev eth1\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2), ("eth1", 3), ("vrrp.51", 7)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let instance = &config.vrrp_instances[0];
    let (spec, vmac) =
        instance_spec(instance, IpAddr::from(PRIMARY), &mut trackers).expect("the instance maps");
    let vmac = vmac.expect("a macvlan to make");
    assert_eq!(vmac.name, "vrrp.51");
    assert_eq!(vmac.mac, [0x00, 0x00, 0x5e, 0x00, 0x01, 51]);
    assert_eq!(spec.interface, "vrrp.51", "adverts go out on the macvlan");
    assert_eq!(spec.receive_interface, "eth0");
    assert_eq!(spec.vmac.as_deref(), Some("vrrp.51"));
    let on: Vec<u32> = vip_addresses(instance, &vmac.name, &interfaces)
        .expect("every interface is there")
        .iter()
        .map(|a| a.ifindex)
        .collect();
    assert_eq!(
        on,
        [7, 7, 3],
        "the instance's own dev means the macvlan too"
    );
}

#[test]
fn a_tracked_object_is_listed_once_however_many_track_it() {
    let config = config(
        "vrrp_script chk {\n script \"/bin/true\"\n interval 2\n weight -20\n}\n\
         track_file f {\n file /tmp/kad-f\n weight 3\n init_file 5\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
         track_script {\n chk\n }\n track_interface {\n eth1 weight 10\n }\n \
         track_file {\n f\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n \
         track_script {\n chk weight -5\n }\n virtual_ipaddress {\n 192.0.2.2\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2), ("eth1", 3)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let (a, _) = instance_spec(
        &config.vrrp_instances[0],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect("A maps");
    let (b, _) = instance_spec(
        &config.vrrp_instances[1],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect("B maps");
    let sources = trackers.into_sources();
    assert_eq!(sources.len(), 3, "chk, eth1 and f, each once");
    assert!(matches!(&sources[0], TrackerSource::Script(s) if s.name == "chk"));
    assert_eq!(
        sources[1],
        TrackerSource::Interface {
            name: "eth1".into(),
            ifindex: 3
        }
    );
    assert_eq!(
        sources[2],
        TrackerSource::File {
            name: "f".into(),
            path: "/tmp/kad-f".into()
        }
    );
    let weights: Vec<i32> = a.fsm.tracked.iter().map(|t| t.weight).collect();
    assert_eq!(weights, [-20, 10, 3]);
    assert_eq!(a.fsm.tracked[2].initial, TrackerStatus::Value(5));
    assert_eq!(b.fsm.tracked.len(), 1);
    assert_eq!(b.fsm.tracked[0].id, a.fsm.tracked[0].id, "the same script");
    assert_eq!(
        b.fsm.tracked[0].weight, -5,
        "the instance's own weight wins"
    );
}

#[test]
fn a_tracked_process_takes_its_match_and_delays() {
    let config = config(
        "vrrp_track_process web {\n process nginx -g daemon\n param_match initial\n \
         quorum 2\n delay 3\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
         track_process {\n web\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    instance_spec(
        &config.vrrp_instances[0],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect("A maps");
    let sources = trackers.into_sources();
    let [TrackerSource::Process(process)] = sources.as_slice() else {
        panic!("one process tracker, not {sources:?}");
    };
    assert_eq!(process.process, "nginx");
    assert_eq!(process.params, ["-g", "daemon"]);
    assert_eq!(process.param_match, ParamMatch::Initial);
    assert!(process.full_command);
    assert_eq!(process.quorum, 2);
    assert_eq!(process.fork_delay, Duration::from_secs(3));
    assert_eq!(process.terminate_delay, Duration::from_secs(3));
}

#[test]
fn sync_groups_list_their_members_by_index() {
    let config = config(
        "vrrp_sync_group G {\n group {\n B\n A\n }\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n\
         vrrp_instance B {\n interface eth0\n virtual_router_id 2\n priority 100\n \
         virtual_ipaddress {\n 192.0.2.2\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let groups = groups(&config, &mut trackers).expect("the group maps");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members, [1, 0]);
}

#[test]
fn notify_fifos_and_static_addresses_are_mapped() {
    let config = config(
        "global_defs {\n notify_fifo /run/kad-test.fifo\n notify_fifo_script /bin/cat\n \
         default_interface eth1\n}\n\
         static_ipaddress {\n 198.51.100.1/24\n 198.51.100.2/24 dev eth0 scope link\n}\n",
    );
    let fifos = notify_fifos(&config).expect("the FIFO maps");
    assert_eq!(fifos.len(), 1);
    assert_eq!(
        fifos[0].path,
        std::path::PathBuf::from("/run/kad-test.fifo")
    );
    assert_eq!(
        fifos[0].script.as_ref().map(|s| s.command.as_str()),
        Some("/bin/cat")
    );
    let interfaces = Table::new(&[("eth0", 2), ("eth1", 3)]);
    let statics = static_spec(&config, &interfaces).expect("the statics map");
    let on: Vec<(u32, Scope)> = statics
        .addresses
        .iter()
        .map(|a| (a.ifindex, a.scope))
        .collect();
    assert_eq!(on, [(3, Scope::Global), (2, Scope::Link)]);
}

#[test]
fn errors_say_what_is_missing() {
    let config = config(
        "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
         track_interface {\n eth9\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&config, &interfaces);
    let err = instance_spec(
        &config.vrrp_instances[0],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect_err("eth9 is not there");
    assert!(matches!(&err, SpecError::TrackInterface { name, .. } if name == "eth9"));
    assert_eq!(
        err.to_string(),
        "track_interface eth9: no interface named \"eth9\""
    );

    let nowhere = Table::new(&[]);
    let err = vip_addresses(&config.vrrp_instances[0], "eth0", &nowhere)
        .expect_err("eth0 is not there either");
    assert_eq!(
        err.to_string(),
        "virtual_ipaddress 192.0.2.1: no interface named \"eth0\""
    );
}

#[test]
fn no_email_faults_reaches_instances_and_groups() {
    let text = "global_defs {\n script_user root\n smtp_alert\n no_email_faults\n}\n\
         vrrp_sync_group G {\n group {\n A\n }\n}\n\
         vrrp_instance A {\n interface eth0\n virtual_router_id 1\n priority 100\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n";
    let parsed = parse_str(text, &LoadOptions::with_config_id("t")).config;
    let interfaces = Table::new(&[("eth0", 2)]);
    let mut trackers = TrackerTable::new(&parsed, &interfaces);
    let (instance, _) = instance_spec(
        &parsed.vrrp_instances[0],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect("the instance maps");
    assert!(instance.notify.smtp_alert);
    assert!(instance.notify.no_email_faults);
    let groups = groups(&parsed, &mut trackers).expect("the group maps");
    assert!(groups[0].notify.no_email_faults);
    // Without the keyword, faults are mailed.
    let plain = config("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n");
    let mut trackers = TrackerTable::new(&plain, &interfaces);
    let (instance, _) = instance_spec(
        &plain.vrrp_instances[0],
        IpAddr::from(PRIMARY),
        &mut trackers,
    )
    .expect("the instance maps");
    assert!(!instance.notify.no_email_faults);
}

/// keepalived.conf `mcast_dst_ip`, else global `vrrp_mcast_group4` / `vrrp_mcast_group6`,
/// else 224.0.0.18 / ff02::12: the group of the instance's family.
#[test]
fn the_multicast_group_is_mcast_dst_ip_else_the_global_group_of_the_family() {
    let instance = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{extra}\
             \x20virtual_ipaddress {{\n 192.0.2.100/24\n }}\n}}\n"
        )
    };
    let group = |text: &str, primary: IpAddr| {
        let config = config(text);
        multicast_group(&config.vrrp_instances[0], &config.global, primary)
    };
    let v4 = IpAddr::from(PRIMARY);
    let v6 = ip("fe80::1");
    assert_eq!(group(&instance(""), v4), ip("224.0.0.18"));
    assert_eq!(group(&instance(""), v6), ip("ff02::12"));
    assert_eq!(
        group(&instance(" mcast_dst_ip 224.0.0.19\n"), v4),
        ip("224.0.0.19")
    );
    let globals = "global_defs {\n vrrp_mcast_group4 224.0.0.20\n vrrp_mcast_group6 ff02::20\n}\n";
    assert_eq!(
        group(&format!("{globals}{}", instance("")), v4),
        ip("224.0.0.20")
    );
    assert_eq!(
        group(&format!("{globals}{}", instance("")), v6),
        ip("ff02::20")
    );
    assert_eq!(
        group(
            &format!("{globals}{}", instance(" mcast_dst_ip 224.0.0.19\n")),
            v4
        ),
        ip("224.0.0.19")
    );
    // A group that is not multicast, or of the other family, is refused: the default stays.
    let refused = "global_defs {\n vrrp_mcast_group4 10.0.0.1\n vrrp_mcast_group6 224.0.0.9\n}\n";
    assert_eq!(
        group(&format!("{refused}{}", instance("")), v4),
        ip("224.0.0.18")
    );
    assert_eq!(
        group(&format!("{refused}{}", instance("")), v6),
        ip("ff02::12")
    );
}
