//! keepalived.conf `old_unicast_checksum [never]` against keepalived 2.2.7 (built with
//! OLD_CHKSUM_COMPAT) on a real bridged segment: VRRPv3 over IPv4 to a unicast peer, with the
//! pre-2.2.0 checksum (pseudo-header destination = the multicast group 224.0.0.18).
//!
//! - keepalived sends the old form; kad without the keyword detects it, stays Backup, and
//!   from then on sends the old form too (keepalived's detection does the same);
//! - kad sends the old form; keepalived without the keyword detects it and stays Backup;
//! - `never` on the receiver: the old form is rejected, so both routers become Master.

use std::{net::IpAddr, time::Duration};

use anyhow::{Context as _, Result};
use kad::vrrp::packet::{ChecksumMode, Version, vrrp_checksum};
use kad_tests::{
    advert_watch::AdvertWatch,
    lab::{Lab, ROUTERS},
};

const VIP: &str = "10.77.0.100";
/// keepalived's log line when its detection switches to the old checksum.
const SWITCHED: &str = "Setting unicast VRRPv3 checksum to old version";

/// How kad receives adverts: XDP (default) or `--no-xdp` raw sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Receive {
    Xdp,
    Raw,
}

fn lab(receive: Receive) -> Result<Lab> {
    let mut lab = Lab::with_hosts("oc", ROUTERS)?;
    if receive == Receive::Raw {
        lab.kad_args.push("--no-xdp".into());
    }
    Ok(lab)
}

/// A VRRPv3 unicast instance on router `own` (1 or 2) with the other router as peer;
/// `old` is the `old_unicast_checksum` line's argument (`Some("")`: the bare keyword).
fn config(own: u8, priority: u8, old: Option<&str>) -> String {
    let peer = 3 - own;
    let old = match old {
        None => String::new(),
        Some(arg) => format!("  old_unicast_checksum {arg}\n"),
    };
    format!(
        "global_defs {{\n  router_id r{own}\n}}\n\
         vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
         \x20 priority {priority}\n  advert_int 0.1\n  version 3\n\
         \x20 unicast_src_ip 10.77.0.{own}\n  unicast_peer {{\n    10.77.0.{peer}\n  }}\n\
         {old}  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n"
    )
}

/// Which checksum form the next VRRPv3 IPv4 advert router `host` sends carries: `Some(true)`
/// the old one (group in the pseudo-header), `Some(false)` the RFC 5798 one.
fn sent_form(lab: &Lab, host: &str) -> Result<Option<bool>> {
    let watch = AdvertWatch::open(lab.switch(), &Lab::port(host))?;
    watch.drain();
    let frame = watch
        .next_frame(Duration::from_secs(2))?
        .context("no advert from the master")?;
    let ip = frame.get(14..).context("short frame")?;
    let header = usize::from(ip.first().context("no IP header")? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let msg = ip.get(header..total).context("short VRRP message")?;
    let src = IpAddr::from([ip[12], ip[13], ip[14], ip[15]]);
    let dst = IpAddr::from([ip[16], ip[17], ip[18], ip[19]]);
    let carried = u16::from_be_bytes([msg[6], msg[7]]);
    let new = vrrp_checksum(msg, Version::V3, src, dst, ChecksumMode::PseudoHeader);
    let old = vrrp_checksum(
        msg,
        Version::V3,
        src,
        dst,
        ChecksumMode::OldUnicast([224, 0, 0, 18].into()),
    );
    Ok(match carried {
        c if c == old && c != new => Some(true),
        c if c == new => Some(false),
        _ => None,
    })
}

/// (a) keepalived (priority 200, `old_unicast_checksum`) is Master; kad (100, no keyword)
/// detects the old form, stays Backup and logs the switch; when keepalived stops, kad's own
/// adverts carry the old form, as keepalived's detection makes it send.
fn kad_detects_keepalived_old_checksum(receive: Receive) -> Result<()> {
    let mut lab = lab(receive)?;
    let keepalived = lab.start_keepalived("r2", &config(2, 200, Some("")))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    let kad = lab.start_kad("r1", &config(1, 100, None))?;
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !lab.holds("r1", VIP)?,
        "kad must accept old-checksum adverts and stay backup\n{}",
        lab.logs()
    );
    assert!(lab.holds("r2", VIP)?, "keepalived stays master");
    let log = lab.daemon(kad)?.log();
    assert!(log.contains(SWITCHED), "kad logs the switch:\n{log}");
    assert_eq!(
        log.contains("XDP program attached"),
        receive == Receive::Xdp,
        "receive path:\n{log}"
    );
    // keepalived leaves (priority 0, old form): kad takes over and sends the old form.
    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    lab.wait_for("kad takes over", Duration::from_secs(3), || {
        lab.holds("r1", VIP)
    })?;
    assert_eq!(
        sent_form(&lab, "r1")?,
        Some(true),
        "kad sends the old checksum after detecting it"
    );
    Ok(())
}

/// (b) kad (priority 200, `old_unicast_checksum`) is Master and sends the old form;
/// keepalived (100, no keyword) detects it ("Setting unicast VRRPv3 checksum to old
/// version") and stays Backup.
fn keepalived_detects_kad_old_checksum(receive: Receive) -> Result<()> {
    let mut lab = lab(receive)?;
    lab.start_kad("r1", &config(1, 200, Some("")))?;
    lab.wait_for("kad becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    assert_eq!(sent_form(&lab, "r1")?, Some(true), "kad sends the old form");
    let keepalived = lab.start_keepalived("r2", &config(2, 100, None))?;
    std::thread::sleep(Duration::from_millis(2000));
    assert!(
        !lab.holds("r2", VIP)?,
        "keepalived stays backup\n{}",
        lab.logs()
    );
    assert!(lab.holds("r1", VIP)?, "kad stays master\n{}", lab.logs());
    let log = lab.daemon(keepalived)?.log();
    assert!(
        log.contains(SWITCHED),
        "keepalived detects kad's old checksum:\n{log}"
    );
    Ok(())
}

/// (c) `old_unicast_checksum never` on keepalived, the receiver: kad's old-form adverts are
/// rejected, so both become Master.
fn keepalived_never_rejects_kad_old_checksum(receive: Receive) -> Result<()> {
    let mut lab = lab(receive)?;
    lab.start_kad("r1", &config(1, 200, Some("")))?;
    lab.wait_for("kad becomes master", Duration::from_secs(10), || {
        lab.holds("r1", VIP)
    })?;
    let keepalived = lab.start_keepalived("r2", &config(2, 100, Some("never")))?;
    lab.wait_for(
        "keepalived (never) rejects the old form and becomes master",
        Duration::from_secs(5),
        || lab.holds("r2", VIP),
    )?;
    assert!(lab.holds("r1", VIP)?, "kad stays master");
    let log = lab.daemon(keepalived)?.log();
    assert!(!log.contains(SWITCHED), "never: no detection:\n{log}");
    Ok(())
}

/// (c) `old_unicast_checksum never` on kad, the receiver: keepalived's old-form adverts are
/// rejected (no detection), so both become Master.
fn kad_never_rejects_keepalived_old_checksum(receive: Receive) -> Result<()> {
    let mut lab = lab(receive)?;
    lab.start_keepalived("r2", &config(2, 200, Some("")))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", VIP)
    })?;
    let kad = lab.start_kad("r1", &config(1, 100, Some("never")))?;
    lab.wait_for(
        "kad (never) rejects the old form and becomes master",
        Duration::from_secs(5),
        || lab.holds("r1", VIP),
    )?;
    assert!(lab.holds("r2", VIP)?, "keepalived stays master");
    let log = lab.daemon(kad)?.log();
    assert!(!log.contains(SWITCHED), "never: no detection:\n{log}");
    Ok(())
}

macro_rules! both_paths {
    ($($name:ident: $run:ident;)*) => {
        /// kad receiving through XDP.
        mod xdp {
            use super::*;
            $(
                #[test]
                fn $name() -> Result<()> {
                    kad_tests::skip_unless!(Root);
                    $run(Receive::Xdp)
                }
            )*
        }
        /// `kad --no-xdp` (raw sockets).
        mod raw {
            use super::*;
            $(
                #[test]
                fn $name() -> Result<()> {
                    kad_tests::skip_unless!(Root);
                    $run(Receive::Raw)
                }
            )*
        }
    };
}

both_paths! {
    kad_without_keyword_detects_keepalived_old_checksum_and_sends_it: kad_detects_keepalived_old_checksum;
    keepalived_without_keyword_detects_kad_old_checksum: keepalived_detects_kad_old_checksum;
    keepalived_never_rejects_kad_old_checksum_both_master: keepalived_never_rejects_kad_old_checksum;
    kad_never_rejects_keepalived_old_checksum_both_master: kad_never_rejects_keepalived_old_checksum;
}
