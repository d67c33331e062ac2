//! The control socket: a Unix stream socket, mode 0600 (root only), through which
//! `kad status` asks the daemon for its status.
//!
//! Protocol: the client sends one line, `status`, and reads the daemon's answer (the status
//! as one JSON document, see `docs/status.schema.json`) until the daemon closes the
//! connection. Any other request is answered with `{"error": "..."}`. The socket serves
//! within [`LIMITS`] (see [`super::limits`]).

use std::{
    io::{Read as _, Write as _},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use thiserror::Error;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{UnixListener, UnixStream},
};

use super::limits::{Cached, ConnectionCap, Limits, Refused};
use crate::status::StatusHandle;

/// Folder of the default control socket.
pub const DEFAULT_DIR: &str = "/run/kad";

/// How long the daemon waits for the protocol loop's fresh snapshot before answering with
/// the last one (the answer must come within 10 ms even while the loop is busy).
pub const FRESH_WAIT: Duration = Duration::from_millis(5);

/// The control socket's bounds: `kad status` and a monitoring agent or two are the expected
/// load; a client that sends nothing is cut after 2 s (as before), one that does not read
/// after 5 s, and a snapshot is asked of the protocol loop at most 20 times a second.
pub const LIMITS: Limits = Limits {
    max_connections: 16,
    read_timeout: Duration::from_secs(2),
    write_timeout: Duration::from_secs(5),
    refresh_every: Duration::from_millis(50),
};

/// What can go wrong with the control socket.
#[derive(Debug, Error)]
pub enum ControlError {
    /// The socket could not be created.
    #[error("control socket {path}: {source}")]
    Bind {
        /// Its path.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// Another daemon answers on this path.
    #[error("control socket {0}: another kad answers there")]
    InUse(PathBuf),
    /// The client could not reach the daemon.
    #[error("cannot reach kad at {path}: {source}")]
    Connect {
        /// The socket's path.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The exchange with the daemon failed.
    #[error("talking to kad at {path}: {source}")]
    Exchange {
        /// The socket's path.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
}

/// The default path: `/run/kad/kad.sock`, or `/run/kad/kad-ID.sock` with `-i ID`, so that
/// daemons started with different config ids (one per namespace, say) do not collide.
pub fn default_path(config_id: Option<&str>) -> PathBuf {
    let name = match config_id {
        Some(id) if !id.is_empty() && !id.contains('/') => format!("kad-{id}.sock"),
        _ => "kad.sock".to_owned(),
    };
    Path::new(DEFAULT_DIR).join(name)
}

/// A bound control socket; its file is removed when dropped.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Binds `path` with mode 0600, creating its folder (0755) if needed. A stale socket
    /// left by a dead daemon is replaced; one a live daemon answers on is not.
    pub fn bind(path: &Path) -> Result<Self, ControlError> {
        let bind_error = |source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(bind_error)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .map_err(bind_error)?;
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(ControlError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(bind_error)?;
        }
        let listener = UnixListener::bind(path).map_err(bind_error)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(bind_error)?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers clients within [`LIMITS`] until the task is dropped; each connection is
    /// served by its own task.
    pub async fn serve(self, status: StatusHandle) {
        self.serve_limited(status, LIMITS).await;
    }

    /// [`ControlSocket::serve`] within `limits`.
    pub async fn serve_limited(self, status: StatusHandle, limits: Limits) {
        let cap = ConnectionCap::new(limits.max_connections);
        let cache = Arc::new(Cached::new(limits.refresh_every));
        let mut refused = Refused::default();
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => match cap.admit() {
                    Some(permit) => {
                        let (status, cache) = (status.clone(), Arc::clone(&cache));
                        tokio::spawn(async move {
                            answer(stream, &status, &cache, limits).await;
                            drop(permit);
                        });
                    }
                    None => refused.note(
                        &self.path.display().to_string(),
                        limits.max_connections,
                        "control socket",
                    ),
                },
                Err(err) => {
                    tracing::warn!(path = %self.path.display(), error = %err, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Longest request line accepted.
const MAX_REQUEST: u64 = 256;

/// What a control-socket client may ask: one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// `status`: the whole status snapshot as JSON (`kad status`).
    Status,
}

/// A request line that names no [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown request {0:?}")]
pub struct UnknownRequest(pub String);

impl UnknownRequest {
    /// The JSON answer its client gets (`{"error": "unknown request …"}`).
    pub fn answer(&self) -> String {
        error_json(&self.to_string())
    }
}

/// Reads one request line (blanks around it ignored).
pub fn parse_request(line: &[u8]) -> Result<Request, UnknownRequest> {
    let text = String::from_utf8_lossy(line);
    match text.trim() {
        "status" => Ok(Request::Status),
        other => Err(UnknownRequest(other.to_owned())),
    }
}

async fn answer(stream: UnixStream, status: &StatusHandle, cache: &Cached<String>, limits: Limits) {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST));
    let read = tokio::time::timeout(limits.read_timeout, reader.read_until(b'\n', &mut line)).await;
    let body = match read.map(|read| read.map(|_| parse_request(&line))) {
        Ok(Ok(Ok(Request::Status))) => {
            cache
                .get(|| async {
                    let snapshot = status.fresh(FRESH_WAIT).await;
                    serde_json::to_string(&*snapshot)
                        .unwrap_or_else(|err| error_json(&err.to_string()))
                })
                .await
        }
        Ok(Ok(Err(unknown))) => Arc::new(unknown.answer()),
        Ok(Err(err)) => Arc::new(error_json(&err.to_string())),
        Err(_) => Arc::new(error_json(&format!(
            "no request within {} ms",
            limits.read_timeout.as_millis()
        ))),
    };
    let written = tokio::time::timeout(limits.write_timeout, async {
        write.write_all(body.as_bytes()).await?;
        write.shutdown().await
    })
    .await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(error = %err, "control socket client left early"),
        Err(_) => tracing::debug!("control socket client did not read its answer in time; cut off"),
    }
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// `kad status`: asks the daemon at `path` for its status; returns the JSON text.
pub fn query(path: &Path, timeout: Duration) -> Result<String, ControlError> {
    let exchange = |source| ControlError::Exchange {
        path: path.to_path_buf(),
        source,
    };
    let mut stream =
        std::os::unix::net::UnixStream::connect(path).map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    stream.set_read_timeout(Some(timeout)).map_err(exchange)?;
    stream.set_write_timeout(Some(timeout)).map_err(exchange)?;
    stream.write_all(b"status\n").map_err(exchange)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(exchange)?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_one_word_between_blanks() {
        assert_eq!(parse_request(b" status \n"), Ok(Request::Status));
        let unknown = parse_request(b"stats\n");
        assert_eq!(unknown, Err(UnknownRequest("stats".into())));
        let answer = UnknownRequest("stats".into()).answer();
        let json: Result<serde_json::Value, _> = serde_json::from_str(&answer);
        assert_eq!(
            json.ok()
                .and_then(|j| j["error"].as_str().map(str::to_owned)),
            Some("unknown request \"stats\"".to_owned())
        );
        assert_eq!(
            unknown.map_err(|e| e.to_string()),
            Err("unknown request \"stats\"".into())
        );
    }

    #[test]
    fn default_path_follows_the_config_id() {
        assert_eq!(default_path(None), Path::new("/run/kad/kad.sock"));
        assert_eq!(
            default_path(Some("lb1")),
            Path::new("/run/kad/kad-lb1.sock")
        );
        assert_eq!(default_path(Some("a/b")), Path::new("/run/kad/kad.sock"));
    }

    fn scratch(test: &str) -> PathBuf {
        std::env::temp_dir().join(format!("kad-control-{test}-{}", std::process::id()))
    }

    /// A status whose JSON is far larger than a Unix socket's buffers (≈ 2 MB).
    fn big_status() -> crate::status::Status {
        crate::status::Status {
            instances: (0..3000)
                .map(|n| crate::status::snapshot::InstanceStatus {
                    name: format!("VI_{n}"),
                    state: "MASTER".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Issue 13: a client that asks and never reads is cut off at the write timeout (before,
    /// it held its connection for ever).
    #[tokio::test(flavor = "current_thread")]
    async fn a_client_that_never_reads_is_cut_off() {
        let dir = scratch("slow");
        let path = dir.join("t.sock");
        let socket = ControlSocket::bind(&path).unwrap_or_else(|err| panic!("bind: {err}"));
        let (publisher, handle) = crate::status::status_channel();
        let status = big_status();
        let full = serde_json::to_string(&status).map(|s| s.len()).unwrap_or(0);
        publisher.publish(status);
        let server = tokio::spawn(socket.serve(handle));
        let mut client = std::os::unix::net::UnixStream::connect(&path)
            .unwrap_or_else(|err| panic!("connect: {err}"));
        client
            .write_all(b"status\n")
            .unwrap_or_else(|err| panic!("{err}"));
        client
            .set_nonblocking(true)
            .unwrap_or_else(|err| panic!("{err}"));
        let got =
            super::super::limits::read_as_a_stalled_client(&mut client, LIMITS.write_timeout).await;
        server.abort();
        let _ = server.await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(full > 1_000_000, "the answer is large: {full} bytes");
        assert!(
            got.len() < full,
            "the answer was cut off: {} of {full} bytes",
            got.len()
        );
    }

    /// Issue 13: past the cap a connection is closed as soon as it is accepted.
    #[tokio::test(flavor = "current_thread")]
    async fn connections_over_the_cap_are_closed_at_once() {
        let dir = scratch("cap");
        let path = dir.join("t.sock");
        let socket = ControlSocket::bind(&path).unwrap_or_else(|err| panic!("bind: {err}"));
        let (_publisher, handle) = crate::status::status_channel();
        let server = tokio::spawn(socket.serve(handle));
        let total = LIMITS.max_connections + 10;
        let mut clients = Vec::new();
        for _ in 0..total {
            clients.push(
                tokio::net::UnixStream::connect(&path)
                    .await
                    .unwrap_or_else(|err| panic!("connect: {err}")),
            );
        }
        let closed = futures::future::join_all(clients.iter_mut().map(|client| async {
            let mut byte = [0u8; 1];
            matches!(
                tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::io::AsyncReadExt::read(client, &mut byte)
                )
                .await,
                Ok(Ok(0) | Err(_))
            )
        }))
        .await
        .into_iter()
        .filter(|closed| *closed)
        .count();
        server.abort();
        let _ = server.await;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            closed,
            total - LIMITS.max_connections,
            "every connection over the cap is closed within 1 s, none under it"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn answers_status_with_json_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("kad-control-{}", std::process::id()));
        let path = dir.join("t.sock");
        let socket = match ControlSocket::bind(&path) {
            Ok(socket) => socket,
            Err(err) => panic!("bind: {err}"),
        };
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let (publisher, handle) = crate::status::status_channel();
        publisher.publish(crate::status::Status {
            version: "test".into(),
            ..Default::default()
        });
        let server = tokio::spawn(socket.serve(handle));
        let client_path = path.clone();
        let answer =
            tokio::task::spawn_blocking(move || query(&client_path, Duration::from_secs(2)))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
        let answer = answer.unwrap_or_else(|err| panic!("{err}"));
        let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        assert_eq!(value["version"], "test", "{answer}");
        assert!(
            value["virtual_servers"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );

        let mut raw = tokio::net::UnixStream::connect(&path)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        raw.write_all(b"reboot\n").await.unwrap_or_default();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut raw, &mut text)
            .await
            .unwrap_or_default();
        assert!(text.contains("error"), "{text}");
        server.abort();
        let _ = server.await;
        assert!(!path.exists(), "the socket file goes with the server");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
