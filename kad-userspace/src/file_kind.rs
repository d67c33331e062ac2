//! The kind of a file in words, for errors that refuse one (a notify FIFO that is not a FIFO,
//! a `track_file` that is not a regular file).

use std::{fs::FileType, os::unix::fs::FileTypeExt as _};

/// "a regular file", "a FIFO", "a directory", … (a symbolic link only when `kind` comes from
/// `symlink_metadata`).
pub fn describe(kind: FileType) -> &'static str {
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "a socket"
    }
}
