//! `kad --dump-config[=json]`: the resolved model, as text or JSON.

use super::model::Config;

/// The resolved configuration as pretty JSON (places as `file:line:col`).
pub fn to_json(config: &Config) -> String {
    serde_json::to_string_pretty(config).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
}

/// The resolved configuration as indented text.
pub fn to_text(config: &Config) -> String {
    format!("{config:#?}")
}
