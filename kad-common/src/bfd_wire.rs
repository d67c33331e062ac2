//! BFD control packet layout (RFC 5880 §4.1) and the UDP encapsulation of RFC 5881 (single
//! hop) and RFC 5883 (multihop), as the XDP program reads them. Offsets are from the start
//! of the 24-byte mandatory section (the UDP payload).

/// RFC 5881 §4: destination UDP port of single-hop control packets.
pub const PORT_SINGLE_HOP: u16 = 3784;
/// RFC 5883 §5: destination UDP port of multihop control packets.
pub const PORT_MULTI_HOP: u16 = 4784;
/// RFC 5881 §4: the source port MUST be in 49152..=65535.
pub const SOURCE_PORT_MIN: u16 = 49152;
/// RFC 5881 §5: single-hop packets are sent with TTL / hop limit 255 and, without
/// authentication, received ones with any other value are discarded (GTSM, RFC 5082).
pub const BFD_TTL: u8 = 255;
/// IANA: IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// RFC 768: length of the UDP header.
pub const UDP_HEADER_LEN: usize = 8;

/// RFC 5880 §4.1: length of the mandatory section (no authentication section).
pub const CONTROL_LEN: usize = 24;
/// RFC 5880 §4.1: the only protocol version.
pub const BFD_VERSION: u8 = 1;

/// Byte 0: Vers (3 bits) and Diag (5 bits).
pub const OFF_VERS_DIAG: usize = 0;
/// Byte 1: Sta (2 bits) and the P F C A D M bits.
pub const OFF_STATE_FLAGS: usize = 1;
/// Byte 2: Detect Mult.
pub const OFF_DETECT_MULT: usize = 2;
/// Byte 3: Length of the whole control packet in bytes.
pub const OFF_LENGTH: usize = 3;
/// Bytes 4..8: My Discriminator (the sender's).
pub const OFF_MY_DISCRIMINATOR: usize = 4;
/// Bytes 8..12: Your Discriminator (ours, or 0 while the sender does not know it).
pub const OFF_YOUR_DISCRIMINATOR: usize = 8;
/// Bytes 12..16: Desired Min TX Interval (µs).
pub const OFF_DESIRED_MIN_TX: usize = 12;
/// Bytes 16..20: Required Min RX Interval (µs).
pub const OFF_REQUIRED_MIN_RX: usize = 16;
/// Bytes 20..24: Required Min Echo RX Interval (µs).
pub const OFF_REQUIRED_MIN_ECHO_RX: usize = 20;

/// Shift of Vers in byte 0.
pub const VERSION_SHIFT: u8 = 5;
/// Mask of Diag in byte 0.
pub const DIAG_MASK: u8 = 0x1f;
/// Shift of Sta in byte 1.
pub const STATE_SHIFT: u8 = 6;
/// Byte 1: Poll.
pub const FLAG_POLL: u8 = 0x20;
/// Byte 1: Final.
pub const FLAG_FINAL: u8 = 0x10;
/// Byte 1: Control Plane Independent.
pub const FLAG_CPI: u8 = 0x08;
/// Byte 1: Authentication Present.
pub const FLAG_AUTH: u8 = 0x04;
/// Byte 1: Demand.
pub const FLAG_DEMAND: u8 = 0x02;
/// Byte 1: Multipoint (RFC 5880 §6.8.6: must be zero).
pub const FLAG_MULTIPOINT: u8 = 0x01;

/// RFC 5880 §4.1 Sta: AdminDown.
pub const STATE_ADMIN_DOWN: u8 = 0;
/// RFC 5880 §4.1 Sta: Down.
pub const STATE_DOWN: u8 = 1;
/// RFC 5880 §4.1 Sta: Init.
pub const STATE_INIT: u8 = 2;
/// RFC 5880 §4.1 Sta: Up.
pub const STATE_UP: u8 = 3;
