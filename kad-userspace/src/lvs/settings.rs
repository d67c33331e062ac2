//! The global_defs keywords of the LVS side (keepalived.conf(5), "GLOBAL DEFINITIONS"):
//! `lvs_flush`, `lvs_flush_on_stop`, `lvs_timeouts`, `lvs_sync_daemon`.

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
    /// keepalived.conf: lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N]
    /// [group IP]; started as backup (the VRRP instance's state does not drive it yet).
    pub sync_daemon: Option<SyncDaemon>,
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
        let sync_daemon = config
            .global
            .lvs_sync_daemon
            .as_ref()
            .map(|w| sync_daemon(config, w))
            .transpose()?;
        Ok(Self {
            flush: other.contains_key("lvs_flush"),
            flush_on_stop,
            timeouts,
            sync_daemon,
        })
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
/// [ttl N] [group IP]; the sync id defaults to the instance's virtual_router_id.
fn sync_daemon(config: &Config, words: &[String]) -> Result<SyncDaemon, SettingsError> {
    const KW: &str = "lvs_sync_daemon";
    let (Some(interface), Some(instance)) = (words.first(), words.get(1)) else {
        return Err(error(KW, "needs an interface and a vrrp_instance"));
    };
    let mut daemon = SyncDaemon {
        state: SyncState::Backup,
        interface: interface.clone(),
        sync_id: config
            .vrrp_instances
            .iter()
            .find(|i| &i.name == instance)
            .and_then(|i| i.virtual_router_id)
            .map_or(0, u32::from),
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 2;
    while i < words.len() {
        match words[i].as_str() {
            "id" => daemon.sync_id = number(KW, words, i)?,
            "maxlen" => daemon.maxlen = Some(number(KW, words, i)?),
            "port" => daemon.port = Some(number(KW, words, i)?),
            "ttl" => daemon.ttl = Some(number(KW, words, i)?),
            "group" => daemon.group = Some(number::<IpAddr>(KW, words, i)?),
            other => return Err(error(KW, format!("unknown option {other}"))),
        }
        i += 2;
    }
    Ok(daemon)
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
        assert_eq!(s.sync_daemon, None);
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

    #[test]
    fn sync_daemon_id_defaults_to_the_instances_vrid() {
        let s = settings(" lvs_sync_daemon eth0 VI maxlen 1400 ttl 2");
        let d = s.sync_daemon.unwrap();
        assert_eq!(d.interface, "eth0");
        assert_eq!(d.sync_id, 51);
        assert_eq!(d.maxlen, Some(1400));
        assert_eq!(d.ttl, Some(2));
        assert_eq!(d.state, SyncState::Backup);
        let s = settings(" lvs_sync_daemon eth0 VI id 7 group 224.0.0.81");
        let d = s.sync_daemon.unwrap();
        assert_eq!(d.sync_id, 7);
        assert_eq!(d.group, Some("224.0.0.81".parse().unwrap()));
    }
}
