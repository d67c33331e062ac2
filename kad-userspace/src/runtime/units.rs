//! The scheduling units of a configuration (each sync group, each instance in no group),
//! their state machines, and adding them to the engine with their IO.

use crate::vrrp::fsm::{ConfigError, Instance, SyncGroup};

use super::{
    RuntimeError,
    engine::{Engine, Machine, Unit, UnitIdentity},
    io::Io,
    spec::RuntimeSpec,
};

/// The scheduling units of `spec`: each sync group, and each instance in no group.
pub(super) fn unit_plans(spec: &RuntimeSpec) -> Vec<(UnitIdentity, Vec<usize>)> {
    let mut grouped = vec![false; spec.instances.len()];
    let mut plans = Vec::new();
    for group in &spec.groups {
        let members: Vec<usize> = group
            .members
            .iter()
            .copied()
            .filter(|m| *m < spec.instances.len())
            .collect();
        for member in &members {
            if let Some(flag) = grouped.get_mut(*member) {
                *flag = true;
            }
        }
        let identity = UnitIdentity {
            members: members
                .iter()
                .filter_map(|m| spec.instances.get(*m).cloned())
                .collect(),
            group: Some(group.clone()),
        };
        plans.push((identity, members));
    }
    for (index, instance) in spec.instances.iter().enumerate() {
        if !grouped.get(index).copied().unwrap_or(false) {
            plans.push((
                UnitIdentity {
                    members: vec![instance.clone()],
                    group: None,
                },
                vec![index],
            ));
        }
    }
    plans
}

/// Builds a unit's machine from its identity.
pub(super) fn machine(identity: &UnitIdentity) -> Result<Machine, RuntimeError> {
    let instance_error = |name: &str| {
        let name = name.to_owned();
        move |source| RuntimeError::Instance {
            instance: name,
            source,
        }
    };
    match &identity.group {
        None => {
            let spec = identity
                .members
                .first()
                .ok_or_else(|| RuntimeError::Instance {
                    instance: String::new(),
                    source: ConfigError::Vrid,
                })?;
            let instance =
                Instance::new(spec.fsm.clone()).map_err(instance_error(&spec.fsm.name))?;
            Ok(Machine::Single(Box::new(instance)))
        }
        Some(group) => {
            let members = identity.members.iter().map(|m| m.fsm.clone()).collect();
            let sync = SyncGroup::new(group.config.clone(), members)
                .map_err(instance_error(&group.config.name))?;
            Ok(Machine::Group {
                group: sync,
                notify: Box::new(group.notify.clone()),
            })
        }
    }
}

/// Adds the units of `plans` (not in `keep`) to `engine`, opening their IO.
pub(super) fn add_units(
    engine: &mut Engine,
    io: &mut Io,
    plans: Vec<(UnitIdentity, Vec<usize>)>,
) -> Result<Vec<usize>, RuntimeError> {
    let mut added = Vec::new();
    for (identity, _) in plans {
        let machine = machine(&identity)?;
        let unit = engine.units.len();
        let mut slots = Vec::new();
        for (member, spec) in identity.members.iter().enumerate() {
            let slot = io.slot(spec.clone())?;
            engine.executor.remove_stale(&slot);
            slots.push(engine.slots.len());
            engine.owner.push((unit, member));
            engine.slots.push(slot);
        }
        engine.units.push(Unit {
            machine,
            slots,
            identity,
        });
        added.push(unit);
    }
    Ok(added)
}
