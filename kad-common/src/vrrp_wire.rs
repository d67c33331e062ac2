//! VRRP wire constants used on both sides of the kernel boundary.

/// RFC 3768 §5.2.4 / RFC 5798 §5.1.1.4: IP protocol number assigned to VRRP.
pub const IPPROTO_VRRP: u8 = 112;

/// RFC 3768 §5.2.3 / RFC 5798 §5.1.1.3: IPv4 TTL and IPv6 hop limit of every advert.
pub const VRRP_TTL: u8 = 255;

/// RFC 3768 §5.3.1: VRRP version 2.
pub const VRRP_VERSION_2: u8 = 2;

/// RFC 5798 §5.2.1: VRRP version 3.
pub const VRRP_VERSION_3: u8 = 3;

/// RFC 5798 §5.2.2: the only defined packet type, ADVERTISEMENT.
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;

/// RFC 5798 §5.2: fixed part of the VRRP header (version/type .. checksum), in bytes.
pub const VRRP_HEADER_LEN: usize = 8;

/// RFC 3768 §5.3.10: length of the authentication data trailing a v2 advert.
pub const VRRP_V2_AUTH_DATA_LEN: usize = 8;

/// RFC 5798 §5.1.1.2: IPv4 multicast group of VRRP, 224.0.0.18 (network byte order octets).
pub const VRRP_MCAST_V4: [u8; 4] = [224, 0, 0, 18];

/// RFC 5798 §5.1.2.2: IPv6 multicast group of VRRP, ff02::12.
pub const VRRP_MCAST_V6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];

/// Ethernet type of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// Ethernet type of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Ethernet type of an IEEE 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// Ethernet type of an IEEE 802.1ad (QinQ) service tag.
pub const ETH_P_8021AD: u16 = 0x88a8;
