//! keepalived.conf `MISC_CHECK`: run `misc_path` (as its `user`, else `script_user`, with
//! `enable_script_security`'s checks: see [`crate::scripts`]), killed after `misc_timeout`
//! (default `delay_loop`). Exit 0 is up, anything else down; with `misc_dynamic`
//! (keepalived.conf(5)): 0 up with the weight unchanged, 1 down, 2..=255 up with weight
//! `code - 2`.

use std::time::Duration;

use crate::scripts::{self, RunAs};

use super::{Pass, ProbeError};

/// A MISC_CHECK, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MiscSpec {
    /// keepalived.conf `misc_path`: the command line.
    pub command: String,
    /// Who runs it.
    pub run_as: RunAs,
    /// keepalived.conf `misc_timeout`.
    pub timeout: Duration,
    /// keepalived.conf `misc_dynamic`.
    pub dynamic: bool,
}

/// What an exit code means (`None`: killed by a signal).
pub fn judge(code: Option<i32>, dynamic: bool) -> Result<Pass, ProbeError> {
    match (code, dynamic) {
        (Some(0), _) => Ok(Pass::default()),
        (Some(code @ 2..=255), true) => Ok(Pass {
            weight: Some(code - 2),
        }),
        (Some(code), _) => Err(ProbeError::Check(format!("exit status {code}"))),
        (None, _) => Err(ProbeError::Check("killed by a signal".into())),
    }
}

/// Runs the script once.
pub async fn probe(spec: &MiscSpec) -> Result<Pass, ProbeError> {
    match scripts::run_with_timeout(&spec.command, spec.run_as, spec.timeout).await {
        Ok(status) => judge(status.code(), spec.dynamic),
        Err(scripts::RunError::Empty) => Err(ProbeError::Check("empty misc_path".into())),
        Err(scripts::RunError::TimedOut) => Err(ProbeError::Timeout("misc_timeout")),
        Err(err) => Err(ProbeError::Check(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misc_dynamic_exit_codes_follow_keepalived() {
        assert_eq!(judge(Some(0), true), Ok(Pass { weight: None }));
        assert!(judge(Some(1), true).is_err());
        assert_eq!(judge(Some(2), true), Ok(Pass { weight: Some(0) }));
        assert_eq!(judge(Some(255), true), Ok(Pass { weight: Some(253) }));
        assert!(judge(Some(7), false).is_err());
        assert!(judge(None, true).is_err());
    }
}
