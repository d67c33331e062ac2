//! Cost of the VRRP state machine handling one advertisement (virtual time, no IO).
//! `cargo bench -p kad-vrrp --bench vrrp_fsm`; figures in BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's fixtures: a panic is a broken benchmark, not a crash of kad"
)]

use std::{hint::black_box, net::IpAddr, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use kad_vrrp::fsm::{Action, Advert, Event, Instance, InstanceConfig, Timestamp, Version};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn instance(priority: u8) -> Instance {
    let mut c = InstanceConfig::new("VI_1", 51, ip("10.0.0.1"));
    c.version = Version::V3;
    c.priority = priority;
    c.virtuals.addresses = vec![ip("10.0.0.100")];
    let mut i = Instance::new(c).expect("valid config");
    i.handle(Timestamp::ZERO, Event::Startup);
    i
}

fn advert(priority: u8) -> Event {
    Event::Advert(Advert {
        source: ip("10.0.0.2"),
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs: 100,
    })
}

fn bench(c: &mut Criterion) {
    let step = Duration::from_millis(1000);
    // Backup hearing its Master: validate, learn the interval, re-arm Master_Down_Timer.
    c.bench_function("fsm/backup_rx_master_advert", |b| {
        let mut i = instance(100);
        let mut now = Timestamp::ZERO;
        let mut out: Vec<Action> = Vec::with_capacity(8);
        b.iter(|| {
            now = now + step;
            out.clear();
            i.handle_into(now, black_box(advert(200)), &mut out);
            black_box(&out);
        });
    });
    // Same through the allocating `handle` API.
    c.bench_function("fsm/backup_rx_master_advert_vec", |b| {
        let mut i = instance(100);
        let mut now = Timestamp::ZERO;
        b.iter(|| {
            now = now + step;
            black_box(i.handle(now, black_box(advert(200))));
        });
    });
    // Advert for another VRID: discarded without touching a timer.
    c.bench_function("fsm/discard_wrong_vrid", |b| {
        let mut i = instance(100);
        let mut out: Vec<Action> = Vec::with_capacity(8);
        let ev = Event::Advert(Advert {
            source: ip("10.0.0.2"),
            version: Version::V3,
            vrid: 52,
            priority: 200,
            interval_cs: 100,
        });
        b.iter(|| {
            out.clear();
            i.handle_into(Timestamp::from_micros(5), black_box(ev), &mut out);
            black_box(&out);
        });
    });
    // Master flooded with lower-priority adverts inside one interval (rate-limited path).
    c.bench_function("fsm/master_rx_lower_priority_flood", |b| {
        let mut i = instance(255);
        let mut now = Timestamp::ZERO;
        let mut out: Vec<Action> = Vec::with_capacity(8);
        i.handle_into(now, advert(50), &mut out);
        b.iter(|| {
            now = now + Duration::from_nanos(100);
            out.clear();
            i.handle_into(now, black_box(advert(50)), &mut out);
            black_box(&out);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
