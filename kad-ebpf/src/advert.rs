//! The VRRP message's own fields: the checks of RFC 5798 §7.1 / RFC 3768 §7.1 that need no
//! configuration, in the order kad-userspace's decoder (`vrrp/packet/decode.rs`) makes them.

use aya_ebpf::programs::XdpContext;
use kad_common::{
    vrrp_wire::{
        VRRP_AUTH_AH, VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT,
        VRRP_V2_AUTH_DATA_LEN, VRRP_V3_ADVERT_INT_MASK, VRRP_VERSION_2, VRRP_VERSION_3,
    },
    xdp_counters::XdpReason,
    xdp_maps::FAMILY_V4,
};

use crate::packet::{VrrpPacket, be16, ne16, window};

/// What the rest of the program reads from a structurally valid advert.
pub struct Advert {
    /// RFC 5798 §5.2.1: 2 or 3.
    pub version: u8,
    /// RFC 5798 §5.2.3.
    pub vrid: u8,
    /// RFC 5798 §5.2.4.
    pub priority: u8,
    /// RFC 5798 §5.2.5.
    pub count: u8,
    /// RFC 5798 §5.2.7 centiseconds, or RFC 3768 §5.3.7 seconds × 100. Never 0.
    pub interval_cs: u16,
    /// RFC 3768 §5.3.6 Auth Type (v3 has none: `VRRP_AUTH_NONE`).
    pub auth_type: u8,
    /// RFC 5798 §5.2.8: the checksum as carried, in memory byte order (see `checksum.rs`).
    pub checksum: u16,
}

/// RFC 5798 §7.1 / RFC 3768 §7.1: header present, version 2 or 3 (2 only over IPv4, 3 never
/// behind AH), type ADVERTISEMENT, length exactly as Count IPvX Addr says (plus the v2
/// Authentication Data), non-zero interval, and for v2 a known Auth Type that is 2 exactly
/// when an AH precedes the message.
#[inline(always)]
pub fn check(ctx: &XdpContext, packet: &VrrpPacket) -> Result<Advert, XdpReason> {
    if packet.len < VRRP_HEADER_LEN {
        return Err(XdpReason::Truncated);
    }
    let header = window::<VRRP_HEADER_LEN>(ctx, packet.offset)?;
    let version = header[0] >> 4;
    if version != VRRP_VERSION_2 && version != VRRP_VERSION_3 {
        return Err(XdpReason::BadVersion);
    }
    if header[0] & 0x0f != VRRP_TYPE_ADVERTISEMENT {
        return Err(XdpReason::BadType);
    }
    let v2 = version == VRRP_VERSION_2;
    // RFC 3768 is IPv4 only; keepalived's AH exists for v2 only.
    if (v2 && packet.family != FAMILY_V4) || (!v2 && packet.ah) {
        return Err(XdpReason::BadVersion);
    }
    let count = header[3];
    let trailer = if v2 { VRRP_V2_AUTH_DATA_LEN } else { 0 };
    if packet.len != VRRP_HEADER_LEN + usize::from(count) * packet.addr_len() + trailer {
        return Err(XdpReason::BadLength);
    }
    let (interval_cs, auth_type) = if v2 {
        (u16::from(header[5]) * 100, header[4])
    } else {
        let raw = be16(header, 4) & VRRP_V3_ADVERT_INT_MASK;
        (raw, VRRP_AUTH_NONE)
    };
    if interval_cs == 0 {
        return Err(XdpReason::BadInterval);
    }
    if v2 {
        let known = matches!(auth_type, VRRP_AUTH_NONE | VRRP_AUTH_PASS | VRRP_AUTH_AH);
        if !known || (auth_type == VRRP_AUTH_AH) != packet.ah {
            return Err(XdpReason::BadAuth);
        }
    }
    Ok(Advert {
        version,
        vrid: header[1],
        priority: header[2],
        count,
        interval_cs,
        auth_type,
        checksum: ne16(header, 6),
    })
}

/// RFC 3768 §5.3.10: the 8 bytes of Authentication Data after the addresses of a v2 advert,
/// as a `u64` in memory byte order.
#[inline(always)]
pub fn auth_data(ctx: &XdpContext, packet: &VrrpPacket, advert: &Advert) -> Result<u64, XdpReason> {
    let at = packet.offset + VRRP_HEADER_LEN + usize::from(advert.count) * packet.addr_len();
    let data = window::<VRRP_V2_AUTH_DATA_LEN>(ctx, at)?;
    let (w0, w1, w2, w3) = (
        ne16(data, 0).to_ne_bytes(),
        ne16(data, 2).to_ne_bytes(),
        ne16(data, 4).to_ne_bytes(),
        ne16(data, 6).to_ne_bytes(),
    );
    Ok(u64::from_ne_bytes([
        w0[0], w0[1], w1[0], w1[1], w2[0], w2[1], w3[0], w3[1],
    ]))
}
