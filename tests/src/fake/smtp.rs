//! A fake SMTP server for SMTP_CHECK: a greeting, `250` to HELO, and the HELO lines it saw.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Result;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::TcpListener,
};

/// An SMTP listener: `greeting` first, `250` to HELO; records the HELO lines.
pub async fn smtp_server(greeting: &'static str) -> Result<(u16, Arc<Mutex<Vec<String>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let helos = Arc::new(Mutex::new(Vec::new()));
    let log = helos.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                let _ = write.write_all(greeting.as_bytes()).await;
                let mut line = String::new();
                if read.read_line(&mut line).await.is_ok() && line.starts_with("HELO ") {
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(line.trim_end().to_owned());
                    let _ = write.write_all(b"250 hello\r\n").await;
                    let mut quit = String::new();
                    let _ = read.read_line(&mut quit).await;
                    let _ = write.write_all(b"221 bye\r\n").await;
                }
            });
        }
    });
    Ok((port, helos))
}
