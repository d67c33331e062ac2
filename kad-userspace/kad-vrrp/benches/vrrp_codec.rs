//! Criterion benchmarks of the VRRP codec: decode + validate (what the receive path does
//! per advert) and encode. The packets are built by the encoder with the values of the
//! keepalived captures in tests/vectors (the vectors test shows these bytes are identical).
//! Run: `cargo bench -p kad-vrrp --bench vrrp_codec`; figures go to BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's fixtures: a panic is a broken benchmark, not a crash of kad"
)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kad_vrrp::packet::{
    AdvertSpec, AuthConfig, ChecksumMode, DecodeOptions, Ipv4Options, ReplayGuard, RxMeta, Version,
    decode_ethernet, decode_ipv4, decode_vrrp, encode_ipv4, encode_ipv4_vec, encode_vrrp_vec,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address literal")
}

fn spec<'a>(
    version: Version,
    addresses: &'a [IpAddr],
    auth: AuthConfig,
    src: &str,
    dst: &str,
) -> AdvertSpec<'a> {
    AdvertSpec {
        version,
        vrid: 51,
        priority: 200,
        interval_cs: 100,
        addresses,
        auth,
        ah_seq: 1,
        src: ip(src),
        dst: ip(dst),
        checksum: ChecksumMode::PseudoHeader,
    }
}

fn bench(c: &mut Criterion) {
    let opts = DecodeOptions::default();
    let v4 = [ip("10.77.0.100")];
    let v6 = [ip("fe80::77:100"), ip("fd77::100")];
    let pass = AuthConfig::pass(b"nltest51");
    let ah = AuthConfig::ah(b"nltest51");
    let (r1, group4, ll6, group6) = (
        "10.77.0.1",
        "224.0.0.18",
        "fe80::389e:50ff:fe0e:bb74",
        "ff02::12",
    );

    let v3_spec = spec(Version::V3, &v4, AuthConfig::None, r1, group4);
    let v3_ipv4 = encode_ipv4_vec(&v3_spec, &Ipv4Options::keepalived(1)).expect("v3");
    let mut v3_frame = vec![
        1, 0, 0x5e, 0, 0, 0x12, 0x3a, 0x9e, 0x50, 0x0e, 0xbb, 0x74, 0x08, 0x00,
    ];
    v3_frame.extend_from_slice(&v3_ipv4);
    let v2_pass = encode_ipv4_vec(
        &spec(Version::V2, &v4, pass, r1, group4),
        &Ipv4Options::keepalived(1),
    )
    .expect("v2");
    let v2_ah = encode_ipv4_vec(
        &spec(Version::V2, &v4, ah, r1, group4),
        &Ipv4Options::keepalived(1),
    )
    .expect("ah");
    let v6_payload =
        encode_vrrp_vec(&spec(Version::V3, &v6, AuthConfig::None, ll6, group6)).expect("v6");
    let v6_meta = RxMeta {
        src: ip(ll6),
        dst: ip(group6),
        ttl: 255,
    };

    let mut group = c.benchmark_group("vrrp_decode_validate");
    group.bench_function("v3_ipv4_packet", |b| {
        b.iter(|| {
            let adv = decode_ipv4(black_box(&v3_ipv4), &opts).expect("valid");
            adv.verify_auth(&AuthConfig::None).expect("auth");
            black_box(adv.priority())
        })
    });
    group.bench_function("v3_ethernet_frame", |b| {
        b.iter(|| {
            let adv = decode_ethernet(black_box(&v3_frame), &opts).expect("valid");
            adv.verify_auth(&AuthConfig::None).expect("auth");
            black_box(adv.priority())
        })
    });
    group.bench_function("v3_ipv6_payload_2vips", |b| {
        b.iter(|| {
            let adv = decode_vrrp(black_box(&v6_payload), v6_meta, &opts).expect("valid");
            adv.verify_auth(&AuthConfig::None).expect("auth");
            black_box(adv.addresses().count())
        })
    });
    group.bench_function("v2_ipv4_pass", |b| {
        b.iter(|| {
            let adv = decode_ipv4(black_box(&v2_pass), &opts).expect("valid");
            adv.verify_auth(&pass).expect("auth");
            black_box(adv.priority())
        })
    });
    group.bench_function("v2_ipv4_ah_hmac_md5", |b| {
        b.iter(|| {
            let adv = decode_ipv4(black_box(&v2_ah), &opts).expect("valid");
            // A fresh guard each time: the bench measures the checks, not a replay reject.
            let mut guard = ReplayGuard::new();
            adv.authenticate(&ah, &mut guard, std::time::Instant::now())
                .expect("auth");
            black_box(adv.priority())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("vrrp_encode");
    let mut buf = [0u8; 128];
    group.bench_function("v3_ipv4_packet", |b| {
        b.iter(|| {
            black_box(
                encode_ipv4(black_box(&v3_spec), &Ipv4Options::keepalived(1), &mut buf)
                    .expect("encode"),
            )
        })
    });
    let ah_spec = spec(Version::V2, &v4, ah, r1, group4);
    group.bench_function("v2_ipv4_ah_hmac_md5", |b| {
        b.iter(|| {
            black_box(
                encode_ipv4(black_box(&ah_spec), &Ipv4Options::keepalived(1), &mut buf)
                    .expect("encode"),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = bench
}
criterion_main!(benches);
