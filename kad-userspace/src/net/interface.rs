//! Interface names, indexes, hardware addresses and flags, asked of the kernel through a
//! socket (`if_nametoindex`, `SIOCGIFHWADDR`, `SIOCGIFFLAGS`), never read from
//! `/sys/class/net`: sysfs shows the network namespace it was mounted in, which is not
//! kad's when kad was started by `nsenter -n`, `unshare --net` or a container runtime that
//! does not remount `/sys`. A socket always belongs to the calling thread's namespace.

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
    /// Asking the kernel for the hardware address failed.
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

/// Whether interface `name` exists in the calling thread's network namespace.
pub fn exists(name: &str) -> bool {
    ifindex(name).is_ok()
}

/// The name of interface `index` (`if_indextoname(3)`), if it exists.
pub fn name_of(index: u32) -> Option<String> {
    let mut buffer = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes, NUL included, into `buffer`.
    let name = unsafe { libc::if_indextoname(index, buffer.as_mut_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: on success `buffer` holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// `struct ifreq` (linux/if.h): the name, then a 24-byte union (here: a `sockaddr` for
/// `SIOCGIFHWADDR`, a `short` for `SIOCGIFFLAGS`).
#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: [u8; 24],
}

/// Runs the `SIOCGIF*` ioctl `request` for interface `name` on a datagram socket of the
/// calling thread's network namespace; returns the union's bytes.
fn ifreq_ioctl(name: &str, request: libc::c_ulong) -> Result<[u8; 24], InterfaceError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(InterfaceError::BadName(name.to_owned()));
    }
    let mac_error = |source| InterfaceError::Mac {
        name: name.to_owned(),
        source,
    };
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
        .map_err(mac_error)?;
    let mut request_block = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: [0; 24],
    };
    for (slot, byte) in request_block.name.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: `request_block` is a properly sized `struct ifreq` that lives across the call;
    // the kernel writes at most its 40 bytes.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            request as _,
            &mut request_block as *mut IfReq,
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ENODEV) => InterfaceError::NotFound(name.to_owned()),
            _ => mac_error(err),
        });
    }
    Ok(request_block.data)
}

/// The Ethernet address of interface `name` (`SIOCGIFHWADDR`).
pub fn mac_address(name: &str) -> Result<[u8; 6], InterfaceError> {
    let data = ifreq_ioctl(name, libc::SIOCGIFHWADDR)?;
    // struct sockaddr: sa_family (2 bytes), then the address.
    let family = u16::from_ne_bytes([data[0], data[1]]);
    if family != libc::ARPHRD_ETHER {
        return Err(InterfaceError::Mac {
            name: name.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("hardware type {family} is not Ethernet"),
            ),
        });
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&data[2..8]);
    Ok(mac)
}

/// Interface `name`'s flags (`SIOCGIFFLAGS`: `IFF_UP`, `IFF_RUNNING`, ...).
pub fn flags(name: &str) -> Result<u32, InterfaceError> {
    let data = ifreq_ioctl(name, libc::SIOCGIFFLAGS)?;
    Ok(u32::from(u16::from_ne_bytes([data[0], data[1]])))
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
            mac_address("nul\0x"),
            Err(InterfaceError::BadName(_))
        ));
        assert!(matches!(
            mac_address("kadnosuchif0"),
            Err(InterfaceError::NotFound(_))
        ));
    }

    #[test]
    fn loopback_exists_and_unknown_names_do_not() {
        assert!(ifindex("lo").is_ok());
        assert!(exists("lo"));
        assert!(!exists("kadnosuchif0"));
        let lo = flags("lo").unwrap_or(0);
        assert_ne!(lo & libc::IFF_LOOPBACK as u32, 0, "lo flags 0x{lo:x}");
        assert!(matches!(
            ifindex("kadnosuchif0"),
            Err(InterfaceError::NotFound(_))
        ));
    }
}
