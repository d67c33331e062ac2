//! RFC 5880 §6.8.7 transmit jitter from a small seeded PRNG (deterministic for a seed).

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Draws the interval to the next periodic control packet.
#[derive(Debug)]
pub(crate) struct Jitter {
    rng: SmallRng,
}

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Jitter {
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// §6.8.7: `interval` reduced by a random 0–25 % ("no more than 100 % ... no less than
    /// 75 %"), or by 10–25 % when the local detect multiplier is 1 ("no more than 90 %").
    pub(crate) fn apply(&mut self, interval: Duration, detect_mult: u8) -> Duration {
        let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let low = nanos / 4 * 3 + (nanos % 4) * 3 / 4;
        let high = if detect_mult == 1 {
            nanos / 10 * 9 + (nanos % 10) * 9 / 10
        } else {
            nanos
        };
        Duration::from_nanos(self.rng.random_range(low..=high.max(low)))
    }
}
