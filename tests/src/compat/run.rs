//! Running `TOOL -t -f FILE` inside a network namespace with a time limit: its exit code, or
//! the signal that ended it, or that it hung (killed, with everything it started, after the
//! limit).

use std::{
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

/// How a config test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (a crash: SIGSEGV, SIGABRT, ...).
    Signalled(i32),
    /// It was still running at the time limit and was killed.
    Hung,
}

/// One tool's run on one file.
#[derive(Clone, Debug)]
pub struct ToolRun {
    /// How it ended.
    pub outcome: Outcome,
    /// Standard output, then standard error.
    pub output: String,
}

/// Runs `program -t -f FILE` in namespace `netns` (`ip netns exec`, which also gives it the
/// namespace's own /sys) from FILE's folder, so relative includes resolve as they would for
/// a user who runs it there. After `limit` it is killed with its whole process group.
pub fn config_test(netns: &str, program: &Path, file: &Path, limit: Duration) -> Result<ToolRun> {
    let folder = file.parent().unwrap_or(Path::new("/"));
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns])
        .arg(program)
        .arg("-t")
        .arg("-f")
        .arg(file)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting ip netns exec {netns} {}", program.display()))?;
    let readers = [
        child.stdout.take().map(read_all),
        child.stderr.take().map(read_all),
    ];
    let pid = i32::try_from(child.id()).context("process id out of range")?;
    let started = Instant::now();
    let mut hung = false;
    // Wait without reaping, so the process group's id cannot be reused before it is killed.
    while !exited(pid)? {
        if started.elapsed() >= limit {
            hung = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Whatever the tool left running (a forked child holding the pipes) goes with it.
    // SAFETY: kill has no memory effects; the group is the one this child leads and, not yet
    // reaped, its id is still ours.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let status = child.wait().context("waiting for the config test")?;
    let mut output = String::new();
    for reader in readers.into_iter().flatten() {
        let bytes = reader.join().unwrap_or_default();
        output.push_str(&String::from_utf8_lossy(&bytes));
    }
    let outcome = if hung {
        Outcome::Hung
    } else {
        use std::os::unix::process::ExitStatusExt as _;
        match (status.code(), status.signal()) {
            (Some(code), _) => Outcome::Exited(code),
            (None, Some(signal)) => Outcome::Signalled(signal),
            (None, None) => Outcome::Signalled(0),
        }
    };
    Ok(ToolRun { outcome, output })
}

/// Whether process `pid` (our child) has exited, without reaping it.
fn exited(pid: i32) -> Result<bool> {
    // SAFETY: siginfo_t is plain data; waitid writes it and nothing else.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid siginfo_t for waitid to fill; WNOWAIT leaves the child
    // waitable, WNOHANG returns at once.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("waitid");
    }
    // SAFETY: waitid filled `info`; si_pid is 0 when no child has changed state.
    Ok(unsafe { info.si_pid() } != 0)
}

fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
