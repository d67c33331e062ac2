//! Prometheus metrics (`--metrics-listen ADDR`, off by default): the status snapshot as
//! OpenMetrics text, served over plain HTTP at `/metrics` by a small tokio handler, within
//! [`LIMITS`] (connections at once, read and write deadlines, answers built at most 10
//! times a second; see [`super::limits`]).
//!
//! Every VRRP series carries the labels `instance`, `vrid`, `interface` and `family`
//! (`ipv4`/`ipv6`):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `kad_vrrp_state` | gauge | 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbering) |
//! | `kad_vrrp_priority` / `kad_vrrp_base_priority` | gauge | effective / configured priority |
//! | `kad_vrrp_adverts_received_total` / `_sent_total` | counter | adverts in / out |
//! | `kad_vrrp_priority_zero_received_total` / `_sent_total` | counter | priority-0 adverts |
//! | `kad_vrrp_receive_errors_total{class}` | counter | receive errors per class |
//! | `kad_vrrp_adverts_discarded_total{reason}` | counter | valid adverts the state machine ignored |
//! | `kad_vrrp_transitions_total{to}` | counter | transitions to `master`, `backup`, `fault` |
//! | `kad_vrrp_last_transition_timestamp_seconds` | gauge | Unix time of the last change |
//! | `kad_vrrp_master_down_interval_seconds` | gauge | RFC 5798 Master_Down_Interval |
//! | `kad_vrrp_vips_held` | gauge | virtual addresses held |
//! | `kad_vrrp_sync_group_state{sync_group}` | gauge | as `kad_vrrp_state` |
//! | `kad_xdp_packets_total{interface,reason}` | counter | the XDP program's verdicts |
//!
//!
//! When the LVS side runs (virtual servers configured, or `-C`), every virtual server's
//! series carry `virtual_server` (its name as logs show it: `TCP 10.0.0.1:80`, `fwmark 1`,
//! `group NAME`), real servers' add `real_server` (`IP:PORT`), checkers' add `checker` (the
//! keyword, e.g. `TCP_CHECK`) and `target` (what it probes):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `kad_ipvs_up` | gauge | 1 when IPVS is reached, 0 when the kernel has none (checkers still run) |
//! | `kad_virtual_server_quorum_up{virtual_server}` | gauge | 1 while the live weight holds `quorum` |
//! | `kad_virtual_server_alive_weight{virtual_server}` | gauge | weight of the live real servers |
//! | `kad_virtual_server_installed{virtual_server}` | gauge | 1 when IPVS has its service(s) |
//! | `kad_real_server_up{virtual_server,real_server}` | gauge | 1 when every checker passes |
//! | `kad_real_server_weight{…}` | gauge | `weight` as configured |
//! | `kad_real_server_effective_weight{…}` | gauge | weight given in IPVS (0 when inhibited or out) |
//! | `kad_real_server_installed{…}` | gauge | 1 when IPVS has it as a destination |
//! | `kad_real_server_last_transition_timestamp_seconds{…}` | gauge | Unix time it entered its state |
//! | `kad_checker_up{…,checker,target}` | gauge | 1 while the checker is up |
//! | `kad_checker_transitions_total{…,checker,target}` | counter | checker up/down changes since start |

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

use super::limits::{Cached, ConnectionCap, Limits, Refused};
use crate::status::{Status, StatusHandle, snapshot::IpvsState};

type Labels = Vec<(String, String)>;

/// How long a scrape waits for the protocol loop's fresh snapshot.
const FRESH_WAIT: Duration = Duration::from_millis(50);

/// keepalived's state numbering (`vrrp_t.state`), used by its SNMP MIB and exporters.
pub fn state_number(state: &str) -> i64 {
    match state {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

/// The metrics of `status` in the OpenMetrics text format.
pub fn render(status: &Status) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    let gauge = |registry: &mut Registry, name: &str, help: &str| {
        let family = Family::<Labels, Gauge>::default();
        registry.register(name, help, family.clone());
        family
    };
    let counter = |registry: &mut Registry, name: &str, help: &str| {
        let family = Family::<Labels, Counter>::default();
        registry.register(name, help, family.clone());
        family
    };
    let state = gauge(
        &mut registry,
        "kad_vrrp_state",
        "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT",
    );
    let priority = gauge(&mut registry, "kad_vrrp_priority", "Effective priority");
    let base = gauge(
        &mut registry,
        "kad_vrrp_base_priority",
        "Configured priority",
    );
    let received = counter(
        &mut registry,
        "kad_vrrp_adverts_received",
        "Valid adverts received",
    );
    let sent = counter(&mut registry, "kad_vrrp_adverts_sent", "Adverts sent");
    let zero_received = counter(
        &mut registry,
        "kad_vrrp_priority_zero_received",
        "Priority-0 adverts received",
    );
    let zero_sent = counter(
        &mut registry,
        "kad_vrrp_priority_zero_sent",
        "Priority-0 adverts sent",
    );
    let errors = counter(
        &mut registry,
        "kad_vrrp_receive_errors",
        "Received packets rejected, per error class",
    );
    let discarded = counter(
        &mut registry,
        "kad_vrrp_adverts_discarded",
        "Valid adverts ignored by the state machine, per reason",
    );
    let transitions = counter(
        &mut registry,
        "kad_vrrp_transitions",
        "State transitions, per new state",
    );
    let last_change = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    registry.register(
        "kad_vrrp_last_transition_timestamp_seconds",
        "Unix time of the last state transition",
        last_change.clone(),
    );
    let down = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    registry.register(
        "kad_vrrp_master_down_interval_seconds",
        "RFC 5798 Master_Down_Interval",
        down.clone(),
    );
    let vips = gauge(
        &mut registry,
        "kad_vrrp_vips_held",
        "Virtual addresses held",
    );
    let group_state = gauge(
        &mut registry,
        "kad_vrrp_sync_group_state",
        "Sync group state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT",
    );
    let xdp = counter(
        &mut registry,
        "kad_xdp_packets",
        "Packets seen by the XDP program per verdict reason, per interface",
    );

    balancer(&mut registry, status);

    let mut xdp_done = BTreeSet::new();
    for i in &status.instances {
        let labels: Labels = vec![
            ("instance".into(), i.name.clone()),
            ("vrid".into(), i.vrid.to_string()),
            ("interface".into(), i.interface.clone()),
            ("family".into(), i.family.clone()),
        ];
        let with = |key: &str, value: &str| {
            let mut labels = labels.clone();
            labels.push((key.to_owned(), value.to_owned()));
            labels
        };
        state.get_or_create(&labels).set(state_number(&i.state));
        priority
            .get_or_create(&labels)
            .set(i64::from(i.effective_priority));
        base.get_or_create(&labels).set(i64::from(i.base_priority));
        let c = &i.counters;
        received.get_or_create(&labels).inc_by(c.adverts_received);
        sent.get_or_create(&labels).inc_by(c.adverts_sent);
        zero_received
            .get_or_create(&labels)
            .inc_by(c.priority_zero_received);
        zero_sent
            .get_or_create(&labels)
            .inc_by(c.priority_zero_sent);
        for (class, count) in &c.receive_errors {
            errors.get_or_create(&with("class", class)).inc_by(*count);
        }
        for (reason, count) in &c.discarded {
            discarded
                .get_or_create(&with("reason", reason))
                .inc_by(*count);
        }
        for (to, count) in [
            ("master", c.became_master),
            ("backup", c.became_backup),
            ("fault", c.became_fault),
        ] {
            transitions.get_or_create(&with("to", to)).inc_by(count);
        }
        if let Some(t) = &i.last_transition {
            last_change
                .get_or_create(&labels)
                .set(t.at_unix_ms as f64 / 1000.0);
        }
        down.get_or_create(&labels)
            .set(i.timers.master_down_interval_ms as f64 / 1000.0);
        vips.get_or_create(&labels)
            .set(i64::try_from(i.vips_held.len()).unwrap_or(i64::MAX));
        if let Some(x) = &i.xdp
            && xdp_done.insert(i.interface.clone())
        {
            for (reason, count) in &x.counters {
                xdp.get_or_create(&vec![
                    ("interface".into(), i.interface.clone()),
                    ("reason".into(), reason.clone()),
                ])
                .inc_by(*count);
            }
        }
    }
    for g in &status.sync_groups {
        group_state
            .get_or_create(&vec![("sync_group".into(), g.name.clone())])
            .set(state_number(&g.state));
    }
    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

/// The virtual and real server series of `status` (none without an LVS side).
fn balancer(registry: &mut Registry, status: &Status) {
    if status.ipvs.state == IpvsState::Off && status.virtual_servers.is_empty() {
        return;
    }
    let gauge = |registry: &mut Registry, name: &str, help: &str| {
        let family = Family::<Labels, Gauge>::default();
        registry.register(name, help, family.clone());
        family
    };
    let ipvs = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
    registry.register(
        "kad_ipvs_up",
        "1 when the kernel's IPVS is reached, 0 when it is unavailable",
        ipvs.clone(),
    );
    let quorum = gauge(
        registry,
        "kad_virtual_server_quorum_up",
        "1 while the live real servers' weight holds the virtual server's quorum",
    );
    let alive = gauge(
        registry,
        "kad_virtual_server_alive_weight",
        "Sum of the weights of the live real servers",
    );
    let vs_installed = gauge(
        registry,
        "kad_virtual_server_installed",
        "1 when the kernel's IPVS table has every service of the virtual server",
    );
    let up = gauge(
        registry,
        "kad_real_server_up",
        "1 when every checker of the real server passes",
    );
    let weight = gauge(
        registry,
        "kad_real_server_weight",
        "Real server weight as configured",
    );
    let effective = gauge(
        registry,
        "kad_real_server_effective_weight",
        "Weight kad gives the real server in IPVS (0 when inhibited or out)",
    );
    let installed = gauge(
        registry,
        "kad_real_server_installed",
        "1 when the kernel's IPVS table has the real server as a destination",
    );
    let since = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    registry.register(
        "kad_real_server_last_transition_timestamp_seconds",
        "Unix time the real server entered its state (up or down)",
        since.clone(),
    );
    let checker_up = gauge(registry, "kad_checker_up", "1 while the checker is up");
    let transitions = Family::<Labels, Counter>::default();
    registry.register(
        "kad_checker_transitions",
        "Checker up/down transitions since start",
        transitions.clone(),
    );
    ipvs.set(i64::from(status.ipvs.state == IpvsState::Running));
    for vs in &status.virtual_servers {
        let labels: Labels = vec![("virtual_server".into(), vs.name.clone())];
        quorum.get_or_create(&labels).set(i64::from(vs.quorum_up));
        alive.get_or_create(&labels).set(vs.alive_weight);
        vs_installed
            .get_or_create(&labels)
            .set(i64::from(vs.installed));
        for rs in &vs.real_servers {
            let mut labels = labels.clone();
            labels.push(("real_server".into(), rs.address.clone()));
            up.get_or_create(&labels).set(i64::from(rs.up));
            weight.get_or_create(&labels).set(i64::from(rs.weight));
            effective
                .get_or_create(&labels)
                .set(i64::from(rs.effective_weight));
            installed
                .get_or_create(&labels)
                .set(i64::from(rs.installed));
            if let Some(at) = rs.since_unix_ms {
                since.get_or_create(&labels).set(at as f64 / 1000.0);
            }
            for c in &rs.checkers {
                let mut labels = labels.clone();
                labels.push(("checker".into(), c.kind.to_string()));
                labels.push(("target".into(), c.target.clone()));
                checker_up.get_or_create(&labels).set(i64::from(c.up));
                transitions.get_or_create(&labels).inc_by(c.transitions);
            }
        }
    }
}

/// Binds the metrics listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// The metrics endpoint's bounds: a scraper or two is the expected load; a client that
/// sends nothing is cut after 2 s, one that does not read after 5 s, and the exposition is
/// built at most 10 times a second (one snapshot from the protocol loop each time).
pub const LIMITS: Limits = Limits {
    max_connections: 64,
    read_timeout: Duration::from_secs(2),
    write_timeout: Duration::from_secs(5),
    refresh_every: Duration::from_millis(100),
};

/// Serves `GET /metrics` (anything else: 404) within [`LIMITS`] until the task is dropped.
pub async fn serve(listener: TcpListener, status: StatusHandle) {
    serve_limited(listener, status, LIMITS).await;
}

/// [`serve`] within `limits`.
pub async fn serve_limited(listener: TcpListener, status: StatusHandle, limits: Limits) {
    let cap = ConnectionCap::new(limits.max_connections);
    let cache = Arc::new(Cached::new(limits.refresh_every));
    let mut refused = Refused::default();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match cap.admit() {
                Some(permit) => {
                    let (status, cache) = (status.clone(), Arc::clone(&cache));
                    tokio::spawn(async move {
                        answer(stream, &status, &cache, limits).await;
                        drop(permit);
                    });
                }
                // Closed at once: over the cap, a connection holds no descriptor.
                None => refused.note(&peer.to_string(), limits.max_connections, "metrics"),
            },
            Err(err) => {
                tracing::warn!(error = %err, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Longest request head read.
const MAX_HEAD: usize = 8192;

async fn answer(
    mut stream: TcpStream,
    status: &StatusHandle,
    cache: &Cached<String>,
    limits: Limits,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(limits.read_timeout, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
        true
    })
    .await;
    if !matches!(read, Ok(true)) {
        return;
    }
    let request = String::from_utf8_lossy(&head);
    let mut words = request.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let response = if method != "GET" {
        Arc::new(reply("405 Method Not Allowed", "text/plain", "only GET\n"))
    } else if path != "/metrics" {
        Arc::new(reply("404 Not Found", "text/plain", "see /metrics\n"))
    } else {
        cache
            .get(|| async {
                let snapshot = status.fresh(FRESH_WAIT).await;
                match render(&snapshot) {
                    Ok(body) => reply(
                        "200 OK",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        &body,
                    ),
                    Err(_) => reply("500 Internal Server Error", "text/plain", "encoding\n"),
                }
            })
            .await
    };
    let write = tokio::time::timeout(limits.write_timeout, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    match write {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(error = %err, "metrics client left early"),
        Err(_) => tracing::debug!("metrics client did not read its answer in time; cut off"),
    }
}

fn reply(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::snapshot::InstanceStatus;

    /// A snapshot whose exposition is far larger than a socket's buffers (≈ 9 MB; TCP send
    /// buffers grow to 4 MB).
    fn big_status() -> Status {
        Status {
            instances: (0..8000)
                .map(|n| InstanceStatus {
                    name: format!("VI_{n}"),
                    vrid: 1,
                    interface: "eth0".into(),
                    family: "ipv4".into(),
                    state: "MASTER".into(),
                    ..InstanceStatus::default()
                })
                .collect(),
            ..Status::default()
        }
    }

    async fn server() -> (
        SocketAddr,
        crate::status::StatusPublisher,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|err| panic!("bind: {err}"));
        let address = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
        let (publisher, status) = crate::status::status_channel();
        (address, publisher, tokio::spawn(serve(listener, status)))
    }

    /// Issue 13: a client that sends its request and never reads held its connection (a
    /// descriptor and a task) for ever; now it is cut off at the write timeout, with only
    /// part of the answer sent.
    #[tokio::test(flavor = "current_thread")]
    async fn a_client_that_never_reads_is_cut_off() {
        let (address, publisher, server) = server().await;
        let status = big_status();
        let full = render(&status).map(|body| body.len()).unwrap_or(0);
        publisher.publish(status);
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .unwrap_or_else(|err| panic!("{err}"));
        socket
            .set_recv_buffer_size(4096)
            .unwrap_or_else(|err| panic!("{err}"));
        socket
            .connect(&address.into())
            .unwrap_or_else(|err| panic!("connect: {err}"));
        let mut client = std::net::TcpStream::from(socket);
        std::io::Write::write_all(&mut client, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap_or_else(|err| panic!("{err}"));
        client
            .set_nonblocking(true)
            .unwrap_or_else(|err| panic!("{err}"));
        let got =
            super::super::limits::read_as_a_stalled_client(&mut client, LIMITS.write_timeout).await;
        server.abort();
        assert!(full > 6_000_000, "the answer is large: {full} bytes");
        assert!(
            got.len() < full,
            "the answer was cut off: {} of {full} bytes",
            got.len()
        );
    }

    /// Issue 13: past the cap a connection is closed as soon as it is accepted (before, every
    /// idle client held a descriptor until the read timeout).
    #[tokio::test(flavor = "current_thread")]
    async fn connections_over_the_cap_are_closed_at_once() {
        let (address, _publisher, server) = server().await;
        let total = LIMITS.max_connections + 40;
        let mut clients = Vec::new();
        for _ in 0..total {
            clients.push(
                tokio::net::TcpStream::connect(address)
                    .await
                    .unwrap_or_else(|err| panic!("connect: {err}")),
            );
        }
        let closed = futures::future::join_all(clients.iter_mut().map(|client| async {
            let mut byte = [0u8; 1];
            matches!(
                tokio::time::timeout(Duration::from_secs(1), client.read(&mut byte)).await,
                Ok(Ok(0) | Err(_))
            )
        }))
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
        server.abort();
        assert_eq!(
            closed,
            total - LIMITS.max_connections,
            "every connection over the cap is closed within 1 s, none under it"
        );
    }

    #[test]
    fn renders_state_and_counters_with_labels() {
        let mut instance = InstanceStatus {
            name: "VI_1".into(),
            vrid: 51,
            interface: "eth0".into(),
            family: "ipv4".into(),
            state: "MASTER".into(),
            ..InstanceStatus::default()
        };
        instance.counters.adverts_sent = 42;
        let status = Status {
            instances: vec![instance],
            ..Status::default()
        };
        let text = render(&status).unwrap_or_default();
        assert!(
            text.contains(
                r#"kad_vrrp_state{instance="VI_1",vrid="51",interface="eth0",family="ipv4"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"kad_vrrp_adverts_sent_total{instance="VI_1",vrid="51",interface="eth0",family="ipv4"} 42"#
            ),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
        assert!(
            !text.contains("kad_ipvs_up"),
            "no LVS series without an LVS side"
        );
    }

    #[test]
    fn renders_virtual_and_real_servers() {
        use crate::status::snapshot::{
            CheckerStatus, IpvsStatus, RealServerStatus, VirtualServerStatus,
        };
        let status = Status {
            ipvs: IpvsStatus {
                state: IpvsState::Unavailable,
                error: None,
            },
            virtual_servers: vec![VirtualServerStatus {
                name: "TCP 10.0.0.100:80".into(),
                quorum_up: true,
                alive_weight: 3,
                real_servers: vec![RealServerStatus {
                    address: "10.0.0.2:80".into(),
                    weight: 3,
                    effective_weight: 3,
                    up: true,
                    checkers: vec![CheckerStatus {
                        kind: "HTTP_GET".into(),
                        target: "10.0.0.2:80".into(),
                        up: true,
                        transitions: 2,
                        ..CheckerStatus::default()
                    }],
                    ..RealServerStatus::default()
                }],
                ..VirtualServerStatus::default()
            }],
            ..Status::default()
        };
        let text = render(&status).unwrap_or_default();
        let rs = r#"virtual_server="TCP 10.0.0.100:80",real_server="10.0.0.2:80""#;
        for line in [
            "kad_ipvs_up 0".to_owned(),
            r#"kad_virtual_server_quorum_up{virtual_server="TCP 10.0.0.100:80"} 1"#.to_owned(),
            format!("kad_real_server_up{{{rs}}} 1"),
            format!("kad_real_server_effective_weight{{{rs}}} 3"),
            format!("kad_real_server_installed{{{rs}}} 0"),
            format!(
                r#"kad_checker_transitions_total{{{rs},checker="HTTP_GET",target="10.0.0.2:80"}} 2"#
            ),
        ] {
            assert!(text.contains(&line), "{line}\n{text}");
        }
    }
}
