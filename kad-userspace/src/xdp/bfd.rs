//! The daemon's side of `KAD_BFD_SESSIONS` (layout and meaning in `kad_common::bfd_maps`):
//! tell XDP which BFD sessions to expect and arm their detection, read what it recorded.
//! Independent of the BFD runtime, which drives it.

use std::{
    borrow::{Borrow, BorrowMut},
    net::IpAddr,
    time::Duration,
};

use aya::maps::{HashMap, MapData, MapError};
use kad_common::bfd_maps::{BFD_FLAG_ARMED, BFD_FLAG_MULTIHOP, BFD_SESSIONS_MAP, BfdSession};

use super::{XdpDataplane, XdpError, address_bytes};

/// What userspace tells XDP about one session (the userspace part of a [`BfdSession`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdExpect {
    /// The peer's address (the IP source of its packets; keepalived `neighbor_ip`).
    pub peer: IpAddr,
    /// The interface its packets arrive on; 0: any (multihop).
    pub ifindex: u32,
    /// keepalived `multihop`: RFC 5883, port 4784.
    pub multihop: bool,
    /// The least TTL / hop limit accepted (keepalived: `ttl` − `max_hops`, so 255 for a
    /// single-hop session with the defaults, RFC 5881 §5); 0: any (`max_hops 255`).
    pub min_ttl: u8,
    /// RFC 5880 §6.8.4 detection time.
    pub detect: Duration,
    /// Detection in the kernel: the timer declares the session down after `detect` without
    /// a packet (started by the first packet after this write).
    pub armed: bool,
}

impl BfdExpect {
    /// The map value: this expectation, XDP's part zeroed.
    pub fn entry(&self) -> BfdSession {
        let (family, peer) = address_bytes(self.peer);
        let mut flags = 0;
        if self.multihop {
            flags |= BFD_FLAG_MULTIHOP;
        }
        if self.armed {
            flags |= BFD_FLAG_ARMED;
        }
        BfdSession {
            peer,
            ifindex: self.ifindex,
            family,
            flags,
            min_ttl: self.min_ttl,
            detect_ns: u64::try_from(self.detect.as_nanos()).unwrap_or(u64::MAX),
            ..BfdSession::default()
        }
    }
}

/// `KAD_BFD_SESSIONS`, borrowed from the dataplane (`&mut MapData`) or taken from it
/// (`MapData`: the BFD thread owns it, see [`XdpDataplane::take_bfd_sessions`]).
pub struct BfdSessions<T> {
    map: HashMap<T, u32, BfdSession>,
}

impl XdpDataplane {
    /// The BFD session map, taken out of the dataplane: its owner (the BFD thread) reads and
    /// writes it without any lock; the program keeps using it. Later calls, and
    /// [`XdpDataplane::bfd_sessions`], find no map.
    pub fn take_bfd_sessions(&mut self) -> Result<BfdSessions<MapData>, XdpError> {
        BfdSessions::of(self.ebpf.take_map(BFD_SESSIONS_MAP))
    }

    /// The BFD session map.
    pub fn bfd_sessions(&mut self) -> Result<BfdSessions<&mut MapData>, XdpError> {
        BfdSessions::of(self.ebpf.map_mut(BFD_SESSIONS_MAP))
    }
}

impl<T> BfdSessions<T> {
    /// The typed view of `KAD_BFD_SESSIONS` as the loaded object gave it (owned or borrowed).
    fn of<M>(map: Option<M>) -> Result<Self, XdpError>
    where
        HashMap<T, u32, BfdSession>: TryFrom<M, Error = aya::maps::MapError>,
    {
        let map = map.ok_or(XdpError::MissingMap(BFD_SESSIONS_MAP))?;
        let map = HashMap::try_from(map).map_err(|source| XdpError::Map {
            map: BFD_SESSIONS_MAP,
            source,
        })?;
        Ok(Self { map })
    }
}

impl<T: BorrowMut<MapData>> BfdSessions<T> {
    /// Adds or replaces the session of local discriminator `discriminator`. Replacing resets
    /// what XDP recorded (the next packet counts as a change and reaches the socket), clears
    /// `expired` and stops the timer (the kernel frees the old element's); with `armed`, the
    /// next packet starts it again. This is how userspace re-arms after an expiry.
    pub fn insert(&mut self, discriminator: u32, expect: &BfdExpect) -> Result<(), XdpError> {
        self.map
            .insert(discriminator, expect.entry(), 0)
            .map_err(map_error)
    }

    /// Removes the session (its timer with it). Removing an absent one is not an error.
    pub fn remove(&mut self, discriminator: u32) -> Result<(), XdpError> {
        match self.map.remove(&discriminator) {
            Ok(()) | Err(MapError::KeyNotFound) => Ok(()),
            Err(MapError::SyscallError(err))
                if err.io_error.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(())
            }
            Err(source) => Err(map_error(source)),
        }
    }
}

impl<T: Borrow<MapData>> BfdSessions<T> {
    /// The session as XDP last left it (`None`: no such session).
    pub fn read(&self, discriminator: u32) -> Result<Option<BfdSession>, XdpError> {
        match self.map.get(&discriminator, 0) {
            Ok(session) => Ok(Some(session)),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(MapError::SyscallError(err))
                if err.io_error.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(source) => Err(map_error(source)),
        }
    }
}

fn map_error(source: MapError) -> XdpError {
    XdpError::Map {
        map: BFD_SESSIONS_MAP,
        source,
    }
}

#[cfg(test)]
mod tests {
    use kad_common::xdp_maps::FAMILY_V6;

    use super::*;

    #[test]
    fn an_expectation_becomes_a_fresh_entry() {
        let entry = BfdExpect {
            peer: "fd00::1".parse().unwrap(),
            ifindex: 4,
            multihop: true,
            min_ttl: 250,
            detect: Duration::from_millis(30),
            armed: true,
        }
        .entry();
        assert_eq!(entry.family, FAMILY_V6);
        assert_eq!(entry.peer[0], 0xfd);
        assert_eq!(entry.flags, BFD_FLAG_MULTIHOP | BFD_FLAG_ARMED);
        assert_eq!((entry.ifindex, entry.min_ttl), (4, 250));
        assert_eq!(entry.detect_ns, 30_000_000);
        assert_eq!(
            (entry.packets, entry.expired, entry.timer_running),
            (0, 0, 0)
        );
    }
}
