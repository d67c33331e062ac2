//! The addresses configured on the host's interfaces, kept current from rtnetlink (what
//! keepalived's checker process follows for keepalived.conf `ha_suspend`): one dump at
//! start, then every `RTM_NEWADDR` / `RTM_DELADDR`.

use std::{
    collections::{HashMap, HashSet},
    io,
    net::IpAddr,
};

use thiserror::Error;
use tokio::sync::{mpsc, watch};

use super::{
    addr::{AddressControl, AddressError},
    link_monitor::{self, AddressChange},
};

/// Following the host's addresses could not start.
#[derive(Debug, Error)]
pub enum LocalAddressError {
    /// Subscribing to address changes failed.
    #[error("subscribing to address changes: {0}")]
    Subscribe(#[source] io::Error),
    /// Listing the current addresses failed.
    #[error(transparent)]
    List(#[from] AddressError),
}

/// Starts following the host's addresses (in the calling thread's network namespace) on
/// the current tokio runtime. The receiver holds every local address (an address on
/// several interfaces counts until it is gone from all); the task ends when every
/// receiver is dropped.
pub async fn watch() -> Result<watch::Receiver<HashSet<IpAddr>>, LocalAddressError> {
    // Subscribe first, so that no change between the dump and the subscription is lost
    // (a change already in the dump is applied again, which changes nothing).
    let changes =
        link_monitor::subscribe_address_changes().map_err(LocalAddressError::Subscribe)?;
    let control = AddressControl::connect()?;
    let mut held = Held::default();
    for (ifindex, address) in control.list_all().await? {
        held.apply(AddressChange {
            ifindex,
            address,
            added: true,
        });
    }
    let (publish, receiver) = watch::channel(held.addresses());
    tokio::spawn(follow(held, changes, publish));
    Ok(receiver)
}

async fn follow(
    mut held: Held,
    mut changes: mpsc::UnboundedReceiver<AddressChange>,
    publish: watch::Sender<HashSet<IpAddr>>,
) {
    loop {
        let change = tokio::select! {
            change = changes.recv() => change,
            () = publish.closed() => return,
        };
        let Some(change) = change else {
            tracing::warn!("address changes: the netlink subscription ended");
            return;
        };
        tracing::debug!(address = %change.address, ifindex = change.ifindex, added = change.added, "address change");
        if held.apply(change) {
            publish.send_replace(held.addresses());
        }
    }
}

/// Each local address with the interfaces holding it.
#[derive(Default)]
struct Held(HashMap<IpAddr, HashSet<u32>>);

impl Held {
    /// Applies `change`; true when the set of local addresses changed.
    fn apply(&mut self, change: AddressChange) -> bool {
        if change.added {
            let interfaces = self.0.entry(change.address).or_default();
            let new = interfaces.is_empty();
            interfaces.insert(change.ifindex);
            new
        } else {
            let Some(interfaces) = self.0.get_mut(&change.address) else {
                return false;
            };
            interfaces.remove(&change.ifindex);
            let gone = interfaces.is_empty();
            if gone {
                self.0.remove(&change.address);
            }
            gone
        }
    }

    fn addresses(&self) -> HashSet<IpAddr> {
        self.0.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(ifindex: u32, address: &str, added: bool) -> AddressChange {
        AddressChange {
            ifindex,
            address: address.parse().unwrap(),
            added,
        }
    }

    #[test]
    fn an_address_on_two_interfaces_stays_local_until_both_drop_it() {
        let mut held = Held::default();
        assert!(held.apply(change(2, "10.0.0.1", true)));
        assert!(!held.apply(change(2, "10.0.0.1", true)), "seen twice");
        assert!(!held.apply(change(3, "10.0.0.1", true)));
        assert!(!held.apply(change(2, "10.0.0.1", false)));
        assert_eq!(held.addresses().len(), 1);
        assert!(held.apply(change(3, "10.0.0.1", false)));
        assert!(held.addresses().is_empty());
        assert!(!held.apply(change(3, "10.0.0.1", false)), "already gone");
    }
}
