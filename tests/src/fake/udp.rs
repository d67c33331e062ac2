//! A fake UDP server for UDP_CHECK: an echo that keeps every datagram.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use tokio::net::UdpSocket;

/// Echoes every UDP datagram; counts them.
pub async fn udp_echo() -> Result<(u16, Arc<Mutex<Vec<Vec<u8>>>>)> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let port = socket.local_addr()?.port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buf[..n].to_vec());
            let _ = socket.send_to(&buf[..n], from).await;
        }
    });
    Ok((port, seen))
}
