//! Effective priority: the configured priority plus the weights of tracked objects
//! (keepalived.conf `track_script`, `track_interface`, `track_file`, `track_process`,
//! `track_bfd` with `weight <n> [reverse]`).

/// Identifies one tracked object within an instance (the runtime chooses the numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackerId(pub u32);

/// What kind of object is tracked; files carry a value, the others are up or down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackerKind {
    /// `track_script` (a `vrrp_script`).
    Script,
    /// `track_interface`.
    Interface,
    /// `track_file`: a number read from the file.
    File,
    /// `track_process`.
    Process,
    /// `track_bfd`.
    Bfd,
}

/// The last known state of a tracked object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackerStatus {
    /// Script succeeded / interface up / process quorum met / BFD up.
    Up,
    /// The opposite.
    Down,
    /// `track_file`: the number read. For the other kinds 0 counts as up, anything else
    /// as down (the file convention).
    Value(i64),
}

/// One tracked object with its weight. keepalived.conf: `<name> weight <n> [reverse]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrackedObject {
    /// The runtime's id for this object (events name it).
    pub id: TrackerId,
    /// What it is.
    pub kind: TrackerKind,
    /// `weight`: 0 → FAULT while down; > 0 → added while up; < 0 → added while down.
    /// For a file: the value times the weight is added (0 → FAULT on a non-zero value).
    pub weight: i32,
    /// `reverse`: the direction of the adjustment is reversed (see [`contribution`]).
    pub reverse: bool,
    /// Status assumed before the first report (keepalived: up, unless `init_fail`; a file
    /// reads as 0 until reported).
    pub initial: TrackerStatus,
}

impl TrackedObject {
    /// A tracked object assumed up at start.
    pub fn new(id: TrackerId, kind: TrackerKind, weight: i32, reverse: bool) -> Self {
        let initial = match kind {
            TrackerKind::File => TrackerStatus::Value(0),
            _ => TrackerStatus::Up,
        };
        TrackedObject {
            id,
            kind,
            weight,
            reverse,
            initial,
        }
    }
}

/// What one tracked object does to the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contribution {
    /// Added to the priority (may be negative).
    Weight(i32),
    /// The instance must be in FAULT.
    Fault,
}

/// The effect of `object` in `status`.
///
/// keepalived.conf semantics: weight 0 means FAULT while down; a positive weight is added
/// while up, a negative one while down; `reverse` swaps up and down and negates the
/// weight ("priority decreased when up, increased when down"; `weight 0 reverse` is
/// FAULT while up). `track_file`: value × weight (negated by `reverse`) is added, and a
/// result below −253 is FAULT; with weight 0 any non-zero value is FAULT.
pub fn contribution(object: &TrackedObject, status: TrackerStatus) -> Contribution {
    let weight = i64::from(object.weight);
    match (object.kind, status) {
        (TrackerKind::File, status) => {
            // A file reported as up/down reads as 0 / 1.
            let value = match status {
                TrackerStatus::Up => 0,
                TrackerStatus::Down => 1,
                TrackerStatus::Value(value) => value,
            };
            if weight == 0 {
                let failed = (value != 0) != object.reverse;
                return if failed {
                    Contribution::Fault
                } else {
                    Contribution::Weight(0)
                };
            }
            let mut product = value.saturating_mul(weight);
            if object.reverse {
                product = product.saturating_neg();
            }
            if product < -253 {
                Contribution::Fault
            } else {
                Contribution::Weight(product.clamp(-254, 254) as i32)
            }
        }
        (_, status) => {
            let up = match status {
                TrackerStatus::Up => true,
                TrackerStatus::Down => false,
                TrackerStatus::Value(value) => value == 0,
            };
            let (up, weight) = if object.reverse {
                (!up, -weight)
            } else {
                (up, weight)
            };
            let weight = weight.clamp(-254, 254) as i32;
            match (weight, up) {
                (0, true) => Contribution::Weight(0),
                (0, false) => Contribution::Fault,
                (w, true) if w > 0 => Contribution::Weight(w),
                (w, false) if w < 0 => Contribution::Weight(w),
                _ => Contribution::Weight(0),
            }
        }
    }
}

/// The tracked objects of one instance with their current statuses.
#[derive(Clone, Debug, Default)]
pub struct Trackers {
    objects: Vec<(TrackedObject, TrackerStatus)>,
}

impl Trackers {
    /// Trackers at their initial statuses.
    pub fn new(objects: &[TrackedObject]) -> Self {
        Trackers {
            objects: objects.iter().map(|o| (*o, o.initial)).collect(),
        }
    }

    /// Records a new status; returns false if `id` is not tracked here.
    pub fn set(&mut self, id: TrackerId, status: TrackerStatus) -> bool {
        let mut found = false;
        for (object, current) in &mut self.objects {
            if object.id == id {
                *current = status;
                found = true;
            }
        }
        found
    }

    /// True while any tracked object demands FAULT.
    pub fn fault(&self) -> bool {
        self.objects
            .iter()
            .any(|(o, s)| contribution(o, *s) == Contribution::Fault)
    }

    /// Sum of the weights in force (FAULT contributions count 0).
    pub fn weight_sum(&self) -> i32 {
        self.objects
            .iter()
            .map(|(o, s)| match contribution(o, *s) {
                Contribution::Weight(w) => w,
                Contribution::Fault => 0,
            })
            .fold(0i32, i32::saturating_add)
    }

    /// keepalived.conf: effective priority = base + weights, limited to 1..=254; an address
    /// owner (255) is neither lowered nor is any other instance raised to 255.
    pub fn effective_priority(&self, base: u8) -> u8 {
        effective_priority(base, self.weight_sum())
    }
}

/// keepalived.conf: `base + weights` clamped to 1..=254; a base of 255 stays 255.
pub fn effective_priority(base: u8, weights: i32) -> u8 {
    if base == 255 {
        return 255;
    }
    (i32::from(base).saturating_add(weights)).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: TrackerKind, weight: i32, reverse: bool) -> TrackedObject {
        TrackedObject::new(TrackerId(1), kind, weight, reverse)
    }

    #[test]
    fn unweighted_tracker_faults_when_down() {
        let o = obj(TrackerKind::Interface, 0, false);
        assert_eq!(contribution(&o, TrackerStatus::Up), Contribution::Weight(0));
        assert_eq!(contribution(&o, TrackerStatus::Down), Contribution::Fault);
    }

    #[test]
    fn weight_zero_reverse_faults_when_up() {
        let o = obj(TrackerKind::Script, 0, true);
        assert_eq!(contribution(&o, TrackerStatus::Up), Contribution::Fault);
        assert_eq!(
            contribution(&o, TrackerStatus::Down),
            Contribution::Weight(0)
        );
    }

    #[test]
    fn positive_weight_adds_while_up_negative_subtracts_while_down() {
        let plus = obj(TrackerKind::Script, 20, false);
        assert_eq!(
            contribution(&plus, TrackerStatus::Up),
            Contribution::Weight(20)
        );
        assert_eq!(
            contribution(&plus, TrackerStatus::Down),
            Contribution::Weight(0)
        );
        let minus = obj(TrackerKind::Process, -30, false);
        assert_eq!(
            contribution(&minus, TrackerStatus::Up),
            Contribution::Weight(0)
        );
        assert_eq!(
            contribution(&minus, TrackerStatus::Down),
            Contribution::Weight(-30)
        );
    }

    #[test]
    fn reverse_decreases_when_up_and_increases_when_down() {
        let plus = obj(TrackerKind::Script, 20, true);
        assert_eq!(
            contribution(&plus, TrackerStatus::Up),
            Contribution::Weight(-20)
        );
        assert_eq!(
            contribution(&plus, TrackerStatus::Down),
            Contribution::Weight(0)
        );
        let minus = obj(TrackerKind::Script, -20, true);
        assert_eq!(
            contribution(&minus, TrackerStatus::Up),
            Contribution::Weight(0)
        );
        assert_eq!(
            contribution(&minus, TrackerStatus::Down),
            Contribution::Weight(20)
        );
    }

    #[test]
    fn file_value_is_multiplied_by_weight_and_faults_below_minus_253() {
        let f = obj(TrackerKind::File, 10, false);
        assert_eq!(
            contribution(&f, TrackerStatus::Value(3)),
            Contribution::Weight(30)
        );
        assert_eq!(
            contribution(&f, TrackerStatus::Value(-25)),
            Contribution::Weight(-250)
        );
        assert_eq!(
            contribution(&f, TrackerStatus::Value(-26)),
            Contribution::Fault
        );
        let r = obj(TrackerKind::File, 10, true);
        assert_eq!(
            contribution(&r, TrackerStatus::Value(3)),
            Contribution::Weight(-30)
        );
        let zero = obj(TrackerKind::File, 0, false);
        assert_eq!(
            contribution(&zero, TrackerStatus::Value(0)),
            Contribution::Weight(0)
        );
        assert_eq!(
            contribution(&zero, TrackerStatus::Value(7)),
            Contribution::Fault
        );
        // Extreme values saturate instead of overflowing.
        let big = obj(TrackerKind::File, i32::MAX, false);
        assert_eq!(
            contribution(&big, TrackerStatus::Value(i64::MAX)),
            Contribution::Weight(254)
        );
    }

    #[test]
    fn effective_priority_is_clamped_and_owner_is_fixed() {
        assert_eq!(effective_priority(100, 50), 150);
        assert_eq!(effective_priority(100, 200), 254);
        assert_eq!(effective_priority(100, -150), 1);
        assert_eq!(effective_priority(255, -100), 255);
        assert_eq!(effective_priority(254, 10), 254);
    }

    #[test]
    fn trackers_sum_weights_and_report_fault() {
        let mut t = Trackers::new(&[
            TrackedObject::new(TrackerId(1), TrackerKind::Script, 10, false),
            TrackedObject::new(TrackerId(2), TrackerKind::Interface, -40, false),
            TrackedObject::new(TrackerId(3), TrackerKind::Process, 0, false),
        ]);
        assert_eq!(t.effective_priority(100), 110);
        assert!(t.set(TrackerId(2), TrackerStatus::Down));
        assert_eq!(t.effective_priority(100), 70);
        assert!(!t.fault());
        assert!(t.set(TrackerId(3), TrackerStatus::Down));
        assert!(t.fault());
        assert!(!t.set(TrackerId(9), TrackerStatus::Down));
    }
}
