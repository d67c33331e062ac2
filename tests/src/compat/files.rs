//! Which files the harness checks: every file under a folder (sorted), except the ones
//! another of them includes (`include PATTERN`, relative to the including file's folder as
//! keepalived and kad resolve it), which are checked as part of their includer.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

/// How deep includes are followed (keepalived stops at 64; real files use one or two).
const MAX_DEPTH: usize = 8;

/// Every regular file under `dir`, recursively, sorted by path; hidden names are skipped.
pub fn all_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", folder.display()))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The files of `dir` to check on their own: all of them but those another one includes.
pub fn top_level_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = all_files(dir)?;
    let mut included = BTreeSet::new();
    for file in &files {
        for inc in config_files(file).into_iter().skip(1) {
            included.insert(inc.canonicalize().unwrap_or(inc));
        }
    }
    Ok(files
        .into_iter()
        .filter(|f| !included.contains(&f.canonicalize().unwrap_or_else(|_| f.clone())))
        .collect())
}

/// `main` and every file it includes, directly or not (first `main`, then in include order);
/// files that cannot be read are left out.
pub fn config_files(main: &Path) -> Vec<PathBuf> {
    let mut files = vec![main.to_path_buf()];
    let mut next = 0;
    let mut depth_of = vec![0usize];
    while next < files.len() {
        let file = files[next].clone();
        let depth = depth_of[next];
        next += 1;
        if depth >= MAX_DEPTH {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let folder = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        for pattern in include_patterns(&text) {
            let pattern = folder.join(pattern);
            for found in glob(&pattern) {
                if !files.contains(&found) {
                    files.push(found);
                    depth_of.push(depth + 1);
                }
            }
        }
    }
    files
}

/// The patterns of a file's `include` lines (also keepalived's `includea`/`includem`/`includer`
/// spellings), in order.
fn include_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let keyword = words.next()?;
            let keyword = keyword
                .strip_prefix('@')
                .map_or(keyword, |_| words.next().unwrap_or(""));
            matches!(keyword, "include" | "includea" | "includem" | "includer")
                .then(|| words.next().map(str::to_owned))
                .flatten()
        })
        .collect()
}

/// The existing paths `pattern` matches, sorted (shell glob: `*` and `?` in any component).
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut matches = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = component.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &matches {
            if !part.contains(['*', '?']) {
                next.push(base.join(component));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            }) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && wildcard(&part, &name) {
                    next.push(base.join(name));
                }
            }
        }
        matches = next;
    }
    matches.retain(|p| p.is_file());
    matches.sort();
    matches
}

/// Shell wildcard match of one name: `*` any run, `?` one character.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_the_shell() {
        assert!(wildcard("*.conf", "a.conf"));
        assert!(wildcard("a?c*", "abcdef"));
        assert!(!wildcard("*.conf", "a.cfg"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn included_files_are_checked_with_their_includer() {
        let dir = std::env::temp_dir().join(format!("kad-compat-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("m/conf.d")).expect("mkdir");
        std::fs::write(dir.join("m/main.conf"), "include conf.d/*.conf\n").expect("write");
        std::fs::write(dir.join("m/conf.d/a.conf"), "@high include b.inc\n").expect("write");
        std::fs::write(dir.join("m/conf.d/b.inc"), "").expect("write");
        std::fs::write(dir.join("other.conf"), "vrrp_instance A {\n}\n").expect("write");
        let top = top_level_files(&dir).expect("listing");
        assert_eq!(top, vec![dir.join("m/main.conf"), dir.join("other.conf")]);
        assert_eq!(
            config_files(&dir.join("m/main.conf")),
            vec![
                dir.join("m/main.conf"),
                dir.join("m/conf.d/a.conf"),
                dir.join("m/conf.d/b.inc"),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
