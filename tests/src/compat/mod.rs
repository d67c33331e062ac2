//! keepalived.conf compatibility: `kad -t` and `keepalived -t` on the same file, in a
//! throwaway network namespace that has every interface the file names, compared by exit
//! code and by the set of lines each one flags. Used by the config tests
//! (`tests/tests/config_samples.rs`, `config_keepalived_compat.rs`) and by the harness
//! `cargo xtask compat DIR` (`src/bin/kad-compat.rs`).

pub mod files;
pub mod flagged;
pub mod interfaces;
pub mod run;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, Result};
use serde::Serialize;

pub use flagged::{Flag, kad_flags, kad_lines, keepalived_flags, keepalived_lines};
pub use interfaces::interface_names;
pub use run::{Outcome, ToolRun};

use crate::netns::NetNs;

/// The time limit of one config test; keepalived hung on one real-world file.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Where keepalived is installed (Debian's package first).
pub fn keepalived_bin() -> Option<PathBuf> {
    [
        "/usr/sbin/keepalived",
        "/sbin/keepalived",
        "/usr/local/sbin/keepalived",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// What the harness concludes for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same exit code, same flagged lines.
    Agree,
    /// The exit codes or the flagged lines differ (kad crashing or hanging is one).
    Differ,
    /// keepalived was ended by a signal: not a difference of kad's.
    KeepalivedCrashed,
    /// keepalived did not finish within the time limit.
    KeepalivedHung,
}

impl Verdict {
    /// As the harness prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agree => "agree",
            Self::Differ => "DIFFER",
            Self::KeepalivedCrashed => "keepalived crashed",
            Self::KeepalivedHung => "keepalived hung",
        }
    }
}

/// One tool's result on one file, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ToolResult {
    /// The exit code, when it exited.
    pub exit: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// Whether it was killed at the time limit.
    pub hung: bool,
    /// The lines it flags, as `LINE` (the checked file) or `FILE:LINE` (an included file,
    /// relative to the checked file's folder).
    pub lines: Vec<String>,
    /// What it printed.
    pub output: String,
}

impl ToolResult {
    fn new(run: &ToolRun, flags: &BTreeSet<Flag>, main: &Path) -> Self {
        let (exit, signal, hung) = match run.outcome {
            Outcome::Exited(code) => (Some(code), None, false),
            Outcome::Signalled(signal) => (None, Some(signal), false),
            Outcome::Hung => (None, None, true),
        };
        Self {
            exit,
            signal,
            hung,
            lines: flags.iter().map(|flag| show_flag(flag, main)).collect(),
            output: run.output.clone(),
        }
    }

    /// `exit 1, lines 4 9`, `signal 11`, `hung`.
    fn summary(&self) -> String {
        let end = match (self.exit, self.signal) {
            _ if self.hung => format!("hung (killed after {} s)", TIME_LIMIT.as_secs()),
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("signal {signal}"),
            (None, None) => "ended".to_owned(),
        };
        if self.lines.is_empty() {
            format!("{end}, no lines")
        } else {
            format!("{end}, lines {}", self.lines.join(" "))
        }
    }
}

/// The harness's result for one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileResult {
    /// The file, relative to the folder the harness was given.
    pub file: String,
    /// The interfaces created for it.
    pub interfaces: Vec<String>,
    /// keepalived's result.
    pub keepalived: ToolResult,
    /// kad's result.
    pub kad: ToolResult,
    /// The verdict.
    pub verdict: Verdict,
}

impl FileResult {
    /// The harness's line for this file:
    /// `FILE: keepalived exit 0, no lines | kad exit 0, no lines | agree`.
    pub fn line(&self) -> String {
        format!(
            "{}: keepalived {} | kad {} | {}",
            self.file,
            self.keepalived.summary(),
            self.kad.summary(),
            self.verdict.as_str()
        )
    }
}

/// The verdict for two runs and the lines each flagged.
pub fn verdict(
    keepalived: Outcome,
    keepalived_flags: &BTreeSet<Flag>,
    kad: Outcome,
    kad_flags: &BTreeSet<Flag>,
) -> Verdict {
    match keepalived {
        Outcome::Signalled(_) => Verdict::KeepalivedCrashed,
        Outcome::Hung => Verdict::KeepalivedHung,
        Outcome::Exited(_) if keepalived == kad && keepalived_flags == kad_flags => Verdict::Agree,
        Outcome::Exited(_) => Verdict::Differ,
    }
}

/// The tools the harness compares.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The kad binary under test.
    pub kad: PathBuf,
    /// keepalived.
    pub keepalived: PathBuf,
    /// Time limit of each run.
    pub limit: Duration,
}

/// Checks one file (and what it includes) with both tools, in a namespace made for it.
/// `root` is the folder the file is shown relative to.
pub fn check_file(tools: &Tools, root: &Path, file: &Path) -> Result<FileResult> {
    let file = file
        .canonicalize()
        .with_context(|| format!("resolving {}", file.display()))?;
    let files = files::config_files(&file);
    let mut names = BTreeSet::new();
    for part in &files {
        let bytes = std::fs::read(part).with_context(|| format!("reading {}", part.display()))?;
        names.extend(interface_names(&String::from_utf8_lossy(&bytes)));
    }
    let ns = NetNs::new("cmp")?;
    let mut created = Vec::new();
    for name in &names {
        if add_link(&ns, name) {
            created.push(name.clone());
        }
    }
    let k_run = run::config_test(ns.name(), &tools.keepalived, &file, tools.limit)?;
    let d_run = run::config_test(ns.name(), &tools.kad, &file, tools.limit)?;
    drop(ns);
    let k_flags = keepalived_flags(&k_run.output, &file, &files);
    let d_flags = kad_flags(&d_run.output, &file, &files);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    Ok(FileResult {
        file: file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string(),
        interfaces: created,
        verdict: verdict(k_run.outcome, &k_flags, d_run.outcome, &d_flags),
        keepalived: ToolResult::new(&k_run, &k_flags, &file),
        kad: ToolResult::new(&d_run, &d_flags, &file),
    })
}

/// Creates interface `name` (up) in `ns`: a dummy link, or a bridge on a kernel without the
/// dummy driver (this one). False when the kernel refuses the name.
fn add_link(ns: &NetNs, name: &str) -> bool {
    let added = ["dummy", "bridge"]
        .iter()
        .any(|kind| ns.ip(&["link", "add", name, "type", kind]).is_ok());
    added && ns.ip(&["link", "set", name, "up"]).is_ok()
}

/// `LINE` for the checked file, `FILE:LINE` for another (relative to its folder if below it).
fn show_flag((file, line): &Flag, main: &Path) -> String {
    if file == main {
        return line.to_string();
    }
    let folder = main.parent().unwrap_or(Path::new("/"));
    format!(
        "{}:{line}",
        file.strip_prefix(folder).unwrap_or(file).display()
    )
}

/// The harness's last line.
pub fn summary(results: &[FileResult]) -> String {
    let agree = results
        .iter()
        .filter(|r| r.verdict == Verdict::Agree)
        .count();
    format!("compat: {} files, {agree} agree", results.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(lines: &[u32]) -> BTreeSet<Flag> {
        lines
            .iter()
            .map(|l| (PathBuf::from("/m.conf"), *l))
            .collect()
    }

    #[test]
    fn verdicts_compare_exit_codes_and_line_sets() {
        let ok = Outcome::Exited(0);
        assert_eq!(verdict(ok, &flags(&[3]), ok, &flags(&[3])), Verdict::Agree);
        assert_eq!(
            verdict(ok, &flags(&[3]), ok, &flags(&[3, 4])),
            Verdict::Differ
        );
        assert_eq!(
            verdict(ok, &flags(&[]), Outcome::Exited(5), &flags(&[])),
            Verdict::Differ
        );
        assert_eq!(
            verdict(ok, &flags(&[]), Outcome::Hung, &flags(&[])),
            Verdict::Differ
        );
        assert_eq!(
            verdict(Outcome::Signalled(11), &flags(&[]), ok, &flags(&[])),
            Verdict::KeepalivedCrashed
        );
        assert_eq!(
            verdict(Outcome::Hung, &flags(&[]), ok, &flags(&[])),
            Verdict::KeepalivedHung
        );
    }

    #[test]
    fn flags_show_as_line_or_file_and_line() {
        let main = Path::new("/c/m.conf");
        assert_eq!(show_flag(&(PathBuf::from("/c/m.conf"), 4), main), "4");
        assert_eq!(
            show_flag(&(PathBuf::from("/c/inc/a.conf"), 2), main),
            "inc/a.conf:2"
        );
        assert_eq!(
            show_flag(&(PathBuf::from("/d/b.conf"), 1), main),
            "/d/b.conf:1"
        );
    }
}
