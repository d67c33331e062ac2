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
    vrrp::{
        fsm::Advert,
        packet::{AuthConfig, DecodeOptions, ReplayGuard, RxMeta, decode_ipv4, decode_vrrp},
    },
};

use super::{Inbound, InstanceSpec};

/// Where adverts for one VRID on a socket go, and how they are checked.
pub(crate) struct Route {
    slot: usize,
    name: Arc<str>,
    vrid: u8,
    auth: AuthConfig,
    options: DecodeOptions,
    replay: ReplayGuard,
}

impl Route {
    pub(crate) fn new(slot: usize, spec: &InstanceSpec) -> Self {
        Self {
            slot,
            name: Arc::clone(&spec.fsm.name),
            vrid: spec.fsm.vrid,
            auth: spec.auth,
            options: DecodeOptions {
                checksum: spec.checksum,
                ..DecodeOptions::default()
            },
            replay: ReplayGuard::default(),
        }
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
    let default_options = routes
        .first()
        .map(|route| route.options)
        .unwrap_or_default();
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
        if let Err(err) = advert.authenticate(&route.auth, &mut route.replay) {
            warn(format!(
                "({}) VRID {}: dropped advert from {}: {err}",
                route.name,
                route.vrid,
                advert.src()
            ));
            continue;
        }
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
