//! keepalived.conf text with many real servers, each with a TCP_CHECK, read unchanged by kad
//! and by keepalived; and the address of each real server, which the TCP sink
//! (`kad-tcp-sink`) maps back to the server's index.
//!
//! Real server `i` is `127.1.<i / 200>.<i % 200 + 1>` on [`PORT`]: every address of
//! 127.0.0.0/8 is local on `lo`, so one socket listening on `0.0.0.0:PORT` accepts the checks
//! of all of them, and its accepted sockets' local address tells which server was checked.

use std::{fmt::Write as _, net::Ipv4Addr};

/// The port every real server listens on.
pub const PORT: u16 = 8080;

/// Real servers per /24 of the address plan.
const PER_SUBNET: usize = 200;

/// The most real servers the address plan holds (`127.1.0.1` .. `127.1.255.200`).
pub const MAX_SERVERS: usize = 256 * PER_SUBNET;

/// The address of real server `index` (`index < MAX_SERVERS`).
pub fn real_server(index: usize) -> Ipv4Addr {
    let subnet = u8::try_from(index / PER_SUBNET).unwrap_or(u8::MAX);
    let host = u8::try_from(index % PER_SUBNET + 1).unwrap_or(u8::MAX);
    Ipv4Addr::new(127, 1, subnet, host)
}

/// The index of the real server at `addr`, if it is one of the plan's.
pub fn server_index(addr: Ipv4Addr) -> Option<usize> {
    let [a, b, subnet, host] = addr.octets();
    let host = usize::from(host);
    (a == 127 && b == 1 && (1..=PER_SUBNET).contains(&host))
        .then(|| usize::from(subnet) * PER_SUBNET + host - 1)
}

/// The virtual address of virtual server `index`: `10.20.<index / 250>.<index % 250 + 1>`,
/// port 80 (only ever configured inside a UML guest's IPVS table).
pub fn virtual_server(index: usize) -> Ipv4Addr {
    let subnet = u8::try_from(index / 250).unwrap_or(u8::MAX);
    let host = u8::try_from(index % 250 + 1).unwrap_or(u8::MAX);
    Ipv4Addr::new(10, 20, subnet, host)
}

/// `virtual_servers` TCP virtual servers (rr, NAT) of `per_virtual_server` real servers
/// each, real servers numbered across them, every real server with a `TCP_CHECK` (connect
/// timeout 3 s) at `delay_loop` seconds.
pub fn many_real_servers(
    virtual_servers: usize,
    per_virtual_server: usize,
    delay_loop: u32,
) -> String {
    let mut text = String::from("global_defs {\n  router_id kad_checkers_bench\n}\n");
    for vs in 0..virtual_servers {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "virtual_server {} 80 {{\n  delay_loop {delay_loop}\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n",
            virtual_server(vs)
        );
        for rs in 0..per_virtual_server {
            let _ = write!(
                text,
                "  real_server {} {PORT} {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n",
                real_server(vs * per_virtual_server + rs)
            );
        }
        text.push_str("}\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_back_to_their_index() {
        for index in [0, 1, 199, 200, 9_999, MAX_SERVERS - 1] {
            assert_eq!(server_index(real_server(index)), Some(index), "{index}");
        }
        assert_eq!(real_server(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(real_server(200), Ipv4Addr::new(127, 1, 1, 1));
        assert_eq!(server_index(Ipv4Addr::new(127, 0, 0, 1)), None);
        assert_eq!(server_index(Ipv4Addr::new(127, 1, 0, 201)), None);
    }

    #[test]
    fn every_real_server_once_with_a_tcp_check() {
        let text = many_real_servers(4, 25, 1);
        assert_eq!(text.matches("virtual_server ").count(), 4);
        assert_eq!(text.matches("real_server ").count(), 100);
        assert_eq!(text.matches("TCP_CHECK").count(), 100);
        assert!(text.contains("real_server 127.1.0.100 8080"));
        assert!(!text.contains("real_server 127.1.0.101 8080"));
        assert_eq!(text.matches("delay_loop 1\n").count(), 4);
    }
}
