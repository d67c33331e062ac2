//! Criterion benchmarks of the BFD core: decode + §6.8.6 checks and encode of one control
//! packet (keepalived 2.2.7's steady Up packet, as captured), and one steady-state session
//! step (a peer's packet received, then the periodic packet due). Run:
//! `cargo bench -p kad-bfd --bench bfd_codec`; figures go to BENCHMARKS.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's fixtures: a panic is a broken benchmark, not a crash of kad"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kad_bfd::packet::{ControlPacket, State};
use kad_bfd::session::{Session, SessionConfig};

/// keepalived 2.2.7, state Up, no flags (see the packet tests).
const KEEPALIVED_UP: [u8; 24] = [
    0x20, 0xc0, 0x04, 0x18, 0x48, 0x7c, 0x02, 0xa3, 0xb5, 0xab, 0x6d, 0x0c, 0x00, 0x02, 0x49, 0xf0,
    0x00, 0x03, 0x0d, 0x40, 0x00, 0x00, 0x00, 0x00,
];

/// Two sessions brought Up back to back; returns A, B's steady packet, and the time.
fn up_pair() -> (Session, ControlPacket, Instant) {
    let config = SessionConfig {
        desired_min_tx: Duration::from_millis(1),
        required_min_rx: Duration::from_millis(1),
        detect_mult: 3,
        ..SessionConfig::default()
    };
    let mut now = Instant::now();
    let mut a = Session::new(config, 1, 1, now);
    let mut b = Session::new(config, 2, 2, now);
    let mut last_b = None;
    let step = |from: &mut Session, to: &mut Session, now: Instant| {
        if from.next_deadline().is_none_or(|t| t > now) {
            return None;
        }
        let packet = from.timeout(now).send?;
        if let Some(reply) = to.receive(now, &packet).send {
            from.receive(now, &reply);
        }
        Some(packet)
    };
    for _ in 0..10_000 {
        step(&mut a, &mut b, now);
        if let Some(packet) = step(&mut b, &mut a, now) {
            last_b = Some(packet);
        }
        now += Duration::from_micros(100);
    }
    assert_eq!((a.state(), b.state()), (State::Up, State::Up));
    (a, last_b.expect("B sent"), now)
}

fn bench(c: &mut Criterion) {
    let packet = ControlPacket::decode(&KEEPALIVED_UP).expect("valid");
    let mut group = c.benchmark_group("bfd_codec");
    group.bench_function("decode_validate", |b| {
        b.iter(|| black_box(ControlPacket::decode(black_box(&KEEPALIVED_UP)).expect("valid")))
    });
    group.bench_function("encode", |b| {
        b.iter(|| black_box(black_box(&packet).encode()))
    });
    group.finish();

    let (mut a, from_b, mut now) = up_pair();
    let mut group = c.benchmark_group("bfd_session");
    // One steady period: B's packet arrives, then A's periodic packet is due.
    group.bench_function("steady_receive_and_tx", |b| {
        b.iter(|| {
            now += Duration::from_millis(1);
            let out = a.receive(now, black_box(&from_b));
            let tx = a.timeout(a.next_deadline().expect("scheduled"));
            black_box((out, tx))
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
