//! What one VRRP instance is configured with: a plain struct, filled from keepalived.conf by
//! the config layer (the mapping lives there), with keepalived's defaults.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::Duration,
};

use super::{priority::TrackedObject, timers::Centis};

/// VRRP protocol version (keepalived.conf `version` / global `vrrp_version`, default 2; IPv6
/// instances always use 3): the codec's type, so the core and the wire share one definition.
pub use crate::packet::Version;

/// Opaque handle of a virtual route or rule; the runtime keeps the table it points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef(pub u32);

/// What the instance installs while Master: keepalived.conf `virtual_ipaddress`,
/// `virtual_ipaddress_excluded`, `virtual_routes`, `virtual_rules`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Virtuals {
    /// `virtual_ipaddress`: installed and carried in adverts (RFC 5798 §5.2.9).
    pub addresses: Vec<IpAddr>,
    /// `virtual_ipaddress_excluded`: installed, not advertised.
    pub excluded: Vec<IpAddr>,
    /// `virtual_routes`, as handles into the runtime's table.
    pub routes: Vec<ItemRef>,
    /// `virtual_rules`, as handles into the runtime's table.
    pub rules: Vec<ItemRef>,
}

impl Virtuals {
    /// Every address installed while Master: `virtual_ipaddress`, then
    /// `virtual_ipaddress_excluded`.
    pub fn installed(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addresses.iter().chain(&self.excluded).copied()
    }
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived.conf `garp_*`, per instance or
/// global `vrrp_garp_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpConfig {
    /// `garp_master_delay`: delay of the second burst after becoming Master (0: none).
    pub master_delay: Duration,
    /// `garp_master_repeat`: messages per address in each burst after becoming Master.
    pub master_repeat: u32,
    /// `garp_master_refresh`: period of refresh bursts while Master (0: off).
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`: messages per address in each refresh burst.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: delay of the second burst after a lower-priority advert
    /// reached the Master (0: none). keepalived default: `garp_master_delay`.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: messages per address sent when a lower-priority advert
    /// reaches the Master (0: none). keepalived default: `garp_master_repeat`.
    pub lower_prio_repeat: u32,
    /// `garp_extra_if` / global `vrrp_garp_extra_if`: period of the single gratuitous
    /// ARP / NA sent while Master on each interface other than the advert interface that
    /// holds a virtual address (0: off); the runtime picks the interfaces.
    pub extra_interfaces: Duration,
}

impl Default for GarpConfig {
    /// keepalived's defaults: delay 5 s, repeat 5, refresh off (repeat 1), lower-priority
    /// values equal to the master ones.
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            extra_interfaces: Duration::ZERO,
        }
    }
}

/// One `vrrp_instance`, as the state machine needs it.
///
/// keepalived.conf `state` has no field: as RFC 5798 §6.4.1 says, an address owner
/// (effective priority 255) starts as Master and every other instance as Backup
/// (keepalived's `state MASTER` does not shorten a non-owner's wait either).
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceConfig {
    /// `vrrp_instance NAME`: used in notifies.
    pub name: Arc<str>,
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `version` (default 2, as keepalived's `vrrp_version`).
    pub version: Version,
    /// `priority` (1..=255, default 100; 255 = address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s). VRRPv2 carries whole seconds: use a multiple of 100.
    pub advert_interval: Centis,
    /// `nopreempt`: a Backup never takes over from a live lower-priority Master.
    pub nopreempt: bool,
    /// `preempt_delay`: extra wait before preempting at start or a lower-priority Master.
    pub preempt_delay: Duration,
    /// `accept` / `no_accept` (default accept). Reported to the runtime with the VIPs.
    pub accept: bool,
    /// This router's primary address on the interface: the advert's source and the
    /// tie-break key (RFC 5798 §6.4.3).
    pub primary_address: IpAddr,
    /// `down_timer_adverts` (1..=100, default 3).
    pub down_timer_adverts: u8,
    /// `higher_prio_send_advert`: a Master seeing a higher priority sends one last advert.
    pub higher_prio_send_advert: bool,
    /// `lower_prio_no_advert`: a Master does not answer a lower-priority advert.
    pub lower_prio_no_advert: bool,
    /// `notify_priority_changes`: notify on effective-priority changes.
    pub notify_priority_changes: bool,
    /// Gratuitous ARP / NA schedule.
    pub garp: GarpConfig,
    /// `track_script`, `track_interface`, `track_file`, `track_process`, `track_bfd`.
    pub tracked: Vec<TrackedObject>,
    /// Addresses, routes and rules installed while Master.
    pub virtuals: Virtuals,
    /// keepalived's `num_config_faults`: the configuration keeps the instance in FAULT for
    /// as long as it runs (`unicast_fault_no_peer` without any `unicast_peer`: "Cannot use
    /// unicast without any peers - going to fault state").
    pub config_fault: bool,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults for everything but its identity.
    pub fn new(name: &str, vrid: u8, primary_address: IpAddr) -> Self {
        InstanceConfig {
            name: Arc::from(name),
            vrid,
            version: if primary_address.is_ipv6() {
                Version::V3
            } else {
                Version::V2
            },
            priority: 100,
            advert_interval: Centis::ONE_SECOND,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            accept: true,
            primary_address,
            down_timer_adverts: 3,
            higher_prio_send_advert: false,
            lower_prio_no_advert: false,
            notify_priority_changes: false,
            garp: GarpConfig::default(),
            tracked: Vec::new(),
            virtuals: Virtuals::default(),
            config_fault: false,
        }
    }

    /// Rejects what the state machine cannot run (the config layer reports places).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        if self.version == Version::V2 {
            if self.primary_address.is_ipv6() {
                return Err(ConfigError::V2Ipv6);
            }
            if !self.advert_interval.get().is_multiple_of(100) {
                return Err(ConfigError::V2Interval(self.advert_interval.get()));
            }
        }
        Ok(())
    }
}

impl Default for InstanceConfig {
    /// keepalived defaults, VRID 1, primary address 0.0.0.0 (set it).
    fn default() -> Self {
        InstanceConfig::new("VI_1", 1, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Why an [`InstanceConfig`] cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// RFC 5798 §5.2.3: VRID 1..=255.
    #[error("virtual_router_id must be 1..255")]
    Vrid,
    /// RFC 5798 §5.2.4: priority 0 is reserved for a leaving Master.
    #[error("priority must be 1..255")]
    Priority,
    /// keepalived.conf: `down_timer_adverts [1-100]`.
    #[error("down_timer_adverts {0} is outside 1..100")]
    DownTimerAdverts(u8),
    /// RFC 3768 is IPv4 only.
    #[error("VRRPv2 cannot run over IPv6")]
    V2Ipv6,
    /// RFC 3768 §5.3.7: whole seconds.
    #[error("VRRPv2 advert interval must be whole seconds, got {0} cs")]
    V2Interval(u16),
    /// A sync group names an instance twice or none.
    #[error("sync group {0} must name at least one instance, each once")]
    SyncGroupMembers(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_keepalived_defaults() {
        let c = InstanceConfig::new("VI_1", 51, "10.0.0.1".parse().unwrap());
        assert_eq!(c.version, Version::V2);
        assert_eq!(c.priority, 100);
        assert_eq!(c.advert_interval.get(), 100);
        assert_eq!(c.down_timer_adverts, 3);
        assert_eq!(c.garp.master_delay, Duration::from_secs(5));
        assert_eq!(c.garp.master_repeat, 5);
        assert_eq!(c.garp.master_refresh, Duration::ZERO);
        assert!(c.accept && !c.nopreempt && !c.lower_prio_no_advert);
        assert_eq!(c.validate(), Ok(()));
        let v6 = InstanceConfig::new("VI_6", 51, "fe80::1".parse().unwrap());
        assert_eq!(v6.version, Version::V3);
    }

    #[test]
    fn validate_rejects_v2_fractional_interval_and_ipv6() {
        let mut c = InstanceConfig::new("VI_1", 51, "10.0.0.1".parse().unwrap());
        c.advert_interval = Centis::new(50).unwrap();
        assert_eq!(c.validate(), Err(ConfigError::V2Interval(50)));
        c.version = Version::V3;
        assert_eq!(c.validate(), Ok(()));
        let mut v6 = InstanceConfig::new("VI_6", 51, "fe80::1".parse().unwrap());
        v6.version = Version::V2;
        assert_eq!(v6.validate(), Err(ConfigError::V2Ipv6));
        c.vrid = 0;
        assert_eq!(c.validate(), Err(ConfigError::Vrid));
    }
}
