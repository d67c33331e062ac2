//! `cargo xtask bench xdp`: nanoseconds per packet of kad's XDP program, measured by the
//! kernel with `BPF_PROG_TEST_RUN` and `repeat` (the program runs back to back on one CPU
//! with the same frame; the kernel reports the average). Frames are run as if received on
//! `lo`, with the instances (and BFD sessions) a daemon would configure. Prints a Markdown
//! table.
//!
//! Helper calls per steady packet (read from `bpftool prog dump xlated`: array, per-CPU
//! array and hash lookups are inlined by the verifier, so they are not calls):
//! - VRRP steady advert: 1, `bpf_ktime_get_ns` (plus the inlined lookups: interface slot,
//!   configuration and last-seen arrays, two counters).
//! - BFD steady control packet: 1, `bpf_ktime_get_ns`, plus the session hash lookup (its
//!   inlined form still calls `__htab_map_lookup_elem`) — and no timer helper: the timer
//!   re-arms itself from `last_ns` once per detect time (`kad-ebpf/src/bfd.rs`).
//! - BFD changed packet (passed to the socket): the same two calls, plus the VIP filter's
//!   hash lookup (`__htab_map_lookup_elem` on `KAD_VIP_V4`/`_V6`) that every passed IP
//!   packet pays; the timer helpers (`bpf_timer_init`, `_set_callback`, `_start`) only on
//!   the first packet of an armed session whose timer is not running.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail, ensure};
use aya::maps::{MapData, RingBuf};
use kad::{
    vrrp::packet::AuthConfig,
    xdp::{BfdExpect, LoadOptions, XdpDataplane, XdpVerdict},
};
use kad_common::{
    xdp_counters::XdpReason,
    xdp_maps::{EVENTS_RING_BYTES, ROLE_MASTER, VrrpConfig},
};
use kad_tests::{
    privilege::is_root,
    xdp_frames::{Advert, BfdFrame, L3, LO, backup_config, udp_frame},
};

/// One benchmark row.
struct Case {
    what: &'static str,
    frame: Vec<u8>,
    reason: XdpReason,
}

/// Runs per kernel call for cases that send events: fewer than the ring holds (64-byte
/// records), so that the ring can be drained between calls and never fills.
const EVENT_BATCH: u32 = EVENTS_RING_BYTES / 64 / 2;

fn main() -> Result<()> {
    if !is_root() {
        bail!("BPF_PROG_TEST_RUN needs root (CAP_BPF)");
    }
    let mut repeat = 1_000_000u32;
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => repeat = parse_next(&mut args, "--repeat")?,
            "--rounds" => rounds = parse_next(&mut args, "--rounds")?,
            "xdp" => {}
            other => {
                bail!("unknown argument {other:?} (usage: kad-xdp-bench [--repeat N] [--rounds N])")
            }
        }
    }

    let started = Instant::now();
    let mut dataplane = XdpDataplane::load(LoadOptions::default()).context("loading kad_xdp")?;
    let load = started.elapsed();
    let mut events = dataplane.take_events()?;
    let cases = configure(&mut dataplane)?;

    println!(
        "XDP program: ns per packet (BPF_PROG_TEST_RUN, repeat {repeat}, median of {rounds} rounds; \
         min / median / max)\n"
    );
    println!("| case | counted as | verdict | ns/packet |");
    println!("|---|---|---|---|");
    let floor_frame = Advert::v3("10.77.0.1", 51, 200).frame()?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        samples.push(floor::ns_per_run(&floor_frame, repeat)?);
    }
    print_row(
        "floor: a bare `return XDP_PASS` program, same frame",
        "-",
        "pass",
        samples,
    );
    for case in &cases {
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            samples.push(measure(&dataplane, &mut events, case, repeat)?);
        }
        let verdict = if case.reason.drops() { "drop" } else { "pass" };
        print_row(case.what, case.reason.name(), verdict, samples);
    }
    println!(
        "\nLoading and verifying the program took {} ms.",
        load.as_millis()
    );
    Ok(())
}

fn print_row(what: &str, reason: &str, verdict: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let (low, mid, high) = (
        samples.first().copied().unwrap_or_default(),
        samples.get(samples.len() / 2).copied().unwrap_or_default(),
        samples.last().copied().unwrap_or_default(),
    );
    println!("| {what} | {reason} | {verdict} | {low:.1} / {mid:.1} / {high:.1} |");
}

fn parse_next<T: std::str::FromStr>(
    args: &mut impl Iterator<Item = String>,
    flag: &str,
) -> Result<T> {
    args.next()
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("{flag} needs a number"))
}

/// The instances (on `lo`) and the frames of every case.
fn configure(dataplane: &mut XdpDataplane) -> Result<Vec<Case>> {
    dataplane.set_interface_slot(LO, 1)?;
    let steady = Advert::v3("10.77.0.1", 51, 200);
    dataplane.set_vrrp_config(steady.key(LO), &backup_config(&steady, "10.77.0.2"))?;
    let pass = Advert::v2("10.77.0.1", 52, 200, AuthConfig::pass(b"nltest51"));
    dataplane.set_vrrp_config(pass.key(LO), &backup_config(&pass, "10.77.0.2"))?;
    let v6 = Advert::v3_ipv6("fe80::1", 51, 200);
    dataplane.set_vrrp_config(v6.key(LO), &backup_config(&v6, "fe80::2"))?;
    // A Master hearing a higher priority: EVENT_PREEMPTED on every advert.
    let preempting = Advert::v3("10.77.0.1", 53, 200);
    dataplane.set_vrrp_config(
        preempting.key(LO),
        &VrrpConfig {
            role: ROLE_MASTER,
            ..backup_config(&preempting, "10.77.0.2")
        },
    )?;

    let mut bad_checksum = steady.frame()?;
    bad_checksum[L3 + 26] ^= 0x5a;
    let mut bad_version = steady.frame()?;
    bad_version[L3 + 20] = 0x41;
    // BFD: one armed single-hop session per family (detection by the kernel's timer, 30 ms).
    let bfd_v4 = BfdFrame::up("10.77.0.1", "10.77.0.2", 0x77, 0x4b41);
    let bfd_v6 = BfdFrame::up("fe80::1", "fe80::2", 0x77, 0x4b42);
    let mut sessions = dataplane.bfd_sessions()?;
    for (discriminator, frame) in [(0x4b41, &bfd_v4), (0x4b42, &bfd_v6)] {
        sessions.insert(
            discriminator,
            &BfdExpect {
                peer: frame.src,
                ifindex: LO,
                multihop: false,
                min_ttl: 0,
                detect: Duration::from_millis(30),
                armed: true,
            },
        )?;
    }
    // A changed packet, every time: the Poll bit (RFC 5880 §6.5) is passed to userspace
    // whatever the rest says (the control words are recorded, the sequence bumped).
    let mut bfd_poll = bfd_v4.clone();
    bfd_poll.control[1] |= kad_common::bfd_wire::FLAG_POLL;
    let mut bfd_bad_version = bfd_v4.clone();
    bfd_bad_version.control[0] = 0;
    let bfd_unknown = BfdFrame::up("10.77.0.1", "10.77.0.2", 0x77, 0x9999);
    let mut v6_prefix = [0u8; 16];
    v6_prefix[..2].copy_from_slice(&[0xfd, 0x77]);
    Ok(vec![
        Case {
            what: "(a) steady v3 IPv4 advert, instance configured",
            frame: steady.frame()?,
            reason: XdpReason::Recorded,
        },
        Case {
            what: "(a) steady v2 advert with PASS auth",
            frame: pass.frame()?,
            reason: XdpReason::Recorded,
        },
        Case {
            what: "(a) steady v3 IPv6 advert (2 addresses)",
            frame: v6.frame()?,
            reason: XdpReason::Recorded,
        },
        Case {
            what: "(b) garbage VRRP: version 4",
            frame: bad_version,
            reason: XdpReason::BadVersion,
        },
        Case {
            what: "(b) garbage VRRP: bad checksum",
            frame: bad_checksum,
            reason: XdpReason::BadChecksum,
        },
        Case {
            what: "(b) other router's VRID on a managed interface",
            frame: Advert::v3("10.77.0.1", 99, 200).frame()?,
            reason: XdpReason::UnknownVrid,
        },
        Case {
            what: "(c) UDP to a non-VIP address (VIP lookup, pass)",
            frame: udp_frame(Ipv4Addr::new(10, 77, 0, 10), Ipv4Addr::new(10, 77, 0, 1))?,
            reason: XdpReason::NotVrrp,
        },
        Case {
            what: "(c) ARP (not IP, pass)",
            frame: {
                let mut frame = steady.frame()?;
                frame[12..14].copy_from_slice(&[0x08, 0x06]);
                frame
            },
            reason: XdpReason::NotVrrp,
        },
        Case {
            what: "(d) advert preempting a Master: ring-buffer event",
            frame: preempting.frame()?,
            reason: XdpReason::Event,
        },
        Case {
            what: "(e) steady BFD control packet, IPv4, armed session",
            frame: bfd_v4.frame()?,
            reason: XdpReason::BfdRecorded,
        },
        Case {
            what: "(e) steady BFD control packet, IPv6, armed session",
            frame: bfd_v6.frame()?,
            reason: XdpReason::BfdRecorded,
        },
        Case {
            what: "(e) changed BFD packet (Poll bit), IPv4: recorded, passed to the socket",
            frame: bfd_poll.frame()?,
            reason: XdpReason::BfdChanged,
        },
        Case {
            what: "(e) garbage BFD: version 0",
            frame: bfd_bad_version.frame()?,
            reason: XdpReason::BfdBadVersion,
        },
        Case {
            what: "(e) BFD for an unknown discriminator (pass)",
            frame: bfd_unknown.frame()?,
            reason: XdpReason::BfdNoSession,
        },
    ])
}

/// Average ns per run of `case.frame` over `repeat` runs, after checking that one run is
/// counted as the case expects (after a first run: an instance's first advert is an event).
fn measure(
    dataplane: &XdpDataplane,
    events: &mut RingBuf<MapData>,
    case: &Case,
    repeat: u32,
) -> Result<f64> {
    dataplane.test_run_on(&case.frame, LO)?;
    let before = dataplane.counters()?;
    let verdict = dataplane.test_run_on(&case.frame, LO)?;
    let delta = dataplane.counters()?.since(&before);
    ensure!(
        delta.get(case.reason) == 1,
        "{}: expected {:?}, counted {delta}",
        case.what,
        case.reason
    );
    let want = if case.reason.drops() {
        XdpVerdict::Drop
    } else {
        XdpVerdict::Pass
    };
    ensure!(verdict == want, "{}: verdict {verdict:?}", case.what);
    drain(events);

    let batch = if case.reason == XdpReason::Event {
        EVENT_BATCH.min(repeat)
    } else {
        repeat
    };
    let mut done = 0u32;
    let mut total_ns = 0f64;
    while done < repeat {
        let runs = batch.min(repeat - done);
        let timing = dataplane.test_run_repeat(&case.frame, LO, runs)?;
        ensure!(timing.verdict == want, "{}: verdict changed", case.what);
        total_ns += timing.per_run.as_nanos() as f64 * f64::from(runs);
        done += runs;
        drain(events);
    }
    Ok(total_ns / f64::from(repeat))
}

fn drain(events: &mut RingBuf<MapData>) {
    while events.next().is_some() {}
}

/// The cost of `BPF_PROG_TEST_RUN` itself: a two-instruction XDP program (`r0 = XDP_PASS;
/// exit`) loaded and run with raw `bpf(2)` calls, so that the table can be read against the
/// machine's floor of the moment.
mod floor {
    use std::{
        io,
        os::fd::{FromRawFd as _, OwnedFd},
    };

    use anyhow::{Context as _, Result};

    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_TEST_RUN: libc::c_long = 10;
    const BPF_PROG_TYPE_XDP: u32 = 6;
    /// `mov64 r0, 2` (XDP_PASS); `exit`.
    const PROGRAM: [u64; 2] = [
        u64::from_le_bytes([0xb7, 0x00, 0, 0, 2, 0, 0, 0]),
        u64::from_le_bytes([0x95, 0, 0, 0, 0, 0, 0, 0]),
    ];

    /// `union bpf_attr`, large enough for both commands, written field by field.
    #[repr(C, align(8))]
    struct Attr([u8; 128]);

    impl Attr {
        fn put_u32(&mut self, at: usize, value: u32) {
            self.0[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        }
        fn put_u64(&mut self, at: usize, value: u64) {
            self.0[at..at + 8].copy_from_slice(&value.to_ne_bytes());
        }
        fn u32_at(&self, at: usize) -> u32 {
            u32::from_ne_bytes([self.0[at], self.0[at + 1], self.0[at + 2], self.0[at + 3]])
        }
    }

    fn bpf(command: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
        // SAFETY: attr is a valid, writable bpf_attr of the size passed; the kernel reads the
        // pointers stored in it (which point to live buffers of the caller) and writes back
        // into attr only.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                command,
                attr.0.as_mut_ptr(),
                attr.0.len() as libc::c_uint,
            )
        };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    }

    /// Average ns per run of the bare program on `frame` over `repeat` runs.
    pub fn ns_per_run(frame: &[u8], repeat: u32) -> Result<f64> {
        let license = c"GPL";
        let mut load = Attr([0; 128]);
        load.put_u32(0, BPF_PROG_TYPE_XDP);
        load.put_u32(4, PROGRAM.len() as u32);
        load.put_u64(8, PROGRAM.as_ptr() as u64);
        load.put_u64(16, license.as_ptr() as u64);
        let fd = bpf(BPF_PROG_LOAD, &mut load).context("BPF_PROG_LOAD of the floor program")?;
        let fd = i32::try_from(fd).context("program fd")?;
        // SAFETY: the kernel just returned this new descriptor, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut run = Attr([0; 128]);
        run.put_u32(0, std::os::fd::AsRawFd::as_raw_fd(&fd) as u32);
        run.put_u32(8, u32::try_from(frame.len()).context("frame length")?);
        run.put_u64(16, frame.as_ptr() as u64);
        run.put_u32(32, repeat);
        bpf(BPF_PROG_TEST_RUN, &mut run).context("BPF_PROG_TEST_RUN of the floor program")?;
        Ok(f64::from(run.u32_at(36)))
    }
}
