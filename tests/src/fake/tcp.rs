//! Fake TCP servers: one that holds connections unanswered, one that counts them, one that
//! records their source addresses, and a port that refuses (TCP_CHECK, connect_timeout,
//! bindto).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use anyhow::Result;
use tokio::net::TcpListener;

/// Accepts and holds every connection, never answering; counts them.
pub async fn blackhole() -> Result<(u16, Arc<Mutex<Vec<Instant>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Instant::now());
            held.push(stream);
        }
    });
    Ok((port, seen))
}

/// A TCP port nobody listens on (bound, then closed).
pub async fn refusing_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?.port())
}

/// Counts accepted TCP connections (and closes them).
pub async fn tcp_counter() -> Result<(u16, Arc<Mutex<Vec<Instant>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Instant::now());
        }
    });
    Ok((port, seen))
}

/// How many connections a server saw.
pub fn count(log: &Arc<Mutex<Vec<Instant>>>) -> usize {
    log.lock().unwrap_or_else(PoisonError::into_inner).len()
}

/// Records the peer address of every TCP connection.
pub async fn peer_recorder() -> Result<(u16, Arc<Mutex<Vec<SocketAddr>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((_stream, peer)) = listener.accept().await {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(peer);
        }
    });
    Ok((port, seen))
}

/// A TCP listener bound inside a lab host's namespace, accepting (and dropping) connections
/// on its own thread until dropped: a real server a TCP_CHECK finds up.
pub struct NsListener {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsListener {
    /// Listens on `addr` (`IP:PORT`) inside `lab`'s host `host`.
    pub fn start(lab: &crate::lab::Lab, host: &str, addr: &str) -> Result<Self> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let addr = addr.to_owned();
        let listener = lab
            .host(host)?
            .ns
            .run(move || Ok(std::net::TcpListener::bind(&addr)?))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for NsListener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
