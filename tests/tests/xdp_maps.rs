//! kad's XDP program with instances configured through its maps, under `BPF_PROG_TEST_RUN` on
//! `lo`: what it records in `KAD_VRRP_SEEN`, which adverts wake userspace through
//! `KAD_VRRP_EVENTS` (and that steady ones never do), and every drop that needs the
//! configuration: unknown VRID, wrong version, authentication, unicast peers, VIPs.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
};

use anyhow::{Context as _, Result, bail, ensure};
use aya::maps::{MapData, RingBuf};
use kad::{
    vrrp::packet::{AuthConfig, AuthType, ChecksumMode, DecodeOptions, decode_ethernet},
    xdp::{LoadOptions, XdpCounters, XdpDataplane, XdpVerdict, address_bytes, parse_event},
};
use kad_common::{
    xdp_counters::XdpReason,
    xdp_maps::{
        EVENT_AUTH_FAILURE, EVENT_INTERVAL, EVENT_NEW_SENDER, EVENT_PREEMPTED, EVENT_PRIORITY,
        FAMILY_V4, FAMILY_V6, FLAG_CHECK_PEERS, FLAG_CHECKSUM_AS_V2, FLAG_OLD_CHECKSUM,
        FLAG_OLD_CHECKSUM_ONLY, FLAG_PREEMPT, FLAG_TO_SOCKET, FLAG_UNICAST, ROLE_BACKUP,
        ROLE_MASTER, VrrpConfig, VrrpEvent, VrrpKey,
    },
};
use kad_tests::{
    capture::{capture_files, read_frames},
    vectors_dir,
    xdp_frames::{
        Advert, L3, LO, MCAST_V4, backup_config, fix_ipv4_checksum, icmpv6_frame, udp_frame,
        vlan_tagged,
    },
};

/// A loaded program with its event ring, run as if frames arrived on `lo`, which has counter
/// slot 1 (instances are indexed by their interface's slot).
struct Harness {
    dataplane: XdpDataplane,
    events: RingBuf<MapData>,
}

impl Harness {
    fn new() -> Result<Self> {
        let mut dataplane =
            XdpDataplane::load(LoadOptions::default()).context("loading kad_xdp")?;
        let events = dataplane.take_events()?;
        dataplane.set_interface_slot(LO, 1)?;
        Ok(Self { dataplane, events })
    }

    /// Runs `frame` once and returns the verdict and the one reason counted for it (checking
    /// that exactly one global counter moved, by one).
    fn run(&self, frame: &[u8]) -> Result<(XdpVerdict, XdpReason)> {
        let before = self.dataplane.counters()?;
        let verdict = self.dataplane.test_run_on(frame, LO)?;
        let delta = self.dataplane.counters()?.since(&before);
        let moved: Vec<_> = XdpReason::ALL
            .into_iter()
            .filter(|reason| delta.get(*reason) != 0)
            .collect();
        match moved.as_slice() {
            [reason] if delta.get(*reason) == 1 => Ok((verdict, *reason)),
            _ => bail!("expected one counter to move by one, got {delta}"),
        }
    }

    /// Runs `frame` and checks its verdict and reason.
    fn expect(&self, frame: &[u8], reason: XdpReason, what: &str) -> Result<()> {
        let (verdict, got) = self.run(frame)?;
        ensure!(
            got == reason,
            "{what}: counted {got:?}, expected {reason:?}"
        );
        let want = if reason.drops() {
            XdpVerdict::Drop
        } else {
            XdpVerdict::Pass
        };
        ensure!(verdict == want, "{what}: verdict {verdict:?}");
        Ok(())
    }

    /// Runs `frame`, expects it to be counted under `Event` and to have sent exactly one
    /// record, which is returned.
    fn expect_event(&mut self, frame: &[u8], what: &str) -> Result<VrrpEvent> {
        self.expect(frame, XdpReason::Event, what)?;
        match self.events().as_slice() {
            [event] => Ok(*event),
            other => bail!("{what}: expected one event, got {other:?}"),
        }
    }

    /// Every event record waiting in the ring.
    fn events(&mut self) -> Vec<VrrpEvent> {
        let mut events = Vec::new();
        while let Some(item) = self.events.next() {
            match parse_event(&item) {
                Some(event) => events.push(event),
                None => panic!("short ring-buffer record of {} bytes", item.len()),
            }
        }
        events
    }

    fn configure(&mut self, key: VrrpKey, config: &VrrpConfig) -> Result<VrrpKey> {
        self.dataplane.set_vrrp_config(key, config)?;
        Ok(key)
    }

    fn seen(&self, key: &VrrpKey) -> Result<kad_common::xdp_maps::VrrpSeen> {
        self.dataplane
            .vrrp_seen(key)?
            .with_context(|| format!("no seen entry for {key:?}"))
    }
}

fn addr(address: &str) -> [u8; 16] {
    address_bytes(
        address
            .parse()
            .unwrap_or_else(|_| panic!("bad test address {address}")),
    )
    .1
}

#[test]
fn steady_adverts_are_recorded_without_waking_userspace() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let advert = Advert::v3("10.77.0.1", 51, 200);
    let key = h.configure(advert.key(LO), &backup_config(&advert, "10.77.0.2"))?;
    let frame = advert.frame()?;

    let event = h.expect_event(&frame, "first advert")?;
    assert_eq!(event.key, key);
    assert_eq!(event.kind, EVENT_NEW_SENDER);
    assert_eq!(event.sender, addr("10.77.0.1"));
    assert_eq!(
        (
            event.priority,
            event.version,
            event.interval_cs,
            event.count_ip
        ),
        (200, 3, 100, 1)
    );
    let first = h.seen(&key)?;
    assert_eq!(first.sender, addr("10.77.0.1"));
    assert_eq!(
        (
            first.priority,
            first.version,
            first.interval_cs,
            first.count
        ),
        (200, 3, 100, 1)
    );
    assert_eq!(first.last_ns, event.at_ns);

    let before = h.dataplane.counters()?;
    for n in 0..1_000 {
        let verdict = h.dataplane.test_run_on(&frame, LO)?;
        assert_eq!(verdict, XdpVerdict::Drop, "repeat {n}");
    }
    let delta = h.dataplane.counters()?.since(&before);
    assert_eq!(delta.get(XdpReason::Recorded), 1_000, "{delta}");
    assert_eq!(delta.dropped(), 1_000, "{delta}");
    assert!(
        h.events().is_empty(),
        "steady adverts must not wake userspace"
    );
    // Read from memory (the map is BPF_F_MMAPABLE): no system call per master-down timer.
    assert!(
        h.dataplane.seen_is_mapped(),
        "KAD_VRRP_SEEN not memory-mapped"
    );
    let last = h.seen(&key)?;
    assert_eq!(last.count, 1_001);
    assert!(last.last_ns > first.last_ns, "last_ns not refreshed");
    assert_eq!(
        (last.sender, last.priority, last.interval_cs),
        (first.sender, 200, 100)
    );
    Ok(())
}

#[test]
fn priority_interval_and_sender_changes_each_wake_userspace_once() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let base = Advert::v3("10.77.0.1", 51, 200);
    let key = h.configure(base.key(LO), &backup_config(&base, "10.77.0.2"))?;
    h.expect_event(&base.frame()?, "first advert")?;

    let lower = base.priority(150);
    let event = h.expect_event(&lower.frame()?, "priority 150")?;
    assert_eq!((event.kind, event.priority), (EVENT_PRIORITY, 150));
    h.expect(&lower.frame()?, XdpReason::Recorded, "priority 150 again")?;

    let leaving = base.priority(0);
    let event = h.expect_event(&leaving.frame()?, "priority 0")?;
    assert_eq!((event.kind, event.priority), (EVENT_PRIORITY, 0));
    assert_eq!(h.seen(&key)?.priority, 0);

    let slower = Advert {
        interval_cs: 200,
        ..leaving.clone()
    };
    let event = h.expect_event(&slower.frame()?, "interval 2 s")?;
    assert_eq!((event.kind, event.interval_cs), (EVENT_INTERVAL, 200));

    let both = Advert {
        interval_cs: 10,
        ..base.clone()
    };
    let event = h.expect_event(&both.frame()?, "priority and interval")?;
    assert_eq!(event.kind, EVENT_PRIORITY | EVENT_INTERVAL);

    let other = Advert::v3("10.77.0.3", 51, 120);
    let event = h.expect_event(&other.frame()?, "another sender")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER);
    assert_eq!(event.sender, addr("10.77.0.3"));
    h.expect(&other.frame()?, XdpReason::Recorded, "another sender again")?;
    let seen = h.seen(&key)?;
    assert_eq!(
        (seen.sender, seen.priority, seen.interval_cs, seen.count),
        (addr("10.77.0.3"), 120, 100, 8)
    );
    Ok(())
}

#[test]
fn master_is_told_of_preemption_on_every_advert() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let higher = Advert::v3("10.77.0.1", 51, 200);
    let config = VrrpConfig {
        role: ROLE_MASTER,
        ..backup_config(&higher, "10.77.0.2")
    };
    h.configure(higher.key(LO), &config)?;

    let event = h.expect_event(&higher.frame()?, "higher priority")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER | EVENT_PREEMPTED);
    for n in 0..3 {
        let event = h.expect_event(&higher.frame()?, "higher priority again")?;
        assert_eq!(event.kind, EVENT_PREEMPTED, "repeat {n}");
    }
    // RFC 5798 §6.4.3: a lower priority is discarded at a Master, without a wake-up.
    let lower = higher.priority(50);
    h.expect(&lower.frame()?, XdpReason::Discarded, "lower priority")?;
    h.expect(
        &lower.frame()?,
        XdpReason::Discarded,
        "lower priority again",
    )?;

    // RFC 5798 §6.4.3: equal priority, the higher primary address wins (10.77.0.3 > .2 > .1).
    let tie_higher = Advert::v3("10.77.0.3", 51, 100);
    let event = h.expect_event(&tie_higher.frame()?, "tie from a higher address")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER | EVENT_PREEMPTED);
    let event = h.expect_event(&tie_higher.frame()?, "tie from a higher address again")?;
    assert_eq!(event.kind, EVENT_PREEMPTED);
    let tie_lower = Advert::v3("10.77.0.1", 51, 100);
    let event = h.expect_event(&tie_lower.frame()?, "tie from a lower address")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER);
    h.expect(
        &tie_lower.frame()?,
        XdpReason::Recorded,
        "tie, lower, again",
    )?;

    // Once userspace has stepped down, the same advert is steady state.
    h.configure(
        higher.key(LO),
        &VrrpConfig {
            role: ROLE_BACKUP,
            ..config
        },
    )?;
    h.expect_event(&higher.frame()?, "back to the higher master")?;
    h.expect(&higher.frame()?, XdpReason::Recorded, "as backup")?;

    // IPv6: addresses compared as 128-bit numbers.
    let v6 = Advert::v3_ipv6("fe80::2", 51, 100);
    let v6_config = VrrpConfig {
        role: ROLE_MASTER,
        ..backup_config(&v6, "fe80::1")
    };
    h.configure(v6.key(LO), &v6_config)?;
    let event = h.expect_event(&v6.frame()?, "IPv6 tie from a higher address")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER | EVENT_PREEMPTED);
    assert_eq!(event.key.family, FAMILY_V6);
    Ok(())
}

#[test]
fn pass_authentication_is_checked_in_the_kernel() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let good = Advert::v2("10.77.0.1", 51, 200, AuthConfig::pass(b"nltest51"));
    let key = h.configure(good.key(LO), &backup_config(&good, "10.77.0.2"))?;
    h.expect_event(&good.frame()?, "right password")?;

    let wrong = Advert {
        auth: AuthConfig::pass(b"nltest52"),
        ..good.priority(250)
    };
    let event = {
        h.expect(&wrong.frame()?, XdpReason::BadAuth, "wrong password")?;
        match h.events().as_slice() {
            [event] => *event,
            other => bail!("wrong password: expected one event, got {other:?}"),
        }
    };
    assert_eq!(event.kind, EVENT_AUTH_FAILURE);
    assert_eq!((event.sender, event.priority), (addr("10.77.0.1"), 250));
    let seen = h.seen(&key)?;
    assert_eq!(
        (seen.priority, seen.count),
        (200, 1),
        "seen moved on a bad advert"
    );

    // A flood of bad adverts wakes userspace at most once a second per instance.
    h.expect(&wrong.frame()?, XdpReason::BadAuth, "wrong password again")?;
    let no_auth = Advert {
        auth: AuthConfig::None,
        ..good.clone()
    };
    h.expect(&no_auth.frame()?, XdpReason::BadAuth, "auth type 0 on PASS")?;
    assert!(h.events().is_empty(), "auth failures not rate-limited");

    h.expect(&good.frame()?, XdpReason::Recorded, "right password again")?;

    // An instance without authentication refuses PASS adverts (RFC 3768 §7.1 auth type).
    let plain = Advert::v2("10.77.0.1", 52, 200, AuthConfig::None);
    h.configure(plain.key(LO), &backup_config(&plain, "10.77.0.2"))?;
    let pass_on_plain = Advert {
        vrid: 52,
        ..good.clone()
    };
    h.expect(
        &pass_on_plain.frame()?,
        XdpReason::BadAuth,
        "PASS on an instance without auth",
    )?;
    let events = h.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].kind, events[0].key.vrid),
        (EVENT_AUTH_FAILURE, 52)
    );
    h.expect_event(&plain.frame()?, "no auth on an instance without auth")?;
    Ok(())
}

#[test]
fn ah_adverts_are_passed_to_userspace() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let ah = Advert::v2("10.77.0.1", 51, 200, AuthConfig::ah(b"nltest51"));
    let frame = ah.frame()?;
    ensure!(frame[L3 + 9] == 51, "the AH advert is not IP protocol 51");
    h.expect(&frame, XdpReason::VrrpV2, "AH, no instance")?;

    let key = h.configure(ah.key(LO), &backup_config(&ah, "10.77.0.2"))?;
    h.expect(&frame, XdpReason::VrrpV2, "AH, AH instance")?;
    assert!(h.dataplane.vrrp_seen(&key)?.is_none(), "AH advert recorded");
    assert!(h.events().is_empty());

    let pass = Advert::v2("10.77.0.1", 52, 200, AuthConfig::pass(b"nltest51"));
    h.configure(pass.key(LO), &backup_config(&pass, "10.77.0.2"))?;
    let ah_on_pass = Advert { vrid: 52, ..ah };
    h.expect(
        &ah_on_pass.frame()?,
        XdpReason::BadAuth,
        "AH on a PASS instance",
    )?;
    assert_eq!(h.events().len(), 1);

    let mut bad_ah_length = frame.clone();
    bad_ah_length[L3 + 20 + 1] = 5;
    h.expect(
        &bad_ah_length,
        XdpReason::BadLength,
        "AH of the wrong length",
    )?;
    Ok(())
}

#[test]
fn other_vrids_are_dropped_only_on_managed_interfaces() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let ours = Advert::v3("10.77.0.1", 51, 200);
    let theirs = Advert::v3("10.77.0.1", 52, 200);
    let theirs_v6 = Advert::v3_ipv6("fe80::1", 52, 200);
    h.expect(&theirs.frame()?, XdpReason::VrrpV3, "unmanaged interface")?;

    let key51 = h.configure(ours.key(LO), &backup_config(&ours, "10.77.0.2"))?;
    h.expect(
        &theirs.frame()?,
        XdpReason::UnknownVrid,
        "VRID 52 beside 51",
    )?;
    h.expect(
        &theirs_v6.frame()?,
        XdpReason::VrrpV3,
        "IPv6 is not managed",
    )?;
    let vrid0 = Advert::v3("10.77.0.1", 0, 200);
    h.expect(&vrid0.frame()?, XdpReason::UnknownVrid, "VRID 0")?;

    let other = Advert::v3("10.77.0.1", 53, 200);
    let key53 = h.configure(other.key(LO), &backup_config(&other, "10.77.0.2"))?;
    h.expect_event(&ours.frame()?, "VRID 51")?;
    h.dataplane.remove_vrrp_config(&key51)?;
    assert!(h.dataplane.vrrp_seen(&key51)?.is_none(), "seen entry kept");
    h.expect(
        &ours.frame()?,
        XdpReason::UnknownVrid,
        "51 removed, 53 left",
    )?;
    h.dataplane.remove_vrrp_config(&key53)?;
    h.expect(&theirs.frame()?, XdpReason::VrrpV3, "last instance removed")?;
    h.expect(&ours.frame()?, XdpReason::VrrpV3, "51 after removal")?;
    h.dataplane.remove_vrrp_config(&key53)?;
    assert!(
        h.dataplane
            .set_vrrp_config(VrrpKey { vrid: 0, ..key51 }, &VrrpConfig::default())
            .is_err(),
        "the marker VRID must be refused"
    );
    Ok(())
}

#[test]
fn adverts_of_the_other_version_are_dropped() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let v2 = Advert::v2("10.77.0.1", 51, 200, AuthConfig::None);
    let v3 = Advert::v3("10.77.0.1", 52, 200);
    h.configure(v2.key(LO), &backup_config(&v2, "10.77.0.2"))?;
    h.configure(v3.key(LO), &backup_config(&v3, "10.77.0.2"))?;
    h.expect(
        &Advert {
            vrid: 51,
            ..v3.clone()
        }
        .frame()?,
        XdpReason::BadVersion,
        "v3 on v2",
    )?;
    h.expect(
        &Advert {
            vrid: 52,
            ..v2.clone()
        }
        .frame()?,
        XdpReason::BadVersion,
        "v2 on v3",
    )?;
    assert!(h.events().is_empty());
    Ok(())
}

#[test]
fn v3_checksum_as_v2_is_accepted_only_when_configured() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let pseudo = Advert::v3("10.77.0.1", 51, 200);
    let as_v2 = Advert {
        checksum: ChecksumMode::AsV2,
        ..pseudo.clone()
    };
    ensure!(
        pseudo.frame()?[L3 + 26..L3 + 28] != as_v2.frame()?[L3 + 26..L3 + 28],
        "the two checksum forms should differ"
    );
    // No instance: the socket decides, so both forms pass.
    h.expect(&as_v2.frame()?, XdpReason::VrrpV3, "as v2, no instance")?;

    let config = backup_config(&pseudo, "10.77.0.2");
    let key = h.configure(pseudo.key(LO), &config)?;
    h.expect(
        &as_v2.frame()?,
        XdpReason::BadChecksum,
        "as v2, RFC instance",
    )?;
    h.expect_event(&pseudo.frame()?, "pseudo-header, RFC instance")?;

    h.configure(
        key,
        &VrrpConfig {
            flags: FLAG_CHECKSUM_AS_V2,
            ..config
        },
    )?;
    h.expect(
        &as_v2.frame()?,
        XdpReason::Recorded,
        "as v2, as-v2 instance",
    )?;
    h.expect(
        &pseudo.frame()?,
        XdpReason::Recorded,
        "pseudo-header, as-v2",
    )?;

    // IPv6 always uses its pseudo-header (RFC 8200 §8.1), whatever the flag says.
    let v6 = Advert::v3_ipv6("fe80::1", 51, 200);
    let v6_key = h.configure(
        v6.key(LO),
        &VrrpConfig {
            flags: FLAG_CHECKSUM_AS_V2,
            ..backup_config(&v6, "fe80::2")
        },
    )?;
    let mut v6_frame = v6.frame()?;
    h.expect_event(&v6_frame, "IPv6")?;
    let checksum_at = L3 + 40 + 6;
    v6_frame[checksum_at] ^= 0x40;
    h.expect(&v6_frame, XdpReason::BadChecksum, "IPv6, broken checksum")?;
    assert_eq!(h.seen(&v6_key)?.count, 1);
    Ok(())
}

/// keepalived.conf `old_unicast_checksum`: XDP checks keepalived's pre-2.2.0 VRRPv3 IPv4
/// checksum (the multicast group, from `checksum_group`, as pseudo-header destination) itself.
/// Under detection (`FLAG_OLD_CHECKSUM`) only an advert in the old form goes to the socket and
/// one in neither form is dropped as a bad checksum; in the old mode (`FLAG_OLD_CHECKSUM_ONLY`)
/// the old form is recorded and the RFC form alone is dropped.
#[test]
fn old_unicast_checksum_is_checked_in_the_kernel() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let mut rfc = Advert::v3("10.77.0.1", 51, 200);
    rfc.dst = "10.77.0.2".parse()?;
    let old = Advert {
        checksum: ChecksumMode::OldUnicast(MCAST_V4),
        ..rfc.clone()
    };
    let other_group = Advert {
        checksum: ChecksumMode::OldUnicast(Ipv4Addr::new(224, 0, 0, 19)),
        ..rfc.clone()
    };
    let checksum_at = L3 + 20 + 6;
    let mut neither = rfc.frame()?;
    neither[checksum_at] ^= 0x21;
    let sums: Vec<_> = [
        &rfc.frame()?,
        &old.frame()?,
        &other_group.frame()?,
        &neither,
    ]
    .iter()
    .map(|frame| [frame[checksum_at], frame[checksum_at + 1]])
    .collect();
    ensure!(
        (0..sums.len()).all(|i| (i + 1..sums.len()).all(|j| sums[i] != sums[j])),
        "the checksum forms should all differ: {sums:?}"
    );

    let detect = VrrpConfig {
        flags: FLAG_UNICAST | FLAG_OLD_CHECKSUM,
        checksum_group: MCAST_V4.octets(),
        ..backup_config(&rfc, "10.77.0.2")
    };
    let key = h.configure(rfc.key(LO), &detect)?;
    h.expect(&neither, XdpReason::BadChecksum, "detection, neither form")?;
    h.expect(
        &other_group.frame()?,
        XdpReason::BadChecksum,
        "detection, old form of another group",
    )?;
    h.expect(&old.frame()?, XdpReason::VrrpV3, "detection, old form")?;
    h.expect_event(&rfc.frame()?, "detection, RFC form")?;

    // global vrrp_mcast_group4: the group comes from the map.
    h.configure(
        key,
        &VrrpConfig {
            checksum_group: [224, 0, 0, 19],
            ..detect
        },
    )?;
    h.expect(
        &old.frame()?,
        XdpReason::BadChecksum,
        "detection, group 224.0.0.19, old form of 224.0.0.18",
    )?;
    h.expect(
        &other_group.frame()?,
        XdpReason::VrrpV3,
        "detection, group 224.0.0.19, its old form",
    )?;

    h.configure(
        key,
        &VrrpConfig {
            flags: FLAG_UNICAST | FLAG_OLD_CHECKSUM_ONLY,
            ..detect
        },
    )?;
    h.expect(&old.frame()?, XdpReason::Recorded, "old mode, old form")?;
    h.expect(&rfc.frame()?, XdpReason::BadChecksum, "old mode, RFC form")?;
    h.expect(&neither, XdpReason::BadChecksum, "old mode, neither form")?;
    assert_eq!(h.seen(&key)?.count, 2);
    Ok(())
}

#[test]
fn unicast_instances_take_adverts_from_their_peers_only() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let multicast = Advert::v3("10.77.0.1", 51, 200);
    let unicast = Advert {
        dst: "10.77.0.2".parse()?,
        ..multicast.clone()
    };
    let config = VrrpConfig {
        flags: FLAG_UNICAST,
        ..backup_config(&multicast, "10.77.0.2")
    };
    let key = h.configure(multicast.key(LO), &config)?;
    h.expect(
        &multicast.frame()?,
        XdpReason::NotPeer,
        "multicast to unicast",
    )?;
    h.dataplane
        .set_unicast_peers(key, &["10.77.0.3".parse()?])?;
    h.expect_event(&unicast.frame()?, "unicast, peers not checked")?;

    // keepalived `check_unicast_src` (or strict with unicast peers): FLAG_CHECK_PEERS. A
    // forged priority-254 advert at a Master would preempt it if it were accepted.
    h.configure(
        key,
        &VrrpConfig {
            flags: FLAG_UNICAST | FLAG_CHECK_PEERS,
            role: ROLE_MASTER,
            own_priority: 200,
            ..config
        },
    )?;
    let forged = unicast.priority(254);
    h.expect(&forged.frame()?, XdpReason::NotPeer, "checked, not a peer")?;
    let from_peer = Advert {
        src: "10.77.0.3".parse()?,
        ..unicast.clone()
    };
    h.expect_event(&from_peer.frame()?, "checked, from the peer")?;
    h.dataplane
        .set_unicast_peers(key, &["10.77.0.1".parse()?])?;
    h.expect(&from_peer.frame()?, XdpReason::NotPeer, "peer replaced")?;
    h.expect_event(&unicast.frame()?, "checked, from the new peer")?;
    assert!(
        h.dataplane
            .set_unicast_peers(key, &["fe80::1".parse()?])
            .is_err(),
        "an IPv6 peer for an IPv4 instance must be refused"
    );

    // A multicast instance refuses unicast adverts (keepalived: "Expected multicast").
    let other = Advert {
        vrid: 52,
        ..unicast.clone()
    };
    h.configure(other.key(LO), &backup_config(&other, "10.77.0.2"))?;
    h.expect(&other.frame()?, XdpReason::NotPeer, "unicast to multicast")?;

    // Our own advert, looped back.
    let own = Advert {
        vrid: 52,
        ..Advert::v3("10.77.0.2", 51, 100)
    };
    h.expect(&own.frame()?, XdpReason::NotPeer, "own advert")?;
    Ok(())
}

#[test]
fn traffic_to_non_accepting_vips_is_dropped() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let client = Ipv4Addr::new(10, 77, 0, 10);
    let vip = Ipv4Addr::new(10, 77, 0, 100);
    let to_vip = udp_frame(client, vip)?;
    let elsewhere = udp_frame(client, Ipv4Addr::new(10, 77, 0, 101))?;
    h.expect(&to_vip, XdpReason::NotVrrp, "no VIP listed")?;
    // An instance on another interface (index 4000) filters its VIP there, not on lo.
    h.dataplane.set_vip(4_000, IpAddr::V4(vip), true)?;
    h.expect(
        &to_vip,
        XdpReason::NotVrrp,
        "VIP listed for another interface",
    )?;
    h.dataplane.set_vip(LO, IpAddr::V4(vip), true)?;
    h.expect(&to_vip, XdpReason::VipNoAccept, "listed VIP")?;
    h.expect(&elsewhere, XdpReason::NotVrrp, "another address")?;
    h.expect(
        &vlan_tagged(&to_vip, 42),
        XdpReason::VlanTagged,
        "listed VIP, tagged: the VLAN sub-interface's traffic",
    )?;
    h.dataplane.set_vip(4_000, IpAddr::V4(vip), false)?;
    h.expect(&to_vip, XdpReason::VipNoAccept, "still listed for lo")?;
    h.expect(
        &Advert::v3("10.77.0.1", 51, 200).frame()?,
        XdpReason::VrrpV3,
        "adverts still pass",
    )?;
    h.dataplane.set_vip(LO, IpAddr::V4(vip), false)?;
    h.expect(&to_vip, XdpReason::NotVrrp, "VIP removed")?;
    h.dataplane.set_vip(LO, IpAddr::V4(vip), false)?;

    let vip6 = addr("fd77::100");
    let client6 = addr("fd77::10");
    h.dataplane.set_vip(4_000, "fd77::100".parse()?, true)?;
    h.expect(
        &icmpv6_frame(client6, vip6, 128)?,
        XdpReason::NotVrrp,
        "ping6 to a VIP listed for another interface",
    )?;
    h.dataplane.set_vip(LO, "fd77::100".parse()?, true)?;
    h.expect(
        &icmpv6_frame(client6, vip6, 128)?,
        XdpReason::VipNoAccept,
        "ping6 to the VIP",
    )?;
    for (icmp_type, what) in [(135, "neighbour solicitation"), (136, "advertisement")] {
        h.expect(
            &icmpv6_frame(client6, vip6, icmp_type)?,
            XdpReason::NotVrrp,
            what,
        )?;
    }
    h.expect(
        &icmpv6_frame(client6, addr("fd77::101"), 128)?,
        XdpReason::NotVrrp,
        "ping6 elsewhere",
    )?;
    Ok(())
}

/// A tagged frame on the parent's program belongs to a VLAN sub-interface (`eth0.100`): it is
/// neither judged against the parent's instances (a VRID reused on the parent would record
/// the VLAN's master against the parent's instance; any other VRID would be dropped as
/// `unknown_vrid`, so an instance on the VLAN never hears its peer) nor dropped.
#[test]
fn vlan_tagged_frames_are_left_to_the_sub_interface() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let advert = Advert::v3("10.77.0.1", 51, 200);
    let key = h.configure(advert.key(LO), &backup_config(&advert, "10.77.0.2"))?;
    let tagged = vlan_tagged(&advert.frame()?, 42);
    h.expect(&tagged, XdpReason::VlanTagged, "tagged, the parent's VRID")?;
    let mut qinq = tagged.clone();
    qinq[12..14].copy_from_slice(&[0x88, 0xa8]);
    h.expect(&qinq, XdpReason::VlanTagged, "802.1ad tag")?;
    let other_vrid = vlan_tagged(&Advert::v3("10.77.0.1", 52, 200).frame()?, 42);
    h.expect(
        &other_vrid,
        XdpReason::VlanTagged,
        "tagged, a VLAN-only VRID",
    )?;
    let mut broken = tagged.clone();
    broken[L3 + 4 + 20 + 6] ^= 0xff;
    h.expect(&broken, XdpReason::VlanTagged, "tagged, bad checksum")?;
    assert!(h.events().is_empty(), "no event for tagged frames");
    assert!(
        h.dataplane
            .vrrp_seen(&key)?
            .is_none_or(|seen| seen.count == 0),
        "nothing recorded against the parent's instance"
    );
    // The same advert untagged is the parent's.
    h.expect_event(&advert.frame()?, "untagged")?;
    Ok(())
}

#[test]
fn per_interface_counters_follow_the_slot() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let frame = Advert::v3("10.77.0.1", 51, 200).frame()?;
    let mut bad_ttl = frame.clone();
    bad_ttl[L3 + 8] = 64;
    fix_ipv4_checksum(&mut bad_ttl);

    assert!(
        h.dataplane.set_interface_slot(LO, 3).is_err(),
        "lo already has slot 1"
    );
    h.dataplane.remove_interface_slot(LO)?;
    h.dataplane.set_interface_slot(LO, 3)?;
    let (slot0, slot3, global) = (
        h.dataplane.interface_counters(0)?,
        h.dataplane.interface_counters(3)?,
        h.dataplane.counters()?,
    );
    for _ in 0..2 {
        h.run(&frame)?;
    }
    h.run(&bad_ttl)?;
    // Without an ingress interface, BPF_PROG_TEST_RUN runs the frame on the loopback device.
    assert_eq!(h.dataplane.test_run(&frame)?, XdpVerdict::Pass);
    let slot3_delta = h.dataplane.interface_counters(3)?.since(&slot3);
    assert_eq!(slot3_delta, h.dataplane.counters()?.since(&global));
    assert_eq!(slot3_delta.get(XdpReason::VrrpV3), 3, "{slot3_delta}");
    assert_eq!(slot3_delta.get(XdpReason::BadTtl), 1, "{slot3_delta}");
    assert_eq!(h.dataplane.interface_counters(0)?, slot0);

    h.dataplane.remove_interface_slot(LO)?;
    h.run(&frame)?;
    let slot0_delta: XdpCounters = h.dataplane.interface_counters(0)?.since(&slot0);
    assert_eq!(slot0_delta.get(XdpReason::VrrpV3), 1, "{slot0_delta}");
    assert!(h.dataplane.set_interface_slot(LO, 0).is_err());
    assert!(h.dataplane.set_interface_slot(LO, 64).is_err());
    assert!(h.dataplane.interface_counters(64).is_err());
    assert!(
        h.dataplane
            .set_interface_slot(kad_common::xdp_maps::MAX_IFINDEX, 1)
            .is_err()
    );
    Ok(())
}

#[test]
fn a_full_event_ring_loses_no_change() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let advert = Advert::v3("10.77.0.1", 51, 200);
    let key = h.configure(advert.key(LO), &backup_config(&advert, "10.77.0.2"))?;
    let frames = [advert.frame()?, advert.priority(199).frame()?];
    // Each priority flip is an event; nobody reads the ring until it is full.
    let mut events = 0;
    let mut passed = None;
    for n in 0..10_000 {
        let (verdict, reason) = h.run(&frames[n % 2])?;
        match reason {
            XdpReason::Event => events += 1,
            XdpReason::VrrpV3 if verdict == XdpVerdict::Pass => {
                passed = Some(n);
                break;
            }
            other => bail!("advert {n}: {other:?}"),
        }
    }
    let passed = passed.context("the ring never filled")?;
    assert!(events > 1_000, "ring full after only {events} events");
    let seen = h.seen(&key)?;
    let lost = &frames[passed % 2];
    let lost_priority = if passed % 2 == 0 { 200 } else { 199 };
    assert_ne!(seen.priority, lost_priority, "seen moved without an event");
    assert_eq!(seen.count, events);
    h.expect(lost, XdpReason::VrrpV3, "ring still full")?;

    assert_eq!(h.events().len() as u64, events);
    let event = h.expect_event(lost, "after draining")?;
    assert_eq!(
        (event.kind, event.priority),
        (EVENT_PRIORITY, lost_priority)
    );
    Ok(())
}

/// What the kernel should make of each advert of a capture, worked out independently.
#[derive(Default)]
struct Model {
    last: HashMap<VrrpKey, ([u8; 16], u8, u16)>,
}

impl Model {
    /// The event kind an accepted advert should raise (0: none), and the new state.
    fn kind(&mut self, key: VrrpKey, sender: [u8; 16], priority: u8, interval: u16) -> u32 {
        let kind = match self.last.get(&key) {
            None => EVENT_NEW_SENDER,
            Some((last, _, _)) if *last != sender => EVENT_NEW_SENDER,
            Some((_, last_priority, last_interval)) => {
                (if *last_priority != priority {
                    EVENT_PRIORITY
                } else {
                    0
                }) | (if *last_interval != interval {
                    EVENT_INTERVAL
                } else {
                    0
                })
            }
        };
        self.last.insert(key, (sender, priority, interval));
        kind
    }
}

#[test]
fn captured_conversations_replay_against_configured_instances() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    h.dataplane.set_interface_slot(LO, 1)?;
    let files = capture_files(&vectors_dir())?;
    let mut adverts = 0;
    let mut with_event = 0;
    for file in &files {
        let frames = read_frames(file)?;
        // One backup instance per (VRID, family) of the capture, expecting what its first
        // advert carries.
        let mut keys = HashMap::new();
        for frame in &frames {
            if let Ok(advert) = decode_ethernet(&frame.data, &DecodeOptions::default()) {
                let key = VrrpKey {
                    ifindex: LO,
                    vrid: advert.vrid(),
                    family: if advert.src().is_ipv4() {
                        FAMILY_V4
                    } else {
                        FAMILY_V6
                    },
                    pad: [0; 2],
                };
                keys.entry(key).or_insert_with(|| {
                    let (auth_type, auth_pass) = match advert.auth_type() {
                        AuthType::Pass => (1, *advert.auth_data().unwrap_or(&[0; 8])),
                        AuthType::Ah => (2, [0; 8]),
                        AuthType::None => (0, [0; 8]),
                    };
                    VrrpConfig {
                        version: advert.version().to_wire(),
                        auth_type,
                        auth_pass,
                        own_priority: 100,
                        own_addr: if key.family == FAMILY_V4 {
                            addr("10.77.0.250")
                        } else {
                            addr("fd77::250")
                        },
                        ..VrrpConfig::default()
                    }
                });
            }
        }
        for (key, config) in &keys {
            h.dataplane.set_vrrp_config(*key, config)?;
        }
        let mut model = Model::default();
        let global = h.dataplane.counters()?;
        let slot = h.dataplane.interface_counters(1)?;
        for (index, frame) in frames.iter().enumerate() {
            let what = format!("{} frame {index}", file.display());
            let Ok(advert) = decode_ethernet(&frame.data, &DecodeOptions::default()) else {
                h.expect(&frame.data, XdpReason::NotVrrp, &what)?;
                continue;
            };
            adverts += 1;
            let key = VrrpKey {
                ifindex: LO,
                vrid: advert.vrid(),
                family: if advert.src().is_ipv4() {
                    FAMILY_V4
                } else {
                    FAMILY_V6
                },
                pad: [0; 2],
            };
            let config = keys[&key];
            let sender = address_bytes(advert.src()).1;
            if config.version != advert.version().to_wire() {
                h.expect(&frame.data, XdpReason::BadVersion, &what)?;
                continue;
            }
            let kind = model.kind(key, sender, advert.priority(), advert.advert_interval_cs());
            if kind == 0 {
                h.expect(&frame.data, XdpReason::Recorded, &what)?;
                assert!(h.events().is_empty(), "{what}: unexpected event");
            } else {
                with_event += 1;
                let event = h.expect_event(&frame.data, &what)?;
                assert_eq!(event.kind, kind, "{what}");
                assert_eq!(event.key, key, "{what}");
                assert_eq!(event.sender, sender, "{what}");
                assert_eq!(event.priority, advert.priority(), "{what}");
                assert_eq!(event.interval_cs, advert.advert_interval_cs(), "{what}");
                assert_eq!(event.count_ip, advert.count(), "{what}");
            }
            let seen = h.seen(&key)?;
            assert_eq!(
                (seen.sender, seen.priority, seen.interval_cs),
                (sender, advert.priority(), advert.advert_interval_cs()),
                "{what}"
            );
        }
        assert_eq!(
            h.dataplane.interface_counters(1)?.since(&slot),
            h.dataplane.counters()?.since(&global),
            "{}: per-interface and global counters differ",
            file.display()
        );
        for key in keys.keys() {
            h.dataplane.remove_vrrp_config(key)?;
        }
    }
    assert!(adverts > 100, "only {adverts} adverts in the captures");
    assert!(with_event > 10, "only {with_event} adverts raised events");
    Ok(())
}

#[test]
fn instances_belong_to_their_interface_slot() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let advert = Advert::v3("10.77.0.1", 51, 200);
    let config = backup_config(&advert, "10.77.0.2");
    let elsewhere = VrrpKey {
        ifindex: 4_000,
        ..advert.key(LO)
    };
    assert!(
        h.dataplane.set_vrrp_config(elsewhere, &config).is_err(),
        "an interface without a slot cannot have instances"
    );
    assert!(
        h.dataplane
            .set_vrrp_config(
                advert.key(LO),
                &VrrpConfig {
                    version: 0,
                    ..config
                }
            )
            .is_err(),
        "version 0 means no instance"
    );
    let key = h.configure(advert.key(LO), &config)?;
    h.expect_event(&advert.frame()?, "configured")?;
    assert!(h.dataplane.vrrp_seen(&key)?.is_some());

    // Taking the slot away forgets the interface's instances.
    h.dataplane.remove_interface_slot(LO)?;
    h.expect(&advert.frame()?, XdpReason::VrrpV3, "no slot")?;
    assert!(h.dataplane.vrrp_seen(&key)?.is_none());
    h.dataplane.set_interface_slot(LO, 2)?;
    h.expect(&advert.frame()?, XdpReason::VrrpV3, "new slot, no instance")?;
    h.configure(key, &config)?;
    let event = h.expect_event(&advert.frame()?, "configured again")?;
    assert_eq!(event.kind, EVENT_NEW_SENDER);
    Ok(())
}

/// RFC 5798 §6.4.2: a Backup that preempts at once discards lower-priority adverts in the
/// kernel (a flood of forged lower-priority senders wakes nothing); one that does not
/// preempt (`nopreempt`, `preempt_delay`) must hear them, since they are its Master's.
#[test]
fn preempting_backup_discards_lower_priority_adverts() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let lower = Advert::v3("10.77.0.1", 51, 50);
    let config = VrrpConfig {
        flags: FLAG_PREEMPT,
        ..backup_config(&lower, "10.77.0.2")
    };
    h.configure(lower.key(LO), &config)?;
    for n in 0..3 {
        h.expect(
            &lower.frame()?,
            XdpReason::Discarded,
            &format!("forged {n}"),
        )?;
    }
    // Priority 0 is never discarded (RFC 5798 §6.4.2: Skew_Time).
    h.expect_event(&lower.priority(0).frame()?, "priority 0")?;
    h.configure(lower.key(LO), &backup_config(&lower, "10.77.0.2"))?;
    let event = h.expect_event(&lower.frame()?, "nopreempt hears its lower master")?;
    assert_ne!(event.kind, 0);
    Ok(())
}

/// keepalived checks the TTL of unicast adverts only against a peer's `min_ttl`/`max_ttl`:
/// adverts that crossed routers go to the socket for a unicast instance (userspace applies
/// keepalived's rules) and are dropped for a multicast one; with ranges (`FLAG_TO_SOCKET`)
/// even TTL 255 goes to the socket, where the ranges are applied.
#[test]
fn unicast_instances_take_any_ttl_and_ranges_go_to_the_socket() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let mut h = Harness::new()?;
    let mut advert = Advert::v3("10.77.0.1", 51, 200);
    advert.dst = "10.77.0.2".parse()?;
    let mut routed = advert.frame()?;
    // IPv4 TTL (Ethernet 14 + 8) after three routers.
    routed[22] = 252;
    fix_ipv4_checksum(&mut routed);
    let unicast = VrrpConfig {
        flags: FLAG_UNICAST,
        ..backup_config(&advert, "10.77.0.2")
    };
    h.configure(advert.key(LO), &unicast)?;
    h.expect(
        &routed,
        XdpReason::VrrpV3,
        "a unicast advert with TTL 252: to the socket",
    )?;
    h.expect_event(&advert.frame()?, "a unicast advert with TTL 255: recorded")?;
    h.configure(
        advert.key(LO),
        &VrrpConfig {
            flags: FLAG_UNICAST | FLAG_TO_SOCKET,
            ..unicast
        },
    )?;
    h.expect(&routed, XdpReason::VrrpV3, "TTL ranges: to the socket")?;
    h.expect(
        &advert.frame()?,
        XdpReason::VrrpV3,
        "TTL ranges, TTL 255: to the socket",
    )?;
    let mut multicast = Advert::v3("10.77.0.1", 51, 200).frame()?;
    multicast[22] = 252;
    fix_ipv4_checksum(&mut multicast);
    h.configure(advert.key(LO), &backup_config(&advert, "10.77.0.2"))?;
    h.expect(&multicast, XdpReason::BadTtl, "multicast with TTL 252")?;
    Ok(())
}
