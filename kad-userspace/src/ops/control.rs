//! The control socket: a Unix stream socket, mode 0600 (root only), through which
//! `kad status` asks the daemon for its status.
//!
//! Protocol: the client sends one line, `status`, and reads the daemon's answer (the status
//! as one JSON document, see `docs/status.schema.json`) until the daemon closes the
//! connection. Any other request is answered with `{"error": "..."}`.

use std::{
    io::{Read as _, Write as _},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    time::Duration,
};

use thiserror::Error;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{UnixListener, UnixStream},
};

use super::StatusHandle;

/// Folder of the default control socket.
pub const DEFAULT_DIR: &str = "/run/kad";

/// How long the daemon waits for the protocol loop's fresh snapshot before answering with
/// the last one (the answer must come within 10 ms even while the loop is busy).
pub const FRESH_WAIT: Duration = Duration::from_millis(5);

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

    /// Answers clients until the task is dropped; each connection is served by its own task.
    pub async fn serve(self, status: StatusHandle) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, status.clone()));
                }
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

async fn answer(stream: UnixStream, status: StatusHandle) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST));
    let read = tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut line)).await;
    let body = match read {
        Ok(Ok(_)) if line.trim() == "status" => {
            let snapshot = status.fresh(FRESH_WAIT).await;
            serde_json::to_string(&*snapshot).unwrap_or_else(|err| error_json(&err.to_string()))
        }
        Ok(Ok(_)) => error_json(&format!("unknown request {:?}", line.trim())),
        Ok(Err(err)) => error_json(&err.to_string()),
        Err(_) => error_json("no request within 2 s"),
    };
    if let Err(err) = write.write_all(body.as_bytes()).await {
        tracing::debug!(error = %err, "control socket client left early");
    }
    let _ = write.shutdown().await;
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
    fn default_path_follows_the_config_id() {
        assert_eq!(default_path(None), Path::new("/run/kad/kad.sock"));
        assert_eq!(
            default_path(Some("lb1")),
            Path::new("/run/kad/kad-lb1.sock")
        );
        assert_eq!(default_path(Some("a/b")), Path::new("/run/kad/kad.sock"));
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
        let (publisher, handle) = super::super::status_channel();
        publisher.publish(super::super::Status {
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
