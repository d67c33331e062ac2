//! The runtime's monotonic clock, in the core's [`Timestamp`] units.

use std::time::Duration;

use tokio::time::Instant;

use crate::vrrp::fsm::Timestamp;

/// Maps tokio's monotonic [`Instant`] to the core's [`Timestamp`] (microseconds since the
/// runtime started) and back.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        let micros = self.origin.elapsed().as_micros();
        Timestamp::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The instant a timestamp stands for.
    pub fn instant(&self, at: Timestamp) -> Instant {
        self.origin + Duration::from_micros(at.as_micros())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
