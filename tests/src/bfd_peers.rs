//! Real BFD peers for lab tests: FRRouting 8.4's `bfdd` ([`FrrBfd`], configured with
//! `vtysh`, read through `show bfd peers json`) and keepalived 2.2.7's BFD process
//! ([`BfdDaemon`], `bfd_instance`s read from its console log). Both run inside a lab
//! host's network namespace and are killed with the lab.
//!
//! FRR runs zebra + bfdd in a mount namespace of their own whose `/run/frr`, `/etc/frr` and
//! `/var/tmp` are lab folders (`ip netns exec` gives it a `/sys` of the host's namespace), so
//! several FRR instances in one lab (or in concurrent labs) never share a socket or a file.
//! keepalived 2.2.7 has BFD single hop only (port 3784, no 4784 listener): multihop runs
//! FRR ⇄ FRR (or kad).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::lab::Lab;

/// A BFD session state (RFC 5880 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdState {
    /// AdminDown: the session is shut down on this side.
    AdminDown,
    /// Down.
    Down,
    /// Init: the peer was heard, the session is coming up.
    Init,
    /// Up.
    Up,
}

// ---------------------------------------------------------------------------------------
// FRR bfdd
// ---------------------------------------------------------------------------------------

/// One FRR `bfd` / `peer …` block: the session's key (peer, multihop, local address,
/// interface) and its parameters.
#[derive(Clone, Debug)]
pub struct FrrPeer {
    /// The neighbour's address (IPv4 or IPv6).
    pub peer: String,
    /// RFC 5883 multihop (port 4784); FRR then needs `local`.
    pub multihop: bool,
    /// `local-address`.
    pub local: Option<String>,
    /// `interface` (single hop).
    pub interface: Option<String>,
    /// `receive-interval`, ms.
    pub receive_ms: u32,
    /// `transmit-interval`, ms.
    pub transmit_ms: u32,
    /// `detect-multiplier`.
    pub multiplier: u8,
    /// `passive-mode`.
    pub passive: bool,
}

impl FrrPeer {
    /// A single-hop session to `peer` from `local` on `interface`, 10 ms × 3.
    pub fn single_hop(peer: &str, local: &str, interface: &str) -> Self {
        Self {
            peer: peer.to_owned(),
            multihop: false,
            local: Some(local.to_owned()),
            interface: Some(interface.to_owned()),
            receive_ms: 10,
            transmit_ms: 10,
            multiplier: 3,
            passive: false,
        }
    }

    /// A multihop session to `peer` from `local`, 10 ms × 3.
    pub fn multihop(peer: &str, local: &str) -> Self {
        Self {
            multihop: true,
            interface: None,
            ..Self::single_hop(peer, local, "")
        }
    }

    /// The same session with other intervals (ms) and multiplier.
    pub fn timers(mut self, receive_ms: u32, transmit_ms: u32, multiplier: u8) -> Self {
        self.receive_ms = receive_ms;
        self.transmit_ms = transmit_ms;
        self.multiplier = multiplier;
        self
    }

    /// The `peer …` line that opens (or re-enters) this session's block.
    pub fn key_line(&self) -> String {
        let mut line = format!("peer {}", self.peer);
        if self.multihop {
            line.push_str(" multihop");
        }
        if let Some(local) = &self.local {
            line.push_str(&format!(" local-address {local}"));
        }
        if let Some(interface) = self.interface.as_ref().filter(|i| !i.is_empty()) {
            line.push_str(&format!(" interface {interface}"));
        }
        line
    }
}

/// One session as `show bfd peers json` prints it (the fields tests use).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FrrPeerStatus {
    /// The neighbour's address.
    pub peer: String,
    /// Whether the session is multihop.
    #[serde(default)]
    pub multihop: bool,
    /// `local-address`, when set.
    #[serde(default)]
    pub local: Option<String>,
    /// The interface, for a single-hop session bound to one.
    #[serde(default)]
    pub interface: Option<String>,
    /// `up`, `down`, `init` or `shutdown` (AdminDown).
    pub status: String,
    /// This side's diagnostic (`ok`, `control detection time expired`, …).
    #[serde(default)]
    pub diagnostic: String,
    /// The peer's diagnostic (`neighbor signaled session down`, …).
    #[serde(default)]
    pub remote_diagnostic: String,
    /// Local discriminator.
    #[serde(default)]
    pub id: u64,
    /// The peer's discriminator (0 until heard).
    #[serde(default)]
    pub remote_id: u64,
    /// Configured receive interval, ms.
    #[serde(default)]
    pub receive_interval: u32,
    /// Configured transmit interval, ms.
    #[serde(default)]
    pub transmit_interval: u32,
    /// Configured detect multiplier.
    #[serde(default)]
    pub detect_multiplier: u32,
    /// The peer's Required Min RX Interval, ms.
    #[serde(default)]
    pub remote_receive_interval: u32,
    /// The peer's Desired Min TX Interval, ms.
    #[serde(default)]
    pub remote_transmit_interval: u32,
    /// The peer's detect multiplier.
    #[serde(default)]
    pub remote_detect_multiplier: u32,
}

impl FrrPeerStatus {
    /// The session's state (`None` for a status this kit does not know).
    pub fn state(&self) -> Option<BfdState> {
        match self.status.as_str() {
            "up" => Some(BfdState::Up),
            "down" => Some(BfdState::Down),
            "init" => Some(BfdState::Init),
            "shutdown" => Some(BfdState::AdminDown),
            _ => None,
        }
    }
}

/// One session's counters from `show bfd peers counters json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FrrPeerCounters {
    /// The neighbour's address.
    pub peer: String,
    /// Whether the session is multihop.
    #[serde(default)]
    pub multihop: bool,
    /// Control packets received.
    #[serde(default)]
    pub control_packet_input: u64,
    /// Control packets sent.
    #[serde(default)]
    pub control_packet_output: u64,
    /// Times the session went Up.
    #[serde(default)]
    pub session_up: u64,
    /// Times the session went Down (from Up).
    #[serde(default)]
    pub session_down: u64,
}

/// FRR 8.4 zebra + bfdd running on a lab host (see the module doc). Killed with the lab;
/// [`FrrBfd::stop`] ends bfdd earlier.
pub struct FrrBfd {
    /// The lab host it runs on.
    pub host: String,
    dir: PathBuf,
    bfdd: usize,
    bfdd_pid: i32,
}

impl Lab {
    /// Starts FRR 8.4 zebra and bfdd (foreground, logging to the lab's
    /// `zebra-HOST.log`/`bfdd-HOST.log`) on `host`, with no session yet, and waits (up to
    /// 10 s) until bfdd answers `vtysh`.
    pub fn start_frr_bfd(&mut self, host: &str) -> Result<FrrBfd> {
        let dir = self.dir().join(format!("frr-bfd-{host}"));
        for sub in ["run", "etc", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        fs::write(dir.join("etc/frr.conf"), format!("hostname {host}\n"))?;
        fs::write(dir.join("etc/vtysh.conf"), "")?;
        let chown = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .context("chown")?;
        if !chown.success() {
            bail!("chown -R frr:frr {}", dir.display());
        }
        let mut indexes = Vec::new();
        for daemon in ["zebra", "bfdd"] {
            let mut command = self.host(host)?.command(&format!("/usr/lib/frr/{daemon}"));
            command.args([
                "-u",
                "frr",
                "-g",
                "frr",
                "-P",
                "0",
                "--log",
                "stdout",
                "--log-level",
                "informational",
            ]);
            frr_mounts(&mut command, &dir)?;
            let pid_file = dir.join(format!("run/{daemon}.pid"));
            indexes.push(self.spawn(format!("{daemon}@{host}"), command, vec![pid_file])?);
            // bfdd talks to zebra from its start.
            let socket = dir.join(if daemon == "zebra" {
                "run/zserv.api"
            } else {
                "run/bfdd.vty"
            });
            self.wait_for(
                &format!("FRR {daemon}'s socket on {host}"),
                Duration::from_secs(10),
                || Ok(socket.exists()),
            )?;
        }
        let bfdd = indexes[1];
        let bfdd_pid = i32::try_from(self.daemon(bfdd)?.pid())?;
        let frr = FrrBfd {
            host: host.to_owned(),
            dir,
            bfdd,
            bfdd_pid,
        };
        // The socket exists a little before bfdd reads commands from it.
        self.wait_for(
            &format!("bfdd on {host} answers vtysh"),
            Duration::from_secs(10),
            || Ok(frr.vtysh(&["show bfd peers json"]).is_ok()),
        )?;
        Ok(frr)
    }
}

impl FrrBfd {
    /// Runs `vtysh -d bfdd -c C1 -c C2 …` against this FRR; its output, or an error when vtysh
    /// fails or prints an error line (`% …`).
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let mut command = Command::new("vtysh");
        // bfdd alone: vtysh connects to every daemon it is told of, each a round trip.
        command
            .arg("--vty_socket")
            .arg(self.dir.join("run"))
            .args(["-d", "bfdd"]);
        for c in commands {
            command.args(["-c", c]);
        }
        let out = command.output().context("running vtysh")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || text.lines().any(|line| line.starts_with('%')) {
            bail!(
                "vtysh on {} {commands:?}: {}{}",
                self.host,
                text.trim(),
                err.trim()
            );
        }
        Ok(text)
    }

    /// `configure terminal`, `bfd`, then `lines` (each a command in the `bfd` node or below).
    pub fn configure_bfd(&self, lines: &[&str]) -> Result<()> {
        let mut commands = vec!["configure terminal", "bfd"];
        commands.extend_from_slice(lines);
        self.vtysh(&commands).map(drop)
    }

    /// Adds (or updates) session `peer` with its parameters.
    pub fn add_peer(&self, peer: &FrrPeer) -> Result<()> {
        let key = peer.key_line();
        let receive = format!("receive-interval {}", peer.receive_ms);
        let transmit = format!("transmit-interval {}", peer.transmit_ms);
        let multiplier = format!("detect-multiplier {}", peer.multiplier);
        let passive = if peer.passive {
            "passive-mode"
        } else {
            "no passive-mode"
        };
        self.configure_bfd(&[&key, &receive, &transmit, &multiplier, passive])
    }

    /// Changes a session's intervals (a poll sequence on the wire when it is Up).
    pub fn set_timers(
        &self,
        peer: &FrrPeer,
        receive_ms: u32,
        transmit_ms: u32,
        multiplier: u8,
    ) -> Result<()> {
        self.add_peer(&peer.clone().timers(receive_ms, transmit_ms, multiplier))
    }

    /// `shutdown` (true: the session goes AdminDown and tells the peer) or `no shutdown`.
    pub fn shutdown(&self, peer: &FrrPeer, shutdown: bool) -> Result<()> {
        let key = peer.key_line();
        self.configure_bfd(&[&key, if shutdown { "shutdown" } else { "no shutdown" }])
    }

    /// Removes a session (`no peer …`).
    pub fn remove_peer(&self, peer: &FrrPeer) -> Result<()> {
        let key = format!("no {}", peer.key_line());
        self.configure_bfd(&[&key])
    }

    /// Every session, from `show bfd peers json`.
    pub fn peers(&self) -> Result<Vec<FrrPeerStatus>> {
        let text = self.vtysh(&["show bfd peers json"])?;
        serde_json::from_str(&text).with_context(|| format!("show bfd peers json: {text}"))
    }

    /// The session to `peer` (address; the first if several), or an error when there is none.
    pub fn peer(&self, peer: &str) -> Result<FrrPeerStatus> {
        self.peers()?
            .into_iter()
            .find(|status| status.peer == peer)
            .with_context(|| format!("FRR on {} has no BFD session to {peer}", self.host))
    }

    /// Every session's counters, from `show bfd peers counters json`.
    pub fn counters(&self) -> Result<Vec<FrrPeerCounters>> {
        let text = self.vtysh(&["show bfd peers counters json"])?;
        serde_json::from_str(&text).with_context(|| format!("show bfd peers counters: {text}"))
    }

    /// Waits up to `timeout` until the session to `peer` is in `state`, polling every
    /// millisecond or so (a `vtysh` run takes a few); the time it took.
    pub fn wait_state(
        &self,
        lab: &Lab,
        peer: &str,
        state: BfdState,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let status = self.peer(peer).ok();
            if status.as_ref().and_then(FrrPeerStatus::state) == Some(state) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!(
                    "FRR bfdd on {}: session to {peer} not {state:?} within {timeout:?} (now {status:?})\n{}",
                    self.host,
                    lab.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// How many times the session to `peer` went Down from Up (`session-down` counter).
    pub fn downs(&self, peer: &str) -> Result<u64> {
        self.counters()?
            .into_iter()
            .find(|counters| counters.peer == peer)
            .map(|counters| counters.session_down)
            .with_context(|| format!("FRR on {} has no BFD session to {peer}", self.host))
    }

    /// Waits up to `timeout` until the session to `peer` has gone Down `at_least` times in
    /// all ([`FrrBfd::downs`]); the time it took. Unlike waiting for the Down state, this
    /// sees a Down that a busy machine turned into Init before the next look.
    pub fn wait_downs(
        &self,
        lab: &Lab,
        peer: &str,
        at_least: u64,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let downs = self.downs(peer).ok();
            if downs.is_some_and(|downs| downs >= at_least) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!(
                    "FRR bfdd on {}: session to {peer} not Down {at_least} times within {timeout:?} (now {downs:?}; {:?})\n{}",
                    self.host,
                    self.peer(peer).ok(),
                    lab.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// bfdd's process id.
    pub fn pid(&self) -> i32 {
        self.bfdd_pid
    }

    /// The lab daemon index of bfdd (for [`Lab::daemon`] and [`Lab::daemon_log`]).
    pub fn daemon(&self) -> usize {
        self.bfdd
    }

    /// SIGSTOP: bfdd falls silent (its peers time out), its sessions stay configured.
    pub fn pause(&self) -> Result<()> {
        signal(self.bfdd_pid, libc::SIGSTOP)
    }

    /// SIGCONT after [`FrrBfd::pause`].
    pub fn resume(&self) -> Result<()> {
        signal(self.bfdd_pid, libc::SIGCONT)
    }

    /// SIGTERM to bfdd, waiting up to 5 s for it to exit.
    pub fn stop(&self, lab: &mut Lab) -> Result<()> {
        signal(self.bfdd_pid, libc::SIGTERM)?;
        if !lab.daemon(self.bfdd)?.wait_exit(Duration::from_secs(5))? {
            bail!("bfdd on {} did not exit on SIGTERM", self.host);
        }
        Ok(())
    }
}

/// Makes `command` (an `ip netns exec … /usr/lib/frr/DAEMON`) start in a mount namespace of
/// its own (a slave of the machine's) where `dir`'s `run`, `etc` and `tmp` are `/run/frr`,
/// `/etc/frr` and `/var/tmp`. `ip netns exec` then remounts `/sys` for the host's namespace.
fn frr_mounts(command: &mut Command, dir: &Path) -> Result<()> {
    use std::{ffi::CString, os::unix::ffi::OsStrExt as _, os::unix::process::CommandExt as _};
    let c_path = |path: &Path| CString::new(path.as_os_str().as_bytes());
    let binds = [
        (c_path(&dir.join("run"))?, c"/run/frr".to_owned()),
        (c_path(&dir.join("etc"))?, c"/etc/frr".to_owned()),
        (c_path(&dir.join("tmp"))?, c"/var/tmp".to_owned()),
    ];
    for target in ["/run/frr", "/etc/frr", "/var/tmp"] {
        if !Path::new(target).is_dir() {
            bail!("{target} is missing: is FRR installed (cargo xtask setup)?");
        }
    }
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
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ))?;
            for (source, target) in &binds {
                check(libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    none,
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            Ok(())
        });
    }
    Ok(())
}

fn signal(pid: i32, signal: i32) -> Result<()> {
    // SAFETY: kill(2) on a pid of a daemon this lab started.
    if unsafe { libc::kill(pid, signal) } != 0 {
        bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// keepalived BFD
// ---------------------------------------------------------------------------------------

/// A keepalived.conf `bfd_instance` (the same text configures kad).
#[derive(Clone, Debug)]
pub struct BfdInstance {
    /// The instance's name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: String,
    /// `source_ip`.
    pub source: String,
    /// `min_rx`, ms (keepalived takes µs resolution: `"3.5"`).
    pub min_rx: String,
    /// `min_tx`, ms.
    pub min_tx: String,
    /// `multiplier`.
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl` (IPv4) or `hoplimit` (IPv6); `None` leaves keepalived's default (255 for IPv4,
    /// 64 for IPv6 — which a single-hop peer such as FRR drops: [`BfdInstance::new`] sets 255
    /// for IPv6).
    pub ttl: Option<u8>,
    /// Further lines inside the block (`max_hops 2`, `weight 10`, `vrrp`, …).
    pub extra: Vec<String>,
}

impl BfdInstance {
    /// `bfd_instance NAME { neighbor_ip NEIGHBOR source_ip SOURCE min_rx 10 min_tx 10
    /// multiplier 3 }` (and `hoplimit 255` when IPv6).
    pub fn new(name: &str, neighbor: &str, source: &str) -> Self {
        Self {
            name: name.to_owned(),
            neighbor: neighbor.to_owned(),
            source: source.to_owned(),
            min_rx: "10".to_owned(),
            min_tx: "10".to_owned(),
            multiplier: 3,
            passive: false,
            ttl: neighbor.contains(':').then_some(255),
            extra: Vec::new(),
        }
    }

    /// The same instance at `interval` ms (min_rx and min_tx) × `multiplier`.
    pub fn timers(mut self, interval: &str, multiplier: u8) -> Self {
        self.min_rx = interval.to_owned();
        self.min_tx = interval.to_owned();
        self.multiplier = multiplier;
        self
    }

    /// The detect time this side computes when both sides use the same timers.
    pub fn detect_time(&self) -> Duration {
        let ms: f64 = self.min_rx.parse().unwrap_or(10.0);
        Duration::from_secs_f64(ms.max(self.min_tx.parse().unwrap_or(ms)) / 1000.0)
            * u32::from(self.multiplier)
    }

    /// The keepalived.conf block.
    pub fn conf(&self) -> String {
        let mut text = format!(
            "bfd_instance {} {{\n  neighbor_ip {}\n  source_ip {}\n  min_rx {}\n  min_tx {}\n  multiplier {}\n",
            self.name, self.neighbor, self.source, self.min_rx, self.min_tx, self.multiplier
        );
        if self.passive {
            text.push_str("  passive\n");
        }
        if let Some(ttl) = self.ttl {
            let keyword = if self.neighbor.contains(':') {
                "hoplimit"
            } else {
                "ttl"
            };
            text.push_str(&format!("  {keyword} {ttl}\n"));
        }
        for line in &self.extra {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str("}\n");
        text
    }
}

/// One state change keepalived's BFD process logged for an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepalivedBfdEvent {
    /// The state entered.
    pub state: BfdState,
    /// The rest of the line: `(Local diagnostic - …, Remote diagnostic - …)` for Down.
    pub detail: String,
}

impl KeepalivedBfdEvent {
    /// This side's diagnostic for a Down (`Control Detection Time Expired`: its own detect
    /// timer; `Neighbor Signaled Session Down`: the peer said Down or AdminDown).
    pub fn local_diagnostic(&self) -> Option<&str> {
        self.diagnostic("Local diagnostic - ")
    }

    /// The diagnostic the peer sent, as keepalived logged it with a Down.
    pub fn remote_diagnostic(&self) -> Option<&str> {
        self.diagnostic("Remote diagnostic - ")
    }

    fn diagnostic(&self, label: &str) -> Option<&str> {
        let rest = &self.detail[self.detail.find(label)? + label.len()..];
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        Some(rest[..end].trim())
    }

    /// Whether this is a Down on this side's own detect timer (no packet for a detect time).
    pub fn detect_time_expired(&self) -> bool {
        self.state == BfdState::Down
            && self.local_diagnostic() == Some("Control Detection Time Expired")
    }
}

/// keepalived 2.2.7 (or kad) running a configuration with `bfd_instance`s (and possibly
/// VRRP with `track_bfd`) on a lab host; its BFD sessions are read from its console log
/// (`-l -D`: `(NAME) Entering Up state`, `(NAME) Entering Down state (Local diagnostic - …)`,
/// which kad logs in keepalived's words).
pub struct BfdDaemon {
    /// The lab host it runs on.
    pub host: String,
    daemon: usize,
    bfd_pid: BfdPid,
}

/// Where the process that runs the sessions is found.
enum BfdPid {
    /// keepalived's BFD child: its pid file.
    File(PathBuf),
    /// kad: the daemon itself (its BFD thread).
    Process(i32),
}

impl Lab {
    /// Starts keepalived (foreground, console log, every subsystem its configuration needs:
    /// BFD, VRRP with `track_bfd`; no checker without virtual servers) on `host` with
    /// `config`, e.g. [`BfdInstance::conf`] texts. Its pid files are in the lab folder
    /// (`keepalived-HOST-{main,vrrp,check,bfd}.pid`).
    pub fn start_keepalived_bfd(&mut self, host: &str, config: &str) -> Result<BfdDaemon> {
        let conf = self.dir().join(format!("keepalived-{host}.conf"));
        fs::write(&conf, config)?;
        let pid = |kind: &str| self.keepalived_pid_file(host, kind);
        let pid_files = vec![pid("main"), pid("vrrp"), pid("check"), pid("bfd")];
        let mut command = self.host(host)?.command("keepalived");
        command.args(["-n", "-l", "-D", "-f"]).arg(&conf);
        for (flag, file) in ["-p", "-r", "-c", "-b"].iter().zip(&pid_files) {
            command.arg(flag).arg(file);
        }
        let bfd_pid = BfdPid::File(pid_files[3].clone());
        let daemon = self.spawn(format!("keepalived@{host}"), command, pid_files)?;
        Ok(BfdDaemon {
            host: host.to_owned(),
            daemon,
            bfd_pid,
        })
    }

    /// Starts kad with `config` on `host` ([`Lab::start_kad`]), read like keepalived's BFD
    /// (pausing it stops the whole daemon).
    pub fn start_kad_bfd(&mut self, host: &str, config: &str) -> Result<BfdDaemon> {
        let daemon = self.start_kad(host, config)?;
        let pid = i32::try_from(self.daemon(daemon)?.pid())?;
        Ok(BfdDaemon {
            host: host.to_owned(),
            daemon,
            bfd_pid: BfdPid::Process(pid),
        })
    }
}

impl BfdDaemon {
    /// The lab daemon index of keepalived's parent process.
    pub fn daemon(&self) -> usize {
        self.daemon
    }

    /// Every state change logged so far for instance `name`, oldest first.
    pub fn events(&self, lab: &Lab, name: &str) -> Result<Vec<KeepalivedBfdEvent>> {
        Ok(parse_events(&lab.daemon_log(self.daemon)?, name))
    }

    /// Instance `name`'s current state (`None` before its first change: keepalived starts
    /// a session Down without logging it).
    pub fn state(&self, lab: &Lab, name: &str) -> Result<Option<BfdState>> {
        Ok(self.events(lab, name)?.last().map(|event| event.state))
    }

    /// How many times instance `name` went Down.
    pub fn downs(&self, lab: &Lab, name: &str) -> Result<usize> {
        Ok(self
            .events(lab, name)?
            .iter()
            .filter(|event| event.state == BfdState::Down)
            .count())
    }

    /// The detection times keepalived logged as expired for `name` (`(NAME) Expired after
    /// 30 ms (67 usec overdue)`: the configured detect time plus how late its timer fired).
    pub fn expiries(&self, lab: &Lab, name: &str) -> Result<Vec<Duration>> {
        let log = lab.daemon_log(self.daemon)?;
        let prefix = format!("({name}) Expired after ");
        Ok(log
            .lines()
            .filter_map(|line| {
                let rest = &line[line.find(&prefix)? + prefix.len()..];
                let ms: u64 = rest.split_whitespace().next()?.parse().ok()?;
                let late = rest.split_once('(')?.1.split_whitespace().next()?;
                let late: u64 = late.parse().ok()?;
                Some(Duration::from_millis(ms) + Duration::from_micros(late))
            })
            .collect())
    }

    /// Waits up to `timeout` until instance `name` is in `state` (its log polled every
    /// millisecond); the time it took.
    pub fn wait_state(
        &self,
        lab: &Lab,
        name: &str,
        state: BfdState,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let now = self.state(lab, name)?;
            if now == Some(state) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!(
                    "keepalived on {}: bfd_instance {name} not {state:?} within {timeout:?} (now {now:?})\n{}",
                    self.host,
                    lab.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits up to `timeout` until instance `name` has gone Down `at_least` times in all
    /// ([`BfdDaemon::downs`]); the time it took.
    pub fn wait_downs(
        &self,
        lab: &Lab,
        name: &str,
        at_least: usize,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        loop {
            let downs = self.downs(lab, name)?;
            if downs >= at_least {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                bail!(
                    "keepalived on {}: bfd_instance {name} not Down {at_least} times within {timeout:?} (now {downs})\n{}",
                    self.host,
                    lab.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The pid of keepalived's BFD process, waiting up to 10 s for its pid file (kad's:
    /// the daemon's).
    pub fn bfd_pid(&self, lab: &Lab) -> Result<i32> {
        let file = match &self.bfd_pid {
            BfdPid::Process(pid) => return Ok(*pid),
            BfdPid::File(file) => file,
        };
        let mut pid = None;
        lab.wait_for(
            &format!("keepalived's BFD pid file on {}", self.host),
            Duration::from_secs(10),
            || {
                pid = fs::read_to_string(file)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                Ok(pid.is_some())
            },
        )?;
        pid.context("BFD pid file")
    }

    /// SIGSTOP to the BFD process: its sessions fall silent (the peers time out).
    pub fn pause(&self, lab: &Lab) -> Result<()> {
        signal(self.bfd_pid(lab)?, libc::SIGSTOP)
    }

    /// SIGCONT after [`BfdDaemon::pause`].
    pub fn resume(&self, lab: &Lab) -> Result<()> {
        signal(self.bfd_pid(lab)?, libc::SIGCONT)
    }

    /// SIGTERM to keepalived, waiting up to 5 s for it to exit. keepalived 2.2.7 sends no
    /// AdminDown when it stops: its peers see their detect time expire.
    pub fn stop(&self, lab: &mut Lab) -> Result<()> {
        let daemon = lab.daemon(self.daemon)?;
        daemon.signal(libc::SIGTERM)?;
        if !daemon.wait_exit(Duration::from_secs(5))? {
            bail!("keepalived on {} did not exit on SIGTERM", self.host);
        }
        Ok(())
    }
}

/// The `(NAME) Entering STATE state…` lines of a keepalived log.
fn parse_events(log: &str, name: &str) -> Vec<KeepalivedBfdEvent> {
    let prefix = format!("({name}) Entering ");
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find(&prefix)? + prefix.len()..];
            let (word, detail) = rest.split_once(" state")?;
            let state = match word {
                "Up" => BfdState::Up,
                "Down" => BfdState::Down,
                "Init" => BfdState::Init,
                "AdminDown" | "Admin Down" => BfdState::AdminDown,
                _ => return None,
            };
            Some(KeepalivedBfdEvent {
                state,
                detail: detail.trim().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_log_lines_become_events() {
        let log = "Mon Dec  7 22:26:11 2026: (up1) Entering Up state\n\
                   Mon Dec  7 22:26:11 2026: (up10) Entering Down state (x)\n\
                   Mon Dec  7 22:26:13 2026: (up1) Expired after 30 ms (67 usec overdue)\n\
                   Mon Dec  7 22:26:13 2026: (up1) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)\n";
        let events = parse_events(log, "up1");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].state, BfdState::Up);
        assert_eq!(events[1].state, BfdState::Down);
        assert!(events[1].detect_time_expired());
        assert_eq!(events[1].remote_diagnostic(), Some("No Diagnostic"));
        let echoed = parse_events(
            "(up1) Entering Down state (Local diagnostic - Neighbor Signaled Session Down, Remote diagnostic - Control Detection Time Expired)",
            "up1",
        );
        assert!(!echoed[0].detect_time_expired());
        assert_eq!(
            echoed[0].local_diagnostic(),
            Some("Neighbor Signaled Session Down")
        );
    }

    #[test]
    fn instance_text() {
        let v6 = BfdInstance::new("b6", "fd77::2", "fd77::1").timers("3", 3);
        let text = v6.conf();
        assert!(text.contains("neighbor_ip fd77::2\n"));
        assert!(text.contains("hoplimit 255\n"));
        assert!(text.contains("min_tx 3\n"));
        assert_eq!(v6.detect_time(), Duration::from_millis(9));
        assert!(
            !BfdInstance::new("b4", "10.0.0.2", "10.0.0.1")
                .conf()
                .contains("ttl")
        );
    }

    #[test]
    fn frr_peer_lines() {
        let single = FrrPeer::single_hop("10.77.0.1", "10.77.0.2", "eth0");
        assert_eq!(
            single.key_line(),
            "peer 10.77.0.1 local-address 10.77.0.2 interface eth0"
        );
        let multi = FrrPeer::multihop("10.77.0.1", "10.77.0.2");
        assert_eq!(
            multi.key_line(),
            "peer 10.77.0.1 multihop local-address 10.77.0.2"
        );
    }
}
