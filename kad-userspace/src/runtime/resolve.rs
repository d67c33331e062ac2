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
    vmac_names::vmac_name,
};

/// Builds the runtime's view of every `vrrp_instance` in `config` on the running kernel.
pub async fn runtime_spec(
    config: &Config,
    control: &AddressControl,
) -> Result<RuntimeSpec, BuildError> {
    let interfaces = KernelInterfaces;
    let mut instances = Vec::with_capacity(config.vrrp_instances.len());
    let mut trackers = TrackerTable::new(config, &interfaces);
    let mut vmacs = Vec::new();
    let mut waiting_interfaces = Vec::new();
    for instance in &config.vrrp_instances {
        // keepalived.conf dynamic_interfaces: an instance whose interface does not exist
        // yet waits for it instead of failing the start.
        if config.global.dynamic_interfaces.is_some()
            && let Ok(name) = interface_of(instance)
            && interfaces.ifindex(name).is_err()
        {
            tracing::warn!(instance = %instance.name, interface = name, "interface does not exist yet; the instance waits for it (dynamic_interfaces)");
            waiting_interfaces.push(name.to_owned());
            continue;
        }
        instances.push(
            instance_spec(
                config,
                instance,
                control,
                &interfaces,
                &mut trackers,
                &mut vmacs,
            )
            .await?,
        );
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
        waiting_interfaces,
        bfd_interfaces: bfd_interfaces(config),
    })
}

/// One instance: its interface and primary address asked of the kernel, the mapping, its
/// `use_vmac` interface made, then its addresses.
async fn instance_spec(
    config: &Config,
    instance: &VrrpInstance,
    control: &AddressControl,
    interfaces: &dyn Interfaces,
    trackers: &mut TrackerTable<'_>,
    vmacs: &mut Vec<String>,
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
    let (mut spec, mut vmac) =
        from_config::instance_spec(instance, primary, trackers).map_err(fail)?;
    if let Some(plan) = vmac.as_mut() {
        // keepalived: an automatic name another instance's VMAC has is skipped.
        if plan.auto && vmacs.contains(&plan.name) {
            let prefix = from_config::vmac_prefix(config);
            let vrid = spec.fsm.vrid;
            let name = vmac_name(prefix, vrid, ipv6, |n| vmacs.iter().any(|v| v == n));
            if spec.interface == plan.name {
                spec.interface.clone_from(&name);
            }
            spec.vmac = Some(name.clone());
            plan.name = name;
        }
        vmacs.push(plan.name.clone());
    }
    // use_ipvlan (not with use_vmac, which wins as in keepalived): adverts and VIPs go on
    // an ipvlan of the interface, sent from its address.
    let mut ipvlan_name = None;
    if let (Some(words), None) = (&instance.use_ipvlan, &vmac) {
        let plan = crate::net::ipvlan::plan(words).map_err(|e| fail(e.into()))?;
        let name = match &plan.name {
            Some(name) => name.clone(),
            None => vmac_name(from_config::vmac_prefix(config), spec.fsm.vrid, ipv6, |n| {
                vmacs.iter().any(|v| v == n)
            }),
        };
        crate::net::ipvlan::ensure(control, &name, if_index, &plan)
            .await
            .map_err(|e| fail(e.into()))?;
        if let Some((address, _)) = plan.address
            && instance.mcast_src_ip.or(instance.unicast_src_ip).is_none()
        {
            spec.fsm.primary_address = address;
        }
        vmacs.push(name.clone());
        spec.interface.clone_from(&name);
        spec.vmac = Some(name.clone());
        ipvlan_name = Some(name);
    }
    let vip_interface = match &vmac {
        Some(plan) => {
            vmac::ensure(control, &plan.name, if_index, plan.mac, ipv6)
                .await
                .map_err(|e| fail(e.into()))?;
            plan.name.as_str()
        }
        None => ipvlan_name.as_deref().unwrap_or(interface),
    };
    spec.addresses =
        from_config::vip_addresses(instance, vip_interface, interfaces).map_err(fail)?;
    let vip_vmac = instance
        .virtual_ipaddress
        .iter()
        .chain(&instance.virtual_ipaddress_excluded)
        .any(|vip| vip.use_vmac);
    if instance.use_vmac_addr || vip_vmac {
        address_vmacs(config, instance, control, interfaces, vmacs, &mut spec)
            .await
            .map_err(fail)?;
    }
    // keepalived turns garp_extra_if off when no other interface qualifies.
    let own = interfaces
        .ifindex(&spec.interface)
        .map_err(|e| fail(e.into()))?;
    let ours: Vec<u32> = spec
        .vmac
        .iter()
        .chain(&spec.address_vmacs)
        .filter_map(|name| interfaces.ifindex(name).ok())
        .collect();
    if !super::gratuitous::has_extra(
        &spec.addresses,
        own,
        |index| ours.contains(&index),
        spec.garp_extra_all,
    ) {
        spec.fsm.garp.extra_interfaces = std::time::Duration::ZERO;
    }
    Ok(spec)
}

/// keepalived.conf `use_vmac_addr`: each virtual address on another interface than the
/// instance's (or of the other family, without `use_vmac`) goes on a VMAC of that
/// interface (one per interface and family, named with `vmac_addr_prefix`, the RFC 5798
/// §7.3 MAC of its family or the MAC given to `use_vmac`), made now and removed at exit;
/// so does an address with its own `use_vmac` option (unless the instance's VMAC holds it).
async fn address_vmacs(
    config: &Config,
    instance: &VrrpInstance,
    control: &AddressControl,
    interfaces: &dyn Interfaces,
    vmacs: &mut Vec<String>,
    spec: &mut InstanceSpec,
) -> Result<(), SpecError> {
    let own = interfaces.ifindex(interface_of(instance)?)?;
    let ipv6 = is_ipv6(instance);
    let vrid = spec.fsm.vrid;
    let prefix = from_config::vmac_addr_prefix(config).to_owned();
    let own_vmac = spec
        .vmac
        .as_deref()
        .and_then(|name| interfaces.ifindex(name).ok());
    // (base ifindex, IPv6) → the VMAC's ifindex.
    let mut made: Vec<((u32, bool), u32)> = Vec::new();
    let mut names = Vec::new();
    // A MAC given to use_vmac is the MAC of these VMACs too (keepalived's ll_addr).
    let given_mac = instance
        .use_vmac
        .as_ref()
        .and_then(|v| v.mac.as_deref())
        .and_then(|text| from_config::parse_vmac(text, vrid));
    let configured = instance
        .virtual_ipaddress
        .iter()
        .chain(&instance.virtual_ipaddress_excluded);
    for (placed, vip) in spec.addresses.iter_mut().zip(configured) {
        let family6 = placed.address.is_ipv6();
        let elsewhere = placed.ifindex != own && Some(placed.ifindex) != own_vmac;
        let other_family = placed.ifindex == own && family6 != ipv6 && instance.use_vmac.is_none();
        // The address's own `use_vmac` option: a VMAC even on the instance's interface,
        // unless the instance's VMAC already holds it.
        let wanted = (instance.use_vmac_addr && (elsewhere || other_family))
            || (vip.use_vmac && Some(placed.ifindex) != own_vmac);
        if !wanted {
            continue;
        }
        let key = (placed.ifindex, family6);
        let index = match made.iter().find(|(k, _)| *k == key) {
            Some((_, index)) => *index,
            None => {
                let name = vmac_name(&prefix, vrid, family6, |n| vmacs.iter().any(|v| v == n));
                let index = vmac::ensure(
                    control,
                    &name,
                    placed.ifindex,
                    given_mac.unwrap_or_else(|| vmac::virtual_mac(vrid, family6)),
                    family6,
                )
                .await?;
                vmacs.push(name.clone());
                names.push(name);
                made.push((key, index));
                index
            }
        };
        placed.ifindex = index;
    }
    spec.address_vmacs = names;
    Ok(())
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

/// keepalived.conf `bfd_instance`: the interfaces its sessions' neighbours are on (once each).
fn bfd_interfaces(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for spec in crate::bfd::sessions(config) {
        if let Some((_, name)) = crate::net::on_link::interface_of(spec.neighbor, spec.source)
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}
