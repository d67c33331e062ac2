//! keepalived's `--signum NAME`: the number of the signal that asks the daemon for `NAME`,
//! so scripts can `kill -s $(kad --signum DATA) $(cat /run/keepalived.pid)` as they do with
//! keepalived.

/// The signal kad (and keepalived) acts on for `name`: `STOP` (SIGTERM), `RELOAD` (SIGHUP),
/// `DATA` (SIGUSR1, the data dump), `STATS` (SIGUSR2, the stats dump), `JSON` (SIGRTMIN+2,
/// the JSON dump). Case-insensitive; `None` for any other name.
pub fn signum(name: &str) -> Option<i32> {
    match name.to_ascii_uppercase().as_str() {
        "STOP" => Some(libc::SIGTERM),
        "RELOAD" => Some(libc::SIGHUP),
        "DATA" => Some(libc::SIGUSR1),
        "STATS" => Some(libc::SIGUSR2),
        "JSON" => Some(json_signal()),
        _ => None,
    }
}

/// SIGRTMIN+2, keepalived's JSON dump signal (SIGRTMIN is a run-time value in glibc).
pub fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_as_keepalived_maps_them() {
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("stats"), Some(12));
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("JSON"), Some(libc::SIGRTMIN() + 2));
        assert_eq!(signum("TDATA"), None);
    }
}
