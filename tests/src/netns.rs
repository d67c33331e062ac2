//! Network namespaces for tests: created with iproute2 under a name unique to the test
//! process, entered by a dedicated thread (`setns`), deleted when dropped, on every exit path.

use std::{
    fs::File,
    os::fd::AsRawFd as _,
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use anyhow::{Context as _, Result, bail};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A network namespace owned by a test; removed on drop (its interfaces go with it).
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates `kt<pid>-<n>-<tag>` (short: interface and namespace names are length-limited)
    /// with its loopback up.
    pub fn new(tag: &str) -> Result<Self> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let name = format!("kt{}-{id}-{tag}", std::process::id());
        run_ip(&["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name, as `ip netns` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS…`.
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ip(&full)
    }

    /// Gives veth `iface` (up) its own NAPI kernel thread (GRO on, `threaded` 1; TSO off,
    /// since a veth with TSO hands most frames it sends to its peer's backlog instead of the
    /// peer's NAPI): frames sent to it are then received by that thread, not in the sender's
    /// system call, as on a real link where the receiving host does its own work.
    /// Returns the thread ids of the NAPI threads that appeared meanwhile (its own).
    pub fn napi_thread(&self, iface: &str) -> Result<Vec<i32>> {
        let before = napi_threads();
        let script = format!(
            "ethtool -K {iface} gro on tso off >/dev/null && tc qdisc replace dev {iface} root pfifo limit 4096 && echo 1 > /sys/class/net/{iface}/threaded"
        );
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", &script])
            .output()
            .context("ip netns exec sh")?;
        if !out.status.success() {
            bail!(
                "threaded NAPI on {iface} in {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(napi_threads()
            .into_iter()
            .filter(|pid| !before.contains(pid))
            .collect())
    }

    /// Runs `f` on a thread that has entered this namespace, and returns its result.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let path = format!("/run/netns/{}", self.name);
        let file = File::open(&path).with_context(|| format!("opening {path}"))?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: setns on a valid namespace fd; it affects only this thread.
                    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        bail!("setns({path}): {}", std::io::Error::last_os_error());
                    }
                    f()
                })
                .join()
                .map_err(|_| anyhow::anyhow!("thread in {} panicked", self.name))?
        })
    }
}

impl NetNs {
    /// Runs `f` on a new background thread that has entered this namespace.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<std::thread::JoinHandle<Result<T>>> {
        let path = format!("/run/netns/{}", self.name);
        let file = File::open(&path).with_context(|| format!("opening {path}"))?;
        Ok(std::thread::spawn(move || {
            // SAFETY: setns on a valid namespace fd; it affects only this thread.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                bail!("setns({path}): {}", std::io::Error::last_os_error());
            }
            f()
        }))
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Err(err) = run_ip(&["netns", "del", &self.name]) {
            eprintln!("cleanup: {err}");
        }
    }
}

/// Creates a veth pair `a`/`b` with `a` in `ns_a` and `b` in `ns_b`, both up.
pub fn veth_pair(ns_a: &NetNs, a: &str, ns_b: &NetNs, b: &str) -> Result<()> {
    run_ip(&[
        "link",
        "add",
        a,
        "netns",
        ns_a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b,
        "netns",
        ns_b.name(),
    ])?;
    ns_a.ip(&["link", "set", a, "up"])?;
    ns_b.ip(&["link", "set", b, "up"])
}

fn run_ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Process ids of the kernel's NAPI threads (`napi/IFACE-ID`).
fn napi_threads() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            comm.starts_with("napi/").then_some(pid)
        })
        .collect()
}
