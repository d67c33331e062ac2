//! Which adverts an instance accepts by their source address and TTL / hop limit: one rule,
//! computed once per instance from its spec, applied by both receive paths — the raw socket
//! per datagram ([`AcceptPolicy::admits`]) and the XDP program through its configuration
//! flags ([`AcceptPolicy::xdp_flags`]) and the unicast-peer map.

use std::net::IpAddr;

use kad_common::xdp_maps::{FLAG_CHECK_PEERS, FLAG_TO_SOCKET, FLAG_UNICAST};

use super::{InstanceSpec, UnicastRx};

/// keepalived's receive rules for one instance: multicast instances take TTL 255 from anyone
/// (RFC 5798 §7.1); unicast ones take any TTL (keepalived `vrrp_in_chk` skips the TTL check
/// for unicast), from their `unicast_peer`s only when peers are checked, and within a peer's
/// `min_ttl`/`max_ttl` when it has a range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AcceptPolicy {
    /// `unicast_peer` addresses (empty: a multicast instance).
    peers: Vec<IpAddr>,
    /// keepalived.conf `check_unicast_src` / `vrrp_check_unicast_src`, a peer TTL range, or
    /// `vrrp_strict` / `strict_mode` with unicast peers: adverts from other sources are
    /// refused. keepalived refuses `vrrp_strict` with unicast peers on a multicast-capable
    /// interface; where kad runs such an instance, strict means the peers are checked.
    check_peers: bool,
    /// `unicast_peer { ADDR min_ttl N max_ttl M }`.
    ttl_ranges: Vec<(IpAddr, u8, u8)>,
}

/// Why an advert was refused by its source or TTL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// RFC 5798 §7.1: a multicast advert whose TTL / hop limit is not 255.
    #[error("TTL/hop limit {ttl}, expected 255")]
    Ttl {
        /// The received TTL / hop limit.
        ttl: u8,
    },
    /// keepalived.conf `unicast_peer { ADDR min_ttl N max_ttl M }`.
    #[error("TTL/hop limit {ttl} outside this peer's min_ttl {min} .. max_ttl {max}")]
    TtlRange {
        /// The received TTL / hop limit.
        ttl: u8,
        /// The peer's `min_ttl`.
        min: u8,
        /// The peer's `max_ttl`.
        max: u8,
    },
    /// keepalived.conf `check_unicast_src`: the source is not a `unicast_peer`.
    #[error("not a configured unicast_peer (check_unicast_src)")]
    NotPeer,
}

impl AcceptPolicy {
    /// The policy of `spec`'s instance.
    pub(crate) fn of(spec: &InstanceSpec) -> Self {
        Self::from_parts(&spec.unicast_peers, &spec.unicast_rx, spec.strict)
    }

    /// The policy of an instance with these `unicast_peer`s, receive rules and `strict_mode`.
    pub(crate) fn from_parts(peers: &[IpAddr], rx: &UnicastRx, strict: bool) -> Self {
        let unicast = !peers.is_empty();
        Self {
            peers: peers.to_vec(),
            check_peers: unicast && (rx.check_source || strict || !rx.ttl_ranges.is_empty()),
            ttl_ranges: if unicast {
                rx.ttl_ranges.clone()
            } else {
                Vec::new()
            },
        }
    }

    /// Whether the instance is unicast (has `unicast_peer`s).
    pub(crate) fn unicast(&self) -> bool {
        !self.peers.is_empty()
    }

    /// Whether an advert from `source` with TTL / hop limit `ttl` may be processed.
    pub(crate) fn admits(&self, source: IpAddr, ttl: u8) -> Result<(), Refusal> {
        if !self.unicast() {
            return if ttl == kad_common::vrrp_wire::VRRP_TTL {
                Ok(())
            } else {
                Err(Refusal::Ttl { ttl })
            };
        }
        if self.check_peers && !self.peers.contains(&source) {
            return Err(Refusal::NotPeer);
        }
        match self.ttl_ranges.iter().find(|(peer, _, _)| *peer == source) {
            Some(&(_, min, max)) if !(min..=max).contains(&ttl) => {
                Err(Refusal::TtlRange { ttl, min, max })
            }
            _ => Ok(()),
        }
    }

    /// The same rule as `VrrpConfig` flags for the XDP program: `FLAG_UNICAST` (unicast
    /// adverts only, any TTL), `FLAG_CHECK_PEERS` (only sources in `KAD_VRRP_PEERS`) and
    /// `FLAG_TO_SOCKET` (TTL ranges: userspace applies [`AcceptPolicy::admits`]).
    pub(crate) fn xdp_flags(&self) -> u8 {
        let mut flags = 0;
        if self.unicast() {
            flags |= FLAG_UNICAST;
        }
        if self.check_peers {
            flags |= FLAG_CHECK_PEERS;
        }
        if !self.ttl_ranges.is_empty() {
            flags |= FLAG_TO_SOCKET;
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn policy(peers: &[&str], rx: UnicastRx, strict: bool) -> AcceptPolicy {
        let peers: Vec<IpAddr> = peers.iter().map(|peer| ip(peer)).collect();
        AcceptPolicy::from_parts(&peers, &rx, strict)
    }

    #[test]
    fn multicast_needs_ttl_255_from_anyone() {
        let p = policy(&[], UnicastRx::default(), true);
        assert_eq!(p.admits(ip("10.0.0.2"), 255), Ok(()));
        assert_eq!(
            p.admits(ip("10.0.0.2"), 254),
            Err(Refusal::Ttl { ttl: 254 })
        );
        assert_eq!(p.xdp_flags(), 0, "strict changes nothing for multicast");
    }

    #[test]
    fn unicast_without_check_takes_any_ttl_from_anyone() {
        let p = policy(&["10.0.0.2"], UnicastRx::default(), false);
        assert_eq!(p.admits(ip("10.0.0.2"), 61), Ok(()));
        assert_eq!(p.admits(ip("10.0.0.9"), 255), Ok(()));
        assert_eq!(p.xdp_flags(), FLAG_UNICAST);
    }

    #[test]
    fn check_unicast_src_refuses_other_sources_on_both_paths() {
        let rx = UnicastRx {
            check_source: true,
            ttl_ranges: Vec::new(),
        };
        let p = policy(&["10.0.0.2"], rx, false);
        assert_eq!(p.admits(ip("10.0.0.2"), 255), Ok(()));
        assert_eq!(p.admits(ip("10.0.0.9"), 255), Err(Refusal::NotPeer));
        assert_eq!(p.xdp_flags(), FLAG_UNICAST | FLAG_CHECK_PEERS);
    }

    #[test]
    fn strict_unicast_refuses_other_sources_on_both_paths() {
        let p = policy(&["10.0.0.2"], UnicastRx::default(), true);
        assert_eq!(p.admits(ip("10.0.0.9"), 255), Err(Refusal::NotPeer));
        assert_eq!(p.admits(ip("10.0.0.2"), 255), Ok(()));
        assert_eq!(p.xdp_flags(), FLAG_UNICAST | FLAG_CHECK_PEERS);
    }

    #[test]
    fn ttl_ranges_check_peers_and_go_to_the_socket() {
        let rx = UnicastRx {
            check_source: false,
            ttl_ranges: vec![(ip("10.0.0.2"), 60, 64)],
        };
        let p = policy(&["10.0.0.2", "10.0.0.3"], rx, false);
        assert_eq!(p.admits(ip("10.0.0.2"), 62), Ok(()));
        assert_eq!(
            p.admits(ip("10.0.0.2"), 255),
            Err(Refusal::TtlRange {
                ttl: 255,
                min: 60,
                max: 64
            })
        );
        assert!(p.admits(ip("10.0.0.2"), 59).is_err());
        assert_eq!(
            p.admits(ip("10.0.0.3"), 255),
            Ok(()),
            "no range for this peer"
        );
        assert_eq!(p.admits(ip("10.0.0.9"), 255), Err(Refusal::NotPeer));
        assert_eq!(
            p.xdp_flags(),
            FLAG_UNICAST | FLAG_CHECK_PEERS | FLAG_TO_SOCKET
        );
    }
}
