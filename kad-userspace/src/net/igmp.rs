//! keepalived.conf global `disable_local_igmp`: no IGMP reports for link-local groups
//! (224.0.0.0/24, VRRP's 224.0.0.18 among them) while kad runs.

use std::{fs, io, path::PathBuf};

/// The sysctl `net.ipv4.igmp_link_local_mcast_reports` of kad's network namespace.
const LINK_LOCAL_REPORTS: &str = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports";

/// Holds `net.ipv4.igmp_link_local_mcast_reports` at 0 and puts 1 back when dropped, as
/// keepalived 2.2.7 does (`set_disable_local_igmp` at start, `reset_disable_local_igmp` at
/// exit): only when it was 1, and only once per run (a reload changes nothing).
#[derive(Debug)]
pub struct LocalIgmpReports {
    path: PathBuf,
    restore: bool,
}

impl LocalIgmpReports {
    /// Turns the reports off if they are on.
    pub fn disable() -> io::Result<Self> {
        Self::disable_at(PathBuf::from(LINK_LOCAL_REPORTS))
    }

    fn disable_at(path: PathBuf) -> io::Result<Self> {
        let was_on = fs::read_to_string(&path)?.trim() == "1";
        if was_on {
            fs::write(&path, "0")?;
        }
        Ok(Self {
            path,
            restore: was_on,
        })
    }
}

impl Drop for LocalIgmpReports {
    fn drop(&mut self) {
        if self.restore
            && let Err(err) = fs::write(&self.path, "1")
        {
            tracing::warn!(path = %self.path.display(), error = %err, "disable_local_igmp: cannot restore the sysctl");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysctl(value: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "kad-igmp-{}-{value}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        fs::write(&path, format!("{value}\n")).expect("temp file");
        path
    }

    #[test]
    fn reports_on_are_turned_off_and_back_on() {
        let path = sysctl("1");
        let guard = LocalIgmpReports::disable_at(path.clone()).expect("disable");
        assert_eq!(fs::read_to_string(&path).expect("read"), "0");
        drop(guard);
        assert_eq!(fs::read_to_string(&path).expect("read"), "1");
        let _ = fs::remove_file(path);
    }

    #[test]
    fn reports_already_off_are_left_alone() {
        let path = sysctl("0");
        drop(LocalIgmpReports::disable_at(path.clone()).expect("disable"));
        assert_eq!(fs::read_to_string(&path).expect("read"), "0\n");
        let _ = fs::remove_file(path);
    }
}
