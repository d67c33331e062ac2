//! keepalived.conf `MISC_CHECK`: run `misc_path` (as its `user`, else `script_user`, with
//! `enable_script_security`'s checks: see [`crate::exec::scripts`]), killed after `misc_timeout`
//! (default `delay_loop`). Exit 0 is up, anything else down; with `misc_dynamic`
//! (keepalived.conf(5)): 0 up with the weight unchanged, 1 down, 2..=255 up with weight
//! `code - 2`.

use std::time::Duration;

use crate::exec::scripts::{self, RunAs};

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

    /// Whether `pid` is a live process (a reaped orphan's /proc entry is gone; a zombie
    /// counts as dead).
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X")
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_timed_out_misc_check_leaves_no_child_behind() {
        let dir = std::env::temp_dir().join(format!("kad-misc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let pidfile = dir.join("child.pid");
        let spec = MiscSpec {
            command: format!(
                "/bin/sh -c 'sleep 1000 & echo $! > {}; sleep 1000'",
                pidfile.display()
            ),
            run_as: RunAs {
                uid: nix::unistd::geteuid().as_raw(),
                gid: nix::unistd::getegid().as_raw(),
            },
            timeout: Duration::from_millis(500),
            dynamic: false,
        };
        assert_eq!(probe(&spec).await, Err(ProbeError::Timeout("misc_timeout")));
        let child: i32 = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid written"));
        let mut gone = false;
        for _ in 0..100 {
            if !alive(child) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !gone {
            let pid = nix::unistd::Pid::from_raw(child);
            if let Ok(group) = nix::unistd::getpgid(Some(pid)) {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(gone, "the MISC_CHECK's child {child} outlived misc_timeout");
    }
}
