//! Scripts kad runs (keepalived.conf(5) "SCRIPTS"): which user runs each one and whether it
//! may run at all.
//!
//! - Who: a script's own `user USER [GROUP]` (vrrp_script) or the words after a notify
//!   script's path, else global `script_user USER [GROUP]`, else `keepalived_script` if that
//!   user exists, else root — except that with `enable_script_security` a missing
//!   `keepalived_script` is an error and the script is dropped, as in keepalived. Without a
//!   group, the user's primary group. Supplementary groups are dropped ([`apply`]).
//! - Whether: a script that would run as root (uid or gid 0, or a set-uid/set-gid root
//!   file) must not be replaceable by anyone but root: neither the file nor any directory on
//!   its path may be owned by a non-root user, nor be writable by a non-root group or by
//!   everyone (a directory with the sticky bit, like `/tmp`, is allowed to be). Three paths
//!   are checked: the path as written (every component, a symlinked directory by its owner
//!   and the directory holding it), the path with its directories resolved, and the file a
//!   symlink points at. With `enable_script_security` such a script is refused; without it,
//!   it runs and is reported.
//! - What runs: the path with its directories resolved ([`Checked::program`]), which
//!   replaces the first word of the command line ([`with_program`]) as keepalived replaces
//!   argv[0]: a symlinked directory on the written path swapped after the check changes
//!   nothing.
//!
//! These checks run when the configuration is loaded (`kad -t`, start, reload), as
//! keepalived makes them at startup; [`check`] does them against the file system.

use std::{
    ffi::OsStr,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Component, Path, PathBuf},
};

pub mod run;

// The data and pure rules (who runs a script, what its check found, how a line splits) live
// in kad-config, whose validation asks for these checks through `config::Environment`.
pub use kad_config::scripts::{
    Checked, DEFAULT_USER, Refusal, ResolveError, RunAs, Unsafe, UnsafeReason, UserError, resolve,
    split_words, with_program,
};
pub use run::{RunError, run_with_timeout};

/// A command line to run and who runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptCommand {
    /// The command line (path and arguments, split like keepalived).
    pub command: String,
    /// Who runs it.
    pub run_as: RunAs,
}

/// keepalived.conf `script_user USER [GROUP]` / `user USER [GROUP]`: the ids of `user` (and
/// of `group`, else the user's primary group) in the system's user database.
pub fn lookup(user: &str, group: Option<&str>) -> Result<RunAs, UserError> {
    let entry = nix::unistd::User::from_name(user)
        .map_err(|e| UserError::Lookup {
            name: user.to_owned(),
            error: e.to_string(),
        })?
        .ok_or_else(|| UserError::NoUser(user.to_owned()))?;
    let gid = match group {
        Some(group) => nix::unistd::Group::from_name(group)
            .map_err(|e| UserError::Lookup {
                name: group.to_owned(),
                error: e.to_string(),
            })?
            .ok_or_else(|| UserError::NoGroup(group.to_owned()))?
            .gid
            .as_raw(),
        None => entry.gid.as_raw(),
    };
    Ok(RunAs {
        uid: entry.uid.as_raw(),
        gid,
    })
}

/// Who runs a script configured with `own` (`user USER [GROUP]`, or the words after a notify
/// script or FIFO): that user, else global `script_user`, else keepalived's default user, as
/// this system's user database resolves them; refused under `enable_script_security` when
/// the default user does not exist.
pub fn run_as(
    global: &kad_config::model::GlobalDefs,
    own: Option<(&str, Option<&str>)>,
) -> Result<RunAs, ResolveError> {
    let global_user = global
        .script_user
        .as_ref()
        .map(|(user, group)| (user.as_str(), group.as_deref()));
    resolve(own, global_user, global.enable_script_security, lookup)
}

/// Sets who runs `command`: uid, gid, and no supplementary groups (std drops them when a
/// uid is set by root). Only root can switch users; kad running as another user runs
/// scripts as itself. When kad runs with the configuration's nice value or RLIMIT_RTTIME
/// (`vrrp_priority`, `vrrp_rlimit_rttime`), the script gets the process's original ones
/// back, as keepalived resets its priorities in every script child.
pub fn apply(command: &mut std::process::Command, run_as: RunAs) {
    use std::os::unix::process::CommandExt as _;
    if nix::unistd::geteuid().is_root() {
        command.uid(run_as.uid).gid(run_as.gid);
    }
    if let Some(original) = crate::sched::for_children() {
        // SAFETY: the closure runs between fork and exec and makes only the
        // async-signal-safe system calls of `Original::restore_in_child`.
        unsafe {
            command.pre_exec(move || {
                original.restore_in_child();
                Ok(())
            });
        }
    }
}

/// keepalived's script checks (see the module documentation) for the first word of a
/// script's command line, run as `run_as`.
pub fn check(program: &str, run_as: RunAs, script_security: bool) -> Result<Checked, Refusal> {
    let not_found = |error: String| Refusal::NotFound {
        program: program.to_owned(),
        error,
    };
    let (given, searched) = if program.contains('/') {
        (PathBuf::from(program), false)
    } else {
        (
            search_path(program, run_as).ok_or_else(|| not_found("not in PATH".into()))?,
            true,
        )
    };
    let real = std::fs::canonicalize(&given).map_err(|e| not_found(e.to_string()))?;
    // The path as written with its directories resolved (the file name kept: programs may
    // act on the name they are called by), and the file a symlink leads to.
    let file_name = given
        .file_name()
        .ok_or_else(|| not_found("no file name".into()))?;
    let dir = match given.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let named = std::fs::canonicalize(&dir)
        .map_err(|e| not_found(e.to_string()))?
        .join(file_name);
    let meta = std::fs::metadata(&real).map_err(|e| not_found(e.to_string()))?;
    if !meta.is_file() || !executable(&meta, run_as) {
        return Err(Refusal::NotExecutable {
            path: named,
            run_as,
        });
    }
    let mode = meta.mode();
    let privileged = run_as.is_privileged()
        || (meta.uid() == 0 && mode & 0o4100 == 0o4100)
        || (meta.gid() == 0 && mode & 0o2010 == 0o2010);
    let mut insecure = None;
    if privileged {
        // The path as written (relative to the working directory if it is relative).
        let written = if given.is_absolute() {
            given.clone()
        } else {
            std::env::current_dir()
                .map_err(|e| not_found(e.to_string()))?
                .join(&given)
        };
        let mut paths = vec![&written, &named, &real];
        paths.dedup();
        for path in paths {
            if let Some(found) = unsafe_component(path)? {
                if script_security {
                    return Err(Refusal::Unsafe(found));
                }
                insecure.get_or_insert(found);
            }
        }
    }
    Ok(Checked {
        program: named,
        searched,
        insecure,
    })
}

/// The first component of absolute `path` (from `/` down) that a non-root user could use
/// to replace what `path` names. Each component is looked at itself (not followed): a
/// symlink (to a directory before the last component) counts by its owner, and what it
/// points at is reached by the next components.
pub fn unsafe_component(path: &Path) -> Result<Option<Unsafe>, Refusal> {
    let mut prefix = PathBuf::new();
    let components: Vec<Component<'_>> = path.components().collect();
    let last = components.len().saturating_sub(1);
    for (index, component) in components.iter().enumerate() {
        prefix.push(component.as_os_str());
        let meta = std::fs::symlink_metadata(&prefix).map_err(|e| Refusal::NotFound {
            program: path.display().to_string(),
            error: format!("{}: {e}", prefix.display()),
        })?;
        let kind = meta.file_type();
        let right_type = if index < last {
            kind.is_dir() || kind.is_symlink()
        } else {
            kind.is_file() || kind.is_symlink()
        };
        if !right_type {
            return Err(Refusal::WrongType { path: prefix });
        }
        if let Some(reason) = unsafe_reason(meta.uid(), meta.gid(), meta.mode(), kind.is_dir()) {
            return Ok(Some(Unsafe {
                path: prefix,
                reason,
            }));
        }
    }
    Ok(None)
}

/// Whether a file or directory with this owner, group and mode lets a non-root user replace
/// it (or, for a directory, what it holds). Symlinks count by owner only.
pub fn unsafe_reason(uid: u32, gid: u32, mode: u32, is_dir: bool) -> Option<UnsafeReason> {
    if uid != 0 {
        return Some(UnsafeReason::Owner(uid));
    }
    let is_file = mode & libc::S_IFMT == libc::S_IFREG;
    let sticky = mode & 0o1000 != 0;
    if !(is_file || (is_dir && !sticky)) {
        return None;
    }
    if gid != 0 && mode & 0o020 != 0 {
        Some(UnsafeReason::GroupWritable(gid))
    } else if mode & 0o002 != 0 {
        Some(UnsafeReason::WorldWritable)
    } else {
        None
    }
}

/// Whether `run_as` may execute a file with `meta` (root: any execute bit).
fn executable(meta: &std::fs::Metadata, run_as: RunAs) -> bool {
    let mode = meta.permissions().mode();
    if run_as.uid == 0 {
        mode & 0o111 != 0
    } else if meta.uid() == run_as.uid {
        mode & 0o100 != 0
    } else if meta.gid() == run_as.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// The first regular file called `name` on `PATH` that `run_as` can execute.
fn search_path(name: &str, run_as: RunAs) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| OsStr::new("/usr/local/bin:/usr/bin:/bin").to_owned());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && executable(&m, run_as))
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A scratch folder under the system temp folder (root-owned `/tmp` is sticky).
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kad-scripts-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    fn script(path: &Path, mode: u32) {
        std::fs::write(path, "#!/bin/sh\nexit 0\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    const NOBODY: RunAs = RunAs {
        uid: 65534,
        gid: 65534,
    };

    #[test]
    fn writable_bits_follow_keepalived() {
        const FILE: u32 = libc::S_IFREG;
        const DIR: u32 = libc::S_IFDIR;
        assert_eq!(unsafe_reason(0, 0, FILE | 0o755, false), None);
        assert_eq!(unsafe_reason(0, 0, FILE | 0o775, false), None, "root group");
        assert_eq!(
            unsafe_reason(0, 7, FILE | 0o775, false),
            Some(UnsafeReason::GroupWritable(7))
        );
        assert_eq!(
            unsafe_reason(0, 0, FILE | 0o757, false),
            Some(UnsafeReason::WorldWritable)
        );
        assert_eq!(
            unsafe_reason(1000, 0, FILE | 0o700, false),
            Some(UnsafeReason::Owner(1000))
        );
        assert_eq!(
            unsafe_reason(0, 0, DIR | 0o777, true),
            Some(UnsafeReason::WorldWritable)
        );
        assert_eq!(
            unsafe_reason(0, 0, DIR | 0o1777, true),
            None,
            "sticky directories (/tmp) are fine"
        );
        assert_eq!(
            unsafe_reason(0, 0, libc::S_IFLNK | 0o777, false),
            None,
            "a root-owned symlink's mode means nothing"
        );
    }

    #[test]
    fn root_scripts_in_safe_places_pass_and_world_writable_ones_are_refused() {
        let dir = scratch("perm");
        let safe = dir.join("safe.sh");
        script(&safe, 0o755);
        let open = dir.join("open.sh");
        script(&open, 0o777);
        let wdir = dir.join("open-dir");
        std::fs::create_dir(&wdir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&wdir, std::fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("{e}"));
        let inner = wdir.join("inner.sh");
        script(&inner, 0o755);
        let link = dir.join("link.sh");
        std::os::unix::fs::symlink(&inner, &link).unwrap_or_else(|e| panic!("{e}"));
        if !is_root() {
            // Files we create are ours, not root's: every root script is unsafe by owner.
            assert!(matches!(
                check(&safe.to_string_lossy(), RunAs::ROOT, true),
                Err(Refusal::Unsafe(Unsafe {
                    reason: UnsafeReason::Owner(_),
                    ..
                }))
            ));
            return;
        }

        let ok = check(&safe.to_string_lossy(), RunAs::ROOT, true);
        assert_eq!(ok.as_ref().map(|c| c.insecure.clone()), Ok(None), "{ok:?}");

        assert_eq!(
            check(&open.to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: open.clone(),
                reason: UnsafeReason::WorldWritable
            }))
        );
        // Without enable_script_security it runs, flagged.
        let flagged = check(&open.to_string_lossy(), RunAs::ROOT, false);
        assert!(
            matches!(&flagged, Ok(Checked { insecure: Some(u), .. }) if u.path == open),
            "{flagged:?}"
        );
        // A safe file in a world-writable directory.
        assert_eq!(
            check(&inner.to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: wdir.clone(),
                reason: UnsafeReason::WorldWritable
            }))
        );
        // A symlink in a safe place to a file in a world-writable directory: the target's
        // path is checked too.
        assert_eq!(
            check(&link.to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: wdir.clone(),
                reason: UnsafeReason::WorldWritable
            }))
        );
        // Group root may run it too.
        assert!(check(&open.to_string_lossy(), RunAs { uid: 65534, gid: 0 }, true).is_err());
        // Run as nobody, nothing needs protecting.
        assert!(check(&open.to_string_lossy(), NOBODY, true).is_ok());

        // Owned by someone else.
        nix::unistd::chown(&safe, Some(nix::unistd::Uid::from_raw(65534)), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            check(&safe.to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: safe.clone(),
                reason: UnsafeReason::Owner(65534)
            }))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_symlinked_directory_on_the_written_path_is_checked_and_resolved() {
        if !is_root() {
            eprintln!("skipped: needs root-owned files (run as root)");
            return;
        }
        let dir = scratch("link");
        let safe = dir.join("safe");
        std::fs::create_dir(&safe).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        script(&safe.join("s.sh"), 0o755);
        // A root-owned symlink to the safe directory, in a safe place: runs, and what runs
        // is the resolved path (no symlink left for anyone to swap).
        let link = dir.join("link");
        std::os::unix::fs::symlink(&safe, &link).unwrap_or_else(|e| panic!("{e}"));
        let checked = check(&link.join("s.sh").to_string_lossy(), RunAs::ROOT, true);
        assert_eq!(
            checked
                .as_ref()
                .map(|c| (c.program.clone(), c.insecure.clone())),
            Ok((safe.join("s.sh"), None)),
            "{checked:?}"
        );
        // The same symlink inside a world-writable directory: anyone could point it
        // elsewhere, so the path as written is unsafe although its target is not.
        let open = dir.join("open");
        std::fs::create_dir(&open).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("{e}"));
        let swappable = open.join("link");
        std::os::unix::fs::symlink(&safe, &swappable).unwrap_or_else(|e| panic!("{e}"));
        let written = swappable.join("s.sh");
        assert_eq!(
            check(&written.to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: open.clone(),
                reason: UnsafeReason::WorldWritable
            }))
        );
        let flagged = check(&written.to_string_lossy(), RunAs::ROOT, false);
        assert!(
            matches!(&flagged, Ok(Checked { insecure: Some(u), .. }) if u.path == open),
            "{flagged:?}"
        );
        // A symlinked directory owned by someone else.
        let theirs = dir.join("theirs");
        std::os::unix::fs::symlink(&safe, &theirs).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::lchown(&theirs, Some(65534), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            check(&theirs.join("s.sh").to_string_lossy(), RunAs::ROOT, true),
            Err(Refusal::Unsafe(Unsafe {
                path: theirs.clone(),
                reason: UnsafeReason::Owner(65534)
            }))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_and_non_executable_scripts_are_refused() {
        let dir = scratch("exec");
        let plain = dir.join("plain.txt");
        script(&plain, 0o644);
        assert!(matches!(
            check(&plain.to_string_lossy(), RunAs::ROOT, false),
            Err(Refusal::NotExecutable { .. })
        ));
        let owner_only = dir.join("owner.sh");
        script(&owner_only, 0o700);
        assert!(matches!(
            check(&owner_only.to_string_lossy(), NOBODY, false),
            Err(ref r @ Refusal::NotExecutable { .. }) if r.found()
        ));
        let missing = check("/nonexistent/kad/x.sh", RunAs::ROOT, true);
        assert!(
            matches!(&missing, Err(r @ Refusal::NotFound { .. }) if !r.found()),
            "{missing:?}"
        );
        assert!(matches!(
            check("kad-no-such-program-anywhere", RunAs::ROOT, false),
            Err(Refusal::NotFound { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bare_names_are_searched_on_path() {
        let found = check("sh", RunAs::ROOT, false);
        assert!(
            matches!(&found, Ok(Checked { searched: true, program, .. }) if program.is_absolute()),
            "{found:?}"
        );
    }

    #[test]
    fn user_resolution_follows_keepalived_defaults() {
        let db = |user: &str, group: Option<&str>| -> Result<RunAs, UserError> {
            let uid = match user {
                "root" => 0,
                "nobody" => 65534,
                "keepalived_script" => 900,
                other => return Err(UserError::NoUser(other.to_owned())),
            };
            let gid = match group {
                None => uid,
                Some("nogroup") => 65534,
                Some(other) => return Err(UserError::NoGroup(other.to_owned())),
            };
            Ok(RunAs { uid, gid })
        };
        let no_default = |user: &str, group: Option<&str>| {
            if user == DEFAULT_USER {
                Err(UserError::NoUser(user.to_owned()))
            } else {
                db(user, group)
            }
        };
        // Own user first, then global, then keepalived_script.
        assert_eq!(
            resolve(Some(("nobody", None)), Some(("root", None)), true, db),
            Ok(NOBODY)
        );
        assert_eq!(
            resolve(None, Some(("root", Some("nogroup"))), true, db),
            Ok(RunAs { uid: 0, gid: 65534 })
        );
        assert_eq!(
            resolve(None, None, true, db),
            Ok(RunAs { uid: 900, gid: 900 })
        );
        // No keepalived_script: root, unless script security is on.
        assert_eq!(resolve(None, None, false, no_default), Ok(RunAs::ROOT));
        assert_eq!(
            resolve(None, None, true, no_default),
            Err(ResolveError::NoDefault)
        );
        assert_eq!(
            resolve(Some(("ghost", None)), None, false, db),
            Err(ResolveError::Own(UserError::NoUser("ghost".into())))
        );
        assert_eq!(
            resolve(None, Some(("nobody", Some("ghosts"))), false, db),
            Err(ResolveError::Global(UserError::NoGroup("ghosts".into())))
        );
        // The real database has root.
        assert_eq!(lookup("root", None), Ok(RunAs::ROOT));
        assert!(matches!(
            lookup("kad-no-such-user-x", None),
            Err(UserError::NoUser(_))
        ));
    }
}
