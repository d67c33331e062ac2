//! The readers' thread: the control socket (`kad status`) and the metrics endpoint
//! (`--metrics-listen`) served on a thread and tokio runtime of their own.
//!
//! The protocol loop runs on a current-thread runtime; a reader's task on that runtime
//! waits for the loop to yield before it can even accept a connection, so a busy loop
//! would make `kad status` slow. On their own thread, readers accept and answer at once:
//! they ask the loop for a fresh snapshot, wait at most
//! [`FRESH_WAIT`](super::control::FRESH_WAIT) for it and otherwise answer with the last
//! one (see [`StatusHandle::fresh`]).

use std::{net::SocketAddr, path::PathBuf, sync::mpsc, thread};

use thiserror::Error;
use tokio::sync::oneshot;

use super::{control::ControlSocket, metrics};
use crate::status::StatusHandle;

/// What the readers' thread could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The thread or its runtime could not be created.
    #[error("starting the status thread: {0}")]
    Thread(#[source] std::io::Error),
    /// `--metrics-listen ADDR` could not be bound.
    #[error("--metrics-listen {address}: {source}")]
    Metrics {
        /// The address asked for.
        address: SocketAddr,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// The thread ended before saying whether it started.
    #[error("the status thread ended while starting")]
    Lost,
}

/// Where the readers listen.
#[derive(Clone, Debug)]
pub struct Listen {
    /// The control socket's path.
    pub control_socket: PathBuf,
    /// `--metrics-listen ADDR`, if given.
    pub metrics: Option<SocketAddr>,
}

/// The running readers' thread; stopped (socket file removed) when dropped.
#[derive(Debug)]
pub struct Readers {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Readers {
    /// Starts the thread and binds both listeners on it. A control socket that cannot be
    /// bound is logged and the daemon runs without it (VRRP matters more than `kad
    /// status`); a metrics address asked for that cannot be bound is an error.
    pub fn start(listen: Listen, status: StatusHandle) -> Result<Self, ServerError> {
        let (started_tx, started_rx) = mpsc::sync_channel(1);
        let (stop, stopped) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("kad-status".to_owned())
            .spawn(move || serve(listen, status, started_tx, stopped))
            .map_err(ServerError::Thread)?;
        let mut readers = Self {
            stop: Some(stop),
            thread: Some(thread),
        };
        match started_rx.recv() {
            Ok(Ok(())) => Ok(readers),
            Ok(Err(err)) => {
                readers.join();
                Err(err)
            }
            Err(_) => {
                readers.join();
                Err(ServerError::Lost)
            }
        }
    }

    fn join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the status thread panicked");
        }
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.join();
    }
}

/// The thread's body: binds, reports how that went, serves until told to stop.
fn serve(
    listen: Listen,
    status: StatusHandle,
    started: mpsc::SyncSender<Result<(), ServerError>>,
    stopped: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = started.send(Err(ServerError::Thread(err)));
            return;
        }
    };
    runtime.block_on(async move {
        let metrics = match listen.metrics {
            None => None,
            Some(address) => match metrics::bind(address).await {
                Ok(listener) => {
                    tracing::info!(%address, "serving Prometheus metrics at /metrics");
                    Some(tokio::spawn(metrics::serve(listener, status.clone())))
                }
                Err(source) => {
                    let _ = started.send(Err(ServerError::Metrics { address, source }));
                    return;
                }
            },
        };
        let control = match ControlSocket::bind(&listen.control_socket) {
            Ok(socket) => {
                tracing::info!(path = %socket.path().display(), "control socket ready");
                Some(tokio::spawn(socket.serve(status)))
            }
            Err(err) => {
                tracing::warn!(error = %err, "running without a control socket");
                None
            }
        };
        let _ = started.send(Ok(()));
        let _ = stopped.await;
        // Aborted tasks drop their listeners: the control socket's file goes with it.
        for task in [metrics, control].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use std::path::PathBuf;

    use super::*;
    use crate::status::status_channel;

    #[test]
    fn answers_while_the_caller_thread_is_blocked_and_removes_its_socket() {
        let dir = scratch_dir("answers");
        let path = dir.join("kad.sock");
        let (_publisher, status) = status_channel();
        let readers = Readers::start(
            Listen {
                control_socket: path.clone(),
                metrics: None,
            },
            status,
        )
        .expect("readers start");
        // This thread runs no runtime at all: the answer comes from the readers' thread,
        // after FRESH_WAIT without a fresh snapshot from the (absent) protocol loop.
        let started = Instant::now();
        let answer = crate::ops::control::query(&path, Duration::from_secs(5)).expect("answer");
        assert!(answer.contains("\"instances\""), "{answer}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(readers);
        assert!(!path.exists(), "socket file removed at stop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_metrics_address_in_use_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = taken.local_addr().expect("address");
        let dir = scratch_dir("metrics");
        let (_publisher, status) = status_channel();
        let err = Readers::start(
            Listen {
                control_socket: dir.join("kad.sock"),
                metrics: Some(address),
            },
            status,
        )
        .expect_err("address in use");
        assert!(matches!(err, ServerError::Metrics { .. }), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn scratch_dir(test: &str) -> PathBuf {
        std::env::temp_dir().join(format!("kad-readers-{test}-{}", std::process::id()))
    }
}
