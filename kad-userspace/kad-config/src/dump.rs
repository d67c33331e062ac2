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

/// Durations as seconds (keepalived.conf `<TIMER>` values) in the JSON dump.
pub fn secs<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Optional durations as seconds in the JSON dump.
pub fn opt_secs<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}
