//! A VRRP test lab: one L2 segment (a bridge in its own namespace) with router and client
//! namespaces attached by veths, real daemons (kad, keepalived, FRR) started inside them, and
//! everything — processes first, then namespaces — torn down on drop.
//!
//! Every lab gets its own namespaces, so labs in concurrent tests never meet and all can use
//! the same addresses (10.77.0.0/24, fd77::/64).

use std::{
    fs,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::netns::NetNs;

/// The segment's IPv4 prefix length.
pub const PREFIX_LEN: u8 = 24;

/// The IPv4 virtual address lab tests elect a holder for (VRID 51).
pub const VIP: &str = "10.77.0.100";

/// The IPv6 virtual address lab tests elect a holder for.
pub const VIP6: &str = "fd77::100";

/// Two routers: `r1` (10.77.0.1) and `r2` (10.77.0.2), for [`Lab::with_hosts`].
pub const ROUTERS: &[(&str, u8)] = &[("r1", 1), ("r2", 2)];

/// Two routers and a client `c` (10.77.0.10), for [`Lab::with_hosts`].
pub const ROUTERS_AND_CLIENT: &[(&str, u8)] = &[("r1", 1), ("r2", 2), ("c", 10)];

/// One namespace on the lab segment, with its interface `eth0`.
pub struct Host {
    /// Short name (`r1`, `c`, …).
    pub name: String,
    /// The host's namespace.
    pub ns: NetNs,
    /// Its primary IPv4 address on the segment.
    pub ipv4: Ipv4Addr,
}

impl Host {
    /// The host's interface on the segment.
    pub const IFACE: &'static str = "eth0";

    /// Whether `addr` is configured on any interface of this host.
    pub fn has_address(&self, addr: &str) -> Result<bool> {
        Ok(self.addresses()?.iter().any(|have| have == addr))
    }

    /// Every address configured on this host's interfaces, without prefix lengths (one
    /// `ip addr show`, for checking many VIPs at once).
    pub fn addresses(&self) -> Result<Vec<String>> {
        let out = Command::new("ip")
            .args(["-n", self.ns.name(), "-o", "addr", "show"])
            .output()
            .context("ip addr show")?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|word| *word == "inet" || *word == "inet6")?;
                Some(words.next()?.split('/').next()?.to_owned())
            })
            .collect())
    }

    /// The MAC address of this host's `eth0`.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let out = Command::new("ip")
            .args(["-n", self.ns.name(), "-o", "link", "show", Self::IFACE])
            .output()
            .context("ip link show")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let word = text
            .split_whitespace()
            .skip_while(|word| *word != "link/ether")
            .nth(1)
            .with_context(|| format!("no MAC address in {text:?}"))?;
        let mut mac = [0u8; 6];
        let mut parts = word.split(':');
        for byte in &mut mac {
            let part = parts.next().with_context(|| format!("MAC {word:?}"))?;
            *byte = u8::from_str_radix(part, 16).with_context(|| format!("MAC {word:?}"))?;
        }
        Ok(mac)
    }

    /// Adds a veth pair `a`/`b` inside this host, both up (a second link to track: `a`
    /// loses carrier when `b` goes down).
    pub fn add_local_link(&self, a: &str, b: &str) -> Result<()> {
        self.ns
            .ip(&["link", "add", a, "type", "veth", "peer", "name", b])?;
        self.ns.ip(&["link", "set", a, "up"])?;
        self.ns.ip(&["link", "set", b, "up"])
    }

    /// A command that runs inside this host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", self.ns.name(), program]);
        command
    }

    /// One ICMP (or ICMPv6) echo to `addr` with a 1 s timeout: true when answered.
    pub fn ping_once(&self, addr: &str) -> bool {
        self.command("ping")
            .args(["-c", "1", "-W", "1", "-q", addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }
}

/// A daemon started in the lab; stopped (and its pid-file children killed) on lab drop.
pub struct Daemon {
    /// Label for messages (`keepalived@r1`).
    pub label: String,
    child: Child,
    pid_files: Vec<PathBuf>,
    log: PathBuf,
    run_dir: Option<PathBuf>,
}

impl Daemon {
    /// The lab folder that is the daemon's `/run`, when it runs with one of its own (every
    /// kad, and what [`Lab::start_private_run`] starts).
    pub fn run_dir(&self) -> Option<&Path> {
        self.run_dir.as_deref()
    }

    /// The launched process's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's combined stdout/stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the launched process.
    pub fn signal(&self, signal: i32) -> Result<()> {
        let pid = i32::try_from(self.child.id()).context("pid")?;
        // SAFETY: kill(2) on our own child's pid.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether the launched process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the launched process to exit; true if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill_all(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for file in &self.pid_files {
            let pid = fs::read_to_string(file)
                .ok()
                .and_then(|text| text.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|pid| *pid > 1) {
                // SAFETY: kill(2); the pid came from a pid file the daemon wrote in our lab.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// The lab: a switch namespace with bridge `br0`, hosts attached to it, and daemons.
pub struct Lab {
    dir: PathBuf,
    daemons: Vec<Daemon>,
    hosts: Vec<Host>,
    switch: NetNs,
    /// Arguments added to every `kad` started by [`Lab::start_kad`] (e.g. `--no-xdp`).
    pub kad_args: Vec<String>,
    /// Nice value for daemons started from now on (`None`: inherited). Load tests raise
    /// the daemons' priority so that a busy machine does not starve them of their deadlines.
    pub nice: Option<i32>,
    /// Hosts plugged from now on receive in NAPI threads (both ends of their veth, see
    /// [`NetNs::napi_thread`]): a sender's CPU time is then its own work, not also the
    /// bridge's and the receivers' (a veth delivers in the sender's system call otherwise).
    /// Load benchmarks set it, so that a daemon's CPU is what it would be on a real link.
    pub napi_threads: bool,
    /// The next daemon gets a `/run` of its own even if it is not kad.
    private_run_next: bool,
}

impl Lab {
    /// An empty segment.
    pub fn new(tag: &str) -> Result<Self> {
        let switch = NetNs::new(&format!("{tag}sw"))?;
        switch.ip(&["link", "add", "br0", "type", "bridge"])?;
        switch.ip(&[
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ])?;
        switch.ip(&["link", "set", "br0", "up"])?;
        let dir = std::env::temp_dir().join(switch.name());
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir,
            daemons: Vec::new(),
            hosts: Vec::new(),
            switch,
            kad_args: Vec::new(),
            nice: None,
            napi_threads: false,
            private_run_next: false,
        })
    }

    /// A segment with `hosts` (name, last octet) added in order (see [`Lab::add_host`]).
    pub fn with_hosts(tag: &str, hosts: &[(&str, u8)]) -> Result<Self> {
        let mut lab = Self::new(tag)?;
        for (name, octet) in hosts {
            lab.add_host(name, *octet)?;
        }
        Ok(lab)
    }

    /// Whether host `host` has `addr` configured (holds the VIP).
    pub fn holds(&self, host: &str, addr: &str) -> Result<bool> {
        self.host(host)?.has_address(addr)
    }

    /// Scratch folder for this lab's configs, pid files and logs (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds host `name` with `10.77.0.<octet>/24` and `fd77::<octet>/64` on its `eth0`.
    pub fn add_host(&mut self, name: &str, octet: u8) -> Result<&Host> {
        let ns = NetNs::new(name)?;
        // No duplicate address detection on the segment: link-local addresses (VRRPv3's
        // IPv6 source) are usable as soon as the link is up.
        for scope in ["all", "default"] {
            let key = format!("net.ipv6.conf.{scope}.accept_dad=0");
            let out = Command::new("ip")
                .args(["netns", "exec", ns.name(), "sysctl", "-qw", &key])
                .output()
                .context("sysctl")?;
            if !out.status.success() {
                bail!(
                    "sysctl {key} in {name}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        let ipv4 = self.plug(&ns, name, octet)?;
        self.hosts.push(Host {
            name: name.to_owned(),
            ns,
            ipv4,
        });
        self.hosts.last().context("host just added")
    }

    /// Gives `ns` its `eth0` on the segment: a veth into the bridge, 10.77.0.`octet`/24 and
    /// fd77::`octet`/64, up.
    fn plug(&self, ns: &NetNs, name: &str, octet: u8) -> Result<Ipv4Addr> {
        let port = Self::port(name);
        let out = Command::new("ip")
            .args([
                "link",
                "add",
                Host::IFACE,
                "netns",
                ns.name(),
                "type",
                "veth",
            ])
            .args(["peer", "name", &port, "netns", self.switch.name()])
            .output()
            .context("ip link add veth")?;
        if !out.status.success() {
            bail!(
                "creating veth for {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.switch
            .ip(&["link", "set", &port, "master", "br0", "up"])?;
        let ipv4 = Ipv4Addr::new(10, 77, 0, octet);
        ns.ip(&[
            "addr",
            "add",
            &format!("{ipv4}/{PREFIX_LEN}"),
            "dev",
            Host::IFACE,
        ])?;
        ns.ip(&[
            "addr",
            "add",
            &format!("fd77::{octet:x}/64"),
            "dev",
            Host::IFACE,
            "nodad",
        ])?;
        ns.ip(&["link", "set", Host::IFACE, "up"])?;
        if self.napi_threads {
            let mut threads = self.switch.napi_thread(&port)?;
            threads.extend(ns.napi_thread(Host::IFACE)?);
            // The receivers of the daemons' frames run at the daemons' priority.
            for thread in threads.into_iter().filter(|_| self.nice.is_some()) {
                let nice = self.nice.unwrap_or(0);
                // SAFETY: setpriority on a thread id; no memory is passed.
                if unsafe { libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, nice) } != 0
                {
                    bail!(
                        "nice {nice} for NAPI thread {thread}: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
        }
        Ok(ipv4)
    }

    /// Creates host `name`'s `eth0` again (after a test deleted it), with the same name and
    /// addresses under a new ifindex — what a driver reload or a container restart does to
    /// a router.
    pub fn replug_host_back(&self, name: &str, octet: u8) -> Result<()> {
        self.plug(&self.host(name)?.ns, name, octet)?;
        Ok(())
    }

    /// The names of the lab's hosts, in the order they were added.
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.iter().map(|host| host.name.clone()).collect()
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|host| host.name == name)
            .with_context(|| format!("no host {name} in the lab"))
    }

    /// Starts keepalived 2.2.7 (VRRP only, foreground, console log) on `host` with `config`.
    pub fn start_keepalived(&mut self, host: &str, config: &str) -> Result<usize> {
        let conf = self.dir.join(format!("keepalived-{host}.conf"));
        fs::write(&conf, config)?;
        let pid = |kind: &str| self.keepalived_pid_file(host, kind);
        let pid_files = vec![pid("main"), pid("vrrp"), pid("check")];
        let mut command = self.host(host)?.command("keepalived");
        command
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&conf)
            .arg("-p")
            .arg(&pid_files[0])
            .arg("-r")
            .arg(&pid_files[1])
            .arg("-c")
            .arg(&pid_files[2]);
        self.spawn(format!("keepalived@{host}"), command, pid_files)
    }

    /// The pid file keepalived started by [`Lab::start_keepalived`] on `host` writes for
    /// `kind`: `main` (`-p`), `vrrp` (`-r`, its VRRP child) or `check` (`-c`).
    pub fn keepalived_pid_file(&self, host: &str, kind: &str) -> PathBuf {
        self.dir.join(format!("keepalived-{host}-{kind}.pid"))
    }

    /// The switch namespace; host `name`'s port on `br0` is [`Lab::port`]`(name)`.
    pub fn switch(&self) -> &NetNs {
        &self.switch
    }

    /// The name of host `host`'s port on the switch's bridge.
    pub fn port(host: &str) -> String {
        format!("p{host}")
    }

    /// Starts FRR 8.4 (zebra + vrrpd, foreground) on `host` as a VRRP router for VRID 51 with
    /// VIP 10.77.0.100 on a macvlan with the virtual MAC, as FRR requires. Returns the vrrpd
    /// daemon's index.
    pub fn start_frr(
        &mut self,
        host: &str,
        priority: u8,
        version: u8,
        advert_ms: u32,
    ) -> Result<usize> {
        let ns = self.host(host)?.ns.name().to_owned();
        let netns_ip = |args: &[&str]| self.host(host)?.ns.ip(args);
        // The parent interface must not answer ARP for the VIP that lives on the macvlan.
        let sysctl = Command::new("ip")
            .args(["netns", "exec", &ns, "sysctl", "-qw"])
            .args([
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
            ])
            .status()?;
        if !sysctl.success() {
            bail!("sysctl arp_ignore in {host}");
        }
        // FRR keeps each family's VIP on a macvlan carrying the virtual MAC (VRRPv3 also runs
        // fd77::100 with the IPv6 one).
        let macvlan = |name: &str, mac: &str, address: &[&str]| -> Result<()> {
            netns_ip(&[
                "link",
                "add",
                name,
                "link",
                Host::IFACE,
                "type",
                "macvlan",
                "mode",
                "bridge",
            ])?;
            netns_ip(&["link", "set", name, "addrgenmode", "random"])?;
            netns_ip(&["link", "set", name, "address", mac])?;
            let mut add = vec!["addr", "add"];
            add.extend_from_slice(address);
            netns_ip(&add)?;
            netns_ip(&["link", "set", name, "up"])
        };
        macvlan(
            "vrrp4",
            "00:00:5e:00:01:33",
            &["10.77.0.100/24", "dev", "vrrp4"],
        )?;
        if version == 3 {
            macvlan(
                "vrrp6",
                "00:00:5e:00:02:33",
                &["fd77::100/64", "dev", "vrrp6", "nodad"],
            )?;
        }

        let dir = self.dir.join(format!("frr-{host}"));
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("zebra.conf"), format!("hostname {host}\n"))?;
        fs::write(
            dir.join("vrrpd.conf"),
            format!(
                "hostname {host}\ninterface {}\n vrrp 51 version {version}\n vrrp 51 priority {priority}\n \
                 vrrp 51 advertisement-interval {advert_ms}\n vrrp 51 ip 10.77.0.100\n{}",
                Host::IFACE,
                if version == 3 {
                    " vrrp 51 ipv6 fd77::100\n"
                } else {
                    ""
                }
            ),
        )?;
        let chown = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()?;
        if !chown.success() {
            bail!("chown frr {}", dir.display());
        }
        let common = |daemon: &str| -> Vec<String> {
            let d = dir.to_string_lossy();
            vec![
                "-u".into(),
                "frr".into(),
                "-g".into(),
                "frr".into(),
                "-f".into(),
                format!("{d}/{daemon}.conf"),
                "-i".into(),
                format!("{d}/{daemon}.pid"),
                "-z".into(),
                format!("{d}/zserv.api"),
                "--vty_socket".into(),
                d.to_string(),
                "-P".into(),
                "0".into(),
            ]
        };
        let mut zebra = self.host(host)?.command("/usr/lib/frr/zebra");
        zebra.args(common("zebra"));
        self.spawn(format!("zebra@{host}"), zebra, vec![dir.join("zebra.pid")])?;
        // vrrpd needs zebra's socket.
        let socket = dir.join("zserv.api");
        self.wait_for("zebra's socket", Duration::from_secs(5), || {
            Ok(socket.exists())
        })?;
        let mut vrrpd = self.host(host)?.command("/usr/lib/frr/vrrpd");
        vrrpd.args(common("vrrpd"));
        self.spawn(format!("vrrpd@{host}"), vrrpd, vec![dir.join("vrrpd.pid")])
    }

    /// Writes `config` to the lab folder and starts `kad -f` with it on `host`.
    pub fn start_kad(&mut self, host: &str, config: &str) -> Result<usize> {
        let path = self.dir.join(format!("kad-{host}.conf"));
        fs::write(&path, config)?;
        let path = path.to_string_lossy().into_owned();
        let kad_args = self.kad_args.clone();
        let mut args = vec!["-f", path.as_str()];
        args.extend(kad_args.iter().map(String::as_str));
        // Each daemon its own control socket (the default path is one per machine).
        let socket = self
            .dir
            .join(format!("kad-{host}.sock"))
            .to_string_lossy()
            .into_owned();
        if !kad_args.iter().any(|a| a == "--control-socket") {
            args.extend(["--control-socket", socket.as_str()]);
        }
        let kad = self.start(host, &crate::kad_bin()?, &args)?;
        self.wait_until_started(kad);
        Ok(kad)
    }

    /// Waits (up to 20 s) until kad has its instances running — its first VRRP state line
    /// (`Entering BACKUP STATE`; not a BFD session's `Entering Up state`, which can come
    /// before the XDP program is loaded) — or has exited, so that tests time elections, not
    /// the BPF verifier on a busy machine.
    pub fn wait_until_started(&mut self, kad: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let Some(daemon) = self.daemons.get_mut(kad) else {
                return;
            };
            let log = daemon.log();
            let vrrp_state = log
                .lines()
                .any(|line| line.contains("Entering ") && line.contains(" STATE"));
            if vrrp_state || !daemon.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts an arbitrary daemon (e.g. kad) in `host`'s namespace; `args` follow `program`.
    pub fn start(&mut self, host: &str, program: &Path, args: &[&str]) -> Result<usize> {
        let mut command = self.host(host)?.command(&program.to_string_lossy());
        command.args(args);
        let label = format!(
            "{}@{host}",
            program
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        self.spawn(label, command, Vec::new())
    }

    /// [`Lab::start`] with a `/run` of its own for `program`, as every kad gets: a lab folder
    /// ([`Daemon::run_dir`]) holding the machine's `/run/netns`, in a mount namespace of
    /// the daemon's, so that its pid files (`/run/keepalived.pid`, `/run/keepalived/`, ...)
    /// are its own and can be read.
    pub fn start_private_run(
        &mut self,
        host: &str,
        program: &Path,
        args: &[&str],
    ) -> Result<usize> {
        self.private_run_next = true;
        let started = self.start(host, program, args);
        self.private_run_next = false;
        started
    }

    /// Spawns `command` as a lab daemon labelled `label` (its output in the lab folder),
    /// killed with the lab, and the processes named in `pid_files` too.
    pub(crate) fn spawn(
        &mut self,
        label: String,
        mut command: Command,
        pid_files: Vec<PathBuf>,
    ) -> Result<usize> {
        let log = self.dir.join(format!("{}.log", label.replace('@', "-")));
        let out = fs::File::create(&log)?;
        // Each kad (which writes keepalived's pid files under /run by default) its own /run,
        // as each has its own network namespace.
        let run_dir = (self.private_run_next || runs_kad(&command)).then(|| {
            self.dir.join(format!(
                "run-{}-{}",
                label.replace('@', "-"),
                self.daemons.len()
            ))
        });
        if let Some(dir) = &run_dir {
            private_run(&mut command, dir)?;
        }
        if let Some(nice) = self.nice {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: the hook only makes one async-signal-safe system call in the child.
            unsafe {
                command.pre_exec(move || {
                    if libc::setpriority(libc::PRIO_PROCESS, 0, nice) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {label}"))?;
        self.daemons.push(Daemon {
            label,
            child,
            pid_files,
            log,
            run_dir,
        });
        Ok(self.daemons.len() - 1)
    }

    /// The combined output so far of the daemon returned by a `start*` call.
    pub fn daemon_log(&self, index: usize) -> Result<String> {
        Ok(self.daemons.get(index).context("no such daemon")?.log())
    }

    /// The daemon returned by a `start*` call.
    pub fn daemon(&mut self, index: usize) -> Result<&mut Daemon> {
        self.daemons.get_mut(index).context("no such daemon")
    }

    /// Polls `condition` every 5 ms until it holds or `timeout` passes; returns the time it
    /// took, or an error naming `what`.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut condition: impl FnMut() -> Result<bool>,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            if condition()? {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!("{what}: not within {timeout:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every daemon's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for daemon in &self.daemons {
            let log = daemon.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            all.push_str(&format!(
                "--- {} (last {} lines)\n",
                daemon.label,
                tail.len()
            ));
            for line in tail.iter().rev() {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            daemon.kill_all();
        }
        // Hosts, then the switch (field order would drop the switch last anyway).
        self.hosts.clear();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether `command` runs the kad binary (directly, or through `env`, `prlimit`, `sh -c`...).
fn runs_kad(command: &Command) -> bool {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .any(|arg| {
            Path::new(arg).file_name().is_some_and(|name| name == "kad")
                || arg.to_string_lossy().contains("/kad ")
        })
}

/// Makes `command` run in a mount namespace of its own (a slave of the machine's, so that
/// namespaces added later still show) whose `/run` is `dir`, with `/run/netns` in it.
fn private_run(command: &mut Command, dir: &Path) -> Result<()> {
    use std::{ffi::CString, os::unix::ffi::OsStrExt as _, os::unix::process::CommandExt as _};
    let netns = dir.join("netns");
    fs::create_dir_all(&netns)?;
    let c_path = |path: &Path| CString::new(path.as_os_str().as_bytes());
    let (dir, netns) = (c_path(dir)?, c_path(&netns)?);
    let (root, run, run_netns) = (c"/", c"/run", c"/run/netns");
    // SAFETY: the hook makes only async-signal-safe system calls (unshare, mount) on strings
    // allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            let check = |rc: libc::c_int| {
                if rc == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            let none = std::ptr::null::<libc::c_char>();
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                none,
                root.as_ptr(),
                none,
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                run_netns.as_ptr(),
                netns.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                dir.as_ptr(),
                run.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))
        });
    }
    Ok(())
}
