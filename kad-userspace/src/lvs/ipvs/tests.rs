//! Encode → decode round trips of every IPVS message kad sends, and golden bytes for one
//! request derived by hand from `include/uapi/linux/ip_vs.h`.

use std::net::SocketAddr;

use netlink_packet_core::{
    Emitable as _, NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    ParseableParametrized as _,
};
use netlink_packet_generic::GenlMessage;

use super::{
    attr::{CmdAttr, DaemonAttr, DestAttr, SvcAttr},
    message::IpvsMessage,
    model::*,
    uapi::{cmd, svc_flags},
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Emits a message with family id 28 and sequence 1, returning its bytes.
fn wire(message: IpvsMessage) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(message);
    genl.set_resolved_family_id(28);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = 1;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    message.finalize();
    let mut buffer = vec![0u8; message.buffer_len()];
    message.serialize(&mut buffer);
    buffer
}

/// Decodes bytes made by [`wire`] back into the IPVS payload.
fn unwire(bytes: &[u8]) -> IpvsMessage {
    let message = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes).unwrap();
    match message.payload {
        NetlinkPayload::InnerMessage(genl) => genl.payload,
        other => panic!("not an IPVS message: {other:?}"),
    }
}

fn round_trip(message: IpvsMessage) -> IpvsMessage {
    unwire(&wire(message))
}

fn service_of(message: &IpvsMessage) -> Service {
    let attrs = message
        .attrs
        .iter()
        .find_map(|a| match a {
            CmdAttr::Service(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    Service::from_attrs(&attrs).unwrap()
}

fn dest_of(message: &IpvsMessage, family: Family) -> Dest {
    let attrs = message
        .attrs
        .iter()
        .find_map(|a| match a {
            CmdAttr::Dest(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    Dest::from_attrs(&attrs, family).unwrap()
}

/// `ipvsadm -A -t 10.0.0.1:80 -s rr`, written out field by field from ip_vs.h:
/// nlmsghdr, genlmsghdr (IPVS_CMD_NEW_SERVICE, version 1), then IPVS_CMD_ATTR_SERVICE
/// (nested) holding AF, PROTOCOL, ADDR (16-byte nf_inet_addr), PORT (__be16),
/// SCHED_NAME ("rr\0"), FLAGS (struct ip_vs_flags), TIMEOUT, NETMASK (__be32).
#[cfg(target_endian = "little")]
#[test]
fn new_service_request_matches_hand_derived_bytes() {
    let service = Service {
        key: ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: sa("10.0.0.1:80"),
        },
        scheduler: "rr".into(),
        flags: 0,
        timeout: 0,
        netmask: Service::default_netmask(Family::Inet),
        pe_name: None,
    };
    let bytes = wire(IpvsMessage::new(
        cmd::NEW_SERVICE,
        vec![CmdAttr::Service(service.attrs())],
    ));
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        // nlmsghdr: length 104, type 28 (the family id), flags REQUEST|ACK, seq 1, pid 0
        104, 0, 0, 0,  28, 0,  0x05, 0,  1, 0, 0, 0,  0, 0, 0, 0,
        // genlmsghdr: cmd NEW_SERVICE (1), version 1, reserved
        1, 1, 0, 0,
        // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, length 84
        84, 0, 0x01, 0x80,
        // IPVS_SVC_ATTR_AF (1): AF_INET (2), padded
        6, 0, 1, 0,  2, 0, 0, 0,
        // IPVS_SVC_ATTR_PROTOCOL (2): IPPROTO_TCP (6), padded
        6, 0, 2, 0,  6, 0, 0, 0,
        // IPVS_SVC_ATTR_ADDR (3): 10.0.0.1 in a 16-byte union nf_inet_addr
        20, 0, 3, 0,  10, 0, 0, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        // IPVS_SVC_ATTR_PORT (4): 80 big-endian, padded
        6, 0, 4, 0,  0, 80, 0, 0,
        // IPVS_SVC_ATTR_SCHED_NAME (6): "rr\0", padded
        7, 0, 6, 0,  b'r', b'r', 0, 0,
        // IPVS_SVC_ATTR_FLAGS (7): flags 0, mask 0xffffffff
        12, 0, 7, 0,  0, 0, 0, 0,  0xff, 0xff, 0xff, 0xff,
        // IPVS_SVC_ATTR_TIMEOUT (8): 0
        8, 0, 8, 0,  0, 0, 0, 0,
        // IPVS_SVC_ATTR_NETMASK (9): 255.255.255.255
        8, 0, 9, 0,  0xff, 0xff, 0xff, 0xff,
    ];
    assert_eq!(bytes, expected);
    // And the kernel's reply form (no NLA_F_NESTED) reads back to the same service.
    let mut reply = expected.clone();
    reply[22] = 0x01;
    reply[23] = 0x00;
    assert_eq!(service_of(&unwire(&reply)), service);
}

#[test]
fn persistent_service_with_scheduler_flags_round_trips() {
    let service = Service {
        key: ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: sa("192.168.1.10:53"),
        },
        scheduler: "sh".into(),
        flags: svc_flags::PERSISTENT | svc_flags::SCHED_SH_PORT | svc_flags::SCHED_SH_FALLBACK,
        timeout: 300,
        netmask: 0xffff_ff00,
        pe_name: Some("sip".into()),
    };
    let message = IpvsMessage::new(cmd::SET_SERVICE, vec![CmdAttr::Service(service.attrs())]);
    let decoded = round_trip(message.clone());
    assert_eq!(decoded.cmd, cmd::SET_SERVICE);
    assert_eq!(service_of(&decoded), service);
    // 255.255.255.0 goes out as its octets (__be32).
    let netmask = service.attrs().into_iter().find_map(|a| match a {
        SvcAttr::Netmask(m) => Some(m),
        _ => None,
    });
    assert_eq!(netmask, Some([255, 255, 255, 0]));
}

#[test]
fn ipv6_fwmark_service_round_trips() {
    let service = Service {
        key: ServiceKey::Fwmark {
            family: Family::Inet6,
            mark: 7,
        },
        scheduler: "mh".into(),
        flags: svc_flags::ONEPACKET | svc_flags::SCHED2,
        timeout: 0,
        netmask: 64,
        pe_name: None,
    };
    let decoded = round_trip(IpvsMessage::new(
        cmd::NEW_SERVICE,
        vec![CmdAttr::Service(service.attrs())],
    ));
    assert_eq!(service_of(&decoded), service);
}

#[test]
fn the_kernels_hashed_flag_is_not_part_of_a_service() {
    let attrs = vec![
        SvcAttr::Af(2),
        SvcAttr::Fwmark(3),
        SvcAttr::SchedName("wlc".into()),
        SvcAttr::Flags {
            flags: svc_flags::HASHED | svc_flags::PERSISTENT,
            mask: u32::MAX,
        },
        SvcAttr::Timeout(360),
        SvcAttr::Netmask([255; 4]),
    ];
    let service = Service::from_attrs(&attrs).unwrap();
    assert_eq!(service.flags, svc_flags::PERSISTENT);
    assert_eq!(
        service.key,
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 3
        }
    );
}

#[test]
fn every_forwarding_method_round_trips_in_a_dest_request() {
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: sa("10.0.0.1:80"),
    };
    let methods = [
        Forwarding::Masq,
        Forwarding::DirectRoute,
        Forwarding::Tunnel(TunnelKind::Ipip, TunnelCsum::NoCsum),
        Forwarding::Tunnel(TunnelKind::Gue(6080), TunnelCsum::Csum),
        Forwarding::Tunnel(TunnelKind::Gre, TunnelCsum::RemCsum),
    ];
    for forwarding in methods {
        let dest = Dest {
            addr: sa("10.0.1.2:8080"),
            forwarding,
            weight: 3,
            u_threshold: 100,
            l_threshold: 10,
        };
        let decoded = round_trip(IpvsMessage::new(
            cmd::NEW_DEST,
            vec![CmdAttr::Service(key.attrs()), CmdAttr::Dest(dest.attrs())],
        ));
        assert_eq!(service_key_of(&decoded), key);
        assert_eq!(dest_of(&decoded, Family::Inet), dest, "{forwarding}");
    }
}

fn service_key_of(message: &IpvsMessage) -> ServiceKey {
    let attrs = message
        .attrs
        .iter()
        .find_map(|a| match a {
            CmdAttr::Service(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let mut full = attrs;
    full.push(SvcAttr::SchedName("x".into()));
    Service::from_attrs(&full).unwrap().key
}

#[test]
fn ipv6_dest_in_an_ipv4_service_keeps_its_family() {
    let dest = Dest {
        addr: sa("[2001:db8::2]:80"),
        forwarding: Forwarding::Tunnel(TunnelKind::Ipip, TunnelCsum::NoCsum),
        weight: 1,
        u_threshold: 0,
        l_threshold: 0,
    };
    let decoded = round_trip(IpvsMessage::new(
        cmd::NEW_DEST,
        vec![CmdAttr::Dest(dest.attrs())],
    ));
    assert_eq!(dest_of(&decoded, Family::Inet), dest);
}

#[test]
fn dest_tunnel_port_is_big_endian_on_the_wire() {
    let attr = DestAttr::TunPort(6080);
    let mut buffer = vec![0u8; attr.buffer_len()];
    attr.emit(&mut buffer);
    assert_eq!(buffer, [6, 0, 14, 0, 0x17, 0xc0, 0, 0]);
}

#[test]
fn timeouts_and_sync_daemon_requests_round_trip() {
    let timeouts = IpvsMessage::new(
        cmd::SET_CONFIG,
        vec![
            CmdAttr::TimeoutTcp(7200),
            CmdAttr::TimeoutTcpFin(120),
            CmdAttr::TimeoutUdp(300),
        ],
    );
    assert_eq!(round_trip(timeouts.clone()), timeouts);

    let daemon = SyncDaemon {
        state: SyncState::Master,
        interface: "eth0".into(),
        sync_id: 51,
        maxlen: Some(1472),
        port: Some(8848),
        ttl: Some(2),
        group: Some("224.0.0.81".parse().unwrap()),
    };
    let message = IpvsMessage::new(cmd::NEW_DAEMON, vec![CmdAttr::Daemon(daemon.attrs())]);
    let decoded = round_trip(message.clone());
    assert_eq!(decoded, message);
    assert!(matches!(
        &decoded.attrs[0],
        CmdAttr::Daemon(attrs) if attrs.contains(&DaemonAttr::McastGroup([224, 0, 0, 81]))
    ));
}

#[test]
fn a_reply_with_statistics_keeps_them_aside() {
    // A GET_DEST reply carries nested statistics and connection counters kad does not
    // model: they must not break the decoding.
    let dest = Dest {
        addr: sa("10.0.0.2:80"),
        forwarding: Forwarding::Masq,
        weight: 1,
        u_threshold: 0,
        l_threshold: 0,
    };
    let mut attrs = dest.attrs();
    attrs.push(DestAttr::ActiveConns(5));
    attrs.push(DestAttr::Other(netlink_packet_core::DefaultNla::new(
        10,
        vec![8, 0, 1, 0, 9, 0, 0, 0],
    )));
    let message = IpvsMessage::new(cmd::NEW_DEST, vec![CmdAttr::Dest(attrs)]);
    let decoded = round_trip(message);
    assert_eq!(dest_of(&decoded, Family::Inet), dest);
    // The raw bytes of the message parse through the generic header too.
    let bytes = wire(decoded.clone());
    let genl = GenlMessage::<IpvsMessage>::parse_with_param(&bytes[16..], 28).expect("genl parse");
    assert_eq!(genl.payload, decoded);
}

#[test]
fn the_master_sync_daemon_request_has_the_kernels_layout() {
    // keepalived.conf lvs_sync_daemon vec0 VI id 7, the instance MASTER.
    let daemon = SyncDaemon {
        state: SyncState::Master,
        interface: "vec0".into(),
        sync_id: 7,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let bytes = wire(IpvsMessage::new(
        cmd::NEW_DAEMON,
        vec![CmdAttr::Daemon(daemon.attrs())],
    ));
    // netlink header (16) + genl header: IPVS_CMD_NEW_DAEMON, version 1.
    assert_eq!(bytes[16..18], [9, 1]);
    let mut expected = vec![32, 0, 3, 0x80]; // IPVS_CMD_ATTR_DAEMON, nested, 28 bytes inside
    expected.extend([8, 0, 1, 0]); // IPVS_DAEMON_ATTR_STATE
    expected.extend(1u32.to_ne_bytes()); // IP_VS_STATE_MASTER
    expected.extend([9, 0, 2, 0]); // IPVS_DAEMON_ATTR_MCAST_IFN, NUL-terminated
    expected.extend(b"vec0\0\0\0\0");
    expected.extend([8, 0, 3, 0]); // IPVS_DAEMON_ATTR_SYNC_ID
    expected.extend(7u32.to_ne_bytes());
    assert_eq!(bytes[20..], expected[..]);

    // Stopping the backup one names only its state.
    let stop = wire(IpvsMessage::new(
        cmd::DEL_DAEMON,
        vec![CmdAttr::Daemon(vec![DaemonAttr::State(
            SyncState::Backup.number(),
        )])],
    ));
    assert_eq!(stop[16], 10);
    let mut expected = vec![12, 0, 3, 0x80, 8, 0, 1, 0];
    expected.extend(2u32.to_ne_bytes());
    assert_eq!(stop[20..], expected[..]);
    // And a reply in that layout reads back as the same attributes.
    let decoded = unwire(&bytes);
    assert_eq!(decoded.attrs, vec![CmdAttr::Daemon(daemon.attrs())]);
}

/// A dump part (`NLM_F_MULTIPART`) answering request `seq`, carrying one service.
fn dump_part(seq: u32, service: &Service) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(IpvsMessage::new(
        cmd::NEW_SERVICE,
        vec![CmdAttr::Service(service.attrs())],
    ));
    genl.set_resolved_family_id(28);
    let mut header = NetlinkHeader::default();
    header.flags = netlink_packet_core::NLM_F_MULTIPART;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    message.finalize();
    let mut buffer = vec![0u8; message.buffer_len()];
    message.serialize(&mut buffer);
    buffer
}

/// `NLMSG_DONE` (type 3) for request `seq`, with its 4-byte payload.
fn done(seq: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; 20];
    bytes[0..4].copy_from_slice(&20u32.to_ne_bytes());
    bytes[4..6].copy_from_slice(&3u16.to_ne_bytes());
    bytes[6..8].copy_from_slice(&netlink_packet_core::NLM_F_MULTIPART.to_ne_bytes());
    bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
    bytes
}

fn tcp_service(addr: &str) -> Service {
    Service {
        key: ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: sa(addr),
        },
        scheduler: "wlc".into(),
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    }
}

#[test]
fn a_dump_batch_skips_stale_replies_and_ends_at_done() {
    use super::reply::{decode_batch, services};
    let mine = tcp_service("10.0.0.1:80");
    let stale = tcp_service("10.0.0.9:80");
    let mut data = dump_part(6, &stale);
    data.extend(dump_part(7, &mine));
    let partial = decode_batch::<GenlMessage<IpvsMessage>>(&data, 7, false).unwrap();
    assert!(!partial.done, "a multipart reply alone does not end a dump");
    assert_eq!(partial.replies.len(), 1);
    data.extend(done(7));
    let batch = decode_batch::<GenlMessage<IpvsMessage>>(&data, 7, false).unwrap();
    assert!(batch.done);
    let attrs = batch.replies.into_iter().map(|r| r.payload.attrs).collect();
    assert_eq!(services(attrs).unwrap(), vec![mine]);
}

#[test]
fn a_truncated_or_undersized_message_is_a_decode_error_not_a_panic() {
    use super::reply::decode_batch;
    let whole = dump_part(7, &tcp_service("10.0.0.1:80"));
    for cut in [1, 15, 16, whole.len() - 1] {
        let result = decode_batch::<GenlMessage<IpvsMessage>>(&whole[..cut], 7, false);
        assert!(result.is_err(), "{cut} bytes read as a reply");
    }
    // A header claiming fewer bytes than a header.
    let mut tiny = whole.clone();
    tiny[0..4].copy_from_slice(&8u32.to_ne_bytes());
    assert!(decode_batch::<GenlMessage<IpvsMessage>>(&tiny, 7, false).is_err());
}

#[test]
fn an_error_reply_carrying_i32_min_is_read_without_overflow() {
    use super::reply::decode_batch;
    // NLMSG_ERROR (type 2) for seq 7: error code, then the offending request's header.
    let mut bytes = vec![0u8; 16 + 4 + 16];
    bytes[0..4].copy_from_slice(&36u32.to_ne_bytes());
    bytes[4..6].copy_from_slice(&2u16.to_ne_bytes());
    bytes[8..12].copy_from_slice(&7u32.to_ne_bytes());
    bytes[16..20].copy_from_slice(&i32::MIN.to_ne_bytes());
    bytes[20..24].copy_from_slice(&16u32.to_ne_bytes());
    let result = decode_batch::<GenlMessage<IpvsMessage>>(&bytes, 7, true);
    assert!(
        matches!(result, Err(super::IpvsError::Kernel { .. })),
        "{result:?}"
    );
}
