//! Policy routing rules over rtnetlink: what `ip rule add/del` does for keepalived.conf's
//! `virtual_rules` and `static_rules`. Rules are tagged `proto keepalived` (FRA_PROTOCOL)
//! unless the configuration names a `protocol`; deletes carry the tag, so they only match
//! rules kad (or keepalived) installed.

use std::{fmt, net::IpAddr};

use rtnetlink::{
    Handle,
    packet_core::{NLM_F_CREATE, NLM_F_EXCL},
    packet_route::{
        AddressFamily, IpProtocol, RouteNetlinkMessage,
        route::{RouteProtocol, RouteRealm},
        rule::{
            RuleAction as NlAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange,
            RuleUidRange,
        },
    },
};
use thiserror::Error;

use super::{
    netlink::{errno, request},
    route::{PROTOCOL_KEEPALIVED, TABLE_MAIN},
};

/// What a matching packet does: `table N` / `lookup N`, `goto N`, `nop`, or the
/// `type blackhole|unreachable|prohibit` actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleAction {
    /// `table N` (default: main).
    Table(u32),
    /// `goto PREF`: jump to the rule with that preference.
    Goto(u32),
    /// `nop`.
    Nop,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// A rule, resolved (names as numbers). keepalived.conf: one entry of `virtual_rules` /
/// `static_rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRule {
    /// Address family (`inet6`, or the family of `from`/`to`).
    pub ipv6: bool,
    /// `from PREFIX`.
    pub from: Option<(IpAddr, u8)>,
    /// `to PREFIX`.
    pub to: Option<(IpAddr, u8)>,
    /// `preference` / `priority` / `order` (None: the kernel picks one).
    pub priority: Option<u32>,
    /// What the rule does.
    pub action: RuleAction,
    /// `not`: invert the match.
    pub invert: bool,
    /// `iif` / `dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `tos` / `dsfield`.
    pub tos: u8,
    /// `realms [FROM/]TO`.
    pub realm: Option<RouteRealm>,
    /// `suppress_prefixlength N`.
    pub suppress_prefixlen: Option<u32>,
    /// `suppress_ifgroup GROUP`.
    pub suppress_ifgroup: Option<u32>,
    /// `uidrange START-END`.
    pub uid_range: Option<(u32, u32)>,
    /// `sport N[-M]`.
    pub sport: Option<(u16, u16)>,
    /// `dport N[-M]`.
    pub dport: Option<(u16, u16)>,
    /// `ipproto` / `ip_proto`.
    pub ip_proto: Option<u8>,
    /// `protocol` (default keepalived).
    pub protocol: u8,
    /// `l3mdev`.
    pub l3mdev: bool,
    /// `tun_id N`.
    pub tun_id: Option<u64>,
}

impl IpRule {
    /// A rule of the given family looking up the main table, tagged keepalived.
    pub fn new(ipv6: bool) -> Self {
        Self {
            ipv6,
            from: None,
            to: None,
            priority: None,
            action: RuleAction::Table(TABLE_MAIN),
            invert: false,
            iif: None,
            oif: None,
            fwmark: None,
            tos: 0,
            realm: None,
            suppress_prefixlen: None,
            suppress_ifgroup: None,
            uid_range: None,
            sport: None,
            dport: None,
            ip_proto: None,
            protocol: PROTOCOL_KEEPALIVED,
            l3mdev: false,
            tun_id: None,
        }
    }

    /// The `RTM_NEWRULE` / `RTM_DELRULE` body (the same for both: the kernel deletes the rule
    /// matching every attribute given).
    pub fn message(&self) -> RuleMessage {
        let mut message = RuleMessage::default();
        let header = &mut message.header;
        header.family = if self.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        header.tos = self.tos;
        if self.invert {
            header.flags |= RuleFlags::Invert;
        }
        header.action = match self.action {
            RuleAction::Table(_) => NlAction::ToTable,
            RuleAction::Goto(_) => NlAction::Goto,
            RuleAction::Nop => NlAction::Nop,
            RuleAction::Blackhole => NlAction::Blackhole,
            RuleAction::Unreachable => NlAction::Unreachable,
            RuleAction::Prohibit => NlAction::Prohibit,
        };
        let attributes = &mut message.attributes;
        if let Some((address, len)) = self.from {
            message.header.src_len = len;
            attributes.push(RuleAttribute::Source(address));
        }
        if let Some((address, len)) = self.to {
            message.header.dst_len = len;
            attributes.push(RuleAttribute::Destination(address));
        }
        if let Some(priority) = self.priority {
            attributes.push(RuleAttribute::Priority(priority));
        }
        match self.action {
            // l3mdev picks the table from the VRF device: no table then.
            RuleAction::Table(_) if self.l3mdev => {}
            RuleAction::Table(table) => match u8::try_from(table) {
                Ok(small) => message.header.table = small,
                Err(_) => attributes.push(RuleAttribute::Table(table)),
            },
            RuleAction::Goto(target) => attributes.push(RuleAttribute::Goto(target)),
            _ => {}
        }
        if let Some(name) = &self.iif {
            attributes.push(RuleAttribute::Iifname(name.clone()));
        }
        if let Some(name) = &self.oif {
            attributes.push(RuleAttribute::Oifname(name.clone()));
        }
        if let Some((mark, mask)) = self.fwmark {
            attributes.push(RuleAttribute::FwMark(mark));
            if let Some(mask) = mask {
                attributes.push(RuleAttribute::FwMask(mask));
            }
        }
        if let Some(realm) = self.realm {
            attributes.push(RuleAttribute::Realm(realm));
        }
        if let Some(len) = self.suppress_prefixlen {
            attributes.push(RuleAttribute::SuppressPrefixLen(len));
        }
        if let Some(group) = self.suppress_ifgroup {
            attributes.push(RuleAttribute::SuppressIfGroup(group));
        }
        if let Some((start, end)) = self.uid_range {
            attributes.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
        }
        if let Some((start, end)) = self.sport {
            attributes.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
        }
        if let Some((start, end)) = self.dport {
            attributes.push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
        }
        if let Some(proto) = self.ip_proto {
            attributes.push(RuleAttribute::IpProtocol(IpProtocol::from(proto)));
        }
        attributes.push(RuleAttribute::Protocol(RouteProtocol::from(self.protocol)));
        if self.l3mdev {
            attributes.push(RuleAttribute::L3MDev(true));
        }
        if let Some(id) = self.tun_id {
            attributes.push(RuleAttribute::TunId(id));
        }
        message
    }
}

impl fmt::Display for IpRule {
    /// `ip rule` style: `pref 100 from 10.77.0.100/32 lookup 100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(priority) = self.priority {
            write!(f, "pref {priority} ")?;
        }
        if self.invert {
            write!(f, "not ")?;
        }
        match self.from {
            Some((address, len)) => write!(f, "from {address}/{len}")?,
            None => write!(f, "from all")?,
        }
        if let Some((address, len)) = self.to {
            write!(f, " to {address}/{len}")?;
        }
        if let Some((mark, mask)) = self.fwmark {
            write!(f, " fwmark {mark:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        if let Some(iif) = &self.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(oif) = &self.oif {
            write!(f, " oif {oif}")?;
        }
        match self.action {
            RuleAction::Table(table) => write!(f, " lookup {table}"),
            RuleAction::Goto(target) => write!(f, " goto {target}"),
            RuleAction::Nop => write!(f, " nop"),
            RuleAction::Blackhole => write!(f, " blackhole"),
            RuleAction::Unreachable => write!(f, " unreachable"),
            RuleAction::Prohibit => write!(f, " prohibit"),
        }
    }
}

/// A rule request the kernel refused.
#[derive(Debug, Error)]
pub enum RuleError {
    /// `ip rule add` or `del` failed.
    #[error("{op} rule {rule}: {source}")]
    Request {
        /// `add` or `del`.
        op: &'static str,
        /// The rule, `ip rule` style.
        rule: String,
        /// What the kernel said.
        #[source]
        source: rtnetlink::Error,
    },
}

/// Adds and removes rules through an rtnetlink connection.
#[derive(Clone)]
pub struct RuleControl {
    handle: Handle,
}

impl RuleControl {
    /// Rule requests over `handle`'s connection.
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }

    /// `ip rule add`: installs `rule` unless an identical one is there (`NLM_F_EXCL`: rules,
    /// unlike routes, would otherwise be duplicated). Already present is success.
    pub async fn add(&self, rule: &IpRule) -> Result<(), RuleError> {
        let message = RouteNetlinkMessage::NewRule(rule.message());
        match request(&self.handle, message, NLM_F_CREATE | NLM_F_EXCL).await {
            Ok(()) => Ok(()),
            Err(err) if errno(&err) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(RuleError::Request {
                op: "add",
                rule: rule.to_string(),
                source,
            }),
        }
    }

    /// `ip rule del`: removes `rule`. Already absent is success (idempotent).
    pub async fn remove(&self, rule: &IpRule) -> Result<(), RuleError> {
        let message = RouteNetlinkMessage::DelRule(rule.message());
        match request(&self.handle, message, 0).await {
            Ok(()) => Ok(()),
            Err(err) if matches!(errno(&err), Some(libc::ENOENT | libc::ESRCH)) => Ok(()),
            Err(source) => Err(RuleError::Request {
                op: "del",
                rule: rule.to_string(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn from_table_priority_rule_message() {
        let mut rule = IpRule::new(false);
        rule.from = Some((IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100)), 32));
        rule.action = RuleAction::Table(100);
        rule.priority = Some(1000);
        let message = rule.message();
        assert_eq!(message.header.family, AddressFamily::Inet);
        assert_eq!(message.header.src_len, 32);
        assert_eq!(message.header.dst_len, 0);
        assert_eq!(message.header.table, 100);
        assert_eq!(message.header.action, NlAction::ToTable);
        assert_eq!(
            message.attributes,
            vec![
                RuleAttribute::Source(IpAddr::V4(Ipv4Addr::new(10, 77, 0, 100))),
                RuleAttribute::Priority(1000),
                RuleAttribute::Protocol(RouteProtocol::KeepAlived),
            ]
        );
        assert_eq!(rule.to_string(), "pref 1000 from 10.77.0.100/32 lookup 100");
    }

    #[test]
    fn big_tables_goto_and_selectors() {
        let mut rule = IpRule::new(true);
        rule.action = RuleAction::Table(6908);
        rule.invert = true;
        rule.fwmark = Some((24, Some(12)));
        rule.uid_range = Some((10000, 19999));
        rule.sport = Some((10, 20));
        rule.ip_proto = Some(17);
        rule.iif = Some("eth0".into());
        let message = rule.message();
        assert_eq!(message.header.family, AddressFamily::Inet6);
        assert_eq!(message.header.table, 0);
        assert!(message.header.flags.contains(RuleFlags::Invert));
        for expected in [
            RuleAttribute::Table(6908),
            RuleAttribute::FwMark(24),
            RuleAttribute::FwMask(12),
            RuleAttribute::UidRange(RuleUidRange {
                start: 10000,
                end: 19999,
            }),
            RuleAttribute::SourcePortRange(RulePortRange { start: 10, end: 20 }),
            RuleAttribute::IpProtocol(IpProtocol::Udp),
            RuleAttribute::Iifname("eth0".into()),
        ] {
            assert!(message.attributes.contains(&expected), "{expected:?}");
        }

        let mut jump = IpRule::new(false);
        jump.action = RuleAction::Goto(40);
        let message = jump.message();
        assert_eq!(message.header.action, NlAction::Goto);
        assert!(message.attributes.contains(&RuleAttribute::Goto(40)));
        assert_eq!(message.header.table, 0);
    }

    #[test]
    fn l3mdev_rules_name_no_table() {
        let mut rule = IpRule::new(false);
        rule.l3mdev = true;
        let message = rule.message();
        assert_eq!(message.header.table, 0);
        assert!(message.attributes.contains(&RuleAttribute::L3MDev(true)));
    }
}
