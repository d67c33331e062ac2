//! keepalived's per-checker loop as a pure state type: no clock, no I/O. The scheduler
//! ([`super::schedule`]) feeds it each probe's result and sleeps for the delay it returns.
//!
//! keepalived.conf(5), real_server / checker timing:
//! - `warmup`: the first probe runs after a random delay in `0..warmup`;
//! - `delay_loop`: then one probe every `delay_loop`;
//! - `retry` (`nb_get_retry`): while the checker is up, a failed probe is retried `retry`
//!   times, `delay_before_retry` apart, before the checker is declared down;
//! - one passing probe brings a down checker up.

use std::time::Duration;

use super::http_cycle::UrlCycle;

/// The timing of one checker, inherited checker → real_server → virtual_server → default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timing {
    /// keepalived.conf: delay_loop.
    pub delay_loop: Duration,
    /// keepalived.conf: retry.
    pub retry: u32,
    /// keepalived.conf: delay_before_retry.
    pub delay_before_retry: Duration,
    /// keepalived.conf: warmup.
    pub warmup: Duration,
    /// keepalived.conf: connect_timeout (the hard limit of one probe).
    pub connect_timeout: Duration,
}

/// What one probe's result does to a checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The checker's new state when it changed (true: up).
    pub changed: Option<bool>,
    /// When to probe next, from now.
    pub next_in: Duration,
    /// Whether the next probe is a retry of a failed one.
    pub retrying: bool,
}

impl Timing {
    /// The delay before the first probe: `warmup` scaled by `jitter` in `0.0..1.0`.
    pub fn first_delay(&self, jitter: f64) -> Duration {
        self.warmup.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// One checker's state: up or down, and how many retries of the current failure are spent.
/// (Its [`Timing`] is its probe's: a sleeping probe holds this state, 8 bytes.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeState {
    up: bool,
    retries_spent: u32,
}

impl ProbeState {
    /// A checker starting `up` (keepalived starts real servers up, or down with `alpha`).
    pub fn new(up: bool) -> Self {
        Self {
            up,
            retries_spent: 0,
        }
    }

    /// Whether the checker is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// A probe passed: the checker is up, the next probe after `delay_loop`.
    pub fn passed(&mut self, timing: &Timing) -> Step {
        let changed = (!self.up).then_some(true);
        self.up = true;
        self.retries_spent = 0;
        Step {
            changed,
            next_in: timing.delay_loop,
            retrying: false,
        }
    }

    /// A probe failed: retry after `delay_before_retry` while retries are left and the
    /// checker is up; otherwise the checker is down and the next probe after `delay_loop`.
    pub fn failed(&mut self, timing: &Timing) -> Step {
        if self.up && self.retries_spent < timing.retry {
            self.retries_spent += 1;
            return Step {
                changed: None,
                next_in: timing.delay_before_retry,
                retrying: true,
            };
        }
        let changed = self.up.then_some(false);
        self.up = false;
        self.retries_spent = 0;
        Step {
            changed,
            next_in: timing.delay_loop,
            retrying: false,
        }
    }
}

/// One checker's loop: the common one, or HTTP_GET/SSL_GET's url by url.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cycle {
    /// Every checker but HTTP_GET/SSL_GET: one probe per run.
    Single(ProbeState),
    /// HTTP_GET/SSL_GET: one url per run ([`UrlCycle`]).
    Urls(UrlCycle),
}

impl Cycle {
    /// Whether the checker is up.
    pub fn is_up(&self) -> bool {
        match self {
            Self::Single(s) => s.is_up(),
            Self::Urls(u) => u.is_up(),
        }
    }

    /// What the next run probes: the url's index for HTTP_GET/SSL_GET, else 0.
    pub fn step(&self) -> usize {
        match self {
            Self::Single(_) => 0,
            Self::Urls(u) => u.url(),
        }
    }

    /// Kept across a reload: HTTP_GET/SSL_GET's cycle as keepalived carries it
    /// ([`UrlCycle::carried_over`]); the common one needs nothing more than its state.
    pub fn carried_over(&mut self) {
        if let Self::Urls(u) = self {
            u.carried_over();
        }
    }

    /// The run passed.
    pub fn passed(&mut self, timing: &Timing) -> Step {
        match self {
            Self::Single(s) => s.passed(timing),
            Self::Urls(u) => u.passed(timing),
        }
    }

    /// The run failed.
    pub fn failed(&mut self, timing: &Timing) -> Step {
        match self {
            Self::Single(s) => s.failed(timing),
            Self::Urls(u) => u.failed(timing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn timing(retry: u32) -> Timing {
        Timing {
            delay_loop: secs(10),
            retry,
            delay_before_retry: secs(2),
            warmup: secs(6),
            connect_timeout: secs(1),
        }
    }

    /// A virtual clock driving a state with scripted probe results: returns (probe time,
    /// change) for every probe.
    fn drive(
        (state, timing): &mut (ProbeState, Timing),
        start: Duration,
        results: &[bool],
    ) -> Vec<(Duration, Option<bool>)> {
        let mut now = start;
        let mut out = Vec::new();
        for &ok in results {
            let step = if ok {
                state.passed(timing)
            } else {
                state.failed(timing)
            };
            out.push((now, step.changed));
            now += step.next_in;
        }
        out
    }

    #[test]
    fn first_probe_is_within_warmup() {
        let state = (ProbeState::new(true), timing(1));
        assert_eq!(state.1.first_delay(0.0), Duration::ZERO);
        assert_eq!(state.1.first_delay(0.5), secs(3));
        assert!(state.1.first_delay(0.999_999) < secs(6));
        assert_eq!(state.1.first_delay(7.0), secs(6));
    }

    #[test]
    fn failures_are_retried_before_down_then_probed_every_delay_loop() {
        let mut state = (ProbeState::new(true), timing(3));
        let trace = drive(
            &mut state,
            secs(0),
            &[true, false, false, false, false, false, false, true, true],
        );
        assert_eq!(
            trace,
            vec![
                (secs(0), None),
                (secs(10), None),        // first failure
                (secs(12), None),        // retry 1
                (secs(14), None),        // retry 2
                (secs(16), Some(false)), // retry 3 fails: down
                (secs(26), None),        // down: no retries, every delay_loop
                (secs(36), None),
                (secs(46), Some(true)), // one success brings it up
                (secs(56), None),
            ]
        );
    }

    #[test]
    fn a_success_during_retries_resets_the_count() {
        let mut state = (ProbeState::new(true), timing(1));
        let trace = drive(&mut state, secs(0), &[false, true, false, false]);
        assert_eq!(
            trace,
            vec![
                (secs(0), None),
                (secs(2), None),
                (secs(12), None),
                (secs(14), Some(false)),
            ]
        );
    }

    #[test]
    fn retry_zero_goes_down_on_the_first_failure() {
        let mut state = (ProbeState::new(true), timing(0));
        let trace = drive(&mut state, secs(5), &[false, false]);
        assert_eq!(trace, vec![(secs(5), Some(false)), (secs(15), None)]);
        assert!(!state.0.is_up());
    }

    #[test]
    fn starting_down_alpha_one_success_brings_it_up() {
        let mut state = (ProbeState::new(false), timing(2));
        let trace = drive(&mut state, secs(0), &[false, true]);
        assert_eq!(trace, vec![(secs(0), None), (secs(10), Some(true))]);
    }
}
