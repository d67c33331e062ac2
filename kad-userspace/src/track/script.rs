//! `vrrp_script`: runs the script every `interval`, kills it after `timeout`, and reports a
//! change of status after `rise` successes or `fall` failures in a row.

use tokio::sync::mpsc;

use crate::{
    exec::scripts::{self, split_words},
    vrrp::fsm::TrackerStatus,
};

use super::{ScriptSpec, TrackerIndex, TrackerUpdate};

/// Rise/fall debouncing of script results (pure, so it is tested alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounce {
    up: bool,
    run: u32,
    rise: u32,
    fall: u32,
}

impl Debounce {
    /// Starts up (or down with `init_fail`).
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> Self {
        Self {
            up: !init_fail,
            run: 0,
            rise: rise.max(1),
            fall: fall.max(1),
        }
    }

    /// Whether the object counts as up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Records one result; returns the new status when it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.up {
            self.run = 0;
            return None;
        }
        self.run += 1;
        let needed = if success { self.rise } else { self.fall };
        if self.run >= needed {
            self.up = success;
            self.run = 0;
            Some(success)
        } else {
            None
        }
    }
}

/// Runs `spec` forever, sending changes of status for tracker `index`.
pub async fn run(index: TrackerIndex, spec: ScriptSpec, updates: mpsc::Sender<TrackerUpdate>) {
    if split_words(&spec.command).is_empty() {
        tracing::error!(script = %spec.name, "vrrp_script has an empty command");
        return;
    }
    let mut state = Debounce::new(spec.rise, spec.fall, spec.init_fail);
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let success = match scripts::run_with_timeout(&spec.command, spec.run_as, spec.timeout)
            .await
        {
            Ok(status) => status.success(),
            Err(err) => {
                tracing::warn!(script = %spec.name, timeout = ?spec.timeout, error = %err, "vrrp_script failed to run");
                false
            }
        };
        if let Some(up) = state.record(success) {
            tracing::info!(script = %spec.name, "VRRP_Script({}) {}", spec.name, if up { "succeeded" } else { "failed" });
            let status = if up {
                TrackerStatus::Up
            } else {
                TrackerStatus::Down
            };
            if updates.send(TrackerUpdate { index, status }).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Debounce;

    #[test]
    fn rise_and_fall_need_that_many_results_in_a_row() {
        let mut d = Debounce::new(2, 3, false);
        assert!(d.is_up());
        assert_eq!(d.record(false), None);
        assert_eq!(d.record(false), None);
        assert_eq!(d.record(true), None, "a success breaks the run of failures");
        assert_eq!(d.record(false), None);
        assert_eq!(d.record(false), None);
        assert_eq!(d.record(false), Some(false), "third failure in a row: down");
        assert_eq!(d.record(true), None);
        assert_eq!(d.record(true), Some(true), "second success in a row: up");
    }

    #[test]
    fn init_fail_starts_down_and_zero_counts_as_one() {
        let mut d = Debounce::new(0, 0, true);
        assert!(!d.is_up());
        assert_eq!(d.record(true), Some(true));
        assert_eq!(d.record(false), Some(false));
    }
}
