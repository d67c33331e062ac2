//! The thin async step between the configuration and the runtime: what only the running
//! kernel can answer (each instance's primary address, the `use_vmac` interfaces it must
//! make), around the pure mapping of [`super::from_config`].

use std::net::IpAddr;

use crate::{
    config::model::{Config, VrrpInstance},
    net::{addr::AddressControl, vmac},
};

use super::{
    from_config::{self, BuildError, SpecError, TrackerTable, interface_of, is_ipv6, vrid_of},
    interfaces::{Interfaces, KernelInterfaces},
    spec::{InstanceSpec, RuntimeSpec},
};

/// Builds the runtime's view of every `vrrp_instance` in `config` on the running kernel.
pub async fn runtime_spec(
    config: &Config,
    control: &AddressControl,
) -> Result<RuntimeSpec, BuildError> {
    let interfaces = KernelInterfaces;
    let mut instances = Vec::with_capacity(config.vrrp_instances.len());
    let mut trackers = TrackerTable::new(config, &interfaces);
    for instance in &config.vrrp_instances {
        instances.push(instance_spec(instance, control, &interfaces, &mut trackers).await?);
    }
    let groups = from_config::groups(config, &mut trackers)?;
    let notify_fifos = from_config::notify_fifos(config)?;
    Ok(RuntimeSpec {
        instances,
        groups,
        trackers: trackers.into_sources(),
        notify_fifos,
        statics: from_config::static_spec(config, &interfaces)
            .map_err(|e| BuildError::Static(Box::new(e)))?,
        smtp: from_config::smtp(config),
        fifo_states_on_reload: config
            .global
            .other
            .contains_key("fifo_write_vrrp_states_on_reload"),
        startup_delay: config.global.vrrp_startup_delay,
    })
}

/// One instance: its interface and primary address asked of the kernel, the mapping, its
/// `use_vmac` interface made, then its addresses.
async fn instance_spec(
    instance: &VrrpInstance,
    control: &AddressControl,
    interfaces: &dyn Interfaces,
    trackers: &mut TrackerTable<'_>,
) -> Result<InstanceSpec, BuildError> {
    let fail = |what: SpecError| BuildError::instance(&instance.place, &instance.name, what);
    let interface = interface_of(instance).map_err(fail)?;
    let if_index = interfaces.ifindex(interface).map_err(|e| fail(e.into()))?;
    vrid_of(instance).map_err(fail)?;
    let ipv6 = is_ipv6(instance);
    let primary = match instance.mcast_src_ip.or(instance.unicast_src_ip) {
        Some(address) => address,
        None => primary_address(control, if_index, ipv6)
            .await?
            .ok_or_else(|| {
                fail(SpecError::NoPrimary {
                    interface: interface.to_owned(),
                    family: if ipv6 { "IPv6 link-local" } else { "IPv4" },
                })
            })?,
    };
    let (mut spec, vmac) = from_config::instance_spec(instance, primary, trackers).map_err(fail)?;
    let vip_interface = match &vmac {
        Some(plan) => {
            vmac::ensure(control, &plan.name, if_index, plan.mac, ipv6)
                .await
                .map_err(|e| fail(e.into()))?;
            plan.name.as_str()
        }
        None => interface,
    };
    spec.addresses =
        from_config::vip_addresses(instance, vip_interface, interfaces).map_err(fail)?;
    // keepalived turns garp_extra_if off when no other interface qualifies.
    let own = interfaces
        .ifindex(&spec.interface)
        .map_err(|e| fail(e.into()))?;
    let vmac = vmac
        .as_ref()
        .and_then(|plan| interfaces.ifindex(&plan.name).ok());
    if !super::gratuitous::has_extra(
        &spec.addresses,
        own,
        |index| vmac == Some(index),
        spec.garp_extra_all,
    ) {
        spec.fsm.garp.extra_interfaces = std::time::Duration::ZERO;
    }
    Ok(spec)
}

/// The address kad sends adverts from on `if_index`: its first IPv4 address, or its first
/// IPv6 link-local one (RFC 5798 §5.1.2.1), leaving out `exclude` (virtual addresses kad
/// itself holds).
pub(crate) async fn primary_address_excluding(
    control: &AddressControl,
    if_index: u32,
    ipv6: bool,
    exclude: &[IpAddr],
) -> Result<Option<IpAddr>, BuildError> {
    let addresses = control.list(if_index).await?;
    Ok(addresses
        .into_iter()
        .map(|(address, _)| address)
        .filter(|address| !exclude.contains(address))
        .find(|address| match address {
            IpAddr::V4(_) => !ipv6,
            IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
        }))
}

/// [`primary_address_excluding`] with nothing left out (at start).
async fn primary_address(
    control: &AddressControl,
    if_index: u32,
    ipv6: bool,
) -> Result<Option<IpAddr>, BuildError> {
    primary_address_excluding(control, if_index, ipv6, &[]).await
}
