//! `kad -f keepalived.conf` against keepalived 2.2.7 on a real bridged segment, both ways,
//! VRRPv2 (with and without PASS authentication) and VRRPv3 over IPv4 and IPv6: election,
//! preemption, nopreempt, priority-0 handover, the client reaching the VIP after every
//! handover, and keepalived finding nothing wrong with kad's adverts.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    lab::{Lab, ROUTERS_AND_CLIENT},
    privilege::{Need, require},
};

/// One protocol flavour of the matrix.
#[derive(Clone, Copy)]
struct Flavour {
    version: u8,
    pass: bool,
    ipv6: bool,
}

impl Flavour {
    /// The VIP the client probes.
    fn vip(self) -> &'static str {
        if self.ipv6 {
            "fd77::100"
        } else {
            "10.77.0.100"
        }
    }

    fn advert_int(self) -> &'static str {
        // VRRPv2 carries whole seconds.
        if self.version == 2 { "1" } else { "0.1" }
    }

    /// Long enough for a backup to give up on a silent master, with margin.
    fn takeover_limit(self) -> Duration {
        if self.version == 2 {
            Duration::from_secs(6)
        } else {
            Duration::from_secs(2)
        }
    }

    /// keepalived.conf text, read as-is by both keepalived and kad.
    fn config(self, router: &str, priority: u8, nopreempt: bool) -> String {
        let mut text = format!(
            "global_defs {{\n  router_id {router}\n}}\n\
             vrrp_instance LAB {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n\
             \x20 priority {priority}\n  advert_int {}\n  version {}\n",
            self.advert_int(),
            self.version
        );
        if nopreempt {
            text.push_str("  nopreempt\n");
        }
        if self.pass {
            text.push_str("  authentication {\n    auth_type PASS\n    auth_pass nltest51\n  }\n");
        }
        text.push_str("  virtual_ipaddress {\n");
        if self.ipv6 {
            // keepalived wants a link-local address first (RFC 5798 §5.2.9).
            text.push_str("    fe80::77:100/64 dev eth0\n    fd77::100/64 dev eth0\n");
        } else {
            text.push_str("    10.77.0.100/24 dev eth0\n");
        }
        text.push_str("  }\n}\n");
        text
    }
}

/// How kad receives adverts: the whole suite runs in both modes (issue 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Receive {
    /// kad's XDP program (the default).
    Xdp,
    /// `kad --no-xdp`: raw sockets.
    Raw,
}

fn lab(receive: Receive) -> Result<Lab> {
    let mut lab = Lab::with_hosts("io", ROUTERS_AND_CLIENT)?;
    if receive == Receive::Raw {
        lab.kad_args.push("--no-xdp".into());
    }
    Ok(lab)
}

/// In XDP mode, kad must really have received through XDP: its log says the program is
/// attached, and that events (not socket reads) carried the adverts it acted on.
fn assert_receive_path(lab: &mut Lab, kad: usize, receive: Receive) -> Result<()> {
    let log = lab.daemon(kad)?.log();
    match receive {
        Receive::Xdp => assert!(
            log.contains("XDP program attached"),
            "kad did not attach its XDP program:\n{log}"
        ),
        Receive::Raw => assert!(
            !log.contains("XDP program attached"),
            "--no-xdp attached XDP anyway:\n{log}"
        ),
    }
    Ok(())
}

/// Lines in keepalived's log that show it found fault with what it received.
fn keepalived_complaints(log: &str) -> Vec<String> {
    let needles = [
        "invalid",
        "bad ",
        "wrong",
        "mismatch",
        "error",
        "ignoring",
        "discard",
        "check failed",
    ];
    log.lines()
        .filter(|line| {
            // Addresses and times (anything with a colon) are left out: a random MAC makes
            // link-locals like fe80::…:2bad that would read as a complaint.
            let words = line
                .split_whitespace()
                .filter(|word| !word.contains(':'))
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_lowercase();
            needles.iter().any(|needle| words.contains(needle))
        })
        .map(str::to_owned)
        .collect()
}

/// keepalived (priority 100) is master; kad (priority 200) joins and preempts; keepalived
/// accepts kad's adverts without a complaint; kad stops (priority 0) and keepalived takes
/// the VIP back. The client reaches the VIP throughout.
fn kad_preempts_keepalived_then_hands_back(
    test: &str,
    flavour: Flavour,
    receive: Receive,
) -> Result<()> {
    if !require(test, Need::Root) {
        return Ok(());
    }
    let vip = flavour.vip();
    let mut lab = lab(receive)?;
    let keepalived = lab.start_keepalived("r2", &flavour.config("r2", 100, false))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", vip)
    })?;
    let kad = lab.start_kad("r1", &flavour.config("r1", 200, false))?;
    lab.wait_for(
        "kad (priority 200) preempts",
        flavour.takeover_limit(),
        || lab.holds("r1", vip),
    )?;
    lab.wait_for(
        "keepalived gives the VIP up",
        Duration::from_secs(2),
        || Ok(!lab.holds("r2", vip)?),
    )?;
    lab.wait_for(
        "the client reaches the VIP on kad",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    // Several advert intervals of kad as master: keepalived stays backup, content.
    std::thread::sleep(Duration::from_millis(if flavour.version == 2 {
        2500
    } else {
        600
    }));
    assert!(
        !lab.holds("r2", vip)?,
        "keepalived stays backup\n{}",
        lab.logs()
    );
    assert_receive_path(&mut lab, kad, receive)?;
    let complaints = keepalived_complaints(&lab.daemon(keepalived)?.log());
    assert!(
        complaints.is_empty(),
        "keepalived complained about kad's adverts: {complaints:#?}"
    );

    lab.daemon(kad)?.signal(libc::SIGTERM)?;
    let took = lab.wait_for(
        "keepalived takes over after kad's priority-0 advert",
        Duration::from_secs(3),
        || lab.holds("r2", vip),
    )?;
    assert!(
        lab.daemon(kad)?.wait_exit(Duration::from_secs(5))?,
        "kad exits on SIGTERM"
    );
    assert!(!lab.holds("r1", vip)?, "kad removed its VIP on the way out");
    lab.wait_for(
        "the client reaches the VIP on keepalived",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    eprintln!("{test}: keepalived took over {took:?} after kad's SIGTERM");
    Ok(())
}

/// kad (priority 100) is master; keepalived (priority 200) joins and preempts; kad backs
/// off; keepalived stops (priority 0) and kad takes over.
fn keepalived_preempts_kad_then_hands_back(
    test: &str,
    flavour: Flavour,
    receive: Receive,
) -> Result<()> {
    if !require(test, Need::Root) {
        return Ok(());
    }
    let vip = flavour.vip();
    let mut lab = lab(receive)?;
    let kad = lab.start_kad("r1", &flavour.config("r1", 100, false))?;
    lab.wait_for("kad becomes master", Duration::from_secs(10), || {
        lab.holds("r1", vip)
    })?;
    let keepalived = lab.start_keepalived("r2", &flavour.config("r2", 200, false))?;
    lab.wait_for(
        "keepalived (priority 200) preempts",
        flavour.takeover_limit(),
        || lab.holds("r2", vip),
    )?;
    lab.wait_for("kad gives the VIP up", Duration::from_secs(2), || {
        Ok(!lab.holds("r1", vip)?)
    })?;
    lab.wait_for(
        "the client reaches the VIP on keepalived",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    std::thread::sleep(Duration::from_millis(if flavour.version == 2 {
        2500
    } else {
        600
    }));
    assert!(
        !lab.holds("r1", vip)?,
        "kad stays backup under a higher priority\n{}",
        lab.logs()
    );
    assert_receive_path(&mut lab, kad, receive)?;

    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    let took = lab.wait_for(
        "kad takes over after keepalived's priority-0 advert",
        Duration::from_secs(3),
        || lab.holds("r1", vip),
    )?;
    lab.wait_for(
        "the client reaches the VIP on kad",
        Duration::from_secs(5),
        || Ok(lab.host("c")?.ping_once(vip)),
    )?;
    eprintln!("{test}: kad took over {took:?} after keepalived's SIGTERM");
    Ok(())
}

const V3: Flavour = Flavour {
    version: 3,
    pass: false,
    ipv6: false,
};
const V3_IPV6: Flavour = Flavour {
    version: 3,
    pass: false,
    ipv6: true,
};
const V2: Flavour = Flavour {
    version: 2,
    pass: false,
    ipv6: false,
};
const V2_PASS: Flavour = Flavour {
    version: 2,
    pass: true,
    ipv6: false,
};

macro_rules! matrix {
    ($($name:ident: $run:ident($flavour:expr);)*) => {
        /// Every case with kad receiving through XDP.
        mod xdp {
            use super::*;
            $(
                #[test]
                fn $name() -> Result<()> {
                    $run(kad_tests::test_name!(), $flavour, Receive::Xdp)
                }
            )*
        }
        /// Every case again with `kad --no-xdp` (raw sockets).
        mod raw {
            use super::*;
            $(
                #[test]
                fn $name() -> Result<()> {
                    $run(kad_tests::test_name!(), $flavour, Receive::Raw)
                }
            )*
        }
    };
}

matrix! {
    v3_ipv4_kad_preempts_keepalived_then_hands_back: kad_preempts_keepalived_then_hands_back(V3);
    v3_ipv4_keepalived_preempts_kad_then_hands_back: keepalived_preempts_kad_then_hands_back(V3);
    v3_ipv6_kad_preempts_keepalived_then_hands_back: kad_preempts_keepalived_then_hands_back(V3_IPV6);
    v3_ipv6_keepalived_preempts_kad_then_hands_back: keepalived_preempts_kad_then_hands_back(V3_IPV6);
    v2_ipv4_kad_preempts_keepalived_then_hands_back: kad_preempts_keepalived_then_hands_back(V2);
    v2_ipv4_keepalived_preempts_kad_then_hands_back: keepalived_preempts_kad_then_hands_back(V2);
    v2_pass_kad_preempts_keepalived_then_hands_back: kad_preempts_keepalived_then_hands_back(V2_PASS);
    v2_pass_keepalived_preempts_kad_then_hands_back: keepalived_preempts_kad_then_hands_back(V2_PASS);
}

/// `nopreempt`: kad with the higher priority joins a live keepalived master and leaves it
/// be; it takes over only when keepalived stops.
#[test]
fn v3_kad_nopreempt_leaves_a_lower_priority_keepalived_master() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let vip = V3.vip();
    let mut lab = lab(Receive::Xdp)?;
    let keepalived = lab.start_keepalived("r2", &V3.config("r2", 100, false))?;
    lab.wait_for("keepalived becomes master", Duration::from_secs(10), || {
        lab.holds("r2", vip)
    })?;
    lab.start_kad("r1", &V3.config("r1", 200, true))?;
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !lab.holds("r1", vip)?,
        "nopreempt: kad must not take over\n{}",
        lab.logs()
    );
    assert!(lab.holds("r2", vip)?, "keepalived keeps the VIP");
    lab.daemon(keepalived)?.signal(libc::SIGTERM)?;
    lab.wait_for(
        "kad takes over when keepalived stops",
        Duration::from_secs(3),
        || lab.holds("r1", vip),
    )?;
    Ok(())
}

/// The complaint filter finds keepalived's complaints, not words hidden in addresses.
#[test]
fn complaints_are_found_and_addresses_are_not_complaints() {
    let log = "Fri Dec  4 21:31:53 2026: Assigned address fe80::bc91:adff:fe8c:2bad for interface eth0\n\
               Fri Dec  4 21:31:54 2026: (VI_1) received an invalid ip address count 2, expected 1\n";
    let complaints = keepalived_complaints(log);
    assert_eq!(complaints.len(), 1, "{complaints:#?}");
    assert!(complaints.iter().all(|line| line.contains("invalid")));
}
