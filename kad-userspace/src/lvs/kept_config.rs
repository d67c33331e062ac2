//! The configuration the LVS task keeps while it runs: the loaded model's global part and
//! virtual servers, with each real server reduced to what the task reads
//! ([`KeptRealServer`]), so that with 10,000 real servers the task does not hold their
//! checkers, source places and script texts for nothing (`kad -C` memory, issue 14: the
//! model's real server with its first checker is ≈ 900 bytes, a kept one 64).

use std::net::IpAddr;

use crate::config::{
    Config,
    model::{LvsMethod, RealServer, Script, VirtualServer},
};

/// The LVS task's configuration: the loaded one without its virtual servers, and the
/// virtual servers with their real servers kept.
#[derive(Clone, Debug)]
pub struct KeptConfig {
    /// Everything but `virtual_servers` (left empty): global_defs (LVS settings, SMTP,
    /// script users), virtual_server_group, the VRRP instances lvs_sync_daemon follows.
    pub config: Config,
    /// keepalived.conf: virtual_server, in configuration order.
    pub virtual_servers: Vec<KeptVirtualServer>,
}

/// keepalived.conf: virtual_server, as the LVS task keeps it.
#[derive(Clone, Debug)]
pub struct KeptVirtualServer {
    /// The virtual server's own keywords; its `real_servers` and source places are left
    /// empty.
    pub server: VirtualServer,
    /// Its real servers.
    pub real_servers: Vec<KeptRealServer>,
}

/// keepalived.conf: real_server, as the LVS task reads it: where it is, how it is
/// installed, and whether a checker watches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptRealServer {
    /// The address.
    pub addr: IpAddr,
    /// The port (default: the virtual server's).
    pub port: Option<u16>,
    /// keepalived.conf: weight.
    pub weight: i32,
    /// keepalived.conf: uthreshold.
    pub uthreshold: Option<u32>,
    /// keepalived.conf: lthreshold.
    pub lthreshold: Option<u32>,
    /// keepalived.conf: inhibit_on_failure.
    pub inhibit_on_failure: Option<bool>,
    /// Whether it has a health checker (keepalived.conf: a real server without one is
    /// always up).
    pub checked: bool,
    /// keepalived.conf: lvs_method of the real server (rare: boxed).
    pub lvs_method: Option<Box<LvsMethod>>,
    /// keepalived.conf: notify_down, which `omega` runs at shutdown (rare: boxed).
    pub notify_down: Option<Box<Script>>,
}

impl KeptRealServer {
    /// Keeps what the LVS task reads of `rs`.
    pub fn new(rs: RealServer) -> Self {
        Self {
            addr: rs.addr,
            port: rs.port,
            weight: rs.weight,
            uthreshold: rs.uthreshold,
            lthreshold: rs.lthreshold,
            inhibit_on_failure: rs.inhibit_on_failure,
            checked: !rs.checkers.is_empty(),
            lvs_method: rs.lvs_method.map(Box::new),
            notify_down: rs.notify_down.map(Box::new),
        }
    }
}

impl KeptVirtualServer {
    /// Keeps what the LVS task reads of `vs`.
    pub fn new(mut vs: VirtualServer) -> Self {
        let real_servers = keep_each(std::mem::take(&mut vs.real_servers), KeptRealServer::new);
        vs.places.clear();
        Self {
            server: vs,
            real_servers,
        }
    }
}

impl KeptConfig {
    /// Keeps what the LVS task reads of `config` (the rest is dropped here).
    pub fn new(mut config: Config) -> Self {
        let virtual_servers = keep_each(
            std::mem::take(&mut config.virtual_servers),
            KeptVirtualServer::new,
        );
        Self {
            config,
            virtual_servers,
        }
    }
}

/// `items` mapped by `keep` into a vector of their own size. (`into_iter().map().collect()`
/// would reuse the model's buffer in place: a 512-byte slot per 64-byte kept server, the
/// very memory this module exists to free.)
fn keep_each<T, K>(items: Vec<T>, keep: impl FnMut(T) -> K) -> Vec<K> {
    let mut kept = Vec::with_capacity(items.len());
    kept.extend(items.into_iter().map(keep));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    const TEXT: &str = "virtual_server 10.0.0.1 80 {\n protocol TCP\n alpha\n \
        real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n HTTP_GET {\n url {\n path /\n status_code 200\n }\n }\n }\n \
        real_server 10.0.0.3 {\n weight 2\n lvs_method DR\n notify_down /bin/true\n }\n}\n";

    #[test]
    fn keeps_what_the_table_reads_and_nothing_of_the_checkers() {
        let full = parse_str(TEXT, &LoadOptions::with_config_id("t")).config;
        let kept = KeptConfig::new(full);
        assert!(kept.config.virtual_servers.is_empty());
        let vs = &kept.virtual_servers[0];
        assert!(vs.server.real_servers.is_empty() && vs.server.places.is_empty());
        assert!(vs.server.alpha);
        let [a, b] = &vs.real_servers[..] else {
            panic!("two real servers: {:?}", vs.real_servers);
        };
        assert_eq!(
            (a.addr.to_string(), a.port, a.checked),
            ("10.0.0.2".into(), Some(80), true)
        );
        assert_eq!((b.port, b.weight, b.checked), (None, 2, false));
        assert_eq!(b.lvs_method.as_deref(), Some(&LvsMethod::Dr));
        assert_eq!(
            b.notify_down.as_ref().map(|s| s.command.as_str()),
            Some("/bin/true")
        );
    }

    /// The kept servers are in a buffer of their own size, not in the model's (which an
    /// in-place `collect` would keep).
    #[test]
    fn the_model_buffer_is_not_kept() {
        let text: String = (1..=100)
            .map(|i| format!("real_server 10.0.1.{i} 80 {{\n TCP_CHECK {{\n }}\n }}\n"))
            .collect();
        let text = format!("virtual_server 10.0.0.1 80 {{\n protocol TCP\n{text}}}\n");
        let full = parse_str(&text, &LoadOptions::with_config_id("t")).config;
        assert_eq!(full.virtual_servers[0].real_servers.len(), 100);
        let kept = KeptConfig::new(full);
        let servers = &kept.virtual_servers[0].real_servers;
        assert_eq!(servers.len(), 100);
        assert!(servers.capacity() <= 128, "capacity {}", servers.capacity());
    }

    /// With 10,000 real servers every byte of a kept one counts 10,000 times: the model's
    /// `RealServer` is ≈ 500 bytes and each checker ≈ 400 more.
    #[test]
    fn a_kept_real_server_stays_small() {
        let size = std::mem::size_of::<KeptRealServer>();
        assert!(size <= 64, "a kept real server is {size} bytes (bound 64)");
    }
}
