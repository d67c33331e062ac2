//! What the daemons' logs say: state transitions (kad and keepalived both log
//! `… Entering <STATE> STATE`) and the `receive statistics` line kad logs when it stops.

use std::{collections::BTreeMap, time::Duration};

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

/// The per-reason counters of kad's `XDP counters` line (logged at stop, e.g.
/// `… counters=not_vrrp=3 vrrp_v2=0 … bad_ttl=200 …`), if it logged one.
pub fn xdp_counters(log: &str) -> Option<BTreeMap<String, u64>> {
    let line = log.lines().find(|line| line.contains("XDP counters"))?;
    Some(
        line.split_whitespace()
            .filter_map(|word| {
                let (rest, value) = word.rsplit_once('=')?;
                let name = rest.rsplit('=').next()?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect(),
    )
}

/// kad's transitions to Master: (time since the Unix epoch, VRID), from lines like
/// `2026-11-23T14:24:45.444388Z  INFO …: Entering MASTER STATE instance=VI_99 vrid=99 …`.
pub fn kad_takeovers(log: &str) -> Vec<(Duration, u8)> {
    kad_entering(log, "MASTER")
}

/// kad's transitions to `state` (`MASTER`, `BACKUP`, `FAULT`): (time since the Unix epoch,
/// VRID), in log order.
pub fn kad_entering(log: &str, state: &str) -> Vec<(Duration, u8)> {
    let entering = format!("Entering {state} STATE");
    log.lines()
        .filter(|line| line.contains(&entering))
        .filter_map(|line| {
            let at = utc_timestamp(line.split_whitespace().next()?)?;
            let vrid = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("vrid="))?
                .parse()
                .ok()?;
            Some((at, vrid))
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS[.frac]Z` as time since the Unix epoch.
fn utc_timestamp(text: &str) -> Option<Duration> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.split(':').map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    let nanos: u32 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = u64::try_from(era * 146_097 + doe - 719_468).ok()?;
    Some(Duration::new(
        days * 86_400 + hour * 3600 + minute * 60 + second,
        nanos,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_counters_are_read_from_the_stop_line() {
        let log = "2026-11-23T14:43:10Z  INFO kad::runtime::dataplane: XDP counters ifindex=2 \
                   mode=Native counters=not_vrrp=3 vrrp_v2=0 bad_ttl=200 unknown_vrid=7\n";
        let counters = xdp_counters(log).unwrap_or_default();
        assert_eq!(counters.get("not_vrrp"), Some(&3));
        assert_eq!(counters.get("bad_ttl"), Some(&200));
        assert_eq!(counters.get("unknown_vrid"), Some(&7));
        assert_eq!(xdp_counters("no such line"), None);
    }

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

    #[test]
    fn reads_kad_takeovers_with_their_time() {
        let log = "2026-11-23T14:24:44.618450Z  INFO kad::runtime::executor: Entering BACKUP STATE instance=VI_1 vrid=1\n\
                   2026-11-23T14:24:45.444388Z  INFO kad::runtime::executor: Entering MASTER STATE instance=VI_99 vrid=99 from=Backup reason=MasterDown\n";
        let takeovers = kad_takeovers(log);
        assert_eq!(takeovers.len(), 1);
        // date -u -d 2026-11-23T14:24:45Z +%s
        assert_eq!(takeovers[0].0, Duration::new(1_795_443_885, 444_388_000));
        assert_eq!(takeovers[0].1, 99);
    }
}
