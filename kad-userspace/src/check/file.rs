//! keepalived.conf `FILE_CHECK { track_file NAME  weight W [reverse]  dynamic }`: the
//! number in the `track_file` block's file (read as [`crate::track::file::parse_value`]
//! reads it; a missing file reads 0), multiplied by W (negated with `reverse`) and added to
//! the real server's weight (keepalived.conf(5) "track_file"). With weight 0 a non-zero
//! value means down; otherwise a negative result means down (keepalived.conf(5) calls this
//! part "not fully implemented" in keepalived itself). With `dynamic` the result becomes
//! the real server's weight. The file is read every [`POLL_EVERY`] (keepalived watches it
//! with inotify).

use std::time::Duration;

use super::{Pass, ProbeError};

/// How often the file is read (the same bound as `track_file` for VRRP).
pub const POLL_EVERY: Duration = crate::track::file::POLL_EVERY;

/// A FILE_CHECK, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileSpec {
    /// The `track_file` block's `file`.
    pub path: String,
    /// The checker's `weight`, else the track_file's.
    pub weight: i32,
    /// `weight W reverse`.
    pub reverse: bool,
    /// The real server's configured weight.
    pub base: i32,
    /// keepalived.conf `dynamic`: the result sets the real server's weight.
    pub dynamic: bool,
}

/// What a value in the file means.
pub fn judge(spec: &FileSpec, value: i64) -> Result<Pass, ProbeError> {
    if spec.weight == 0 {
        return if value == 0 {
            Ok(Pass::default())
        } else {
            Err(ProbeError::Check(format!("{} reads {value}", spec.path)))
        };
    }
    let sign = if spec.reverse { -1 } else { 1 };
    let weight = i64::from(spec.base) + sign * value.saturating_mul(i64::from(spec.weight));
    if weight < 0 {
        return Err(ProbeError::Check(format!(
            "{} reads {value}: weight {weight}",
            spec.path
        )));
    }
    Ok(Pass {
        weight: spec
            .dynamic
            .then(|| i32::try_from(weight).unwrap_or(i32::MAX)),
    })
}

/// Reads the file once.
pub async fn probe(spec: &FileSpec) -> Result<Pass, ProbeError> {
    // A regular file's first bytes, off the loop; a missing file (or a FIFO or device,
    // never opened for reading) reads 0, as for track_file.
    let value = crate::track::file::read_value(&spec.path)
        .await
        .unwrap_or(0);
    judge(spec, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(weight: i32, reverse: bool) -> FileSpec {
        FileSpec {
            path: "/x".into(),
            weight,
            reverse,
            base: 10,
            dynamic: true,
        }
    }

    #[test]
    fn the_value_scales_the_weight_or_fails_the_server() {
        assert_eq!(judge(&spec(0, false), 0), Ok(Pass::default()));
        assert!(judge(&spec(0, false), 3).is_err());
        assert_eq!(judge(&spec(2, false), 3), Ok(Pass { weight: Some(16) }));
        assert_eq!(judge(&spec(2, true), 3), Ok(Pass { weight: Some(4) }));
        assert!(judge(&spec(2, true), 6).is_err());
        let fixed = FileSpec {
            dynamic: false,
            ..spec(2, false)
        };
        assert_eq!(judge(&fixed, 3), Ok(Pass { weight: None }));
    }
}
