//! Receive tasks: one per VRRP socket. Each datagram is decoded and validated here, off the
//! protocol loop; only valid adverts for a configured VRID become events, so malformed or
//! forged packets never touch a timer (keepalived's weakness measured in LAB.md).

use std::{
    net::IpAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::mpsc;

use crate::{
    net::vrrp_socket::VrrpSocket,
    ops::counters::{ErrorClass, InstanceCounters, peek_vrid},
    vrrp::{
        fsm::Advert,
        packet::{AuthConfig, DecodeOptions, ReplayGuard, RxMeta, decode_ipv4, decode_vrrp},
    },
};

use super::{Inbound, InstanceSpec, UnicastRx};

/// Where adverts for one VRID on a socket go, and how they are checked.
pub(crate) struct Route {
    slot: usize,
    name: Arc<str>,
    vrid: u8,
    auth: AuthConfig,
    options: DecodeOptions,
    replay: ReplayGuard,
    /// `unicast_peer` addresses (empty: a multicast instance).
    peers: Vec<IpAddr>,
    unicast: UnicastRx,
    /// The instance's counters (receive errors, adverts received).
    counters: Arc<InstanceCounters>,
}

impl Route {
    pub(crate) fn new(slot: usize, spec: &InstanceSpec, counters: Arc<InstanceCounters>) -> Self {
        Self {
            slot,
            name: Arc::clone(&spec.fsm.name),
            vrid: spec.fsm.vrid,
            auth: spec.auth,
            options: DecodeOptions {
                checksum: spec.checksum,
                ..DecodeOptions::default()
            },
            // RFC 3768 §6.1: a peer silent for Master_Down_Interval counts as gone, so its
            // AH sequence may start again (it restarted).
            replay: ReplayGuard::with_restart_after(crate::vrrp::fsm::master_down_interval(
                spec.fsm.version,
                spec.fsm.priority,
                spec.fsm.advert_interval,
                spec.fsm.down_timer_adverts,
            )),
            peers: spec.unicast_peers.clone(),
            unicast: spec.unicast_rx.clone(),
            counters,
        }
    }

    /// RFC 5798 §7.1 TTL / hop limit 255 for multicast instances; for unicast ones,
    /// keepalived's rules: a peer's `min_ttl`..`max_ttl` range when given, no TTL check
    /// otherwise, and with `check_unicast_src` only configured peers.
    fn admits(&self, source: IpAddr, ttl: u8) -> Result<(), (ErrorClass, String)> {
        if self.peers.is_empty() {
            if ttl != kad_common::vrrp_wire::VRRP_TTL {
                return Err((
                    ErrorClass::Ttl,
                    format!("TTL/hop limit {ttl}, expected 255"),
                ));
            }
            return Ok(());
        }
        if let Some((_, min, max)) = self
            .unicast
            .ttl_ranges
            .iter()
            .find(|(peer, _, _)| *peer == source)
            && !(*min..=*max).contains(&ttl)
        {
            return Err((
                ErrorClass::Ttl,
                format!("TTL/hop limit {ttl} outside this peer's min_ttl {min} .. max_ttl {max}"),
            ));
        }
        if self.unicast.check_source && !self.peers.contains(&source) {
            return Err((
                ErrorClass::NotPeer,
                "not a configured unicast_peer (check_unicast_src)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// At most one warning per this period per socket, so a flood cannot flood the log.
const WARN_EVERY: Duration = Duration::from_secs(10);

pub(crate) async fn run(
    socket: Arc<VrrpSocket>,
    ipv6: bool,
    mut routes: Vec<Route>,
    generation: u64,
    inbound: mpsc::Sender<Inbound>,
    stats: Arc<super::ReceiveStats>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut last_warning: Option<Instant> = None;
    let mut suppressed = 0u64;
    // TTL is judged per route after the VRID is known (unicast peers may sit behind routers).
    let default_options = DecodeOptions {
        check_ttl: false,
        ..routes
            .first()
            .map(|route| route.options)
            .unwrap_or_default()
    };
    loop {
        let received = match socket.recv(&mut buf).await {
            Ok(received) => received,
            Err(err) => {
                tracing::error!(ifindex = socket.ifindex(), error = %err, "VRRP receive failed; stopping this socket");
                return;
            }
        };
        stats
            .socket_packets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::trace!(ifindex = socket.ifindex(), source = %received.source, len = received.len, "VRRP datagram on the socket");
        let Some(packet) = buf.get(..received.len) else {
            continue;
        };
        let decoded = if ipv6 {
            let meta = RxMeta {
                src: received.source,
                dst: received.destination.unwrap_or(received.source),
                ttl: received.hop_limit.unwrap_or(0),
            };
            decode_vrrp(packet, meta, &default_options)
        } else {
            decode_ipv4(packet, &default_options)
        };
        let mut warn = |what: String| {
            let now = Instant::now();
            if last_warning.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                tracing::warn!(ifindex = socket.ifindex(), suppressed, "{what}");
                last_warning = Some(now);
                suppressed = 0;
            } else {
                suppressed += 1;
            }
        };
        let advert = match decoded {
            Ok(advert) => advert,
            Err(err) => {
                if let Some(route) = peek_vrid(packet, ipv6)
                    .and_then(|vrid| routes.iter().find(|route| route.vrid == vrid))
                {
                    route.counters.error(ErrorClass::of(&err));
                }
                warn(format!(
                    "dropped invalid VRRP packet from {}: {err}",
                    received.source
                ));
                continue;
            }
        };
        let Some(route) = routes.iter_mut().find(|route| route.vrid == advert.vrid()) else {
            continue; // another router's VRID: not ours to judge
        };
        if let Err((class, why)) = route.admits(received.source, advert.ttl()) {
            route.counters.error(class);
            warn(format!(
                "({}) VRID {}: dropped advert from {}: {why}",
                route.name, route.vrid, received.source
            ));
            continue;
        }
        let now = Instant::now();
        let restarted = advert
            .ah()
            .is_some_and(|ah| route.replay.is_restart(advert.src(), ah.sequence(), now));
        if let Err(err) = advert.authenticate(&route.auth, &mut route.replay, now) {
            route.counters.error(ErrorClass::of(&err));
            warn(format!(
                "({}) VRID {}: dropped advert from {}: {err}",
                route.name,
                route.vrid,
                advert.src()
            ));
            continue;
        }
        if restarted {
            tracing::info!(instance = %route.name, vrid = route.vrid, sender = %advert.src(), "AH sequence restarted after Master_Down_Interval of silence: the peer restarted");
        }
        route.counters.received();
        let version = advert.version();
        let message = Inbound {
            generation,
            slot: route.slot,
            advert: Advert {
                source: source_of(&advert, received.source),
                version,
                vrid: advert.vrid(),
                priority: advert.priority(),
                interval_cs: advert.advert_interval_cs(),
            },
        };
        if inbound.send(message).await.is_err() {
            return; // the protocol loop has stopped
        }
    }
}

fn source_of(advert: &crate::vrrp::packet::Advertisement<'_>, fallback: IpAddr) -> IpAddr {
    let source = advert.src();
    if source.is_unspecified() {
        fallback
    } else {
        source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(peers: &[&str], unicast: UnicastRx) -> Route {
        Route {
            slot: 0,
            name: Arc::from("T"),
            vrid: 1,
            auth: AuthConfig::None,
            options: DecodeOptions::default(),
            replay: ReplayGuard::default(),
            peers: peers.iter().filter_map(|p| p.parse().ok()).collect(),
            unicast,
            counters: Arc::default(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn multicast_needs_ttl_255() {
        let r = route(&[], UnicastRx::default());
        assert!(r.admits(ip("10.0.0.2"), 255).is_ok());
        assert!(r.admits(ip("10.0.0.2"), 254).is_err());
    }

    #[test]
    fn unicast_without_range_takes_any_ttl_from_anyone() {
        let r = route(&["10.0.0.2"], UnicastRx::default());
        assert!(r.admits(ip("10.0.0.2"), 61).is_ok());
        assert!(r.admits(ip("10.0.0.9"), 255).is_ok());
    }

    #[test]
    fn unicast_ttl_range_and_source_check() {
        let r = route(
            &["10.0.0.2", "10.0.0.3"],
            UnicastRx {
                check_source: true,
                ttl_ranges: vec![(ip("10.0.0.2"), 60, 64)],
            },
        );
        assert!(r.admits(ip("10.0.0.2"), 62).is_ok());
        assert!(r.admits(ip("10.0.0.2"), 255).is_err());
        assert!(r.admits(ip("10.0.0.2"), 59).is_err());
        assert!(
            r.admits(ip("10.0.0.3"), 255).is_ok(),
            "no range for this peer"
        );
        assert!(r.admits(ip("10.0.0.9"), 255).is_err(), "not a peer");
    }
}
