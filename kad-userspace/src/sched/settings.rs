//! The scheduling keywords of global_defs, read into [`Settings`] for the process kad is
//! (pure: the words come from `GlobalDefs::other`, checked by kad-config's spec table).

use std::time::Duration;

use kad_config::model::GlobalDefs;

/// Whose keywords apply to the one kad process: keepalived sets `vrrp_*` on its VRRP child
/// and `checker_*` on its checker child; kad runs as whichever of them it replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// kad runs VRRP (alone with `-P`, or beside the checkers): `vrrp_*`.
    Vrrp,
    /// kad runs only health checkers and IPVS (`-C`, or a configuration without VRRP
    /// instances): `checker_*`.
    Checker,
    /// kad's BFD thread (keepalived's BFD process): `bfd_*`.
    Bfd,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Self::Vrrp => "vrrp",
            Self::Checker => "checker",
            Self::Bfd => "bfd",
        }
    }
}

/// keepalived's `RT_RLIMIT_DEFAULT`: `*_rlimit_rttime` when unset, in microseconds.
pub const DEFAULT_RLIMIT_RTTIME_US: u64 = 10_000;

/// keepalived's default `min_auto_priority_delay`: one second.
pub const DEFAULT_MIN_AUTO_PRIORITY_DELAY: Duration = Duration::from_secs(1);

/// `max_auto_priority` without a value: `sched_get_priority_max(SCHED_RR)` on Linux.
pub const MAX_RT_PRIORITY: u32 = 99;

/// What the process is set to (keepalived.conf(5) global_defs: `<role>_priority`,
/// `<role>_rt_priority`, `<role>_no_swap`, `<role>_cpu_affinity`, `<role>_rlimit_rttime`,
/// `max_auto_priority`, `min_auto_priority_delay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `<role>_priority`: the nice value, applied only without a realtime priority (as
    /// keepalived does).
    pub nice: Option<i32>,
    /// `<role>_rt_priority`: SCHED_RR at this priority.
    pub rt_priority: Option<u32>,
    /// `<role>_rlimit_rttime` (or the older `<role>_rlimit_rtime`): RLIMIT_RTTIME's hard
    /// limit in microseconds, half of it the soft limit, set whenever the process runs
    /// realtime.
    pub rlimit_rttime_us: u64,
    /// `<role>_no_swap`: `mlockall`.
    pub no_swap: bool,
    /// `<role>_cpu_affinity`: the CPUs the process may run on (empty: unchanged).
    pub cpus: Vec<usize>,
    /// `max_auto_priority`: the highest SCHED_RR priority kad raises itself to when it
    /// runs late (0: never).
    pub max_auto_priority: u32,
    /// `min_auto_priority_delay`: how late a timer must fire for kad to raise its priority.
    pub min_auto_priority_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            nice: None,
            rt_priority: None,
            rlimit_rttime_us: DEFAULT_RLIMIT_RTTIME_US,
            no_swap: false,
            cpus: Vec::new(),
            max_auto_priority: 0,
            min_auto_priority_delay: DEFAULT_MIN_AUTO_PRIORITY_DELAY,
        }
    }
}

/// A scheduling keyword's value kad cannot use (the keyword is then left unapplied).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A word that is not a number in the keyword's range.
    #[error("{keyword}: '{value}' is not {expected}")]
    Value {
        /// The keyword.
        keyword: String,
        /// The word given.
        value: String,
        /// What was expected.
        expected: String,
    },
}

impl Settings {
    /// The settings `global` gives the process in `role`; `online_cpus` bounds the CPU
    /// numbers of `<role>_cpu_affinity` (keepalived refuses the whole set when one CPU
    /// is not online).
    pub fn from_config(
        global: &GlobalDefs,
        role: Role,
        online_cpus: usize,
    ) -> (Self, Vec<SettingsError>) {
        let mut errors = Vec::new();
        let mut settings = Self::default();
        let prefix = role.prefix();
        let words = |name: &str| global.other.get(name).map(Vec::as_slice);
        let mut number = |name: &str, min: i64, max: i64| -> Option<i64> {
            let word = words(name)?.first()?;
            match word.parse::<i64>() {
                Ok(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    errors.push(SettingsError::Value {
                        keyword: name.to_owned(),
                        value: word.clone(),
                        expected: format!("a number in {min}..={max}"),
                    });
                    None
                }
            }
        };
        settings.nice = number(&format!("{prefix}_priority"), -20, 19)
            .and_then(|v| i32::try_from(v).ok())
            .filter(|v| *v != 0);
        settings.rt_priority =
            number(&format!("{prefix}_rt_priority"), 1, 99).and_then(|v| u32::try_from(v).ok());
        // keepalived 2.2.7 reads the older spelling with the same handler.
        let rttime = format!("{prefix}_rlimit_rttime");
        let rtime = format!("{prefix}_rlimit_rtime");
        let limit = if global.other.contains_key(&rttime) {
            number(&rttime, 1, i64::from(u32::MAX))
        } else {
            number(&rtime, 1, i64::from(u32::MAX))
        };
        if let Some(limit) = limit.and_then(|v| u64::try_from(v).ok()) {
            // Half of it is the soft limit, which must not be 0: keepalived makes 1 into 2.
            settings.rlimit_rttime_us = limit.max(2);
        }
        match words("max_auto_priority") {
            Some([]) => settings.max_auto_priority = MAX_RT_PRIORITY,
            Some(_) => {
                // -1 only silences keepalived's startup notice; no raising either way.
                if let Some(v) = number("max_auto_priority", -1, i64::from(MAX_RT_PRIORITY)) {
                    settings.max_auto_priority = u32::try_from(v).unwrap_or(0);
                }
            }
            None => {}
        }
        if let Some(us) =
            number("min_auto_priority_delay", 1, 10_000_000).and_then(|v| u64::try_from(v).ok())
        {
            settings.min_auto_priority_delay = Duration::from_micros(us);
        }
        settings.no_swap = global.other.contains_key(&format!("{prefix}_no_swap"));
        let affinity = format!("{prefix}_cpu_affinity");
        if let Some(list) = words(&affinity) {
            let cpus: Result<Vec<usize>, String> = list
                .iter()
                .map(|w| {
                    w.parse::<usize>()
                        .ok()
                        .filter(|cpu| *cpu < online_cpus)
                        .ok_or_else(|| w.clone())
                })
                .collect();
            match cpus {
                Ok(cpus) => settings.cpus = cpus,
                Err(value) => errors.push(SettingsError::Value {
                    keyword: affinity,
                    value,
                    expected: format!(
                        "an online CPU number (0..={})",
                        online_cpus.saturating_sub(1)
                    ),
                }),
            }
        }
        (settings, errors)
    }

    /// Whether these settings change the process at all.
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(lines: &[(&str, &[&str])]) -> GlobalDefs {
        let mut g = GlobalDefs::default();
        for (name, words) in lines {
            g.other.insert(
                (*name).to_owned(),
                words.iter().map(|w| (*w).to_owned()).collect(),
            );
        }
        g
    }

    #[test]
    fn vrrp_keywords_apply_to_vrrp_and_checker_ones_to_checkers() {
        let g = global(&[
            ("vrrp_priority", &["-5"]),
            ("vrrp_rt_priority", &["10"]),
            ("vrrp_no_swap", &[]),
            ("vrrp_cpu_affinity", &["0", "1"]),
            ("vrrp_rlimit_rttime", &["20000"]),
            ("checker_priority", &["7"]),
            ("checker_rlimit_rtime", &["1"]),
        ]);
        let (vrrp, errors) = Settings::from_config(&g, Role::Vrrp, 2);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            vrrp,
            Settings {
                nice: Some(-5),
                rt_priority: Some(10),
                rlimit_rttime_us: 20_000,
                no_swap: true,
                cpus: vec![0, 1],
                ..Settings::default()
            }
        );
        let (checker, _) = Settings::from_config(&g, Role::Checker, 2);
        assert_eq!(
            checker,
            Settings {
                nice: Some(7),
                // The older spelling; 1 becomes 2 (its half must not be 0).
                rlimit_rttime_us: 2,
                ..Settings::default()
            }
        );
        assert!(
            Settings::from_config(&GlobalDefs::default(), Role::Vrrp, 2)
                .0
                .is_default()
        );
    }

    #[test]
    fn max_auto_priority_without_a_value_is_the_highest_and_minus_one_is_off() {
        let (s, _) = Settings::from_config(&global(&[("max_auto_priority", &[])]), Role::Vrrp, 1);
        assert_eq!(s.max_auto_priority, MAX_RT_PRIORITY);
        assert_eq!(s.min_auto_priority_delay, Duration::from_secs(1));
        let (s, _) = Settings::from_config(
            &global(&[
                ("max_auto_priority", &["-1"]),
                ("min_auto_priority_delay", &["250000"]),
            ]),
            Role::Vrrp,
            1,
        );
        assert_eq!(s.max_auto_priority, 0);
        assert_eq!(s.min_auto_priority_delay, Duration::from_millis(250));
    }

    #[test]
    fn an_offline_cpu_leaves_the_affinity_unset() {
        let (s, errors) = Settings::from_config(
            &global(&[("vrrp_cpu_affinity", &["0", "4"])]),
            Role::Vrrp,
            2,
        );
        assert!(s.cpus.is_empty());
        assert_eq!(
            errors,
            vec![SettingsError::Value {
                keyword: "vrrp_cpu_affinity".into(),
                value: "4".into(),
                expected: "an online CPU number (0..=1)".into(),
            }]
        );
    }
}
