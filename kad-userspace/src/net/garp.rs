//! Gratuitous ARP (RFC 5798 §6.4.2, IPv4) and unsolicited Neighbor Advertisements (RFC 4861
//! §7.2.6, IPv6) that move clients to the new Master, built byte-for-byte as keepalived sends
//! them and sent through a packet socket on the VIP's interface.

use std::{
    io,
    mem::size_of,
    net::{Ipv4Addr, Ipv6Addr},
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use kad_common::vrrp_wire::{ETH_P_IP, ETH_P_IPV6};

use crate::vrrp::packet::internet_checksum;

/// Ethernet type of ARP.
const ETH_P_ARP: u16 = 0x0806;
/// IPv6 next header of ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;
/// RFC 4861 §4.4: Neighbor Advertisement.
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// RFC 4861 §4.4: the Override flag.
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// RFC 4861 §4.6.1: Target Link-Layer Address option.
const ND_OPT_TARGET_LLADDR: u8 = 2;

/// Length of a gratuitous ARP frame (no Ethernet padding; the driver pads).
pub const GARP_LEN: usize = 42;
/// Length of an unsolicited NA frame with a target link-layer address option.
pub const UNA_LEN: usize = 86;

/// RFC 5227 §3 / RFC 5798 §6.4.2: an ARP request from `mac` announcing `address`, broadcast,
/// with the target hardware address all ones as keepalived sends it.
pub fn gratuitous_arp(mac: [u8; 6], address: Ipv4Addr) -> [u8; GARP_LEN] {
    let mut frame = [0u8; GARP_LEN];
    frame[0..6].copy_from_slice(&[0xff; 6]);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    frame[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    frame[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes()); // protocol: IPv4
    frame[18] = 6;
    frame[19] = 4;
    frame[20..22].copy_from_slice(&1u16.to_be_bytes()); // op: request
    frame[22..28].copy_from_slice(&mac);
    frame[28..32].copy_from_slice(&address.octets());
    frame[32..38].copy_from_slice(&[0xff; 6]);
    frame[38..42].copy_from_slice(&address.octets());
    frame
}

/// RFC 4861 §7.2.6 / RFC 5798 §6.4.2: an unsolicited Neighbor Advertisement for `address`
/// from `mac`, sent from `address` to all-nodes (ff02::1) with the Override flag and a Target
/// Link-Layer Address option, hop limit 255.
pub fn unsolicited_na(mac: [u8; 6], address: Ipv6Addr) -> [u8; UNA_LEN] {
    const ICMP_LEN: usize = 32;
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut frame = [0u8; UNA_LEN];
    frame[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
    frame[14] = 0x60;
    frame[18..20].copy_from_slice(&(ICMP_LEN as u16).to_be_bytes());
    frame[20] = IPPROTO_ICMPV6;
    frame[21] = 255;
    frame[22..38].copy_from_slice(&address.octets());
    frame[38..54].copy_from_slice(&all_nodes.octets());
    let icmp = &mut frame[54..];
    icmp[0] = ICMPV6_NEIGHBOR_ADVERT;
    icmp[4] = NA_FLAG_OVERRIDE;
    icmp[8..24].copy_from_slice(&address.octets());
    icmp[24] = ND_OPT_TARGET_LLADDR;
    icmp[25] = 1; // length in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    // RFC 8200 §8.1: checksum over the pseudo-header and the ICMPv6 message.
    let mut summed = [0u8; 40 + ICMP_LEN];
    summed[0..16].copy_from_slice(&address.octets());
    summed[16..32].copy_from_slice(&all_nodes.octets());
    summed[32..36].copy_from_slice(&(ICMP_LEN as u32).to_be_bytes());
    summed[39] = IPPROTO_ICMPV6;
    summed[40..].copy_from_slice(icmp);
    let checksum = internet_checksum(&summed);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    frame
}

/// A packet socket bound to one interface, for sending prebuilt Ethernet frames.
pub struct FrameSender {
    fd: OwnedFd,
    ifindex: u32,
}

impl FrameSender {
    /// Opens an `AF_PACKET` socket that sends out of interface `ifindex` (needs
    /// CAP_NET_RAW).
    pub fn open(ifindex: u32) -> io::Result<Self> {
        // SAFETY: plain socket(2); ownership of the fd moves into OwnedFd at once.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh, valid fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd, ifindex })
    }

    /// Sends one frame (from the destination MAC on).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain old data; zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = i32::try_from(self.ifindex).map_err(io::Error::other)?;
        addr.sll_halen = 6;
        if let Some(dst) = frame.get(..6) {
            addr.sll_addr[..6].copy_from_slice(dst);
        }
        // SAFETY: frame and addr are live for the call; lengths are theirs.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        match usize::try_from(sent) {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(n) => Err(io::Error::other(format!(
                "sent {n} of {} bytes",
                frame.len()
            ))),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }
}
