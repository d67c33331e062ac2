//! From the keepalived.conf model to what the runtime runs: resolves interfaces and each
//! instance's primary address against the running kernel, and maps keepalived's keywords to
//! the core's settings.

use std::net::IpAddr;

use thiserror::Error;

use crate::{
    config::model::{AuthType, Config, Script, VirtualAddress, VrrpInstance},
    net::{
        addr::{AddressControl, AddressError, InterfaceAddress, Scope},
        interface::{InterfaceError, ifindex},
    },
    vrrp::{
        fsm::{Centis, GarpConfig, InstanceConfig, Version},
        packet::{AuthConfig, ChecksumMode},
    },
};

use super::spec::{InstanceSpec, NotifySpec, RuntimeSpec};

/// A `vrrp_instance` the runtime cannot run on this machine.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The instance names something that is not there or cannot work.
    #[error("{place}: vrrp_instance {instance}: {what}")]
    Instance {
        /// Where the instance is declared (file:line:col).
        place: String,
        /// Its name.
        instance: String,
        /// What is wrong.
        what: String,
    },
    /// Reading the interface's addresses failed.
    #[error(transparent)]
    Netlink(#[from] AddressError),
}

/// Builds the runtime's view of every `vrrp_instance` in `config`.
pub async fn runtime_spec(
    config: &Config,
    control: &AddressControl,
) -> Result<RuntimeSpec, BuildError> {
    let mut instances = Vec::with_capacity(config.vrrp_instances.len());
    for instance in &config.vrrp_instances {
        instances.push(instance_spec(instance, control).await?);
    }
    Ok(RuntimeSpec { instances })
}

async fn instance_spec(
    instance: &VrrpInstance,
    control: &AddressControl,
) -> Result<InstanceSpec, BuildError> {
    let fail = |what: String| BuildError::Instance {
        place: instance.place.to_string(),
        instance: instance.name.clone(),
        what,
    };
    let interface = instance
        .interface
        .clone()
        .ok_or_else(|| fail("no `interface`".into()))?;
    let if_index = ifindex(&interface).map_err(|e: InterfaceError| fail(e.to_string()))?;
    let vrid = instance
        .virtual_router_id
        .ok_or_else(|| fail("no `virtual_router_id`".into()))?;
    let ipv6 = instance
        .virtual_ipaddress
        .first()
        .is_some_and(|vip| vip.addr.is_ipv6());

    let primary = match instance.mcast_src_ip.or(instance.unicast_src_ip) {
        Some(address) => address,
        None => primary_address(control, if_index, ipv6)
            .await?
            .ok_or_else(|| {
                fail(format!(
                    "interface {interface} has no {} address to send adverts from",
                    if ipv6 { "IPv6 link-local" } else { "IPv4" }
                ))
            })?,
    };

    let mut fsm = InstanceConfig::new(&instance.name, vrid, primary);
    fsm.version = if ipv6 || instance.version == 3 {
        Version::V3
    } else {
        Version::V2
    };
    fsm.priority = instance.priority;
    let centis = u16::try_from(instance.advert_int.as_millis() / 10).unwrap_or(u16::MAX);
    fsm.advert_interval = Centis::new(centis).ok_or_else(|| {
        fail(format!(
            "advert_int {:?} is out of range",
            instance.advert_int
        ))
    })?;
    fsm.nopreempt = !instance.preempt;
    fsm.preempt_delay = instance.preempt_delay;
    fsm.accept = instance.accept;
    fsm.down_timer_adverts = u8::try_from(instance.down_timer_adverts).unwrap_or(u8::MAX);
    fsm.higher_prio_send_advert = instance.higher_prio_send_advert;
    fsm.lower_prio_no_advert = instance.lower_prio_no_advert;
    fsm.notify_priority_changes = instance.notify_priority_changes.unwrap_or(false);
    fsm.garp = GarpConfig {
        master_delay: instance.garp_master_delay,
        master_repeat: instance.garp_master_repeat,
        master_refresh: instance.garp_master_refresh,
        master_refresh_repeat: instance.garp_master_refresh_repeat,
        lower_prio_delay: instance.garp_lower_prio_delay,
        lower_prio_repeat: instance.garp_lower_prio_repeat,
    };
    fsm.virtuals.addresses = instance
        .virtual_ipaddress
        .iter()
        .map(|vip| vip.addr)
        .collect();
    fsm.virtuals.excluded = instance
        .virtual_ipaddress_excluded
        .iter()
        .map(|vip| vip.addr)
        .collect();
    fsm.validate().map_err(|e| fail(e.to_string()))?;

    let tracking = &instance.tracking;
    if !(tracking.interfaces.is_empty()
        && tracking.scripts.is_empty()
        && tracking.files.is_empty()
        && tracking.processes.is_empty()
        && tracking.bfds.is_empty())
    {
        tracing::warn!(
            instance = %instance.name,
            vrid,
            "track_interface/track_script/track_file/track_process/track_bfd are parsed but not yet acted on by this build"
        );
    }
    if !instance.virtual_routes.is_empty() || !instance.virtual_rules.is_empty() {
        tracing::warn!(instance = %instance.name, vrid, "virtual_routes/virtual_rules are parsed but not yet installed by this build");
    }

    let mut addresses = Vec::new();
    for vip in instance
        .virtual_ipaddress
        .iter()
        .chain(instance.virtual_ipaddress_excluded.iter())
    {
        addresses.push(interface_address(vip, &interface).map_err(fail)?);
    }

    let auth = match &instance.authentication {
        Some(auth) if fsm.version == Version::V2 => {
            let pass = auth.auth_pass.as_deref().unwrap_or_default().as_bytes();
            match auth.auth_type {
                Some(AuthType::Pass) => AuthConfig::pass(pass),
                Some(AuthType::Ah) => AuthConfig::ah(pass),
                None => AuthConfig::None,
            }
        }
        _ => AuthConfig::None,
    };

    Ok(InstanceSpec {
        fsm,
        interface,
        addresses,
        auth,
        unicast_peers: instance
            .unicast_peers
            .iter()
            .map(|peer| peer.addr)
            .collect(),
        checksum: ChecksumMode::PseudoHeader,
        notify: NotifySpec {
            master: command(&instance.notify.master),
            backup: command(&instance.notify.backup),
            fault: command(&instance.notify.fault),
            stop: command(&instance.notify.stop),
            any: command(&instance.notify.any),
        },
    })
}

fn command(script: &Option<Script>) -> Option<String> {
    script.as_ref().map(|script| script.command.clone())
}

/// The address adverts are sent from: the interface's first IPv4 address, or its first
/// link-local IPv6 address (RFC 5798 §5.1.2.1).
async fn primary_address(
    control: &AddressControl,
    if_index: u32,
    ipv6: bool,
) -> Result<Option<IpAddr>, BuildError> {
    let addresses = control.list(if_index).await?;
    Ok(addresses
        .into_iter()
        .map(|(address, _)| address)
        .find(|address| match address {
            IpAddr::V4(_) => !ipv6,
            IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
        }))
}

/// keepalived.conf `virtual_ipaddress` entry → an `ip addr add` request.
fn interface_address(vip: &VirtualAddress, interface: &str) -> Result<InterfaceAddress, String> {
    let dev = vip.dev.as_deref().unwrap_or(interface);
    let if_index = ifindex(dev).map_err(|e| format!("virtual_ipaddress {}: {e}", vip.addr))?;
    let scope = match vip.scope.as_deref() {
        None | Some("global") | Some("universe") => Scope::Global,
        Some("site") => Scope::Site,
        Some("link") => Scope::Link,
        Some("host") => Scope::Host,
        Some("nowhere") => Scope::Nowhere,
        Some(other) => {
            return Err(format!(
                "virtual_ipaddress {}: unsupported scope {other:?}",
                vip.addr
            ));
        }
    };
    let broadcast = match vip.broadcast {
        Some(IpAddr::V4(broadcast)) => Some(broadcast),
        _ => None,
    };
    Ok(InterfaceAddress {
        address: vip.addr,
        prefix_len: vip.prefix_len,
        ifindex: if_index,
        broadcast,
        scope,
        label: vip.label.clone(),
    })
}
