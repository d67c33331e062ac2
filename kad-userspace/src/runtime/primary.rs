//! Following an interface's primary address when kad chose it and it goes away.

use std::net::IpAddr;

use crate::net::{addr::AddressControl, link_monitor};

use super::{engine::Engine, resolve, spec::RuntimeSpec};

/// keepalived follows an interface's primary address: when the address an instance sends
/// adverts from (chosen by kad, not configured) is removed, the instance carries on from the
/// interface's next address, without a state change. IPv4 only: an IPv6 instance's socket is
/// bound to its link-local source and keeps it.
pub(super) async fn follow_primary(
    engine: &mut Engine,
    current: &mut RuntimeSpec,
    control: &AddressControl,
    removed: link_monitor::AddressChange,
) {
    let affected: Vec<usize> = engine
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| {
            slot.spec.primary_auto
                && slot.ifindex == removed.ifindex
                && slot.spec.fsm.primary_address == removed.address
                && removed.address.is_ipv4()
        })
        .map(|(index, _)| index)
        .collect();
    if affected.is_empty() {
        return;
    }
    let virtuals: Vec<IpAddr> = engine
        .slots
        .iter()
        .flat_map(|slot| slot.spec.addresses.iter().map(|a| a.address))
        .collect();
    let next = match resolve::primary_address_excluding(control, removed.ifindex, false, &virtuals)
        .await
    {
        Ok(Some(next)) => next,
        Ok(None) => {
            tracing::warn!(address = %removed.address, ifindex = removed.ifindex, "primary address removed and none left on the interface; adverts keep the old source");
            return;
        }
        Err(err) => {
            tracing::warn!(error = %err, "primary address removed; cannot list the interface's addresses");
            return;
        }
    };
    for slot in affected {
        let Some((unit, member)) = engine.owner.get(slot).copied() else {
            continue;
        };
        let Some(entry) = engine.slots.get_mut(slot) else {
            continue;
        };
        tracing::info!(instance = %entry.spec.fsm.name, vrid = entry.spec.fsm.vrid, old = %removed.address, new = %next, "primary address removed; sending adverts from the next one");
        entry.spec.fsm.primary_address = next;
        let name = std::sync::Arc::clone(&entry.spec.fsm.name);
        if let Some(spec) = engine
            .units
            .get_mut(unit)
            .and_then(|u| u.identity.members.get_mut(member))
        {
            spec.fsm.primary_address = next;
        }
        if let Some(spec) = current.instances.iter_mut().find(|i| i.fsm.name == name) {
            spec.fsm.primary_address = next;
        }
        engine.handle(
            unit,
            Some(member),
            crate::vrrp::fsm::Event::PrimaryAddress(next),
        );
    }
}
