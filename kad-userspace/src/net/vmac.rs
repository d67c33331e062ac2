//! keepalived.conf `use_vmac`: a macvlan interface carrying the VRRP virtual MAC
//! (00:00:5e:00:01:VRID, RFC 5798 §7.3) on top of the instance's interface, so that a
//! takeover moves the MAC with the VIP and clients need no ARP update.

use std::io;

use futures::TryStreamExt as _;
use rtnetlink::{
    LinkMacVlan,
    packet_route::link::{LinkAttribute, MacVlanMode},
};
use thiserror::Error;

use super::{addr::AddressControl, interface};

/// Creating or removing a VMAC failed.
#[derive(Debug, Error)]
pub enum VmacError {
    /// The kernel refused.
    #[error("{op} VMAC {name}: {source}")]
    Netlink {
        /// What was being done.
        op: &'static str,
        /// The VMAC's name.
        name: String,
        /// The kernel's answer.
        #[source]
        source: rtnetlink::Error,
    },
    /// The interface appeared but cannot be found by name.
    #[error(transparent)]
    Interface(#[from] interface::InterfaceError),
    /// Listing or adding an address failed.
    #[error(transparent)]
    Address(#[from] super::addr::AddressError),
    /// An IPv6 VMAC needs its base interface's link-local address, and there is none.
    #[error("IPv6 VMAC {name}: the base interface has no link-local address to carry")]
    NoLinkLocal {
        /// The VMAC's name.
        name: String,
    },
    /// A sysctl could not be set.
    #[error("sysctl {key}: {source}")]
    Sysctl {
        /// The sysctl.
        key: String,
        /// The system error.
        #[source]
        source: io::Error,
    },
}

/// RFC 5798 §7.3: the virtual router MAC of `vrid` for IPv4 (`ipv6`: 00:00:5e:00:02:VRID).
pub fn virtual_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// Makes sure macvlan `name` exists on `base` with `mac`, is up, and that ARP for the VIPs
/// is answered by the VMAC only (`arp_ignore=1`, `arp_filter=1` on the base interface and on
/// the VMAC, as keepalived sets them). Returns the VMAC's interface index.
///
/// For an IPv6 instance (`ipv6`) the VMAC generates no link-local address of its own (every
/// router's VMAC has the same MAC, so EUI-64 would give them all the same address): it is
/// created down, `addr_gen_mode` set to none, and it carries the base interface's
/// link-local address instead, the source of the instance's adverts (RFC 5798 §5.1.2.1),
/// as keepalived does.
pub async fn ensure(
    control: &AddressControl,
    name: &str,
    base: u32,
    mac: [u8; 6],
    ipv6: bool,
) -> Result<u32, VmacError> {
    let handle = control.handle();
    let existing = interface::ifindex(name).ok();
    let fits = match existing {
        Some(index) => {
            let mut links = handle.link().get().match_index(index).execute();
            let mut ok = false;
            while let Some(link) = links
                .try_next()
                .await
                .map_err(|source| VmacError::Netlink {
                    op: "inspect",
                    name: name.to_owned(),
                    source,
                })?
            {
                ok =
                    link.attributes.iter().any(
                        |a| matches!(a, LinkAttribute::Address(addr) if addr.as_slice() == mac),
                    ) && link
                        .attributes
                        .iter()
                        .any(|a| matches!(a, LinkAttribute::Link(parent) if *parent == base));
            }
            ok
        }
        None => false,
    };
    if let (Some(index), false) = (existing, fits) {
        // Left over with other settings (another run, another config): start afresh.
        handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|source| VmacError::Netlink {
                op: "replace",
                name: name.to_owned(),
                source,
            })?;
    }
    if !fits {
        let builder = LinkMacVlan::new(name, base, MacVlanMode::Private).address(mac.to_vec());
        let message = if ipv6 { builder } else { builder.up() }.build();
        handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(|source| VmacError::Netlink {
                op: "create",
                name: name.to_owned(),
                source,
            })?;
    }
    let index = interface::ifindex(name)?;
    if ipv6 {
        link_local_from_base(control, name, index, base).await?;
    }
    let base_name = interface_name(base)?;
    for interface in [base_name.as_str(), name] {
        for (key, value) in [("arp_ignore", "1"), ("arp_filter", "1")] {
            set_ipv4_conf(interface, key, value)?;
        }
    }
    set_ipv4_conf(name, "accept_local", "1")?;
    set_ipv4_conf(name, "rp_filter", "0")?;
    Ok(index)
}

/// IPv6 VMAC `name` (`index`): no address generation, up, the link-local address(es) of
/// `base` added (without duplicate address detection: they are the base's own).
async fn link_local_from_base(
    control: &AddressControl,
    name: &str,
    index: u32,
    base: u32,
) -> Result<(), VmacError> {
    let path = format!("/proc/sys/net/ipv6/conf/{name}/addr_gen_mode");
    std::fs::write(&path, "1").map_err(|source| VmacError::Sysctl { key: path, source })?;
    control
        .handle()
        .link()
        .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|source| VmacError::Netlink {
            op: "bring up",
            name: name.to_owned(),
            source,
        })?;
    let base_addresses = control.list(base).await.map_err(VmacError::Address)?;
    let link_locals: Vec<_> = base_addresses
        .into_iter()
        .filter(|(addr, _)| matches!(addr, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .collect();
    if link_locals.is_empty() {
        return Err(VmacError::NoLinkLocal {
            name: name.to_owned(),
        });
    }
    for (address, prefix_len) in link_locals {
        control
            .add(&super::addr::InterfaceAddress {
                address,
                prefix_len,
                ifindex: index,
                broadcast: None,
                scope: super::addr::Scope::Link,
                label: None,
            })
            .await
            .map_err(VmacError::Address)?;
    }
    Ok(())
}

/// Removes the VMAC `name` (at exit).
pub async fn remove(control: &AddressControl, name: &str) -> Result<(), VmacError> {
    let Ok(index) = interface::ifindex(name) else {
        return Ok(());
    };
    control
        .handle()
        .link()
        .del(index)
        .execute()
        .await
        .map_err(|source| VmacError::Netlink {
            op: "delete",
            name: name.to_owned(),
            source,
        })
}

fn interface_name(index: u32) -> Result<String, VmacError> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes, as if_indextoname requires.
    let name = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if name.is_null() {
        return Err(VmacError::Interface(interface::InterfaceError::NotFound(
            format!("ifindex {index}"),
        )));
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Ok(name.to_string_lossy().into_owned())
}

fn set_ipv4_conf(interface: &str, key: &str, value: &str) -> Result<(), VmacError> {
    let path = format!("/proc/sys/net/ipv4/conf/{interface}/{key}");
    std::fs::write(&path, value).map_err(|source| VmacError::Sysctl { key: path, source })
}

#[cfg(test)]
mod tests {
    use super::virtual_mac;

    #[test]
    fn virtual_macs_follow_rfc_5798() {
        assert_eq!(virtual_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(255, true), [0, 0, 0x5e, 0, 2, 255]);
    }
}
