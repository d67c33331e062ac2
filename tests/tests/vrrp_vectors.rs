//! The VRRP codec against real captures (keepalived 2.2.7, FRR 8.4.4; tests/vectors):
//! every captured advert decodes, agrees with what tshark read from it, and re-encodes
//! byte for byte; real adverts, damaged one field at a time, fail with that field's error.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kad::vrrp::packet::{
    AdvertSpec, Advertisement, AuthConfig, AuthType, ChecksumMode, DecodeError, DecodeOptions,
    Family, Ipv4Options, RxMeta, Version, decode_ethernet, decode_ipv4, decode_vrrp,
    encode_ipv4_vec, encode_vrrp_vec, ethernet_payload, internet_checksum, vrrp_checksum,
};
use kad_common::vrrp_wire::{ETH_P_IP, ETH_P_IPV6, IPPROTO_VRRP};
use kad_tests::capture::{Frame, capture_files, read_frames};
use kad_tests::vectors_dir;

/// Whether a frame carries VRRP, judged from the raw bytes without the codec: EtherType
/// (after one optional VLAN tag) and the IPv4 protocol / IPv6 next-header byte.
fn carries_vrrp(frame: &[u8]) -> bool {
    let mut at = 12;
    let mut ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    if ethertype == 0x8100 {
        at += 4;
        ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
    }
    let ip = at + 2;
    match ethertype {
        ETH_P_IP => frame.get(ip + 9) == Some(&IPPROTO_VRRP),
        ETH_P_IPV6 => frame.get(ip + 6) == Some(&IPPROTO_VRRP),
        _ => false,
    }
}

/// The auth configuration that reproduces what the advert carries.
fn auth_of(adv: &Advertisement<'_>) -> AuthConfig {
    match (adv.auth_type(), adv.auth_data()) {
        (AuthType::Pass, Some(data)) => AuthConfig::Pass(*data),
        _ => AuthConfig::None,
    }
}

/// Re-encodes a decoded advert from its plain values; returns the bytes and the bytes of
/// the frame they must equal (IPv4: the whole IP packet; IPv6: the VRRP payload).
fn reencode<'f>(adv: &Advertisement<'_>, frame: &'f [u8]) -> (Vec<u8>, &'f [u8]) {
    let addresses: Vec<IpAddr> = adv.addresses().collect();
    let spec = AdvertSpec {
        version: adv.version(),
        vrid: adv.vrid(),
        priority: adv.priority(),
        interval_cs: adv.advert_interval_cs(),
        addresses: &addresses,
        auth: auth_of(adv),
        ah_seq: 0,
        src: adv.src(),
        dst: adv.dst(),
        checksum: ChecksumMode::PseudoHeader,
    };
    let ip = ethernet_payload(frame).expect("ethernet").payload;
    match adv.ipv4_header() {
        Some(header) => {
            let opts = Ipv4Options {
                id: header.id(),
                tos: header.tos(),
                dont_fragment: header.dont_fragment(),
                ttl: header.ttl(),
            };
            let total = usize::from(header.total_len());
            (
                encode_ipv4_vec(&spec, &opts).expect("encode ipv4"),
                &ip[..total],
            )
        }
        None => (encode_vrrp_vec(&spec).expect("encode vrrp"), &ip[40..]),
    }
}

/// The tshark fields of a single-packet vector (`.txt` beside the `.pcap`), by name.
fn tshark_fields(pcap: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(pcap.with_extension("txt")).expect("tshark .txt");
    let mut lines = text.lines();
    let names = lines.next().expect("header line").split('\t');
    let values = lines.next().expect("values line").split('\t');
    names
        .zip(values)
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn all_captures() -> Vec<PathBuf> {
    let files = capture_files(&vectors_dir()).expect("list vectors");
    assert!(files.len() >= 7 + 15, "vectors missing: {files:?}");
    files
}

#[test]
fn every_captured_advert_round_trips_byte_exact() {
    let opts = DecodeOptions::default();
    let mut total_vrrp = 0;
    for path in all_captures() {
        let frames = read_frames(&path).expect("read capture");
        let mut in_file = 0;
        for (n, Frame { data, .. }) in frames.iter().enumerate() {
            let place = format!("{} frame {n}", path.display());
            let decoded = decode_ethernet(data, &opts);
            if !carries_vrrp(data) {
                assert!(
                    matches!(
                        decoded,
                        Err(DecodeError::BadEtherType(_) | DecodeError::BadProtocol(_))
                    ),
                    "{place}: non-VRRP frame gave {decoded:?}"
                );
                continue;
            }
            let adv = decoded.unwrap_or_else(|e| panic!("{place}: {e}"));
            assert_eq!(adv.vrid(), 51, "{place}");
            assert_eq!(adv.verify_auth(&auth_of(&adv)), Ok(()), "{place}");
            let (encoded, captured) = reencode(&adv, data);
            assert_eq!(encoded, captured, "{place}: re-encoded bytes differ");
            in_file += 1;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("garp") && !name.starts_with("una") {
            assert!(in_file > 0, "{}: no VRRP advert found", path.display());
        }
        eprintln!("{}: {in_file} adverts round-tripped", path.display());
        total_vrrp += in_file;
    }
    eprintln!("total: {total_vrrp} adverts round-tripped");
}

#[test]
fn single_vectors_agree_with_tshark() {
    let opts = DecodeOptions::default();
    for path in all_captures()
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("single")))
    {
        let frames = read_frames(&path).expect("read capture");
        assert_eq!(frames.len(), 1, "{}", path.display());
        let data = &frames[0].data;
        let fields = tshark_fields(&path);
        if field(&fields, "vrrp.version").is_empty() {
            assert!(
                decode_ethernet(data, &opts).is_err(),
                "{}: not VRRP per tshark",
                path.display()
            );
            continue;
        }
        let adv =
            decode_ethernet(data, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (src, ttl) = match adv.family() {
            Family::V4 => (field(&fields, "ip.src"), field(&fields, "ip.ttl")),
            Family::V6 => (field(&fields, "ipv6.src"), field(&fields, "ipv6.hlim")),
        };
        assert_eq!(adv.src().to_string(), src, "{}", path.display());
        assert_eq!(adv.ttl().to_string(), ttl, "{}", path.display());
        assert_eq!(
            adv.version().to_wire().to_string(),
            field(&fields, "vrrp.version")
        );
        assert_eq!(adv.vrid().to_string(), field(&fields, "vrrp.virt_rtr_id"));
        assert_eq!(
            adv.priority().to_string(),
            field(&fields, "vrrp.prio"),
            "{}",
            path.display()
        );
        assert_eq!(
            field(&fields, "vrrp.checksum.status"),
            "1",
            "tshark saw a good checksum"
        );
    }
}

fn single(name: &str) -> Vec<u8> {
    let path = vectors_dir().join("single").join(format!("{name}.pcap"));
    read_frames(&path).expect("read vector").remove(0).data
}

#[test]
fn captured_field_values_match_the_lab_setup() {
    // Values from tests/vectors/README.md: VIPs, intervals, the PASS string.
    let opts = DecodeOptions::default();
    let vip4: IpAddr = "10.77.0.100".parse().unwrap();
    let v6: Vec<IpAddr> = vec![
        "fe80::77:100".parse().unwrap(),
        "fd77::100".parse().unwrap(),
    ];

    let data = single("v3-ipv4-prio200-adv10cs");
    let adv = decode_ethernet(&data, &opts).unwrap();
    assert_eq!(
        (
            adv.advert_interval_cs(),
            adv.addresses().collect::<Vec<_>>()
        ),
        (10, vec![vip4])
    );
    let data = single("v3-ipv4-prio200-adv100cs");
    assert_eq!(
        decode_ethernet(&data, &opts).unwrap().advert_interval_cs(),
        100
    );

    let data = single("v3-ipv6-prio200-2vips");
    let adv = decode_ethernet(&data, &opts).unwrap();
    assert_eq!(adv.addresses().collect::<Vec<_>>(), v6);
    assert_eq!(adv.dst(), "ff02::12".parse::<IpAddr>().unwrap());

    let data = single("v2-ipv4-authpass-prio200");
    let adv = decode_ethernet(&data, &opts).unwrap();
    assert_eq!(
        (adv.version(), adv.advert_interval_cs()),
        (Version::V2, 100)
    );
    assert_eq!(adv.auth_data(), Some(b"nltest51"));
    assert_eq!(adv.verify_auth(&AuthConfig::pass(b"nltest51")), Ok(()));
    let header = adv.ipv4_header().unwrap();
    assert_eq!(
        (header.tos(), header.dont_fragment(), header.ttl()),
        (0xc0, false, 255)
    );

    let data = single("frr-v2-ipv4-prio150");
    let adv = decode_ethernet(&data, &opts).unwrap();
    assert_eq!((adv.auth_type(), adv.priority()), (AuthType::None, 150));
    assert!(adv.ipv4_header().unwrap().dont_fragment(), "FRR sets DF");
}

/// IPv4 packet of a single vector (Ethernet header stripped).
fn ipv4_of(name: &str) -> Vec<u8> {
    single(name)[14..].to_vec()
}

/// Recomputes the VRRP checksum (bytes 26..28 of an IPv4 packet with a 20-byte header and
/// no padding) and the IPv4 header checksum, so only the damage under test is left.
fn refresh(packet: &mut [u8]) {
    let version = if packet[20] >> 4 == 2 {
        Version::V2
    } else {
        Version::V3
    };
    let src = IpAddr::from([packet[12], packet[13], packet[14], packet[15]]);
    let dst = IpAddr::from([packet[16], packet[17], packet[18], packet[19]]);
    if packet.len() >= 28 {
        let sum = vrrp_checksum(&packet[20..], version, src, dst, ChecksumMode::PseudoHeader);
        packet[26..28].copy_from_slice(&sum.to_be_bytes());
    }
    packet[10..12].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(&packet[..20]);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

fn damaged(name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> Result<(), DecodeError> {
    let mut packet = ipv4_of(name);
    damage(&mut packet);
    refresh(&mut packet);
    decode_ipv4(&packet, &DecodeOptions::default()).map(|_| ())
}

#[test]
fn damaged_real_adverts_fail_with_their_own_error() {
    let v3 = "v3-ipv4-prio200-adv100cs";
    let v2 = "v2-ipv4-authpass-prio200";
    assert_eq!(
        damaged(v3, |_| {}),
        Ok(()),
        "the refresh itself must not break anything"
    );
    assert_eq!(
        damaged(v3, |p| p[20] = 0x51),
        Err(DecodeError::BadVersion(5))
    );
    assert_eq!(damaged(v3, |p| p[20] = 0x33), Err(DecodeError::BadType(3)));
    assert_eq!(
        damaged(v3, |p| p[23] = 2),
        Err(DecodeError::CountMismatch { count: 2, len: 12 })
    );
    assert_eq!(damaged(v3, |p| p[8] = 64), Err(DecodeError::BadTtl(64)));
    assert_eq!(
        damaged(v3, |p| p[24..26].copy_from_slice(&[0, 0])),
        Err(DecodeError::BadInterval)
    );
    assert_eq!(damaged(v2, |p| p[25] = 0), Err(DecodeError::BadInterval));
    assert_eq!(
        damaged(v2, |p| p[24] = 7),
        Err(DecodeError::UnknownAuthType(7))
    );
    // Cut after the IP header's claim: total length shortened to 4 bytes of VRRP.
    assert_eq!(
        damaged(v3, |p| {
            p.truncate(24);
            p[2..4].copy_from_slice(&24u16.to_be_bytes());
        }),
        Err(DecodeError::Truncated { need: 8, have: 4 })
    );

    // Checksum: damage after the refresh.
    let mut packet = ipv4_of(v3);
    let expected = u16::from_be_bytes([packet[26], packet[27]]);
    packet[26] ^= 0x80;
    let found = expected ^ 0x8000;
    assert_eq!(
        decode_ipv4(&packet, &DecodeOptions::default()).map(|_| ()),
        Err(DecodeError::BadChecksum { expected, found })
    );

    // Authentication: wrong password, and a configured type the advert does not carry.
    let packet = ipv4_of(v2);
    let adv = decode_ipv4(&packet, &DecodeOptions::default()).unwrap();
    assert_eq!(
        adv.verify_auth(&AuthConfig::pass(b"nltest52")),
        Err(DecodeError::AuthMismatch)
    );
    assert_eq!(
        adv.verify_auth(&AuthConfig::None),
        Err(DecodeError::AuthTypeMismatch {
            expected: 0,
            found: 1
        })
    );
    let packet = ipv4_of(v3);
    let adv = decode_ipv4(&packet, &DecodeOptions::default()).unwrap();
    assert_eq!(
        adv.verify_auth(&AuthConfig::ah(b"nltest51")),
        Err(DecodeError::AuthTypeMismatch {
            expected: 2,
            found: 0
        })
    );
}

#[test]
fn ipv6_vector_payload_decodes_with_ancillary_metadata() {
    // As an IPv6 raw socket delivers it: the VRRP payload, addresses and hop limit apart.
    let frame = single("frr-v3-ipv6-prio150");
    let ip6 = &frame[14..];
    let src = IpAddr::from(<[u8; 16]>::try_from(&ip6[8..24]).unwrap());
    let dst = IpAddr::from(<[u8; 16]>::try_from(&ip6[24..40]).unwrap());
    let meta = RxMeta {
        src,
        dst,
        ttl: ip6[7],
    };
    let adv = decode_vrrp(&ip6[40..], meta, &DecodeOptions::default()).unwrap();
    assert_eq!((adv.priority(), adv.version()), (150, Version::V3));
    assert_eq!(
        decode_vrrp(
            &ip6[40..],
            RxMeta { ttl: 254, ..meta },
            &DecodeOptions::default()
        )
        .map(|_| ()),
        Err(DecodeError::BadTtl(254))
    );
}
