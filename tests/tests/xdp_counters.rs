//! kad's XDP program in the running kernel: BPF_PROG_TEST_RUN over every captured frame and
//! every malformed class, and real frames crossing a veth between two network namespaces.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use kad::vrrp::packet::{AuthConfig, ChecksumMode};
use kad::xdp::{AttachMode, LoadOptions, PROBE_FRAME, XdpCounters, XdpDataplane, XdpVerdict};
use kad_common::xdp_counters::XdpReason;
use kad_tests::{
    capture::{capture_files, read_frames},
    netns::{NetNs, veth_pair},
    packet_socket::send_frame,
    vectors_dir,
    xdp_frames::{Advert, L3, fix_ipv4_checksum},
};

/// Offsets in [`PROBE_FRAME`] (Ethernet + 20-byte IPv4 + VRRPv3 with one address).
const IP_TOTAL_LEN: usize = 16;
const IP_TTL: usize = 22;
const VRRP_VERSION_TYPE: usize = 34;
const VRRP_COUNT_IP: usize = 37;

fn load() -> Result<XdpDataplane> {
    XdpDataplane::load(LoadOptions::default()).context("loading kad_xdp")
}

/// The reason the test expects, worked out from the frame independently of the program:
/// ethertype (a VLAN tag: the sub-interface's, passed), IP protocol 112, VRRP version nibble.
fn expected_reason(frame: &[u8]) -> XdpReason {
    let l3 = 14;
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    if ethertype == 0x8100 || ethertype == 0x88a8 {
        return XdpReason::VlanTagged;
    }
    let (protocol, vrrp) = match ethertype {
        0x0800 => (frame[l3 + 9], l3 + usize::from(frame[l3] & 0x0f) * 4),
        0x86dd => (frame[l3 + 6], l3 + 40),
        _ => return XdpReason::NotVrrp,
    };
    match (protocol, frame[vrrp] >> 4) {
        (112, 2) => XdpReason::VrrpV2,
        (112, 3) => XdpReason::VrrpV3,
        (112, _) => panic!("capture holds a VRRP packet of unknown version"),
        _ => XdpReason::NotVrrp,
    }
}

/// Asserts that between `before` and `after` exactly one counter, `reason`'s, moved, by one.
fn assert_only_moved(before: &XdpCounters, after: &XdpCounters, reason: XdpReason, what: &str) {
    let delta = after.since(before);
    for other in XdpReason::ALL {
        let want = u64::from(other == reason);
        assert_eq!(
            delta.get(other),
            want,
            "{what}: counter {} moved by {} (expected only {} to move by 1); delta {delta}",
            other.name(),
            delta.get(other),
            reason.name()
        );
    }
}

#[test]
fn test_run_passes_and_classifies_every_captured_frame() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dataplane = load()?;
    let files = capture_files(&vectors_dir())?;
    assert!(
        files.len() >= 20,
        "expected the lab captures, found {}",
        files.len()
    );
    let mut vrrp_frames = 0;
    for file in &files {
        for (index, frame) in read_frames(file)?.iter().enumerate() {
            let what = format!("{} frame {index}", file.display());
            let reason = expected_reason(&frame.data);
            let before = dataplane.counters()?;
            let verdict = dataplane.test_run(&frame.data)?;
            assert_eq!(
                verdict,
                XdpVerdict::Pass,
                "{what}: a real peer's frame was not passed"
            );
            assert_only_moved(&before, &dataplane.counters()?, reason, &what);
            if reason != XdpReason::NotVrrp {
                vrrp_frames += 1;
            }
        }
    }
    assert!(
        vrrp_frames > 100,
        "only {vrrp_frames} VRRP frames in the captures"
    );
    Ok(())
}

/// A frame derived from the captured keepalived advert by `mutate`.
fn probe_with(mutate: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut frame = PROBE_FRAME.to_vec();
    mutate(&mut frame);
    frame
}

fn set_ip_total_len(frame: &mut [u8], len: u16) {
    frame[IP_TOTAL_LEN..IP_TOTAL_LEN + 2].copy_from_slice(&len.to_be_bytes());
}

#[test]
fn test_run_drops_each_malformed_class_under_its_own_counter() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dataplane = load()?;
    let v6_frame = read_frames(&vectors_dir().join("single/v3-ipv6-prio200-2vips.pcap"))?
        .into_iter()
        .next()
        .context("IPv6 vector is empty")?
        .data;
    let cases: Vec<(&str, Vec<u8>, XdpReason)> = vec![
        (
            "TTL 254",
            probe_with(|f| f[IP_TTL] = 254),
            XdpReason::BadTtl,
        ),
        ("TTL 1", probe_with(|f| f[IP_TTL] = 1), XdpReason::BadTtl),
        (
            "IPv6 hop limit 64",
            {
                let mut f = v6_frame.clone();
                f[14 + 7] = 64;
                f
            },
            XdpReason::BadTtl,
        ),
        (
            "VRRP version 4",
            probe_with(|f| f[VRRP_VERSION_TYPE] = 0x41),
            XdpReason::BadVersion,
        ),
        (
            "VRRP version 1",
            probe_with(|f| f[VRRP_VERSION_TYPE] = 0x11),
            XdpReason::BadVersion,
        ),
        (
            "VRRPv2 over IPv6",
            {
                let mut f = v6_frame.clone();
                f[54] = 0x21;
                f
            },
            XdpReason::BadVersion,
        ),
        (
            "VRRP type 2",
            probe_with(|f| f[VRRP_VERSION_TYPE] = 0x32),
            XdpReason::BadType,
        ),
        (
            "VRRP type 0",
            probe_with(|f| f[VRRP_VERSION_TYPE] = 0x30),
            XdpReason::BadType,
        ),
        (
            "count_ip 2 with one address",
            probe_with(|f| f[VRRP_COUNT_IP] = 2),
            XdpReason::BadLength,
        ),
        (
            "IPv6 count_ip 3 with two addresses",
            {
                let mut f = v6_frame.clone();
                f[57] = 3;
                f
            },
            XdpReason::BadLength,
        ),
        (
            "IP total length beyond the frame",
            probe_with(|f| f.truncate(f.len() - 2)),
            XdpReason::Truncated,
        ),
        (
            "IHL 4 (16-byte header)",
            probe_with(|f| f[14] = 0x44),
            XdpReason::Truncated,
        ),
        (
            "VRRP message of 4 bytes",
            probe_with(|f| {
                f.truncate(38);
                set_ip_total_len(f, 24);
            }),
            XdpReason::Truncated,
        ),
    ];
    for (what, frame, reason) in &cases {
        let before = dataplane.counters()?;
        let verdict = dataplane.test_run(frame)?;
        assert_eq!(verdict, XdpVerdict::Drop, "{what}: not dropped");
        assert_only_moved(&before, &dataplane.counters()?, *reason, what);
    }

    let v2_frame = read_frames(&vectors_dir().join("single/v2-ipv4-authpass-prio200.pcap"))?
        .into_iter()
        .next()
        .context("v2 vector is empty")?
        .data;
    let mut no_auth = v2_frame.clone();
    no_auth.truncate(no_auth.len() - 8);
    let total = u16::try_from(no_auth.len() - 14).context("frame length")?;
    set_ip_total_len(&mut no_auth, total);
    let before = dataplane.counters()?;
    assert_eq!(
        dataplane.test_run(&no_auth)?,
        XdpVerdict::Drop,
        "v2 without auth data"
    );
    assert_only_moved(
        &before,
        &dataplane.counters()?,
        XdpReason::BadLength,
        "v2 without auth data",
    );
    Ok(())
}

/// Flips bits of the 16-bit field at `at` (a checksum), leaving everything else as it was.
fn corrupt(mut frame: Vec<u8>, at: usize) -> Vec<u8> {
    frame[at] ^= 0x5a;
    frame
}

#[test]
fn test_run_drops_broken_checksums_intervals_and_auth_types() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dataplane = load()?;
    let v3 = Advert::v3("10.77.0.1", 51, 200);
    let v2 = Advert::v2("10.77.0.1", 51, 200, AuthConfig::pass(b"nltest51"));
    let v6 = Advert::v3_ipv6("fe80::1", 51, 200);
    // Offsets of the VRRP checksum: Ethernet + IPv4 (20) or IPv6 (40) + 6.
    let (v4_sum, v6_sum) = (L3 + 20 + 6, L3 + 40 + 6);
    let with_ip_fixed = |mutate: &dyn Fn(&mut Vec<u8>)| -> Result<Vec<u8>> {
        let mut frame = v3.frame()?;
        mutate(&mut frame);
        fix_ipv4_checksum(&mut frame);
        Ok(frame)
    };
    let cases: Vec<(&str, Vec<u8>, XdpReason)> = vec![
        (
            "v2 checksum",
            corrupt(v2.frame()?, v4_sum),
            XdpReason::BadChecksum,
        ),
        (
            "v3 IPv4 pseudo-header checksum",
            corrupt(v3.frame()?, v4_sum),
            XdpReason::BadChecksum,
        ),
        (
            "v3 IPv4 pseudo-header: another source address",
            with_ip_fixed(&|f| f[L3 + 15] = 9)?,
            XdpReason::BadChecksum,
        ),
        (
            "v3 IPv6 checksum",
            corrupt(v6.frame()?, v6_sum),
            XdpReason::BadChecksum,
        ),
        (
            "IPv4 header checksum",
            corrupt(v3.frame()?, L3 + 10),
            XdpReason::BadChecksum,
        ),
        (
            "v3 interval 0",
            Advert {
                interval_cs: 0,
                ..v3.clone()
            }
            .frame()
            .or_else(|_| -> Result<Vec<u8>> {
                // The encoder refuses interval 0: clear it and fix the checksum by hand.
                let mut frame = v3.frame()?;
                let sum = u16::from_be_bytes([frame[v4_sum], frame[v4_sum + 1]]);
                let interval = u16::from_be_bytes([frame[L3 + 24], frame[L3 + 25]]);
                frame[L3 + 24..L3 + 26].copy_from_slice(&[0, 0]);
                let fixed = ones_complement_add(sum, interval);
                frame[v4_sum..v4_sum + 2].copy_from_slice(&fixed.to_be_bytes());
                Ok(frame)
            })?,
            XdpReason::BadInterval,
        ),
        (
            "v2 auth type 3",
            {
                let mut frame = v2.frame()?;
                frame[L3 + 24] = 3;
                frame
            },
            XdpReason::BadAuth,
        ),
        (
            "v2 auth type 2 without an AH",
            {
                let mut frame = v2.frame()?;
                frame[L3 + 24] = 2;
                frame
            },
            XdpReason::BadAuth,
        ),
        (
            "first fragment",
            with_ip_fixed(&|f| f[L3 + 6] = 0x20)?,
            XdpReason::Truncated,
        ),
        (
            "VRID 0",
            Advert::v3("10.77.0.1", 0, 200).frame()?,
            XdpReason::UnknownVrid,
        ),
    ];
    for (what, frame, reason) in &cases {
        let before = dataplane.counters()?;
        assert_eq!(dataplane.test_run(frame)?, XdpVerdict::Drop, "{what}");
        assert_only_moved(&before, &dataplane.counters()?, *reason, what);
    }

    // No instance configured: the socket decides which v3 IPv4 form it wants.
    let as_v2 = Advert {
        checksum: ChecksumMode::AsV2,
        ..v3.clone()
    };
    let before = dataplane.counters()?;
    assert_eq!(dataplane.test_run(&as_v2.frame()?)?, XdpVerdict::Pass);
    assert_only_moved(
        &before,
        &dataplane.counters()?,
        XdpReason::VrrpV3,
        "v3 checksum as v2, no instance",
    );
    Ok(())
}

/// RFC 1624 eqn. 3: the checksum `sum` after one 16-bit word of the data went from `old` to 0.
fn ones_complement_add(sum: u16, old: u16) -> u16 {
    let total = u32::from(sum) + u32::from(old);
    let folded = (total & 0xffff) + (total >> 16);
    folded as u16
}

#[test]
fn test_run_skips_ipv4_options() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dataplane = load()?;
    // RFC 2113 Router Alert (4 bytes) after the fixed header: IHL 6, total length + 4.
    let mut frame = Advert::v3("10.77.0.1", 51, 200).frame()?;
    frame.splice(L3 + 20..L3 + 20, [0x94, 0x04, 0x00, 0x00]);
    frame[L3] = 0x46;
    let total = u16::from_be_bytes([frame[L3 + 2], frame[L3 + 3]]) + 4;
    frame[L3 + 2..L3 + 4].copy_from_slice(&total.to_be_bytes());
    fix_ipv4_checksum(&mut frame);
    let before = dataplane.counters()?;
    assert_eq!(dataplane.test_run(&frame)?, XdpVerdict::Pass);
    assert_only_moved(
        &before,
        &dataplane.counters()?,
        XdpReason::VrrpV3,
        "advert with IPv4 options",
    );
    let mut broken_option = frame.clone();
    broken_option[L3 + 22] = 1;
    let before = dataplane.counters()?;
    assert_eq!(dataplane.test_run(&broken_option)?, XdpVerdict::Drop);
    assert_only_moved(
        &before,
        &dataplane.counters()?,
        XdpReason::BadChecksum,
        "IPv4 option not covered by the header checksum",
    );
    Ok(())
}

#[test]
fn test_run_passes_vlan_tagged_frames_untouched_and_ignores_other_traffic() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dataplane = load()?;
    let tagged = probe_with(|f| {
        f.splice(12..12, [0x81, 0x00, 0x00, 0x2a]);
    });
    let tagged_bad_ttl = {
        let mut f = tagged.clone();
        f[IP_TTL + 4] = 254;
        f
    };
    let not_ip = probe_with(|f| f[12..14].copy_from_slice(&[0x08, 0x06]));
    let udp = probe_with(|f| f[23] = 17);
    // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header.
    let runt = PROBE_FRAME[..14].to_vec();
    let cases = [
        // A tagged frame is the VLAN sub-interface's to judge, even a broken advert.
        (
            "802.1Q-tagged advert",
            &tagged,
            XdpVerdict::Pass,
            XdpReason::VlanTagged,
        ),
        (
            "802.1Q-tagged TTL 254",
            &tagged_bad_ttl,
            XdpVerdict::Pass,
            XdpReason::VlanTagged,
        ),
        (
            "ARP ethertype",
            &not_ip,
            XdpVerdict::Pass,
            XdpReason::NotVrrp,
        ),
        ("UDP", &udp, XdpVerdict::Pass, XdpReason::NotVrrp),
        (
            "IPv4 ethertype, no IP header",
            &runt,
            XdpVerdict::Pass,
            XdpReason::NotVrrp,
        ),
    ];
    for (what, frame, verdict, reason) in cases {
        let before = dataplane.counters()?;
        assert_eq!(dataplane.test_run(frame)?, verdict, "{what}");
        assert_only_moved(&before, &dataplane.counters()?, reason, what);
    }
    Ok(())
}

#[test]
fn attached_program_counts_frames_crossing_a_veth() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let sender = NetNs::new("tx")?;
    let receiver = NetNs::new("rx")?;
    veth_pair(&sender, "ktx0", &receiver, "krx0")?;

    let (mut dataplane, mode) = receiver.run(|| {
        let mut dataplane = load()?;
        let mode = dataplane.attach("krx0")?;
        Ok((dataplane, mode))
    })?;
    assert_eq!(
        mode,
        AttachMode::Native,
        "veth supports native XDP on this kernel"
    );
    let before = dataplane.counters()?;

    let bad_ttl = probe_with(|f| f[IP_TTL] = 64);
    sender.run(|| {
        for _ in 0..3 {
            send_frame("ktx0", &PROBE_FRAME)?;
        }
        for _ in 0..2 {
            send_frame("ktx0", &bad_ttl)?;
        }
        Ok(())
    })?;

    // Frames cross the veth asynchronously: wait (bounded) until all five are counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    let delta = loop {
        let delta = dataplane.counters()?.since(&before);
        if delta.get(XdpReason::VrrpV3) + delta.get(XdpReason::BadTtl) >= 5
            || Instant::now() > deadline
        {
            break delta;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        delta.get(XdpReason::VrrpV3),
        3,
        "valid adverts counted: {delta}"
    );
    assert_eq!(
        delta.get(XdpReason::BadTtl),
        2,
        "bad-TTL adverts counted: {delta}"
    );
    assert_eq!(
        delta.dropped(),
        2,
        "only the bad-TTL adverts dropped: {delta}"
    );
    dataplane.flush_log();
    drop(dataplane);
    Ok(())
}
