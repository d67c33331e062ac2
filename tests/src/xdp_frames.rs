//! Ethernet frames for exercising kad's XDP program under `BPF_PROG_TEST_RUN`: adverts built
//! with kad's own encoder (so their checksums are right unless a test breaks them), other IP
//! traffic, VLAN tags, and what a test needs to configure and read the program's maps.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context as _, Result, bail};
use kad::vrrp::packet::{
    AdvertSpec, AuthConfig, ChecksumMode, Ipv4Options, Version, encode_ipv4_vec, encode_vrrp_vec,
    internet_checksum,
};
use kad_common::xdp_maps::{FAMILY_V4, FAMILY_V6, ROLE_BACKUP, VrrpConfig, VrrpKey};

/// Interface index of `lo`, which exists in every network namespace: test runs are made as if
/// frames arrived on it.
pub const LO: u32 = 1;

/// RFC 5798 §5.1.1.2 / §5.1.2.2 multicast destinations.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// ff02::12.
pub fn mcast_v6() -> IpAddr {
    IpAddr::V6(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12))
}

const ETH_P_IP: [u8; 2] = [0x08, 0x00];
const ETH_P_IPV6: [u8; 2] = [0x86, 0xdd];
/// Offset of the IP header in an untagged frame.
pub const L3: usize = 14;

/// One advert to build.
#[derive(Clone, Debug)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub addresses: Vec<IpAddr>,
    pub auth: AuthConfig,
    pub checksum: ChecksumMode,
}

impl Advert {
    /// VRRPv3 over IPv4 to 224.0.0.18, advert_int 1 s, one virtual address.
    pub fn v3(src: &str, vrid: u8, priority: u8) -> Self {
        Self {
            version: Version::V3,
            vrid,
            priority,
            interval_cs: 100,
            src: parse(src),
            dst: IpAddr::V4(MCAST_V4),
            addresses: vec![parse("10.77.0.100")],
            auth: AuthConfig::None,
            checksum: ChecksumMode::PseudoHeader,
        }
    }

    /// VRRPv3 over IPv6 to ff02::12, advert_int 1 s, two virtual addresses.
    pub fn v3_ipv6(src: &str, vrid: u8, priority: u8) -> Self {
        Self {
            src: parse(src),
            dst: mcast_v6(),
            addresses: vec![parse("fe80::77:100"), parse("fd77::100")],
            ..Self::v3("0.0.0.0", vrid, priority)
        }
    }

    /// VRRPv2 over IPv4 with `auth`, advert_int 1 s.
    pub fn v2(src: &str, vrid: u8, priority: u8, auth: AuthConfig) -> Self {
        Self {
            version: Version::V2,
            auth,
            ..Self::v3(src, vrid, priority)
        }
    }

    /// The same advert with another priority.
    pub fn priority(&self, priority: u8) -> Self {
        Self {
            priority,
            ..self.clone()
        }
    }

    fn spec(&self) -> AdvertSpec<'_> {
        AdvertSpec {
            version: self.version,
            vrid: self.vrid,
            priority: self.priority,
            interval_cs: self.interval_cs,
            addresses: &self.addresses,
            auth: self.auth,
            ah_seq: 1,
            src: self.src,
            dst: self.dst,
            checksum: self.checksum,
        }
    }

    /// The whole Ethernet frame (IPv4 as keepalived sends it; IPv6 hop limit 255).
    pub fn frame(&self) -> Result<Vec<u8>> {
        match (self.src, self.dst) {
            (IpAddr::V4(_), IpAddr::V4(_)) => {
                let packet = encode_ipv4_vec(&self.spec(), &Ipv4Options::keepalived(1))
                    .context("encoding the IPv4 advert")?;
                Ok(ethernet(ETH_P_IP, &packet))
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let vrrp = encode_vrrp_vec(&self.spec()).context("encoding the IPv6 advert")?;
                Ok(ethernet(
                    ETH_P_IPV6,
                    &ipv6_packet(src.octets(), dst.octets(), 112, 255, &vrrp)?,
                ))
            }
            _ => bail!("mixed address families"),
        }
    }

    /// The key of this advert's instance when received on `ifindex`.
    pub fn key(&self, ifindex: u32) -> VrrpKey {
        VrrpKey {
            ifindex,
            vrid: self.vrid,
            family: if self.src.is_ipv4() {
                FAMILY_V4
            } else {
                FAMILY_V6
            },
            pad: [0; 2],
        }
    }
}

/// A backup instance's configuration expecting adverts like `advert`: its version and auth,
/// own priority 100, own address `own`.
pub fn backup_config(advert: &Advert, own: &str) -> VrrpConfig {
    let (auth_type, auth_pass) = match advert.auth {
        AuthConfig::None => (0, [0; 8]),
        AuthConfig::Pass(pass) => (1, pass),
        AuthConfig::Ah(pass) => (2, pass),
    };
    VrrpConfig {
        version: advert.version.to_wire(),
        auth_type,
        role: ROLE_BACKUP,
        flags: 0,
        own_priority: 100,
        pad: [0; 3],
        auth_pass,
        own_addr: kad::xdp::address_bytes(parse(own)).1,
        checksum_group: [0; 4],
    }
}

fn parse(address: &str) -> IpAddr {
    address
        .parse()
        .unwrap_or_else(|_| panic!("test address {address} does not parse"))
}

/// An Ethernet frame to the VRRP multicast MAC from a locally administered one.
pub fn ethernet(ethertype: [u8; 2], payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x02, 0, 0, 0, 0, 0x66];
    frame.extend_from_slice(&ethertype);
    frame.extend_from_slice(payload);
    frame
}

/// A fixed IPv6 header (RFC 8200 §3) followed by `payload`.
pub fn ipv6_packet(
    src: [u8; 16],
    dst: [u8; 16],
    next_header: u8,
    hop_limit: u8,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let len = u16::try_from(payload.len()).context("IPv6 payload too long")?;
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&len.to_be_bytes());
    packet.extend_from_slice(&[next_header, hop_limit]);
    packet.extend_from_slice(&src);
    packet.extend_from_slice(&dst);
    packet.extend_from_slice(payload);
    Ok(packet)
}

/// An IPv4 packet (RFC 791, 20-byte header, checksum right) with `protocol` and `payload`.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Result<Vec<u8>> {
    let total = u16::try_from(20 + payload.len()).context("IPv4 packet too long")?;
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 1, 0x40, 0, 64, protocol, 0, 0]);
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    let sum = internet_checksum(&packet);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(payload);
    Ok(packet)
}

/// A UDP datagram (protocol 17, 8-byte header, checksum 0) to `dst` as an Ethernet frame.
pub fn udp_frame(src: Ipv4Addr, dst: Ipv4Addr) -> Result<Vec<u8>> {
    let udp = [
        0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0, 0, b'k', b'a', b'd', b'!',
    ];
    Ok(ethernet(ETH_P_IP, &ipv4_packet(src, dst, 17, &udp)?))
}

/// An ICMPv6 message of `icmp_type` (checksum not filled: XDP does not read it) to `dst`.
pub fn icmpv6_frame(src: [u8; 16], dst: [u8; 16], icmp_type: u8) -> Result<Vec<u8>> {
    let icmp = [icmp_type, 0, 0, 0, 0, 0, 0, 0];
    Ok(ethernet(
        ETH_P_IPV6,
        &ipv6_packet(src, dst, 58, 255, &icmp)?,
    ))
}

/// `frame` with one IEEE 802.1Q tag (VLAN `vid`) after the MAC addresses.
pub fn vlan_tagged(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut tagged = frame.to_vec();
    let tci = vid.to_be_bytes();
    tagged.splice(12..12, [0x81, 0x00, tci[0], tci[1]]);
    tagged
}

/// Rewrites the IPv4 header checksum of an untagged frame after a test changed the header.
pub fn fix_ipv4_checksum(frame: &mut [u8]) {
    let header_len = usize::from(frame[L3] & 0x0f) * 4;
    frame[L3 + 10] = 0;
    frame[L3 + 11] = 0;
    let sum = internet_checksum(&frame[L3..L3 + header_len]);
    frame[L3 + 10..L3 + 12].copy_from_slice(&sum.to_be_bytes());
}

/// One BFD control packet (RFC 5880 §4.1) in UDP (RFC 5881 / RFC 5883) to build as a frame;
/// every field a test may break is public.
#[derive(Clone, Debug)]
pub struct BfdFrame {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit (255 for single hop).
    pub ttl: u8,
    pub src_port: u16,
    /// 3784 single hop, 4784 multihop.
    pub dst_port: u16,
    /// UDP length field override (`None`: the right one).
    pub udp_len: Option<u16>,
    /// The 24-byte mandatory section.
    pub control: [u8; 24],
}

/// RFC 5880 §4.1: a control packet's mandatory section (version 1, length 24, echo 0).
pub fn bfd_control(
    state: u8,
    flags: u8,
    detect_mult: u8,
    my: u32,
    your: u32,
    tx_us: u32,
    rx_us: u32,
) -> [u8; 24] {
    let mut control = [0u8; 24];
    control[0] = 1 << 5;
    control[1] = (state << 6) | flags;
    control[2] = detect_mult;
    control[3] = 24;
    control[4..8].copy_from_slice(&my.to_be_bytes());
    control[8..12].copy_from_slice(&your.to_be_bytes());
    control[12..16].copy_from_slice(&tx_us.to_be_bytes());
    control[16..20].copy_from_slice(&rx_us.to_be_bytes());
    control
}

impl BfdFrame {
    /// A single-hop packet from `src` to `dst` (same family), TTL 255, source port 49152,
    /// in state Up with the discriminators given, 10 ms intervals, detect mult 3.
    pub fn up(src: &str, dst: &str, my: u32, your: u32) -> Self {
        Self {
            src: parse(src),
            dst: parse(dst),
            ttl: 255,
            src_port: 49152,
            dst_port: 3784,
            udp_len: None,
            control: bfd_control(3, 0, 3, my, your, 10_000, 10_000),
        }
    }

    /// The Ethernet frame (UDP checksum 0 for IPv4; XDP does not read it).
    pub fn frame(&self) -> Result<Vec<u8>> {
        let len = u16::try_from(8 + self.control.len()).context("BFD too long")?;
        let mut udp = Vec::with_capacity(usize::from(len));
        udp.extend_from_slice(&self.src_port.to_be_bytes());
        udp.extend_from_slice(&self.dst_port.to_be_bytes());
        udp.extend_from_slice(&self.udp_len.unwrap_or(len).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&self.control);
        match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut frame = ethernet(ETH_P_IP, &ipv4_packet(src, dst, 17, &udp)?);
                frame[L3 + 8] = self.ttl;
                fix_ipv4_checksum(&mut frame);
                Ok(frame)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => Ok(ethernet(
                ETH_P_IPV6,
                &ipv6_packet(src.octets(), dst.octets(), 17, self.ttl, &udp)?,
            )),
            _ => bail!("BFD frame with mixed families"),
        }
    }
}
