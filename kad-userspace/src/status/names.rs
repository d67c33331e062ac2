//! How a virtual or real server is named, once for the whole daemon. Two forms, because
//! two outside contracts fix them: kad's own (`kad status`, logs, quorum bookkeeping) and
//! keepalived's notify FIFO and alert mails, which scripts and mail filters parse.

use std::net::{IpAddr, SocketAddr};

use crate::config::model::{VirtualServer, VsAddress};

/// A virtual server as `kad status` and the logs name it: `TCP 10.0.0.1:80`, `fwmark 1`,
/// `group NAME`.
pub fn vs_name(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip(ip, port) => {
            format!(
                "{} {}",
                vs.protocol,
                SocketAddr::new(*ip, port.unwrap_or(0))
            )
        }
        VsAddress::Fwmark(mark) => format!("fwmark {mark}"),
        VsAddress::Group(name) => format!("group {name}"),
    }
}

/// keepalived.conf(5) `lvs_notify_fifo` names servers as `[ADDRESS]:PROTOCOL:PORT`, e.g.
/// `[192.168.201.15]:tcp:80`.
pub fn fifo_name(ip: IpAddr, protocol: &str, port: u16) -> String {
    format!("[{ip}]:{}:{port}", protocol.to_ascii_lowercase())
}

/// A virtual server as FIFO lines and alert mails name it: [`fifo_name`]; a fwmark
/// service (not shown by keepalived.conf(5)) as `FWM N`, a group as `[GROUP]:PROTOCOL`.
pub fn vs_fifo_name(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip(ip, port) => fifo_name(*ip, &vs.protocol, port.unwrap_or(0)),
        VsAddress::Fwmark(mark) => format!("FWM {mark}"),
        VsAddress::Group(name) => format!("[{name}]:{}", vs.protocol.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, parse_str};

    #[test]
    fn names_a_virtual_server_in_both_forms() {
        let text = "virtual_server 10.9.9.9 80 {\n protocol TCP\n}\n\
                    virtual_server fwmark 7 {\n protocol UDP\n}\n\
                    virtual_server group G {\n protocol TCP\n}\n\
                    virtual_server_group G {\n 10.9.9.8 80\n}\n";
        let config = parse_str(text, &LoadOptions::with_config_id("t")).config;
        let kad: Vec<String> = config.virtual_servers.iter().map(vs_name).collect();
        let keepalived: Vec<String> = config.virtual_servers.iter().map(vs_fifo_name).collect();
        assert_eq!(kad, ["TCP 10.9.9.9:80", "fwmark 7", "group G"]);
        assert_eq!(keepalived, ["[10.9.9.9]:tcp:80", "FWM 7", "[G]:tcp"]);
    }
}
