//! One VRRP instance: RFC 5798 §6.4 (and RFC 3768 §6.4) with keepalived's extensions.
//! Sans-IO: `(now, Event)` in, [`Action`]s and [`Instance::next_deadline`] out.

use std::{net::IpAddr, sync::Arc, time::Duration};

use super::{
    actions::{
        Action, AdvertOut, DiscardReason, GarpReason, NotifyKind, NotifyTarget, Reason, State,
        VirtualSet,
    },
    config::{ConfigError, InstanceConfig, Version},
    events::{Advert, Event},
    priority::Trackers,
    timers::{Centis, Timestamp, master_down_interval, skew_time},
};

/// How long a gracefully stopping Master keeps its addresses after its successor's first
/// advert: the successor installs them and sends its gratuitous ARPs just after sending that
/// advert (about 10 ms on a loaded 2-core machine, BENCHMARKS.md).
const RELEASE_HOLD: std::time::Duration = std::time::Duration::from_millis(20);

/// A deliberately wrong behaviour, selectable only with the `sim-bugs` feature, so that
/// the simulator's tests can prove its invariants catch real mistakes.
#[cfg(feature = "sim-bugs")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedBug {
    /// Equal priorities: the LOWER primary address wins (RFC 5798 §6.4.3 says higher).
    InvertedTieBreak,
    /// A Backup ignores priority-0 adverts instead of waiting only Skew_Time.
    IgnorePriorityZero,
    /// `nopreempt` is ignored: a higher-priority Backup preempts anyway.
    IgnoreNopreempt,
    /// Sync group: a member falling back to Backup does not take the others along.
    GroupMemberFallsBackAlone,
}

/// The state machine of one `vrrp_instance`.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    advert_addresses: Arc<[IpAddr]>,
    garp_addresses: Arc<[IpAddr]>,
    virtuals: VirtualSet,
    state: State,
    trackers: Trackers,
    interface_up: bool,
    base_priority: u8,
    priority: u8,
    master_adver_interval: Centis,
    master_down_at: Option<Timestamp>,
    adver_at: Option<Timestamp>,
    garp_delay_at: Option<Timestamp>,
    garp_refresh_at: Option<Timestamp>,
    garp_extra_at: Option<Timestamp>,
    garp_lower_at: Option<Timestamp>,
    preempt_at: Option<Timestamp>,
    /// keepalived `vrrp_startup_delay`: no Master_Down timer of a Backup expires before.
    startup_hold: Option<Timestamp>,
    last_lower_reply: Option<Timestamp>,
    grouped: bool,
    want_master: bool,
    forced_fault: bool,
    /// `track_src_ip`: the configured source address is on the interface.
    source_present: bool,
    master: Option<(IpAddr, u8)>,
    last_change: Option<(Timestamp, Reason)>,
    /// [`Event::GracefulShutdown`]: virtual addresses still held until then.
    releasing_until: Option<Timestamp>,
    #[cfg(feature = "sim-bugs")]
    bug: Option<InjectedBug>,
}

impl Instance {
    /// A new instance in Initialize; send [`Event::Startup`] to run it.
    pub fn new(cfg: InstanceConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let advert_addresses: Arc<[IpAddr]> = cfg.virtuals.addresses.clone().into();
        let garp_addresses: Arc<[IpAddr]> = cfg.virtuals.installed().collect();
        let trackers = Trackers::new(&cfg.tracked);
        let priority = trackers.effective_priority(cfg.priority);
        let virtuals = VirtualSet {
            addresses: advert_addresses.clone(),
            excluded: cfg.virtuals.excluded.clone().into(),
            routes: cfg.virtuals.routes.clone().into(),
            rules: cfg.virtuals.rules.clone().into(),
            accept: cfg.accept || cfg.priority == 255,
        };
        Ok(Instance {
            advert_addresses,
            garp_addresses,
            virtuals,
            state: State::Initialize,
            trackers,
            interface_up: true,
            base_priority: cfg.priority,
            priority,
            master_adver_interval: cfg.advert_interval,
            master_down_at: None,
            adver_at: None,
            garp_delay_at: None,
            garp_refresh_at: None,
            garp_extra_at: None,
            garp_lower_at: None,
            preempt_at: None,
            startup_hold: None,
            last_lower_reply: None,
            grouped: false,
            want_master: false,
            forced_fault: false,
            source_present: true,
            master: None,
            last_change: None,
            releasing_until: None,
            #[cfg(feature = "sim-bugs")]
            bug: None,
            cfg,
        })
    }

    /// Test-only: make this instance misbehave (see [`InjectedBug`]).
    #[cfg(feature = "sim-bugs")]
    pub fn inject_bug(&mut self, bug: Option<InjectedBug>) {
        self.bug = bug;
    }

    /// The configuration this instance runs.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Current RFC 5798 state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority: base + tracker weights, clamped (keepalived.conf `weight`).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// RFC 5798 §6.1 Master_Adver_Interval (v3: learned from the Master's adverts).
    pub fn master_adver_interval(&self) -> Centis {
        self.master_adver_interval
    }

    /// RFC 5798 §6.1 Master_Down_Interval with the current priority and learned interval.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.priority,
            self.master_adver_interval,
            self.cfg.down_timer_adverts,
        )
    }

    /// RFC 5798 §6.1 Skew_Time with the current priority and learned interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(self.cfg.version, self.priority, self.master_adver_interval)
    }

    /// Address and priority of the Master last heard (as Backup).
    pub fn current_master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// When and why the state last changed.
    pub fn last_change(&self) -> Option<(Timestamp, Reason)> {
        self.last_change
    }

    /// keepalived `vrrp_startup_delay`: until `until`, a Backup's Master_Down timer counts
    /// from `until` instead of from now (the instance runs, but cannot become Master
    /// before `until` plus its Master_Down_Interval).
    pub fn hold_master_down_until(&mut self, until: Timestamp) {
        self.startup_hold = Some(until);
        if let Some(at) = self.master_down_at.filter(|_| self.state == State::Backup) {
            self.master_down_at = Some(at.max(until + self.master_down_interval()));
        }
    }

    /// Where a Backup's Master_Down timer counts from: now, or the end of the startup hold.
    fn down_from(&self, now: Timestamp) -> Timestamp {
        self.startup_hold.map_or(now, |hold| hold.max(now))
    }

    /// The earliest time at which [`Event::Timeout`] has something to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        [
            self.master_down_at,
            self.adver_at,
            self.garp_delay_at,
            self.garp_refresh_at,
            self.garp_extra_at,
            self.garp_lower_at,
            self.releasing_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Handles one event at time `now`, returning the actions in the order to execute.
    pub fn handle(&mut self, now: Timestamp, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(now, event, &mut out);
        out
    }

    /// As [`Instance::handle`], appending to `out` (no allocation when `out` has room).
    pub fn handle_into(&mut self, now: Timestamp, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::Startup => {
                if self.state == State::Initialize {
                    if self.fault_condition() {
                        self.enter_fault(now, Reason::Fault, out);
                    } else {
                        self.initialize(now, Reason::Startup, true, out);
                    }
                }
            }
            Event::Shutdown => self.shutdown(now, out),
            Event::GracefulShutdown => self.graceful_shutdown(now, out),
            Event::Advert(advert) => self.on_advert(now, advert, out),
            Event::Timeout => self.on_timeout(now, out),
            Event::Interface { up } => {
                self.interface_up = up;
                self.reevaluate(now, out);
            }
            Event::SourceAddress { present } => {
                self.source_present = present;
                self.reevaluate(now, out);
            }
            Event::Tracker { id, status } => {
                if self.trackers.set(id, status) {
                    self.reevaluate(now, out);
                }
            }
            Event::MasterPeerDown { peer } => self.master_peer_down(now, peer, out),
            Event::PrimaryAddress(address) => {
                if address.is_ipv6() == self.cfg.primary_address.is_ipv6() {
                    self.cfg.primary_address = address;
                }
            }
            Event::SetPriority(priority) => {
                self.base_priority = priority.max(1);
                self.reevaluate(now, out);
            }
        }
    }

    /// True while the interface or a tracked object demands FAULT.
    pub fn fault_condition(&self) -> bool {
        !self.interface_up || !self.source_present || self.trackers.fault() || self.cfg.config_fault
    }

    fn target(&self) -> NotifyTarget {
        NotifyTarget::Instance(self.cfg.name.clone())
    }

    fn notify(&self, kind: NotifyKind, out: &mut Vec<Action>) {
        out.push(Action::Notify {
            target: self.target(),
            kind,
            priority: self.priority,
        });
    }

    fn advert(&self, priority: u8) -> Action {
        Action::SendAdvert(AdvertOut {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            interval: self.cfg.advert_interval,
            source: self.cfg.primary_address,
            addresses: self.advert_addresses.clone(),
        })
    }

    fn garp(&self, repeat: u32, reason: GarpReason, out: &mut Vec<Action>) {
        if repeat > 0 {
            out.push(Action::SendGratuitous {
                addresses: self.garp_addresses.clone(),
                repeat,
                reason,
            });
        }
    }

    fn set_state(&mut self, now: Timestamp, to: State, reason: Reason, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.last_change = Some((now, reason));
        out.push(Action::StateChanged { from, to, reason });
    }

    fn clear_timers(&mut self) {
        self.master_down_at = None;
        self.adver_at = None;
        self.garp_delay_at = None;
        self.garp_refresh_at = None;
        self.garp_extra_at = None;
        self.garp_lower_at = None;
        self.preempt_at = None;
    }

    /// RFC 5798 §6.4.1: owner → Master, else Backup with Master_Down_Timer armed.
    /// keepalived `preempt_delay` lengthens the first wait at start.
    fn initialize(&mut self, now: Timestamp, reason: Reason, startup: bool, out: &mut Vec<Action>) {
        self.master_adver_interval = self.cfg.advert_interval;
        self.master = None;
        if self.priority == 255 && !self.grouped {
            self.become_master(now, Reason::Owner, out);
            return;
        }
        let mut wait = self.master_down_interval();
        if startup && !self.cfg.nopreempt {
            wait += self.cfg.preempt_delay;
        }
        self.become_backup(now, reason, out);
        self.master_down_at = Some(self.down_from(now) + wait);
        if self.priority == 255 {
            // Grouped owner: ask the group to go Master now.
            self.want_master = true;
        }
    }

    fn become_master(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        self.clear_timers();
        self.want_master = false;
        self.master = None;
        self.set_state(now, State::Master, reason, out);
        out.push(Action::AddVirtuals(self.virtuals.clone()));
        out.push(self.advert(self.priority));
        let garp = self.cfg.garp;
        self.garp(garp.master_repeat, GarpReason::BecameMaster, out);
        self.adver_at = Some(now + self.cfg.advert_interval.duration());
        if !garp.master_delay.is_zero() && garp.master_repeat > 0 {
            self.garp_delay_at = Some(now + garp.master_delay);
        }
        if !garp.master_refresh.is_zero() && garp.master_refresh_repeat > 0 {
            self.garp_refresh_at = Some(now + garp.master_refresh);
        }
        if !garp.extra_interfaces.is_zero() {
            self.garp_extra_at = Some(now + garp.extra_interfaces);
        }
        self.notify(NotifyKind::Master, out);
    }

    /// Leaves the current state for Backup; Master_Down_Timer = Master_Down_Interval.
    fn become_backup(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.clear_timers();
        self.want_master = false;
        self.set_state(now, State::Backup, reason, out);
        if was_master {
            out.push(Action::RemoveVirtuals(self.virtuals.clone()));
        }
        self.master_down_at = Some(self.down_from(now) + self.master_down_interval());
        self.notify(NotifyKind::Backup, out);
    }

    fn enter_fault(&mut self, now: Timestamp, reason: Reason, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.clear_timers();
        self.want_master = false;
        self.master = None;
        self.set_state(now, State::Fault, reason, out);
        if was_master {
            if self.interface_up {
                out.push(self.advert(0));
            }
            out.push(Action::RemoveVirtuals(self.virtuals.clone()));
        }
        self.notify(NotifyKind::Fault, out);
    }

    /// RFC 5798 §6.4.2/§6.4.3 Shutdown: a Master sends priority 0 and releases the VIPs.
    fn shutdown(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.releasing_until.is_some() {
            self.release(out);
            return;
        }
        if self.state == State::Initialize {
            return;
        }
        let was_master = self.state == State::Master;
        self.clear_timers();
        self.want_master = false;
        self.forced_fault = false;
        self.master = None;
        if was_master {
            out.push(self.advert(0));
            out.push(Action::RemoveVirtuals(self.virtuals.clone()));
        }
        self.set_state(now, State::Initialize, Reason::Shutdown, out);
        self.notify(NotifyKind::Stop, out);
    }

    /// [`Event::GracefulShutdown`]: a Master announces priority 0 and waits for its successor
    /// before giving the addresses up; any other state shuts down as usual.
    fn graceful_shutdown(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.state != State::Master || self.releasing_until.is_some() {
            self.shutdown(now, out);
            return;
        }
        let interval = self.cfg.advert_interval.duration();
        self.clear_timers();
        self.want_master = false;
        self.forced_fault = false;
        self.master = None;
        out.push(self.advert(0));
        self.set_state(now, State::Initialize, Reason::Shutdown, out);
        self.releasing_until = Some(now + interval + interval / 4);
    }

    /// The end of a graceful shutdown: the addresses go, `notify_stop` runs.
    fn release(&mut self, out: &mut Vec<Action>) {
        self.releasing_until = None;
        out.push(Action::RemoveVirtuals(self.virtuals.clone()));
        self.notify(NotifyKind::Stop, out);
    }

    /// True while a gracefully stopping Master still holds its addresses.
    pub fn releasing(&self) -> bool {
        self.releasing_until.is_some()
    }

    /// Priority or fault condition may have changed.
    fn reevaluate(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let priority = self.trackers.effective_priority(self.base_priority);
        if priority != self.priority {
            out.push(Action::PriorityChanged {
                from: self.priority,
                to: priority,
            });
            self.priority = priority;
            if self.cfg.notify_priority_changes
                && matches!(self.state, State::Master | State::Backup)
            {
                let master = self.state == State::Master;
                self.notify(NotifyKind::Priority { master }, out);
            }
        }
        match self.state {
            State::Initialize => {}
            State::Backup | State::Master => {
                if self.fault_condition() {
                    self.enter_fault(now, Reason::Fault, out);
                }
            }
            State::Fault => {
                if !self.fault_condition() && !self.forced_fault {
                    self.initialize(now, Reason::FaultCleared, false, out);
                }
            }
        }
    }

    /// RFC 5798 §6.4.3: does `advert` beat us? Higher priority, or equal priority and a
    /// higher primary address (compared as unsigned integers in network order).
    fn beats_us(&self, advert: &Advert) -> bool {
        if advert.priority != self.priority {
            return advert.priority > self.priority;
        }
        let theirs = addr_key(advert.source);
        let ours = addr_key(self.cfg.primary_address);
        #[cfg(feature = "sim-bugs")]
        if self.bug == Some(InjectedBug::InvertedTieBreak) {
            return theirs < ours;
        }
        theirs > ours
    }

    fn on_advert(&mut self, now: Timestamp, advert: Advert, out: &mut Vec<Action>) {
        if self.releasing_until.is_some()
            && advert.vrid == self.cfg.vrid
            && advert.priority > 0
            && advert.source != self.cfg.primary_address
        {
            // The successor speaks: it is Master and installs the addresses and sends its
            // gratuitous ARPs now, a few milliseconds after this advert. Both hold them
            // for that long, so clients see no gap.
            let hold = now + RELEASE_HOLD;
            if self.releasing_until.is_some_and(|until| until > hold) {
                self.releasing_until = Some(hold);
            }
        }
        let discard = if advert.vrid != self.cfg.vrid {
            Some(DiscardReason::Vrid)
        } else if advert.version != self.cfg.version {
            Some(DiscardReason::Version)
        } else if advert.interval_cs == 0
            || advert.interval_cs > Centis::MAX
            || (self.cfg.version == Version::V2
                && advert.interval_cs != self.cfg.advert_interval.get())
        {
            Some(DiscardReason::Interval)
        } else if advert.source == self.cfg.primary_address {
            Some(DiscardReason::Own)
        } else if matches!(self.state, State::Initialize | State::Fault) {
            Some(DiscardReason::NotListening)
        } else {
            None
        };
        if let Some(reason) = discard {
            out.push(Action::Discarded(reason));
            return;
        }
        let interval = Centis::new(advert.interval_cs).unwrap_or(self.cfg.advert_interval);
        match self.state {
            State::Backup => self.backup_rx(now, advert, interval, out),
            State::Master => self.master_rx(now, advert, interval, out),
            State::Initialize | State::Fault => {}
        }
    }

    /// keepalived `nopreempt` (the `sim-bugs` feature can switch it off for tests).
    fn nopreempt(&self) -> bool {
        #[cfg(feature = "sim-bugs")]
        if self.bug == Some(InjectedBug::IgnoreNopreempt) {
            return false;
        }
        self.cfg.nopreempt
    }

    /// RFC 5798 §6.4.2, with keepalived's `nopreempt` and `preempt_delay`.
    fn backup_rx(
        &mut self,
        now: Timestamp,
        advert: Advert,
        interval: Centis,
        out: &mut Vec<Action>,
    ) {
        if advert.priority == 0 {
            #[cfg(feature = "sim-bugs")]
            if self.bug == Some(InjectedBug::IgnorePriorityZero) {
                return;
            }
            // The Master is leaving: take over after Skew_Time only.
            self.master = None;
            self.master_down_at = Some(self.down_from(now) + self.skew_time());
            return;
        }
        let lower = advert.priority < self.priority;
        let mut accept = self.nopreempt() || !lower;
        if !accept && !self.cfg.preempt_delay.is_zero() {
            // keepalived preempt_delay: keep following a lower-priority Master until the
            // delay (counted from the first such advert) has passed.
            let until = *self.preempt_at.get_or_insert(now + self.cfg.preempt_delay);
            accept = now < until;
        }
        if !accept {
            out.push(Action::Discarded(DiscardReason::LowerPriority));
            return;
        }
        if !lower {
            self.preempt_at = None;
        }
        if self.cfg.version == Version::V3 {
            self.master_adver_interval = interval;
        }
        self.master = Some((advert.source, advert.priority));
        self.want_master = false;
        self.master_down_at = Some(self.down_from(now) + self.master_down_interval());
    }

    /// RFC 5798 §6.4.3, with keepalived's `higher_prio_send_advert`, `lower_prio_no_advert`,
    /// `garp_lower_prio_*` and `notify_master_rx_lower_pri`.
    fn master_rx(
        &mut self,
        now: Timestamp,
        advert: Advert,
        interval: Centis,
        out: &mut Vec<Action>,
    ) {
        if advert.priority == 0 {
            out.push(self.advert(self.priority));
            self.adver_at = Some(now + self.cfg.advert_interval.duration());
            return;
        }
        if self.beats_us(&advert) {
            if self.cfg.higher_prio_send_advert {
                out.push(self.advert(self.priority));
            }
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = interval;
            }
            self.become_backup(now, Reason::Preempted, out);
            self.master = Some((advert.source, advert.priority));
            return;
        }
        out.push(Action::Discarded(DiscardReason::LowerPriority));
        // kad: answer at most once per advert interval, so that a flood of lower-priority
        // adverts is never answered in kind (keepalived answers every one, LAB.md).
        let interval = self.cfg.advert_interval.duration();
        if self
            .last_lower_reply
            .is_some_and(|last| now.saturating_since(last) < interval)
        {
            return;
        }
        self.last_lower_reply = Some(now);
        if !self.cfg.lower_prio_no_advert {
            out.push(self.advert(self.priority));
        }
        let garp = self.cfg.garp;
        if garp.lower_prio_repeat > 0 {
            self.garp(garp.lower_prio_repeat, GarpReason::LowerPriority, out);
            if !garp.lower_prio_delay.is_zero() {
                self.garp_lower_at = Some(now + garp.lower_prio_delay);
            }
        }
        self.notify(NotifyKind::MasterRxLowerPri, out);
    }

    /// [`Event::MasterPeerDown`]: a Backup whose current Master is `peer` acts as on
    /// Master_Down_Timer expiry now (RFC 5798 §6.4.2), or at the end of a startup hold
    /// (`vrrp_startup_delay`), as that timer would.
    fn master_peer_down(&mut self, now: Timestamp, peer: IpAddr, out: &mut Vec<Action>) {
        if self.state != State::Backup || self.master.map(|(address, _)| address) != Some(peer) {
            return;
        }
        let at = self.down_from(now);
        self.master_down_at = Some(at);
        if at > now {
            return;
        }
        if self.grouped {
            // As on expiry in a sync group: Master only when every member wants it.
            self.want_master = true;
            self.master = None;
            self.master_down_at = Some(now + self.master_down_interval());
        } else {
            self.become_master(now, Reason::MasterPeerDown, out);
        }
    }

    fn on_timeout(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.releasing_until.is_some_and(|at| at <= now) {
            self.release(out);
        }
        match self.state {
            State::Backup => {
                if self.master_down_at.is_some_and(|at| at <= now) {
                    if self.grouped {
                        // keepalived sync groups: Master only when every member wants it.
                        self.want_master = true;
                        self.master = None;
                        self.master_down_at =
                            Some(self.down_from(now) + self.master_down_interval());
                    } else {
                        self.become_master(now, Reason::MasterDown, out);
                    }
                }
            }
            State::Master => {
                if let Some(at) = self.adver_at.filter(|at| *at <= now) {
                    out.push(self.advert(self.priority));
                    // Keep the cadence: the next advert is due one interval after this one
                    // was due, not after the (possibly late) wake-up, so that late wake-ups
                    // do not add up; after a stall of more than an interval, restart from now.
                    let interval = self.cfg.advert_interval.duration();
                    let next = at + interval;
                    self.adver_at = Some(if next > now { next } else { now + interval });
                }
                let garp = self.cfg.garp;
                if self.garp_delay_at.is_some_and(|at| at <= now) {
                    self.garp_delay_at = None;
                    self.garp(garp.master_repeat, GarpReason::MasterDelay, out);
                }
                if self.garp_refresh_at.is_some_and(|at| at <= now) {
                    self.garp_refresh_at = Some(now + garp.master_refresh);
                    self.garp(garp.master_refresh_repeat, GarpReason::Refresh, out);
                }
                if self.garp_extra_at.is_some_and(|at| at <= now) {
                    self.garp_extra_at = Some(now + garp.extra_interfaces);
                    self.garp(1, GarpReason::ExtraInterfaces, out);
                }
                if self.garp_lower_at.is_some_and(|at| at <= now) {
                    self.garp_lower_at = None;
                    self.garp(garp.lower_prio_repeat, GarpReason::LowerPriority, out);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    // ---- sync group hooks (see `sync_group`) ----

    pub(crate) fn set_grouped(&mut self, grouped: bool) {
        self.grouped = grouped;
    }

    pub(crate) fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.want_master)
    }

    pub(crate) fn force_master(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.state == State::Backup {
            self.become_master(now, Reason::SyncGroup, out);
        }
    }

    pub(crate) fn force_backup(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.become_backup(now, Reason::SyncGroup, out);
        }
    }

    pub(crate) fn force_fault(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if matches!(self.state, State::Backup | State::Master) {
            self.forced_fault = true;
            self.enter_fault(now, Reason::SyncGroup, out);
        }
    }

    pub(crate) fn release_fault(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        if self.state == State::Fault && self.forced_fault {
            self.forced_fault = false;
            if !self.fault_condition() {
                self.initialize(now, Reason::SyncGroup, false, out);
            }
        }
    }
}

/// RFC 5798 §6.4.3: addresses compare as unsigned integers in network byte order.
fn addr_key(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}
