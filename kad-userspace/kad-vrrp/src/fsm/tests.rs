//! Behaviour tests of the instance state machine and sync groups (virtual time only).

use std::{net::IpAddr, time::Duration};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn cfg(priority: u8, addr: &str) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51, ip(addr));
    c.version = Version::V3;
    c.priority = priority;
    c.virtuals.addresses = vec![ip("10.0.0.100")];
    c
}

fn at(micros: u64) -> Timestamp {
    Timestamp::from_micros(micros)
}

fn advert(source: &str, priority: u8, interval_cs: u16) -> Event {
    Event::Advert(Advert {
        source: ip(source),
        version: Version::V3,
        vrid: 51,
        priority,
        interval_cs,
    })
}

fn started(c: InstanceConfig) -> Instance {
    let mut i = Instance::new(c).expect("valid config");
    i.handle(Timestamp::ZERO, Event::Startup);
    i
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(ad) => Some(ad.priority),
            _ => None,
        })
        .collect()
}

fn became(actions: &[Action]) -> Option<State> {
    actions.iter().rev().find_map(|a| match a {
        Action::StateChanged { to, .. } => Some(*to),
        _ => None,
    })
}

/// Drives `Timeout` at each deadline up to `until`, collecting actions.
fn run_until(i: &mut Instance, until: Timestamp) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(d) = i.next_deadline() {
        if d > until {
            break;
        }
        i.handle_into(d, Event::Timeout, &mut out);
    }
    out
}

#[test]
fn backup_becomes_master_exactly_at_master_down_interval() {
    let mut i = started(cfg(100, "10.0.0.1"));
    assert_eq!(i.state(), State::Backup);
    // 3 * 1 s + (256 - 100) / 256 s
    assert_eq!(i.next_deadline(), Some(at(3_609_375)));
    assert!(i.handle(at(3_609_374), Event::Timeout).is_empty());
    let out = i.handle(at(3_609_375), Event::Timeout);
    assert_eq!(became(&out), Some(State::Master));
    assert!(matches!(out[1], Action::AddVirtuals(_)));
    assert_eq!(sent_priorities(&out), vec![100]);
    assert!(out.iter().any(|a| matches!(
        a,
        Action::SendGratuitous {
            repeat: 5,
            reason: GarpReason::BecameMaster,
            ..
        }
    )));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            kind: NotifyKind::Master,
            ..
        }
    )));
    // Adverts every interval from then on.
    assert_eq!(i.next_deadline(), Some(at(4_609_375)));
    let out = run_until(&mut i, at(6_609_375));
    assert_eq!(sent_priorities(&out), vec![100, 100, 100]);
}

#[test]
fn no_accept_is_reported_with_the_virtuals_except_for_an_owner() {
    let mut c = cfg(100, "10.0.0.1");
    c.accept = false;
    let mut i = master(c.clone());
    let out = i.handle(at(9_000_000), Event::Shutdown);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RemoveVirtuals(set) if !set.accept))
    );
    c.priority = 255;
    let mut owner = Instance::new(c).expect("config");
    let out = owner.handle(at(0), Event::Startup);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::AddVirtuals(set) if set.accept))
    );
}

#[test]
fn owner_goes_master_at_startup() {
    let mut i = Instance::new(cfg(255, "10.0.0.1")).expect("config");
    let out = i.handle(at(7), Event::Startup);
    assert_eq!(i.state(), State::Master);
    assert_eq!(sent_priorities(&out), vec![255]);
    let Some(Action::AddVirtuals(set)) = out.iter().find(|a| matches!(a, Action::AddVirtuals(_)))
    else {
        panic!("no AddVirtuals in {out:?}");
    };
    assert!(set.accept);
}

#[test]
fn backup_takes_over_after_skew_on_priority_zero() {
    let mut i = started(cfg(100, "10.0.0.1"));
    i.handle(at(1_000_000), advert("10.0.0.2", 200, 100));
    assert_eq!(i.next_deadline(), Some(at(1_000_000 + 3_609_375)));
    i.handle(at(2_000_000), advert("10.0.0.2", 0, 100));
    // Skew_Time = 156/256 s
    assert_eq!(i.next_deadline(), Some(at(2_609_375)));
    let out = i.handle(at(2_609_375), Event::Timeout);
    assert_eq!(became(&out), Some(State::Master));
}

#[test]
fn backup_learns_the_masters_interval_in_v3() {
    let mut i = started(cfg(100, "10.0.0.1"));
    i.handle(at(0), advert("10.0.0.2", 200, 10));
    assert_eq!(i.master_adver_interval().get(), 10);
    // 3 * 0.1 s + 156 * 0.1 s / 256
    assert_eq!(i.next_deadline(), Some(at(360_937)));
}

#[test]
fn v2_discards_an_advert_with_another_interval() {
    let mut c = cfg(100, "10.0.0.1");
    c.version = Version::V2;
    let mut i = started(c);
    let deadline = i.next_deadline();
    let ev = Event::Advert(Advert {
        source: ip("10.0.0.2"),
        version: Version::V2,
        vrid: 51,
        priority: 200,
        interval_cs: 200,
    });
    let out = i.handle(at(1000), ev);
    assert_eq!(out, vec![Action::Discarded(DiscardReason::Interval)]);
    assert_eq!(i.next_deadline(), deadline);
}

#[test]
fn discarded_adverts_never_touch_a_timer() {
    let mut i = started(cfg(100, "10.0.0.1"));
    let deadline = i.next_deadline();
    for (ev, reason) in [
        (
            Event::Advert(Advert {
                source: ip("10.0.0.2"),
                version: Version::V3,
                vrid: 52,
                priority: 200,
                interval_cs: 100,
            }),
            DiscardReason::Vrid,
        ),
        (
            Event::Advert(Advert {
                source: ip("10.0.0.2"),
                version: Version::V2,
                vrid: 51,
                priority: 200,
                interval_cs: 100,
            }),
            DiscardReason::Version,
        ),
        (advert("10.0.0.2", 200, 0), DiscardReason::Interval),
        (advert("10.0.0.2", 200, 4096), DiscardReason::Interval),
        (advert("10.0.0.1", 200, 100), DiscardReason::Own),
        (advert("10.0.0.2", 50, 100), DiscardReason::LowerPriority),
    ] {
        assert_eq!(i.handle(at(500), ev), vec![Action::Discarded(reason)]);
        assert_eq!(i.next_deadline(), deadline);
    }
}

fn master(c: InstanceConfig) -> Instance {
    let mut i = started(c);
    let d = i.next_deadline().expect("armed");
    i.handle(d, Event::Timeout);
    assert_eq!(i.state(), State::Master);
    i
}

#[test]
fn master_yields_to_higher_priority_and_removes_virtuals() {
    let mut i = master(cfg(100, "10.0.0.1"));
    let out = i.handle(at(5_000_000), advert("10.0.0.2", 150, 50));
    assert_eq!(became(&out), Some(State::Backup));
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVirtuals(_))));
    assert!(sent_priorities(&out).is_empty());
    // v3: learned 0.5 s
    assert_eq!(i.next_deadline(), Some(at(5_000_000 + 1_500_000 + 304_687)));
}

#[test]
fn higher_prio_send_advert_sends_one_last_advert() {
    let mut c = cfg(100, "10.0.0.1");
    c.higher_prio_send_advert = true;
    let mut i = master(c);
    let out = i.handle(at(5_000_000), advert("10.0.0.2", 150, 100));
    assert_eq!(sent_priorities(&out), vec![100]);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn equal_priority_tie_goes_to_the_higher_primary_address() {
    let mut low = master(cfg(100, "10.0.0.1"));
    low.handle(at(5_000_000), advert("10.0.0.2", 100, 100));
    assert_eq!(low.state(), State::Backup);
    let mut high = master(cfg(100, "10.0.0.2"));
    let out = high.handle(at(5_000_000), advert("10.0.0.1", 100, 100));
    assert_eq!(high.state(), State::Master);
    assert!(out.contains(&Action::Discarded(DiscardReason::LowerPriority)));
    // Unsigned network-order comparison: 10.0.0.200 > 10.0.0.3.
    let mut m = master(cfg(100, "10.0.0.3"));
    m.handle(at(5_000_000), advert("10.0.0.200", 100, 100));
    assert_eq!(m.state(), State::Backup);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let mut i = master(cfg(100, "10.0.0.1"));
    let out = i.handle(at(4_000_000), advert("10.0.0.2", 0, 100));
    assert_eq!(sent_priorities(&out), vec![100]);
    assert_eq!(i.next_deadline(), Some(at(5_000_000)));
}

#[test]
fn lower_priority_advert_is_answered_at_most_once_per_interval() {
    let mut i = master(cfg(100, "10.0.0.1"));
    let t = 4_000_000;
    let first = i.handle(at(t), advert("10.0.0.2", 50, 100));
    assert_eq!(sent_priorities(&first), vec![100]);
    assert!(first.iter().any(|a| matches!(
        a,
        Action::SendGratuitous {
            repeat: 5,
            reason: GarpReason::LowerPriority,
            ..
        }
    )));
    assert!(first.iter().any(|a| matches!(
        a,
        Action::Notify {
            kind: NotifyKind::MasterRxLowerPri,
            ..
        }
    )));
    // A flood within the interval gets nothing back.
    for k in 1..100 {
        let out = i.handle(at(t + k * 1000), advert("10.0.0.2", 50, 100));
        assert_eq!(out, vec![Action::Discarded(DiscardReason::LowerPriority)]);
    }
    let later = i.handle(at(t + 1_000_000), advert("10.0.0.2", 50, 100));
    assert_eq!(sent_priorities(&later), vec![100]);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn lower_prio_no_advert_suppresses_the_answer() {
    let mut c = cfg(100, "10.0.0.1");
    c.lower_prio_no_advert = true;
    c.garp.lower_prio_repeat = 0;
    let mut i = master(c);
    let out = i.handle(at(4_000_000), advert("10.0.0.2", 50, 100));
    assert!(sent_priorities(&out).is_empty());
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::SendGratuitous { .. }))
    );
}

#[test]
fn garp_lower_prio_delay_sends_a_second_burst() {
    let mut c = cfg(100, "10.0.0.1");
    c.garp.lower_prio_delay = Duration::from_secs(2);
    c.garp.lower_prio_repeat = 3;
    c.garp.master_delay = Duration::ZERO;
    let mut i = master(c);
    i.handle(at(4_000_000), advert("10.0.0.2", 50, 100));
    let out = run_until(&mut i, at(6_000_000));
    let bursts: Vec<_> = out
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::SendGratuitous {
                    repeat: 3,
                    reason: GarpReason::LowerPriority,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(bursts.len(), 1);
}

#[test]
fn garp_master_delay_and_refresh_follow_the_schedule() {
    let mut c = cfg(100, "10.0.0.1");
    c.garp.master_delay = Duration::from_secs(5);
    c.garp.master_repeat = 2;
    c.garp.master_refresh = Duration::from_secs(10);
    c.garp.master_refresh_repeat = 1;
    let mut i = master(c);
    let start = 3_609_375;
    let out = run_until(&mut i, at(start + 30_000_000));
    let reasons: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Action::SendGratuitous { repeat, reason, .. } => Some((*repeat, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (2, GarpReason::MasterDelay),
            (1, GarpReason::Refresh),
            (1, GarpReason::Refresh),
            (1, GarpReason::Refresh),
        ]
    );
}

/// keepalived `garp_extra_if`: while Master, one message per extra interface every period,
/// stopped on leaving Master.
#[test]
fn garp_extra_if_sends_one_message_every_period_while_master() {
    let mut c = cfg(100, "10.0.0.1");
    c.garp.master_delay = Duration::ZERO;
    c.garp.extra_interfaces = Duration::from_secs(10);
    let mut i = master(c);
    let start = 3_609_375;
    let out = run_until(&mut i, at(start + 35_000_000));
    let extra = |out: &[Action]| {
        out.iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::SendGratuitous {
                        repeat: 1,
                        reason: GarpReason::ExtraInterfaces,
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(extra(&out), 3);
    i.handle(at(start + 35_500_000), advert("10.0.0.2", 200, 100));
    assert_eq!(i.state(), State::Backup);
    // Until the Master_Down timer would fire (no more adverts come): nothing.
    assert_eq!(extra(&run_until(&mut i, at(start + 38_500_000))), 0);
}

/// keepalived `vrrp_startup_delay`: the instance is Backup at once, but its Master_Down
/// timer counts from the end of the delay, also after adverts (a leaving Master's
/// priority 0 included); after the delay, timers count from now again.
#[test]
fn startup_hold_delays_the_first_master_down_timer() {
    let mut i = Instance::new(cfg(100, "10.0.0.1")).expect("valid config");
    i.hold_master_down_until(at(10_000_000));
    let out = i.handle(Timestamp::ZERO, Event::Startup);
    assert_eq!(became(&out), Some(State::Backup));
    assert_eq!(i.next_deadline(), Some(at(13_609_375)));
    i.handle(at(2_000_000), advert("10.0.0.2", 200, 100));
    assert_eq!(i.next_deadline(), Some(at(13_609_375)));
    i.handle(at(3_000_000), advert("10.0.0.2", 0, 100));
    assert_eq!(i.next_deadline(), Some(at(10_609_375)));
    let out = run_until(&mut i, at(10_609_375));
    assert_eq!(became(&out), Some(State::Master));
    i.handle(at(20_000_000), advert("10.0.0.2", 200, 100));
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(at(23_609_375)));
}

#[test]
fn nopreempt_backup_keeps_following_a_lower_master() {
    let mut c = cfg(200, "10.0.0.1");
    c.nopreempt = true;
    let mut i = started(c);
    for k in 0..20u64 {
        let out = i.handle(at(k * 1_000_000), advert("10.0.0.2", 100, 100));
        assert!(out.is_empty(), "{out:?}");
        run_until(&mut i, at(k * 1_000_000 + 999_999));
        assert_eq!(i.state(), State::Backup);
    }
    assert_eq!(i.current_master(), Some((ip("10.0.0.2"), 100)));
}

#[test]
fn preempting_backup_ignores_a_lower_master_and_takes_over() {
    let mut i = started(cfg(200, "10.0.0.1"));
    let mut taken = None;
    for k in 0..10u64 {
        i.handle(at(k * 1_000_000), advert("10.0.0.2", 100, 100));
        if run_until(&mut i, at(k * 1_000_000 + 999_999))
            .iter()
            .any(|a| {
                matches!(
                    a,
                    Action::StateChanged {
                        to: State::Master,
                        ..
                    }
                )
            })
        {
            taken = Some(k);
            break;
        }
    }
    // Master_Down_Interval for 200 is 3.21875 s after startup: during the 4th interval.
    assert_eq!(taken, Some(3));
}

#[test]
fn preempt_delay_postpones_preemption_of_a_lower_master() {
    let mut c = cfg(200, "10.0.0.1");
    c.preempt_delay = Duration::from_secs(5);
    let mut i = started(c);
    // Startup wait includes the delay.
    assert_eq!(i.next_deadline(), Some(at(3_218_750 + 5_000_000)));
    let mut taken = None;
    for k in 1..30u64 {
        i.handle(at(k * 1_000_000), advert("10.0.0.2", 100, 100));
        if run_until(&mut i, at(k * 1_000_000 + 999_999))
            .iter()
            .any(|a| {
                matches!(
                    a,
                    Action::StateChanged {
                        to: State::Master,
                        ..
                    }
                )
            })
        {
            taken = Some(k);
            break;
        }
    }
    // First lower advert at 1 s: followed until 6 s; last accepted at 5 s; down at
    // 5 s + 3.21875 s.
    assert_eq!(taken, Some(8));
}

#[test]
fn shutdown_as_master_sends_priority_zero_and_releases() {
    let mut i = master(cfg(100, "10.0.0.1"));
    let out = i.handle(at(9_000_000), Event::Shutdown);
    assert_eq!(sent_priorities(&out), vec![0]);
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVirtuals(_))));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            kind: NotifyKind::Stop,
            ..
        }
    )));
    assert_eq!(i.state(), State::Initialize);
    assert_eq!(i.next_deadline(), None);
}

#[test]
fn weighted_trackers_move_the_effective_priority() {
    let mut c = cfg(100, "10.0.0.1");
    c.notify_priority_changes = true;
    c.tracked = vec![
        TrackedObject::new(TrackerId(1), TrackerKind::Script, 30, false),
        TrackedObject::new(TrackerId(2), TrackerKind::File, 5, false),
    ];
    let mut i = started(c);
    assert_eq!(i.priority(), 130);
    let out = i.handle(
        at(10),
        Event::Tracker {
            id: TrackerId(1),
            status: TrackerStatus::Down,
        },
    );
    assert_eq!(out[0], Action::PriorityChanged { from: 130, to: 100 });
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            kind: NotifyKind::Priority { master: false },
            ..
        }
    )));
    i.handle(
        at(20),
        Event::Tracker {
            id: TrackerId(2),
            status: TrackerStatus::Value(-30),
        },
    );
    assert_eq!(i.priority(), 1);
    i.handle(at(30), Event::SetPriority(250));
    // 250 - 30 * 5
    assert_eq!(i.priority(), 100);
    i.handle(
        at(40),
        Event::Tracker {
            id: TrackerId(2),
            status: TrackerStatus::Value(10),
        },
    );
    // 250 + 10 * 5, limited to 254
    assert_eq!(i.priority(), 254);
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn unweighted_tracker_failure_faults_a_master_which_sends_priority_zero() {
    let mut c = cfg(100, "10.0.0.1");
    c.tracked = vec![TrackedObject::new(
        TrackerId(7),
        TrackerKind::Interface,
        0,
        false,
    )];
    let mut i = master(c);
    let out = i.handle(
        at(5_000_000),
        Event::Tracker {
            id: TrackerId(7),
            status: TrackerStatus::Down,
        },
    );
    assert_eq!(became(&out), Some(State::Fault));
    assert_eq!(sent_priorities(&out), vec![0]);
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVirtuals(_))));
    assert_eq!(i.next_deadline(), None);
    // Adverts are not listened to in FAULT.
    assert_eq!(
        i.handle(at(5_500_000), advert("10.0.0.2", 50, 100)),
        vec![Action::Discarded(DiscardReason::NotListening)]
    );
    let out = i.handle(
        at(6_000_000),
        Event::Tracker {
            id: TrackerId(7),
            status: TrackerStatus::Up,
        },
    );
    assert_eq!(became(&out), Some(State::Backup));
    assert_eq!(i.next_deadline(), Some(at(6_000_000 + 3_609_375)));
}

#[test]
fn interface_down_faults_without_sending() {
    let mut i = master(cfg(100, "10.0.0.1"));
    let out = i.handle(at(5_000_000), Event::Interface { up: false });
    assert_eq!(i.state(), State::Fault);
    assert!(sent_priorities(&out).is_empty());
    let mut j = Instance::new(cfg(100, "10.0.0.1")).expect("config");
    j.handle(at(0), Event::Interface { up: false });
    j.handle(at(1), Event::Startup);
    assert_eq!(j.state(), State::Fault);
}

/// keepalived `num_config_faults` (`unicast_fault_no_peer` without peers): FAULT from the
/// start and for good — no advert sent, none heeded, no timer, the link coming and going
/// changes nothing.
#[test]
fn a_config_fault_keeps_the_instance_in_fault() {
    let c = InstanceConfig {
        config_fault: true,
        ..cfg(255, "10.0.0.1")
    };
    let mut i = Instance::new(c).expect("config");
    let out = i.handle(at(0), Event::Startup);
    assert_eq!(i.state(), State::Fault);
    assert!(sent_priorities(&out).is_empty());
    assert_eq!(i.next_deadline(), None);
    let mut out = i.handle(at(1_000_000), advert("10.0.0.2", 100, 100));
    out.extend(i.handle(at(2_000_000), Event::Interface { up: false }));
    out.extend(i.handle(at(3_000_000), Event::Interface { up: true }));
    out.extend(run_until(&mut i, at(20_000_000)));
    assert_eq!(i.state(), State::Fault);
    assert!(sent_priorities(&out).is_empty());
    assert_eq!(became(&out), None);
}

/// keepalived `track_src_ip`: the configured source address leaving the interface faults
/// the instance, as a link loss does, and its return starts it again (Backup, then Master
/// when nobody speaks).
#[test]
fn a_missing_source_address_faults_until_it_returns() {
    let mut i = master(cfg(200, "10.0.0.1"));
    let out = i.handle(at(5_000_000), Event::SourceAddress { present: false });
    assert_eq!(i.state(), State::Fault);
    assert_eq!(became(&out), Some(State::Fault));
    let out = run_until(&mut i, at(10_000_000));
    assert_eq!(became(&out), None);
    let out = i.handle(at(10_000_000), Event::SourceAddress { present: true });
    assert_eq!(became(&out), Some(State::Backup));
    run_until(&mut i, at(20_000_000));
    assert_eq!(i.state(), State::Master);
}

// ---- sync groups ----

fn group(tracking_weight: bool) -> SyncGroup {
    let mut a = cfg(100, "10.0.0.1");
    a.name = "VI_A".into();
    a.tracked = vec![TrackedObject::new(
        TrackerId(1),
        TrackerKind::Script,
        -50,
        false,
    )];
    let mut b = cfg(100, "10.0.0.1");
    b.name = "VI_B".into();
    b.vrid = 52;
    let mut g = SyncGroupConfig::new("G1");
    g.tracking_weight = tracking_weight;
    SyncGroup::new(g, vec![a, b]).expect("group")
}

fn advert_vrid(vrid: u8, priority: u8) -> Event {
    Event::Advert(Advert {
        source: ip("10.0.0.2"),
        version: Version::V3,
        vrid,
        priority,
        interval_cs: 100,
    })
}

#[test]
fn sync_group_goes_master_only_when_every_member_times_out() {
    let mut g = group(false);
    g.handle_all(at(0), Event::Startup);
    // Member B keeps hearing a master; A times out alone and must wait.
    for k in 0..10u64 {
        g.handle(at(k * 1_000_000), 1, advert_vrid(52, 200));
        while let Some(d) = g.next_deadline().filter(|d| *d < at((k + 1) * 1_000_000)) {
            g.handle_all(d, Event::Timeout);
        }
        assert!(g.members().iter().all(|m| m.state() == State::Backup));
    }
    // B's master goes quiet: both go Master together, with one group notify.
    let mut actions = Vec::new();
    while let Some(d) = g.next_deadline().filter(|d| *d < at(20_000_000)) {
        actions.extend(g.handle_all(d, Event::Timeout));
    }
    assert!(g.members().iter().all(|m| m.state() == State::Master));
    assert_eq!(g.state(), State::Master);
    let group_notifies: Vec<_> = actions.iter().filter(|a| a.member.is_none()).collect();
    assert_eq!(group_notifies.len(), 1);
}

#[test]
fn sync_group_member_fault_takes_all_to_fault_and_back() {
    let mut g = group(false);
    g.handle_all(at(0), Event::Startup);
    while let Some(d) = g.next_deadline().filter(|d| *d < at(5_000_000)) {
        g.handle_all(d, Event::Timeout);
    }
    assert_eq!(g.state(), State::Master);
    // Weight -50 is zeroed in a group: the failing script means FAULT for everyone.
    let out = g.handle(
        at(6_000_000),
        0,
        Event::Tracker {
            id: TrackerId(1),
            status: TrackerStatus::Down,
        },
    );
    assert!(g.members().iter().all(|m| m.state() == State::Fault));
    assert!(out.iter().any(|a| a.member.is_none()
        && matches!(
            a.action,
            Action::Notify {
                kind: NotifyKind::Fault,
                ..
            }
        )));
    assert_eq!(
        out.iter()
            .filter(|a| matches!(&a.action, Action::SendAdvert(ad) if ad.priority == 0))
            .count(),
        2
    );
    g.handle(
        at(7_000_000),
        0,
        Event::Tracker {
            id: TrackerId(1),
            status: TrackerStatus::Up,
        },
    );
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    assert_eq!(g.state(), State::Backup);
}

#[test]
fn sync_group_tracking_weight_keeps_member_weights() {
    let mut g = group(true);
    g.handle_all(at(0), Event::Startup);
    g.handle(
        at(10),
        0,
        Event::Tracker {
            id: TrackerId(1),
            status: TrackerStatus::Down,
        },
    );
    assert_eq!(g.members()[0].priority(), 50);
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
}

#[test]
fn sync_group_member_preempted_takes_the_others_to_backup() {
    let mut g = group(false);
    g.handle_all(at(0), Event::Startup);
    while let Some(d) = g.next_deadline().filter(|d| *d < at(5_000_000)) {
        g.handle_all(d, Event::Timeout);
    }
    assert_eq!(g.state(), State::Master);
    g.handle(at(6_000_000), 1, advert_vrid(52, 200));
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    assert_eq!(g.state(), State::Backup);
}

#[test]
fn sync_group_rejects_duplicate_or_no_members() {
    assert!(SyncGroup::new(SyncGroupConfig::new("G"), vec![]).is_err());
    let a = cfg(100, "10.0.0.1");
    assert!(SyncGroup::new(SyncGroupConfig::new("G"), vec![a.clone(), a]).is_err());
}

/// Two routers, each running the same two-member sync group, wired back to back with no
/// delay: returns the adverts each side sent, in order.
struct Pair {
    groups: [SyncGroup; 2],
    ips: [IpAddr; 2],
}

impl Pair {
    fn new(priorities: [u8; 2]) -> Pair {
        let ips = [ip("10.0.0.1"), ip("10.0.0.2")];
        let mk = |side: usize| {
            let members = (1..=2u8)
                .map(|vrid| {
                    let mut c = cfg(priorities[side], &ips[side].to_string());
                    c.name = format!("VI_{vrid}").into();
                    c.vrid = vrid;
                    c
                })
                .collect();
            let mut g = SyncGroupConfig::new("G");
            g.tracked = vec![TrackedObject::new(
                TrackerId(9),
                TrackerKind::Script,
                -10,
                false,
            )];
            SyncGroup::new(g, members).expect("group")
        };
        Pair {
            groups: [mk(0), mk(1)],
            ips,
        }
    }

    /// Delivers `actions` of `side` to the other side (recursively, zero delay).
    fn deliver(&mut self, now: Timestamp, side: usize, actions: Vec<GroupAction>) {
        for a in actions {
            if let Action::SendAdvert(ad) = a.action {
                let other = 1 - side;
                let member = usize::from(ad.vrid - 1);
                let ev = Event::Advert(Advert {
                    source: self.ips[side],
                    version: ad.version,
                    vrid: ad.vrid,
                    priority: ad.priority,
                    interval_cs: ad.interval.get(),
                });
                let out = self.groups[other].handle(now, member, ev);
                self.deliver(now, other, out);
            }
        }
    }

    fn run_until(&mut self, until: Timestamp) {
        loop {
            let next = (0..2)
                .filter_map(|s| self.groups[s].next_deadline().map(|d| (d, s)))
                .min();
            let Some((d, side)) = next.filter(|(d, _)| *d <= until) else {
                break;
            };
            let out = self.groups[side].handle_all(d, Event::Timeout);
            self.deliver(d, side, out);
        }
    }

    fn states(&self, side: usize) -> Vec<State> {
        self.groups[side]
            .members()
            .iter()
            .map(Instance::state)
            .collect()
    }
}

#[test]
fn sync_groups_on_two_routers_fail_over_and_back_together() {
    let mut p = Pair::new([200, 100]);
    for side in 0..2 {
        let out = p.groups[side].handle_all(at(0), Event::Startup);
        p.deliver(at(0), side, out);
    }
    p.run_until(at(10_000_000));
    assert_eq!(p.states(0), vec![State::Master; 2]);
    assert_eq!(p.states(1), vec![State::Backup; 2]);
    // The group's script fails on the Master: weight zeroed in a group, so FAULT for both
    // members, priority-0 adverts, and the other router takes both over after Skew_Time.
    let t = 10_500_000;
    let ev = Event::Tracker {
        id: TrackerId(9),
        status: TrackerStatus::Down,
    };
    let out = p.groups[0].handle_all(at(t), ev);
    p.deliver(at(t), 0, out);
    assert_eq!(p.states(0), vec![State::Fault; 2]);
    // Skew_Time for priority 100 at 1 s: 609_375 us.
    p.run_until(at(t + 609_374));
    assert_eq!(p.states(1), vec![State::Backup; 2]);
    p.run_until(at(t + 609_375));
    assert_eq!(p.states(1), vec![State::Master; 2]);
    // Recovery: back to Backup, then preemption of both members by the higher priority.
    let t = 20_000_000;
    let ev = Event::Tracker {
        id: TrackerId(9),
        status: TrackerStatus::Up,
    };
    let out = p.groups[0].handle_all(at(t), ev);
    p.deliver(at(t), 0, out);
    assert_eq!(p.states(0), vec![State::Backup; 2]);
    p.run_until(at(t + 10_000_000));
    assert_eq!(p.states(0), vec![State::Master; 2]);
    assert_eq!(p.states(1), vec![State::Backup; 2]);
    assert_eq!(p.groups[1].state(), State::Backup);
}

fn removes_virtuals(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::RemoveVirtuals(_)))
}

fn notifies_stop(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Notify {
                kind: NotifyKind::Stop,
                ..
            }
        )
    })
}

#[test]
fn graceful_shutdown_keeps_the_virtuals_until_the_successor_speaks() {
    let mut i = master(cfg(200, "10.0.0.1"));
    let stop = at(9_000_000);
    let out = i.handle(stop, Event::GracefulShutdown);
    assert_eq!(sent_priorities(&out), vec![0], "priority 0 at once");
    assert!(!removes_virtuals(&out), "addresses kept for now");
    assert!(!notifies_stop(&out));
    assert!(i.releasing());
    assert_eq!(i.state(), State::Initialize);
    // One interval (1 s) and a quarter: longer than any Backup's Skew_Time.
    assert_eq!(i.next_deadline(), Some(at(9_000_000 + 1_250_000)));
    // Its own looped advert and a priority-0 one change nothing.
    let out = i.handle(at(9_001_000), advert("10.0.0.1", 200, 100));
    assert!(!removes_virtuals(&out));
    let out = i.handle(at(9_002_000), advert("10.0.0.2", 0, 100));
    assert!(!removes_virtuals(&out));
    // The new Master's first advert: the addresses stay 20 ms more, while it installs them
    // and sends its gratuitous ARPs; then they go and notify_stop runs.
    let out = i.handle(at(9_600_000), advert("10.0.0.2", 100, 100));
    assert!(!removes_virtuals(&out));
    assert_eq!(i.next_deadline(), Some(at(9_620_000)));
    let out = run_until(&mut i, at(9_619_999));
    assert!(!removes_virtuals(&out), "not before the hold ends");
    let out = run_until(&mut i, at(9_620_000));
    assert!(removes_virtuals(&out));
    assert!(notifies_stop(&out));
    assert!(!i.releasing());
    assert_eq!(i.next_deadline(), None);
}

#[test]
fn graceful_shutdown_without_a_successor_releases_after_its_window() {
    let mut i = master(cfg(200, "10.0.0.1"));
    i.handle(at(9_000_000), Event::GracefulShutdown);
    let out = run_until(&mut i, at(10_249_999));
    assert!(!removes_virtuals(&out), "not before the window ends");
    let out = run_until(&mut i, at(10_250_000));
    assert!(removes_virtuals(&out));
    assert!(notifies_stop(&out));
    assert_eq!(i.next_deadline(), None);
}

#[test]
fn shutdown_during_a_graceful_one_releases_at_once_and_backups_stop_as_usual() {
    let mut i = master(cfg(200, "10.0.0.1"));
    i.handle(at(9_000_000), Event::GracefulShutdown);
    let out = i.handle(at(9_000_100), Event::Shutdown);
    assert!(removes_virtuals(&out));
    assert!(!i.releasing());

    let mut backup = started(cfg(100, "10.0.0.1"));
    let out = backup.handle(at(1_000), Event::GracefulShutdown);
    assert_eq!(sent_priorities(&out), Vec::<u8>::new());
    assert!(notifies_stop(&out));
    assert!(!backup.releasing());
}

#[test]
fn late_wake_ups_do_not_slow_the_advert_cadence() {
    let mut c = cfg(200, "10.0.0.1");
    c.advert_interval = Centis::new(1).expect("0.01 s");
    let mut i = master(c);
    let due = i.next_deadline().expect("advert timer");
    // Woken 3 ms late: the next advert is still due 10 ms after this one was due.
    let out = i.handle(due + Duration::from_millis(3), Event::Timeout);
    assert_eq!(sent_priorities(&out), vec![200]);
    assert_eq!(i.next_deadline(), Some(due + Duration::from_millis(10)));
    // Stalled for more than an interval: no burst to catch up, one interval from now.
    let late = due + Duration::from_millis(35);
    let out = i.handle(late, Event::Timeout);
    assert_eq!(sent_priorities(&out), vec![200]);
    assert_eq!(i.next_deadline(), Some(late + Duration::from_millis(10)));
}

// ---- kad extension bfd_master: Event::MasterPeerDown ----

fn peer_down(peer: &str) -> Event {
    Event::MasterPeerDown { peer: ip(peer) }
}

/// A Backup following 10.0.0.2 (priority 150, advert_int 1 s) since t = 1 s.
fn following_backup() -> Instance {
    let mut i = started(cfg(100, "10.0.0.1"));
    i.handle(at(1_000_000), advert("10.0.0.2", 150, 100));
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.current_master(), Some((ip("10.0.0.2"), 150)));
    i
}

#[test]
fn master_peer_down_takes_over_at_once_as_on_master_down_expiry() {
    let mut i = following_backup();
    // Master_Down_Interval would end at 1 s + 3.609375 s; the session's down at 1.2 s acts now.
    assert_eq!(i.next_deadline(), Some(at(4_609_375)));
    let out = i.handle(at(1_200_000), peer_down("10.0.0.2"));
    assert_eq!(became(&out), Some(State::Master));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::StateChanged {
            reason: Reason::MasterPeerDown,
            ..
        }
    )));
    // The same actions as on expiry: virtuals, one advert, gratuitous ARPs, notify.
    let mut expired = following_backup();
    let on_expiry = expired.handle(at(4_609_375), Event::Timeout);
    let kinds = |actions: &[Action]| -> Vec<std::mem::Discriminant<Action>> {
        actions.iter().map(std::mem::discriminant).collect()
    };
    assert_eq!(kinds(&out), kinds(&on_expiry));
    assert_eq!(sent_priorities(&out), vec![100]);
    assert_eq!(
        i.next_deadline(),
        Some(at(2_200_000)),
        "adverts every interval"
    );
}

#[test]
fn master_peer_down_of_another_peer_is_ignored() {
    let mut i = following_backup();
    assert!(i.handle(at(1_200_000), peer_down("10.0.0.3")).is_empty());
    assert_eq!(i.state(), State::Backup);
    assert_eq!(
        i.next_deadline(),
        Some(at(4_609_375)),
        "the timer is untouched"
    );
    // A Backup that has heard no Master yet has none to lose.
    let mut fresh = started(cfg(100, "10.0.0.1"));
    assert!(fresh.handle(at(100_000), peer_down("10.0.0.2")).is_empty());
    assert_eq!(fresh.state(), State::Backup);
    // After the Master's priority 0, the skew timer runs as before.
    i.handle(at(1_300_000), advert("10.0.0.2", 0, 100));
    let deadline = i.next_deadline();
    assert!(i.handle(at(1_350_000), peer_down("10.0.0.2")).is_empty());
    assert_eq!(i.next_deadline(), deadline);
}

#[test]
fn master_peer_down_is_ignored_unless_backup() {
    // Master: stays Master, nothing sent.
    let mut m = master(cfg(100, "10.0.0.1"));
    let deadline = m.next_deadline();
    assert!(m.handle(at(5_000_000), peer_down("10.0.0.2")).is_empty());
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.next_deadline(), deadline);
    // Fault: stays Fault.
    let mut f = following_backup();
    f.handle(at(1_100_000), Event::Interface { up: false });
    assert_eq!(f.state(), State::Fault);
    assert!(f.handle(at(1_200_000), peer_down("10.0.0.2")).is_empty());
    assert_eq!(f.state(), State::Fault);
    // Initialize: stays Initialize.
    let mut init = Instance::new(cfg(100, "10.0.0.1")).expect("config");
    assert!(init.handle(at(0), peer_down("10.0.0.2")).is_empty());
    assert_eq!(init.state(), State::Initialize);
}

/// A false down (the session drops, the Master lives): two Masters until the real Master
/// speaks — at once, answering the new Master's first advert (lower priority, RFC 5798
/// §6.4.3), or at the latest with its next periodic advert — and the higher priority wins.
#[test]
fn a_false_master_peer_down_makes_two_masters_until_the_masters_next_advert() {
    let mut real = master(cfg(150, "10.0.0.2"));
    let mut backup = following_backup();
    let out = backup.handle(at(1_200_000), peer_down("10.0.0.2"));
    assert_eq!(backup.state(), State::Master);
    assert_eq!(sent_priorities(&out), vec![100]);
    // The real Master hears that advert and answers it at once with its own.
    let answer = real.handle(at(1_200_100), advert("10.0.0.1", 100, 100));
    assert_eq!(real.state(), State::Master);
    assert_eq!(sent_priorities(&answer), vec![150]);
    let out = backup.handle(at(1_200_200), advert("10.0.0.2", 150, 100));
    assert_eq!(became(&out), Some(State::Backup));
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVirtuals(_))));
    assert_eq!(backup.current_master(), Some((ip("10.0.0.2"), 150)));
    // Had that answer been lost, the next periodic advert (within one advert interval)
    // ends it the same way.
    let mut lost = following_backup();
    lost.handle(at(1_200_000), peer_down("10.0.0.2"));
    lost.handle(at(2_000_000), advert("10.0.0.2", 150, 100));
    assert_eq!(lost.state(), State::Backup);
}

#[test]
fn master_peer_down_waits_for_the_startup_hold() {
    let mut i = Instance::new(cfg(100, "10.0.0.1")).expect("config");
    i.hold_master_down_until(at(10_000_000));
    i.handle(Timestamp::ZERO, Event::Startup);
    i.handle(at(1_000_000), advert("10.0.0.2", 150, 100));
    assert!(i.handle(at(2_000_000), peer_down("10.0.0.2")).is_empty());
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(at(10_000_000)));
    let out = i.handle(at(10_000_000), Event::Timeout);
    assert_eq!(became(&out), Some(State::Master));
}

#[test]
fn master_peer_down_in_a_sync_group_waits_for_every_member() {
    let mut g = group(false);
    g.handle_all(at(0), Event::Startup);
    g.handle(at(1_000_000), 0, advert_vrid(51, 200));
    g.handle(at(1_000_000), 1, advert_vrid(52, 200));
    // Member A's Master is gone by BFD; B still hears its Master: the group stays Backup.
    g.handle(at(1_100_000), 0, peer_down("10.0.0.2"));
    assert!(g.members().iter().all(|m| m.state() == State::Backup));
    // B's session goes down too: both Master together.
    g.handle(at(1_150_000), 1, peer_down("10.0.0.2"));
    assert!(g.members().iter().all(|m| m.state() == State::Master));
}
