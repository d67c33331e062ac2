//! When a trial may start: the master elected and the backup listening. A backup that is
//! still starting (kad loading its XDP program on a busy machine, say) when the fault comes
//! would add its start-up time to the outage, so the benchmark waits until the backup's log
//! says it is in BACKUP, and that it stays there for a whole Master_Down_Interval.

/// The state a VRRP daemon's log last reported entering: `"BACKUP"` for kad's `Entering
/// BACKUP STATE instance=…` and keepalived's `(NAME) Entering BACKUP STATE` alike.
pub fn last_state(log: &str) -> Option<&str> {
    log.lines().rev().find_map(|line| {
        let rest = &line[line.find("Entering ")? + "Entering ".len()..];
        let state = rest.split_whitespace().next()?;
        rest[state.len()..]
            .trim_start()
            .starts_with("STATE")
            .then_some(state)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_state_of_both_daemons() {
        let kad = "2026-11-23T16:58:03Z  INFO kad::runtime::executor: Entering BACKUP STATE \
                   instance=BENCH vrid=51 from=Initialize reason=Startup\n\
                   2026-11-23T16:58:04Z  INFO kad::runtime::executor: Entering MASTER STATE \
                   instance=BENCH vrid=51 from=Backup reason=MasterDown\n\
                   2026-11-23T16:58:04Z  INFO kad::runtime::engine: link state changed\n";
        assert_eq!(last_state(kad), Some("MASTER"));
        let keepalived = "Mon Nov 23 16:58:23 2026: (BENCH) Entering MASTER STATE\n\
                          Mon Nov 23 16:58:23 2026: (BENCH) Entering BACKUP STATE\n\
                          Mon Nov 23 16:58:23 2026: (BENCH) removing VIPs.\n";
        assert_eq!(last_state(keepalived), Some("BACKUP"));
        assert_eq!(last_state("Entering the lab\nstarting\n"), None);
        assert_eq!(last_state(""), None);
    }
}
