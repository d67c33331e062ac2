//! Interface addresses over rtnetlink: what `ip addr add/del` does for keepalived.conf's
//! `virtual_ipaddress`, `virtual_ipaddress_excluded` and `static_ipaddress`.

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt as _;
use rtnetlink::{
    Handle,
    packet_route::{
        AddressFamily,
        address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope},
    },
};
use thiserror::Error;

/// An address with the attributes `ip addr add` accepts in keepalived.conf:
/// `ADDR/PREFIX [brd BRD] [dev DEV] [scope SCOPE] [label LABEL]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (keepalived's default: /32 or /128).
    pub prefix_len: u8,
    /// Index of the interface (`dev`).
    pub ifindex: u32,
    /// IPv4 broadcast (`brd`).
    pub broadcast: Option<Ipv4Addr>,
    /// `scope` (default global).
    pub scope: Scope,
    /// IPv4 `label`.
    pub label: Option<String>,
}

/// `ip addr ... scope`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    /// `global` (`universe`).
    #[default]
    Global,
    /// `site`.
    Site,
    /// `link`.
    Link,
    /// `host`.
    Host,
    /// `nowhere`.
    Nowhere,
}

impl From<Scope> for AddressScope {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Global => AddressScope::Universe,
            Scope::Site => AddressScope::Site,
            Scope::Link => AddressScope::Link,
            Scope::Host => AddressScope::Host,
            Scope::Nowhere => AddressScope::Nowhere,
        }
    }
}

/// A netlink address operation failed.
#[derive(Debug, Error)]
pub enum AddressError {
    /// Opening the rtnetlink socket failed.
    #[error("opening rtnetlink: {0}")]
    Connect(#[source] std::io::Error),
    /// The kernel refused the request.
    #[error("{op} {address}/{prefix_len} on ifindex {ifindex}: {source}")]
    Request {
        /// `add`, `del` or `list`.
        op: &'static str,
        /// The address concerned.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// The interface.
        ifindex: u32,
        /// What the kernel said.
        #[source]
        source: rtnetlink::Error,
    },
    /// Listing addresses failed.
    #[error("listing addresses: {0}")]
    List(#[source] rtnetlink::Error),
}

/// Adds, removes and lists interface addresses through one rtnetlink connection.
#[derive(Clone)]
pub struct AddressControl {
    handle: Handle,
}

impl AddressControl {
    /// Opens an rtnetlink connection in the calling thread's network namespace and spawns its
    /// driver on the current tokio runtime.
    pub fn connect() -> Result<Self, AddressError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(AddressError::Connect)?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// The underlying rtnetlink handle (links, for VMACs).
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// `ip addr add`: installs `addr`. Already present is success (idempotent).
    pub async fn add(&self, addr: &InterfaceAddress) -> Result<(), AddressError> {
        let mut request = self
            .handle
            .address()
            .add(addr.ifindex, addr.address, addr.prefix_len);
        fill_attributes(request.message_mut(), addr);
        match request.execute().await {
            Ok(()) => Ok(()),
            Err(err) if errno(&err) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(request_error("add", addr, source)),
        }
    }

    /// `ip addr del`: removes `addr`. Already absent is success (idempotent).
    pub async fn remove(&self, addr: &InterfaceAddress) -> Result<(), AddressError> {
        let mut message = AddressMessage::default();
        message.header.family = family(addr.address);
        message.header.prefix_len = addr.prefix_len;
        message.header.index = addr.ifindex;
        message
            .attributes
            .push(AddressAttribute::Local(addr.address));
        message
            .attributes
            .push(AddressAttribute::Address(addr.address));
        match self.handle.address().del(message).execute().await {
            Ok(()) => Ok(()),
            Err(err) if matches!(errno(&err), Some(libc::EADDRNOTAVAIL | libc::ENOENT)) => Ok(()),
            Err(source) => Err(request_error("del", addr, source)),
        }
    }

    /// Every address on every interface, with its interface's index.
    pub async fn list_all(&self) -> Result<Vec<(u32, IpAddr)>, AddressError> {
        let mut stream = self.handle.address().get().execute();
        let mut found = Vec::new();
        while let Some(message) = stream.try_next().await.map_err(AddressError::List)? {
            if let Some(address) = interface_address(&message) {
                found.push((message.header.index, address));
            }
        }
        Ok(found)
    }

    /// Every address on interface `ifindex`, with its prefix length.
    pub async fn list(&self, ifindex: u32) -> Result<Vec<(IpAddr, u8)>, AddressError> {
        let mut stream = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute();
        let mut found = Vec::new();
        while let Some(message) = stream.try_next().await.map_err(AddressError::List)? {
            if message.header.index != ifindex {
                continue;
            }
            let address = interface_address(&message);
            if let Some(address) = address {
                found.push((address, message.header.prefix_len));
            }
        }
        Ok(found)
    }
}

/// The interface's own address in an address message: `IFA_LOCAL` when present
/// (`IFA_ADDRESS` is the peer's on point-to-point links), else `IFA_ADDRESS`.
pub fn interface_address(message: &AddressMessage) -> Option<IpAddr> {
    let local = message.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(address) => Some(*address),
        _ => None,
    });
    local.or_else(|| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(address) => Some(*address),
            _ => None,
        })
    })
}

fn family(address: IpAddr) -> AddressFamily {
    match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

fn fill_attributes(message: &mut AddressMessage, addr: &InterfaceAddress) {
    message.header.scope = addr.scope.into();
    if let Some(broadcast) = addr.broadcast {
        message
            .attributes
            .push(AddressAttribute::Broadcast(broadcast));
    }
    if let (Some(label), IpAddr::V4(_)) = (&addr.label, addr.address) {
        message
            .attributes
            .push(AddressAttribute::Label(label.clone()));
    }
    if addr.address.is_ipv6() {
        // A VIP moves between routers: duplicate address detection would hold it in
        // "tentative" for a second after every takeover.
        message
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
}

fn errno(err: &rtnetlink::Error) -> Option<i32> {
    match err {
        rtnetlink::Error::NetlinkError(message) => Some(message.raw_code().abs()),
        _ => None,
    }
}

fn request_error(
    op: &'static str,
    addr: &InterfaceAddress,
    source: rtnetlink::Error,
) -> AddressError {
    AddressError::Request {
        op,
        address: addr.address,
        prefix_len: addr.prefix_len,
        ifindex: addr.ifindex,
        source,
    }
}
