//! Time as the core sees it, and the RFC timer formulas.
//!
//! The core never reads a clock: the runtime (or the simulator) passes a [`Timestamp`] with
//! every event. Intervals are kept in microseconds so that keepalived's sub-second
//! advert intervals (down to 0.01 s) keep a meaningful Skew_Time.

use std::{ops::Add, time::Duration};

use crate::packet::Version;

/// A point on a monotonic clock, in microseconds since an arbitrary origin chosen by the
/// runtime (or the simulator's virtual clock). Only differences are meaningful.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The clock's origin.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating: a timestamp never wraps.
    fn add(self, rhs: Duration) -> Timestamp {
        let micros = u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(micros))
    }
}

/// An advertisement interval in centiseconds, as VRRPv3 carries it (12 bits, 1..=4095).
/// RFC 5798 §5.2.7 / keepalived.conf `advert_int` (seconds, resolution 0.01).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centis(u16);

impl Centis {
    /// Largest value the 12-bit field can carry.
    pub const MAX: u16 = 4095;
    /// keepalived's default `advert_int 1`.
    pub const ONE_SECOND: Centis = Centis(100);

    /// `None` unless `1 <= cs <= 4095`.
    pub const fn new(cs: u16) -> Option<Centis> {
        if cs == 0 || cs > Self::MAX {
            None
        } else {
            Some(Centis(cs))
        }
    }

    /// The raw number of centiseconds.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The interval as a [`Duration`].
    pub const fn duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }

    /// Microseconds in the interval.
    pub const fn as_micros(self) -> u64 {
        self.0 as u64 * 10_000
    }
}

/// Skew_Time for the local `priority`.
///
/// RFC 5798 §6.1 (v3): `((256 − Priority) × Master_Adver_Interval) / 256`.
/// RFC 3768 §6.1 (v2): `(256 − Priority) / 256` seconds, independent of the interval.
/// Computed in real arithmetic and truncated to the microsecond (as keepalived does), so
/// that a 0.01 s interval still has a non-zero skew.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Centis) -> Duration {
    let factor = 256 - u64::from(priority);
    let micros = match version {
        Version::V3 => factor * master_adver_interval.as_micros() / 256,
        Version::V2 => factor * 1_000_000 / 256,
    };
    Duration::from_micros(micros)
}

/// Master_Down_Interval for the local `priority`.
///
/// RFC 5798 §6.1 / RFC 3768 §6.1: `3 × Master_Adver_Interval + Skew_Time`; keepalived.conf
/// `down_timer_adverts` replaces the 3 (values below 1 are taken as 1).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Centis,
    down_timer_adverts: u8,
) -> Duration {
    let adverts = u64::from(down_timer_adverts.max(1));
    Duration::from_micros(adverts * master_adver_interval.as_micros())
        + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(v: u16) -> Centis {
        Centis::new(v).expect("valid interval")
    }

    fn us(v: u64) -> Duration {
        Duration::from_micros(v)
    }

    // Hand-computed: (256 - P) * interval_us / 256, truncated to the microsecond.
    #[test]
    fn v3_skew_time_matches_hand_computed_values() {
        // 156 * 1_000_000 / 256 = 609_375
        assert_eq!(skew_time(Version::V3, 100, cs(100)), us(609_375));
        // 56 * 1_000_000 / 256 = 218_750
        assert_eq!(skew_time(Version::V3, 200, cs(100)), us(218_750));
        // 1 * 1_000_000 / 256 = 3_906.25
        assert_eq!(skew_time(Version::V3, 255, cs(100)), us(3_906));
        // 0.1 s: 156 * 100_000 / 256 = 60_937.5
        assert_eq!(skew_time(Version::V3, 100, cs(10)), us(60_937));
        // 0.01 s: 156 * 10_000 / 256 = 6_093.75
        assert_eq!(skew_time(Version::V3, 100, cs(1)), us(6_093));
        // 0.01 s, owner: 1 * 10_000 / 256 = 39.06
        assert_eq!(skew_time(Version::V3, 255, cs(1)), us(39));
        // 40.95 s, priority 1: 255 * 40_950_000 / 256 = 40_790_039.06
        assert_eq!(skew_time(Version::V3, 1, cs(4095)), us(40_790_039));
        // priority 0 (the sender leaving): 256/256 of the interval
        assert_eq!(skew_time(Version::V3, 0, cs(100)), us(1_000_000));
    }

    #[test]
    fn v2_skew_time_ignores_the_interval() {
        // (256 - 100) / 256 s = 0.609375 s, whatever the interval
        assert_eq!(skew_time(Version::V2, 100, cs(100)), us(609_375));
        assert_eq!(skew_time(Version::V2, 100, cs(500)), us(609_375));
        // (256 - 254) / 256 s = 7_812.5 us
        assert_eq!(skew_time(Version::V2, 254, cs(100)), us(7_812));
        // (256 - 1) / 256 s = 996_093.75 us
        assert_eq!(skew_time(Version::V2, 1, cs(300)), us(996_093));
    }

    #[test]
    fn v3_master_down_interval_matches_hand_computed_values() {
        // 3 * 1 s + 0.609375 s
        assert_eq!(
            master_down_interval(Version::V3, 100, cs(100), 3),
            us(3_609_375)
        );
        // 3 * 1 s + 0.21875 s
        assert_eq!(
            master_down_interval(Version::V3, 200, cs(100), 3),
            us(3_218_750)
        );
        // 3 * 0.1 s + 60_937 us
        assert_eq!(
            master_down_interval(Version::V3, 100, cs(10), 3),
            us(360_937)
        );
        // 3 * 0.01 s + 6_093 us (LAB.md's 36 ms floor)
        assert_eq!(master_down_interval(Version::V3, 100, cs(1), 3), us(36_093));
        // 3 * 0.01 s + 39 us
        assert_eq!(master_down_interval(Version::V3, 255, cs(1), 3), us(30_039));
        // 3 * 40.95 s + 40_790_039 us
        assert_eq!(
            master_down_interval(Version::V3, 1, cs(4095), 3),
            us(163_640_039)
        );
    }

    #[test]
    fn v2_master_down_interval_matches_hand_computed_values() {
        assert_eq!(
            master_down_interval(Version::V2, 100, cs(100), 3),
            us(3_609_375)
        );
        // 3 * 5 s + 0.609375 s
        assert_eq!(
            master_down_interval(Version::V2, 100, cs(500), 3),
            us(15_609_375)
        );
        // 3 * 1 s + 7_812 us
        assert_eq!(
            master_down_interval(Version::V2, 254, cs(100), 3),
            us(3_007_812)
        );
    }

    #[test]
    fn down_timer_adverts_replaces_the_three() {
        // 1 * 1 s + 0.609375 s
        assert_eq!(
            master_down_interval(Version::V3, 100, cs(100), 1),
            us(1_609_375)
        );
        // 10 * 0.01 s + 6_093 us
        assert_eq!(
            master_down_interval(Version::V3, 100, cs(1), 10),
            us(106_093)
        );
        // 0 is not meaningful: taken as 1
        assert_eq!(
            master_down_interval(Version::V3, 100, cs(100), 0),
            us(1_609_375)
        );
    }

    #[test]
    fn centis_rejects_zero_and_values_beyond_twelve_bits() {
        assert!(Centis::new(0).is_none());
        assert!(Centis::new(4096).is_none());
        assert_eq!(Centis::new(4095).map(Centis::get), Some(4095));
        assert_eq!(cs(1).duration(), Duration::from_millis(10));
    }

    #[test]
    fn timestamp_arithmetic_saturates() {
        let t = Timestamp::from_micros(u64::MAX - 1);
        assert_eq!(t + Duration::from_secs(1), Timestamp::from_micros(u64::MAX));
        assert_eq!(Timestamp::ZERO.saturating_since(t), Duration::ZERO);
    }
}
