//! A snapshot of `kad_xdp`'s per-reason counters.

use std::fmt;

use kad_common::xdp_counters::XdpReason;

/// Packets seen by `kad_xdp`, per [`XdpReason`], summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpCounters {
    counts: [u64; XdpReason::COUNT as usize],
}

impl XdpCounters {
    /// Packets counted under `reason`.
    pub fn get(&self, reason: XdpReason) -> u64 {
        self.counts[reason as usize]
    }

    pub(crate) fn set(&mut self, reason: XdpReason, value: u64) {
        self.counts[reason as usize] = value;
    }

    /// Packets counted under any reason that drops.
    pub fn dropped(&self) -> u64 {
        XdpReason::ALL
            .iter()
            .filter(|reason| reason.drops())
            .map(|reason| self.get(*reason))
            .sum()
    }

    /// Counter-by-counter difference `self - earlier` (saturating), for "what moved since".
    pub fn since(&self, earlier: &XdpCounters) -> XdpCounters {
        let mut delta = XdpCounters::default();
        for reason in XdpReason::ALL {
            delta.set(reason, self.get(reason).saturating_sub(earlier.get(reason)));
        }
        delta
    }
}

impl fmt::Display for XdpCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for reason in XdpReason::ALL {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={}", reason.name(), self.get(reason))?;
        }
        Ok(())
    }
}
