//! What only the kernel knows while the configuration is mapped: interface indexes, asked
//! through [`Interfaces`] so that the mapping can be tested on a table.

use crate::net::interface::{self, InterfaceError};

/// What only the kernel knows while mapping: interface indexes (the running kernel in
/// the daemon, a table in tests).
pub trait Interfaces: Sync {
    /// The index of interface `name`.
    fn ifindex(&self, name: &str) -> Result<u32, InterfaceError>;
}

/// The running kernel's interfaces (`if_nametoindex`).
pub struct KernelInterfaces;

impl Interfaces for KernelInterfaces {
    fn ifindex(&self, name: &str) -> Result<u32, InterfaceError> {
        interface::ifindex(name)
    }
}
