//! The daemon's side of the maps kad's XDP program shares with it (layouts and meaning in
//! `kad_common::xdp_maps`): what to expect per instance, what was last seen, unicast peers,
//! virtual addresses not to accept, per-interface counters, and the event ring buffer.

use std::{io, net::IpAddr};

use aya::{
    Pod,
    maps::{Array, HashMap, MapData, MapError, PerCpuArray, RingBuf},
};
use kad_common::{
    vrrp_wire::{VRRP_VERSION_2, VRRP_VERSION_3},
    xdp_counters::XdpReason,
    xdp_maps::{
        AUTH_FAILURES_MAP, FAMILY_V4, FAMILY_V6, FLAG_LOG_UNKNOWN_VRIDS, IF_COUNTERS_MAP,
        IF_SLOTS_MAP, INTERFACE_MARKER_VRID, MAX_IFINDEX, MAX_INTERFACES, VIP_V4_MAP, VIP_V6_MAP,
        VRRP_CONFIG_MAP, VRRP_EVENTS_MAP, VRRP_PEERS_MAP, VRRP_SEEN_MAP, VipV4Key, VipV6Key,
        VrrpConfig, VrrpEvent, VrrpKey, VrrpPeerKey, VrrpSeen, vrrp_index,
    },
};

use super::{XdpCounters, XdpDataplane, XdpError};

impl XdpDataplane {
    /// Tells XDP what to expect of adverts for `key` (written at start, on every state change
    /// of the instance and on reload; replaced in place). `key.ifindex` must already have a
    /// counter slot ([`XdpDataplane::set_interface_slot`]): the maps are indexed by it. Also
    /// writes the marker (`INTERFACE_MARKER_VRID`) that makes XDP drop other VRIDs on this
    /// interface and family.
    pub fn set_vrrp_config(&mut self, key: VrrpKey, config: &VrrpConfig) -> Result<(), XdpError> {
        check_key(&key)?;
        if config.version != VRRP_VERSION_2 && config.version != VRRP_VERSION_3 {
            return Err(XdpError::BadConfigVersion {
                key,
                version: config.version,
            });
        }
        let slot = self.slot_of(key.ifindex)?;
        if slot == 0 {
            return Err(XdpError::NoSlot {
                ifindex: key.ifindex,
            });
        }
        let mut configs = self.array::<VrrpConfig>(VRRP_CONFIG_MAP)?;
        let index = vrrp_index(slot, key.family, key.vrid);
        configs
            .set(index, config, 0)
            .map_err(map_error(VRRP_CONFIG_MAP))?;
        // keepalived `log_unknown_vrids` is global: the marker carries the instances' bit.
        let marker = VrrpConfig {
            flags: config.flags & FLAG_LOG_UNKNOWN_VRIDS,
            ..MARKER
        };
        configs
            .set(marker_index(slot, key.family), marker, 0)
            .map_err(map_error(VRRP_CONFIG_MAP))
    }

    /// Forgets the instance `key`: its configuration, last-seen entry, unicast peers and
    /// auth-failure note, and the interface marker when it was the last instance on its
    /// interface and family (XDP then passes that interface's adverts to the socket again).
    /// Removing an instance that is not there is not an error.
    pub fn remove_vrrp_config(&mut self, key: &VrrpKey) -> Result<(), XdpError> {
        check_key(key)?;
        self.set_unicast_peers(*key, &[])?;
        remove_quietly(
            &mut self.hash_map::<VrrpKey, u64>(AUTH_FAILURES_MAP)?,
            key,
            AUTH_FAILURES_MAP,
        )?;
        let slot = self.slot_of(key.ifindex)?;
        if slot == 0 {
            return Ok(());
        }
        let index = vrrp_index(slot, key.family, key.vrid);
        self.array::<VrrpSeen>(VRRP_SEEN_MAP)?
            .set(index, VrrpSeen::default(), 0)
            .map_err(map_error(VRRP_SEEN_MAP))?;
        let mut configs = self.array::<VrrpConfig>(VRRP_CONFIG_MAP)?;
        configs
            .set(index, VrrpConfig::default(), 0)
            .map_err(map_error(VRRP_CONFIG_MAP))?;
        for vrid in 1..=u8::MAX {
            let other = configs
                .get(&vrrp_index(slot, key.family, vrid), 0)
                .map_err(map_error(VRRP_CONFIG_MAP))?;
            if other.version != 0 {
                return Ok(());
            }
        }
        configs
            .set(marker_index(slot, key.family), VrrpConfig::default(), 0)
            .map_err(map_error(VRRP_CONFIG_MAP))
    }

    /// What XDP last recorded for `key` (`None` before the first accepted advert, or when
    /// the interface has no slot). XDP may be rewriting the entry while it is read: the
    /// fields can then mix two consecutive adverts (every one of which was accepted).
    pub fn vrrp_seen(&self, key: &VrrpKey) -> Result<Option<VrrpSeen>, XdpError> {
        match self.seen_index(key)? {
            Some(index) => self.vrrp_seen_at(index),
            None => Ok(None),
        }
    }

    /// Where `key`'s entry sits in `KAD_VRRP_SEEN` (`None` while its interface has no slot):
    /// fixed while the interface keeps its slot, so callers may keep it for
    /// [`XdpDataplane::vrrp_seen_at`].
    pub fn seen_index(&self, key: &VrrpKey) -> Result<Option<u32>, XdpError> {
        check_key(key)?;
        let slot = self.slot_of(key.ifindex)?;
        Ok((slot != 0).then(|| vrrp_index(slot, key.family, key.vrid)))
    }

    /// [`XdpDataplane::vrrp_seen`] by index: a read of the memory-mapped array (no system
    /// call) where the kernel allowed the mapping.
    pub fn vrrp_seen_at(&self, index: u32) -> Result<Option<VrrpSeen>, XdpError> {
        let seen = match &self.seen {
            Some(view) => view.get(index).ok_or(XdpError::Map {
                map: VRRP_SEEN_MAP,
                source: MapError::OutOfBounds {
                    index,
                    max_entries: kad_common::xdp_maps::VRRP_ENTRIES,
                },
            })?,
            None => {
                let map = self
                    .ebpf
                    .map(VRRP_SEEN_MAP)
                    .ok_or(XdpError::MissingMap(VRRP_SEEN_MAP))?;
                Array::<_, VrrpSeen>::try_from(map)
                    .map_err(map_error(VRRP_SEEN_MAP))?
                    .get(&index, 0)
                    .map_err(map_error(VRRP_SEEN_MAP))?
            }
        };
        Ok((seen.count != 0).then_some(seen))
    }

    /// Whether `KAD_VRRP_SEEN` is read through memory (else through system calls).
    pub fn seen_is_mapped(&self) -> bool {
        self.seen.is_some()
    }

    /// Gives interface `ifindex` (below `MAX_IFINDEX`) its own counter slot
    /// (`1..MAX_INTERFACES`; 0, the slot of interfaces without one, is refused). The slot also
    /// indexes the interface's VRRP instances, so set it before
    /// [`XdpDataplane::set_vrrp_config`]; an interface keeps its slot until
    /// [`XdpDataplane::remove_interface_slot`] (asking for another one is refused). Slots
    /// must be unique: the caller hands them out.
    pub fn set_interface_slot(&mut self, ifindex: u32, slot: u32) -> Result<(), XdpError> {
        if slot == 0 || slot >= MAX_INTERFACES {
            return Err(XdpError::BadSlot { slot });
        }
        match self.slot_of(ifindex)? {
            0 => self.write_slot(ifindex, slot),
            current if current == slot => Ok(()),
            current => Err(XdpError::HasSlot { ifindex, current }),
        }
    }

    /// Takes interface `ifindex`'s slot away, with every VRRP instance, last-seen entry,
    /// unicast peer and auth-failure note of the interface: its frames count in slot 0 and
    /// its adverts go to the socket again. The slot's counters are not reset.
    pub fn remove_interface_slot(&mut self, ifindex: u32) -> Result<(), XdpError> {
        let slot = self.slot_of(ifindex)?;
        if slot == 0 {
            return Ok(());
        }
        let first = vrrp_index(slot, FAMILY_V4, 0);
        let last = vrrp_index(slot, FAMILY_V6, u8::MAX);
        let mut configs = self.array::<VrrpConfig>(VRRP_CONFIG_MAP)?;
        for index in first..=last {
            configs
                .set(index, VrrpConfig::default(), 0)
                .map_err(map_error(VRRP_CONFIG_MAP))?;
        }
        let mut seen = self.array::<VrrpSeen>(VRRP_SEEN_MAP)?;
        for index in first..=last {
            seen.set(index, VrrpSeen::default(), 0)
                .map_err(map_error(VRRP_SEEN_MAP))?;
        }
        self.remove_keys_of::<VrrpPeerKey, u8>(VRRP_PEERS_MAP, ifindex, |peer| peer.key)?;
        self.remove_keys_of::<VrrpKey, u64>(AUTH_FAILURES_MAP, ifindex, |key| *key)?;
        self.write_slot(ifindex, 0)
    }

    /// The counter slot of `ifindex` (0: none).
    fn slot_of(&self, ifindex: u32) -> Result<u32, XdpError> {
        if ifindex >= MAX_IFINDEX {
            return Ok(0);
        }
        let map = self
            .ebpf
            .map(IF_SLOTS_MAP)
            .ok_or(XdpError::MissingMap(IF_SLOTS_MAP))?;
        Array::<_, u32>::try_from(map)
            .map_err(map_error(IF_SLOTS_MAP))?
            .get(&ifindex, 0)
            .map_err(map_error(IF_SLOTS_MAP))
    }

    fn write_slot(&mut self, ifindex: u32, slot: u32) -> Result<(), XdpError> {
        if ifindex >= MAX_IFINDEX {
            return Err(XdpError::IfindexTooLarge { ifindex });
        }
        self.array::<u32>(IF_SLOTS_MAP)?
            .set(ifindex, slot, 0)
            .map_err(map_error(IF_SLOTS_MAP))
    }

    /// Removes every entry of the hash map `name` whose instance key is on `ifindex`.
    fn remove_keys_of<K: Pod, V: Pod>(
        &mut self,
        name: &'static str,
        ifindex: u32,
        instance: impl Fn(&K) -> VrrpKey,
    ) -> Result<(), XdpError> {
        let mut map = self.hash_map::<K, V>(name)?;
        let mut doomed = Vec::new();
        for key in map.keys() {
            let key = key.map_err(map_error(name))?;
            if instance(&key).ifindex == ifindex {
                doomed.push(key);
            }
        }
        for key in &doomed {
            remove_quietly(&mut map, key, name)?;
        }
        Ok(())
    }

    /// The per-reason counters of one interface slot, summed over CPUs.
    pub fn interface_counters(&self, slot: u32) -> Result<XdpCounters, XdpError> {
        if slot >= MAX_INTERFACES {
            return Err(XdpError::BadSlot { slot });
        }
        let map = self
            .ebpf
            .map(IF_COUNTERS_MAP)
            .ok_or(XdpError::MissingMap(IF_COUNTERS_MAP))?;
        let array = PerCpuArray::<_, u64>::try_from(map).map_err(map_error(IF_COUNTERS_MAP))?;
        let mut counters = XdpCounters::default();
        for reason in XdpReason::ALL {
            let index = slot * XdpReason::COUNT + reason as u32;
            let per_cpu = array.get(&index, 0).map_err(map_error(IF_COUNTERS_MAP))?;
            counters.set(reason, per_cpu.iter().sum());
        }
        Ok(counters)
    }

    /// keepalived `no_accept` / `vrrp_strict`: with `drop`, XDP drops IP traffic addressed to
    /// `address` that arrives on interface `ifindex` (reason `VipNoAccept`); without, it stops
    /// doing so. Other interfaces are not affected.
    pub fn set_vip(&mut self, ifindex: u32, address: IpAddr, drop: bool) -> Result<(), XdpError> {
        match address {
            IpAddr::V4(v4) => {
                let key = VipV4Key {
                    ifindex,
                    addr: v4.octets(),
                };
                self.set_flag(VIP_V4_MAP, key, drop)
            }
            IpAddr::V6(v6) => {
                let key = VipV6Key {
                    ifindex,
                    addr: v6.octets(),
                };
                self.set_flag(VIP_V6_MAP, key, drop)
            }
        }
    }

    /// keepalived `unicast_peer`: replaces the peers XDP accepts adverts from for `key` (read
    /// only when its configuration has `FLAG_UNICAST | FLAG_CHECK_PEERS`).
    /// Every peer must be of `key`'s family.
    pub fn set_unicast_peers(&mut self, key: VrrpKey, peers: &[IpAddr]) -> Result<(), XdpError> {
        check_key(&key)?;
        let wanted = peers
            .iter()
            .map(|peer| match address_bytes(*peer) {
                (family, addr) if family == key.family => Ok(VrrpPeerKey { key, addr }),
                _ => Err(XdpError::FamilyMismatch {
                    address: *peer,
                    family: key.family,
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut map = self.hash_map::<VrrpPeerKey, u8>(VRRP_PEERS_MAP)?;
        let mut stale = Vec::new();
        for peer in map.keys() {
            let peer = peer.map_err(map_error(VRRP_PEERS_MAP))?;
            if peer.key == key && !wanted.contains(&peer) {
                stale.push(peer);
            }
        }
        for peer in &stale {
            remove_quietly(&mut map, peer, VRRP_PEERS_MAP)?;
        }
        for peer in wanted {
            map.insert(peer, 1, 0).map_err(map_error(VRRP_PEERS_MAP))?;
        }
        Ok(())
    }

    /// Takes the event ring buffer out of the dataplane (once: a second call fails with
    /// `MissingMap`). Read its records with [`parse_event`].
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>, XdpError> {
        let map = self
            .ebpf
            .take_map(VRRP_EVENTS_MAP)
            .ok_or(XdpError::MissingMap(VRRP_EVENTS_MAP))?;
        RingBuf::try_from(map).map_err(map_error(VRRP_EVENTS_MAP))
    }

    fn array<V: Pod>(&mut self, name: &'static str) -> Result<Array<&mut MapData, V>, XdpError> {
        let map = self.ebpf.map_mut(name).ok_or(XdpError::MissingMap(name))?;
        Array::try_from(map).map_err(map_error(name))
    }

    fn hash_map<K: Pod, V: Pod>(
        &mut self,
        name: &'static str,
    ) -> Result<HashMap<&mut MapData, K, V>, XdpError> {
        let map = self.ebpf.map_mut(name).ok_or(XdpError::MissingMap(name))?;
        HashMap::try_from(map).map_err(map_error(name))
    }

    fn set_flag<K: Pod>(&mut self, name: &'static str, key: K, on: bool) -> Result<(), XdpError> {
        let mut map = self.hash_map::<K, u8>(name)?;
        if on {
            map.insert(key, 1, 0).map_err(map_error(name))
        } else {
            remove_quietly(&mut map, &key, name)
        }
    }
}

/// Parses one ring-buffer record of `KAD_VRRP_EVENTS` (`None` if it is too short).
pub fn parse_event(bytes: &[u8]) -> Option<VrrpEvent> {
    if bytes.len() < size_of::<VrrpEvent>() {
        return None;
    }
    // SAFETY: VrrpEvent is #[repr(C)] and made of integers and byte arrays only (every bit
    // pattern is valid); the length was checked and read_unaligned needs no alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<VrrpEvent>()) })
}

/// An address as the maps hold it: family and 16 bytes (IPv4 in the first 4).
pub fn address_bytes(address: IpAddr) -> (u8, [u8; 16]) {
    match address {
        IpAddr::V4(v4) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&v4.octets());
            (FAMILY_V4, bytes)
        }
        IpAddr::V6(v6) => (FAMILY_V6, v6.octets()),
    }
}

/// What userspace writes at the marker index (`version` not 0; nothing else is read).
const MARKER: VrrpConfig = VrrpConfig {
    version: u8::MAX,
    auth_type: 0,
    role: 0,
    flags: 0,
    own_priority: 0,
    pad: [0; 3],
    auth_pass: [0; 8],
    own_addr: [0; 16],
    checksum_group: [0; 4],
};

/// Where the interface marker of `slot` and `family` lives.
fn marker_index(slot: u32, family: u8) -> u32 {
    vrrp_index(slot, family, INTERFACE_MARKER_VRID)
}

fn check_key(key: &VrrpKey) -> Result<(), XdpError> {
    if key.vrid == INTERFACE_MARKER_VRID || (key.family != FAMILY_V4 && key.family != FAMILY_V6) {
        return Err(XdpError::BadKey(*key));
    }
    Ok(())
}

fn map_error(map: &'static str) -> impl Fn(MapError) -> XdpError {
    move |source| XdpError::Map { map, source }
}

/// Removes `key`, treating "not there" as done.
fn remove_quietly<K: Pod, V: Pod>(
    map: &mut HashMap<&mut MapData, K, V>,
    key: &K,
    name: &'static str,
) -> Result<(), XdpError> {
    match map.remove(key) {
        Ok(()) => Ok(()),
        Err(MapError::SyscallError(err)) if err.io_error.kind() == io::ErrorKind::NotFound => {
            Ok(())
        }
        Err(MapError::KeyNotFound) => Ok(()),
        Err(source) => Err(XdpError::Map { map: name, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_event_reads_a_record_and_refuses_a_short_one() {
        let event = VrrpEvent {
            key: VrrpKey {
                ifindex: 7,
                vrid: 51,
                family: FAMILY_V4,
                pad: [0; 2],
            },
            kind: 3,
            at_ns: 42,
            sender: address_bytes("10.77.0.1".parse().unwrap()).1,
            priority: 200,
            version: 3,
            interval_cs: 100,
            count_ip: 1,
            ..VrrpEvent::default()
        };
        // SAFETY: reading the bytes of a plain #[repr(C)] value without implicit padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&event as *const VrrpEvent).cast::<u8>(),
                size_of::<VrrpEvent>(),
            )
        };
        let mut unaligned = vec![0u8];
        unaligned.extend_from_slice(bytes);
        assert_eq!(parse_event(&unaligned[1..]), Some(event));
        assert_eq!(parse_event(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn addresses_take_the_maps_layout() {
        let (family, bytes) = address_bytes("10.77.0.1".parse().unwrap());
        assert_eq!(family, FAMILY_V4);
        assert_eq!(bytes[..4], [10, 77, 0, 1]);
        assert!(bytes[4..].iter().all(|b| *b == 0));
        let (family, bytes) = address_bytes("fe80::1".parse().unwrap());
        assert_eq!(family, FAMILY_V6);
        assert_eq!(bytes[0], 0xfe);
        assert_eq!(bytes[15], 1);
    }
}
