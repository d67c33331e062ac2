//! keepalived.conf `vrrp_sync_group`: member instances move together. One member in FAULT
//! puts them all in FAULT; one Master falling back to Backup takes the others with it; the
//! members become Master only when every one of them wants to (keepalived prefers Backup,
//! to avoid thrashing). Notifies are also sent for the group as a whole.

use std::sync::Arc;

use super::{
    actions::{Action, NotifyKind, NotifyTarget, State},
    config::{ConfigError, InstanceConfig},
    events::Event,
    instance::Instance,
    priority::TrackedObject,
    timers::Timestamp,
};

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncGroupConfig {
    /// `vrrp_sync_group NAME`.
    pub name: Arc<str>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): keep the members'
    /// tracker weights. Without it every weight is set to 0, so that a failing tracked
    /// object puts the whole group in FAULT instead of skewing one member's priority.
    pub tracking_weight: bool,
    /// The group's own `track_interface` / `track_script` / `track_file` /
    /// `track_process`: applied to every member.
    pub tracked: Vec<TrackedObject>,
}

impl SyncGroupConfig {
    /// A group without trackers, weights zeroed (keepalived's default).
    pub fn new(name: &str) -> Self {
        SyncGroupConfig {
            name: Arc::from(name),
            tracking_weight: false,
            tracked: Vec::new(),
        }
    }
}

/// An action and the member it comes from (`None`: the group itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupAction {
    /// Index into [`SyncGroup::members`], or `None` for a group-level notify.
    pub member: Option<usize>,
    /// What to do.
    pub action: Action,
}

/// The members of one sync group and the rules binding them.
#[derive(Clone, Debug)]
pub struct SyncGroup {
    name: Arc<str>,
    members: Vec<Instance>,
    state: State,
    #[cfg(feature = "sim-bugs")]
    bug: Option<super::instance::InjectedBug>,
}

impl SyncGroup {
    /// Builds the group; member trackers get the group's trackers added and, unless
    /// `tracking_weight`, their weights set to 0.
    pub fn new(cfg: SyncGroupConfig, members: Vec<InstanceConfig>) -> Result<Self, ConfigError> {
        if members.is_empty() {
            return Err(ConfigError::SyncGroupMembers(cfg.name.to_string()));
        }
        for (i, a) in members.iter().enumerate() {
            if members[..i].iter().any(|b| b.name == a.name) {
                return Err(ConfigError::SyncGroupMembers(cfg.name.to_string()));
            }
        }
        let mut instances = Vec::with_capacity(members.len());
        for mut member in members {
            member.tracked.extend(cfg.tracked.iter().copied());
            if !cfg.tracking_weight {
                for tracked in &mut member.tracked {
                    tracked.weight = 0;
                }
            }
            let mut instance = Instance::new(member)?;
            instance.set_grouped(true);
            instances.push(instance);
        }
        Ok(SyncGroup {
            name: cfg.name,
            members: instances,
            state: State::Initialize,
            #[cfg(feature = "sim-bugs")]
            bug: None,
        })
    }

    /// Test-only: make every member misbehave (see `InjectedBug`).
    #[cfg(feature = "sim-bugs")]
    pub fn inject_bug(&mut self, bug: Option<super::instance::InjectedBug>) {
        self.bug = bug;
        for member in &mut self.members {
            member.inject_bug(bug);
        }
    }

    /// keepalived: one member falling back to Backup takes the others along (the
    /// `sim-bugs` feature can switch this off for tests).
    fn members_fall_back_together(&self) -> bool {
        #[cfg(feature = "sim-bugs")]
        if self.bug == Some(super::instance::InjectedBug::GroupMemberFallsBackAlone) {
            return false;
        }
        true
    }

    /// keepalived `vrrp_startup_delay`: see [`Instance::hold_master_down_until`], for every
    /// member.
    pub fn hold_master_down_until(&mut self, until: Timestamp) {
        for member in &mut self.members {
            member.hold_master_down_until(until);
        }
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The members, in configuration order.
    pub fn members(&self) -> &[Instance] {
        &self.members
    }

    /// The group's state: FAULT if any member is, MASTER/BACKUP once all members are.
    pub fn state(&self) -> State {
        self.state
    }

    /// The earliest deadline of any member.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.members
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// Handles an event for one member (an advert, its interface, its own tracker).
    /// An unknown index yields no action.
    pub fn handle(&mut self, now: Timestamp, member: usize, event: Event) -> Vec<GroupAction> {
        let before = self.states();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        if let Some(instance) = self.members.get_mut(member) {
            instance.handle_into(now, event, &mut buf);
            out.extend(buf.drain(..).map(|action| GroupAction {
                member: Some(member),
                action,
            }));
        }
        self.reconcile(now, &before, &mut out);
        out
    }

    /// Handles an event for every member: `Startup`, `Shutdown`, `Timeout`, and the
    /// group's own trackers.
    pub fn handle_all(&mut self, now: Timestamp, event: Event) -> Vec<GroupAction> {
        let before = self.states();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for (i, instance) in self.members.iter_mut().enumerate() {
            instance.handle_into(now, event, &mut buf);
            out.extend(buf.drain(..).map(|action| GroupAction {
                member: Some(i),
                action,
            }));
        }
        self.reconcile(now, &before, &mut out);
        out
    }

    fn states(&self) -> Vec<State> {
        self.members.iter().map(Instance::state).collect()
    }

    fn each(
        &mut self,
        out: &mut Vec<GroupAction>,
        mut f: impl FnMut(&mut Instance, &mut Vec<Action>),
    ) {
        let mut buf = Vec::new();
        for (i, instance) in self.members.iter_mut().enumerate() {
            f(instance, &mut buf);
            out.extend(buf.drain(..).map(|action| GroupAction {
                member: Some(i),
                action,
            }));
        }
    }

    fn reconcile(&mut self, now: Timestamp, before: &[State], out: &mut Vec<GroupAction>) {
        let own_fault = self
            .members
            .iter()
            .any(|m| m.state() == State::Fault && m.fault_condition());
        if own_fault {
            self.each(out, |m, buf| m.force_fault(now, buf));
        } else {
            self.each(out, |m, buf| m.release_fault(now, buf));
            let fell_back = self
                .members
                .iter()
                .zip(before)
                .any(|(m, was)| *was == State::Master && m.state() == State::Backup);
            if fell_back && self.members_fall_back_together() {
                self.each(out, |m, buf| m.force_backup(now, buf));
            }
            let running = self.members.iter().any(|m| m.state() != State::Initialize);
            if running && self.members.iter().all(Instance::wants_master) {
                self.each(out, |m, buf| m.force_master(now, buf));
            }
        }
        let states = self.states();
        let next = if states.contains(&State::Fault) {
            State::Fault
        } else if states.iter().all(|s| *s == State::Master) {
            State::Master
        } else if states.iter().all(|s| *s == State::Backup) {
            State::Backup
        } else if states.iter().all(|s| *s == State::Initialize) {
            State::Initialize
        } else {
            self.state
        };
        if next != self.state {
            self.state = next;
            let kind = match next {
                State::Master => Some(NotifyKind::Master),
                State::Backup => Some(NotifyKind::Backup),
                State::Fault => Some(NotifyKind::Fault),
                State::Initialize => None,
            };
            if let Some(kind) = kind {
                out.push(GroupAction {
                    member: None,
                    action: Action::Notify {
                        target: NotifyTarget::Group(self.name.clone()),
                        kind,
                        priority: 0,
                    },
                });
            }
        }
    }
}
