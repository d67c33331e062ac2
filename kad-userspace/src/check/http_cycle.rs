//! keepalived 2.2.7's HTTP_GET/SSL_GET loop over its urls as a pure state type (no clock,
//! no I/O): one url is fetched per run, and the result moves a cursor over the urls.
//!
//! What keepalived's checker does (check_http.c, read for behaviour):
//! - each run fetches the url at the cursor; a pass moves to the next url and the next run
//!   comes `delay_loop` later, so with N urls each url is fetched every N × `delay_loop`;
//!   the checker comes up (or is confirmed up at start) when the last url passes;
//! - while up, a failing url is fetched again after `delay_before_retry`, `retry` times,
//!   then the checker goes down; at start one failure is enough (keepalived starts a
//!   checker with its retries spent);
//! - while down after that failure, the failed url is fetched every
//!   max(`delay_before_retry`, `delay_loop`); once it passes, every url is fetched again
//!   from the first, one per `delay_loop`, and the checker comes up when all have passed;
//!   a url failing in that pass is fetched again after `delay_before_retry`;
//! - `fast_recovery`: while the checker has not completed its first pass, or is down with
//!   no url known to fail, the next url is fetched at once instead of after a delay.
//!
//! One difference: in keepalived, with `fast_recovery`, a url that fails during the
//! recovery pass is fetched again at once, over and over while it fails (its "no url known
//! to fail" stays true, as that failure does not mark the url); here it waits
//! `delay_before_retry`, as without `fast_recovery` (docs/config-compat.md).

use std::time::Duration;

use super::state::{Step, Timing};

/// Where one HTTP_GET/SSL_GET checker is in its urls (16 bytes: a sleeping probe keeps it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlCycle {
    /// How many urls the checker has (at least 1).
    urls: u16,
    /// The url the next run fetches.
    cursor: u16,
    /// Failures of the current url counted towards `retry`.
    retries: u32,
    up: bool,
    /// The checker has completed a first pass or seen a failure (keepalived's `has_run`).
    has_run: bool,
    /// The url at the cursor is the one that took the checker down (keepalived's
    /// `failed_url`).
    failed: bool,
    /// keepalived.conf: fast_recovery.
    fast_recovery: bool,
}

impl UrlCycle {
    /// A checker of `urls` urls starting `up` (down with `alpha`), its retries spent as
    /// keepalived starts it: a first failure takes it down.
    pub fn new(urls: usize, up: bool, fast_recovery: bool, timing: &Timing) -> Self {
        Self {
            urls: u16::try_from(urls.max(1)).unwrap_or(u16::MAX),
            cursor: 0,
            retries: timing.retry,
            up,
            has_run: false,
            failed: false,
            fast_recovery,
        }
    }

    /// Whether the checker is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Kept across a reload (SIGHUP): keepalived 2.2.7 carries a matching checker's
    /// `has_run` and state to the new configuration, so the new checker starts from the
    /// first url with its retries unspent, and `fast_recovery` does not fetch every url at
    /// once unless it is down.
    pub fn carried_over(&mut self) {
        self.has_run = true;
        self.retries = 0;
    }

    /// The url the next run fetches (an index into the checker's urls).
    pub fn url(&self) -> usize {
        usize::from(self.cursor)
    }

    /// The url at the cursor passed.
    pub fn passed(&mut self, timing: &Timing) -> Step {
        let mut changed = None;
        self.cursor += 1;
        self.retries = 0;
        if self.cursor >= self.urls {
            self.cursor = 0;
            if self.failed {
                // The failed url passes: every url again, from the first.
                self.failed = false;
            } else {
                if !self.up {
                    changed = Some(true);
                }
                self.up = true;
                self.has_run = true;
            }
        } else if self.failed {
            self.failed = false;
            self.cursor = 0;
        }
        if !self.has_run {
            self.retries = timing.retry;
        }
        Step {
            changed,
            next_in: self.or_at_once(timing.delay_loop),
            retrying: false,
        }
    }

    /// The url at the cursor failed.
    pub fn failed(&mut self, timing: &Timing) -> Step {
        let mut changed = None;
        let counted = self.up || !self.has_run;
        if counted {
            self.has_run = true;
            self.retries = self.retries.saturating_add(1);
            if self.retries > timing.retry {
                if self.up {
                    changed = Some(false);
                }
                self.up = false;
                self.failed = true;
            }
        }
        let next_in = if self.failed {
            timing.delay_before_retry.max(timing.delay_loop)
        } else {
            timing.delay_before_retry
        };
        Step {
            changed,
            next_in,
            retrying: counted && !self.failed,
        }
    }

    /// `delay`, or none with `fast_recovery` while the checker has not completed its first
    /// pass or is down with no url known to fail.
    fn or_at_once(&self, delay: Duration) -> Duration {
        if self.fast_recovery && (!self.has_run || (!self.up && !self.failed)) {
            Duration::ZERO
        } else {
            delay
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timing(retry: u32) -> Timing {
        Timing {
            delay_loop: ms(1000),
            retry,
            delay_before_retry: ms(300),
            warmup: ms(0),
            connect_timeout: ms(100),
        }
    }

    /// Drives a cycle with the server's answer per url (`ok(url, time)`), from 0 until
    /// `until`: every (time, url, passed, change).
    fn drive(
        cycle: &mut UrlCycle,
        timing: &Timing,
        until: Duration,
        ok: impl Fn(usize, Duration) -> bool,
    ) -> Vec<(u64, usize, bool, Option<bool>)> {
        let mut now = Duration::ZERO;
        let mut out = Vec::new();
        while now < until {
            let url = cycle.url();
            let pass = ok(url, now);
            let step = if pass {
                cycle.passed(timing)
            } else {
                cycle.failed(timing)
            };
            let at = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
            out.push((at, url, pass, step.changed));
            now += step.next_in;
        }
        out
    }

    #[test]
    fn one_url_per_delay_loop_in_turn() {
        let t = timing(1);
        let mut cycle = UrlCycle::new(3, true, false, &t);
        let trace = drive(&mut cycle, &t, ms(6000), |_, _| true);
        let urls: Vec<_> = trace.iter().map(|&(at, url, ..)| (at, url)).collect();
        assert_eq!(
            urls,
            vec![
                (0, 0),
                (1000, 1),
                (2000, 2),
                (3000, 0),
                (4000, 1),
                (5000, 2)
            ]
        );
        assert!(trace.iter().all(|&(.., changed)| changed.is_none()));
    }

    #[test]
    fn a_failing_url_is_retried_then_down_then_the_failed_url_then_every_url() {
        let t = timing(2);
        let mut cycle = UrlCycle::new(2, true, false, &t);
        // url 1 fails from 1.5 s to 5 s.
        let trace = drive(&mut cycle, &t, ms(9000), |url, at| {
            url != 1 || at < ms(1500) || at >= ms(5000)
        });
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (1000, 1, true, None),
                (2000, 0, true, None),
                (3000, 1, false, None),        // retry 1 after 300 ms
                (3300, 1, false, None),        // retry 2
                (3600, 1, false, Some(false)), // down; the failed url every 1 s
                (4600, 1, false, None),        //
                (5600, 1, true, None),         // it passes: every url from the first
                (6600, 0, true, None),         //
                (7600, 1, true, Some(true)),   // all passed: up
                (8600, 0, true, None),
            ]
        );
    }

    #[test]
    fn carried_over_a_reload_one_url_per_delay_loop_and_retries_unspent() {
        let t = timing(1);
        let mut cycle = UrlCycle::new(3, true, true, &t);
        cycle.carried_over();
        let trace = drive(&mut cycle, &t, ms(2500), |url, at| {
            url != 2 || at >= ms(2500)
        });
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (1000, 1, true, None),
                (2000, 2, false, None), // retried: retries unspent
                (2300, 2, false, Some(false)),
            ]
        );
    }

    #[test]
    fn at_start_one_failure_takes_it_down() {
        let t = timing(3);
        let mut cycle = UrlCycle::new(2, true, false, &t);
        let trace = drive(&mut cycle, &t, ms(1500), |url, _| url == 0);
        assert_eq!(
            trace,
            vec![(0, 0, true, None), (1000, 1, false, Some(false))]
        );
    }

    #[test]
    fn fast_recovery_checks_every_url_at_once_at_start_and_on_recovery() {
        let t = timing(1);
        let mut cycle = UrlCycle::new(3, false, true, &t);
        // Alpha start: all urls at once, up; then one per delay_loop.
        let trace = drive(&mut cycle, &t, ms(2500), |_, _| true);
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (0, 1, true, None),
                (0, 2, true, Some(true)),
                (1000, 0, true, None),
                (2000, 1, true, None),
            ]
        );
        // url 2 fails (retry 1): down; its pass brings every url at once, then up.
        let mut cycle = UrlCycle::new(3, true, true, &t);
        let trace = drive(&mut cycle, &t, ms(6000), |url, at| {
            url != 2 || at < ms(1) || at >= ms(3000)
        });
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (0, 1, true, None),
                (0, 2, true, None), // first pass done (it started up: no change)
                (1000, 0, true, None),
                (2000, 1, true, None),
                (3000, 2, true, None),
                (4000, 0, true, None),
                (5000, 1, true, None),
            ]
        );
        let mut cycle = UrlCycle::new(3, true, true, &t);
        let trace = drive(&mut cycle, &t, ms(6000), |url, at| {
            url != 2 || at < ms(1) || at >= ms(3500)
        });
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (0, 1, true, None),
                (0, 2, true, None),
                (1000, 0, true, None),
                (2000, 1, true, None),
                (3000, 2, false, None),        // retry after 300 ms
                (3300, 2, false, Some(false)), // down: the failed url every 1 s
                (4300, 2, true, None),         // passes: every url at once
                (4300, 0, true, None),
                (4300, 1, true, None),
                (4300, 2, true, Some(true)),
                (5300, 0, true, None),
            ]
        );
    }

    #[test]
    fn a_failure_in_the_recovery_pass_waits_delay_before_retry() {
        let t = timing(0);
        let mut cycle = UrlCycle::new(2, true, true, &t);
        // url 0 fails at 1 s (down); url 1 fails from 2 s to 2.5 s.
        let trace = drive(&mut cycle, &t, ms(3000), |url, at| match url {
            0 => at != ms(1000),
            _ => at < ms(2000) || at >= ms(2500),
        });
        assert_eq!(
            trace,
            vec![
                (0, 0, true, None),
                (0, 1, true, None),
                (1000, 0, false, Some(false)), // retry 0: down at once
                (2000, 0, true, None),         // the failed url passes: all at once
                (2000, 0, true, None),
                (2000, 1, false, None), // keepalived: again at once, while it fails
                (2300, 1, false, None),
                (2600, 1, true, Some(true)),
            ]
        );
    }
}
