//! keepalived.conf `notify_fifo` / `vrrp_notify_fifo` (+ `_script`): one line per notify,
//! `INSTANCE "VI_1" MASTER 100` (or `GROUP "G" …`), written without ever blocking the
//! protocol loop: the FIFO is opened read-write and non-blocking, so a missing or slow
//! reader loses lines (counted in a warning) instead of stalling VRRP.

use std::{
    fs::{File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use crate::scripts::{self, ScriptCommand, split_words};

/// One notify FIFO and the script that reads it, if kad should start one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoSpec {
    /// `notify_fifo` / `vrrp_notify_fifo` path.
    pub path: PathBuf,
    /// `notify_fifo_script` / `vrrp_notify_fifo_script`: started with the FIFO's path as
    /// its last argument, stopped when kad stops.
    pub script: Option<ScriptCommand>,
}

/// An open notify FIFO (and its reader script).
pub(crate) struct FifoWriter {
    path: PathBuf,
    file: File,
    _reader: Option<tokio::process::Child>,
    lost: u64,
}

impl FifoWriter {
    /// Creates the FIFO if it does not exist, opens it, starts its script.
    pub(crate) fn open(spec: &FifoSpec) -> io::Result<Self> {
        ensure_fifo(&spec.path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&spec.path)?;
        let reader = match &spec.script {
            Some(script) => {
                let words = split_words(&script.command);
                match words.split_first() {
                    Some((program, args)) => {
                        let mut command = tokio::process::Command::new(program);
                        command.args(args).arg(&spec.path).kill_on_drop(true);
                        scripts::apply(command.as_std_mut(), script.run_as);
                        Some(command.spawn()?)
                    }
                    None => None,
                }
            }
            None => None,
        };
        Ok(Self {
            path: spec.path.clone(),
            file,
            _reader: reader,
            lost: 0,
        })
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

fn ensure_fifo(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a FIFO", path.display()),
        )),
        Err(_) => nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(io::Error::from),
    }
}

/// keepalived's FIFO line: `INSTANCE|GROUP "NAME" STATE PRIORITY`.
pub(crate) fn line(scope: &str, name: &str, state: &str, priority: u8) -> String {
    format!("{scope} \"{name}\" {state} {priority}")
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn lines_follow_keepalived() {
        assert_eq!(
            line("INSTANCE", "VI_1", "MASTER", 100),
            "INSTANCE \"VI_1\" MASTER 100"
        );
        assert_eq!(line("GROUP", "G", "FAULT", 0), "GROUP \"G\" FAULT 0");
    }
}
