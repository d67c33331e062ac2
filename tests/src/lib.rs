//! Shared helpers for kad's end-to-end tests: where the `kad` binary and the captured test
//! vectors are, reading captures, and what the running kernel lets a test do.

pub mod advert_watch;
pub mod bench;
pub mod capture;
pub mod conf;
pub mod daemon_binary;
pub mod fake;
pub mod lab;
pub mod load;
pub mod netns;
pub mod ops;
pub mod packet_socket;
pub mod privilege;
pub mod probe;
pub mod scratch;
pub mod sim;
pub mod uml;
pub mod xdp_frames;

use std::path::PathBuf;

pub use daemon_binary::kad_bin;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Real VRRP captures from keepalived 2.2.7 and FRR 8.4.4 (copied from the lab's shared
/// vectors; see `tests/vectors/README.md`).
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}
