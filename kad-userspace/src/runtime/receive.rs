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
    net::vrrp_socket::{Received, SocketError, VrrpSocket},
    status::counters::{ErrorClass, InstanceCounters, peek_vrid},
    vrrp::{
        fsm::Advert,
        packet::{
            AuthConfig, ChecksumMode, DecodeError, DecodeOptions, ReplayGuard, RxMeta, decode_ipv4,
            decode_vrrp,
        },
    },
};

use super::{
    Inbound, InstanceSpec,
    accept::{AcceptPolicy, Refusal},
};

/// Where adverts for one VRID on a socket go, and how they are checked.
pub(crate) struct Route {
    slot: usize,
    name: Arc<str>,
    vrid: u8,
    auth: AuthConfig,
    options: DecodeOptions,
    /// keepalived.conf `old_unicast_checksum` detection: the old form an advert failing the
    /// RFC checksum is tried in (`None`: no detection, or already switched).
    detect_old: Option<ChecksumMode>,
    replay: ReplayGuard,
    /// Sources and TTLs accepted (the rule XDP applies too).
    policy: AcceptPolicy,
    /// The instance's counters (receive errors, adverts received).
    counters: Arc<InstanceCounters>,
    /// global `log_unknown_vrids`.
    log_unknown: bool,
}

impl Route {
    pub(crate) fn new(slot: usize, spec: &InstanceSpec, counters: Arc<InstanceCounters>) -> Self {
        Self {
            slot,
            name: Arc::clone(&spec.fsm.name),
            vrid: spec.fsm.vrid,
            auth: spec.auth,
            options: DecodeOptions {
                checksum: spec.checksum_mode(),
                ..DecodeOptions::default()
            },
            detect_old: spec
                .detects_old_checksum()
                .then_some(ChecksumMode::OldUnicast(spec.checksum_group)),
            // RFC 3768 §6.1: a peer silent for Master_Down_Interval counts as gone, so its
            // AH sequence may start again (it restarted).
            replay: ReplayGuard::with_restart_after(crate::vrrp::fsm::master_down_interval(
                spec.fsm.version,
                spec.fsm.priority,
                spec.fsm.advert_interval,
                spec.fsm.down_timer_adverts,
            )),
            policy: AcceptPolicy::of(spec),
            counters,
            log_unknown: spec.log_unknown_vrids,
        }
    }

    /// The instance's [`AcceptPolicy`], with the counter class of a refusal.
    fn admits(&self, source: IpAddr, ttl: u8) -> Result<(), (ErrorClass, String)> {
        self.policy.admits(source, ttl).map_err(|refusal| {
            let class = match refusal {
                Refusal::Ttl { .. } | Refusal::TtlRange { .. } => ErrorClass::Ttl,
                Refusal::NotPeer => ErrorClass::NotPeer,
            };
            (class, refusal.to_string())
        })
    }
}

/// At most one warning per this period per socket, so a flood cannot flood the log.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Where a receive task reads datagrams: a VRRP raw socket (a test double in tests).
pub(crate) trait Datagrams: Send + Sync + 'static {
    /// The interface the datagrams arrive on (for logs).
    fn ifindex(&self) -> u32;
    /// The next datagram, written into `buf`.
    fn recv(
        &self,
        buf: &mut [u8],
    ) -> impl std::future::Future<Output = Result<Received, SocketError>> + Send;
}

impl Datagrams for VrrpSocket {
    fn ifindex(&self) -> u32 {
        VrrpSocket::ifindex(self)
    }

    async fn recv(&self, buf: &mut [u8]) -> Result<Received, SocketError> {
        VrrpSocket::recv(self, buf).await
    }
}

/// First pause after a failed `recvmsg`; doubled after each further failure in a row.
const RETRY_FIRST: Duration = Duration::from_millis(10);
/// Longest pause between two `recvmsg` attempts that keep failing.
const RETRY_MOST: Duration = Duration::from_secs(1);

/// Reads `socket` until the protocol loop stops: decodes, judges and forwards each datagram.
/// A failed receive is logged (at most once per [`WARN_EVERY`]) and retried after a pause
/// that grows from [`RETRY_FIRST`] to [`RETRY_MOST`], so a transient error never leaves the
/// instance deaf.
pub(crate) async fn run<S: Datagrams>(
    socket: Arc<S>,
    ipv6: bool,
    mut routes: Vec<Route>,
    generation: u64,
    inbound: mpsc::Sender<Inbound>,
    stats: Arc<super::ReceiveStats>,
) {
    let mut buf = vec![0u8; 65_536];
    let mut last_warning: Option<Instant> = None;
    let mut suppressed = 0u64;
    let mut retry = RETRY_FIRST;
    let mut last_error: Option<Instant> = None;
    let log_unknown = routes.iter().any(|route| route.log_unknown);
    let mut unknown_logged: std::collections::HashMap<u8, Instant> = Default::default();
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
            Ok(received) => {
                retry = RETRY_FIRST;
                received
            }
            Err(err) => {
                let now = Instant::now();
                if last_error.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                    last_error = Some(now);
                    tracing::error!(ifindex = socket.ifindex(), error = %err, retry_ms = retry.as_millis() as u64, "VRRP receive failed; retrying");
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MOST);
                continue;
            }
        };
        stats
            .socket_packets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::trace!(ifindex = socket.ifindex(), source = %received.source, len = received.len, "VRRP datagram on the socket");
        let Some(packet) = buf.get(..received.len) else {
            continue;
        };
        let decode = |options: &DecodeOptions| {
            if ipv6 {
                let meta = RxMeta {
                    src: received.source,
                    dst: received.destination.unwrap_or(received.source),
                    ttl: received.hop_limit.unwrap_or(0),
                };
                decode_vrrp(packet, meta, options)
            } else {
                decode_ipv4(packet, options)
            }
        };
        // The checksum form is the instance's (keepalived.conf old_unicast_checksum).
        // The instance is looked up once, by the VRID byte the decoder reads too.
        let route_at =
            peek_vrid(packet, ipv6).and_then(|vrid| routes.iter().position(|r| r.vrid == vrid));
        let target = route_at
            .and_then(|at| routes.get(at))
            .map(|route| (route.options.checksum, route.detect_old));
        let options = match target {
            Some((checksum, _)) => DecodeOptions {
                checksum,
                ..default_options
            },
            None => default_options,
        };
        let mut decoded = decode(&options);
        // keepalived's detection: an advert failing the RFC checksum is tried in the old form.
        let mut switch_to = None;
        if let (Err(DecodeError::BadChecksum { .. }), Some((_, Some(old)))) = (&decoded, target)
            && let Ok(advert) = decode(&DecodeOptions {
                checksum: old,
                ..options
            })
        {
            decoded = Ok(advert);
            switch_to = Some(old);
        }
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
        let Some(route) = route_at
            .and_then(|at| routes.get_mut(at))
            .filter(|route| route.vrid == advert.vrid())
        else {
            // Another router's VRID: not ours to judge.
            if log_unknown {
                log_unknown_vrid(
                    &mut unknown_logged,
                    socket.ifindex(),
                    advert.vrid(),
                    received.source,
                );
            }
            continue;
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
        if let Some(old) = switch_to {
            route.detect_old = None;
            route.options.checksum = old;
            tracing::info!(instance = %route.name, vrid = route.vrid, sender = %received.source, "({}) Setting unicast VRRPv3 checksum to old version", route.name);
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
            old_checksum: switch_to.is_some(),
        };
        if inbound.send(message).await.is_err() {
            return; // the protocol loop has stopped
        }
    }
}

/// keepalived.conf global `log_unknown_vrids`: logs an advert for a VRID no instance has on
/// the socket's interface, at most once per second per VRID (keepalived logs every one).
fn log_unknown_vrid(
    logged: &mut std::collections::HashMap<u8, Instant>,
    ifindex: u32,
    vrid: u8,
    sender: IpAddr,
) {
    let now = Instant::now();
    if logged
        .get(&vrid)
        .is_some_and(|at| now.duration_since(*at) < UNKNOWN_VRID_EVERY)
    {
        return;
    }
    logged.insert(vrid, now);
    let interface = crate::net::interface::name_of(ifindex).unwrap_or_else(|_| ifindex.to_string());
    tracing::info!(
        interface,
        ifindex,
        vrid,
        %sender,
        "Unknown VRID({vrid}) received on interface({interface}). ignoring..."
    );
}

/// Least time between two `log_unknown_vrids` lines for one VRID on one socket.
const UNKNOWN_VRID_EVERY: Duration = Duration::from_secs(1);

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
    use crate::runtime::UnicastRx;

    fn route(peers: &[&str], unicast: UnicastRx, strict: bool) -> Route {
        let peers: Vec<IpAddr> = peers.iter().filter_map(|p| p.parse().ok()).collect();
        Route {
            slot: 0,
            name: Arc::from("T"),
            vrid: 1,
            auth: AuthConfig::None,
            options: DecodeOptions::default(),
            detect_old: None,
            replay: ReplayGuard::default(),
            policy: AcceptPolicy::from_parts(&peers, &unicast, strict),
            counters: Arc::default(),
            log_unknown: false,
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// Fails the first `failures` receives, then yields one valid advert, then nothing.
    struct Flaky {
        failures: std::sync::atomic::AtomicUsize,
        advert: Vec<u8>,
        delivered: std::sync::atomic::AtomicBool,
    }

    impl Datagrams for Flaky {
        fn ifindex(&self) -> u32 {
            7
        }

        async fn recv(&self, buf: &mut [u8]) -> Result<Received, SocketError> {
            use std::sync::atomic::Ordering;
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(SocketError {
                    ifindex: 7,
                    op: "recv",
                    source: std::io::Error::from_raw_os_error(libc::ENOBUFS),
                });
            }
            if self.delivered.swap(true, Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            let len = self.advert.len();
            buf.get_mut(..len)
                .ok_or_else(|| SocketError {
                    ifindex: 7,
                    op: "recv",
                    source: std::io::Error::from_raw_os_error(libc::EMSGSIZE),
                })?
                .copy_from_slice(&self.advert);
            Ok(Received {
                len,
                source: ip("10.0.0.2"),
                destination: None,
                hop_limit: None,
            })
        }
    }

    /// A failed `recvmsg` (here three ENOBUFS in a row) is retried: the advert that follows
    /// still reaches the protocol loop.
    #[tokio::test]
    async fn a_receive_error_does_not_end_the_task() {
        use crate::vrrp::packet::{
            AdvertSpec, ChecksumMode, Ipv4Options, Version, encode_ipv4_vec,
        };
        let vip = [ip("10.0.0.100")];
        let spec = AdvertSpec {
            version: Version::V3,
            vrid: 1,
            priority: 200,
            interval_cs: 100,
            addresses: &vip,
            auth: AuthConfig::None,
            ah_seq: 0,
            src: ip("10.0.0.2"),
            dst: ip("224.0.0.18"),
            checksum: ChecksumMode::PseudoHeader,
        };
        let advert = match encode_ipv4_vec(&spec, &Ipv4Options::keepalived(1)) {
            Ok(advert) => advert,
            Err(err) => panic!("encoding the test advert: {err}"),
        };
        let socket = Arc::new(Flaky {
            failures: 3.into(),
            advert,
            delivered: false.into(),
        });
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(run(
            socket,
            false,
            vec![route(&[], UnicastRx::default(), false)],
            9,
            tx,
            Arc::default(),
        ));
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        task.abort();
        match got {
            Ok(Some(inbound)) => {
                assert_eq!((inbound.generation, inbound.slot), (9, 0));
                assert_eq!(inbound.advert.priority, 200);
            }
            Ok(None) => panic!("the receive task ended on a receive error"),
            Err(_) => panic!("the advert after the errors never arrived"),
        }
    }

    /// Yields its datagrams in order, then nothing.
    struct Sequence(std::sync::Mutex<std::collections::VecDeque<Vec<u8>>>);

    impl Datagrams for Sequence {
        fn ifindex(&self) -> u32 {
            7
        }

        async fn recv(&self, buf: &mut [u8]) -> Result<Received, SocketError> {
            let next = self.0.lock().ok().and_then(|mut queue| queue.pop_front());
            let Some(packet) = next else {
                return std::future::pending().await;
            };
            let len = packet.len().min(buf.len());
            buf[..len].copy_from_slice(&packet[..len]);
            Ok(Received {
                len,
                source: ip("10.0.0.2"),
                destination: None,
                hop_limit: None,
            })
        }
    }

    /// A VRRPv3 advert from 10.0.0.2 to the unicast peer 10.0.0.1, in the RFC 5798 checksum
    /// form or keepalived's old one (`old_unicast_checksum`).
    fn unicast_advert(priority: u8, old: bool) -> Vec<u8> {
        use crate::vrrp::packet::{AdvertSpec, Ipv4Options, Version, encode_ipv4_vec};
        let vip = [ip("10.0.0.100")];
        let spec = AdvertSpec {
            version: Version::V3,
            vrid: 1,
            priority,
            interval_cs: 100,
            addresses: &vip,
            auth: AuthConfig::None,
            ah_seq: 0,
            src: ip("10.0.0.2"),
            dst: ip("10.0.0.1"),
            checksum: if old {
                ChecksumMode::OldUnicast(std::net::Ipv4Addr::new(224, 0, 0, 18))
            } else {
                ChecksumMode::PseudoHeader
            },
        };
        encode_ipv4_vec(&spec, &Ipv4Options::keepalived(1)).unwrap_or_default()
    }

    /// Runs a receive task with `route` over `packets`; returns (priority, old_checksum) of
    /// each advert that reached the protocol loop.
    async fn delivered(route: Route, packets: Vec<Vec<u8>>) -> Vec<(u8, bool)> {
        let socket = Arc::new(Sequence(std::sync::Mutex::new(packets.into())));
        let (tx, mut rx) = mpsc::channel(8);
        let task = tokio::spawn(run(socket, false, vec![route], 1, tx, Arc::default()));
        let mut got = Vec::new();
        while let Ok(Some(inbound)) =
            tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
        {
            got.push((inbound.advert.priority, inbound.old_checksum));
        }
        task.abort();
        got
    }

    /// keepalived's detection (`old_unicast_checksum` absent): the first old-form advert is
    /// accepted and switches the instance, which then refuses the RFC form.
    #[tokio::test]
    async fn old_checksum_is_detected_then_only_it_is_accepted() {
        let mut r = route(&["10.0.0.2"], UnicastRx::default(), false);
        r.detect_old = Some(ChecksumMode::OldUnicast(std::net::Ipv4Addr::new(
            224, 0, 0, 18,
        )));
        let packets = vec![
            unicast_advert(200, true),
            unicast_advert(150, false),
            unicast_advert(100, true),
        ];
        assert_eq!(delivered(r, packets).await, vec![(200, true), (100, false)]);
    }

    /// `old_unicast_checksum never`: no detection, the old form is refused.
    #[tokio::test]
    async fn never_refuses_the_old_checksum() {
        let r = route(&["10.0.0.2"], UnicastRx::default(), false);
        let packets = vec![unicast_advert(200, true), unicast_advert(150, false)];
        assert_eq!(delivered(r, packets).await, vec![(150, false)]);
    }

    #[test]
    fn refusals_are_counted_by_class() {
        let r = route(&[], UnicastRx::default(), false);
        assert!(matches!(
            r.admits(ip("10.0.0.2"), 254),
            Err((ErrorClass::Ttl, _))
        ));
        let r = route(&["10.0.0.2"], UnicastRx::default(), true);
        assert!(matches!(
            r.admits(ip("10.0.0.9"), 255),
            Err((ErrorClass::NotPeer, _))
        ));
        assert!(r.admits(ip("10.0.0.2"), 255).is_ok());
    }
}
