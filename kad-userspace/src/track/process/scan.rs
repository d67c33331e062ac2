//! Reading processes from `/proc`.

use super::{
    monitor::{Monitor, ProcInfo},
    quorum::Quorum,
    rules::ProcessSpec,
};

/// Reads one process from `/proc`: None when it is gone or a zombie.
pub fn read_process(pid: i32, cmdline: bool) -> Option<ProcInfo> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let (comm, state, ppid) = parse_stat(&stat)?;
    if state == b'Z' || state == b'X' {
        return None;
    }
    let cmdline = if cmdline {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok()?
    } else {
        Vec::new()
    };
    Some(ProcInfo {
        ppid,
        comm: comm.to_vec(),
        cmdline,
    })
}

/// `/proc/PID/stat` → (comm, state, ppid). The name is between the first `(` and the last
/// `)` (it may hold either).
pub fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8, i32)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let comm = stat.get(open + 1..close)?;
    let rest = stat.get(close + 1..)?;
    let mut fields = rest.split(|b| *b == b' ').filter(|field| !field.is_empty());
    let state = *fields.next()?.first()?;
    let ppid = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((comm, state, ppid))
}

/// Every live process in `/proc`.
pub fn scan(cmdline: bool) -> Vec<(i32, ProcInfo)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| read_process(pid, cmdline).map(|info| (pid, info)))
        .collect()
}

/// Whether each of `specs` is up right now (one `/proc` read, for the statuses units start
/// with).
pub fn current_statuses(specs: &[ProcessSpec]) -> Vec<bool> {
    let needs_cmdline = specs.iter().any(ProcessSpec::uses_cmdline);
    let monitor = Monitor::new(specs.to_vec(), &scan(needs_cmdline));
    (0..specs.len())
        .map(|index| monitor.quorum(index).is_some_and(Quorum::is_up))
        .collect()
}
