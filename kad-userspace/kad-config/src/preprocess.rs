//! The text layer of keepalived.conf(5) "ADVANCED CONFIGURATION": `include` (with globs,
//! relative to the including file), conditional lines `@id` / `@^id`, `$NAME=value`
//! definitions (also multi-line) and their substitution, `~SEQ(...)`, `~SEQx(...)` and
//! `~LST(...)` repetition. Output: logical lines of words with their places.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use super::{
    error::{Diagnostic, Severity},
    lexer,
    place::{Place, Word},
};

/// Includes nested deeper than this are refused (include loops).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Substitution and repetition nested deeper than this are refused (`$A=$A`).
const MAX_EXPANSION_DEPTH: usize = 24;
/// By default at most this many logical lines come out of one load (runaway `~SEQ`).
pub const DEFAULT_MAX_LINES: usize = 2_000_000;
/// A substitution producing more lines than this is refused.
const MAX_SUBSTITUTED_LINES: usize = 100_000;
/// A substituted line longer than this is refused.
const MAX_LINE_LEN: usize = 1 << 20;
/// Work budget: at most this many lines handled (emitted or not: definitions, conditionals,
/// nested repetitions) per logical line allowed out. Bounds time and memory of inputs that
/// expand without emitting, e.g. nested `~SEQ` whose body only defines.
const STEPS_PER_LINE: usize = 8;
/// Words (on average) per allowed logical line: bounds the memory of the word lists.
const WORDS_PER_LINE: usize = 8;
/// Bytes (on average) per allowed logical line: bounds the memory of the expanded text
/// (substitution makes lines up to `MAX_LINE_LEN` long; `~SEQ` repeats them).
const BYTES_PER_LINE: usize = 64;
/// Diagnostics kept; further ones are counted and reported as one line.
const MAX_DIAGNOSTICS: usize = 1_000;

/// One logical configuration line.
#[derive(Clone, Debug)]
pub struct Line {
    /// Where the line starts.
    pub place: Place,
    /// Its words (never empty).
    pub words: Vec<Word>,
}

/// Reads files for the preprocessor (the file system, or memory in tests and fuzzing).
pub trait FileSource {
    /// The text of `path`.
    fn read(&self, path: &Path) -> std::io::Result<String>;
    /// The files matching the glob `pattern`, sorted.
    fn glob(&self, pattern: &str) -> Vec<PathBuf>;
    /// For a `pattern` that matched nothing: whether a part of it is missing (a directory
    /// to list, a path without wildcards), keepalived's "Config files missing", rather than
    /// wildcards matching nothing ([`crate::include_glob`]). By default a part is missing.
    fn misses_a_part(&self, _pattern: &str) -> bool {
        true
    }
}

/// No files at all: every include is missing (fuzzing, strings without includes).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _: &Path) -> std::io::Result<String> {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn glob(&self, _: &str) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsSource;

impl FileSource for FsSource {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let bytes = std::fs::read(path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = match glob::glob(pattern) {
            Ok(paths) => paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort();
        found
    }

    fn misses_a_part(&self, pattern: &str) -> bool {
        crate::include_glob::misses_a_part(pattern)
    }
}

/// Expands the configuration text layer into logical lines.
pub struct Preprocessor<'a> {
    source: &'a dyn FileSource,
    config_id: String,
    defines: HashMap<String, Vec<String>>,
    lines: Vec<Line>,
    diagnostics: Vec<Diagnostic>,
    /// Diagnostics beyond `MAX_DIAGNOSTICS`, not kept.
    suppressed: usize,
    /// Lines handled so far (the work budget, see `STEPS_PER_LINE`).
    steps: usize,
    /// Words and bytes emitted so far (see `WORDS_PER_LINE`, `BYTES_PER_LINE`).
    words: usize,
    bytes: usize,
    include_depth: usize,
    truncated: bool,
    random_state: u64,
    max_lines: usize,
    include_check_failed: bool,
    /// keepalived.conf `include_check`: the checks a plain `include` makes, saved when an
    /// included file is opened and restored when it ends (keepalived.conf(5)).
    include_checks: IncludeChecks,
}

/// keepalived.conf `include_check [OPTIONS]`: which checks a plain `include` makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IncludeChecks {
    /// `readable`: every file found can be read.
    pub readable: bool,
    /// `match`: the pattern matches a file.
    pub matched: bool,
    /// `wildcard_match`: each wildcard part matches.
    pub wildcard_match: bool,
    /// `brace_match`: each brace alternative matches.
    pub brace_match: bool,
}

impl IncludeChecks {
    /// Every check (`include_check` without options, `includea`).
    pub const ALL: Self = Self {
        readable: true,
        matched: true,
        wildcard_match: true,
        brace_match: true,
    };

    /// The checks after `include_check WORDS` from `self`: no words sets every check;
    /// words without a sign replace the set; `+` adds and `-` removes the words after it.
    pub fn apply(self, words: &[&str]) -> Self {
        if words.is_empty() {
            return Self::ALL;
        }
        let signed = words
            .first()
            .is_some_and(|w| w.starts_with('+') || w.starts_with('-'));
        let mut checks = if signed { self } else { Self::default() };
        let mut add = true;
        for word in words {
            let name = if let Some(rest) = word.strip_prefix('+') {
                add = true;
                rest
            } else if let Some(rest) = word.strip_prefix('-') {
                add = false;
                rest
            } else {
                word
            };
            match name {
                "readable" => checks.readable = add,
                "match" => checks.matched = add,
                "wildcard_match" => checks.wildcard_match = add,
                "brace_match" => checks.brace_match = add,
                _ => {}
            }
        }
        checks
    }

    /// Whether a pattern that matches nothing fails the configuration (kad's `includem`).
    fn strict(self) -> bool {
        self.matched || self.wildcard_match
    }

    /// The checks an include variant makes beyond `self` (keepalived's `include_check |
    /// include_type`): `includer`, `includem`, `includew`, `includeb` add one, `includea`
    /// all of them.
    fn with_variant(self, keyword: &str) -> Self {
        let mut checks = self;
        match keyword {
            "includer" => checks.readable = true,
            "includem" => checks.matched = true,
            "includew" => checks.wildcard_match = true,
            "includeb" => checks.brace_match = true,
            "includea" => checks = Self::ALL,
            _ => {}
        }
        checks
    }
}

/// The current file while preprocessing.
struct FileCtx {
    name: Arc<str>,
    dir: PathBuf,
}

impl<'a> Preprocessor<'a> {
    /// A preprocessor matching `@` lines against `config_id` (keepalived `-i`).
    pub fn new(source: &'a dyn FileSource, config_id: &str) -> Self {
        Self {
            source,
            config_id: config_id.to_owned(),
            defines: HashMap::new(),
            lines: Vec::new(),
            diagnostics: Vec::new(),
            suppressed: 0,
            steps: 0,
            words: 0,
            bytes: 0,
            include_depth: 0,
            truncated: false,
            random_state: 0x2545_f491_4f6c_dd1d,
            max_lines: DEFAULT_MAX_LINES,
            include_check_failed: false,
            include_checks: IncludeChecks::default(),
        }
    }

    /// Whether an `includem`/`includew`/`includea` matched no file (keepalived's
    /// include_check "match"/"wildcard_match" failed).
    pub fn include_check_failed(&self) -> bool {
        self.include_check_failed
    }

    /// Stops after `max` logical lines (a fatal diagnostic says so).
    pub fn with_max_lines(mut self, max: usize) -> Self {
        self.max_lines = max;
        self
    }

    /// Preprocesses the text of the main file `name`.
    pub fn run_text(&mut self, name: &str, text: &str) {
        let path = Path::new(name);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // `${_PWD}` is the absolute directory of the file, as keepalived gives it.
        let dir = if dir.is_absolute() {
            dir
        } else {
            std::env::current_dir().map_or(dir.clone(), |cwd| cwd.join(&dir))
        };
        let file = FileCtx {
            name: Arc::from(name),
            dir,
        };
        self.process_text(&file, text);
    }

    /// The lines and diagnostics produced.
    pub fn finish(mut self) -> (Vec<Line>, Vec<Diagnostic>) {
        if self.suppressed > 0 {
            self.diagnostics.push(Diagnostic::global(
                Severity::Error,
                format!(
                    "{} further preprocessing diagnostics not shown (first {MAX_DIAGNOSTICS} above)",
                    self.suppressed
                ),
            ));
        }
        (self.lines, self.diagnostics)
    }

    fn process_text(&mut self, file: &FileCtx, text: &str) {
        let mut physical = text.lines().enumerate();
        while let Some((index, raw)) = physical.next() {
            let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let place = Place::new(&file.name, line_no, 1);
            // A multi-line definition: `$NAME= \` then lines ending in `\`.
            if let Some((name, first)) = definition(raw)
                && first.trim_end().ends_with('\\')
            {
                let mut value = Vec::new();
                let head = first.trim_end().trim_end_matches('\\').trim();
                if !head.is_empty() {
                    value.push(head.to_owned());
                }
                for (_, next) in physical.by_ref() {
                    let next = next.strip_suffix('\r').unwrap_or(next);
                    let trimmed = next.trim_end();
                    if let Some(body) = trimmed.strip_suffix('\\') {
                        value.push(body.to_owned());
                    } else {
                        value.push(trimmed.to_owned());
                        break;
                    }
                }
                value.retain(|l| !l.trim().is_empty());
                self.defines.insert(name.to_owned(), value);
                continue;
            }
            self.process_line(file, raw, &place, 0, 0);
            if self.truncated {
                return;
            }
        }
    }

    fn push_diag(&mut self, severity: Severity, place: &Place, message: String) {
        if self.diagnostics.len() < MAX_DIAGNOSTICS || severity == Severity::Fatal {
            self.diagnostics
                .push(Diagnostic::at(severity, place, message));
        } else {
            self.suppressed += 1;
        }
    }

    /// Handles one logical line; `col_base` is the column offset of `text` in the file.
    fn process_line(
        &mut self,
        file: &FileCtx,
        text: &str,
        place: &Place,
        col_base: usize,
        depth: usize,
    ) {
        if self.truncated {
            return;
        }
        self.steps += 1;
        if self.steps > self.max_lines.saturating_mul(STEPS_PER_LINE) {
            self.truncated = true;
            self.push_diag(
                Severity::Fatal,
                place,
                format!(
                    "configuration expands to more than {} lines of definitions and repetitions - stopped",
                    self.max_lines.saturating_mul(STEPS_PER_LINE)
                ),
            );
            return;
        }
        if depth > MAX_EXPANSION_DEPTH {
            self.push_diag(
                Severity::Error,
                place,
                format!(
                    "substitution nested more than {MAX_EXPANSION_DEPTH} deep (a definition that refers to itself?) - line ignored"
                ),
            );
            return;
        }
        let indent = text.len() - text.trim_start().len();
        let trimmed = text.trim_start();
        let col_base = col_base + text.get(..indent).map_or(0, |s| s.chars().count());
        if trimmed.is_empty() {
            return;
        }
        // Conditional configuration: `@id rest` / `@^id rest`.
        if let Some(cond) = trimmed.strip_prefix('@') {
            let (negate, cond) = match cond.strip_prefix('^') {
                Some(rest) => (true, rest),
                None => (false, cond),
            };
            let id_len = cond.find(char::is_whitespace).unwrap_or(cond.len());
            let (id, rest) = cond.split_at(id_len);
            if (id == self.config_id) == negate {
                return;
            }
            let skipped = trimmed.len() - rest.len();
            let col = col_base + trimmed.get(..skipped).map_or(0, |s| s.chars().count());
            self.process_line(file, rest, place, col, depth);
            return;
        }
        if let Some((name, value)) = definition(trimmed) {
            let value = value.trim();
            let lines = if value.is_empty() {
                Vec::new()
            } else {
                vec![value.to_owned()]
            };
            self.defines.insert(name.to_owned(), lines);
            return;
        }
        if let Some(rest) = trimmed.strip_prefix('~')
            && let Some(handled) = self.repetition(file, rest, place, col_base, depth)
        {
            if let Err(message) = handled {
                self.push_diag(Severity::Error, place, message);
            }
            return;
        }
        match self.substitute(file, trimmed) {
            Some(None) => {
                self.push_diag(
                    Severity::Error,
                    place,
                    format!(
                        "substitution produces more than {MAX_LINE_LEN} bytes or {MAX_SUBSTITUTED_LINES} lines - line ignored"
                    ),
                );
            }
            Some(Some(expanded)) => {
                for line in expanded {
                    self.process_line(file, &line, place, col_base, depth + 1);
                }
            }
            None => self.emit(file, trimmed, place, col_base),
        }
    }

    /// `~SEQ(var, [start,] [step,] end) rest`, `~SEQx(...)`, `~LST(var|{vars}, values...)`.
    /// None if `rest` is not a repetition at all.
    fn repetition(
        &mut self,
        file: &FileCtx,
        rest: &str,
        place: &Place,
        col_base: usize,
        depth: usize,
    ) -> Option<Result<(), String>> {
        let (kind, after) = if let Some(a) = rest.strip_prefix("SEQx(") {
            ("SEQx", a)
        } else if let Some(a) = rest.strip_prefix("SEQ(") {
            ("SEQ", a)
        } else if let Some(a) = rest.strip_prefix("LST(") {
            ("LST", a)
        } else {
            return None;
        };
        let Some(close) = matching_paren(after) else {
            return Some(Err(format!("~{kind}( without a closing ')'")));
        };
        let spec = after.get(..close).unwrap_or("");
        let body = after.get(close + 1..).unwrap_or("");
        let body_col = col_base + 1 + kind.len() + 1 + spec.chars().count() + 1;
        if kind == "LST" {
            let sets = match parse_lst(spec) {
                Ok(sets) => sets,
                Err(e) => return Some(Err(e)),
            };
            for set in sets {
                for (var, value) in set {
                    self.defines.insert(var, vec![value]);
                }
                self.process_line(file, body, place, body_col, depth + 1);
                if self.truncated {
                    break;
                }
            }
        } else {
            // keepalived substitutes parameters in the numbers (not the variable) first.
            let spec = match self.seq_parameters(file, spec) {
                Ok(spec) => spec,
                Err(e) => return Some(Err(e)),
            };
            // Values are made one at a time: nested repetitions hold no lists.
            let seq = match parse_seq(&spec, kind == "SEQx", DEFAULT_MAX_LINES) {
                Ok(seq) => seq,
                Err(e) => return Some(Err(e)),
            };
            for value in seq.values() {
                self.defines.insert(seq.var.clone(), vec![value]);
                self.process_line(file, body, place, body_col, depth + 1);
                if self.truncated {
                    break;
                }
            }
        }
        Some(Ok(()))
    }

    /// `var, numbers...` of a `~SEQ` with `$NAME`/`${NAME}` in the numbers replaced by their
    /// values (keepalived.conf "Sequence blocks"; a multi-line definition is an error).
    fn seq_parameters(&mut self, file: &FileCtx, spec: &str) -> Result<String, String> {
        let Some((var, numbers)) = spec.split_once(',') else {
            return Ok(spec.to_owned());
        };
        match self.substitute(file, numbers) {
            None => Ok(spec.to_owned()),
            Some(Some(lines)) if lines.len() == 1 => Ok(format!("{var},{}", lines.concat())),
            Some(_) => Err(format!(
                "~SEQ parameter is multiline definition '~SEQ({spec})'"
            )),
        }
    }

    /// Substitutes defined parameters in `text`; None if nothing was substituted,
    /// Some(None) if the result is too large.
    fn substitute(&mut self, file: &FileCtx, text: &str) -> Option<Option<Vec<String>>> {
        if !text.contains('$') {
            return None;
        }
        let mut out: Vec<String> = vec![String::new()];
        let mut changed = false;
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            let (before, from) = rest.split_at(pos);
            push_text(&mut out, before);
            let after = from.get(1..).unwrap_or("");
            let (name, args, consumed) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => {
                        let content = inner.get(..end).unwrap_or("");
                        let mut parts = content.split_whitespace();
                        let name = parts.next().unwrap_or("").to_owned();
                        let args: Vec<String> = parts.map(str::to_owned).collect();
                        (name, args, 1 + end + 2)
                    }
                    None => (String::new(), Vec::new(), 0),
                }
            } else {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                // keepalived: an unbraced name ends at a blank, ',' or ')' (or the line).
                let next = after.get(len..).and_then(|s| s.chars().next());
                if next.is_some_and(|c| !(c == ' ' || c == '\t' || c == ',' || c == ')')) {
                    (String::new(), Vec::new(), 0)
                } else {
                    (
                        after.get(..len).unwrap_or("").to_owned(),
                        Vec::new(),
                        1 + len,
                    )
                }
            };
            let value = if name.is_empty() || !valid_name(&name) {
                None
            } else {
                self.lookup(file, &name, &args)
            };
            match value {
                Some(lines) => {
                    changed = true;
                    let size: usize = out.iter().chain(lines.iter()).map(String::len).sum();
                    if size > MAX_LINE_LEN || out.len() + lines.len() > MAX_SUBSTITUTED_LINES {
                        return Some(None);
                    }
                    let mut iter = lines.into_iter();
                    if let Some(first) = iter.next() {
                        push_text(&mut out, &first);
                    }
                    for line in iter {
                        out.push(line);
                    }
                    rest = from.get(consumed..).unwrap_or("");
                }
                None => {
                    push_text(&mut out, "$");
                    rest = after;
                }
            }
        }
        push_text(&mut out, rest);
        changed.then_some(Some(out))
    }

    fn lookup(&mut self, file: &FileCtx, name: &str, args: &[String]) -> Option<Vec<String>> {
        if let Some(value) = self.defines.get(name) {
            return Some(value.clone());
        }
        let value = match name {
            "_PWD" => file.dir.display().to_string(),
            "_INSTANCE" => self.config_id.clone(),
            "_HASH" => "#".to_owned(),
            "_BANG" => "!".to_owned(),
            "_RANDOM" => {
                let min: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
                let max: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32767);
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                self.random_state ^= self.random_state << 13;
                self.random_state ^= self.random_state >> 7;
                self.random_state ^= self.random_state << 17;
                let span = hi - lo;
                let offset = if span == u64::MAX {
                    self.random_state
                } else {
                    self.random_state % (span + 1)
                };
                (lo + offset).to_string()
            }
            _ => return None,
        };
        Some(vec![value])
    }

    /// Tokenizes a final line; handles `include` and its variants.
    fn emit(&mut self, file: &FileCtx, text: &str, place: &Place, col_base: usize) {
        let tokens = lexer::tokenize(text);
        let Some(first) = tokens.first() else {
            return;
        };
        let col_base = u32::try_from(col_base).unwrap_or(u32::MAX);
        let is_include = !first.quoted
            && matches!(
                first.text.as_str(),
                "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
            );
        if !first.quoted && first.text == "include_check" {
            // Acted on here, where the includes are; the line goes on to the parser too.
            let words: Vec<&str> = tokens.iter().skip(1).map(|t| t.text.as_str()).collect();
            self.include_checks = self.include_checks.apply(&words);
        }
        if is_include {
            // include_check: r = readable, m = match, w = wildcard_match, b = brace_match,
            // a = all; a plain `include` makes the checks `include_check` set. A pattern
            // matching nothing fails the match checks only.
            let checks = self.include_checks.with_variant(&first.text);
            let place = Place::new(&file.name, place.line, col_base.saturating_add(first.col));
            match tokens.get(1) {
                Some(target) => self.include(file, &target.text, &place, checks),
                None => self.push_diag(
                    Severity::Error,
                    &place,
                    "include without a file name".to_owned(),
                ),
            }
            return;
        }
        self.words += tokens.len();
        self.bytes += text.len();
        let limit = if self.lines.len() >= self.max_lines {
            Some(format!("{} lines", self.max_lines))
        } else if self.words > self.max_lines.saturating_mul(WORDS_PER_LINE) {
            Some(format!(
                "{} words",
                self.max_lines.saturating_mul(WORDS_PER_LINE)
            ))
        } else if self.bytes > self.max_lines.saturating_mul(BYTES_PER_LINE) {
            Some(format!(
                "{} bytes",
                self.max_lines.saturating_mul(BYTES_PER_LINE)
            ))
        } else {
            None
        };
        if let Some(limit) = limit {
            self.truncated = true;
            self.push_diag(
                Severity::Fatal,
                place,
                format!("configuration expands to more than {limit} - stopped"),
            );
            return;
        }
        let words = tokens
            .into_iter()
            .map(|t| Word {
                place: Place::new(&file.name, place.line, col_base.saturating_add(t.col)),
                text: t.text,
                quoted: t.quoted,
            })
            .collect();
        self.lines.push(Line {
            place: Place::new(&file.name, place.line, 1),
            words,
        });
    }

    fn include(&mut self, file: &FileCtx, pattern: &str, place: &Place, checks: IncludeChecks) {
        let strict = checks.strict();
        let severity = if strict {
            Severity::Error
        } else {
            Severity::Note
        };
        if self.include_depth >= MAX_INCLUDE_DEPTH {
            self.push_diag(
                Severity::Error,
                place,
                format!("include '{pattern}' nested more than {MAX_INCLUDE_DEPTH} deep (include loop?) - skipped"),
            );
            return;
        }
        let full = if Path::new(pattern).is_absolute() || file.dir.as_os_str().is_empty() {
            pattern.to_owned()
        } else {
            file.dir.join(pattern).display().to_string()
        };
        let matches = self.source.glob(&full);
        if matches.is_empty() {
            // keepalived 2.2.7 says a missing part at the line whatever the checks (counted
            // as an error under `match` only); wildcards matching nothing in directories
            // that exist it says only under `wildcard_match`.
            let (counted, uncounted, message) = if self.source.misses_a_part(&full) {
                let message = format!("Config files missing '{full}'.");
                (checks.matched, Severity::Notice, message)
            } else {
                let message = format!("No config files matched '{full}'.");
                (checks.wildcard_match, Severity::Note, message)
            };
            let severity = if counted { Severity::Error } else { uncounted };
            self.include_check_failed |= counted;
            self.push_diag(severity, place, message);
            return;
        }
        for path in matches {
            let text = match self.source.read(&path) {
                Ok(text) => text,
                Err(err) => {
                    self.push_diag(
                        severity,
                        place,
                        format!("cannot read included file '{}': {err}", path.display()),
                    );
                    continue;
                }
            };
            let child = FileCtx {
                name: Arc::from(path.display().to_string()),
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            self.include_depth += 1;
            let checks = self.include_checks;
            self.process_text(&child, &text);
            self.include_checks = checks;
            self.include_depth -= 1;
        }
    }
}

/// `$NAME=value` (only whitespace before `$`, nothing between the name and `=`).
fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = rest.get(..eq)?;
    valid_name(name).then(|| (name, rest.get(eq + 1..).unwrap_or("")))
}

/// keepalived.conf: parameter names are `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn push_text(out: &mut Vec<String>, text: &str) {
    if let Some(last) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(text.to_owned());
    }
}

/// Index of the `)` closing a `(` already consumed, honouring nested `()`.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn parse_int(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let value = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16)
    } else {
        body.parse::<i64>()
    }
    .map_err(|_| format!("invalid number '{t}' in ~SEQ"))?;
    Ok(if neg { -value } else { value })
}

/// keepalived.conf "Sequence blocks": `var, [start,] [step,] end`.
fn parse_seq(spec: &str, hex: bool, max_count: usize) -> Result<Seq, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let var = parts.first().copied().unwrap_or("");
    if !valid_name(var) {
        return Err(format!("invalid ~SEQ variable name '{var}'"));
    }
    let nums: Vec<i64> = parts
        .get(1..)
        .unwrap_or(&[])
        .iter()
        .map(|p| parse_int(p))
        .collect::<Result<_, _>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (if *end < 0 { -1 } else { 1 }, None, *end),
        [start, end] => (*start, None, *end),
        [start, step, end] => (*start, Some(*step), *end),
        _ => {
            return Err(format!(
                "~SEQ({spec}) needs 1 to 3 numbers after the variable"
            ));
        }
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 {
        return Err(format!("~SEQ({spec}) has a zero step"));
    }
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        (end.abs_diff(start) / step.unsigned_abs()).saturating_add(1)
    };
    if count > max_count as u64 {
        return Err(format!("~SEQ({spec}) repeats more than {max_count} times"));
    }
    Ok(Seq {
        var: var.to_owned(),
        start,
        step,
        count,
        hex,
    })
}

/// A parsed `~SEQ`/`~SEQx`: its values are made on demand.
struct Seq {
    var: String,
    start: i64,
    step: i64,
    count: u64,
    hex: bool,
}

impl Seq {
    /// The values in order, as text (hexadecimal for `~SEQx`).
    fn values(&self) -> impl Iterator<Item = String> + '_ {
        let mut value = self.start;
        (0..self.count).map(move |_| {
            let text = if self.hex {
                if value < 0 {
                    format!("-{:x}", value.unsigned_abs())
                } else {
                    format!("{value:x}")
                }
            } else {
                value.to_string()
            };
            value = value.saturating_add(self.step);
            text
        })
    }
}

/// keepalived.conf "List blocks": `var, v1, v2...` or `{a, b}, {1, 2}, {3, 4}`.
fn parse_lst(spec: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let groups = split_groups(spec);
    let Some((vars, values)) = groups.split_first() else {
        return Err("~LST() needs a variable and values".to_owned());
    };
    for var in vars {
        if !valid_name(var) {
            return Err(format!("invalid ~LST variable name '{var}'"));
        }
    }
    if values.is_empty() {
        return Err("~LST needs at least one value".to_owned());
    }
    let mut sets = Vec::new();
    for value in values {
        if value.len() != vars.len() {
            return Err(format!(
                "~LST value {{{}}} does not match variables {{{}}}",
                value.join(","),
                vars.join(",")
            ));
        }
        sets.push(vars.iter().cloned().zip(value.iter().cloned()).collect());
    }
    Ok(sets)
}

/// Splits `a, {b, c}, d` into `[[a], [b, c], [d]]`.
fn split_groups(spec: &str) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    let mut rest = spec.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            let body = inner.get(..end).unwrap_or("");
            groups.push(body.split(',').map(|s| s.trim().to_owned()).collect());
            rest = inner.get(end + 1..).unwrap_or("").trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            groups.push(vec![rest.get(..end).unwrap_or("").trim().to_owned()]);
            rest = rest.get(end + 1..).unwrap_or("").trim_start();
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In-memory files for tests.
    struct Mem(Vec<(&'static str, &'static str)>);

    impl FileSource for Mem {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            self.0
                .iter()
                .find(|(p, _)| Path::new(p) == path)
                .map(|(_, t)| (*t).to_owned())
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        fn glob(&self, pattern: &str) -> Vec<PathBuf> {
            let prefix = pattern.trim_end_matches('*');
            let mut found: Vec<PathBuf> = self
                .0
                .iter()
                .filter(|(p, _)| {
                    if pattern.ends_with('*') {
                        p.starts_with(prefix)
                    } else {
                        *p == pattern
                    }
                })
                .map(|(p, _)| PathBuf::from(p))
                .collect();
            found.sort();
            found
        }
    }

    fn run(files: Vec<(&'static str, &'static str)>, id: &str) -> Vec<(u32, String)> {
        let mem = Mem(files.clone());
        let mut pre = Preprocessor::new(&mem, id);
        let (name, text) = files.first().copied().unwrap_or(("", ""));
        pre.run_text(name, text);
        let (lines, _) = pre.finish();
        lines
            .into_iter()
            .map(|l| {
                (
                    l.place.line,
                    l.words
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })
            .collect()
    }

    /// Whether `main` (at /c/k.conf, with `files` beside it) fails include_check.
    fn include_fails(main: &'static str, files: Vec<(&'static str, &'static str)>) -> bool {
        let mut all = vec![("/c/k.conf", main)];
        all.extend(files);
        let mem = Mem(all);
        let mut pre = Preprocessor::new(&mem, "x");
        pre.run_text("/c/k.conf", main);
        pre.include_check_failed()
    }

    #[test]
    fn include_check_makes_a_plain_include_check_as_keepalived_does() {
        let missing = "include /c/none/*.conf\n";
        assert!(!include_fails(missing, vec![]), "no include_check: a note");
        let checked = "global_defs {\n include_check\n}\ninclude /c/none/*.conf\n";
        assert!(include_fails(checked, vec![]));
        let readable = "include_check readable\ninclude /c/none/*.conf\n";
        assert!(!include_fails(readable, vec![]), "readable alone");
        let removed =
            "include_check\ninclude_check -match -wildcard_match\ninclude /c/none/*.conf\n";
        assert!(!include_fails(removed, vec![]));
        let added = "include_check readable\ninclude_check +match\ninclude /c/none/*.conf\n";
        assert!(include_fails(added, vec![]));
        // Set inside an included file, the setting ends with that file.
        let scoped = "include /c/sub.conf\ninclude /c/none/*.conf\n";
        assert!(!include_fails(
            scoped,
            vec![("/c/sub.conf", "include_check\n")]
        ));
        assert_eq!(
            IncludeChecks::default().apply(&["+match", "brace_match", "-readable"]),
            IncludeChecks {
                matched: true,
                brace_match: true,
                ..IncludeChecks::default()
            }
        );
    }

    #[test]
    fn conditional_lines_follow_the_config_id() {
        let text = "@main router_id a\n@backup router_id b\n@^main x 1\n";
        assert_eq!(
            run(vec![("/c/k.conf", text)], "main"),
            vec![(1, "router_id a".into())]
        );
        assert_eq!(
            run(vec![("/c/k.conf", text)], "backup"),
            vec![(2, "router_id b".into()), (3, "x 1".into())]
        );
    }

    #[test]
    fn definitions_substitute_at_use_time_recursively() {
        let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n$U ${UNDEF}\n";
        assert_eq!(
            run(vec![("/k.conf", text)], "x"),
            vec![
                (3, "10.2.0.100/32".into()),
                (5, "10.2.10.100/32".into()),
                // Undefined: left as written, then split at its braces as keepalived
                // does ("priority ${UNDEF}": "invalid number '$'", "Unexpected '{'").
                (6, "$U $ { UNDEF }".into())
            ]
        );
    }

    #[test]
    fn multi_line_definitions_expand_to_lines_and_honour_conditionals() {
        let text = "$I= \\\nvrrp_instance VI_${N} { \\\n@high priority 130 \\\n@low priority 120 \\\n}\n$N=3\n$I\n";
        assert_eq!(
            run(vec![("/k.conf", text)], "low"),
            vec![
                (7, "vrrp_instance VI_3 {".into()),
                (7, "priority 120".into()),
                (7, "}".into())
            ]
        );
    }

    /// Preprocesses `text` with at most `max_lines` lines out; the diagnostics as text.
    fn bounded(text: &str, max_lines: usize) -> (usize, Vec<String>) {
        let mem = Mem(vec![("/k.conf", "")]);
        let mut pre = Preprocessor::new(&mem, "x").with_max_lines(max_lines);
        pre.run_text("/k.conf", text);
        let (lines, diags) = pre.finish();
        (lines.len(), diags.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn nested_repetitions_that_emit_nothing_stop_at_the_work_budget() {
        // 10^12 definitions if run to the end (found by the fuzzer as an out-of-memory).
        let text = "~SEQ(A, 1, 1000000) ~SEQ(B, 1, 1000000) $X=${A}${B}\n";
        let started = std::time::Instant::now();
        let (lines, diags) = bounded(text, 1_000);
        assert_eq!(lines, 0);
        assert!(
            diags.iter().any(|d| d.contains("fatal")
                && d.contains("more than 8000 lines of definitions and repetitions")),
            "{diags:#?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn repeated_long_lines_stop_at_the_byte_budget() {
        // A 4 KiB line (doubling definitions) repeated: 400 MiB if not bounded.
        let mut text = String::from("$A0=abcdefgh\n");
        for i in 1..=9 {
            text.push_str(&format!("$A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
        }
        text.push_str("~SEQ(N, 1, 100000) x ${A9}\n");
        let (lines, diags) = bounded(&text, 1_000);
        assert!(lines < 20, "{lines} lines kept");
        assert!(
            diags
                .iter()
                .any(|d| d.contains("fatal") && d.contains("more than 64000 bytes")),
            "{diags:#?}"
        );
    }

    #[test]
    fn many_errors_are_counted_beyond_the_first_thousand() {
        let text = "~SEQ(N, 1, 5000) include\n";
        let (_, diags) = bounded(text, 100_000);
        assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(
            diags.last().map(String::as_str),
            Some("error: 4000 further preprocessing diagnostics not shown (first 1000 above)")
        );
    }

    #[test]
    fn seq_numbers_may_be_parameters() {
        let text = "$LO=2\n$STEP=2\n$HI=6\n~SEQ(N, $LO, ${STEP}, $HI) a${N}\n~SEQ(M, $LO) b${M}\n";
        let lines: Vec<String> = run(vec![("/k.conf", text)], "x")
            .into_iter()
            .map(|l| l.1)
            .collect();
        assert_eq!(lines, vec!["a2", "a4", "a6", "b1", "b2"]);
    }

    #[test]
    fn seq_and_lst_repeat_the_rest_of_the_line() {
        let text = "~SEQ(S, 0, 3) ip 10.0.${S}.1\n~SEQx(H, 0x90, 0x10, 0xc0) fe80::${H}\n~LST({A,B}, {1,2},{3,4}) x ${A}.${B}\n";
        let lines: Vec<String> = run(vec![("/k.conf", text)], "x")
            .into_iter()
            .map(|l| l.1)
            .collect();
        assert_eq!(
            lines,
            vec![
                "ip 10.0.0.1",
                "ip 10.0.1.1",
                "ip 10.0.2.1",
                "ip 10.0.3.1",
                "fe80::90",
                "fe80::a0",
                "fe80::b0",
                "fe80::c0",
                "x 1.2",
                "x 3.4"
            ]
        );
    }

    #[test]
    fn includes_are_relative_to_the_including_file_and_keep_their_places() {
        let files = vec![
            ("/etc/k/main.conf", "a 1\ninclude conf.d/*\nb 2\n"),
            ("/etc/k/conf.d/1.conf", "\nc 3\n"),
        ];
        let mem = Mem(files.clone());
        let mut pre = Preprocessor::new(&mem, "x");
        pre.run_text("/etc/k/main.conf", "a 1\ninclude conf.d/*\nb 2\n");
        let (lines, diags) = pre.finish();
        assert!(diags.is_empty());
        let got: Vec<String> = lines.iter().map(|l| l.place.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "/etc/k/main.conf:1:1",
                "/etc/k/conf.d/1.conf:2:1",
                "/etc/k/main.conf:3:1"
            ]
        );
    }

    #[test]
    fn self_referencing_definition_is_an_error_not_a_hang() {
        let mem = Mem(vec![]);
        let mut pre = Preprocessor::new(&mem, "x");
        pre.run_text("/k.conf", "$A=$A x\n$A\n");
        let (lines, diags) = pre.finish();
        assert!(lines.is_empty());
        assert_eq!(diags.len(), 1);
    }
}
