//! keepalived's pid files: where they go (`-p/-r/-c`, top-level `instance` and
//! `use_pid_dir`, `net_namespace`), writing them at start and removing them at exit. kad is
//! one process: each file holds its own pid.

use std::{
    io,
    path::{Path, PathBuf},
};

use kad_config::model::GlobalDefs;

/// Where keepalived writes its pid files by default (its RUNSTATEDIR).
pub const RUN_DIR: &str = "/run";

/// keepalived.conf `use_pid_dir`: the directory the pid files go to when it, `instance` or
/// `net_namespace` is set.
pub const PID_DIR: &str = "/run/keepalived";

/// Mode of pid files (keepalived's `S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH`, whatever the umask).
const PID_FILE_MODE: u32 = 0o644;

/// Mode of [`PID_DIR`] (keepalived's rwxr-xr-x, whatever the umask).
const PID_DIR_MODE: u32 = 0o755;

/// The pid files the command line names (keepalived's `-p`, `-r`, `-c`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PidArgs {
    /// `-p/--pid`: the main process's.
    pub main: Option<PathBuf>,
    /// `-r/--vrrp_pid`: the VRRP process's.
    pub vrrp: Option<PathBuf>,
    /// `-c/--checkers_pid`: the checker process's.
    pub checkers: Option<PathBuf>,
}

/// keepalived.conf top-level `instance NAME`: the name pid files (and, with
/// `data_use_instance`, data dump files) carry. The first one counts (keepalived ignores a
/// second).
pub fn instance_name(global: &GlobalDefs) -> Option<&str> {
    global
        .other
        .get("instance")
        .and_then(|words| words.first())
        .map(String::as_str)
}

/// keepalived.conf `instance`: fixed at start. Whether a reloaded configuration names
/// another instance than kad `started` with; keepalived then refuses the whole reload
/// ("Cannot change instance name at a reload - please restart keepalived").
pub fn instance_changed(reloaded: &GlobalDefs, started: Option<&str>) -> bool {
    instance_name(reloaded) != started
}

/// keepalived.conf `use_pid_dir`: pid files go to [`PID_DIR`]; `instance` and
/// `net_namespace` imply it.
pub fn uses_pid_dir(global: &GlobalDefs) -> bool {
    ["use_pid_dir", "instance", "net_namespace"]
        .iter()
        .any(|key| global.other.contains_key(*key))
}

/// The paths of keepalived's pid files for one configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidPaths {
    /// `keepalived.pid`: the main process.
    pub main: PathBuf,
    /// `vrrp.pid`: the VRRP process.
    pub vrrp: PathBuf,
    /// `checkers.pid`: the health-checker process.
    pub checkers: PathBuf,
    /// [`PID_DIR`] when the configuration asks for it (created even when the command line
    /// names every file, as keepalived does).
    pub dir: Option<PathBuf>,
}

impl PidPaths {
    /// keepalived 2.2.7's choice: the command line's path; else, with `instance NAME`,
    /// `/run/keepalived/<base>_NAME.pid`; else, with `use_pid_dir` (or `net_namespace`),
    /// `/run/keepalived/<base>.pid`; else `/run/<base>.pid`.
    pub fn resolve(args: &PidArgs, global: &GlobalDefs) -> Self {
        let in_dir = uses_pid_dir(global);
        let instance = instance_name(global);
        let default = |base: &str| -> PathBuf {
            match (instance, in_dir) {
                (Some(name), _) => Path::new(PID_DIR).join(format!("{base}_{name}.pid")),
                (None, true) => Path::new(PID_DIR).join(format!("{base}.pid")),
                (None, false) => Path::new(RUN_DIR).join(format!("{base}.pid")),
            }
        };
        let pick =
            |given: &Option<PathBuf>, base: &str| given.clone().unwrap_or_else(|| default(base));
        Self {
            main: pick(&args.main, "keepalived"),
            vrrp: pick(&args.vrrp, "vrrp"),
            checkers: pick(&args.checkers, "checkers"),
            dir: in_dir.then(|| PathBuf::from(PID_DIR)),
        }
    }
}

/// Why a pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// The pid file (or its directory) could not be opened, created, locked or written.
    #[error("pid file {path}: {what}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    /// The path is not a regular file.
    #[error("pid file {0} is not a regular file")]
    NotRegular(PathBuf),
    /// Another daemon holds it (keepalived: "daemon is already running").
    #[error("daemon is already running: pid file {path} is held by pid {pid}")]
    Running { path: PathBuf, pid: String },
}

/// The pid files of a running daemon: written at start, removed (with [`PID_DIR`] when it
/// is empty) when dropped.
#[derive(Debug)]
pub struct PidFiles {
    // Dropped in this order: the files, then their directory.
    _files: Vec<PidFile>,
    _dir: Option<PidDir>,
}

impl PidFiles {
    /// Writes the main pid file, the VRRP one when `vrrp` runs and the checkers' when
    /// `checkers` run (keepalived writes each child's when it starts it); a path named
    /// twice is one file.
    pub fn take(paths: &PidPaths, vrrp: bool, checkers: bool) -> Result<Self, PidFileError> {
        let dir = paths.dir.as_deref().map(PidDir::create);
        let mut wanted: Vec<&Path> = vec![&paths.main];
        if vrrp {
            wanted.push(&paths.vrrp);
        }
        if checkers {
            wanted.push(&paths.checkers);
        }
        let mut files: Vec<PidFile> = Vec::new();
        for path in wanted {
            if files.iter().any(|file| file.path == path) {
                continue;
            }
            files.push(PidFile::create(path)?);
        }
        Ok(Self {
            _files: files,
            _dir: dir,
        })
    }
}

/// [`PID_DIR`], created (0755) at start and removed at exit unless something else is in it.
#[derive(Debug)]
struct PidDir {
    path: PathBuf,
}

impl PidDir {
    fn create(path: &Path) -> Self {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        match std::fs::DirBuilder::new().mode(PID_DIR_MODE).create(path) {
            Ok(()) => {
                let _ =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(PID_DIR_MODE));
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            // keepalived logs it and goes on; creating the files then says why.
            Err(err) => {
                tracing::info!(dir = %path.display(), error = %err, "cannot create the pid directory")
            }
        }
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for PidDir {
    fn drop(&mut self) {
        // Fails, as it should, while another daemon's pid files are in it.
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// One pid file: taken at start, removed at exit. The file is locked (`flock`) for the
/// daemon's life, so a second kad given the same pid file refuses to run whatever a crashed
/// one left behind; one that names a live process that is not kad's (a keepalived) is
/// refused too (keepalived: "daemon is already running"). It is opened without following
/// a symlink and written 0644 (keepalived's mode).
#[derive(Debug)]
struct PidFile {
    path: PathBuf,
    _file: std::fs::File,
}

impl PidFile {
    fn create(path: &Path) -> Result<Self, PidFileError> {
        use std::{
            io::{Read as _, Seek as _, Write as _},
            os::{fd::AsRawFd as _, unix::fs::OpenOptionsExt as _},
        };
        let io_error = |what: &'static str| {
            let path = path.to_path_buf();
            move |source| PidFileError::Io { path, what, source }
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PID_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)
            .map_err(io_error("opening"))?;
        if !file.metadata().is_ok_and(|m| m.file_type().is_file()) {
            return Err(PidFileError::NotRegular(path.to_path_buf()));
        }
        let mut text = String::new();
        let _ = (&file).take(32).read_to_string(&mut text);
        let held = text.trim().to_owned();
        // SAFETY: flock(2) on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(PidFileError::Running {
                    path: path.to_path_buf(),
                    pid: if held.is_empty() {
                        "?".to_owned()
                    } else {
                        held
                    },
                });
            }
            return Err(io_error("locking")(err));
        }
        if let Some(pid) = held.parse::<i32>().ok().filter(|pid| alive_other(*pid)) {
            return Err(PidFileError::Running {
                path: path.to_path_buf(),
                pid: pid.to_string(),
            });
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| {
                file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(PID_FILE_MODE))
            })
            .map_err(io_error("writing"))?;
        Ok(Self {
            path: path.to_path_buf(),
            _file: file,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `pid` is a live process other than this one (keepalived's `kill(pid, 0)` test of
/// an unlocked pid file).
fn alive_other(pid: i32) -> bool {
    if pid <= 0 || u32::try_from(pid).is_ok_and(|pid| pid == std::process::id()) {
        return false;
    }
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks the process exists.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(pairs: &[(&str, &[&str])]) -> GlobalDefs {
        let mut global = GlobalDefs::default();
        for (key, words) in pairs {
            global.other.insert(
                (*key).to_owned(),
                words.iter().map(|w| (*w).to_owned()).collect(),
            );
        }
        global
    }

    fn names(paths: &PidPaths) -> [String; 3] {
        [&paths.main, &paths.vrrp, &paths.checkers].map(|p| p.display().to_string())
    }

    #[test]
    fn defaults_are_keepalived_run_files() {
        let paths = PidPaths::resolve(&PidArgs::default(), &global(&[]));
        assert_eq!(
            names(&paths),
            ["/run/keepalived.pid", "/run/vrrp.pid", "/run/checkers.pid"]
        );
        assert_eq!(paths.dir, None);
    }

    #[test]
    fn instance_names_the_files_in_the_pid_dir() {
        let paths = PidPaths::resolve(&PidArgs::default(), &global(&[("instance", &["east"])]));
        assert_eq!(
            names(&paths),
            [
                "/run/keepalived/keepalived_east.pid",
                "/run/keepalived/vrrp_east.pid",
                "/run/keepalived/checkers_east.pid"
            ]
        );
        assert_eq!(paths.dir.as_deref(), Some(Path::new(PID_DIR)));
    }

    #[test]
    fn use_pid_dir_and_net_namespace_move_the_plain_names() {
        for key in ["use_pid_dir", "net_namespace"] {
            let paths = PidPaths::resolve(&PidArgs::default(), &global(&[(key, &["blue"])]));
            assert_eq!(
                names(&paths),
                [
                    "/run/keepalived/keepalived.pid",
                    "/run/keepalived/vrrp.pid",
                    "/run/keepalived/checkers.pid"
                ],
                "{key}"
            );
        }
    }

    #[test]
    fn the_command_line_wins_and_the_dir_is_still_made() {
        let args = PidArgs {
            main: Some(PathBuf::from("/x/a.pid")),
            vrrp: None,
            checkers: Some(PathBuf::from("c.pid")),
        };
        let paths = PidPaths::resolve(&args, &global(&[("instance", &["east"])]));
        assert_eq!(
            names(&paths),
            ["/x/a.pid", "/run/keepalived/vrrp_east.pid", "c.pid"]
        );
        assert!(paths.dir.is_some());
    }

    #[test]
    fn a_reload_may_not_change_the_instance_name() {
        let west = global(&[("instance", &["west"])]);
        assert!(instance_changed(&west, Some("east")));
        assert!(instance_changed(&west, None));
        assert!(instance_changed(&global(&[]), Some("east")));
        assert!(!instance_changed(&west, Some("west")));
        assert!(!instance_changed(&global(&[]), None));
    }

    #[test]
    fn files_are_written_once_and_removed_with_their_dir() {
        let root = std::env::temp_dir().join(format!("kad-pidfiles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let dir = root.join("keepalived");
        let paths = PidPaths {
            main: dir.join("m.pid"),
            vrrp: dir.join("m.pid"),
            checkers: dir.join("c.pid"),
            dir: Some(dir.clone()),
        };
        let taken = PidFiles::take(&paths, true, false).unwrap();
        let own = format!("{}\n", std::process::id());
        assert_eq!(std::fs::read_to_string(dir.join("m.pid")).unwrap(), own);
        assert!(!dir.join("c.pid").exists(), "no checkers, no checkers file");
        assert!(
            matches!(
                PidFiles::take(&paths, true, false),
                Err(PidFileError::Running { .. })
            ),
            "a second daemon on the same files is refused"
        );
        drop(taken);
        assert!(!dir.exists(), "files and directory removed");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_file_naming_a_live_process_is_refused_and_a_stale_one_replaced() {
        let root = std::env::temp_dir().join(format!("kad-pidlive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let path = root.join("k.pid");
        // pid 1 lives in every namespace.
        std::fs::write(&path, "1\n").unwrap();
        assert!(matches!(
            PidFile::create(&path),
            Err(PidFileError::Running { .. })
        ));
        std::fs::write(&path, "0\n").unwrap();
        let file = PidFile::create(&path).unwrap();
        drop(file);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
