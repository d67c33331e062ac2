//! keepalived.conf `fifo_write_vrrp_states_on_reload`: on SIGHUP the state of every sync
//! group and instance that kept running is written to the notify FIFOs again, groups first
//! and then instances, as keepalived's vrrp_init_state. keepalived 2.2.7 leaves out an
//! instance that is Master (its reload path for a Master skips the write); kad writes it,
//! as keepalived.conf(5) says ("the states to be sent to the FIFO(s)").

use crate::vrrp::fsm::{NotifyKind, NotifyTarget, State};

use super::engine::Machine;

/// The FIFO lines (target, state, priority) for `machines`: every group first (priority 0,
/// as keepalived writes a group's), then every instance with its effective priority. An
/// instance still initialising has no state to report.
pub(super) fn current_states<'a>(
    machines: impl Iterator<Item = &'a Machine> + Clone,
) -> Vec<(NotifyTarget, NotifyKind, u8)> {
    let groups = machines.clone().filter_map(|machine| match machine {
        Machine::Group { group, .. } => Some((
            NotifyTarget::Group(group.name().into()),
            kind(group.state())?,
            0,
        )),
        Machine::Single(_) => None,
    });
    let instances = machines
        .flat_map(|machine| match machine {
            Machine::Single(instance) => std::slice::from_ref(&**instance),
            Machine::Group { group, .. } => group.members(),
        })
        .filter_map(|instance| {
            Some((
                NotifyTarget::Instance(instance.config().name.clone()),
                kind(instance.state())?,
                instance.priority(),
            ))
        });
    groups.chain(instances).collect()
}

/// The FIFO word of a running state.
fn kind(state: State) -> Option<NotifyKind> {
    match state {
        State::Master => Some(NotifyKind::Master),
        State::Backup => Some(NotifyKind::Backup),
        State::Fault => Some(NotifyKind::Fault),
        State::Initialize => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::{
        runtime::spec::NotifySpec,
        vrrp::fsm::{Event, Instance, InstanceConfig, SyncGroup, SyncGroupConfig, Timestamp},
    };

    fn config(name: &str, vrid: u8, priority: u8) -> InstanceConfig {
        let mut cfg = InstanceConfig::new(name, vrid, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        cfg.priority = priority;
        cfg
    }

    fn started(name: &str, vrid: u8, priority: u8) -> Machine {
        let mut instance = Instance::new(config(name, vrid, priority)).expect("valid");
        instance.handle(Timestamp::ZERO, Event::Startup);
        Machine::Single(Box::new(instance))
    }

    #[test]
    fn groups_come_first_then_every_instance_with_its_priority() {
        let mut group = SyncGroup::new(
            SyncGroupConfig::new("G"),
            vec![config("G1", 3, 100), config("G2", 4, 100)],
        )
        .expect("valid");
        group.handle_all(Timestamp::ZERO, Event::Startup);
        let idle = Machine::Single(Box::new(
            Instance::new(config("IDLE", 5, 100)).expect("valid"),
        ));
        let machines = [
            started("OWNER", 1, 255),
            Machine::Group {
                group,
                notify: Box::new(NotifySpec::default()),
            },
            started("B", 2, 150),
            idle,
        ];
        let name = |text: &str| -> std::sync::Arc<str> { text.into() };
        assert_eq!(
            current_states(machines.iter()),
            [
                (NotifyTarget::Group(name("G")), NotifyKind::Backup, 0),
                (
                    NotifyTarget::Instance(name("OWNER")),
                    NotifyKind::Master,
                    255
                ),
                (NotifyTarget::Instance(name("G1")), NotifyKind::Backup, 100),
                (NotifyTarget::Instance(name("G2")), NotifyKind::Backup, 100),
                (NotifyTarget::Instance(name("B")), NotifyKind::Backup, 150),
            ]
        );
    }
}
