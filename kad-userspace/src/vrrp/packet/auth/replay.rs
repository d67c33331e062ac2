//! RFC 2402 §3.4.3: AH anti-replay, reduced to "the sequence number must rise" per sender.
//!
//! keepalived peers send one advert per interval in order on one link, so a window of
//! earlier-but-unseen numbers (RFC 2402's bitmap) buys nothing: a number not above the
//! highest one accepted from that sender is a replay.

use std::net::IpAddr;

use crate::vrrp::packet::DecodeError;

/// Highest AH sequence number accepted from each sender. Pure data: no clock, no IO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayGuard {
    // A VRRP group has a handful of routers: a linear scan beats hashing.
    highest: Vec<(IpAddr, u32)>,
}

impl ReplayGuard {
    /// An empty guard: the first sequence number of every sender is accepted.
    pub fn new() -> Self {
        Self::default()
    }

    /// RFC 2402 §3.4.3: `Err(Replayed)` if `seq` is not above the highest number accepted
    /// from `sender`. Does not record anything: call [`ReplayGuard::record`] once the ICV
    /// has been verified.
    pub fn check(&self, sender: IpAddr, seq: u32) -> Result<(), DecodeError> {
        match self.highest(sender) {
            Some(highest) if seq <= highest => Err(DecodeError::Replayed { seq, highest }),
            _ => Ok(()),
        }
    }

    /// RFC 2402 §3.4.3: remembers `seq` as accepted from `sender` (only ever raises it).
    pub fn record(&mut self, sender: IpAddr, seq: u32) {
        match self.highest.iter_mut().find(|(addr, _)| *addr == sender) {
            Some((_, highest)) => *highest = (*highest).max(seq),
            None => self.highest.push((sender, seq)),
        }
    }

    /// [`ReplayGuard::check`] then [`ReplayGuard::record`], for an advert whose ICV was verified.
    pub fn check_and_record(&mut self, sender: IpAddr, seq: u32) -> Result<(), DecodeError> {
        self.check(sender, seq)?;
        self.record(sender, seq);
        Ok(())
    }

    /// The highest sequence number accepted from `sender`, if any.
    pub fn highest(&self, sender: IpAddr) -> Option<u32> {
        self.highest
            .iter()
            .find(|(addr, _)| *addr == sender)
            .map(|(_, seq)| *seq)
    }

    /// Forgets `sender` (e.g. after it restarted and its counter began again).
    pub fn forget(&mut self, sender: IpAddr) {
        self.highest.retain(|(addr, _)| *addr != sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rising_sequence_is_accepted_and_repeat_or_older_is_replayed() {
        let mut guard = ReplayGuard::new();
        let peer = ip("10.77.0.2");
        assert_eq!(guard.check_and_record(peer, 5), Ok(()));
        assert_eq!(guard.check_and_record(peer, 6), Ok(()));
        assert_eq!(
            guard.check_and_record(peer, 6),
            Err(DecodeError::Replayed { seq: 6, highest: 6 })
        );
        assert_eq!(
            guard.check_and_record(peer, 2),
            Err(DecodeError::Replayed { seq: 2, highest: 6 })
        );
        assert_eq!(guard.highest(peer), Some(6));
    }

    #[test]
    fn senders_are_tracked_apart() {
        let mut guard = ReplayGuard::new();
        guard.record(ip("10.77.0.1"), 100);
        assert_eq!(guard.check(ip("10.77.0.2"), 1), Ok(()));
        assert!(guard.check(ip("10.77.0.1"), 1).is_err());
    }

    #[test]
    fn check_alone_does_not_record_and_forget_resets() {
        let mut guard = ReplayGuard::new();
        let peer = ip("10.77.0.1");
        assert_eq!(guard.check(peer, 9), Ok(()));
        assert_eq!(guard.highest(peer), None);
        guard.record(peer, 9);
        guard.record(peer, 3);
        assert_eq!(guard.highest(peer), Some(9));
        guard.forget(peer);
        assert_eq!(guard.check(peer, 1), Ok(()));
    }
}
