//! keepalived.conf `notify_fifo` / `vrrp_notify_fifo` (+ `_script`): one line per notify,
//! `INSTANCE "VI_1" MASTER 100` (or `GROUP "G" …`), written without ever blocking the
//! protocol loop: the FIFO is opened read-write and non-blocking, so a missing or slow
//! reader loses lines (counted in a warning) instead of stalling VRRP.
//!
//! Which FIFO kad writes to (keepalived 2.2.7's rules, and stricter where its were loose):
//! - a missing FIFO is created (mode 0644 less the umask, keepalived's) and given to the
//!   FIFO's user (`notify_fifo FILE [USER [GROUP]]`, else the default script user), so a
//!   `notify_fifo_script` running as that user can open it; kad removes it when it stops;
//! - an existing path is used only if it is a FIFO itself (`O_NOFOLLOW`: never a symlink,
//!   and never a regular file or device, which keepalived would open), owned by root, by
//!   kad's user or by the FIFO's user, and not writable by others (who could forge lines
//!   for the script). What was checked is what was opened: the checks run on the open file.

use std::{
    fs::{File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use thiserror::Error;

use crate::exec::scripts::{self, RunAs, ScriptCommand, split_words};

/// Mode a created FIFO asks for (keepalived's `S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH`), less
/// the process umask.
pub const CREATE_MODE: u32 = 0o644;

/// One notify FIFO and the script that reads it, if kad should start one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoSpec {
    /// `notify_fifo` / `vrrp_notify_fifo` path.
    pub path: PathBuf,
    /// keepalived.conf `notify_fifo FILE [USER [GROUP]]` (else the default script user):
    /// who owns a FIFO kad creates, and whose existing FIFO kad accepts besides root's.
    pub owner: RunAs,
    /// `notify_fifo_script` / `vrrp_notify_fifo_script`: started with the FIFO's path as
    /// its last argument, stopped when kad stops.
    pub script: Option<ScriptCommand>,
}

/// Why a notify FIFO is not used.
#[derive(Debug, Error)]
pub enum FifoError {
    /// mkfifo, chown or open failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The step that failed.
        what: &'static str,
        /// The FIFO's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Something other than a FIFO is at the path (a symlink, a file, a device...).
    #[error("{path} exists and is not a FIFO ({kind}); not used")]
    NotFifo {
        /// The FIFO's path.
        path: PathBuf,
        /// What is there.
        kind: &'static str,
    },
    /// A FIFO someone else could have planted or could write to.
    #[error(
        "{path} is owned by uid {uid} with mode 0{mode:o}: a notify FIFO must belong to root, kad or the FIFO's user and not be writable by others; not used"
    )]
    Untrusted {
        /// The FIFO's path.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// Its permission bits.
        mode: u32,
    },
}

/// An open notify FIFO (and its reader script).
pub(crate) struct FifoWriter {
    path: PathBuf,
    file: File,
    created: bool,
    _reader: Option<tokio::process::Child>,
    lost: u64,
}

impl FifoWriter {
    /// Creates the FIFO if it does not exist, opens it, starts its script.
    pub(crate) fn open(spec: &FifoSpec) -> Result<Self, FifoError> {
        let io_error = |what| {
            let path = spec.path.clone();
            move |source| FifoError::Io { what, path, source }
        };
        let created = create_if_missing(spec)?;
        let opened = open_trusted(spec);
        let file = match opened {
            Ok(file) => file,
            Err(err) => {
                if created {
                    let _ = std::fs::remove_file(&spec.path);
                }
                return Err(err);
            }
        };
        let mut writer = Self {
            path: spec.path.clone(),
            file,
            created,
            _reader: None,
            lost: 0,
        };
        if let Some(script) = &spec.script {
            let words = split_words(&script.command);
            if let Some((program, args)) = words.split_first() {
                let mut command = tokio::process::Command::new(program);
                command.args(args).arg(&spec.path).kill_on_drop(true);
                scripts::apply(command.as_std_mut(), script.run_as);
                writer._reader = Some(
                    command
                        .spawn()
                        .map_err(io_error("starting the script of"))?,
                );
            }
        }
        Ok(writer)
    }

    /// Writes one line; a full pipe loses it.
    pub(crate) fn write_line(&mut self, line: &str) {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        if let Err(err) = self.file.write_all(text.as_bytes()) {
            self.lost += 1;
            tracing::warn!(fifo = %self.path.display(), error = %err, lost = self.lost, "notify FIFO line lost");
        }
    }
}

impl Drop for FifoWriter {
    /// keepalived removes a FIFO it created when it stops (first, so that a reader looping
    /// on reopening it cannot reopen it).
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates the FIFO when nothing is at its path; true when kad created it.
fn create_if_missing(spec: &FifoSpec) -> Result<bool, FifoError> {
    let path = &spec.path;
    match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(CREATE_MODE)) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => return Ok(false),
        Err(err) => {
            return Err(FifoError::Io {
                what: "creating",
                path: path.clone(),
                source: err.into(),
            });
        }
    }
    if spec.owner != RunAs::ROOT {
        let owner = nix::unistd::Uid::from_raw(spec.owner.uid);
        let group = nix::unistd::Gid::from_raw(spec.owner.gid);
        if let Err(err) = nix::unistd::fchownat(
            nix::fcntl::AT_FDCWD,
            path,
            Some(owner),
            Some(group),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            let _ = std::fs::remove_file(path);
            return Err(FifoError::Io {
                what: "giving to the FIFO's user",
                path: path.clone(),
                source: err.into(),
            });
        }
    }
    Ok(true)
}

/// Opens the FIFO at `spec.path` (never through a symlink, never blocking) and checks the
/// open file.
fn open_trusted(spec: &FifoSpec) -> Result<File, FifoError> {
    let path = &spec.path;
    // Look before opening: opening a device or a FIFO read-write can have effects.
    let seen = std::fs::symlink_metadata(path).map_err(|source| FifoError::Io {
        what: "reading",
        path: path.clone(),
        source,
    })?;
    check(path, &seen, spec.owner)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| FifoError::Io {
            what: "opening",
            path: path.clone(),
            source,
        })?;
    let opened = file.metadata().map_err(|source| FifoError::Io {
        what: "reading",
        path: path.clone(),
        source,
    })?;
    if opened.dev() != seen.dev() || opened.ino() != seen.ino() {
        return Err(FifoError::NotFifo {
            path: path.clone(),
            kind: "replaced while being opened",
        });
    }
    check(path, &opened, spec.owner)?;
    Ok(file)
}

/// The rules of the module documentation, on one file's metadata.
fn check(path: &Path, meta: &std::fs::Metadata, owner: RunAs) -> Result<(), FifoError> {
    let kind = meta.file_type();
    if !kind.is_fifo() {
        return Err(FifoError::NotFifo {
            path: path.to_path_buf(),
            kind: crate::file_kind::describe(kind),
        });
    }
    let uid = meta.uid();
    let mode = meta.mode() & 0o7777;
    let trusted_owner = uid == 0 || uid == nix::unistd::geteuid().as_raw() || uid == owner.uid;
    if !trusted_owner || mode & 0o002 != 0 {
        return Err(FifoError::Untrusted {
            path: path.to_path_buf(),
            uid,
            mode,
        });
    }
    Ok(())
}

/// keepalived's FIFO line: `INSTANCE|GROUP "NAME" STATE PRIORITY`.
pub(crate) fn line(scope: &str, name: &str, state: &str, priority: u8) -> String {
    format!("{scope} \"{name}\" {state} {priority}")
}

#[cfg(test)]
mod tests {
    use std::os::unix::{
        fs::{MetadataExt as _, PermissionsExt as _},
        process::CommandExt as _,
    };

    use super::*;

    /// A scratch folder anyone may enter (so that `nobody` can reach the FIFO in it).
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kad-fifo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir_all(&dir).is_ok());
        assert!(std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).is_ok());
        dir
    }

    fn spec(path: &Path, owner: RunAs) -> FifoSpec {
        FifoSpec {
            path: path.to_path_buf(),
            owner,
            script: None,
        }
    }

    const NOBODY: RunAs = RunAs {
        uid: 65534,
        gid: 65534,
    };

    fn mkfifo(path: &Path, mode: u32) {
        assert!(nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(mode)).is_ok());
        // Whatever the umask, the mode asked for.
        assert!(std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).is_ok());
    }

    /// Issue 13 item 8: a symlink at the FIFO's path is not followed (keepalived's
    /// O_NOFOLLOW), even to a good FIFO; a regular file there is not written to.
    #[test]
    fn refuses_symlinks_and_files_at_the_fifo_path() {
        let dir = scratch("link");
        let real = dir.join("real.fifo");
        mkfifo(&real, 0o600);
        let link = dir.join("link.fifo");
        assert!(std::os::unix::fs::symlink(&real, &link).is_ok());
        let opened = FifoWriter::open(&spec(&link, RunAs::ROOT));
        assert!(
            matches!(opened, Err(FifoError::NotFifo { .. })),
            "{:?}",
            opened.as_ref().err()
        );
        let file = dir.join("file");
        assert!(std::fs::write(&file, "keep\n").is_ok());
        assert!(FifoWriter::open(&spec(&file, RunAs::ROOT)).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap_or_default(), "keep\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 13 item 8: an existing FIFO is used only when root, kad or the FIFO's user
    /// owns it and others cannot write to it.
    #[test]
    fn refuses_fifos_others_own_or_may_write() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED refuses_fifos_others_own_or_may_write: needs root (chown)");
            return;
        }
        let dir = scratch("owner");
        let theirs = dir.join("theirs.fifo");
        mkfifo(&theirs, 0o600);
        assert!(std::os::unix::fs::chown(&theirs, Some(NOBODY.uid), Some(NOBODY.gid)).is_ok());
        let opened = FifoWriter::open(&spec(&theirs, RunAs::ROOT));
        assert!(
            matches!(opened, Err(FifoError::Untrusted { uid: 65534, .. })),
            "{:?}",
            opened.as_ref().err()
        );
        // The same FIFO is the configured user's own: accepted.
        assert!(FifoWriter::open(&spec(&theirs, NOBODY)).is_ok());
        let open_to_all = dir.join("open.fifo");
        mkfifo(&open_to_all, 0o622);
        assert!(matches!(
            FifoWriter::open(&spec(&open_to_all, RunAs::ROOT)),
            Err(FifoError::Untrusted { .. })
        ));
        let ours = dir.join("ours.fifo");
        mkfifo(&ours, 0o600);
        assert!(FifoWriter::open(&spec(&ours, RunAs::ROOT)).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 13 item 8: the FIFO kad creates belongs to the FIFO's user, who can open it
    /// (a non-root `notify_fifo_script`), and is removed when kad stops; one that was there
    /// before stays.
    #[test]
    fn a_created_fifo_belongs_to_its_user_and_goes_away() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED a_created_fifo_belongs_to_its_user_and_goes_away: needs root");
            return;
        }
        let dir = scratch("create");
        let path = dir.join("notify.fifo");
        let writer = FifoWriter::open(&spec(&path, NOBODY));
        assert!(writer.is_ok(), "{:?}", writer.as_ref().err());
        let meta = std::fs::symlink_metadata(&path);
        assert!(meta.as_ref().is_ok_and(|m| m.file_type().is_fifo()));
        assert_eq!(
            meta.as_ref().map(|m| (m.uid(), m.gid())).ok(),
            Some((65534, 65534))
        );
        let mode = meta.map(|m| m.mode() & 0o777).unwrap_or(0);
        assert_eq!(mode & 0o022, 0, "0{mode:o}: only its owner writes");
        // `nobody` may read it (test(1) asks access(2) with the real uid).
        let readable = std::process::Command::new("test")
            .arg("-r")
            .arg(&path)
            .uid(NOBODY.uid)
            .gid(NOBODY.gid)
            .status();
        assert!(
            readable.is_ok_and(|s| s.success()),
            "nobody cannot read the FIFO"
        );
        drop(writer);
        assert!(
            std::fs::symlink_metadata(&path).is_err(),
            "created FIFO removed"
        );

        mkfifo(&path, 0o600);
        drop(FifoWriter::open(&spec(&path, RunAs::ROOT)));
        assert!(
            std::fs::symlink_metadata(&path).is_ok(),
            "existing FIFO kept"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_follow_keepalived() {
        assert_eq!(
            line("INSTANCE", "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100"
        );
        assert_eq!(line("GROUP", "G", "FAULT", 0), "GROUP \"G\" FAULT 0");
    }
}
