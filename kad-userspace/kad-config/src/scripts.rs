//! Scripts in keepalived.conf(5) "SCRIPTS": who runs each one ([`RunAs`], [`resolve`]),
//! what the host's checks of a script found ([`Checked`], [`Refusal`]), and how keepalived
//! splits and rewrites a script line ([`split_words`], [`with_program`]).
//!
//! Only the data and the pure rules live here; the checks against the file system and the
//! user database are the host's ([`crate::Environment`], implemented by the daemon).

use std::path::{Path, PathBuf};

use thiserror::Error;

/// The user keepalived runs scripts as by default, when it exists.
pub const DEFAULT_USER: &str = "keepalived_script";

/// The uid and gid a script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunAs {
    /// Real and effective user id.
    pub uid: u32,
    /// Real and effective group id (the only group: supplementary groups are dropped).
    pub gid: u32,
}

impl RunAs {
    /// root:root.
    pub const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// Whether the script gets root's powers by its user or its group.
    pub fn is_privileged(&self) -> bool {
        self.uid == 0 || self.gid == 0
    }
}

/// A user or group named for scripts that cannot be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum UserError {
    /// No such user.
    #[error("script user '{0}' does not exist")]
    NoUser(String),
    /// No such group.
    #[error("script group '{0}' does not exist")]
    NoGroup(String),
    /// The user or group database could not be read.
    #[error("looking up script user/group '{name}': {error}")]
    Lookup {
        /// The name looked up.
        name: String,
        /// What failed.
        error: String,
    },
}

/// Why no user could be chosen for a script.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ResolveError {
    /// The script's own `user`/`group` cannot be used.
    #[error("{0}")]
    Own(#[source] UserError),
    /// Global `script_user` cannot be used.
    #[error("global script_user: {0}")]
    Global(#[source] UserError),
    /// No `script_user`, `enable_script_security` set and `keepalived_script` missing.
    #[error("default user {DEFAULT_USER} does not exist (required with enable_script_security)")]
    NoDefault,
}

/// Who runs a script: its own user, else global `script_user`, else the default (see the
/// daemon's `scripts` module). `lookup` reads the user database (the daemon's `scripts::lookup`).
pub fn resolve(
    own: Option<(&str, Option<&str>)>,
    global: Option<(&str, Option<&str>)>,
    script_security: bool,
    lookup: impl Fn(&str, Option<&str>) -> Result<RunAs, UserError>,
) -> Result<RunAs, ResolveError> {
    if let Some((user, group)) = own {
        return lookup(user, group).map_err(ResolveError::Own);
    }
    if let Some((user, group)) = global {
        return lookup(user, group).map_err(ResolveError::Global);
    }
    match lookup(DEFAULT_USER, None) {
        Ok(run_as) => Ok(run_as),
        Err(_) if !script_security => Ok(RunAs::ROOT),
        Err(_) => Err(ResolveError::NoDefault),
    }
}

/// A script that passed the host's script checks ([`crate::Environment::check_script`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The program, absolute (a bare name is looked up on `PATH`).
    pub program: PathBuf,
    /// The program was found by a `PATH` search (keepalived asks for a full path).
    pub searched: bool,
    /// It runs as root but could be replaced by someone else (only without
    /// `enable_script_security`, which refuses such scripts).
    pub insecure: Option<Unsafe>,
}

/// A path component that lets a non-root user replace a script.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("'{}' {reason}", path.display())]
pub struct Unsafe {
    /// The file or directory.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: UnsafeReason,
}

/// How a path component is unsafe.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum UnsafeReason {
    /// Owned by a user other than root.
    #[error("is owned by uid {0}, not root")]
    Owner(u32),
    /// Writable by a group other than root (a directory without the sticky bit, or a file).
    #[error("is writable by group {0}")]
    GroupWritable(u32),
    /// Writable by everyone (a directory without the sticky bit, or a file).
    #[error("is writable by everyone")]
    WorldWritable,
}

/// Why a script will not be run.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    /// The program is not on `PATH`, or the path does not exist.
    #[error("cannot find script '{program}': {error}")]
    NotFound {
        /// As configured.
        program: String,
        /// What failed.
        error: String,
    },
    /// The file is there but the user cannot execute it.
    #[error("script '{}' is not executable for uid:gid {}:{}", path.display(), run_as.uid, run_as.gid)]
    NotExecutable {
        /// The file.
        path: PathBuf,
        /// Who would run it.
        run_as: RunAs,
    },
    /// A path component is neither a directory (before the last) nor a file or symlink.
    #[error("wrong file type found in script path '{}'", path.display())]
    WrongType {
        /// The component.
        path: PathBuf,
    },
    /// `enable_script_security`: it would run as root and a non-root user could replace it.
    #[error("unsafe permissions found for script: {0}")]
    Unsafe(#[source] Unsafe),
}

impl Refusal {
    /// Whether the program was found (keepalived then counts it as a script for its
    /// "scripts are being executed" warning).
    pub fn found(&self) -> bool {
        !matches!(self, Refusal::NotFound { .. })
    }
}

/// keepalived's `replace_cmd_name`: `command` with its first word replaced by `program`
/// (the path the host's check resolved), quoted so that [`split_words`] gives back the same words.
pub fn with_program(command: &str, program: &Path) -> String {
    let mut words = split_words(command);
    match words.first_mut() {
        Some(first) => *first = program.to_string_lossy().into_owned(),
        None => return command.to_owned(),
    }
    words
        .iter()
        .map(|word| quote_word(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word written so that [`split_words`] reads it back unchanged.
fn quote_word(word: &str) -> String {
    if word.is_empty() {
        return "''".to_owned();
    }
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c.is_whitespace() || matches!(c, '\\' | '"' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits a script line into words as keepalived does: on blanks, with `"…"` and `'…'`
/// quoting and `\` escaping the next character.
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_program_replaces_the_first_word_only() {
        let program = Path::new("/opt/my scripts/it's.sh");
        let line = with_program(r#"/etc/link/x.sh "two words" 'a"b' plain"#, program);
        assert_eq!(
            split_words(&line),
            ["/opt/my scripts/it's.sh", "two words", "a\"b", "plain"]
        );
        assert_eq!(split_words(&with_program("x ''", program))[1], "");
        assert_eq!(with_program("  ", program), "  ");
    }

    #[test]
    fn splits_script_lines_like_keepalived() {
        assert_eq!(
            split_words("/bin/notify.sh master"),
            ["/bin/notify.sh", "master"]
        );
        assert_eq!(
            split_words(r#"/bin/n "two words" 'single quoted' a\ b"#),
            ["/bin/n", "two words", "single quoted", "a b"]
        );
        assert_eq!(split_words("  "), Vec::<String>::new());
        assert_eq!(split_words(r#"x """#), ["x", ""]);
    }
}
