//! RFC 2402 §3.4.3: AH anti-replay, reduced to "the sequence number must rise" per sender,
//! and forgetting a sender that fell silent.
//!
//! keepalived peers send one advert per interval in order on one link, so a window of
//! earlier-but-unseen numbers (RFC 2402's bitmap) buys nothing: a number not above the
//! highest one accepted from that sender is a replay.
//!
//! A router that restarts numbers from the start again (keepalived and kad keep no sequence
//! number across a restart). RFC 2402 §3.3.2 resets the counter when a Security Association
//! is established; VRRP's AH has no key exchange to say so, so the guard takes a sender's
//! silence for one: once nothing has been accepted from a sender for the restart interval
//! (the instance's Master_Down_Interval, after which RFC 3768 §6.4.2 already counts that
//! router as gone), any sequence number it sends starts it afresh. Without this a restarted
//! Master was refused as `Replayed` until SIGHUP while the Backup stayed Master beside it.
//! The price: an advert recorded earlier can be replayed once its sender has been silent
//! for that long (when the Backup would take over anyway).

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::packet::DecodeError;

/// What the guard remembers of one sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sender {
    addr: IpAddr,
    /// Highest sequence number accepted since the sender (re)started.
    highest: u32,
    /// When the last advert was accepted from it.
    last: Instant,
}

/// Highest AH sequence number accepted from each sender, and when. Pure data: the caller
/// passes the time (a virtual clock in tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayGuard {
    // A VRRP group has a handful of routers: a linear scan beats hashing.
    senders: Vec<Sender>,
    /// Silence after which a sender's sequence may start again (None: never).
    restart_after: Option<Duration>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayGuard {
    /// An empty guard that never forgets a sender: the first sequence number of every
    /// sender is accepted, after that only higher ones.
    pub fn new() -> Self {
        Self {
            senders: Vec::new(),
            restart_after: None,
        }
    }

    /// An empty guard that accepts a sender's sequence starting again once nothing was
    /// accepted from it for `silence` (the instance's Master_Down_Interval, RFC 3768 §6.1).
    pub fn with_restart_after(silence: Duration) -> Self {
        Self {
            senders: Vec::new(),
            restart_after: Some(silence),
        }
    }

    fn find(&self, sender: IpAddr) -> Option<&Sender> {
        self.senders.iter().find(|s| s.addr == sender)
    }

    /// Whether `sender`, last heard at `last`, counts as restarted at `now`.
    fn silent(&self, last: Instant, now: Instant) -> bool {
        self.restart_after
            .is_some_and(|silence| now.saturating_duration_since(last) >= silence)
    }

    /// RFC 2402 §3.4.3: `Err(Replayed)` if `seq` is not above the highest number accepted
    /// from `sender`, unless `sender` has been silent for the restart interval at `now`.
    /// Does not record anything: call [`ReplayGuard::record`] once the ICV has been
    /// verified.
    pub fn check(&self, sender: IpAddr, seq: u32, now: Instant) -> Result<(), DecodeError> {
        match self.find(sender) {
            Some(s) if seq <= s.highest && !self.silent(s.last, now) => {
                Err(DecodeError::Replayed {
                    seq,
                    highest: s.highest,
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether accepting `seq` from `sender` at `now` is a restart of its sequence (it was
    /// silent for the restart interval and numbers from no higher than before).
    pub fn is_restart(&self, sender: IpAddr, seq: u32, now: Instant) -> bool {
        self.find(sender)
            .is_some_and(|s| seq <= s.highest && self.silent(s.last, now))
    }

    /// RFC 2402 §3.4.3: remembers `seq` as accepted from `sender` at `now`: it raises the
    /// highest number, or after a silence of the restart interval starts it again at `seq`.
    pub fn record(&mut self, sender: IpAddr, seq: u32, now: Instant) {
        let restart = self.is_restart(sender, seq, now);
        match self.senders.iter_mut().find(|s| s.addr == sender) {
            Some(s) => {
                s.highest = if restart { seq } else { s.highest.max(seq) };
                s.last = now;
            }
            None => self.senders.push(Sender {
                addr: sender,
                highest: seq,
                last: now,
            }),
        }
    }

    /// [`ReplayGuard::check`] then [`ReplayGuard::record`], for an advert whose ICV was verified.
    pub fn check_and_record(
        &mut self,
        sender: IpAddr,
        seq: u32,
        now: Instant,
    ) -> Result<(), DecodeError> {
        self.check(sender, seq, now)?;
        self.record(sender, seq, now);
        Ok(())
    }

    /// The highest sequence number accepted from `sender`, if any.
    pub fn highest(&self, sender: IpAddr) -> Option<u32> {
        self.find(sender).map(|s| s.highest)
    }

    /// Forgets `sender` (e.g. after it restarted and its counter began again).
    pub fn forget(&mut self, sender: IpAddr) {
        self.senders.retain(|s| s.addr != sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A virtual clock: `at(ms)` is `ms` milliseconds after a fixed origin.
    fn clock() -> impl Fn(u64) -> Instant {
        let origin = Instant::now();
        move |ms| origin + Duration::from_millis(ms)
    }

    #[test]
    fn rising_sequence_is_accepted_and_repeat_or_older_is_replayed() {
        let at = clock();
        let mut guard = ReplayGuard::new();
        let peer = ip("10.77.0.2");
        assert_eq!(guard.check_and_record(peer, 5, at(0)), Ok(()));
        assert_eq!(guard.check_and_record(peer, 6, at(1000)), Ok(()));
        assert_eq!(
            guard.check_and_record(peer, 6, at(1000)),
            Err(DecodeError::Replayed { seq: 6, highest: 6 })
        );
        assert_eq!(
            guard.check_and_record(peer, 2, at(2000)),
            Err(DecodeError::Replayed { seq: 2, highest: 6 })
        );
        assert_eq!(guard.highest(peer), Some(6));
        // Without a restart interval, no silence is long enough.
        assert!(guard.check(peer, 1, at(10_000_000)).is_err());
    }

    #[test]
    fn senders_are_tracked_apart() {
        let at = clock();
        let mut guard = ReplayGuard::new();
        guard.record(ip("10.77.0.1"), 100, at(0));
        assert_eq!(guard.check(ip("10.77.0.2"), 1, at(0)), Ok(()));
        assert!(guard.check(ip("10.77.0.1"), 1, at(0)).is_err());
    }

    #[test]
    fn check_alone_does_not_record_and_forget_resets() {
        let at = clock();
        let mut guard = ReplayGuard::new();
        let peer = ip("10.77.0.1");
        assert_eq!(guard.check(peer, 9, at(0)), Ok(()));
        assert_eq!(guard.highest(peer), None);
        guard.record(peer, 9, at(0));
        guard.record(peer, 3, at(0));
        assert_eq!(guard.highest(peer), Some(9));
        guard.forget(peer);
        assert_eq!(guard.check(peer, 1, at(0)), Ok(()));
    }

    /// Master_Down_Interval for priority 100 at advert_int 1 (v2): 3 s + 156.25 ms skew.
    const MDI: Duration = Duration::from_micros(3_609_375);

    #[test]
    fn a_sender_silent_for_master_down_interval_may_start_its_sequence_again() {
        let at = clock();
        let mut guard = ReplayGuard::with_restart_after(MDI);
        let master = ip("10.77.0.1");
        for (second, seq) in (1..=50).enumerate() {
            let now = at(1000 * second as u64);
            assert_eq!(guard.check_and_record(master, seq, now), Ok(()));
        }
        // Last advert (seq 50) at 49 s. The restarted master numbers from 1 again: a replay
        // while it is still within Master_Down_Interval of its last advert...
        assert_eq!(
            guard.check_and_record(master, 1, at(49_000 + 3_000)),
            Err(DecodeError::Replayed {
                seq: 1,
                highest: 50
            })
        );
        assert!(!guard.is_restart(master, 1, at(49_000 + 3_609)));
        // ...and a fresh start once it has been silent that long (refused adverts do not
        // count as heard).
        let back = at(49_000 + 3_610);
        assert!(guard.is_restart(master, 1, back));
        assert_eq!(guard.check_and_record(master, 1, back), Ok(()));
        assert_eq!(guard.highest(master), Some(1), "the sequence starts again");
        // From then on the new sequence must rise as before.
        assert_eq!(
            guard.check_and_record(master, 1, at(49_000 + 4_610)),
            Err(DecodeError::Replayed { seq: 1, highest: 1 })
        );
        assert_eq!(
            guard.check_and_record(master, 2, at(49_000 + 4_610)),
            Ok(())
        );
        // A higher number after a silence is simply a rise, not a restart.
        assert!(!guard.is_restart(master, 90, at(200_000)));
        assert_eq!(guard.check_and_record(master, 90, at(200_000)), Ok(()));
        assert_eq!(guard.highest(master), Some(90));
    }

    #[test]
    fn a_replay_within_master_down_interval_of_the_last_advert_is_refused() {
        let at = clock();
        let mut guard = ReplayGuard::with_restart_after(MDI);
        let master = ip("10.77.0.1");
        // A master advertising every second: an attacker replaying an old advert between
        // two of its adverts is refused, however long the master has been running.
        for second in 0..20u32 {
            let now = at(1000 * u64::from(second));
            assert_eq!(guard.check_and_record(master, second + 1, now), Ok(()));
            assert!(
                guard
                    .check(master, 1, now + Duration::from_millis(500))
                    .is_err(),
                "replay at {second}.5 s"
            );
        }
    }
}
