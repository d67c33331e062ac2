//! keepalived.conf `bfd_instance` → what the BFD thread runs (pure).

use std::{net::IpAddr, time::Duration};

use crate::config::model::{BfdInstance, Config};

/// One session as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSpec {
    /// `bfd_instance NAME`.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip`.
    pub source: Option<IpAddr>,
    /// `min_tx`: bfd.DesiredMinTxInterval while up.
    pub desired_min_tx: Duration,
    /// `min_rx`: bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// `idle_tx`: the interval while the session is not up.
    pub idle_tx: Duration,
    /// `multiplier`: bfd.DetectMult.
    pub detect_mult: u8,
    /// `passive`: send nothing until the peer is heard (RFC 5880 §6.1).
    pub passive: bool,
    /// `multihop` (keepalived 2.4): RFC 5883, control packets to and from UDP port 4784.
    pub multihop: bool,
    /// `ttl` / `hoplimit`: TTL of packets sent, and the TTL expected on arrival.
    pub ttl: u8,
    /// `max_hops`: how far below `ttl` an arriving TTL may be (255: not checked).
    pub max_hops: u8,
}

impl SessionSpec {
    /// Whether only the timers differ from `other` (a poll sequence changes them in place;
    /// anything else makes a new session).
    pub fn same_endpoints(&self, other: &SessionSpec) -> bool {
        self.name == other.name
            && self.neighbor == other.neighbor
            && self.source == other.source
            && self.ttl == other.ttl
            && self.max_hops == other.max_hops
            && self.passive == other.passive
            && self.multihop == other.multihop
    }

    /// RFC 5881 §4 / RFC 5883 §5: the UDP port the session's control packets go to (and
    /// arrive on).
    pub fn control_port(&self) -> u16 {
        if self.multihop {
            kad_bfd::packet::PORT_MULTI_HOP
        } else {
            kad_bfd::packet::PORT_SINGLE_HOP
        }
    }

    /// Whether a packet that arrived with `ttl` passes the session's TTL check (keepalived:
    /// an arriving TTL more than `max_hops` below the configured one is dropped; RFC 5881
    /// §5 for the default, 255 with `max_hops 0`). Multihop too (RFC 5883 §5 sets no TTL
    /// rule; keepalived 2.4 keeps this one, so across routers `max_hops` says how many).
    pub fn accepts_ttl(&self, ttl: Option<u8>) -> bool {
        match ttl {
            _ if self.max_hops == u8::MAX => true,
            None => true,
            Some(ttl) => u16::from(ttl) + u16::from(self.max_hops) >= u16::from(self.ttl),
        }
    }

    /// The least TTL / hop limit [`SessionSpec::accepts_ttl`] lets through, as XDP checks it
    /// (`KAD_BFD_SESSIONS` `min_ttl`; 0: any).
    pub fn min_ttl(&self) -> u8 {
        if self.max_hops == u8::MAX {
            0
        } else {
            self.ttl.saturating_sub(self.max_hops)
        }
    }
}

/// The sessions of `config`, in order (instances keepalived's BFD process would drop, such
/// as one whose source address is of the other family, are left out: trackers of them see
/// them down).
pub fn sessions(config: &Config) -> Vec<SessionSpec> {
    config
        .bfd_instances
        .iter()
        .filter(|instance| instance.enabled)
        .filter_map(session)
        .collect()
}

fn session(instance: &BfdInstance) -> Option<SessionSpec> {
    Some(SessionSpec {
        name: instance.name.clone(),
        neighbor: instance.neighbor_ip?,
        source: instance.source_ip,
        desired_min_tx: instance.min_tx,
        required_min_rx: instance.min_rx,
        idle_tx: instance.idle_tx,
        detect_mult: instance.multiplier,
        passive: instance.passive,
        multihop: instance.multihop,
        ttl: instance.ttl,
        max_hops: instance.max_hops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ttl: u8, max_hops: u8) -> SessionSpec {
        SessionSpec {
            name: "b".into(),
            neighbor: "192.0.2.1".parse().unwrap(),
            source: None,
            desired_min_tx: Duration::from_millis(10),
            required_min_rx: Duration::from_millis(10),
            idle_tx: Duration::from_secs(1),
            detect_mult: 3,
            passive: false,
            multihop: false,
            ttl,
            max_hops,
        }
    }

    #[test]
    fn single_hop_accepts_only_ttl_255() {
        let s = spec(255, 0);
        assert!(s.accepts_ttl(Some(255)));
        assert!(!s.accepts_ttl(Some(254)));
    }

    #[test]
    fn max_hops_lets_that_many_routers_lower_the_ttl() {
        let s = spec(255, 2);
        assert!(s.accepts_ttl(Some(253)));
        assert!(!s.accepts_ttl(Some(252)));
        assert!(spec(255, 255).accepts_ttl(Some(1)));
    }

    #[test]
    fn multihop_sessions_use_port_4784_and_keep_the_ttl_rule() {
        let single = spec(255, 0);
        let multi = SessionSpec {
            multihop: true,
            ..spec(255, 1)
        };
        assert_eq!((single.control_port(), multi.control_port()), (3784, 4784));
        assert!(multi.accepts_ttl(Some(254)) && !multi.accepts_ttl(Some(253)));
        // Switching a session between the two kinds makes a new session.
        assert!(!single.same_endpoints(&SessionSpec {
            multihop: true,
            ..single.clone()
        }));
    }

    #[test]
    fn the_least_ttl_xdp_checks_is_the_one_accepts_ttl_lets_through() {
        for (ttl, max_hops) in [(255, 0), (255, 2), (64, 0), (255, 255), (5, 10)] {
            let s = spec(ttl, max_hops);
            let least = s.min_ttl();
            assert!(s.accepts_ttl(Some(least)), "{ttl} {max_hops}");
            if least > 0 {
                assert!(!s.accepts_ttl(Some(least - 1)), "{ttl} {max_hops}");
            }
        }
    }
}
