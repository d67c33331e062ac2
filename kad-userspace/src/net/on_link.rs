//! Which interface a single-hop neighbour is on (RFC 5881 §4: the packets of a single-hop
//! BFD session arrive on that link): the one holding the session's source address, else the
//! one whose prefix holds the neighbour. Read from `getifaddrs(3)` (the calling thread's
//! namespace), synchronously: asked at session start, never per packet.

use std::net::IpAddr;

/// One address of an interface: its name, index, address and prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

/// The interface (index, name) the neighbour `neighbor` of a session sourced from `source`
/// is on, if one interface answers (an IPv6 link-local neighbour without a source address
/// is on every link: none).
pub fn interface_of(neighbor: IpAddr, source: Option<IpAddr>) -> Option<(u32, String)> {
    pick(&addresses(), neighbor, source)
}

/// The host's interface addresses (empty when they cannot be read).
pub fn addresses() -> Vec<InterfaceAddress> {
    let Ok(list) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    list.filter_map(|entry| {
        let address = entry.address.as_ref()?;
        let netmask = entry.netmask.as_ref();
        let (address, prefix) = if let Some(v4) = address.as_sockaddr_in() {
            let mask = netmask
                .and_then(|m| m.as_sockaddr_in())
                .map_or(32, |m| u32::from(m.ip()).count_ones());
            (IpAddr::V4(v4.ip()), mask)
        } else if let Some(v6) = address.as_sockaddr_in6() {
            let mask = netmask
                .and_then(|m| m.as_sockaddr_in6())
                .map_or(128, |m| u128::from(m.ip()).count_ones());
            (IpAddr::V6(v6.ip()), mask)
        } else {
            return None;
        };
        let ifindex = super::interface::ifindex(&entry.interface_name).ok()?;
        Some(InterfaceAddress {
            name: entry.interface_name,
            ifindex,
            address,
            prefix: u8::try_from(prefix).unwrap_or(0),
        })
    })
    .collect()
}

/// [`interface_of`] over `addresses`.
pub fn pick(
    addresses: &[InterfaceAddress],
    neighbor: IpAddr,
    source: Option<IpAddr>,
) -> Option<(u32, String)> {
    if let Some(source) = source {
        return addresses
            .iter()
            .find(|a| a.address == source)
            .map(|a| (a.ifindex, a.name.clone()));
    }
    let mut on_link = addresses
        .iter()
        .filter(|a| a.address != neighbor && holds(a, neighbor));
    let first = on_link.next()?;
    if on_link.any(|other| other.ifindex != first.ifindex) {
        return None;
    }
    Some((first.ifindex, first.name.clone()))
}

/// Whether `neighbor` is in the prefix of `entry`.
fn holds(entry: &InterfaceAddress, neighbor: IpAddr) -> bool {
    match (entry.address, neighbor) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(entry.prefix.min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(entry.prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, ifindex: u32, address: &str, prefix: u8) -> InterfaceAddress {
        InterfaceAddress {
            name: name.into(),
            ifindex,
            address: address.parse().unwrap(),
            prefix,
        }
    }

    #[test]
    fn the_source_address_names_the_interface_else_the_prefix() {
        let host = [
            entry("lo", 1, "127.0.0.1", 8),
            entry("eth0", 2, "10.77.0.1", 24),
            entry("eth1", 3, "192.0.2.1", 24),
            entry("eth0", 2, "fe80::1", 64),
            entry("eth1", 3, "fe80::2", 64),
        ];
        let n = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(pick(&host, n("10.77.0.3"), None), Some((2, "eth0".into())));
        assert_eq!(
            pick(&host, n("10.77.0.3"), Some(n("192.0.2.1"))),
            Some((3, "eth1".into()))
        );
        assert_eq!(pick(&host, n("198.51.100.1"), None), None);
        // A link-local neighbour is on every link.
        assert_eq!(pick(&host, n("fe80::9"), None), None);
        assert_eq!(
            pick(&host, n("fe80::9"), Some(n("fe80::2"))),
            Some((3, "eth1".into()))
        );
    }
}
