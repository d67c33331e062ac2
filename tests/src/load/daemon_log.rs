//! What the daemons' logs say: state transitions (kad and keepalived both log
//! `… Entering <STATE> STATE`) and the `receive statistics` line kad logs when it stops.

use std::collections::BTreeMap;

/// State transitions logged so far in `log` (kad's or keepalived's).
pub fn transitions(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("Entering ") && line.contains(" STATE"))
        .count()
}

/// The fields of kad's `receive statistics` line (`socket_packets`, `xdp_wakeups`,
/// `xdp_events`, `seen_refreshes`), if it logged one.
pub fn receive_statistics(log: &str) -> Option<BTreeMap<String, u64>> {
    let line = log
        .lines()
        .find(|line| line.contains("receive statistics"))?;
    Some(
        line.split_whitespace()
            .filter_map(|word| {
                let (name, value) = word.split_once('=')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_both_daemons_transitions_and_reads_statistics() {
        let log = "Sat Jan  1 (VI_1) Entering BACKUP STATE (init)\n\
                   (VI_1) Entering MASTER STATE\n\
                   INFO kad: Entering MASTER STATE instance=VI_2\n\
                   INFO kad: receive statistics socket_packets=3 xdp_wakeups=1 xdp_events=2 seen_refreshes=9\n";
        assert_eq!(transitions(log), 3);
        let stats = receive_statistics(log).expect("statistics line");
        assert_eq!(stats.get("socket_packets"), Some(&3));
        assert_eq!(stats.get("seen_refreshes"), Some(&9));
    }
}
