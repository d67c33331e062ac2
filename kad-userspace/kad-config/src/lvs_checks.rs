//! keepalived's checks of a virtual server against its real servers, made when it loads
//! the checker configuration: a `quorum` the real servers' weights can reach, a
//! `hysteresis` below the quorum, and real server ports that agree with the virtual
//! server's (keepalived.conf(5) "Virtual server(s)"). keepalived prints these without a line
//! number; so does kad. What keepalived corrects is corrected here too.

use std::net::IpAddr;

use super::{
    error::{Diagnostic, Severity},
    model::{LvsMethod, VirtualServer, VirtualServerGroup, VsAddress, VsgEntry},
};

/// keepalived's name of a virtual server in these messages (`FMT_VS`).
pub fn keepalived_vs_name(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip(ip, port) => trio(ip, protocol(vs), port.unwrap_or(0)),
        VsAddress::Fwmark(mark) => format!("FWM {mark}"),
        VsAddress::Group(name) => format!("[{name}]:0"),
    }
}

/// `[ADDRESS]:PROTOCOL:PORT`, keepalived's `inet_sockaddrtotrio`.
fn trio(ip: &IpAddr, protocol: &str, port: u16) -> String {
    format!("[{ip}]:{protocol}:{port}")
}

/// The protocol as keepalived names it (none for a fwmark virtual server).
fn protocol(vs: &VirtualServer) -> &'static str {
    if matches!(vs.address, VsAddress::Fwmark(_)) {
        return "none";
    }
    match vs.protocol.as_str() {
        "TCP" => "tcp",
        "UDP" => "udp",
        "SCTP" => "sctp",
        _ => "none",
    }
}

/// keepalived.conf `ha_suspend`: keepalived 2.2.7 clears it on a virtual server with a
/// fwmark, its own or one of its group's (the checkers follow an address, which a fwmark
/// has not).
pub fn ha_suspend(
    vs: &mut VirtualServer,
    group: Option<&VirtualServerGroup>,
    diags: &mut Vec<Diagnostic>,
) {
    let fwmark = matches!(vs.address, VsAddress::Fwmark(_))
        || group.is_some_and(|g| {
            g.entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
        });
    if vs.ha_suspend && fwmark {
        diags.push(Diagnostic::global(
            Severity::Warning,
            format!(
                "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                keepalived_vs_name(vs)
            ),
        ));
        vs.ha_suspend = false;
    }
}

/// keepalived's `quorum` and `hysteresis` checks: a quorum above the real servers' total
/// weight is lowered to it, a hysteresis not below the quorum is set to quorum - 1.
pub fn quorum(vs: &mut VirtualServer, diags: &mut Vec<Diagnostic>) {
    let total: i64 = vs.real_servers.iter().map(|rs| i64::from(rs.weight)).sum();
    let total = u32::try_from(total.max(0)).unwrap_or(u32::MAX);
    if vs.quorum > total {
        diags.push(Diagnostic::global(
            Severity::Warning,
            format!(
                "Warning - quorum {} for {} exceeds total weight of real servers {total}, reducing quorum to {total}",
                vs.quorum,
                keepalived_vs_name(vs)
            ),
        ));
        vs.quorum = total;
    }
    if vs.hysteresis >= vs.quorum {
        // keepalived's arithmetic is unsigned: a quorum of 0 gives 4294967295.
        let hysteresis = vs.quorum.wrapping_sub(1);
        diags.push(Diagnostic::global(
            Severity::Warning,
            format!(
                "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {hysteresis}",
                keepalived_vs_name(vs),
                vs.hysteresis,
                vs.quorum
            ),
        ));
        vs.hysteresis = hysteresis;
    }
}

/// keepalived's port checks: unless NAT, a real (or sorry) server's port is the virtual
/// server's (reset when it differs) and a fwmark virtual server's real servers have none
/// (reported); through a group, only reported.
pub fn ports(
    vs: &mut VirtualServer,
    group: Option<&VirtualServerGroup>,
    diags: &mut Vec<Diagnostic>,
) {
    let name = keepalived_vs_name(vs);
    let proto = protocol(vs);
    let mut warn = |message: String| diags.push(Diagnostic::global(Severity::Warning, message));
    let method = vs.lvs_method.clone();
    let nat = |m: &Option<LvsMethod>| *m.as_ref().unwrap_or(&method) == LvsMethod::Nat;
    match (&vs.address, group) {
        (VsAddress::Group(_), Some(group)) => {
            let sorry = vs
                .sorry_server
                .filter(|_| !nat(&vs.sorry_server_lvs_method))
                .and_then(|(_, port)| port.filter(|p| *p != 0));
            if group
                .entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
            {
                for rs in vs.real_servers.iter().filter(|rs| !nat(&rs.lvs_method)) {
                    if let Some(port) = rs.port.filter(|p| *p != 0) {
                        warn(format!(
                            "WARNING - fwmark virtual server {name}, real server {} has port specified - port will be ignored",
                            trio(&rs.addr, proto, port)
                        ));
                    }
                }
                if sorry.is_some() {
                    warn(format!(
                        "WARNING - fwmark virtual server {name}, sorry server has port specified - port will be ignored"
                    ));
                }
            }
            for entry in &group.entries {
                let VsgEntry::Address {
                    addr,
                    range_end,
                    port: entry_port,
                    ..
                } = entry
                else {
                    continue;
                };
                let entry_port = entry_port.unwrap_or(0);
                for rs in vs.real_servers.iter().filter(|rs| !nat(&rs.lvs_method)) {
                    if let Some(port) = rs.port.filter(|p| *p != 0 && *p != entry_port) {
                        warn(format!(
                            "virtual server {name}:[{}] and real server {} ports don't match",
                            group_entry(addr, *range_end, entry_port),
                            trio(&rs.addr, proto, port)
                        ));
                    }
                }
                if sorry.is_some_and(|p| p != entry_port) {
                    warn(format!(
                        "WARNING - virtual server {name}, sorry server has port specified - port will be ignored"
                    ));
                }
            }
        }
        (VsAddress::Group(_), None) => {}
        // keepalived clears these ports; kad keeps them (without NAT a packet keeps its
        // destination port whatever the real server's port says).
        (VsAddress::Fwmark(_), _) => {
            for rs in vs.real_servers.iter().filter(|rs| !nat(&rs.lvs_method)) {
                if let Some(port) = rs.port.filter(|p| *p != 0) {
                    warn(format!(
                        "WARNING - fwmark virtual server {name}, real server {} has port specified - clearing",
                        trio(&rs.addr, proto, port)
                    ));
                }
            }
            let sorry_nat = nat(&vs.sorry_server_lvs_method);
            if vs
                .sorry_server
                .is_some_and(|(_, port)| !sorry_nat && port.is_some_and(|p| p != 0))
            {
                warn(format!(
                    "WARNING - virtual server {name}, sorry server has port specified - clearing"
                ));
            }
        }
        (VsAddress::Ip(_, vs_port), _) => {
            let vs_port = vs_port.unwrap_or(0);
            // A server without a port already takes the virtual server's.
            for rs in vs.real_servers.iter_mut().filter(|rs| !nat(&rs.lvs_method)) {
                if let Some(port) = rs.port.filter(|p| *p != 0 && *p != vs_port) {
                    warn(format!(
                        "WARNING - virtual server {name} and real server {} ports don't match - resetting",
                        trio(&rs.addr, proto, port)
                    ));
                    rs.port = Some(vs_port);
                }
            }
            let sorry_nat = nat(&vs.sorry_server_lvs_method);
            if let Some((_, port)) = vs.sorry_server.as_mut().filter(|_| !sorry_nat)
                && port.is_some_and(|p| p != 0 && p != vs_port)
            {
                warn(format!(
                    "WARNING - virtual server {name} and sorry server ports don't match - resetting"
                ));
                *port = Some(vs_port);
            }
        }
    }
}

/// A group entry as keepalived prints it (`format_vsge`): `ADDRESS,PORT` or
/// `FIRST-LAST,PORT`.
fn group_entry(addr: &IpAddr, range_end: Option<u32>, port: u16) -> String {
    let last = range_end.map(|end| match addr {
        IpAddr::V4(a) => {
            let [o1, o2, o3, _] = a.octets();
            IpAddr::from([o1, o2, o3, u8::try_from(end).unwrap_or(u8::MAX)])
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            if let Some(last) = s.last_mut() {
                *last = u16::try_from(end).unwrap_or(u16::MAX);
            }
            IpAddr::from(s)
        }
    });
    match last {
        Some(last) if last != *addr => format!("{addr}-{last},{port}"),
        _ => format!("{addr},{port}"),
    }
}
