//! The global_defs keywords of the LVS side (keepalived.conf(5), "GLOBAL DEFINITIONS"):
//! `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, and `lvs_sync_daemon` (which the VRRP
//! side drives: `super::sync` follows the instance it names).

use std::net::IpAddr;

use super::ipvs::{SyncDaemon, SyncState, Timeouts};
use crate::config::Config;

/// What `lvs_flush_on_stop` asks for when kad stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushOnStop {
    /// Leave the table (the default, keyword absent).
    No,
    /// `lvs_flush_on_stop` or `lvs_flush_on_stop ALL`: empty the whole table.
    All,
    /// `lvs_flush_on_stop VS`: remove only the virtual servers kad configured.
    VirtualServers,
}

/// The LVS global settings kad acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSettings {
    /// keepalived.conf: lvs_flush: empty the IPVS table at start.
    pub flush: bool,
    /// keepalived.conf: lvs_flush_on_stop [VS|ALL].
    pub flush_on_stop: FlushOnStop,
    /// keepalived.conf: lvs_timeouts [tcp N] [tcpfin N] [udp N].
    pub timeouts: Option<Timeouts>,
}

/// Why an LVS global keyword cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{keyword}: {message}")]
pub struct SettingsError {
    /// The keyword.
    pub keyword: &'static str,
    /// What is wrong.
    pub message: String,
}

fn error(keyword: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        keyword,
        message: message.into(),
    }
}

impl LvsSettings {
    /// Reads the settings from global_defs.
    pub fn from_config(config: &Config) -> Result<Self, SettingsError> {
        let other = &config.global.other;
        let flush_on_stop = match other
            .get("lvs_flush_on_stop")
            .or_else(|| other.get("lvs_flush_onstop"))
        {
            None => FlushOnStop::No,
            Some(words) => match words.first().map(String::as_str) {
                None | Some("ALL") => FlushOnStop::All,
                Some("VS") => FlushOnStop::VirtualServers,
                Some(other) => {
                    return Err(error(
                        "lvs_flush_on_stop",
                        format!("{other}: expected VS or ALL"),
                    ));
                }
            },
        };
        let timeouts = other.get("lvs_timeouts").map(|w| timeouts(w)).transpose()?;
        Ok(Self {
            flush: other.contains_key("lvs_flush"),
            flush_on_stop,
            timeouts,
        })
    }
}

/// The configured sync daemon: which instance it follows and its parameters (`state` is
/// set by the follower).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSetting {
    /// The `vrrp_instance` whose MASTER state makes this director the sync master.
    pub instance: String,
    /// Interface, sync id and the optional multicast parameters.
    pub daemon: SyncDaemon,
}

impl SyncSetting {
    /// The setting of `config`, if any (`Err` when it names no instance it can follow).
    pub fn from_config(config: &Config) -> Result<Option<Self>, SettingsError> {
        sync_daemon(config)
    }
}

fn number<T: std::str::FromStr>(
    keyword: &'static str,
    words: &[String],
    i: usize,
) -> Result<T, SettingsError> {
    let word = words
        .get(i + 1)
        .ok_or_else(|| error(keyword, format!("{} needs a value", words[i])))?;
    word.parse()
        .map_err(|_| error(keyword, format!("{} {word}: not a valid number", words[i])))
}

/// keepalived.conf: lvs_timeouts [tcp N] [tcpfin N] [udp N] (seconds).
fn timeouts(words: &[String]) -> Result<Timeouts, SettingsError> {
    const KW: &str = "lvs_timeouts";
    let mut t = Timeouts::default();
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "tcp" => t.tcp = number(KW, words, i)?,
            "tcpfin" => t.tcp_fin = number(KW, words, i)?,
            "udp" => t.udp = number(KW, words, i)?,
            other => return Err(error(KW, format!("unknown option {other}"))),
        }
        i += 2;
    }
    Ok(t)
}

/// keepalived.conf: lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N]
/// [ttl N] [group IP] in global_defs, else the deprecated `lvs_sync_daemon_interface IF` of
/// a vrrp_instance (the first one that has it; the instance is that one). The sync id
/// defaults to the instance's virtual_router_id. The instance must exist.
pub fn sync_daemon(config: &Config) -> Result<Option<SyncSetting>, SettingsError> {
    const KW: &str = "lvs_sync_daemon";
    let words: Vec<String> = match &config.global.lvs_sync_daemon {
        Some(words) => words.clone(),
        None => {
            let mut with = config
                .vrrp_instances
                .iter()
                .filter_map(|i| Some((i.lvs_sync_daemon_interface.as_ref()?, &i.name)));
            let Some((interface, instance)) = with.next() else {
                return Ok(None);
            };
            if let Some((_, other)) = with.next() {
                tracing::warn!(
                    "lvs_sync_daemon_interface: vrrp_instance {instance} is followed, {other} ignored"
                );
            }
            vec![interface.clone(), instance.clone()]
        }
    };
    let (Some(interface), Some(instance)) = (words.first(), words.get(1)) else {
        return Err(error(KW, "needs an interface and a vrrp_instance"));
    };
    let Some(vrrp) = config.vrrp_instances.iter().find(|i| &i.name == instance) else {
        return Err(error(KW, format!("vrrp_instance {instance} not found")));
    };
    let mut daemon = SyncDaemon {
        state: SyncState::Backup,
        interface: interface.clone(),
        sync_id: vrrp.virtual_router_id.map_or(0, u32::from),
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 2;
    while i < words.len() {
        match words[i].as_str() {
            "id" => daemon.sync_id = number(KW, &words, i)?,
            "maxlen" => daemon.maxlen = Some(number(KW, &words, i)?),
            "port" => daemon.port = Some(number(KW, &words, i)?),
            "ttl" => daemon.ttl = Some(number(KW, &words, i)?),
            "group" => daemon.group = Some(number::<IpAddr>(KW, &words, i)?),
            other => return Err(error(KW, format!("unknown option {other}"))),
        }
        i += 2;
    }
    Ok(Some(SyncSetting {
        instance: instance.clone(),
        daemon,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    fn settings(global: &str) -> LvsSettings {
        let text = format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {{\n 10.0.0.100\n }}\n}}\n"
        );
        let loaded = parse_str(&text, &LoadOptions::with_config_id("t"));
        LvsSettings::from_config(&loaded.config).unwrap()
    }

    #[test]
    fn nothing_set_means_no_flush_no_timeouts_no_daemon() {
        let s = settings("");
        assert!(!s.flush);
        assert_eq!(s.flush_on_stop, FlushOnStop::No);
        assert_eq!(s.timeouts, None);
    }

    #[test]
    fn flush_flags_and_timeouts_are_read() {
        let s = settings(" lvs_flush\n lvs_flush_on_stop VS\n lvs_timeouts tcp 7200 udp 300");
        assert!(s.flush);
        assert_eq!(s.flush_on_stop, FlushOnStop::VirtualServers);
        assert_eq!(
            s.timeouts,
            Some(Timeouts {
                tcp: 7200,
                tcp_fin: 0,
                udp: 300
            })
        );
        assert_eq!(
            settings(" lvs_flush_on_stop").flush_on_stop,
            FlushOnStop::All
        );
    }

    fn sync(global: &str, instance_extra: &str) -> Result<Option<SyncSetting>, SettingsError> {
        let text = format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI {{\n interface eth0\n virtual_router_id 51\n priority 100\n{instance_extra}\n virtual_ipaddress {{\n 10.0.0.100\n }}\n}}\n"
        );
        let loaded = parse_str(&text, &LoadOptions::with_config_id("t"));
        sync_daemon(&loaded.config)
    }

    #[test]
    fn sync_daemon_id_defaults_to_the_instances_vrid() {
        let s = sync(" lvs_sync_daemon eth0 VI maxlen 1400 ttl 2", "")
            .unwrap()
            .unwrap();
        assert_eq!(s.instance, "VI");
        let d = s.daemon;
        assert_eq!(d.interface, "eth0");
        assert_eq!(d.sync_id, 51);
        assert_eq!(d.maxlen, Some(1400));
        assert_eq!(d.ttl, Some(2));
        assert_eq!(d.state, SyncState::Backup);
        let d = sync(" lvs_sync_daemon eth0 VI id 7 group 224.0.0.81", "")
            .unwrap()
            .unwrap()
            .daemon;
        assert_eq!(d.sync_id, 7);
        assert_eq!(d.group, Some("224.0.0.81".parse().unwrap()));
    }

    #[test]
    fn the_deprecated_instance_keyword_follows_its_own_instance() {
        let s = sync("", " lvs_sync_daemon_interface eth1")
            .unwrap()
            .unwrap();
        assert_eq!(s.instance, "VI");
        assert_eq!(s.daemon.interface, "eth1");
        assert_eq!(s.daemon.sync_id, 51);
        // The global keyword wins over the instance's.
        let s = sync(
            " lvs_sync_daemon eth2 VI id 3",
            " lvs_sync_daemon_interface eth1",
        )
        .unwrap()
        .unwrap();
        assert_eq!((s.daemon.interface.as_str(), s.daemon.sync_id), ("eth2", 3));
        assert_eq!(sync("", "").unwrap(), None);
    }

    #[test]
    fn a_sync_daemon_on_an_unknown_instance_is_refused() {
        let err = sync(" lvs_sync_daemon eth0 NOPE", "").unwrap_err();
        assert!(err.message.contains("NOPE"), "{err}");
        assert!(sync(" lvs_sync_daemon eth0 VI ttl", "").is_err());
    }
}
