//! Builds the status snapshot (`crate::status::Status`) from the protocol loop's state: every
//! unit's machines, their slots' counters, the trackers' last statuses and, in XDP mode,
//! the kernel's per-instance seen counts and per-interface counters. Runs inside the loop,
//! only when a reader asked (`crate::status::StatusPublisher`), and touches nothing.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    status::snapshot::{
        InstanceStatus, MasterStatus, Status, SyncGroupStatus, TimersStatus, TrackerStatus,
        TransitionStatus, XdpStatus,
    },
    track::TrackerSource,
    vrrp::fsm::{Instance, Reason, State, TrackerKind, TrackerStatus as Tracked, Version},
    xdp::AttachMode,
};

use super::{
    Slot,
    engine::{Engine, Machine},
};

/// keepalived's word for a state.
pub(crate) fn state_word(state: State) -> &'static str {
    match state {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

fn reason_word(reason: Reason) -> &'static str {
    match reason {
        Reason::Owner => "owner",
        Reason::Startup => "startup",
        Reason::MasterDown => "master_down",
        Reason::MasterPeerDown => "master_bfd_down",
        Reason::Preempted => "preempted",
        Reason::Fault => "fault",
        Reason::FaultCleared => "fault_cleared",
        Reason::Shutdown => "shutdown",
        Reason::SyncGroup => "sync_group",
    }
}

fn kind_word(kind: TrackerKind) -> &'static str {
    match kind {
        TrackerKind::Script => "script",
        TrackerKind::Interface => "interface",
        TrackerKind::File => "file",
        TrackerKind::Process => "process",
        TrackerKind::Bfd => "bfd",
    }
}

fn tracker_name(source: Option<&TrackerSource>) -> String {
    match source {
        Some(TrackerSource::Script(script)) => script.name.clone(),
        Some(TrackerSource::File { name, .. }) => name.clone(),
        Some(TrackerSource::Process(process)) => process.name.clone(),
        Some(TrackerSource::Interface { name, .. } | TrackerSource::Bfd { name }) => name.clone(),
        None => "?".to_owned(),
    }
}

fn status_word(status: Tracked) -> String {
    match status {
        Tracked::Up => "up".to_owned(),
        Tracked::Down => "down".to_owned(),
        Tracked::Value(value) => value.to_string(),
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

impl Engine {
    /// The status of every instance and sync group now. `trackers` are the running
    /// configuration's tracked objects (indexed by tracker id).
    pub(crate) fn status(&self, trackers: &[TrackerSource]) -> Status {
        let now = self.clock.now();
        let now_unix_ms = unix_ms_now();
        let mut interfaces: HashMap<u32, Option<XdpStatus>> = HashMap::new();
        let mut status = Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            generated_unix_ms: now_unix_ms,
            receive_path: if self.xdp.is_some() {
                "xdp"
            } else {
                "raw_sockets"
            }
            .to_owned(),
            ..Status::default()
        };
        for unit in &self.units {
            let (members, group): (Vec<&Instance>, Option<&str>) = match &unit.machine {
                Machine::Single(instance) => (vec![instance], None),
                Machine::Group { group, .. } => {
                    status.sync_groups.push(SyncGroupStatus {
                        name: group.name().to_owned(),
                        state: state_word(group.state()).to_owned(),
                        members: group
                            .members()
                            .iter()
                            .map(|m| m.config().name.to_string())
                            .collect(),
                    });
                    (group.members().iter().collect(), Some(group.name()))
                }
            };
            for (instance, slot) in members.into_iter().zip(&unit.slots) {
                let Some(slot) = self.slots.get(*slot) else {
                    continue;
                };
                let mut entry = self.instance_status(instance, slot, trackers, now, now_unix_ms);
                entry.sync_group = group.map(str::to_owned);
                if let Some(xdp) = &self.xdp
                    && let Some(key) = slot.xdp.map(|x| x.key)
                {
                    entry.xdp = interfaces
                        .entry(key.ifindex)
                        .or_insert_with(|| {
                            xdp.interface_counters(key.ifindex)
                                .map(|(mode, counters)| XdpStatus {
                                    mode: match mode {
                                        AttachMode::Native => "native",
                                        AttachMode::Skb => "generic",
                                    }
                                    .to_owned(),
                                    counters: kad_common::xdp_counters::XdpReason::ALL
                                        .iter()
                                        .map(|r| (r.name().to_owned(), counters.get(*r)))
                                        .collect(),
                                })
                        })
                        .clone();
                }
                status.instances.push(entry);
            }
        }
        status
    }

    fn instance_status(
        &self,
        instance: &Instance,
        slot: &Slot,
        trackers: &[TrackerSource],
        now: crate::vrrp::fsm::Timestamp,
        now_unix_ms: u64,
    ) -> InstanceStatus {
        let cfg = instance.config();
        let state = instance.state();
        let master = if state == State::Master {
            Some(MasterStatus {
                address: cfg.primary_address.to_string(),
                priority: instance.priority(),
                local: true,
            })
        } else {
            instance
                .current_master()
                .map(|(address, priority)| MasterStatus {
                    address: address.to_string(),
                    priority,
                    local: false,
                })
        };
        let last_transition = instance.last_change().map(|(at, reason)| {
            let age_ms = millis(now.saturating_since(at));
            TransitionStatus {
                at_unix_ms: now_unix_ms.saturating_sub(age_ms),
                age_ms,
                reason: reason_word(reason).to_owned(),
            }
        });
        let tracker_list = cfg
            .tracked
            .iter()
            .map(|object| {
                let index = object.id.0;
                let current = self
                    .tracked_links
                    .iter()
                    .find(|(tracker, _, _)| *tracker == index)
                    .map(|(_, _, up)| if *up { Tracked::Up } else { Tracked::Down })
                    .or_else(|| self.tracker_status.get(&index).copied())
                    .unwrap_or(object.initial);
                TrackerStatus {
                    name: tracker_name(usize::try_from(index).ok().and_then(|i| trackers.get(i))),
                    kind: kind_word(object.kind).to_owned(),
                    weight: object.weight,
                    reverse: object.reverse,
                    status: status_word(current),
                }
            })
            .collect();
        let addresses: Vec<IpAddr> = cfg.virtuals.installed().collect();
        let holds = state == State::Master || instance.releasing();
        let xdp_seen = self.xdp.as_ref().map_or(0, |xdp| xdp.seen_count(slot));
        InstanceStatus {
            name: cfg.name.to_string(),
            vrid: cfg.vrid,
            interface: slot.spec.interface.clone(),
            family: if cfg.primary_address.is_ipv6() {
                "ipv6"
            } else {
                "ipv4"
            }
            .to_owned(),
            version: match cfg.version {
                Version::V2 => 2,
                Version::V3 => 3,
            },
            state: state_word(state).to_owned(),
            base_priority: cfg.priority,
            effective_priority: instance.priority(),
            sync_group: None,
            primary_address: cfg.primary_address.to_string(),
            master,
            last_transition,
            timers: TimersStatus {
                advert_interval_ms: millis(cfg.advert_interval.duration()),
                master_advert_interval_ms: millis(instance.master_adver_interval().duration()),
                master_down_interval_ms: millis(instance.master_down_interval()),
                skew_ms: instance.skew_time().as_secs_f64() * 1000.0,
            },
            trackers: tracker_list,
            virtual_addresses: addresses.iter().map(ToString::to_string).collect(),
            vips_held: if holds {
                addresses.iter().map(ToString::to_string).collect()
            } else {
                Vec::new()
            },
            counters: slot.counters.snapshot(xdp_seen),
            xdp: None,
        }
    }
}
