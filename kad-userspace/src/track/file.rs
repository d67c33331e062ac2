//! `track_file`: the number written in a file (keepalived reads it on inotify events; kad
//! polls every [`POLL_EVERY`], which bounds the reaction time). A missing or unreadable file
//! reads as 0, as in keepalived; text that is not a number reads as 0 with a warning.
//!
//! The file is read off the protocol loop (tokio's blocking pool), only if it is a regular
//! file (opened non-blocking, so a FIFO or device there never stalls anything; it reads as
//! 0 with a warning), and only its first [`MAX_BYTES`] bytes.

use std::{
    io::{self, Read as _},
    os::unix::fs::OpenOptionsExt as _,
    path::Path,
    time::Duration,
};

use thiserror::Error;

use tokio::sync::mpsc;

use crate::vrrp::fsm::TrackerStatus;

use super::{TrackerIndex, TrackerUpdate};

/// How often the file is read.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// How much of the file is read: far more than any number needs.
pub const MAX_BYTES: u64 = 4096;

/// Why a tracked file gives no value (it then reads as 0).
#[derive(Debug, Error)]
pub enum TrackFileError {
    /// Opening or reading failed (a missing file is the common case).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Something other than a regular file is at the path.
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
}

/// Reads the value in the regular file `path` (blocking; see [`read_value`]).
pub fn read_value_blocking(path: &Path) -> Result<i64, TrackFileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(TrackFileError::NotRegular(crate::file_kind::describe(kind)));
    }
    let mut text = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut text)?;
    Ok(parse_value(&String::from_utf8_lossy(&text)))
}

/// Reads the value in `path` on tokio's blocking pool.
pub async fn read_value(path: &str) -> Result<i64, TrackFileError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || read_value_blocking(Path::new(&path)))
        .await
        .unwrap_or_else(|err| Err(io::Error::other(err).into()))
}

/// The value keepalived takes from the file's text: the leading integer, else 0.
pub fn parse_value(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let end = trimmed
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(trimmed.len(), |(i, _)| i);
    trimmed
        .get(..end)
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// Polls `path` forever, sending each new value for tracker `index`.
pub async fn run(
    index: TrackerIndex,
    name: String,
    path: String,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    let mut last: Option<i64> = None;
    let mut refused = false;
    let mut ticker = tokio::time::interval(POLL_EVERY);
    loop {
        ticker.tick().await;
        let value = match read_value(&path).await {
            Ok(value) => {
                refused = false;
                value
            }
            Err(err) => {
                // A missing file is ordinary (0, as keepalived); say once why a file that
                // is there is not read.
                if matches!(err, TrackFileError::NotRegular(_)) && !refused {
                    tracing::warn!(track_file = %name, file = %path, error = %err, "tracked file not read; it reads as 0");
                }
                refused = matches!(err, TrackFileError::NotRegular(_));
                0
            }
        };
        if last != Some(value) {
            if last.is_some() {
                tracing::info!(track_file = %name, value, "tracked file changed");
            }
            last = Some(value);
            let update = TrackerUpdate {
                index,
                status: TrackerStatus::Value(value),
            };
            if updates.send(update).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kad-track-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir_all(&dir).is_ok());
        dir
    }

    /// Issue 13 item 9: a FIFO (no writer) or a device as track_file is not read and does
    /// not block: it reads as an error (0) at once.
    #[tokio::test(flavor = "current_thread")]
    async fn fifos_and_devices_are_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("fifo");
        assert!(
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).is_ok()
        );
        let path = fifo.to_string_lossy().into_owned();
        let read = tokio::time::timeout(Duration::from_secs(2), read_value(&path)).await;
        // Unblock a reader stuck on the FIFO (the code before the fix) so the test ends.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
        assert!(
            matches!(read, Ok(Err(TrackFileError::NotRegular(_)))),
            "{path}: {read:?}"
        );
        let read = tokio::time::timeout(Duration::from_secs(2), read_value("/dev/zero")).await;
        assert!(
            matches!(read, Ok(Err(TrackFileError::NotRegular(_)))),
            "/dev/zero: {read:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 13 item 9: only the first MAX_BYTES of a file are read: a number after 8 MiB
    /// of blanks is never seen (a whole read would find it).
    #[test]
    fn reads_only_a_prefix_of_a_huge_file() {
        let dir = scratch("huge");
        let path = dir.join("huge");
        let mut text = vec![b' '; 8 << 20];
        text.extend_from_slice(b"42\n");
        assert!(std::fs::write(&path, &text).is_ok());
        let value = read_value_blocking(&path);
        assert!(matches!(value, Ok(0)), "{value:?}");
        let small = dir.join("small");
        assert!(std::fs::write(&small, "  42\n").is_ok());
        assert!(matches!(read_value_blocking(&small), Ok(42)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reads_the_leading_integer_like_keepalived() {
        assert_eq!(parse_value("42\n"), 42);
        assert_eq!(parse_value("  -7 apples"), -7);
        assert_eq!(parse_value("+3"), 3);
        assert_eq!(parse_value("abc"), 0);
        assert_eq!(parse_value(""), 0);
        assert_eq!(parse_value("99999999999999999999999"), 0);
    }
}
