//! `track_file`: the number written in a file (keepalived reads it on inotify events; kad
//! polls every [`POLL_EVERY`], which bounds the reaction time). A missing or unreadable file
//! reads as 0, as in keepalived; text that is not a number reads as 0 with a warning.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::vrrp::fsm::TrackerStatus;

use super::{TrackerIndex, TrackerUpdate};

/// How often the file is read.
pub const POLL_EVERY: Duration = Duration::from_millis(100);

/// The value keepalived takes from the file's text: the leading integer, else 0.
pub fn parse_value(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let end = trimmed
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
        .map_or(trimmed.len(), |(i, _)| i);
    trimmed
        .get(..end)
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// Polls `path` forever, sending each new value for tracker `index`.
pub async fn run(
    index: TrackerIndex,
    name: String,
    path: String,
    updates: mpsc::Sender<TrackerUpdate>,
) {
    let mut last: Option<i64> = None;
    let mut ticker = tokio::time::interval(POLL_EVERY);
    loop {
        ticker.tick().await;
        let value = match tokio::fs::read_to_string(&path).await {
            Ok(text) => parse_value(&text),
            Err(_) => 0,
        };
        if last != Some(value) {
            if last.is_some() {
                tracing::info!(track_file = %name, value, "tracked file changed");
            }
            last = Some(value);
            let update = TrackerUpdate {
                index,
                status: TrackerStatus::Value(value),
            };
            if updates.send(update).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_value;

    #[test]
    fn reads_the_leading_integer_like_keepalived() {
        assert_eq!(parse_value("42\n"), 42);
        assert_eq!(parse_value("  -7 apples"), -7);
        assert_eq!(parse_value("+3"), 3);
        assert_eq!(parse_value("abc"), 0);
        assert_eq!(parse_value(""), 0);
        assert_eq!(parse_value("99999999999999999999999"), 0);
    }
}
