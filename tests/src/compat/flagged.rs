//! The lines each tool flags, read from its `-t` output: keepalived writes
//! `(FILE: Line N) message` (or `(Line N) message`), kad writes `FILE:LINE:COL: severity: message`.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

/// A flagged line: the configuration file (resolved, see [`resolve`]) and its line number.
pub type Flag = (PathBuf, u32);

/// Lines of `file` keepalived flags: `(FILE: Line N) ...` or `(Line N) ...`.
pub fn keepalived_lines(output: &str, file: &Path) -> BTreeSet<u32> {
    let with_file = format!("({}: Line ", file.display());
    let mut lines = BTreeSet::new();
    for line in output.lines() {
        let rest = line
            .strip_prefix(&with_file)
            .or_else(|| line.strip_prefix("(Line "));
        if let Some(number) = rest.and_then(|r| r.split(')').next())
            && let Ok(n) = number.trim().parse()
        {
            lines.insert(n);
        }
    }
    lines
}

/// Lines of `file` kad flags: `FILE:LINE:COL: severity: ...`.
pub fn kad_lines(output: &str, file: &Path) -> BTreeSet<u32> {
    let name = file.display().to_string();
    output
        .lines()
        .filter_map(file_line_col)
        .filter(|(f, _, _)| *f == name)
        .map(|(_, n, _)| n)
        .collect()
}

/// Every line keepalived flags, in any file: `(FILE: Line N)` names the file (as the
/// `include` wrote it, relative to the main file's folder), `(Line N)` is the main file.
pub fn keepalived_flags(output: &str, main: &Path, files: &[PathBuf]) -> BTreeSet<Flag> {
    let mut flags = BTreeSet::new();
    for line in output.lines() {
        let Some(inner) = line.strip_prefix('(').and_then(|r| r.split(')').next()) else {
            continue;
        };
        let (file, number) = match inner.strip_prefix("Line ") {
            Some(number) => (None, number),
            None => match inner.rsplit_once(": Line ") {
                Some((file, number)) => (Some(file), number),
                None => continue,
            },
        };
        if let Ok(n) = number.trim().parse() {
            let file = file.map_or_else(|| resolve("", main, files), |f| resolve(f, main, files));
            flags.insert((file, n));
        }
    }
    flags
}

/// Every line kad flags as keepalived would, in any file: `FILE:LINE:COL: severity:` at the
/// start of an output line, severity `notice` (reported at its line, not counted, as
/// keepalived reports a missing include), `warning`, `error` or `fatal`. kad's `note`s (a
/// keyword it parses but does not act on, a script it will not find at run time) have no
/// keepalived counterpart and are left out.
pub fn kad_flags(output: &str, main: &Path, files: &[PathBuf]) -> BTreeSet<Flag> {
    let mut flags = BTreeSet::new();
    for line in output.lines() {
        if let Some((file, n, rest)) = file_line_col(line)
            && !rest.trim_start().starts_with("note:")
        {
            flags.insert((resolve(file, main, files), n));
        }
    }
    flags
}

/// kad's severities, each as it follows a place (`FILE:LINE:COL: note: ...`).
const SEVERITIES: [&str; 5] = [" note:", " notice:", " warning:", " error:", " fatal:"];

/// `FILE:LINE:COL: severity: rest` → (FILE, LINE, `severity: rest`): the place must lead the
/// line and be followed by a severity. A line that starts with its severity (`error:
/// vrrp_instance VI_1 (defined at k.conf:19): ...`) has no place, whatever places its
/// message names.
fn file_line_col(line: &str) -> Option<(&str, u32, &str)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if SEVERITIES.iter().any(|s| line.starts_with(&s[1..])) {
        return None;
    }
    for (at, _) in line.match_indices(':').filter(|(at, _)| *at > 0) {
        let file = &line[..at];
        let mut parts = line[at + 1..].splitn(3, ':');
        let (Some(n), Some(col), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if digits(n) && digits(col) && SEVERITIES.iter().any(|s| rest.starts_with(s)) {
            return n.parse().ok().map(|n| (file, n, rest));
        }
    }
    None
}

/// The file a tool names, as one path whatever the tool's spelling: empty is `main`; a
/// relative name is taken from `main`'s folder, else matched against the tail of one of
/// `files` (an include inside an included folder); canonical when it exists.
pub fn resolve(name: &str, main: &Path, files: &[PathBuf]) -> PathBuf {
    if name.is_empty() {
        return canonical(main);
    }
    let path = Path::new(name);
    if path.is_absolute() {
        return canonical(path);
    }
    let folder = main.parent().unwrap_or(Path::new("."));
    let joined = folder.join(path);
    if joined.exists() {
        return canonical(&joined);
    }
    files
        .iter()
        .find(|f| f.ends_with(path))
        .map_or_else(|| canonical(&joined), |f| canonical(f))
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagged_line_parsers_read_both_tools_formats() {
        let file = Path::new("/x/k.conf");
        let k = "(/x/k.conf: Line 4) Unknown keyword 'x'\n(Line 9) Extra '}' found\nno line\n";
        assert_eq!(keepalived_lines(k, file), BTreeSet::from([4, 9]));
        let d =
            "/x/k.conf:4:3: warning: Unknown keyword 'x'\nerror: global\n/y.conf:5:1: warning: z\n";
        assert_eq!(kad_lines(d, file), BTreeSet::from([4]));
    }

    #[test]
    fn flags_name_the_file_of_each_line() {
        let main = Path::new("/nonexistent/kad/m.conf");
        let k =
            "(/nonexistent/kad/m.conf: Line 4) x\n(Line 9) y\n(inc/a.conf: Line 2) z\n(VI_1) no\n";
        assert_eq!(
            keepalived_flags(k, main, &[]),
            BTreeSet::from([
                (main.to_path_buf(), 4),
                (main.to_path_buf(), 9),
                (PathBuf::from("/nonexistent/kad/inc/a.conf"), 2),
            ])
        );
        let d = "/nonexistent/kad/m.conf:4:3: warning: a: b\nerror: global\n\
                 /nonexistent/kad/inc/a.conf:2:1: warning: z\nwarning: 5:6: no\n\
                 /nonexistent/kad/m.conf:7:1: note: kad does not act on it\n\
                 /nonexistent/kad/m.conf:6:1: notice: Config files missing '/x/*.conf'.\n";
        assert_eq!(
            kad_flags(d, main, &[]),
            BTreeSet::from([
                (main.to_path_buf(), 4),
                (main.to_path_buf(), 6),
                (PathBuf::from("/nonexistent/kad/inc/a.conf"), 2),
            ])
        );
    }

    #[test]
    fn a_place_inside_a_message_is_not_a_flagged_line() {
        let main = Path::new("/nonexistent/kad/m.conf");
        let d = "warning: vrrp_instance VI_1 (defined at /nonexistent/kad/m.conf:19): No VIP\n\
                 error: b (defined at /nonexistent/kad/m.conf:3:1: warning: x): y\n\
                 /nonexistent/kad/m.conf:7:2: error: see /nonexistent/kad/m.conf:8:1: warning: z\n\
                 /nonexistent/kad/m.conf:9:1:x: error: not a severity after the place\n";
        assert_eq!(
            kad_flags(d, main, &[]),
            BTreeSet::from([(main.to_path_buf(), 7)])
        );
        assert_eq!(kad_lines(d, main), BTreeSet::from([7]));
    }
}
