//! One timer structure for every instance: each instance has at most one deadline (the
//! core's `next_deadline`), kept in an ordered set.

use std::collections::BTreeSet;

use crate::vrrp::fsm::Timestamp;

/// Deadlines of all instances, earliest first.
pub(crate) struct Timers {
    ordered: BTreeSet<(Timestamp, usize)>,
    current: Vec<Option<Timestamp>>,
}

impl Timers {
    pub(crate) fn new(instances: usize) -> Self {
        Self {
            ordered: BTreeSet::new(),
            current: vec![None; instances],
        }
    }

    /// Replaces instance `index`'s deadline.
    pub(crate) fn set(&mut self, index: usize, deadline: Option<Timestamp>) {
        let Some(slot) = self.current.get_mut(index) else {
            return;
        };
        if let Some(old) = slot.take() {
            self.ordered.remove(&(old, index));
        }
        if let Some(new) = deadline {
            self.ordered.insert((new, index));
            *slot = Some(new);
        }
    }

    /// The earliest deadline and its instance.
    pub(crate) fn next(&self) -> Option<(Timestamp, usize)> {
        self.ordered.first().copied()
    }

    /// Appends to `out` (in deadline order) the instances whose deadline is at or before
    /// `horizon`, leaving them armed.
    pub(crate) fn due_by(&self, horizon: Timestamp, out: &mut Vec<usize>) {
        out.extend(
            self.ordered
                .iter()
                .take_while(|(deadline, _)| *deadline <= horizon)
                .map(|(_, index)| *index),
        );
    }

    /// Removes and returns an instance whose deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<usize> {
        let (deadline, index) = self.next()?;
        if deadline > now {
            return None;
        }
        self.ordered.remove(&(deadline, index));
        if let Some(slot) = self.current.get_mut(index) {
            *slot = None;
        }
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_due_deadlines_in_order_and_replaces_rearmed_ones() {
        let mut timers = Timers::new(3);
        timers.set(0, Some(Timestamp::from_micros(30)));
        timers.set(1, Some(Timestamp::from_micros(10)));
        timers.set(2, Some(Timestamp::from_micros(20)));
        timers.set(2, Some(Timestamp::from_micros(40))); // re-armed: the old one is gone
        assert_eq!(timers.next(), Some((Timestamp::from_micros(10), 1)));
        let now = Timestamp::from_micros(35);
        assert_eq!(timers.pop_due(now), Some(1));
        assert_eq!(timers.pop_due(now), Some(0));
        assert_eq!(timers.pop_due(now), None);
        assert_eq!(timers.next(), Some((Timestamp::from_micros(40), 2)));
        let mut soon = Vec::new();
        timers.due_by(Timestamp::from_micros(39), &mut soon);
        assert!(soon.is_empty());
        timers.due_by(Timestamp::from_micros(40), &mut soon);
        assert_eq!(soon, [2]);
        assert_eq!(
            timers.next(),
            Some((Timestamp::from_micros(40), 2)),
            "still armed"
        );
        timers.set(2, None);
        assert_eq!(timers.next(), None);
    }
}
