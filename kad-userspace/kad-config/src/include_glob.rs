//! Why an `include` pattern matched no file, as keepalived 2.2.7 tells it (keepalived.conf(5)
//! "include_check"): it counts what glob(3) could not find on its way (a directory it had to
//! list, a path named without wildcards) and then says "Config files missing"; a pattern
//! whose wildcards only found nothing in directories that exist is a "wildcard match"
//! failure instead, said only under `include_check wildcard_match`.

use std::path::{Path, PathBuf};

/// Whether `word` (one path component) has glob wildcards.
fn has_wildcards(word: &str) -> bool {
    word.contains(['*', '?', '['])
}

/// Whether glob(3) walking `pattern` on this machine meets a missing part: a directory it
/// must list that cannot be opened, or a component without wildcards (or the whole pattern,
/// when it has none) that does not exist.
pub fn misses_a_part(pattern: &str) -> bool {
    if !has_wildcards(pattern) {
        return std::fs::symlink_metadata(pattern).is_err();
    }
    let root = if pattern.starts_with('/') { "/" } else { "." };
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let first = parts
        .iter()
        .position(|p| has_wildcards(p))
        .unwrap_or(parts.len());
    let mut dir = PathBuf::from(root);
    dir.extend(&parts[..first]);
    let mut candidates = vec![dir];
    let mut missing = false;
    for (i, part) in parts.iter().enumerate().skip(first) {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for c in &candidates {
            if has_wildcards(part) {
                match entries(c, part, last) {
                    Some(found) => next.extend(found),
                    None => missing = true,
                }
            } else {
                let path = c.join(part);
                if std::fs::symlink_metadata(&path).is_ok() {
                    next.push(path);
                } else {
                    missing = true;
                }
            }
        }
        candidates = next;
    }
    missing
}

/// The entries of `dir` matching `part` (only directories unless `last`), or None when
/// `dir` cannot be listed. As glob(3), a leading `.` is matched only by a leading `.`.
fn entries(dir: &Path, part: &str, last: bool) -> Option<Vec<PathBuf>> {
    let pattern = glob::Pattern::new(part).ok();
    let listing = std::fs::read_dir(dir).ok()?;
    let found = listing
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            (!name.starts_with('.') || part.starts_with('.'))
                && pattern.as_ref().is_some_and(|p| p.matches(&name))
        })
        .map(|e| e.path())
        .filter(|p| last || p.is_dir())
        .collect();
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::misses_a_part;

    #[test]
    fn a_missing_directory_or_file_is_missing_an_empty_wildcard_is_not() {
        let dir = std::env::temp_dir().join(format!("kad-include-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap_or_else(|e| panic!("{e}"));
        let d = dir.display();
        assert!(misses_a_part(&format!("{d}/none/*.conf")));
        assert!(misses_a_part(&format!("{d}/none.conf")));
        assert!(!misses_a_part(&format!("{d}/*.conf")));
        assert!(
            misses_a_part(&format!("{d}/*/x.conf")),
            "lstat of sub/x.conf"
        );
        assert!(!misses_a_part(&format!("{d}/*/*.conf")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
