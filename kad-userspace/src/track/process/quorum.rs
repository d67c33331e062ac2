//! keepalived.conf `vrrp_track_process` `quorum`, `quorum_max`, `fork_delay`,
//! `terminate_delay`: when a block's count is reported up or down, debounced.

use std::time::{Duration, Instant};

use super::rules::ProcessSpec;

/// What changed a block's count, which decides the delay before reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A counted process forked (a gain waits `fork_delay`).
    Fork,
    /// A process exec'd or was renamed (reported at once).
    Exec,
    /// A counted process exited (a loss waits `terminate_delay`).
    Exit,
    /// `/proc` was read again after lost events (a loss waits `terminate_delay`).
    Resync,
}

/// One block's quorum and pending report (pure: the caller supplies the time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    min: u32,
    max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
    count: u32,
    up: bool,
    pending: Option<Instant>,
}

impl Quorum {
    /// A block of `spec` with `count` processes now, reported as it stands.
    pub fn new(spec: &ProcessSpec, count: u32) -> Self {
        Self {
            min: spec.quorum,
            max: spec.quorum_max,
            fork_delay: spec.fork_delay,
            terminate_delay: spec.terminate_delay,
            count,
            up: (spec.quorum..=spec.quorum_max).contains(&count),
            pending: None,
        }
    }

    /// The status last reported.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The matching processes counted.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// When a delayed report is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending
    }

    /// The count is now `count` because of `cause`; returns the new status when it is to be
    /// reported now.
    pub fn update(&mut self, count: u32, cause: Cause, now: Instant) -> Option<bool> {
        self.count = count;
        let want = (self.min..=self.max).contains(&count);
        if want == self.up {
            // Back where it was reported: a pending report is a bounce, dropped.
            self.pending = None;
            return None;
        }
        if self.pending.is_some() {
            return None;
        }
        let delay = match (want, cause) {
            (true, Cause::Fork) => self.fork_delay,
            (false, Cause::Exit | Cause::Resync) => self.terminate_delay,
            _ => Duration::ZERO,
        };
        if delay.is_zero() {
            self.up = want;
            Some(want)
        } else {
            self.pending = Some(now + delay);
            None
        }
    }

    /// A delayed report fell due at `now`: returns the status when it changed.
    pub fn expire(&mut self, now: Instant) -> Option<bool> {
        match self.pending {
            Some(at) if at <= now => {
                self.pending = None;
                let want = (self.min..=self.max).contains(&self.count);
                (want != self.up).then(|| {
                    self.up = want;
                    want
                })
            }
            _ => None,
        }
    }
}
