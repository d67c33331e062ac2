//! keepalived's signal dumps, written from the status snapshot:
//!
//! - SIGUSR1 → `keepalived.data`: a readable dump of every instance, in keepalived's shape:
//!   a `------< VRRP Topology >------` section with, per instance, a
//!   ` VRRP Instance = NAME` line followed by indented `Key = value` lines (state, interface,
//!   VRID, priorities, advert interval, master, last transition, trackers, VIPs), then a
//!   `------< VRRP Sync groups >------` section; with an LVS side, a
//!   `------< LVS Topology >------` section: the IPVS state, then per virtual server a
//!   ` Virtual Server = NAME` line with indented `Key = value` lines (scheduler, forwarding,
//!   quorum, alive weight, sorry server, installed), and per real server an indented
//!   `   Real Server = IP:PORT` line with its weight, effective weight, alive, reason, since,
//!   installed and one `Checker = KIND TARGET: …` line per checker.
//! - SIGUSR2 → `keepalived.stats`: per instance, `VRRP Instance: NAME` followed by indented
//!   counter groups (`Advertisements:` Received/Sent, `Became master`, `Released master`,
//!   `Packet Errors:` per class, `Authentication Errors:`, `Priority Zero:` Received/Sent),
//!   as keepalived's stats file has them.
//! - SIGRTMIN+2 → `keepalived.json`: a JSON array with one object per instance,
//!   `{"data": {...}, "stats": {...}}`, using keepalived's key names where it has one
//!   (`iname`, `ifp_ifname`, `vrid`, `state` as keepalived's number, `base_priority`,
//!   `effective_priority`, `vips`, `last_transition`; `advert_rcvd`, `advert_sent`,
//!   `become_master`, `release_master`, `packet_len_err`, `ip_ttl_err`,
//!   `invalid_type_rcvd`, `advert_interval_err`, `auth_failure`, `pri_zero_rcvd`,
//!   `pri_zero_sent`, …) plus kad's own error classes under `kad_receive_errors`; with an
//!   LVS side, one more object per virtual server, `{"virtual_server": {...}}`, its fields as
//!   in `kad status --json` (real servers and their checkers included), after the instances.
//!
//! The files go to `/tmp`, as keepalived's do, or to the folder named by the environment
//! variable [`DUMP_DIR_ENV`] (tests use it so that they never write `/tmp/keepalived.*`).
//! Each file is written under a fresh temporary name and renamed, so a reader never sees
//! half. `/tmp` is writable by everyone, so nothing planted there is trusted: the temporary
//! file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600 under a name with a random
//! part (a symlink, FIFO or file already at a name is never opened, only skipped), and the
//! rename replaces whatever sits at the final name without following it. The daemon calls
//! [`write`] off the protocol loop's thread.

use std::{
    fmt::Write as _,
    fs::{File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use crate::status::{Status, snapshot::IpvsState};

/// Environment variable that moves the dump files out of `/tmp`.
pub const DUMP_DIR_ENV: &str = "KAD_DUMP_DIR";

/// Which dump a signal asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    /// SIGUSR1.
    Data,
    /// SIGUSR2.
    Stats,
    /// SIGRTMIN+2.
    Json,
}

impl Dump {
    /// keepalived's file name.
    pub const fn file_name(self) -> &'static str {
        match self {
            Dump::Data => "keepalived.data",
            Dump::Stats => "keepalived.stats",
            Dump::Json => "keepalived.json",
        }
    }

    /// The dump's text for `status`.
    pub fn render(self, status: &Status) -> String {
        match self {
            Dump::Data => data(status),
            Dump::Stats => stats(status),
            Dump::Json => json(status),
        }
    }
}

/// keepalived.conf global `data_use_instance`: the data dump's name carries the global
/// `net_namespace` and `instance` names (`keepalived.NS_INSTANCE.data`, as keepalived
/// 2.2.7's open_dump_file), so that several daemons on one host do not overwrite each
/// other's. The stats and JSON dumps keep their names, as keepalived's do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpNames {
    /// `NS_INSTANCE` (the parts that are set), or empty.
    tag: String,
}

impl DumpNames {
    /// The names for `global`: keepalived's plain ones unless `data_use_instance` is on.
    pub fn of(global: &kad_config::model::GlobalDefs) -> Self {
        let on = global.other.get("data_use_instance").is_some_and(|words| {
            words
                .first()
                .is_none_or(|w| kad_config::keywords::parse_bool(w).is_ok_and(|on| on))
        });
        if !on {
            return Self::default();
        }
        let part = |key: &str| {
            global
                .other
                .get(key)
                .and_then(|words| words.first())
                .map(String::as_str)
        };
        let parts: Vec<&str> = [part("net_namespace"), part("instance")]
            .into_iter()
            .flatten()
            .collect();
        Self {
            tag: parts.join("_"),
        }
    }

    /// The file name of `dump`: its plain name, the data dump's with `.NS_INSTANCE` before
    /// its extension.
    pub fn file_name(&self, dump: Dump) -> String {
        let base = dump.file_name();
        if self.tag.is_empty() || dump != Dump::Data {
            return base.to_owned();
        }
        match base.rsplit_once('.') {
            Some((stem, extension)) => format!("{stem}.{}.{extension}", self.tag),
            None => format!("{base}.{}", self.tag),
        }
    }
}

/// Where dumps are written: `$KAD_DUMP_DIR`, else `/tmp`.
pub fn dump_dir() -> PathBuf {
    std::env::var_os(DUMP_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// Mode of the dump files (keepalived creates them for root only too).
pub const FILE_MODE: u32 = 0o600;

/// How many temporary names [`write`] tries before giving up (each one taken means someone
/// planted a file at a random name; one is enough in practice).
const NAME_ATTEMPTS: u32 = 16;

/// Writes `dump` of `status` into `dir`; returns the file's path. Blocking: call it off the
/// protocol loop.
pub fn write(dump: Dump, status: &Status, dir: &Path) -> io::Result<PathBuf> {
    write_named(dump, status, dir, dump.file_name())
}

/// As [`write`], under `name` (see [`DumpNames`]).
pub fn write_named(dump: Dump, status: &Status, dir: &Path, name: &str) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let (temporary, mut file) = create_private(dir, name)?;
    let written = file
        .write_all(dump.render(status).as_bytes())
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok(path)
}

/// Creates a new file `.NAME.PID.RANDOM` in `dir`, mode [`FILE_MODE`], that did not exist
/// before (never a symlink, FIFO or file someone else placed there).
fn create_private(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for _ in 0..NAME_ATTEMPTS {
        let temporary = dir.join(format!(
            ".{name}.{}.{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&temporary)
        {
            Ok(file) => return Ok((temporary, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{NAME_ATTEMPTS} temporary names for {name} in {} were taken",
            dir.display()
        ),
    ))
}

fn data(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "------< kad {} (pid {}) >------",
        status.version, status.pid
    );
    let _ = writeln!(out, " Receive path = {}", status.receive_path);
    let _ = writeln!(out, "------< VRRP Topology >------");
    for i in &status.instances {
        let _ = writeln!(out, " VRRP Instance = {}", i.name);
        let mut line = |key: &str, value: String| {
            let _ = writeln!(out, "   {key} = {value}");
        };
        line("VRRP Version", i.version.to_string());
        line("State", i.state.clone());
        if let Some(t) = &i.last_transition {
            line(
                "Last transition",
                format!("{:.3} ({})", t.at_unix_ms as f64 / 1000.0, t.reason),
            );
        }
        line("Interface", i.interface.clone());
        line("Address family", i.family.clone());
        line("Using src_ip", i.primary_address.clone());
        line("Virtual Router ID", i.vrid.to_string());
        line("Priority", i.base_priority.to_string());
        line("Effective priority", i.effective_priority.to_string());
        line(
            "Advert interval",
            format!("{} milli-sec", i.timers.advert_interval_ms),
        );
        line(
            "Master down interval",
            format!("{} milli-sec", i.timers.master_down_interval_ms),
        );
        if let Some(master) = &i.master {
            line(
                "Master router",
                format!("{} priority {}", master.address, master.priority),
            );
        }
        if let Some(group) = &i.sync_group {
            line("Sync group", group.clone());
        }
        if !i.trackers.is_empty() {
            let _ = writeln!(out, "   Tracked objects ({}):", i.trackers.len());
            for t in &i.trackers {
                let _ = writeln!(
                    out,
                    "     {} {} weight {}{} = {}",
                    t.kind,
                    t.name,
                    t.weight,
                    if t.reverse { " reverse" } else { "" },
                    t.status
                );
            }
        }
        let _ = writeln!(out, "   Virtual IP ({}):", i.virtual_addresses.len());
        for vip in &i.virtual_addresses {
            let held = if i.vips_held.contains(vip) {
                " (held)"
            } else {
                ""
            };
            let _ = writeln!(out, "     {vip}{held}");
        }
    }
    let _ = writeln!(out, "------< VRRP Sync groups >------");
    for g in &status.sync_groups {
        let _ = writeln!(out, " VRRP Sync Group = {}, {}", g.name, g.state);
        for member in &g.members {
            let _ = writeln!(out, "   monitor = {member}");
        }
    }
    lvs_data(status, &mut out);
    out
}

fn lvs_data(status: &Status, out: &mut String) {
    if status.ipvs.state == IpvsState::Off && status.virtual_servers.is_empty() {
        return;
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(out, "------< LVS Topology >------");
    let _ = writeln!(
        out,
        " System IPVS = {}{}",
        status.ipvs.state.word(),
        status
            .ipvs
            .error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    for vs in &status.virtual_servers {
        let _ = writeln!(out, " Virtual Server = {}", vs.name);
        let _ = writeln!(out, "   Protocol = {}", vs.protocol);
        let _ = writeln!(out, "   Scheduler = {}", vs.scheduler);
        let _ = writeln!(out, "   Forwarding method = {}", vs.forwarding);
        let _ = writeln!(
            out,
            "   Quorum = {} (hysteresis {}): {}",
            vs.quorum,
            vs.hysteresis,
            if vs.quorum_up { "up" } else { "down" }
        );
        let _ = writeln!(out, "   Alive weight = {}", vs.alive_weight);
        if let Some(sorry) = &vs.sorry_server {
            let _ = writeln!(
                out,
                "   Sorry server = {sorry}{}",
                if vs.sorry_server_active {
                    " (serving)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(out, "   Installed = {}", yes_no(vs.installed));
        for rs in &vs.real_servers {
            let _ = writeln!(out, "   Real Server = {}", rs.address);
            let _ = writeln!(out, "     Weight = {}", rs.weight);
            let _ = writeln!(out, "     Effective weight = {}", rs.effective_weight);
            let _ = writeln!(out, "     Alive = {}", yes_no(rs.up));
            let _ = writeln!(out, "     Reason = {}", rs.reason);
            if let Some(since) = rs.since_unix_ms {
                let _ = writeln!(out, "     Since = {:.3}", since as f64 / 1000.0);
            }
            let _ = writeln!(out, "     Installed = {}", yes_no(rs.installed));
            for c in &rs.checkers {
                let _ = writeln!(
                    out,
                    "     Checker = {} {}: {}, last {} ({}), {} transitions",
                    c.kind,
                    c.target,
                    if c.up { "up" } else { "down" },
                    c.last_result.as_deref().unwrap_or("none"),
                    c.reason.as_deref().unwrap_or("no probe yet"),
                    c.transitions
                );
            }
        }
    }
}

fn error(i: &crate::status::snapshot::InstanceStatus, class: &str) -> u64 {
    i.counters.receive_errors.get(class).copied().unwrap_or(0)
}

fn stats(status: &Status) -> String {
    let mut out = String::new();
    for i in &status.instances {
        let c = &i.counters;
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = writeln!(out, "  Advertisements:");
        let _ = writeln!(out, "    Received: {}", c.adverts_received);
        let _ = writeln!(out, "    Sent: {}", c.adverts_sent);
        let _ = writeln!(out, "  Became master: {}", c.became_master);
        let _ = writeln!(out, "  Released master: {}", c.released_master);
        let _ = writeln!(out, "  Packet Errors:");
        let _ = writeln!(out, "    Length: {}", error(i, "length"));
        let _ = writeln!(out, "    TTL: {}", error(i, "ttl"));
        let _ = writeln!(out, "    Invalid Type: {}", error(i, "type"));
        let _ = writeln!(out, "    Advertisement Interval: {}", error(i, "interval"));
        let _ = writeln!(out, "    Checksum: {}", error(i, "checksum"));
        let _ = writeln!(out, "    Version: {}", error(i, "version"));
        let _ = writeln!(out, "    Not a peer: {}", error(i, "not_peer"));
        let _ = writeln!(out, "    Other: {}", error(i, "other"));
        let _ = writeln!(out, "  Authentication Errors:");
        let _ = writeln!(out, "    Failure: {}", error(i, "auth"));
        let _ = writeln!(out, "  Priority Zero:");
        let _ = writeln!(out, "    Received: {}", c.priority_zero_received);
        let _ = writeln!(out, "    Sent: {}", c.priority_zero_sent);
    }
    out
}

fn json(status: &Status) -> String {
    let entries: Vec<serde_json::Value> = status
        .instances
        .iter()
        .map(|i| {
            let c = &i.counters;
            serde_json::json!({
                "data": {
                    "iname": i.name,
                    "ifp_ifname": i.interface,
                    "vrid": i.vrid,
                    "version": i.version,
                    "family": i.family,
                    "state": super::metrics::state_number(&i.state),
                    "state_name": i.state,
                    "base_priority": i.base_priority,
                    "effective_priority": i.effective_priority,
                    "saddr": i.primary_address,
                    "master_saddr": i.master.as_ref().map(|m| m.address.clone()),
                    "master_priority": i.master.as_ref().map(|m| m.priority),
                    "last_transition": i.last_transition.as_ref().map(|t| t.at_unix_ms as f64 / 1000.0),
                    "last_transition_reason": i.last_transition.as_ref().map(|t| t.reason.clone()),
                    "adver_int": i.timers.advert_interval_ms as f64 / 1000.0,
                    "master_adver_int": i.timers.master_advert_interval_ms as f64 / 1000.0,
                    "sync_group": i.sync_group,
                    "vips": i.virtual_addresses,
                    "vips_held": i.vips_held,
                    "trackers": i.trackers,
                },
                "stats": {
                    "advert_rcvd": c.adverts_received,
                    "advert_sent": c.adverts_sent,
                    "become_master": c.became_master,
                    "release_master": c.released_master,
                    "packet_len_err": error(i, "length"),
                    "ip_ttl_err": error(i, "ttl"),
                    "invalid_type_rcvd": error(i, "type"),
                    "advert_interval_err": error(i, "interval"),
                    "auth_failure": error(i, "auth"),
                    "pri_zero_rcvd": c.priority_zero_received,
                    "pri_zero_sent": c.priority_zero_sent,
                    "kad_receive_errors": c.receive_errors,
                    "kad_discarded": c.discarded,
                },
            })
        })
        .chain(
            status
                .virtual_servers
                .iter()
                .map(|vs| serde_json::json!({ "virtual_server": vs })),
        )
        .collect();
    serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::snapshot::InstanceStatus;

    fn status() -> Status {
        let mut instance = InstanceStatus {
            name: "VI_7".into(),
            state: "BACKUP".into(),
            ..InstanceStatus::default()
        };
        instance.counters.adverts_received = 5;
        Status {
            instances: vec![instance],
            ..Status::default()
        }
    }

    #[test]
    fn each_dump_names_the_instance() {
        let status = status();
        assert!(Dump::Data.render(&status).contains(" VRRP Instance = VI_7"));
        let stats = Dump::Stats.render(&status);
        assert!(stats.contains("VRRP Instance: VI_7"));
        assert!(stats.contains("    Received: 5"));
        let json: serde_json::Value =
            serde_json::from_str(&Dump::Json.render(&status)).unwrap_or_default();
        assert_eq!(json[0]["data"]["iname"], "VI_7");
        assert_eq!(json[0]["data"]["state"], 1);
        assert_eq!(json[0]["stats"]["advert_rcvd"], 5);
    }

    #[test]
    fn dumps_carry_the_virtual_servers() {
        use crate::status::snapshot::{IpvsStatus, RealServerStatus, VirtualServerStatus};
        let mut status = status();
        status.ipvs = IpvsStatus {
            state: IpvsState::Running,
            error: None,
        };
        status.virtual_servers = vec![VirtualServerStatus {
            name: "TCP 10.0.0.100:80".into(),
            real_servers: vec![RealServerStatus {
                address: "10.0.0.2:80".into(),
                up: true,
                ..RealServerStatus::default()
            }],
            ..VirtualServerStatus::default()
        }];
        let data = Dump::Data.render(&status);
        assert!(data.contains("------< LVS Topology >------"), "{data}");
        assert!(
            data.contains(" Virtual Server = TCP 10.0.0.100:80"),
            "{data}"
        );
        assert!(data.contains("   Real Server = 10.0.0.2:80"), "{data}");
        assert!(data.contains("     Alive = yes"), "{data}");
        let json: serde_json::Value =
            serde_json::from_str(&Dump::Json.render(&status)).unwrap_or_default();
        assert_eq!(json[0]["data"]["iname"], "VI_7");
        assert_eq!(json[1]["virtual_server"]["name"], "TCP 10.0.0.100:80");
        assert_eq!(
            json[1]["virtual_server"]["real_servers"][0]["address"],
            "10.0.0.2:80"
        );
        assert!(!Dump::Data.render(&self::status()).contains("LVS Topology"));
    }

    #[test]
    fn writes_keepalived_file_names() {
        let dir = std::env::temp_dir().join(format!("kad-dump-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = write(Dump::Stats, &status(), &dir).unwrap_or_default();
        assert_eq!(path, dir.join("keepalived.stats"));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains("VI_7")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 13 item 2: what someone planted at the names kad writes is never opened: a
    /// symlink's target is untouched, a FIFO does not block the write, and the dump is 0600.
    #[test]
    fn planted_symlinks_and_fifos_are_never_opened() {
        use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};

        let dir = std::env::temp_dir().join(format!("kad-dump-plant-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let victim = dir.join("victim");
        assert!(std::fs::write(&victim, "precious\n").is_ok());
        let pid = std::process::id();
        // The names an earlier kad used for its temporary files, and the final names.
        let planted_link = dir.join(format!(".keepalived.data.{pid}"));
        assert!(std::os::unix::fs::symlink(&victim, &planted_link).is_ok());
        let planted_fifo = dir.join(format!(".keepalived.stats.{pid}"));
        assert!(
            nix::unistd::mkfifo(
                &planted_fifo,
                nix::sys::stat::Mode::from_bits_truncate(0o666)
            )
            .is_ok()
        );
        assert!(std::os::unix::fs::symlink(&victim, dir.join("keepalived.json")).is_ok());

        let (done, finished) = std::sync::mpsc::channel();
        let writer_dir = dir.clone();
        std::thread::spawn(move || {
            let status = status();
            let results = [Dump::Data, Dump::Stats, Dump::Json]
                .map(|dump| write(dump, &status, &writer_dir).map_err(|e| e.to_string()));
            let _ = done.send(results);
        });
        let results = finished.recv_timeout(std::time::Duration::from_secs(5));
        let Ok(results) = results else {
            // Unblock the writer stuck in open(2) on the FIFO before failing.
            let _ = std::fs::File::open(&planted_fifo);
            panic!("writing the dumps blocked on a planted FIFO");
        };
        for result in &results {
            assert!(result.is_ok(), "{results:?}");
        }
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap_or_default(),
            "precious\n",
            "a planted symlink was followed"
        );
        assert!(
            std::fs::symlink_metadata(&planted_fifo).is_ok_and(|m| m.file_type().is_fifo()),
            "the planted FIFO is left alone"
        );
        for name in ["keepalived.data", "keepalived.stats", "keepalived.json"] {
            let meta = std::fs::symlink_metadata(dir.join(name));
            assert!(
                meta.as_ref().is_ok_and(|m| m.file_type().is_file()),
                "{name}: {meta:?}"
            );
            let mode = meta.map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
            assert_eq!(mode, FILE_MODE, "{name} is 0{mode:o}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn data_use_instance_puts_the_namespace_and_instance_in_the_names() {
        use kad_config::model::GlobalDefs;
        let mut global = GlobalDefs::default();
        let set = |g: &mut GlobalDefs, key: &str, words: &[&str]| {
            g.other.insert(
                key.to_owned(),
                words.iter().map(|w| (*w).to_owned()).collect(),
            );
        };
        set(&mut global, "instance", &["east"]);
        assert_eq!(
            DumpNames::of(&global).file_name(Dump::Data),
            "keepalived.data",
            "instance alone changes nothing"
        );
        set(&mut global, "data_use_instance", &[]);
        let names = DumpNames::of(&global);
        assert_eq!(names.file_name(Dump::Data), "keepalived.east.data");
        assert_eq!(names.file_name(Dump::Json), "keepalived.json");
        assert_eq!(names.file_name(Dump::Stats), "keepalived.stats");
        set(&mut global, "net_namespace", &["blue"]);
        assert_eq!(
            DumpNames::of(&global).file_name(Dump::Data),
            "keepalived.blue_east.data"
        );
        global.other.remove("instance");
        assert_eq!(
            DumpNames::of(&global).file_name(Dump::Data),
            "keepalived.blue.data"
        );
        global.other.remove("net_namespace");
        assert_eq!(
            DumpNames::of(&global).file_name(Dump::Data),
            "keepalived.data",
            "data_use_instance alone changes nothing"
        );
        set(&mut global, "instance", &["east"]);
        set(&mut global, "data_use_instance", &["false"]);
        assert_eq!(
            DumpNames::of(&global).file_name(Dump::Stats),
            "keepalived.stats"
        );
    }
}
