//! Diagnostics (warnings and errors with places) and the errors of loading a file.

use std::fmt;

use serde::Serialize;

use super::place::Place;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, changes nothing (e.g. a keyword kad parses but does not act on yet).
    Note,
    /// Reported at its line as keepalived reports it, but not counted as an error: the
    /// exit status stays (keepalived's reports with `CONFIG_OK`, e.g. an include missing).
    Notice,
    /// keepalived goes on (unknown keyword, deprecated syntax, missing interface).
    Warning,
    /// A bad value: the keyword is ignored or the item dropped, as keepalived does.
    Error,
    /// The configuration cannot run at all.
    Fatal,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        })
    }
}

/// One message about the configuration, with the place it concerns when there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// Where (absent for whole-configuration findings, as in keepalived).
    pub place: Option<Place>,
    /// What is wrong, including the offending text and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `place`.
    pub fn at(severity: Severity, place: &Place, message: impl Into<String>) -> Self {
        Self {
            severity,
            place: Some(place.clone()),
            message: message.into(),
        }
    }

    /// A diagnostic about the whole configuration.
    pub fn global(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            place: None,
            message: message.into(),
        }
    }

    /// A finding keepalived makes after it has read the whole file (`vrrp_complete_instance`,
    /// `validate_check_config`, the script checks...) and prints without a line: no place,
    /// as in keepalived; the message starts with the block it concerns and where that block
    /// starts (`vrrp_instance VI_1 (defined at keepalived.conf:19): ...`) so it can be found.
    pub fn in_block(
        severity: Severity,
        block: &str,
        place: &Place,
        message: impl std::fmt::Display,
    ) -> Self {
        Self {
            severity,
            place: None,
            message: format!(
                "{block} (defined at {}:{}): {message}",
                place.file, place.line
            ),
        }
    }

    /// Whether keepalived would count this as a configuration error under `-t`.
    pub fn counts_as_error(&self) -> bool {
        self.severity >= Severity::Warning
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(place) => write!(f, "{place}: {}: {}", self.severity, self.message),
            None => write!(f, "{}: {}", self.severity, self.message),
        }
    }
}

/// A value that does not parse: what was found and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid value '{found}': expected {expected}")]
pub struct ValueError {
    /// The offending text.
    pub found: String,
    /// What would have been accepted.
    pub expected: String,
}

impl ValueError {
    /// `found` is not `expected`.
    pub fn new(found: &str, expected: impl Into<String>) -> Self {
        Self {
            found: found.to_owned(),
            expected: expected.into(),
        }
    }
}

/// Why a configuration could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The main configuration file cannot be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
