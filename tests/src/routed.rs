//! A routed path in a lab: one host moved off the segment onto a link of its own behind
//! another lab host that forwards, so that packets between it and the segment cross one
//! router (their TTL / hop limit drops by one). For RFC 5883 multihop BFD.
//!
//! ```text
//!  r1 (10.77.0.1) ── br0 ── gw (10.77.0.G) ── pHOST ═══ eth0 HOST (10.78.0.N, fd78::N)
//! ```

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::lab::{Host, Lab};

/// The far link's IPv4 prefix (`/24`); the router is `.254` on it.
pub const FAR_V4: &str = "10.78.0";
/// The far link's IPv6 prefix (`/64`); the router is `::fe` on it.
pub const FAR_V6: &str = "fd78::";

/// The addresses of a host moved behind a router.
#[derive(Clone, Debug)]
pub struct Behind {
    /// Its IPv4 address on the far link, `10.78.0.N`.
    pub ipv4: String,
    /// Its IPv6 address on the far link, `fd78::N`.
    pub ipv6: String,
}

impl Lab {
    /// Moves `host` (a lab host, last octet `octet`) behind `router` (another lab host):
    /// `host`'s `eth0` leaves the bridge, its other end becomes `router`'s interface to it;
    /// `host` gets `10.78.0.<octet>/24` and `fd78::<octet>/64` there (its segment addresses
    /// go) and default routes through `router` (`10.78.0.254`, `fd78::fe`); `router`
    /// forwards both families; every other host of the lab routes `10.78.0.0/24` and
    /// `fd78::/64` through `router`'s segment addresses.
    pub fn put_behind(&self, host: &str, octet: u8, router: &str) -> Result<Behind> {
        let port = Lab::port(host);
        let router_host = self.host(router)?;
        let far = self.host(host)?;
        self.switch().ip(&["link", "set", &port, "nomaster"])?;
        self.switch()
            .ip(&["link", "set", &port, "netns", router_host.ns.name()])?;
        for key in [
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.all.accept_dad=0",
        ] {
            sysctl(router_host, key)?;
        }
        let rns = &router_host.ns;
        rns.ip(&["addr", "add", &format!("{FAR_V4}.254/24"), "dev", &port])?;
        rns.ip(&[
            "addr",
            "add",
            &format!("{FAR_V6}fe/64"),
            "dev",
            &port,
            "nodad",
        ])?;
        rns.ip(&["link", "set", &port, "up"])?;

        let ipv4 = format!("{FAR_V4}.{octet}");
        let ipv6 = format!("{FAR_V6}{octet:x}");
        let fns = &far.ns;
        fns.ip(&["addr", "flush", "dev", Host::IFACE, "scope", "global"])?;
        fns.ip(&["addr", "add", &format!("{ipv4}/24"), "dev", Host::IFACE])?;
        fns.ip(&[
            "addr",
            "add",
            &format!("{ipv6}/64"),
            "dev",
            Host::IFACE,
            "nodad",
        ])?;
        fns.ip(&["route", "add", "default", "via", &format!("{FAR_V4}.254")])?;
        fns.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            &format!("{FAR_V6}fe"),
        ])?;

        let (router_v4, router_octet) =
            (router_host.ipv4.to_string(), router_host.ipv4.octets()[3]);
        let router_v6 = format!("fd77::{router_octet:x}");
        for name in self.host_names() {
            if name == host || name == router {
                continue;
            }
            let other = &self.host(&name)?.ns;
            other.ip(&["route", "add", &format!("{FAR_V4}.0/24"), "via", &router_v4])?;
            other.ip(&[
                "-6",
                "route",
                "add",
                &format!("{FAR_V6}/64"),
                "via",
                &router_v6,
            ])?;
        }
        Ok(Behind { ipv4, ipv6 })
    }
}

fn sysctl(host: &Host, key: &str) -> Result<()> {
    let out = Command::new("ip")
        .args(["netns", "exec", host.ns.name(), "sysctl", "-qw", key])
        .output()
        .context("sysctl")?;
    if !out.status.success() {
        bail!(
            "sysctl {key} in {}: {}",
            host.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
