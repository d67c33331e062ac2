//! Where in the advert interval a fault lands, and the paired statistics that take that
//! phase out of the comparison.
//!
//! A backup counts Master_Down_Interval (RFC 5798 §6.1 / RFC 3768 §6.1) from the last advert
//! it heard, so a master whose link goes down `φ` after an advert leaves the client without
//! the VIP for about `Master_Down_Interval − φ`: at `advert_int 1` the phase alone moves a
//! trial by up to a second. The benchmark therefore injects each fault at a planned offset
//! after an advert it watched, gives kad's and keepalived's trial `n` the same offset
//! ([`offsets`]: paired trials), and reports besides the outage the time from the last
//! advert to the VIP reachable again (`phase + outage`), which should be close to
//! Master_Down_Interval whatever the phase.

use std::time::Duration;

/// A small deterministic generator (xorshift64*): the same seed gives the same offsets on
/// every run, so that runs are comparable.
#[derive(Clone, Debug)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A fraction uniform in `[0, 1)`.
    pub fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.fraction() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

/// The fault offsets after an advert for `trials` trials of one cell: uniform in
/// `[0, interval)`, stratified (one offset in each `interval / trials` slice, so that five
/// trials cover the interval instead of clustering) and shuffled so that the phase does not
/// grow with the trial number. Deterministic in `seed`; both daemons get the same list.
pub fn offsets(seed: u64, trials: usize, interval: Duration) -> Vec<Duration> {
    let mut random = Xorshift::new(seed);
    let mut fractions: Vec<f64> = (0..trials)
        .map(|slice| (slice as f64 + random.fraction()) / trials as f64)
        .collect();
    // Fisher–Yates.
    for last in (1..fractions.len()).rev() {
        let pick = random.below(last + 1);
        fractions.swap(last, pick);
    }
    fractions
        .into_iter()
        .map(|fraction| interval.mul_f64(fraction.min(1.0 - f64::EPSILON)))
        .collect()
}

/// A seed per cell, so that each row and fault gets its own offsets but every run the same.
pub fn cell_seed(version: u8, advert_centis: u32, fault_index: usize) -> u64 {
    0x9e37_79b9_7f4a_7c15
        ^ (u64::from(version) << 40)
        ^ (u64::from(advert_centis) << 8)
        ^ fault_index as u64
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Trial-by-trial differences `kad[n] − keepalived[n]` in milliseconds, for the trials both
/// daemons ran (same index, same planned phase).
pub fn paired_differences_ms(kad: &[Duration], keepalived: &[Duration]) -> Vec<f64> {
    kad.iter()
        .zip(keepalived)
        .map(|(kad, keepalived)| (kad.as_secs_f64() - keepalived.as_secs_f64()) * 1000.0)
        .collect()
}

/// How a trial's fault fell: the phase measured after the last advert the master sent
/// before the fault, and the time from that advert to the client's first reply after the
/// outage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Fault time minus the last advert's capture time.
    pub phase: Duration,
    /// The client's first reply after the outage minus the last advert's capture time.
    pub since_advert: Duration,
}

impl Timing {
    /// The timing of a fault at `fault` after an advert captured at `advert`, the client's
    /// replies resuming at `resumed` (all in seconds on one clock). Negative spans (clock
    /// steps) count as zero.
    pub fn new(advert: f64, fault: f64, resumed: f64) -> Self {
        let span = |from: f64, to: f64| Duration::from_secs_f64((to - from).max(0.0));
        Self {
            phase: span(advert, fault),
            since_advert: span(advert, resumed),
        }
    }
}

/// Every trial's [`Timing`] of one daemon in one cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings(pub Vec<Timing>);

impl Timings {
    /// The measured phases.
    pub fn phases(&self) -> Vec<Duration> {
        self.0.iter().map(|t| t.phase).collect()
    }

    /// Last advert → VIP reachable, trial by trial.
    pub fn since_advert(&self) -> Vec<Duration> {
        self.0.iter().map(|t| t.since_advert).collect()
    }

    /// The median of [`Timings::since_advert`].
    pub fn median_since_advert(&self) -> Option<Duration> {
        let ms: Vec<f64> = self
            .0
            .iter()
            .map(|t| t.since_advert.as_secs_f64())
            .collect();
        median(&ms).map(Duration::from_secs_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stratified_in_the_interval_and_repeatable() {
        let interval = Duration::from_secs(1);
        let first = offsets(7, 5, interval);
        assert_eq!(first, offsets(7, 5, interval), "same seed, same offsets");
        assert_ne!(
            first,
            offsets(8, 5, interval),
            "another seed, other offsets"
        );
        let mut sorted = first.clone();
        sorted.sort();
        for (slice, offset) in sorted.iter().enumerate() {
            let low = interval.mul_f64(slice as f64 / 5.0);
            let high = interval.mul_f64((slice + 1) as f64 / 5.0);
            assert!(
                *offset >= low && *offset < high,
                "offset {offset:?} not in slice {slice}"
            );
        }
        assert_ne!(first, sorted, "shuffled, not in increasing order");
        assert!(offsets(1, 0, interval).is_empty());
        let one = offsets(3, 1, Duration::from_millis(10));
        assert!(one.len() == 1 && one[0] < Duration::from_millis(10));
    }

    #[test]
    fn fractions_stay_in_the_unit_interval() {
        let mut random = Xorshift::new(0);
        for _ in 0..10_000 {
            let f = random.fraction();
            assert!((0.0..1.0).contains(&f));
        }
    }

    #[test]
    fn cells_get_different_seeds() {
        let seeds = [
            cell_seed(3, 100, 0),
            cell_seed(3, 100, 1),
            cell_seed(2, 100, 0),
            cell_seed(3, 10, 0),
        ];
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn medians_and_paired_differences() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let ms = |v: &[u64]| {
            v.iter()
                .map(|m| Duration::from_millis(*m))
                .collect::<Vec<_>>()
        };
        let diffs = paired_differences_ms(&ms(&[100, 250, 300]), &ms(&[120, 200]));
        assert_eq!(diffs.len(), 2, "only trials both ran");
        assert!((diffs[0] + 20.0).abs() < 1e-9 && (diffs[1] - 50.0).abs() < 1e-9);
    }

    #[test]
    fn timing_from_advert_fault_and_resume() {
        let t = Timing::new(100.0, 100.25, 103.5);
        assert_eq!(t.phase, Duration::from_millis(250));
        assert_eq!(t.since_advert, Duration::from_millis(3500));
        let stepped = Timing::new(100.0, 99.0, 99.5);
        assert_eq!(stepped.phase, Duration::ZERO);
        let timings = Timings(vec![
            t,
            Timing::new(0.0, 0.5, 3.6),
            Timing::new(0.0, 0.1, 3.7),
        ]);
        let median = timings.median_since_advert().expect("median");
        assert!(median.abs_diff(Duration::from_millis(3600)) < Duration::from_micros(1));
        assert_eq!(timings.phases()[0], Duration::from_millis(250));
    }
}
