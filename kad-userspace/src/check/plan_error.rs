//! Why a checker of the configuration cannot be planned (the checkers leave it out with a
//! warning, as keepalived does): shared by the plan and the checkers' own parsers.

/// A checker that cannot run as configured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// keepalived.conf UDP_CHECK `payload`/`require_reply` HEX_STR with a non-hex digit.
    #[error("UDP_CHECK '{text}': '{digit}' is not a hex digit")]
    NotHex {
        /// The HEX_STR as written.
        text: String,
        /// The offending character.
        digit: char,
    },
    /// keepalived.conf DNS_CHECK `type` that is no record type.
    #[error("DNS_CHECK: unknown query type '{0}'")]
    DnsType(String),
    /// keepalived.conf DNS_CHECK `name` that is no domain name.
    #[error("DNS_CHECK: name '{name}': {why}")]
    DnsName {
        /// The name as written.
        name: String,
        /// Why it is not one.
        why: String,
    },
    /// keepalived.conf HTTP_GET/SSL_GET `url { regex }` that does not compile.
    #[error("url {path}: regex: {why}")]
    Regex {
        /// The url's `path`.
        path: String,
        /// The regex compiler's word.
        why: String,
    },
    /// A numeric keyword whose value is not a number.
    #[error("{keyword} '{word}' is not a number")]
    NotANumber {
        /// The keyword.
        keyword: String,
        /// Its value as written.
        word: String,
    },
    /// A required keyword is missing (`misc_path`, `track_file`) or a script is empty.
    #[error("{0}")]
    Missing(&'static str),
    /// keepalived.conf FILE_CHECK `track_file` naming no `track_file` block.
    #[error("track_file {0} is not defined")]
    UndefinedTrackFile(String),
    /// A `track_file` block without `file`.
    #[error("track_file {0} has no file")]
    TrackFileWithoutFile(String),
    /// A checker kind kad does not run.
    #[error("{0} is not supported")]
    Unsupported(String),
    /// A script that may not run: its user, or keepalived's script security.
    #[error("{0}")]
    Script(String),
}
