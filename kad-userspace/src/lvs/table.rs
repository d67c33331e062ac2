//! The IPVS table kad wants: every `virtual_server` of the configuration, expanded
//! (`virtual_server_group` ranges and fwmarks), with its real servers as the checkers last
//! reported them (keepalived.conf(5), "LVS CONFIGURATION").

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use super::ipvs::{
    Dest, Family, Forwarding, IpvsTable, Protocol, Service, ServiceEntry, ServiceKey, TunnelCsum,
    TunnelKind, uapi::svc_flags,
};
use super::kept_config::{KeptConfig, KeptRealServer, KeptVirtualServer};
use crate::{
    config::{
        Config,
        lvs::SCHEDULERS,
        model::{LvsMethod, VirtualServer, VsAddress, VsgEntry},
    },
    status::{
        health::{HealthUpdate, RealServerKey},
        names::vs_name,
    },
};

/// Why a virtual server cannot be turned into IPVS services.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// keepalived.conf: virtual_server group NAME with no such virtual_server_group.
    #[error("virtual_server group {0}: no virtual_server_group of that name")]
    UnknownGroup(String),
    /// keepalived.conf: lvs_sched with a scheduler IPVS does not have.
    #[error("virtual_server {vs}: unknown scheduler {scheduler}")]
    UnknownScheduler {
        /// The virtual server.
        vs: String,
        /// The scheduler.
        scheduler: String,
    },
    /// keepalived.conf: persistence_granularity that is neither a mask nor a prefix.
    #[error("virtual_server {vs}: persistence_granularity {value}: not a netmask or prefix length")]
    Granularity {
        /// The virtual server.
        vs: String,
        /// The value.
        value: String,
    },
    /// A range whose last octet/hextet is below its first.
    #[error("virtual_server_group {group}: range {first}-{last} is empty")]
    EmptyRange {
        /// The group.
        group: String,
        /// First address.
        first: IpAddr,
        /// Last octet/hextet.
        last: u32,
    },
}

/// What the checkers last said about one real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsHealth {
    /// Every checker passes.
    pub up: bool,
    /// The weight `misc_dynamic` set, if any.
    pub weight: Option<i32>,
}

/// The health of every real server the checkers reported on. A real server they never
/// reported on is up when it has no checker, and when it has checkers is up unless its
/// virtual server has `alpha` (keepalived.conf: "alpha: assume every real server is down
/// until its checkers pass").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    states: BTreeMap<RealServerKey, RsHealth>,
    notes: BTreeMap<RealServerKey, HealthNote>,
}

/// Why a real server is in its state and since when (for `kad status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthNote {
    /// The reason of the last update that changed it.
    pub reason: String,
    /// When its `up` last changed (its first report counts), Unix time in ms.
    pub since_unix_ms: u64,
}

impl Health {
    /// Records an update; returns whether anything changed.
    pub fn apply(&mut self, update: &HealthUpdate) -> bool {
        let new = RsHealth {
            up: update.up,
            weight: update.weight,
        };
        let old = self.states.insert(update.real_server, new);
        if old != Some(new) {
            let since = match old {
                Some(old) if old.up == new.up => {
                    self.notes.get(&update.real_server).map(|n| n.since_unix_ms)
                }
                _ => None,
            };
            let note = HealthNote {
                reason: update.reason.clone(),
                since_unix_ms: since.unwrap_or_else(unix_ms_now),
            };
            self.notes.insert(update.real_server, note);
        }
        old != Some(new)
    }

    /// Why a real server is in its state, if the checkers reported on it.
    pub fn note(&self, key: &RealServerKey) -> Option<&HealthNote> {
        self.notes.get(key)
    }

    /// Forgets the real servers `config` no longer lists (after a reload).
    pub fn retain_configured(&mut self, config: &KeptConfig) {
        let keys: std::collections::BTreeSet<RealServerKey> = config
            .virtual_servers
            .iter()
            .flat_map(|vs| vs.real_servers.iter().map(|rs| rs_key(&vs.server, rs)))
            .collect();
        self.states.retain(|key, _| keys.contains(key));
        self.notes.retain(|key, _| keys.contains(key));
    }

    /// The reported health of a real server, if any.
    pub fn get(&self, key: &RealServerKey) -> Option<RsHealth> {
        self.states.get(key).copied()
    }
}

/// Whether each virtual server has quorum, kept between builds so that `hysteresis`
/// dampens flaps (keepalived.conf: quorum, hysteresis). Keyed by the virtual server's
/// name as logs show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumMemory {
    up: BTreeMap<String, bool>,
}

impl QuorumMemory {
    /// Whether the virtual server named `name` ([`vs_name`]) holds quorum (`None`: not
    /// built yet).
    pub fn holds(&self, name: &str) -> Option<bool> {
        self.up.get(name).copied()
    }
}

fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A virtual server gaining or losing quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumChange {
    /// The virtual server.
    pub vs: String,
    /// Quorum now held.
    pub up: bool,
    /// The weight of the live real servers.
    pub alive_weight: i64,
}

/// The result of a build: the table and the quorum transitions it went through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The services and their destinations.
    pub table: IpvsTable,
    /// Virtual servers whose quorum changed in this build.
    pub quorum_changes: Vec<QuorumChange>,
}

/// Builds the wanted table from the configuration and the real servers' health.
pub fn wanted(
    config: &KeptConfig,
    health: &Health,
    quorum: &mut QuorumMemory,
) -> Result<Wanted, TableError> {
    let mut out = Wanted::default();
    let mut seen = QuorumMemory::default();
    for vs in &config.virtual_servers {
        let name = vs_name(&vs.server);
        let keys = service_keys(&config.config, vs)?;
        let template = service_options(vs, &name)?;
        let (dests_of, change) = real_server_dests(vs, &name, health, quorum);
        if let Some(change) = change {
            out.quorum_changes.push(change);
        }
        if let Some(&up) = quorum.up.get(&name) {
            seen.up.insert(name.clone(), up);
        }
        for key in keys {
            if out.table.contains_key(&key) {
                tracing::warn!("virtual_server {name}: service {key} configured twice; first kept");
                continue;
            }
            let service = Service {
                key,
                ..template.clone()
            };
            let dests = dests_of(key_port(&key))
                .into_iter()
                .map(|dest| (dest.addr, dest))
                .collect();
            out.table.insert(key, ServiceEntry { service, dests });
        }
    }
    // Forget virtual servers no longer configured.
    *quorum = seen;
    Ok(out)
}

/// The port a service key carries (0 for fwmark services).
pub(crate) fn key_port(key: &ServiceKey) -> u16 {
    match key {
        ServiceKey::Addr { addr, .. } => addr.port(),
        ServiceKey::Fwmark { .. } => 0,
    }
}

/// The family of a fwmark service: `inet6` when given (entry or `ip_family`), else that
/// of the first real server, else IPv4.
fn fwmark_family(vs: &KeptVirtualServer, given: Option<&str>) -> Family {
    match given.or(vs.server.ip_family.as_deref()) {
        Some("inet6") => Family::Inet6,
        Some(_) => Family::Inet,
        None => vs
            .real_servers
            .first()
            .map_or(Family::Inet, |rs| Family::of(rs.addr)),
    }
}

/// The services a virtual server stands for (one, or one per group address/fwmark).
pub(crate) fn service_keys(
    config: &Config,
    vs: &KeptVirtualServer,
) -> Result<Vec<ServiceKey>, TableError> {
    let protocol = Protocol::from_keyword(&vs.server.protocol).unwrap_or(Protocol::Tcp);
    match &vs.server.address {
        VsAddress::Ip(ip, port) => Ok(vec![ServiceKey::Addr {
            protocol,
            addr: SocketAddr::new(*ip, port.unwrap_or(0)),
        }]),
        VsAddress::Fwmark(mark) => Ok(vec![ServiceKey::Fwmark {
            family: fwmark_family(vs, None),
            mark: *mark,
        }]),
        VsAddress::Group(name) => {
            let group = config
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
                .ok_or_else(|| TableError::UnknownGroup(name.clone()))?;
            let mut keys = Vec::new();
            for entry in &group.entries {
                match entry {
                    VsgEntry::Address {
                        addr,
                        range_end,
                        port,
                        ..
                    } => {
                        for ip in expand_range(name, *addr, *range_end)? {
                            keys.push(ServiceKey::Addr {
                                protocol,
                                addr: SocketAddr::new(ip, port.unwrap_or(0)),
                            });
                        }
                    }
                    VsgEntry::Fwmark { mark, family, .. } => keys.push(ServiceKey::Fwmark {
                        family: fwmark_family(vs, family.as_deref()),
                        mark: *mark,
                    }),
                }
            }
            Ok(keys)
        }
    }
}

/// keepalived.conf: virtual_server_group `IP-LAST`: the addresses from IP to the one whose
/// last octet (IPv4) or hextet (IPv6) is LAST.
fn expand_range(group: &str, first: IpAddr, last: Option<u32>) -> Result<Vec<IpAddr>, TableError> {
    let Some(last) = last else {
        return Ok(vec![first]);
    };
    let empty = || TableError::EmptyRange {
        group: group.to_owned(),
        first,
        last,
    };
    match first {
        IpAddr::V4(a) => {
            let o = a.octets();
            if last < u32::from(o[3]) || last > 255 {
                return Err(empty());
            }
            Ok((u32::from(o[3])..=last)
                .map(|x| IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], x as u8)))
                .collect())
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            if last < u32::from(s[7]) || last > 0xffff {
                return Err(empty());
            }
            Ok((u32::from(s[7])..=last)
                .map(|x| {
                    s[7] = x as u16;
                    IpAddr::V6(Ipv6Addr::from(s))
                })
                .collect())
        }
    }
}

/// The service options of a virtual server (everything but its key).
fn service_options(kept: &KeptVirtualServer, name: &str) -> Result<Service, TableError> {
    let vs = &kept.server;
    if !SCHEDULERS.contains(&vs.lvs_sched.as_str()) {
        return Err(TableError::UnknownScheduler {
            vs: name.to_owned(),
            scheduler: vs.lvs_sched.clone(),
        });
    }
    let family = match &vs.address {
        VsAddress::Ip(ip, _) => Family::of(*ip),
        _ => fwmark_family(kept, None),
    };
    let mut flags = 0;
    for flag in &vs.sched_flags {
        flags |= match flag.as_str() {
            "flag-1" | "sh-fallback" | "mh-fallback" => svc_flags::SCHED1,
            "flag-2" | "sh-port" | "mh-port" => svc_flags::SCHED2,
            "flag-3" => svc_flags::SCHED3,
            _ => 0,
        };
    }
    if vs.ops {
        flags |= svc_flags::ONEPACKET;
    }
    if vs.persistence_timeout.is_some() {
        flags |= svc_flags::PERSISTENT;
    }
    let netmask = match &vs.persistence_granularity {
        None => Service::default_netmask(family),
        Some(text) => granularity(family, text).ok_or_else(|| TableError::Granularity {
            vs: name.to_owned(),
            value: text.clone(),
        })?,
    };
    Ok(Service {
        key: ServiceKey::Fwmark { family, mark: 0 },
        scheduler: vs.lvs_sched.clone(),
        flags,
        timeout: vs.persistence_timeout.unwrap_or(0),
        netmask,
        pe_name: vs.persistence_engine.clone(),
    })
}

/// keepalived.conf: persistence_granularity: an IPv4 netmask (or prefix length) for IPv4
/// services, a prefix length for IPv6 ones.
fn granularity(family: Family, text: &str) -> Option<u32> {
    if let Ok(mask) = text.parse::<Ipv4Addr>() {
        return (family == Family::Inet).then(|| u32::from(mask));
    }
    let prefix: u32 = text.parse().ok()?;
    match family {
        Family::Inet if (1..=32).contains(&prefix) => Some(u32::MAX << (32 - prefix)),
        Family::Inet6 if (1..=128).contains(&prefix) => Some(prefix),
        _ => None,
    }
}

/// keepalived.conf: lvs_method as the kernel's forwarding method.
pub fn forwarding(method: &LvsMethod) -> Forwarding {
    match method {
        LvsMethod::Nat => Forwarding::Masq,
        LvsMethod::Dr => Forwarding::DirectRoute,
        LvsMethod::Tun { tunnel, port, csum } => {
            let kind = match tunnel.as_str() {
                "gue" => TunnelKind::Gue(port.unwrap_or(0)),
                "gre" => TunnelKind::Gre,
                _ => TunnelKind::Ipip,
            };
            let csum = match csum.as_deref() {
                Some("csum") => TunnelCsum::Csum,
                Some("remcsum") => TunnelCsum::RemCsum,
                _ => TunnelCsum::NoCsum,
            };
            Forwarding::Tunnel(kind, csum)
        }
    }
}

/// The port a real server is reached on: its own, else its virtual server's.
fn rs_port(vs: &VirtualServer, rs: &KeptRealServer) -> u16 {
    rs.port.unwrap_or(match vs.address {
        VsAddress::Ip(_, port) => port.unwrap_or(0),
        _ => 0,
    })
}

/// The key under which the checkers report on a real server.
pub fn rs_key(vs: &VirtualServer, rs: &KeptRealServer) -> RealServerKey {
    RealServerKey {
        addr: SocketAddr::new(rs.addr, rs_port(vs, rs)),
    }
}

/// Whether a real server is alive: as the checkers last reported, else up when it has no
/// checker or its virtual server has no `alpha`.
pub fn rs_alive(vs: &VirtualServer, rs: &KeptRealServer, health: &Health) -> bool {
    rs_state(vs, rs, health).0
}

/// The weight of the live real servers of a virtual server, from their [`rs_state`]s
/// (keepalived.conf: quorum compares it with `quorum`).
pub(crate) fn alive_weight(states: &[(bool, i32)]) -> i64 {
    states
        .iter()
        .filter(|(up, _)| *up)
        .map(|(_, w)| i64::from(*w))
        .sum()
}

/// A real server's state for this build: whether it is alive and its weight.
pub(crate) fn rs_state(vs: &VirtualServer, rs: &KeptRealServer, health: &Health) -> (bool, i32) {
    match health.get(&rs_key(vs, rs)) {
        Some(h) => (h.up, h.weight.unwrap_or(rs.weight)),
        None => (!rs.checked || !vs.alpha, rs.weight),
    }
}

/// One destination to install, before its port is fixed for a service.
struct Planned {
    addr: IpAddr,
    port: Option<u16>,
    forwarding: Forwarding,
    weight: i32,
    u_threshold: u32,
    l_threshold: u32,
}

/// The destinations of a virtual server, as a function of a service's port (group
/// entries differ in port): live real servers with their weight, failed ones at weight 0
/// under `inhibit_on_failure` (else absent), and the `sorry_server` when the live weight
/// is below `quorum` (keepalived.conf: quorum, hysteresis, sorry_server,
/// sorry_server_inhibit). Also returns the quorum transition, if any.
fn real_server_dests(
    kept: &KeptVirtualServer,
    name: &str,
    health: &Health,
    quorum: &mut QuorumMemory,
) -> (impl Fn(u16) -> Vec<Dest> + use<>, Option<QuorumChange>) {
    let vs = &kept.server;
    let states: Vec<(bool, i32)> = kept
        .real_servers
        .iter()
        .map(|rs| rs_state(vs, rs, health))
        .collect();
    let alive_weight = alive_weight(&states);
    let q = i64::from(vs.quorum);
    let h = i64::from(vs.hysteresis);
    let previous = quorum.up.get(name).copied();
    let up = match previous {
        None => alive_weight >= q,
        Some(true) => alive_weight >= q - h,
        Some(false) => alive_weight >= q + h,
    };
    quorum.up.insert(name.to_owned(), up);
    let change =
        (previous.is_some_and(|p| p != up) || (previous.is_none() && !up)).then(|| QuorumChange {
            vs: name.to_owned(),
            up,
            alive_weight,
        });

    let sorry_in_use = !up && vs.sorry_server.is_some();
    let mut planned = Vec::new();
    for (rs, (alive, weight)) in kept.real_servers.iter().zip(states) {
        let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
        // keepalived: when quorum is lost and a sorry server takes over, the remaining
        // live real servers leave too (or drop to weight 0 under inhibit_on_failure).
        let serving = alive && !sorry_in_use;
        let weight = if serving {
            weight
        } else if inhibit {
            0
        } else {
            continue;
        };
        planned.push(Planned {
            addr: rs.addr,
            port: rs.port,
            forwarding: forwarding(rs.lvs_method.as_deref().unwrap_or(&vs.lvs_method)),
            weight,
            u_threshold: rs.uthreshold.unwrap_or(0),
            l_threshold: rs.lthreshold.unwrap_or(0),
        });
    }
    if let Some((addr, port)) = vs
        .sorry_server
        .filter(|_| sorry_in_use || vs.sorry_server_inhibit)
    {
        planned.push(Planned {
            addr,
            port,
            forwarding: forwarding(
                vs.sorry_server_lvs_method
                    .as_ref()
                    .unwrap_or(&vs.lvs_method),
            ),
            weight: if sorry_in_use { 1 } else { 0 },
            u_threshold: 0,
            l_threshold: 0,
        });
    }
    let dests = move |service_port: u16| {
        planned
            .iter()
            .map(|p| Dest {
                addr: SocketAddr::new(p.addr, p.port.unwrap_or(service_port)),
                forwarding: p.forwarding,
                weight: p.weight,
                u_threshold: p.u_threshold,
                l_threshold: p.l_threshold,
            })
            .collect()
    };
    (dests, change)
}

#[cfg(test)]
mod tests;
