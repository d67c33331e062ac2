//! What a reader of the control socket or the metrics endpoint may cost the daemon (issue
//! 13): a cap on connections open at once, a deadline on reading the request and on writing
//! the answer, and answers built at most a few times a second, the rest served from a cache.
//!
//! Without them a client that connects and never sends, or sends and never reads, held a
//! descriptor (and a task) for as long as it liked: a few hundred such clients a second
//! exhausted the process's descriptors, and then every checker's socket failed. And every
//! request woke the protocol loop for a fresh snapshot.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{
    sync::{Mutex, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

/// The bounds of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once ([`ConnectionCap`]).
    pub max_connections: usize,
    /// How long a client has to send its whole request.
    pub read_timeout: Duration,
    /// How long the answer may take to write (a client that does not read is cut off).
    pub write_timeout: Duration,
    /// Answers are built (a snapshot asked of the protocol loop, then encoded) at most once
    /// per this; requests in between are answered from the cache.
    pub refresh_every: Duration,
}

/// How many connections one listener serves at once; past that a new connection is closed
/// as soon as it is accepted, so it never holds a descriptor.
#[derive(Clone, Debug)]
pub struct ConnectionCap {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ConnectionCap {
    /// A cap of `limit` connections.
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A place for one more connection, held until the permit is dropped; `None` when
    /// `limit` are open.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.permits).try_acquire_owned().ok()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.limit - self.permits.available_permits()
    }
}

/// Connections closed for being over the cap, logged at most once every 10 s (a flood of
/// them must not become a flood of log lines).
#[derive(Debug, Default)]
pub struct Refused {
    since_log: u64,
    logged: Option<Instant>,
}

impl Refused {
    /// One more connection from `peer` refused by `listener` (at `limit` open).
    pub fn note(&mut self, peer: &str, limit: usize, listener: &'static str) {
        self.since_log += 1;
        if self
            .logged
            .is_some_and(|at| at.elapsed() < Duration::from_secs(10))
        {
            return;
        }
        tracing::warn!(
            listener,
            peer,
            limit,
            refused = self.since_log,
            "connections over the cap closed (count since the last such line)"
        );
        self.since_log = 0;
        self.logged = Some(Instant::now());
    }
}

/// A value built at most once per `every`; requests in between get the last one, and
/// requests that arrive while it is being built wait for that build instead of starting
/// their own.
#[derive(Debug)]
pub struct Cached<T> {
    every: Duration,
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Cached<T> {
    /// A cache that builds at most once per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            slot: Mutex::new(None),
        }
    }

    /// The cached value if it is younger than `every`, else a new one from `build`.
    pub async fn get<F, Fut>(&self, build: F) -> Arc<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < self.every
        {
            return Arc::clone(value);
        }
        let value = Arc::new(build().await);
        *slot = Some((Instant::now(), Arc::clone(&value)));
        value
    }
}

/// For the tests of the servers that use these limits: reads `client` (non-blocking) as a
/// client that asked and then stalled: the first bytes once the answer is being written, then
/// nothing for `write_timeout` + 2 s, then whatever is left for 3 s. Returns what it read.
#[cfg(test)]
pub(crate) async fn read_as_a_stalled_client(
    client: &mut impl std::io::Read,
    write_timeout: Duration,
) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    // The first bytes: the answer is built (slow on a loaded machine) and being written.
    let building = std::time::Instant::now() + Duration::from_secs(60);
    while got.is_empty() && std::time::Instant::now() < building {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    tokio::time::sleep(write_timeout + Duration::from_secs(2)).await;
    // Now read: a server still writing would hand over the whole answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_) => break,
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn the_cap_admits_up_to_its_limit_and_frees_on_drop() {
        let cap = ConnectionCap::new(2);
        let a = cap.admit();
        let b = cap.admit();
        assert!(a.is_some() && b.is_some());
        assert!(cap.admit().is_none());
        assert_eq!(cap.open(), 2);
        drop(a);
        assert_eq!(cap.open(), 1);
        assert!(cap.admit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn builds_at_most_once_per_interval() {
        let cache = Cached::new(Duration::from_millis(100));
        let builds = AtomicUsize::new(0);
        let build = || async {
            builds.fetch_add(1, Ordering::Relaxed);
        };
        for _ in 0..50 {
            cache.get(build).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // 500 ms of requests every 10 ms: one build per 100 ms.
        assert_eq!(builds.load(Ordering::Relaxed), 5);
    }
}
