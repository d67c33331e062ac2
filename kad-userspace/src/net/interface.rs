//! Interface names, indexes and hardware addresses.

use std::ffi::CString;

use thiserror::Error;

/// An interface could not be resolved.
#[derive(Debug, Error)]
pub enum InterfaceError {
    /// No interface of that name in this network namespace.
    #[error("no interface named {0:?}")]
    NotFound(String),
    /// The name cannot be an interface name (contains NUL or is too long).
    #[error("{0:?} is not a valid interface name")]
    BadName(String),
    /// Reading the hardware address from sysfs failed.
    #[error("reading the MAC address of {name}: {source}")]
    Mac {
        /// Interface name.
        name: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The kernel's index of interface `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> Result<u32, InterfaceError> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(InterfaceError::BadName(name.to_owned()));
    }
    let c_name = CString::new(name).map_err(|_| InterfaceError::BadName(name.to_owned()))?;
    // SAFETY: if_nametoindex reads a valid NUL-terminated string and has no other effect.
    match unsafe { libc::if_nametoindex(c_name.as_ptr()) } {
        0 => Err(InterfaceError::NotFound(name.to_owned())),
        index => Ok(index),
    }
}

/// The Ethernet address of interface `name` (from `/sys/class/net/NAME/address`).
pub fn mac_address(name: &str) -> Result<[u8; 6], InterfaceError> {
    if name.contains('/') || name.starts_with('.') {
        return Err(InterfaceError::BadName(name.to_owned()));
    }
    let path = format!("/sys/class/net/{name}/address");
    let text = std::fs::read_to_string(&path).map_err(|source| InterfaceError::Mac {
        name: name.to_owned(),
        source,
    })?;
    parse_mac(text.trim()).ok_or_else(|| InterfaceError::Mac {
        name: name.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{:?} is not an Ethernet address", text.trim()),
        ),
    })
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_macs_and_rejects_malformed_ones() {
        assert_eq!(
            parse_mac("00:00:5e:00:01:33"),
            Some([0, 0, 0x5e, 0, 1, 0x33])
        );
        assert_eq!(parse_mac("00:00:5e:00:01"), None);
        assert_eq!(parse_mac("00:00:5e:00:01:33:44"), None);
        assert_eq!(parse_mac("00:00:5e:00:01:zz"), None);
    }

    #[test]
    fn rejects_names_the_kernel_cannot_hold() {
        assert!(matches!(ifindex(""), Err(InterfaceError::BadName(_))));
        assert!(matches!(
            ifindex("a-name-longer-than-15"),
            Err(InterfaceError::BadName(_))
        ));
        assert!(matches!(ifindex("nul\0x"), Err(InterfaceError::BadName(_))));
        assert!(matches!(
            mac_address("../etc"),
            Err(InterfaceError::BadName(_))
        ));
    }

    #[test]
    fn loopback_exists_and_unknown_names_do_not() {
        assert!(ifindex("lo").is_ok());
        assert!(matches!(
            ifindex("kadnosuchif0"),
            Err(InterfaceError::NotFound(_))
        ));
    }
}
