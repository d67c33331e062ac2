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

/// RFC 5798 §5.2.7: mask of the 12-bit Max Advertise Interval (centiseconds) in bytes 4..6.
pub const VRRP_V3_ADVERT_INT_MASK: u16 = 0x0fff;

/// RFC 3768 §5.3.6: Auth Type 0, no authentication.
pub const VRRP_AUTH_NONE: u8 = 0;
/// RFC 3768 §5.3.6: Auth Type 1, simple text password (8 bytes).
pub const VRRP_AUTH_PASS: u8 = 1;
/// RFC 3768 §5.3.6 (type 2, as in RFC 2338): IP Authentication Header (keepalived `auth_type AH`).
pub const VRRP_AUTH_AH: u8 = 2;

/// RFC 2402 §2: IP protocol number of the IPsec Authentication Header.
pub const IPPROTO_AH: u8 = 51;
/// RFC 2402 §2 with HMAC-MD5-96 (RFC 2403): AH length, 12 fixed bytes + 12 bytes of ICV.
pub const VRRP_AH_LEN: usize = 24;

/// RFC 791 §3.1: length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// RFC 8200 §3: length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// IEEE 802.3: destination MAC, source MAC and EtherType.
pub const ETH_HEADER_LEN: usize = 14;
/// IEEE 802.1Q: one VLAN tag (TCI and inner EtherType).
pub const VLAN_TAG_LEN: usize = 4;

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
