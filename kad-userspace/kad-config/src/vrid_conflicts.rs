//! keepalived's VRID conflict check (`check_vrid_conflicts`): two instances on one
//! interface and address family may share a VRID when they advertise to different
//! multicast groups (`mcast_dst_ip`, else the global `vrrp_mcast_group4/6`), or when one
//! is unicast and the other multicast; two unicast instances conflict only when they send
//! from the same address to a common peer (RFC 5798 §5.2.3: the VRID identifies a
//! router on its LAN).

use std::net::IpAddr;

use super::{
    error::{Diagnostic, Severity},
    model::{GlobalDefs, VrrpInstance},
};

/// How an instance's adverts travel.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// To this multicast group.
    Multicast(IpAddr),
    /// To these peers, from `src` (None: the interface's primary address).
    Unicast {
        src: Option<IpAddr>,
        peers: Vec<IpAddr>,
    },
}

/// One instance's use of a VRID.
struct VridUse {
    name: String,
    interface: String,
    ipv6: bool,
    vrid: u8,
    mode: Mode,
}

/// The VRIDs used by the instances seen so far, in configuration order.
#[derive(Default)]
pub struct VridUses(Vec<VridUse>);

impl VridUses {
    /// Reports each earlier instance `inst` conflicts with (keepalived reports every pair)
    /// and remembers `inst`'s use.
    pub fn check(&mut self, inst: &VrrpInstance, global: &GlobalDefs, diags: &mut Vec<Diagnostic>) {
        let (Some(vrid), Some(interface)) = (inst.virtual_router_id, inst.interface.clone()) else {
            return;
        };
        let ipv6 = inst.is_ipv6().unwrap_or(false);
        let mode = if inst.unicast_peers.is_empty() {
            let default = if ipv6 {
                global.vrrp_mcast_group6
            } else {
                global.vrrp_mcast_group4
            };
            Mode::Multicast(inst.mcast_dst_ip.unwrap_or(default))
        } else {
            Mode::Unicast {
                src: inst.unicast_src_ip,
                peers: inst.unicast_peers.iter().map(|p| p.addr).collect(),
            }
        };
        let family = if ipv6 { "IPv6" } else { "IPv4" };
        let name = &inst.name;
        for other in &self.0 {
            if other.vrid != vrid || other.ipv6 != ipv6 || other.interface != interface {
                continue;
            }
            match (&other.mode, &mode) {
                (Mode::Multicast(a), Mode::Multicast(b)) if a == b => {
                    // keepalived prints this without a line, once the file is read.
                    diags.push(Diagnostic::in_block(
                        Severity::Error,
                        &format!("vrrp_instance {name}"),
                        &inst.place,
                        format!(
                            "{} and {name} both use VRID {vrid} with {family} on interface {interface}",
                            other.name
                        ),
                    ));
                }
                (Mode::Unicast { src: a, peers: pa }, Mode::Unicast { src: b, peers: pb })
                    if a == b && pa.iter().any(|p| pb.contains(p)) =>
                {
                    diags.push(Diagnostic::global(
                        Severity::Error,
                        format!(
                            "({}) duplicate VRID conflict with {name} VRID {vrid}",
                            other.name
                        ),
                    ));
                }
                _ => {}
            }
        }
        self.0.push(VridUse {
            name: name.clone(),
            interface,
            ipv6,
            vrid,
            mode,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, parse_str};

    fn conflicts(extras: &[&str]) -> Vec<String> {
        let text: String = extras
            .iter()
            .enumerate()
            .map(|(i, extra)| {
                format!(
                    "vrrp_instance I{i} {{\n interface eth0\n virtual_router_id 5\n{extra}\n virtual_ipaddress {{\n 10.0.0.{}\n }}\n}}\n",
                    i + 1
                )
            })
            .collect();
        parse_str(&text, &LoadOptions::with_config_id("t"))
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .filter(|m| m.contains("VRID"))
            // Without the block's locator (`vrrp_instance I1 (defined at …): `).
            .map(|m| match m.split_once(" (defined at ") {
                Some((_, rest)) => rest.split_once("): ").map_or(m.clone(), |(_, m)| m.into()),
                None => m,
            })
            .collect()
    }

    #[test]
    fn groups_and_unicast_peers_separate_vrids() {
        assert_eq!(
            conflicts(&["", " mcast_dst_ip 224.0.0.19", " mcast_dst_ip 224.0.0.19"]),
            ["I1 and I2 both use VRID 5 with IPv4 on interface eth0"]
        );
        assert_eq!(
            conflicts(&[
                "",
                " unicast_peer {\n 10.0.0.9\n }",
                " unicast_peer {\n 10.0.0.8\n }",
                " unicast_peer {\n 10.0.0.8\n 10.0.0.7\n }",
            ]),
            ["(I2) duplicate VRID conflict with I3 VRID 5"]
        );
    }
}
