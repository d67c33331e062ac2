//! keepalived.conf `promote_secondaries`: while an instance runs, its interface's
//! `net.ipv4.conf.IF.promote_secondaries` is 1, so that removing the interface's primary
//! IPv4 address promotes the secondaries (the virtual addresses) instead of deleting them.
//! keepalived sets it only when it was 0 and puts 0 back when it stops.

use std::{io, path::PathBuf};

/// `/proc/sys/net/ipv4/conf/IF/promote_secondaries` of the calling thread's namespace.
fn path(interface: &str) -> PathBuf {
    PathBuf::from(format!(
        "/proc/sys/net/ipv4/conf/{interface}/promote_secondaries"
    ))
}

/// Sets the flag on `interface`; true when kad changed it (it was 0), so that
/// [`restore`] puts it back at exit.
pub fn enable(interface: &str) -> io::Result<bool> {
    let path = path(interface);
    if std::fs::read_to_string(&path)?.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(&path, "1")?;
    Ok(true)
}

/// Clears the flag kad set on `interface`.
pub fn restore(interface: &str) -> io::Result<()> {
    std::fs::write(path(interface), "0")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_interface_sysctl() {
        assert_eq!(
            super::path("eth0").to_string_lossy(),
            "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"
        );
    }
}
