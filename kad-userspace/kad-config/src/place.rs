//! Places in the configuration text: `file:line:col`, kept for every value.

use std::{collections::BTreeMap, fmt, sync::Arc};

use serde::{Serialize, Serializer};

/// Places of the keywords set in one block: keyword → place of its value (or of the
/// keyword when it has none). keepalived.conf values keep their `file:line:col` here.
pub type Places = BTreeMap<String, Place>;

/// Where a word or a line came from: file, 1-based line and 1-based column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Place {
    /// The file as it was named (after include resolution).
    pub file: Arc<str>,
    /// 1-based line number in `file`.
    pub line: u32,
    /// 1-based column (in characters) in that line.
    pub col: u32,
}

impl Place {
    /// A place in `file` at `line`, `col`.
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Self {
        Self {
            file: Arc::clone(file),
            line,
            col,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl Serialize for Place {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One word of a configuration line (a keyword or a value) and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The text, with quotes removed and escapes resolved.
    pub text: String,
    /// Where the word starts.
    pub place: Place,
    /// Whether the word was (partly) quoted; a quoted `{` is not a block start.
    pub quoted: bool,
}

impl Word {
    /// The word's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}
