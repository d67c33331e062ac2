//! Tracked objects (keepalived.conf `vrrp_script`, `track_file`, `track_interface`,
//! `vrrp_track_process`): tasks that watch each object and report its status to the protocol
//! loop, which turns a change into `Event::Tracker` for every instance that tracks it.
//! The runtime starts them through [`supervised`], which restarts a watcher that panics.

pub mod bfd;
pub mod file;
pub mod process;
pub mod script;
pub mod supervised;

use std::time::Duration;

use crate::{exec::scripts::RunAs, vrrp::fsm::TrackerStatus};

/// Index of a tracked object in [`TrackerSource`]s (the runtime's `TrackerId`).
pub type TrackerIndex = u32;

/// A tracked object's new status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackerUpdate {
    /// Which object.
    pub index: TrackerIndex,
    /// Its status.
    pub status: TrackerStatus,
}

/// Something kad watches on behalf of instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackerSource {
    /// `vrrp_script NAME { script … interval … timeout … rise … fall … init_fail }`.
    Script(ScriptSpec),
    /// `track_file NAME { file PATH }`: the number in the file.
    File {
        /// Block name.
        name: String,
        /// File to read.
        path: String,
    },
    /// `vrrp_track_process NAME { process … quorum … }`: enough matching processes run.
    Process(process::rules::ProcessSpec),
    /// `track_bfd`: the `bfd_instance` of that name is up.
    Bfd {
        /// The `bfd_instance` name.
        name: String,
    },
    /// `track_interface`: link up with carrier.
    Interface {
        /// Interface name.
        name: String,
        /// Its index at start.
        ifindex: u32,
    },
}

/// keepalived.conf `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Block name.
    pub name: String,
    /// `script`: the command line.
    pub command: String,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Duration,
    /// `rise`: successes in a row before the script counts as up (default 1).
    pub rise: u32,
    /// `fall`: failures in a row before it counts as down (default 1).
    pub fall: u32,
    /// `init_fail`: start as down.
    pub init_fail: bool,
    /// `user`, else global `script_user`, else keepalived's default user: who runs it.
    pub run_as: RunAs,
}
