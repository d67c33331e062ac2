//! An instance a reload removes (keepalived's clear_diff_vrrp): it stops as on SIGTERM
//! (priority 0 from a Master, addresses removed) but its notifies say FAULT, as keepalived
//! has always sent (the generic `notify` and the FIFO only: keepalived runs no
//! `notify_fault` for it), or DELETED under `notify_deleted` (with its script); one already
//! in FAULT notifies nothing unless `notify_deleted` is set. `notify_stop` is not run.

use crate::vrrp::fsm::{Action, NotifyKind, State};

use super::spec::InstanceSpec;

/// Whether `old` is still configured in `new`: keepalived's vrrp_exist matches the VRID,
/// the address family and the interface (whatever the instance's name).
pub(super) fn still_configured(old: &InstanceSpec, new: &[InstanceSpec]) -> bool {
    new.iter().any(|spec| {
        spec.fsm.vrid == old.fsm.vrid
            && spec.interface == old.interface
            && spec.fsm.primary_address.is_ipv6() == old.fsm.primary_address.is_ipv6()
    })
}

/// Rewrites the STOP notify of a stopping instance that was in state `was` as keepalived
/// notifies a deleted one (see the module's text).
pub(super) fn as_deleted(actions: &mut Vec<Action>, was: State, notify_deleted: bool) {
    actions.retain_mut(|action| match action {
        Action::Notify { kind, .. } if *kind == NotifyKind::Stop => {
            if notify_deleted {
                *kind = NotifyKind::Deleted;
                true
            } else if was == State::Fault {
                false
            } else {
                *kind = NotifyKind::Fault;
                true
            }
        }
        _ => true,
    });
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::vrrp::fsm::{Event, Instance, InstanceConfig, Timestamp};

    fn notifies(actions: &[Action]) -> Vec<NotifyKind> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Notify { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    /// The actions of an owner (so Master at once) stopped while `was`.
    fn stopped_master() -> (Vec<Action>, State) {
        let cfg = InstanceConfig {
            priority: 255,
            ..InstanceConfig::new("B", 52, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        };
        let mut instance = Instance::new(cfg).expect("valid");
        instance.handle(Timestamp::ZERO, Event::Startup);
        let was = instance.state();
        (
            instance.handle(Timestamp::from_micros(1), Event::Shutdown),
            was,
        )
    }

    #[test]
    fn a_deleted_master_notifies_fault_or_deleted_never_stop() {
        let (mut actions, was) = stopped_master();
        assert_eq!(was, State::Master);
        assert_eq!(notifies(&actions), [NotifyKind::Stop]);
        let untouched = actions.len();
        as_deleted(&mut actions, was, false);
        assert_eq!(notifies(&actions), [NotifyKind::Fault]);
        assert_eq!(actions.len(), untouched, "priority 0 and the removal stay");
        let (mut actions, was) = stopped_master();
        as_deleted(&mut actions, was, true);
        assert_eq!(notifies(&actions), [NotifyKind::Deleted]);
    }

    #[test]
    fn a_deleted_instance_in_fault_notifies_only_under_notify_deleted() {
        let stop = || {
            vec![Action::Notify {
                target: crate::vrrp::fsm::NotifyTarget::Instance("B".into()),
                kind: NotifyKind::Stop,
                priority: 100,
            }]
        };
        let mut actions = stop();
        as_deleted(&mut actions, State::Fault, false);
        assert_eq!(notifies(&actions), []);
        let mut actions = stop();
        as_deleted(&mut actions, State::Fault, true);
        assert_eq!(notifies(&actions), [NotifyKind::Deleted]);
    }
}
