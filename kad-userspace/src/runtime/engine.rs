//! The protocol loop's state: every instance's state machine (alone, or inside its sync
//! group), the IO handles of each instance ("slots"), and one timer per scheduling unit.
//! Events come in through the methods here; actions go straight to the executor.

use std::collections::HashMap;

use crate::vrrp::fsm::{
    Action, Advert, Event, Instance, State, SyncGroup, Timestamp, TrackerId, TrackerStatus,
};

use super::{
    Slot,
    clock::Clock,
    dataplane::{ReceiveStats, XdpPath},
    executor::Executor,
    spec::{InstanceSpec, NotifySpec},
    timers::Timers,
};
use crate::track::TrackerUpdate;

/// The state machine(s) of one scheduling unit.
pub(crate) enum Machine {
    /// An instance in no sync group.
    Single(Box<Instance>),
    /// A `vrrp_sync_group` and its notify scripts.
    Group {
        group: SyncGroup,
        notify: Box<NotifySpec>,
    },
}

/// A scheduling unit: its machine and, per member, the slot holding the member's IO.
pub(crate) struct Unit {
    pub(crate) machine: Machine,
    pub(crate) slots: Vec<usize>,
    /// The specs the unit was built from (compared on reload).
    pub(crate) identity: UnitIdentity,
}

/// What a unit was built from: equal identities on reload mean "leave it running".
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UnitIdentity {
    pub(crate) members: Vec<InstanceSpec>,
    pub(crate) group: Option<super::spec::GroupSpec>,
}

pub(crate) struct Engine {
    pub(crate) clock: Clock,
    pub(crate) executor: Executor,
    pub(crate) slots: Vec<Slot>,
    pub(crate) units: Vec<Unit>,
    /// Per slot: its unit and member index.
    pub(crate) owner: Vec<(usize, usize)>,
    pub(crate) timers: Timers,
    /// Tracked interfaces: (tracker index, ifindex, last known up).
    pub(crate) tracked_links: Vec<(u32, u32, bool)>,
    /// The XDP receive path, when it runs.
    pub(crate) xdp: Option<XdpPath>,
    /// What woke the runtime for adverts.
    pub(crate) stats: std::sync::Arc<ReceiveStats>,
    /// The last status reported by (or read at start for) each other tracked object, given
    /// to units as they start.
    pub(crate) tracker_status: HashMap<u32, TrackerStatus>,
    /// Reused by [`Engine::timeouts`] (no allocation per wake-up).
    pub(crate) refresh_scratch: Vec<usize>,
    /// global `vrrp_startup_delay`: units started before this time cannot become Master
    /// until it has passed plus their Master_Down_Interval.
    pub(crate) startup_hold: Option<Timestamp>,
}

/// What the engine learns from (re)starting the tracker tasks.
pub(crate) struct StartedTrackers {
    /// Tracked interfaces: (tracker index, ifindex, up now).
    pub(crate) links: Vec<(u32, u32, bool)>,
    /// Statuses known now (tracked processes).
    pub(crate) statuses: HashMap<u32, TrackerStatus>,
}

impl Engine {
    /// Takes what the IO reports after (re)starting the tracker tasks.
    pub(crate) fn set_trackers(&mut self, started: StartedTrackers) {
        self.tracked_links = started.links;
        self.tracker_status = started.statuses;
    }

    /// Hands `event` to one member of `unit` (`Some`) or to the whole unit (`None`), executes
    /// what comes out and re-arms the unit's timer.
    pub(crate) fn handle(&mut self, unit: usize, member: Option<usize>, event: Event) {
        let now = self.clock.now();
        self.handle_at(now, unit, member, event);
    }

    /// As [`Engine::handle`], for an event that happened at `now`.
    fn handle_at(&mut self, now: Timestamp, unit: usize, member: Option<usize>, event: Event) {
        let Some(entry) = self.units.get_mut(unit) else {
            return;
        };
        match &mut entry.machine {
            Machine::Single(instance) => {
                let actions = instance.handle(now, event);
                if let Some(slot) = entry.slots.first().and_then(|s| self.slots.get_mut(*s)) {
                    self.executor.execute(slot, actions);
                }
                self.timers.set(unit, instance.next_deadline());
            }
            Machine::Group { group, notify } => {
                let actions = match member {
                    Some(m) => group.handle(now, m, event),
                    None => group.handle_all(now, event),
                };
                for action in actions {
                    match action
                        .member
                        .and_then(|m| entry.slots.get(m))
                        .and_then(|s| self.slots.get_mut(*s))
                    {
                        Some(slot) => self.executor.execute(slot, vec![action.action]),
                        None => self
                            .executor
                            .group_action(group.name(), notify, action.action),
                    }
                }
                self.timers.set(unit, group.next_deadline());
            }
        }
        self.update_dataplane(unit);
    }

    /// Tells XDP each member's current role and priority (written only when they changed).
    fn update_dataplane(&mut self, unit: usize) {
        let (Some(xdp), Some(entry)) = (self.xdp.as_mut(), self.units.get(unit)) else {
            return;
        };
        match &entry.machine {
            Machine::Single(instance) => {
                if let Some(slot) = entry.slots.first().and_then(|s| self.slots.get(*s)) {
                    xdp.update(slot, instance);
                }
            }
            Machine::Group { group, .. } => {
                for (member, slot) in group.members().iter().zip(&entry.slots) {
                    if let Some(slot) = self.slots.get(*slot) {
                        xdp.update(slot, member);
                    }
                }
            }
        }
    }

    /// Before a unit's timer is acted on: a Backup whose adverts XDP keeps in the kernel
    /// hears, from `KAD_VRRP_SEEN`, the last advert that arrived since it last heard one (at
    /// the time it arrived), which re-arms its master-down timer. True if anything was fed.
    /// Allocates nothing: it runs for every Backup about four times per advert interval.
    fn refresh_from_dataplane(&mut self, unit: usize) -> bool {
        let mut any = false;
        for member in 0.. {
            let Some(entry) = self.units.get(unit) else {
                break;
            };
            let (state, slot) = match &entry.machine {
                Machine::Single(instance) if member == 0 => {
                    (instance.state(), entry.slots.first().copied())
                }
                Machine::Single(_) => break,
                Machine::Group { group, .. } => match group.members().get(member) {
                    Some(instance) => (instance.state(), entry.slots.get(member).copied()),
                    None => break,
                },
            };
            if state != State::Backup {
                continue;
            }
            let Some(xdp) = self.xdp.as_ref() else {
                break;
            };
            let Some(slot) = slot.and_then(|s| self.slots.get_mut(s)) else {
                continue;
            };
            let Some((at, advert)) = xdp.newer_advert(slot, &self.clock) else {
                continue;
            };
            self.stats
                .seen_refreshes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.handle_at(at, unit, Some(member), Event::Advert(advert));
            any = true;
        }
        any
    }

    /// Starts a unit: Startup, then the interface and tracked-link states known now.
    pub(crate) fn start_unit(&mut self, unit: usize) {
        if let Some(hold) = self.startup_hold.filter(|hold| self.clock.now() < *hold)
            && let Some(u) = self.units.get_mut(unit)
        {
            match &mut u.machine {
                Machine::Single(instance) => instance.hold_master_down_until(hold),
                Machine::Group { group, .. } => group.hold_master_down_until(hold),
            }
        }
        self.handle(unit, None, Event::Startup);
        let Some(slots) = self.units.get(unit).map(|u| u.slots.clone()) else {
            return;
        };
        for (member, slot) in slots.iter().enumerate() {
            if self
                .slots
                .get(*slot)
                .is_some_and(|s| !s.link_up && !s.spec.dont_track_primary)
            {
                self.handle(unit, Some(member), Event::Interface { up: false });
            }
        }
        let down: Vec<u32> = self
            .tracked_links
            .iter()
            .filter(|(_, _, up)| !up)
            .map(|(tracker, _, _)| *tracker)
            .collect();
        for tracker in down {
            self.tracker_for_unit(unit, tracker, TrackerStatus::Down);
        }
        let mut known: Vec<(u32, TrackerStatus)> = self
            .tracker_status
            .iter()
            .map(|(tracker, status)| (*tracker, *status))
            .collect();
        known.sort_by_key(|(tracker, _)| *tracker);
        for (tracker, status) in known {
            self.tracker_for_unit(unit, tracker, status);
        }
    }

    /// A valid advert for the instance in `slot`.
    pub(crate) fn advert(&mut self, slot: usize, advert: Advert) {
        if let Some(entry) = self.slots.get(slot) {
            entry.counters.delivered(advert.priority);
        }
        if let Some((unit, member)) = self.owner.get(slot).copied() {
            self.handle(unit, Some(member), Event::Advert(advert));
        }
    }

    /// keepalived.conf `old_unicast_checksum`: detection found a peer using the old VRRPv3
    /// checksum, so `slot` sends and accepts only that form from now on (until a reload).
    pub(crate) fn use_old_checksum(&mut self, slot: usize) {
        let Some(entry) = self.slots.get_mut(slot) else {
            return;
        };
        entry.spec.old_checksum = super::spec::OldChecksum::Use;
        if let Some(unit) = self.owner.get(slot).map(|(unit, _)| *unit) {
            self.update_dataplane(unit);
        }
    }

    /// kad extension `bfd_master`: the BFD session `down.name` to `down.neighbor` went
    /// down; every instance naming it hears [`Event::MasterPeerDown`] (a Backup whose Master
    /// is that neighbour takes over at once).
    pub(crate) fn master_peer_down(&mut self, down: &crate::track::bfd::SessionDown) {
        for slot in 0..self.slots.len() {
            let Some(entry) = self.slots.get(slot) else {
                continue;
            };
            if entry.spec.bfd_master.as_deref() != Some(down.name.as_str()) {
                continue;
            }
            let name = entry.spec.fsm.name.clone();
            let vrid = entry.spec.fsm.vrid;
            let Some((unit, member)) = self.owner.get(slot).copied() else {
                continue;
            };
            let follows = self.member(unit, member).is_some_and(|i| {
                i.state() == State::Backup
                    && i.current_master().map(|(a, _)| a) == Some(down.neighbor)
            });
            if follows {
                tracing::info!(instance = %name, vrid, bfd = %down.name, master = %down.neighbor,
                    "({name}) BFD session {} to master {} is down, acting as on master down timer expiry", down.name, down.neighbor);
            } else {
                tracing::debug!(instance = %name, vrid, bfd = %down.name, neighbor = %down.neighbor,
                    "({name}) BFD session {} down; {} is not this backup's master, ignoring", down.name, down.neighbor);
            }
            self.handle(
                unit,
                Some(member),
                Event::MasterPeerDown {
                    peer: down.neighbor,
                },
            );
        }
    }

    /// Member `member` of `unit`.
    fn member(&self, unit: usize, member: usize) -> Option<&Instance> {
        match &self.units.get(unit)?.machine {
            Machine::Single(instance) if member == 0 => Some(instance),
            Machine::Single(_) => None,
            Machine::Group { group, .. } => group.members().get(member),
        }
    }

    /// A tracked object changed: every member that tracks it hears of it.
    pub(crate) fn tracker(&mut self, update: TrackerUpdate) {
        self.tracker_status.insert(update.index, update.status);
        for unit in 0..self.units.len() {
            self.tracker_for_unit(unit, update.index, update.status);
        }
    }

    fn tracker_for_unit(&mut self, unit: usize, tracker: u32, status: TrackerStatus) {
        let id = TrackerId(tracker);
        let members: Vec<usize> = match self.units.get(unit).map(|u| &u.machine) {
            Some(Machine::Single(instance)) => {
                if instance.config().tracked.iter().any(|t| t.id == id) {
                    vec![0]
                } else {
                    Vec::new()
                }
            }
            Some(Machine::Group { group, .. }) => group
                .members()
                .iter()
                .enumerate()
                .filter(|(_, member)| member.config().tracked.iter().any(|t| t.id == id))
                .map(|(m, _)| m)
                .collect(),
            None => Vec::new(),
        };
        for member in members {
            self.handle(unit, Some(member), Event::Tracker { id, status });
        }
    }

    /// The kernel reported interface `ifindex` up or down.
    /// keepalived.conf `track_src_ip`: an instance whose configured source address left its
    /// interface goes to FAULT until the address is back.
    pub(crate) fn source_address(&mut self, change: crate::net::link_monitor::AddressChange) {
        for slot in 0..self.slots.len() {
            let Some(entry) = self.slots.get(slot) else {
                continue;
            };
            if !entry.spec.track_src_ip
                || entry.ifindex != change.ifindex
                || entry.spec.fsm.primary_address != change.address
            {
                continue;
            }
            tracing::info!(
                instance = %entry.spec.fsm.name,
                vrid = entry.spec.fsm.vrid,
                address = %change.address,
                present = change.added,
                "track_src_ip: source address changed"
            );
            if let Some((unit, member)) = self.owner.get(slot).copied() {
                self.handle(
                    unit,
                    Some(member),
                    Event::SourceAddress {
                        present: change.added,
                    },
                );
            }
        }
    }

    pub(crate) fn link(&mut self, ifindex: u32, up: bool) {
        for slot in 0..self.slots.len() {
            let Some(entry) = self.slots.get_mut(slot) else {
                continue;
            };
            if entry.ifindex != ifindex || entry.link_up == up {
                continue;
            }
            entry.link_up = up;
            tracing::info!(
                instance = %entry.spec.fsm.name,
                vrid = entry.spec.fsm.vrid,
                interface = %entry.spec.interface,
                up,
                "link state changed"
            );
            // keepalived.conf dont_track_primary: the interface's state changes nothing.
            if entry.spec.dont_track_primary {
                continue;
            }
            if let Some((unit, member)) = self.owner.get(slot).copied() {
                self.handle(unit, Some(member), Event::Interface { up });
            }
        }
        let changed: Vec<u32> = self
            .tracked_links
            .iter_mut()
            .filter(|(_, link, last)| *link == ifindex && *last != up)
            .map(|(tracker, _, last)| {
                *last = up;
                *tracker
            })
            .collect();
        let status = if up {
            TrackerStatus::Up
        } else {
            TrackerStatus::Down
        };
        for index in changed {
            self.tracker(TrackerUpdate { index, status });
        }
    }

    /// Whether `name` is the interface of some instance under another ifindex than the one
    /// its socket is bound to: the interface was deleted and created again.
    pub(crate) fn recreated(&self, name: &str, ifindex: u32) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.spec.interface == name && slot.ifindex != ifindex)
    }

    /// Runs every unit whose deadline has passed. With XDP, also refreshes early the
    /// Backups whose master-down timer would fire within a quarter of the shortest advert
    /// interval: their timers move out together, so a host backing up many instances wakes
    /// about four times per interval instead of once per instance per interval.
    pub(crate) fn timeouts(&mut self) {
        self.stats
            .timer_wakeups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now: Timestamp = self.clock.now();
        while let Some(unit) = self.timers.pop_due(now) {
            // A refreshed unit's timer was re-armed; if it is still due, it pops again and
            // then finds nothing newer.
            if !self.refresh_from_dataplane(unit) {
                self.handle(unit, None, Event::Timeout);
            }
        }
        if self.xdp.is_none() {
            return;
        }
        let Some(shortest) = self
            .slots
            .iter()
            .map(|slot| slot.spec.fsm.advert_interval.duration())
            .min()
        else {
            return;
        };
        let mut soon = std::mem::take(&mut self.refresh_scratch);
        soon.clear();
        self.timers.due_by(now + shortest / 4, &mut soon);
        for unit in soon.iter().copied() {
            // Reading early is harmless: nothing newer leaves the timer as it was.
            self.refresh_from_dataplane(unit);
        }
        self.refresh_scratch = soon;
    }

    /// Stops one unit as on SIGTERM.
    pub(crate) fn stop_unit(&mut self, unit: usize) {
        self.handle(unit, None, Event::Shutdown);
    }

    /// Stops a unit a reload removed: each instance, alone or in a sync group, notifies as
    /// keepalived notifies a deleted one ([`super::deleted::as_deleted`]); the group itself
    /// notifies nothing (keepalived 2.2.7 runs no group script for a deleted group).
    pub(crate) fn delete_unit(&mut self, unit: usize) {
        let now = self.clock.now();
        let Some(entry) = self.units.get_mut(unit) else {
            return;
        };
        match &mut entry.machine {
            Machine::Single(instance) => {
                let Some(slot) = entry.slots.first().and_then(|s| self.slots.get_mut(*s)) else {
                    return;
                };
                let was = instance.state();
                let actions = instance.handle(now, Event::Shutdown);
                let actions = deleted(slot, actions, was);
                self.executor.execute(slot, actions);
                self.timers.set(unit, instance.next_deadline());
            }
            Machine::Group { group, notify } => {
                let was: Vec<State> = group.members().iter().map(|m| m.state()).collect();
                let mut per_member: Vec<Vec<Action>> = vec![Vec::new(); was.len()];
                for action in group.handle_all(now, Event::Shutdown) {
                    match action.member.and_then(|m| per_member.get_mut(m)) {
                        Some(actions) => actions.push(action.action),
                        None => self
                            .executor
                            .group_action(group.name(), notify, action.action),
                    }
                }
                for ((actions, was), slot) in per_member.into_iter().zip(was).zip(&entry.slots) {
                    if let Some(slot) = self.slots.get_mut(*slot) {
                        let actions = deleted(slot, actions, was);
                        self.executor.execute(slot, actions);
                    }
                }
                self.timers.set(unit, group.next_deadline());
            }
        }
        self.update_dataplane(unit);
    }
}

/// The actions of an instance a reload removed, stopped from state `was`, with its STOP
/// notify rewritten as keepalived's for a deleted instance.
fn deleted(slot: &mut Slot, mut actions: Vec<Action>, was: State) -> Vec<Action> {
    let notify_deleted = slot.spec.notify.notify_deleted;
    if !notify_deleted {
        // keepalived picks the specific script while the state is still DELETED: the FAULT
        // it then reports runs `notify` but not `notify_fault`. The slot goes with this
        // reload, so its spec may change.
        slot.spec.notify.fault = None;
    }
    super::deleted::as_deleted(&mut actions, was, notify_deleted);
    actions
}
