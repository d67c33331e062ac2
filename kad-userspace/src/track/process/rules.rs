//! keepalived.conf `vrrp_track_process`: which processes a block counts (its match rules).

use std::time::Duration;

/// The longest process name the kernel keeps (`TASK_COMM_LEN` - 1).
pub const COMM_MAX: usize = 15;

/// keepalived.conf `param_match`: how a process's parameters are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ParamMatch {
    /// Parameters are not compared (no parameters configured, no `param_match`).
    #[default]
    None,
    /// Exactly the configured parameters (`param_match` alone, or parameters without it).
    Exact,
    /// `param_match initial`: the configured parameters come first; the last configured one
    /// may be the start of the process's parameter.
    Initial,
    /// `param_match partial`: the configured parameters are the process's first ones.
    Partial,
}

/// keepalived.conf `vrrp_track_process NAME { … }`, as the tracker needs it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessSpec {
    /// Block name.
    pub name: String,
    /// `process NAME`: the name (or `argv[0]`) to match.
    pub process: String,
    /// `process NAME PARAM…`: the parameters to match.
    pub params: Vec<String>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `full_command`: match `argv[0]` rather than the process name.
    pub full_command: bool,
    /// `quorum` (default 1): fewest matching processes for up.
    pub quorum: u32,
    /// `quorum_max` (default unlimited): most matching processes for up.
    pub quorum_max: u32,
    /// `fork_delay` / `delay` (global `vrrp_track_process_fork_delay`).
    pub fork_delay: Duration,
    /// `terminate_delay` / `delay` (global `vrrp_track_process_terminate_delay`).
    pub terminate_delay: Duration,
}

impl ProcessSpec {
    /// A spec for `process` with keepalived's defaults.
    pub fn new(name: &str, process: &str) -> Self {
        Self {
            name: name.to_owned(),
            process: process.to_owned(),
            params: Vec::new(),
            param_match: ParamMatch::None,
            full_command: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    /// Whether the command line is compared (rather than the process name).
    pub fn uses_cmdline(&self) -> bool {
        self.full_command || self.param_match != ParamMatch::None
    }

    /// Whether `count` matching processes make the block up.
    pub fn in_quorum(&self, count: u32) -> bool {
        (self.quorum..=self.quorum_max).contains(&count)
    }

    /// Whether a process with name `comm` and command line `cmdline` (NUL-separated, as in
    /// `/proc/PID/cmdline`) matches (see the module documentation).
    pub fn matches(&self, comm: &[u8], cmdline: &[u8]) -> bool {
        if !self.uses_cmdline() {
            return comm == self.process.as_bytes();
        }
        let (argv0, params) = match cmdline.iter().position(|b| *b == 0) {
            Some(nul) => (
                cmdline.get(..nul).unwrap_or_default(),
                cmdline.get(nul + 1..).unwrap_or_default(),
            ),
            None => (cmdline, &[][..]),
        };
        argv0 == self.process.as_bytes() && self.params_match(params)
    }

    /// keepalived's parameter comparison, on `params` as the bytes after `argv[0]`'s NUL.
    fn params_match(&self, params: &[u8]) -> bool {
        let mut wanted = Vec::new();
        for param in &self.params {
            wanted.extend_from_slice(param.as_bytes());
            wanted.push(0);
        }
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => params == wanted.as_slice(),
            ParamMatch::Partial => params.starts_with(&wanted),
            ParamMatch::Initial => {
                // The last configured parameter may be followed by more text: compare
                // without its terminating NUL.
                let prefix = wanted
                    .get(..wanted.len().saturating_sub(1))
                    .unwrap_or_default();
                params.len() >= wanted.len() && params.starts_with(prefix)
            }
        }
    }
}
