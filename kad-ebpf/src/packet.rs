//! The layers under VRRP: Ethernet (IEEE 802.3; a frame with an IEEE 802.1Q / 802.1ad tag
//! belongs to a VLAN sub-interface and is only recognised, never read further),
//! IPv4 (RFC 791, options allowed; or followed by an RFC 2402 AH, keepalived `auth_type AH`)
//! and IPv6 (RFC 8200, no extension headers: RFC 5798 §5.1.2 adverts carry none); and UDP to
//! the BFD control ports (RFC 5881 / RFC 5883, same IP rules) for `bfd.rs`.

use aya_ebpf::programs::XdpContext;
use kad_common::{
    bfd_wire::{IPPROTO_UDP, PORT_MULTI_HOP, PORT_SINGLE_HOP, UDP_HEADER_LEN},
    vrrp_wire::{
        ETH_HEADER_LEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_AH, IPPROTO_VRRP,
        IPV4_HEADER_LEN, IPV6_HEADER_LEN, VRRP_AH_LEN, VRRP_TTL,
    },
    xdp_counters::XdpReason,
    xdp_maps::{FAMILY_V4, FAMILY_V6},
};

/// IANA: IP protocol number of ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;
/// RFC 4861 §4.3 / §4.4: ICMPv6 Neighbor Solicitation and Advertisement.
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
/// RFC 791 §3.1: More Fragments flag and Fragment Offset of the flags/offset word.
const IPV4_MF: u16 = 0x2000;
const IPV4_OFFSET_MASK: u16 = 0x1fff;
/// RFC 2402 §2.2: Payload Length of a 24-byte AH (6 words minus 2).
const AH_PAYLOAD_LEN: u8 = (VRRP_AH_LEN / 4 - 2) as u8;

/// Returns the `N` bytes of the frame at `off`, bounds-checked for the verifier. Headers are
/// read as whole windows (`N >= 2`): a one-byte check compiles to `ptr >= end`, from which
/// the verifier learns no range for a variable-offset pointer.
#[inline(always)]
pub fn window<const N: usize>(ctx: &XdpContext, off: usize) -> Result<&[u8; N], XdpReason> {
    let start = ctx.data();
    if start + off + N > ctx.data_end() {
        return Err(XdpReason::Truncated);
    }
    // SAFETY: the N bytes at start + off lie inside the frame (checked just above); the
    // kernel keeps the frame alive and unaliased for the whole run of the program.
    Ok(unsafe { &*((start + off) as *const [u8; N]) })
}

/// The 16 bits at even offset `at` of a window, in memory (native) byte order, as one load.
///
/// Windows start at even offsets of the frame (Ethernet 14, IPv4 IHL × 4, AH 24,
/// IPv6 40, VRRP words of 4), and the kernel starts XDP frame data at an even address
/// (`XDP_PACKET_HEADROOM`, 256, plus `NET_IP_ALIGN`, 0 or 2; the verifier's strict-alignment
/// mode checks packet loads against that same model, and refuses pointer arithmetic that
/// could test it at run time), so the load is aligned. Byte-wise reads cost three
/// instructions per byte.
#[inline(always)]
pub fn ne16<const N: usize>(bytes: &[u8; N], at: usize) -> u16 {
    let pair = &bytes[at..at + 2];
    // SAFETY: `pair` is two readable bytes at an even address (see above).
    unsafe { core::ptr::read(pair.as_ptr().cast::<u16>()) }
}

/// The big-endian (network order) 16-bit field at even offset `at` of a window.
#[inline(always)]
pub fn be16<const N: usize>(bytes: &[u8; N], at: usize) -> u16 {
    u16::from_be(ne16(bytes, at))
}

/// The 32 bits at even offset `at` of a window, in memory byte order (two aligned loads).
#[inline(always)]
pub fn ne32<const N: usize>(bytes: &[u8; N], at: usize) -> u32 {
    let (hi, lo) = (
        ne16(bytes, at).to_ne_bytes(),
        ne16(bytes, at + 2).to_ne_bytes(),
    );
    u32::from_ne_bytes([hi[0], hi[1], lo[0], lo[1]])
}

/// The 64 bits at even offset `at` of a window, in memory byte order (four aligned loads).
#[inline(always)]
pub fn ne64<const N: usize>(bytes: &[u8; N], at: usize) -> u64 {
    Addr::join([
        ne16(bytes, at),
        ne16(bytes, at + 2),
        ne16(bytes, at + 4),
        ne16(bytes, at + 6),
    ])
}

/// Length of the frame in bytes.
#[inline(always)]
fn frame_len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}

/// An IPv4 or IPv6 address as the 16 bytes of kad-common's map fields (IPv4 in the first 4,
/// the rest zero), held as two `u64` in memory byte order (`a`: bytes 0..8, `b`: 8..16), so
/// that comparing, storing and checksumming take a few instructions and no `memcmp` (which
/// BPF lacks).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    a: u64,
    b: u64,
}

impl Addr {
    /// Joins four 16-bit words (memory order) into the `u64` of their 8 bytes.
    #[inline(always)]
    fn join(w: [u16; 4]) -> u64 {
        let (w0, w1, w2, w3) = (
            w[0].to_ne_bytes(),
            w[1].to_ne_bytes(),
            w[2].to_ne_bytes(),
            w[3].to_ne_bytes(),
        );
        u64::from_ne_bytes([w0[0], w0[1], w1[0], w1[1], w2[0], w2[1], w3[0], w3[1]])
    }

    /// The IPv4 address in the 4 bytes of `bytes` at even offset `at`.
    #[inline(always)]
    fn v4<const N: usize>(bytes: &[u8; N], at: usize) -> Self {
        Self {
            a: Self::join([ne16(bytes, at), ne16(bytes, at + 2), 0, 0]),
            b: 0,
        }
    }

    /// The IPv6 address in the 16 bytes of `bytes` at even offset `at`.
    #[inline(always)]
    fn v6<const N: usize>(bytes: &[u8; N], at: usize) -> Self {
        let w = |k: usize| ne16(bytes, at + 2 * k);
        Self {
            a: Self::join([w(0), w(1), w(2), w(3)]),
            b: Self::join([w(4), w(5), w(6), w(7)]),
        }
    }

    /// From a 16-byte address field of a map value.
    ///
    /// # Safety
    ///
    /// `field` must be 8-byte aligned: a field at an offset that is a multiple of 8 in a map
    /// value (the kernel aligns map values to 8 bytes).
    #[inline(always)]
    pub unsafe fn from_map_field(field: &[u8; 16]) -> Self {
        let words = field.as_ptr().cast::<u64>();
        // SAFETY: 16 readable bytes, 8-byte aligned (the caller's promise).
        unsafe {
            Self {
                a: core::ptr::read(words),
                b: core::ptr::read(words.add(1)),
            }
        }
    }

    /// To a map's 16-byte address field.
    #[inline(always)]
    pub fn to_bytes(self) -> [u8; 16] {
        let (a, b) = (self.a.to_ne_bytes(), self.b.to_ne_bytes());
        [
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1], b[2], b[3], b[4], b[5],
            b[6], b[7],
        ]
    }

    /// The first four bytes, for the IPv4 VIP map.
    #[inline(always)]
    pub fn v4_bytes(self) -> [u8; 4] {
        let a = self.a.to_ne_bytes();
        [a[0], a[1], a[2], a[3]]
    }

    /// RFC 1112 §4 (224.0.0.0/4) / RFC 4291 §2.7 (ff00::/8): a multicast address.
    #[inline(always)]
    pub fn is_multicast(self, family: u8) -> bool {
        let first = self.a.to_ne_bytes()[0];
        if family == FAMILY_V4 {
            first >> 4 == 0xe
        } else {
            first == 0xff
        }
    }

    /// RFC 5798 §6.4.3: "the primary IPvX Address of the sender ... greater than the local
    /// primary IPvX Address" — compared as unsigned big-endian integers.
    #[inline(always)]
    pub fn greater_than(self, other: Self) -> bool {
        let (a, b) = (u64::from_be(self.a), u64::from_be(self.b));
        let (other_a, other_b) = (u64::from_be(other.a), u64::from_be(other.b));
        a > other_a || (a == other_a && b > other_b)
    }

    /// RFC 1071: the address's 32-bit lanes summed, for a checksum kept in memory byte order
    /// (see `checksum.rs`).
    #[inline(always)]
    pub fn word_sum(self) -> u64 {
        (self.a >> 32) + (self.a & 0xffff_ffff) + (self.b >> 32) + (self.b & 0xffff_ffff)
    }
}

/// An IP packet that carries a VRRP message, directly (protocol 112) or behind an AH.
pub struct VrrpPacket {
    /// `FAMILY_V4` or `FAMILY_V6`.
    pub family: u8,
    pub src: Addr,
    pub dst: Addr,
    /// Offset and length of the IPv4 header, options included (length 0 for IPv6).
    pub ip_offset: usize,
    pub ip_header_len: usize,
    /// Offset of the VRRP message and its length as the IP header says.
    pub offset: usize,
    pub len: usize,
    /// The message follows an RFC 2402 AH (IPv4 protocol 51).
    pub ah: bool,
}

impl VrrpPacket {
    /// Bytes per address in the advert (RFC 5798 §5.2.9).
    #[inline(always)]
    pub fn addr_len(&self) -> usize {
        if self.family == FAMILY_V4 { 4 } else { 16 }
    }
}

/// An IP packet that is not VRRP, as far as the VIP filter needs it.
pub struct OtherIp {
    pub family: u8,
    pub dst: Addr,
    /// ICMPv6 Neighbor Solicitation or Advertisement (RFC 4861).
    pub neighbour_discovery: bool,
}

/// A UDP datagram to a BFD control port (RFC 5881 §4, RFC 5883 §5), with sane IP headers.
pub struct BfdPacket {
    /// `FAMILY_V4` or `FAMILY_V6`.
    pub family: u8,
    pub src: Addr,
    pub dst: Addr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Offset of the UDP header.
    pub udp_offset: usize,
    /// Length of the IP payload (UDP header and data) as the IP header says; inside the frame.
    pub ip_payload_len: usize,
}

/// What a frame carries.
pub enum Frame {
    /// Not IPv4/IPv6, or too short to tell.
    NotIp,
    /// IEEE 802.1Q / 802.1ad tagged: traffic of a VLAN sub-interface (`eth0.100`), whose
    /// instances are not this interface's (their VRIDs may repeat the parent's) and whose
    /// VIPs are not listed for it. Passed untouched.
    Tagged,
    /// IP, but not VRRP.
    OtherIp(OtherIp),
    /// VRRP, with sane IP headers and TTL / hop limit 255.
    Vrrp(VrrpPacket),
    /// VRRP with sane IP headers but another TTL / hop limit (RFC 5798 §7.1): dropped unless
    /// its instance is unicast (keepalived checks unicast TTLs only against a peer's
    /// `min_ttl`/`max_ttl`, which userspace applies). Kept off the fast path.
    VrrpLowTtl(VrrpPacket),
    /// UDP to port 3784 or 4784: a BFD control packet, judged by `bfd.rs`.
    Bfd(BfdPacket),
}

/// Reads the Ethernet header and dispatches on the EtherType. Errors are the drop reasons
/// of VRRP packets whose IP layer is broken (`Truncated`).
///
/// A tagged frame seen here arrived on the parent of a VLAN: the kernel hands it to the VLAN
/// device after this program, so keying it by the parent's ifindex would judge a VLAN's
/// advert against the parent's instances (an instance on `eth0.100` would never hear its
/// peer, and a VRID used on both would be recorded against the wrong one).
#[inline(always)]
pub fn parse(ctx: &XdpContext) -> Result<Frame, XdpReason> {
    let Ok(eth) = window::<ETH_HEADER_LEN>(ctx, 0) else {
        return Ok(Frame::NotIp);
    };
    let l3 = ETH_HEADER_LEN;
    let ethertype = be16(eth, 12);
    if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
        return Ok(Frame::Tagged);
    }
    match ethertype {
        ETH_P_IP => ipv4(ctx, l3),
        ETH_P_IPV6 => ipv6(ctx, l3),
        _ => Ok(Frame::NotIp),
    }
}

/// RFC 791 §3.1; the TTL (RFC 5798 §7.1) is noted for later. The IPv4 header checksum is
/// verified later, with the VRRP checksum, so that a broken TTL counts as `BadTtl` whatever
/// the checksum says.
#[inline(always)]
fn ipv4(ctx: &XdpContext, l3: usize) -> Result<Frame, XdpReason> {
    let Ok(ip) = window::<IPV4_HEADER_LEN>(ctx, l3) else {
        return Ok(Frame::NotIp);
    };
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let ah = match ip[9] {
        IPPROTO_VRRP => false,
        IPPROTO_UDP if ihl >= IPV4_HEADER_LEN && bfd_port(ctx, l3 + ihl) => {
            return ipv4_bfd(ctx, l3, ip, ihl);
        }
        IPPROTO_AH if ihl >= IPV4_HEADER_LEN && ah_protects_vrrp(ctx, l3 + ihl) => true,
        _ => {
            return Ok(Frame::OtherIp(OtherIp {
                family: FAMILY_V4,
                dst: Addr::v4(ip, 16),
                neighbour_discovery: false,
            }));
        }
    };
    let total = usize::from(be16(ip, 2));
    let frag = be16(ip, 6);
    // The whole IP datagram must be in the frame, unfragmented, and its header sane.
    if ip[0] >> 4 != 4
        || ihl < IPV4_HEADER_LEN
        || total < ihl
        || l3 + total > frame_len(ctx)
        || frag & (IPV4_MF | IPV4_OFFSET_MASK) != 0
    {
        return Err(XdpReason::Truncated);
    }
    let ttl_255 = ip[8] == VRRP_TTL;
    let (offset, len) = if ah {
        let Ok(ah_header) = window::<VRRP_AH_LEN>(ctx, l3 + ihl) else {
            return Err(XdpReason::Truncated);
        };
        if total < ihl + VRRP_AH_LEN {
            return Err(XdpReason::Truncated);
        }
        // keepalived's AH is HMAC-MD5-96: 24 bytes (see kad-userspace vrrp/packet/auth/ah.rs).
        if ah_header[1] != AH_PAYLOAD_LEN {
            return Err(XdpReason::BadLength);
        }
        (l3 + ihl + VRRP_AH_LEN, total - ihl - VRRP_AH_LEN)
    } else {
        (l3 + ihl, total - ihl)
    };
    let packet = VrrpPacket {
        family: FAMILY_V4,
        src: Addr::v4(ip, 12),
        dst: Addr::v4(ip, 16),
        ip_offset: l3,
        ip_header_len: ihl,
        offset,
        len,
        ah,
    };
    Ok(if ttl_255 {
        Frame::Vrrp(packet)
    } else {
        Frame::VrrpLowTtl(packet)
    })
}

/// Whether the UDP header at `off` is addressed to a BFD control port.
#[inline(always)]
fn bfd_port(ctx: &XdpContext, off: usize) -> bool {
    matches!(
        window::<UDP_HEADER_LEN>(ctx, off),
        Ok(udp) if matches!(be16(udp, 2), PORT_SINGLE_HOP | PORT_MULTI_HOP)
    )
}

/// An IPv4 datagram to a BFD port: the same header sanity as for VRRP (RFC 791 §3.1; a BFD
/// packet is never fragmented). The header checksum is not verified (the Ethernet FCS
/// covers the frame; a broken header at worst refreshes a session once).
#[inline(always)]
fn ipv4_bfd(
    ctx: &XdpContext,
    l3: usize,
    ip: &[u8; IPV4_HEADER_LEN],
    ihl: usize,
) -> Result<Frame, XdpReason> {
    let total = usize::from(be16(ip, 2));
    let frag = be16(ip, 6);
    if frag & IPV4_OFFSET_MASK != 0 {
        // A later fragment: what looked like a UDP header is payload.
        return Ok(Frame::OtherIp(OtherIp {
            family: FAMILY_V4,
            dst: Addr::v4(ip, 16),
            neighbour_discovery: false,
        }));
    }
    if ip[0] >> 4 != 4 || total < ihl || l3 + total > frame_len(ctx) || frag & IPV4_MF != 0 {
        return Err(XdpReason::Truncated);
    }
    Ok(Frame::Bfd(BfdPacket {
        family: FAMILY_V4,
        src: Addr::v4(ip, 12),
        dst: Addr::v4(ip, 16),
        ttl: ip[8],
        udp_offset: l3 + ihl,
        ip_payload_len: total - ihl,
    }))
}

/// RFC 2402 §2.1: whether the AH at `off` says a VRRP message follows.
#[inline(always)]
fn ah_protects_vrrp(ctx: &XdpContext, off: usize) -> bool {
    matches!(window::<2>(ctx, off), Ok(head) if head[0] == IPPROTO_VRRP)
}

/// RFC 8200 §3; the hop limit (RFC 5798 §7.1) is noted for later.
#[inline(always)]
fn ipv6(ctx: &XdpContext, l3: usize) -> Result<Frame, XdpReason> {
    let Ok(ip) = window::<IPV6_HEADER_LEN>(ctx, l3) else {
        return Ok(Frame::NotIp);
    };
    let dst = Addr::v6(ip, 24);
    match ip[6] {
        IPPROTO_VRRP => {}
        IPPROTO_UDP if bfd_port(ctx, l3 + IPV6_HEADER_LEN) => {
            let payload = usize::from(be16(ip, 4));
            if ip[0] >> 4 != 6 || l3 + IPV6_HEADER_LEN + payload > frame_len(ctx) {
                return Err(XdpReason::Truncated);
            }
            return Ok(Frame::Bfd(BfdPacket {
                family: FAMILY_V6,
                src: Addr::v6(ip, 8),
                dst,
                ttl: ip[7],
                udp_offset: l3 + IPV6_HEADER_LEN,
                ip_payload_len: payload,
            }));
        }
        next => {
            let neighbour_discovery = next == IPPROTO_ICMPV6
                && matches!(
                    window::<2>(ctx, l3 + IPV6_HEADER_LEN),
                    Ok(icmp) if icmp[0] == ICMPV6_NS || icmp[0] == ICMPV6_NA
                );
            return Ok(Frame::OtherIp(OtherIp {
                family: FAMILY_V6,
                dst,
                neighbour_discovery,
            }));
        }
    }
    let payload = usize::from(be16(ip, 4));
    if ip[0] >> 4 != 6 || l3 + IPV6_HEADER_LEN + payload > frame_len(ctx) {
        return Err(XdpReason::Truncated);
    }
    let ttl_255 = ip[7] == VRRP_TTL;
    let packet = VrrpPacket {
        family: FAMILY_V6,
        src: Addr::v6(ip, 8),
        dst,
        ip_offset: l3,
        ip_header_len: 0,
        offset: l3 + IPV6_HEADER_LEN,
        len: payload,
        ah: false,
    };
    Ok(if ttl_255 {
        Frame::Vrrp(packet)
    } else {
        Frame::VrrpLowTtl(packet)
    })
}
