//! keepalived.conf `use_ipvlan [NAME] [IP_ADDRESS[/PREFIX]] [bridge|private|vepa]`: an
//! ipvlan interface (mode l2, so that it sends its own ARP) on top of the instance's
//! interface, carrying the given address; the instance's adverts and virtual addresses go
//! there, as keepalived's `netlink_link_add_ipvlan` sets it up. The kernel this project is
//! tested on has no ipvlan: the request is unit-tested as a message, not on a kernel.

use std::net::IpAddr;

use rtnetlink::{
    LinkIpVlan,
    packet_route::link::{IpVlanFlags, IpVlanMode, LinkMessage},
};
use thiserror::Error;

use super::{addr::AddressControl, interface};

/// `use_ipvlan`'s last word: how the ipvlan's slaves talk to each other (`IFLA_IPVLAN_FLAGS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IpvlanType {
    /// `bridge` (default): no flag.
    #[default]
    Bridge,
    /// `private`: `IPVLAN_F_PRIVATE`.
    Private,
    /// `vepa`: `IPVLAN_F_VEPA`.
    Vepa,
}

/// `use_ipvlan`'s words, read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpvlanPlan {
    /// The interface's name (default: chosen like a VMAC's).
    pub name: Option<String>,
    /// The address it carries, with its prefix length.
    pub address: Option<(IpAddr, u8)>,
    /// `bridge`, `private` or `vepa`.
    pub kind: IpvlanType,
}

/// Setting up an ipvlan failed.
#[derive(Debug, Error)]
pub enum IpvlanError {
    /// A word of `use_ipvlan` is not a name, an address or a type, or comes twice.
    #[error("use_ipvlan: unexpected '{0}'")]
    Word(String),
    /// The kernel refused (this project's test kernel has no ipvlan: "not supported").
    #[error("{op} ipvlan {name}: {source}")]
    Netlink {
        /// What was being done.
        op: &'static str,
        /// The interface's name.
        name: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// The interface was made but cannot be found by name.
    #[error(transparent)]
    Interface(#[from] interface::InterfaceError),
    /// Adding its address failed.
    #[error(transparent)]
    Address(#[from] super::addr::AddressError),
}

/// Reads `use_ipvlan`'s words: an address (with an optional `/prefix`), a type, and a name
/// (the word that is neither), each at most once.
pub fn plan(words: &[String]) -> Result<IpvlanPlan, IpvlanError> {
    let mut plan = IpvlanPlan::default();
    let mut kind = None;
    for word in words {
        let (head, prefix) = match word.split_once('/') {
            Some((head, prefix)) => (head, Some(prefix)),
            None => (word.as_str(), None),
        };
        if let Ok(address) = head.parse::<IpAddr>() {
            let full = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix.map(str::parse::<u8>) {
                None => full,
                Some(Ok(p)) if p <= full => p,
                Some(_) => return Err(IpvlanError::Word(word.clone())),
            };
            if plan.address.replace((address, prefix)).is_some() {
                return Err(IpvlanError::Word(word.clone()));
            }
            continue;
        }
        let parsed = match word.as_str() {
            "bridge" => Some(IpvlanType::Bridge),
            "private" => Some(IpvlanType::Private),
            "vepa" => Some(IpvlanType::Vepa),
            _ => None,
        };
        match parsed {
            Some(k) if kind.replace(k).is_none() => {}
            None if plan.name.is_none() && word.len() < libc::IFNAMSIZ => {
                plan.name = Some(word.clone());
            }
            _ => return Err(IpvlanError::Word(word.clone())),
        }
    }
    plan.kind = kind.unwrap_or_default();
    Ok(plan)
}

/// The `RTM_NEWLINK` request for ipvlan `name` on `base`: mode l2 with `kind`'s flags, up.
pub fn request(name: &str, base: u32, kind: IpvlanType) -> LinkMessage {
    let flags = match kind {
        IpvlanType::Bridge => IpVlanFlags::empty(),
        IpvlanType::Private => IpVlanFlags::Private,
        IpvlanType::Vepa => IpVlanFlags::Vepa,
    };
    LinkIpVlan::new(name, base, IpVlanMode::L2)
        .flag(flags)
        .up()
        .build()
}

/// Makes ipvlan `name` on `base` (an existing interface of that name is used as it is),
/// with `address` on it; returns its index.
pub async fn ensure(
    control: &AddressControl,
    name: &str,
    base: u32,
    plan: &IpvlanPlan,
) -> Result<u32, IpvlanError> {
    if interface::ifindex(name).is_err() {
        control
            .handle()
            .link()
            .add(request(name, base, plan.kind))
            .execute()
            .await
            .map_err(|source| IpvlanError::Netlink {
                op: "create",
                name: name.to_owned(),
                source,
            })?;
    }
    let index = interface::ifindex(name)?;
    if let Some((address, prefix_len)) = plan.address {
        let wanted = super::addr::InterfaceAddress {
            address,
            prefix_len,
            ifindex: index,
            broadcast: None,
            scope: super::addr::Scope::Global,
            label: None,
        };
        if !control
            .list(index)
            .await?
            .iter()
            .any(|(have, _)| *have == address)
        {
            control.add(&wanted).await?;
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::Emitable as _;
    use rtnetlink::packet_route::link::{InfoData, InfoIpVlan, InfoKind, LinkAttribute, LinkInfo};

    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn reads_the_words_in_any_order() {
        assert_eq!(plan(&[]).ok(), Some(IpvlanPlan::default()));
        let read = plan(&words("ipv0 10.0.0.5/24 private")).ok();
        assert_eq!(
            read,
            Some(IpvlanPlan {
                name: Some("ipv0".into()),
                address: Some(("10.0.0.5".parse().expect("ip"), 24)),
                kind: IpvlanType::Private,
            })
        );
        let read = plan(&words("vepa fd00::5")).ok();
        assert_eq!(
            read.map(|p| (p.address, p.kind)),
            Some((
                Some(("fd00::5".parse().expect("ip"), 128)),
                IpvlanType::Vepa
            ))
        );
        for bad in ["a b", "bridge vepa", "10.0.0.1 10.0.0.2", "10.0.0.1/33"] {
            assert!(plan(&words(bad)).is_err(), "{bad}");
        }
    }

    /// The request carries what `ip link add NAME link BASE type ipvlan mode l2 [FLAG]`
    /// sends: the name, the base's index, kind "ipvlan", mode l2 (0) and the flags.
    #[test]
    fn the_request_is_an_l2_ipvlan_on_the_base() {
        for (kind, flags) in [
            (IpvlanType::Bridge, 0u16),
            (IpvlanType::Private, 1),
            (IpvlanType::Vepa, 2),
        ] {
            let message = request("ipv0", 7, kind);
            let attrs = &message.attributes;
            assert!(attrs.contains(&LinkAttribute::IfName("ipv0".into())));
            assert!(attrs.contains(&LinkAttribute::Link(7)));
            let info = attrs
                .iter()
                .find_map(|a| match a {
                    LinkAttribute::LinkInfo(info) => Some(info.clone()),
                    _ => None,
                })
                .expect("IFLA_LINKINFO");
            assert!(info.contains(&LinkInfo::Kind(InfoKind::IpVlan)));
            let data = info
                .iter()
                .find_map(|i| match i {
                    LinkInfo::Data(InfoData::IpVlan(data)) => Some(data.clone()),
                    _ => None,
                })
                .expect("IFLA_INFO_DATA");
            assert!(data.contains(&InfoIpVlan::Mode(IpVlanMode::L2)));
            assert!(data.contains(&InfoIpVlan::Flags(IpVlanFlags::from_bits_retain(flags))));
            // On the wire: IFLA_INFO_KIND "ipvlan\0", IFLA_IPVLAN_MODE (1) = 0 and
            // IFLA_IPVLAN_FLAGS (2) = flags, each a 6-byte attribute padded to 8.
            let mut bytes = vec![0u8; message.buffer_len()];
            message.emit(&mut bytes);
            let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            assert!(has(b"ipvlan\0"));
            assert!(has(&[6, 0, 1, 0, 0, 0]), "mode l2");
            let f = flags.to_ne_bytes();
            assert!(has(&[6, 0, 2, 0, f[0], f[1]]), "flags {flags}");
        }
    }
}
