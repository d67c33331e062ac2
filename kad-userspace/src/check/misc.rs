//! keepalived.conf `MISC_CHECK`: run `misc_path` (as its `user`, else `script_user`, with
//! `enable_script_security`'s checks: see [`crate::scripts`]), killed after `misc_timeout`
//! (default `delay_loop`). Exit 0 is up, anything else down; with `misc_dynamic`
//! (keepalived.conf(5)): 0 up with the weight unchanged, 1 down, 2..=255 up with weight
//! `code - 2`.

use std::{process::Stdio, time::Duration};

use crate::scripts::{self, RunAs, split_words};

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
    let words = split_words(&spec.command);
    let Some((program, args)) = words.split_first() else {
        return Err(ProbeError::Check("empty misc_path".into()));
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    scripts::apply(command.as_std_mut(), spec.run_as);
    let mut child = command
        .spawn()
        .map_err(|e| ProbeError::Check(format!("cannot run {program}: {e}")))?;
    match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => judge(status.code(), spec.dynamic),
        Ok(Err(err)) => Err(ProbeError::io(err)),
        Err(_) => {
            let _ = child.kill().await;
            Err(ProbeError::Timeout("misc_timeout"))
        }
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
