//! A lab tool, not kad's runtime: one kad-bfd session on plain UDP sockets (RFC 5881 single
//! hop, TTL 255), to check the core against a real peer (keepalived's `bfd_instance`, FRR
//! `bfdd`) in a network namespace. Prints every state change and, at the end, the status.
//!
//! `cargo run -p kad-bfd --example bfd_peer -- LOCAL_IP PEER_IP [--tx MS] [--rx MS]
//! [--mult N] [--secs S] [--passive] [--reconfigure-at S --tx2 MS --rx2 MS]
//! [--admin-down-at S]`

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use kad_bfd::packet::{ControlPacket, PORT_SINGLE_HOP, SOURCE_PORTS};
use kad_bfd::session::{Output, Session, SessionConfig};

struct Args {
    local: IpAddr,
    peer: IpAddr,
    config: SessionConfig,
    secs: f64,
    reconfigure: Option<(f64, SessionConfig)>,
    admin_down_at: Option<f64>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let ip = |s: Option<String>| -> Result<IpAddr, String> {
        s.ok_or("LOCAL_IP PEER_IP needed")?
            .parse()
            .map_err(|e| format!("{e}"))
    };
    let local = ip(it.next())?;
    let peer = ip(it.next())?;
    let mut config = SessionConfig::default();
    let (mut secs, mut at, mut tx2, mut rx2, mut admin) = (10.0, None, None, None, None);
    while let Some(flag) = it.next() {
        if flag == "--passive" {
            config.passive = true;
            continue;
        }
        let value: f64 = it
            .next()
            .ok_or(format!("{flag} needs a value"))?
            .parse()
            .map_err(|e| format!("{flag}: {e}"))?;
        let ms = Duration::from_secs_f64(value / 1000.0);
        match flag.as_str() {
            "--tx" => config.desired_min_tx = ms,
            "--rx" => config.required_min_rx = ms,
            "--mult" => config.detect_mult = value as u8,
            "--secs" => secs = value,
            "--reconfigure-at" => at = Some(value),
            "--tx2" => tx2 = Some(ms),
            "--rx2" => rx2 = Some(ms),
            "--admin-down-at" => admin = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let reconfigure = at.map(|at| {
        let new = SessionConfig {
            desired_min_tx: tx2.unwrap_or(config.desired_min_tx),
            required_min_rx: rx2.unwrap_or(config.required_min_rx),
            ..config
        };
        (at, new)
    });
    Ok(Args {
        local,
        peer,
        config,
        secs,
        reconfigure,
        admin_down_at: admin,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let rx = UdpSocket::bind(SocketAddr::new(args.local, PORT_SINGLE_HOP))?;
    let tx = UdpSocket::bind(SocketAddr::new(args.local, *SOURCE_PORTS.start() + 77))?;
    tx.set_ttl(255)?;
    let peer = SocketAddr::new(args.peer, PORT_SINGLE_HOP);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.secs);
    let discriminator = std::process::id() | 0x4b00_0000;
    let mut session = Session::new(args.config, discriminator, u64::from(discriminator), start);
    let mut reconfigure = args.reconfigure;
    let mut admin_down_at = args.admin_down_at;
    let handle = |out: Output, session: &Session| -> std::io::Result<()> {
        let t = start.elapsed().as_secs_f64();
        if let Some(change) = out.change {
            println!(
                "{t:9.4} {} -> {} (diag {}) tx {:?} detect {:?}",
                change.from,
                change.to,
                change.diag,
                session.tx_interval(),
                session.detect_time()
            );
        }
        if let Some(packet) = out.send {
            if packet.poll || packet.final_ {
                println!(
                    "{t:9.4} sent {}",
                    if packet.poll { "Poll" } else { "Final" }
                );
            }
            tx.send_to(&packet.encode(), peer)?;
        }
        Ok(())
    };
    // A receiving thread and a channel: the main loop waits with a futex timeout
    // (SO_RCVTIMEO is rounded to jiffies, too coarse at 10 ms intervals).
    let (queue, packets) = std::sync::mpsc::channel();
    let peer_ip = args.peer;
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok((n, from)) = rx.recv_from(&mut buf) {
            let bytes = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
            if from.ip() == peer_ip && queue.send((Instant::now(), bytes)).is_err() {
                break;
            }
        }
    });
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let elapsed = (now - start).as_secs_f64();
        if let Some((at, config)) = reconfigure.filter(|(at, _)| elapsed >= *at) {
            println!("{elapsed:9.4} reconfigure at {at} s: {config:?}");
            handle(session.reconfigure(now, config), &session)?;
            reconfigure = None;
        }
        if admin_down_at.is_some_and(|at| elapsed >= at) {
            println!("{elapsed:9.4} admin down");
            handle(session.admin_down(now), &session)?;
            admin_down_at = None;
        }
        let wait = session
            .next_deadline()
            .unwrap_or(now + Duration::from_millis(100))
            .min(end)
            .saturating_duration_since(now)
            .max(Duration::from_micros(50));
        match packets.recv_timeout(wait) {
            Ok((now, bytes)) => match ControlPacket::decode(&bytes) {
                Ok(packet) => {
                    if packet.poll || packet.final_ {
                        let t = (now - start).as_secs_f64();
                        let flag = if packet.poll { "Poll" } else { "Final" };
                        println!("{t:9.4} received {flag}: {packet:?}");
                    }
                    handle(session.receive(now, &packet), &session)?;
                }
                Err(err) => println!("dropped: {err}"),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(err) => return Err(err.into()),
        }
        handle(session.timeout(Instant::now()), &session)?;
    }
    println!("{:#?}", session.status());
    Ok(())
}
