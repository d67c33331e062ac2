//! A fake HTTP/1.1 server (and its TLS twin with a self-signed certificate) that answers
//! every request with one status and body and records what it was asked (HTTP_GET, SSL_GET,
//! genhash).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use anyhow::Result;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::TcpListener,
};

/// What the HTTP server answers and what it saw.
#[derive(Default)]
pub struct HttpState {
    pub status: u16,
    pub body: String,
    /// Every request: (when, status served, Host header).
    pub requests: Vec<(Instant, u16, String)>,
    /// Every TLS server name seen (SNI).
    pub sni: Vec<Option<String>>,
    /// Every request's head as it came, request line to blank line included.
    pub heads: Vec<String>,
    /// A status of its own for a path (the request line's target), instead of `status`.
    pub status_of: HashMap<String, u16>,
    /// Every request: (when, path, status served).
    pub gets: Vec<(Instant, String, u16)>,
}

/// The state an HTTP server and its test share.
pub type Shared = Arc<Mutex<HttpState>>;

/// A server state answering `status` with `body`.
pub fn http_state(status: u16, body: &str) -> Shared {
    Arc::new(Mutex::new(HttpState {
        status,
        body: body.to_owned(),
        ..HttpState::default()
    }))
}

/// Locks the server's state (a panicked server task does not hide what it saw).
pub fn lock(state: &Shared) -> std::sync::MutexGuard<'_, HttpState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves one HTTP/1.1 request on `stream`.
pub async fn serve_http<S>(stream: S, state: Shared)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    let mut host = String::new();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match read.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        head.push_str(&line);
        if let Some(h) = line
            .strip_prefix("Host: ")
            .or_else(|| line.strip_prefix("host: "))
        {
            host = h.trim().to_owned();
        }
        if line == "\r\n" {
            break;
        }
    }
    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
    let (status, body) = {
        let mut s = lock(&state);
        let status = s.status_of.get(&path).copied().unwrap_or(s.status);
        let answer = (status, s.body.clone());
        let now = Instant::now();
        s.requests.push((now, answer.0, host));
        s.gets.push((now, path, status));
        s.heads.push(head);
        answer
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = write.write_all(response.as_bytes()).await;
    let _ = write.shutdown().await;
}

/// An HTTP/1.1 server on 127.0.0.1 (a free port, returned) serving `state`.
pub async fn http_server(state: Shared) -> Result<u16> {
    http_server_on("127.0.0.1:0", state).await
}

/// An HTTP/1.1 server on `bind` (port 0: a free one; the port is returned).
pub async fn http_server_on(bind: &str, state: Shared) -> Result<u16> {
    let listener = TcpListener::bind(bind).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_http(stream, state.clone()));
        }
    });
    Ok(port)
}

/// An HTTPS server on 127.0.0.1 with a self-signed certificate for `check.test`, recording
/// each connection's SNI; returns its port.
pub async fn tls_server(state: Shared) -> Result<u16> {
    let cert = rcgen::generate_simple_self_signed(vec!["check.test".to_owned()])?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let state = state.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let sni = tls.get_ref().1.server_name().map(str::to_owned);
                    lock(&state).sni.push(sni);
                    serve_http(tls, state).await;
                }
            });
        }
    });
    Ok(port)
}
