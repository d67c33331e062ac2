//! keepalived.conf text with many VRRP instances, read unchanged by kad and by keepalived.

use std::{fmt::Write as _, net::Ipv4Addr};

/// The virtual address of instance `vrid`: `10.78.<vrid>.1`. Outside the segment's own /24
/// so that 255 of them fit; only ever configured inside the lab's namespaces.
pub fn vip(vrid: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 78, vrid, 1)
}

/// `count` VRRPv3 instances `VI_1`..`VI_<count>` (VRIDs 1..=count) on `eth0`, each starting in
/// `state BACKUP` with `priority` and `advert_int` (keepalived's syntax: `"0.01"`, `"1"`), and
/// one virtual address [`vip`]`(vrid)/32`.
pub fn many_instances(count: u8, priority: u8, advert_int: &str) -> String {
    let mut text = String::new();
    for vrid in 1..=count {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "vrrp_instance VI_{vrid} {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n\
             \x20 priority {priority}\n  advert_int {advert_int}\n  version 3\n\
             \x20 virtual_ipaddress {{\n    {}/32 dev eth0\n  }}\n}}\n",
            vip(vrid)
        );
    }
    text
}

/// How many of the first `count` instances' virtual addresses are among `addresses`.
pub fn vips_among(count: u8, addresses: &[String]) -> usize {
    (1..=count)
        .filter(|vrid| {
            let vip = vip(*vrid).to_string();
            addresses.contains(&vip)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_per_instance_with_its_own_vrid_and_vip() {
        let text = many_instances(255, 200, "0.01");
        assert_eq!(text.matches("vrrp_instance ").count(), 255);
        assert!(text.contains("virtual_router_id 255\n"));
        assert!(text.contains("10.78.255.1/32 dev eth0"));
        assert_eq!(text.matches("advert_int 0.01\n").count(), 255);
        let held = vec!["10.78.1.1".to_owned(), "10.77.0.1".to_owned()];
        assert_eq!(vips_among(255, &held), 1);
    }
}
