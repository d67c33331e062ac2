//! SIGHUP and re-created interfaces: swapping a configuration in, keeping the units
//! whose settings did not change running untouched.

use crate::track::TrackerSource;

use super::{
    RuntimeError, Slot,
    deleted::still_configured,
    engine::{Engine, Machine, UnitIdentity},
    io::Io,
    spec::{InstanceSpec, RuntimeSpec},
    timers::Timers,
    units::{add_units, unit_plans},
};

/// Swaps in `spec`: units whose identity (member settings, group settings, and the tracked
/// objects they use) did not change keep running as they are; the others are stopped as
/// on SIGTERM (those no longer configured notify as deleted) and the new ones started. Under `fifo_write_vrrp_states_on_reload` the
/// states of the kept ones are written to the notify FIFOs. Returns (kept, started).
pub(super) fn reload(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: RuntimeSpec,
) -> Result<(usize, usize), RuntimeError> {
    let write_states = spec.fifo_states_on_reload;
    let (kept, started) = reload_restarting(engine, io, trackers, spec, |_| false)?;
    if write_states {
        let units = engine.units.iter().take(kept).map(|unit| &unit.machine);
        for (target, kind, priority) in super::reload_fifo::current_states(units) {
            engine.executor.fifo_notify(&target, kind, priority);
        }
    }
    Ok((kept, started))
}

/// An interface an instance runs on was deleted and created again (a new ifindex): its
/// units restart on the new interface (new sockets, XDP attached again), the others keep
/// running. Instances with a VMAC on it are left in FAULT: their macvlan went with the old
/// interface, and only a restart of kad rebuilds it.
pub(super) fn restart_on_recreated(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: &mut RuntimeSpec,
    interface: &str,
    ifindex: u32,
) -> Result<(usize, usize), RuntimeError> {
    // Addresses and routes were resolved to the old index: point them at the new one.
    let old: Vec<u32> = engine
        .slots
        .iter()
        .filter(|slot| slot.spec.interface == interface && slot.ifindex != ifindex)
        .map(|slot| slot.ifindex)
        .collect();
    for member in &mut spec.instances {
        for old in &old {
            member.renumber_interface(*old, ifindex);
        }
    }
    let on_it = |member: &InstanceSpec| {
        member.interface == interface || member.receive_interface == interface
    };
    for member in spec
        .instances
        .iter()
        .filter(|m| on_it(m) && m.vmac.is_some())
    {
        tracing::warn!(instance = %member.fsm.name, vrid = member.fsm.vrid, interface, "interface re-created: the VMAC went with it; restart kad to rebuild it");
    }
    io.sockets.retain(|(name, _), _| name != interface);
    io.ah_sockets.retain(|name, _| name != interface);
    reload_restarting(engine, io, trackers, spec.clone(), |identity| {
        identity.members.iter().any(on_it) && identity.members.iter().all(|m| m.vmac.is_none())
    })
}

/// [`reload`], restarting the units `restart` picks even when their settings are unchanged.
pub(super) fn reload_restarting(
    engine: &mut Engine,
    io: &mut Io,
    trackers: &mut Vec<TrackerSource>,
    spec: RuntimeSpec,
    restart: impl Fn(&UnitIdentity) -> bool,
) -> Result<(usize, usize), RuntimeError> {
    engine.executor.set_mail(spec.smtp.clone());
    let trackers_changed = *trackers != spec.trackers;
    let uses_trackers = |identity: &UnitIdentity| {
        identity.members.iter().any(|m| !m.fsm.tracked.is_empty())
            || identity
                .group
                .as_ref()
                .is_some_and(|g| !g.config.tracked.is_empty())
    };
    let mut plans = unit_plans(&spec);
    // Which old units survive, and which new plans they stand for.
    let mut kept_old = Vec::new();
    plans.retain(|(identity, _)| {
        let same = engine.units.iter().position(|unit| {
            unit.identity == *identity
                && !(trackers_changed && uses_trackers(identity))
                && !restart(identity)
        });
        match same {
            Some(old) if !kept_old.contains(&old) => {
                kept_old.push(old);
                false
            }
            _ => true,
        }
    });
    for old in 0..engine.units.len() {
        if kept_old.contains(&old) {
            continue;
        }
        let removed = engine.units.get(old).is_some_and(|unit| {
            unit.identity
                .members
                .iter()
                .all(|member| !still_configured(member, &spec.instances))
        });
        if removed {
            engine.delete_unit(old);
        } else {
            engine.stop_unit(old);
        }
    }

    // Rebuild the tables: kept units first (state untouched), then the new ones.
    let old_units = std::mem::take(&mut engine.units);
    let mut old_slots: Vec<Option<Slot>> = std::mem::take(&mut engine.slots)
        .into_iter()
        .map(Some)
        .collect();
    engine.owner.clear();
    for (old_index, mut unit) in old_units.into_iter().enumerate() {
        if !kept_old.contains(&old_index) {
            continue;
        }
        let index = engine.units.len();
        let mut slots = Vec::new();
        for (member, old_slot) in unit.slots.iter().enumerate() {
            if let Some(slot) = old_slots.get_mut(*old_slot).and_then(Option::take) {
                slots.push(engine.slots.len());
                engine.owner.push((index, member));
                engine.slots.push(slot);
            }
        }
        unit.slots = slots;
        engine.units.push(unit);
    }
    let kept = engine.units.len();
    engine.timers = Timers::new(kept + plans.len());
    for (index, unit) in engine.units.iter().enumerate() {
        let deadline = match &unit.machine {
            Machine::Single(instance) => instance.next_deadline(),
            Machine::Group { group, .. } => group.next_deadline(),
        };
        engine.timers.set(index, deadline);
    }
    if trackers_changed {
        engine.set_trackers(io.start_trackers(&spec.trackers));
        *trackers = spec.trackers.clone();
    }
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.prepare(&spec.instances);
    }
    let added = add_units(engine, io, plans)?;
    io.start_receivers(&engine.slots);
    if let Some(xdp) = engine.xdp.as_mut() {
        xdp.sync(&mut engine.slots, io.generation);
        xdp.attach_bfd(&spec.bfd_interfaces);
    }
    let started = added.len();
    for unit in added {
        engine.start_unit(unit);
    }
    Ok((kept, started))
}
