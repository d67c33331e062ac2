//! keepalived.conf `max_auto_priority` / `min_auto_priority_delay`: when a timer fires
//! more than the delay late, the process is not getting the CPU in time; it then switches
//! to SCHED_RR at priority 1, and one higher each further time, up to the maximum
//! (keepalived's scheduler checks its earliest timer on every wake-up; kad's runtime is
//! watched by a timer of its own on the same thread as the VRRP loop).

use std::time::Duration;

use tokio::{sync::watch, time::Instant};

/// What the watchdog watches for: set while `max_auto_priority` is above 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Watch {
    /// `min_auto_priority_delay`.
    pub delay: Duration,
}

/// Whether a timer due at `deadline` that ran at `woke` ran late enough to raise the
/// priority: more than `delay` after it was due (keepalived: "A thread timer expired …
/// seconds ago").
pub(super) fn is_late(deadline: Instant, woke: Instant, delay: Duration) -> bool {
    woke.saturating_duration_since(deadline) > delay
}

/// The SCHED_RR priority to take when running late at `current` (None: not realtime), or
/// None to stay: the lowest realtime priority first, then one higher each time, never past
/// `max` (0: automatic raising is off), as keepalived's `increment_process_priority`.
pub(super) fn next_rt_priority(current: Option<u32>, max: u32) -> Option<u32> {
    match current {
        _ if max == 0 => None,
        None => Some(1),
        Some(priority) if priority >= max => None,
        Some(priority) => Some(priority + 1),
    }
}

/// How often the watchdog's timer fires: the delay, within 10 ms and 1 s (a stall longer
/// than the delay and the period together is always seen).
pub(super) fn period(delay: Duration) -> Duration {
    delay.clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Runs the watchdog: while `watch` holds a value, a timer fires every [`period`] and
/// `raise` is called each time it fires late; with none it waits for one.
pub(super) async fn run(mut watch: watch::Receiver<Option<Watch>>, raise: impl Fn(Duration)) {
    loop {
        let current = *watch.borrow_and_update();
        let Some(Watch { delay }) = current else {
            if watch.changed().await.is_err() {
                return;
            }
            continue;
        };
        let deadline = Instant::now() + period(delay);
        tokio::select! {
            changed = watch.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let woke = Instant::now();
                if is_late(deadline, woke, delay) {
                    raise(woke.saturating_duration_since(deadline));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_means_more_than_the_delay_after_the_deadline() {
        let deadline = Instant::now();
        let delay = Duration::from_millis(100);
        assert!(!is_late(deadline, deadline, delay));
        assert!(!is_late(deadline, deadline + delay, delay));
        assert!(is_late(
            deadline,
            deadline + delay + Duration::from_micros(1),
            delay
        ));
        // Woken before the deadline (a clock read earlier): not late.
        assert!(!is_late(deadline + delay * 3, deadline, delay));
    }

    #[test]
    fn priority_starts_at_one_and_rises_by_one_up_to_the_maximum() {
        assert_eq!(next_rt_priority(None, 0), None, "0: off");
        assert_eq!(next_rt_priority(Some(10), 0), None);
        assert_eq!(next_rt_priority(None, 5), Some(1));
        assert_eq!(next_rt_priority(Some(1), 5), Some(2));
        assert_eq!(next_rt_priority(Some(4), 5), Some(5));
        assert_eq!(next_rt_priority(Some(5), 5), None);
        // A configured rt_priority above the maximum stays.
        assert_eq!(next_rt_priority(Some(50), 20), None);
    }

    #[test]
    fn the_watchdog_period_follows_the_delay_within_bounds() {
        assert_eq!(period(Duration::from_micros(1)), Duration::from_millis(10));
        assert_eq!(
            period(Duration::from_millis(200)),
            Duration::from_millis(200)
        );
        assert_eq!(period(Duration::from_secs(10)), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_runtime_raises_once_per_stall() {
        use std::{cell::RefCell, rc::Rc};
        let (tx, rx) = watch::channel(Some(Watch {
            delay: Duration::from_millis(100),
        }));
        let raised = Rc::new(RefCell::new(Vec::new()));
        let seen = Rc::clone(&raised);
        let local = tokio::task::LocalSet::new();
        local.spawn_local(run(rx, move |late| seen.borrow_mut().push(late)));
        local
            .run_until(async {
                // Timers on time: nothing.
                tokio::time::sleep(Duration::from_secs(1)).await;
                assert!(raised.borrow().is_empty());
                // The clock jumps 500 ms with no timer run: a stalled thread.
                tokio::time::advance(Duration::from_millis(500)).await;
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                assert_eq!(raised.borrow().len(), 1);
                assert!(raised.borrow()[0] > Duration::from_millis(300));
                // On time again: no further raise.
                tokio::time::sleep(Duration::from_secs(1)).await;
                assert_eq!(raised.borrow().len(), 1);
                // Switched off: the watchdog waits.
                tx.send_replace(None);
                tokio::time::sleep(Duration::from_millis(10)).await;
                tokio::time::advance(Duration::from_secs(5)).await;
                tokio::task::yield_now().await;
                assert_eq!(raised.borrow().len(), 1);
            })
            .await;
    }
}
