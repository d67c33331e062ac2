//! `kad_xdp`: classify every frame on a VRRP interface, drop VRRP adverts whose fixed fields
//! break RFC 3768 §7.1 / RFC 5798 §7.1 (they could never be accepted), pass the rest, and
//! count every verdict per reason in `KAD_XDP_COUNTERS`.

use aya_ebpf::{
    bindings::xdp_action, macros::map, macros::xdp, maps::PerCpuArray, programs::XdpContext,
};
use aya_log_ebpf::debug;
use kad_common::vrrp_wire::{
    ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_VRRP, VRRP_HEADER_LEN, VRRP_TTL,
    VRRP_TYPE_ADVERTISEMENT, VRRP_V2_AUTH_DATA_LEN, VRRP_VERSION_2, VRRP_VERSION_3,
};
use kad_common::xdp_counters::XdpReason;

/// One `u64` per [`XdpReason`], per CPU.
#[map(name = "KAD_XDP_COUNTERS")]
static KAD_XDP_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XdpReason::COUNT, 0);

const ETH_HLEN: usize = 14;
const VLAN_HLEN: usize = 4;
const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;

#[xdp]
pub fn kad_xdp(ctx: XdpContext) -> u32 {
    let reason = classify(&ctx).unwrap_or_else(|reason| reason);
    if let Some(slot) = KAD_XDP_COUNTERS.get_ptr_mut(reason as u32) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU while the program runs.
        unsafe { *slot += 1 };
    }
    if reason.drops() {
        debug!(&ctx, "kad_xdp: drop VRRP, reason {}", reason as u32);
        xdp_action::XDP_DROP
    } else {
        xdp_action::XDP_PASS
    }
}

/// Returns the `N` bytes of the frame at `off`, bounds-checked for the verifier. Headers are
/// read as whole windows (`N >= 2`): a one-byte check compiles to `ptr >= end`, from which
/// the verifier learns no range for a variable-offset pointer.
#[inline(always)]
fn window<const N: usize>(ctx: &XdpContext, off: usize) -> Result<&[u8; N], XdpReason> {
    let start = ctx.data();
    if start + off + N > ctx.data_end() {
        return Err(XdpReason::Truncated);
    }
    // SAFETY: the N bytes at start + off lie inside the frame (checked just above); the
    // kernel keeps the frame alive and unaliased for the whole run of the program.
    Ok(unsafe { &*((start + off) as *const [u8; N]) })
}

/// Length of the frame in bytes.
#[inline(always)]
fn frame_len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}

/// Where the VRRP message starts and how long IP says it is, for an IPv4 or IPv6 frame that
/// carries IP protocol 112.
struct VrrpSpan {
    offset: usize,
    len: usize,
    addr_len: usize,
}

#[inline(always)]
fn classify(ctx: &XdpContext) -> Result<XdpReason, XdpReason> {
    let eth = window::<ETH_HLEN>(ctx, 0).map_err(|_| XdpReason::NotVrrp)?;
    let mut l3 = ETH_HLEN;
    let mut ethertype = u16::from_be_bytes([eth[12], eth[13]]);
    if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
        let tag = window::<VLAN_HLEN>(ctx, ETH_HLEN).map_err(|_| XdpReason::NotVrrp)?;
        ethertype = u16::from_be_bytes([tag[2], tag[3]]);
        l3 += VLAN_HLEN;
    }
    let span = match ethertype {
        ETH_P_IP => ipv4_span(ctx, l3)?,
        ETH_P_IPV6 => ipv6_span(ctx, l3)?,
        _ => return Err(XdpReason::NotVrrp),
    };
    check_vrrp(ctx, &span)
}

#[inline(always)]
fn ipv4_span(ctx: &XdpContext, l3: usize) -> Result<VrrpSpan, XdpReason> {
    let ip = window::<IPV4_MIN_HLEN>(ctx, l3).map_err(|_| XdpReason::NotVrrp)?;
    if ip[9] != IPPROTO_VRRP {
        return Err(XdpReason::NotVrrp);
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // The whole IP datagram must be in the frame, and its header must be sane.
    if ip[0] >> 4 != 4 || ihl < IPV4_MIN_HLEN || total < ihl || l3 + total > frame_len(ctx) {
        return Err(XdpReason::Truncated);
    }
    if ip[8] != VRRP_TTL {
        return Err(XdpReason::BadTtl);
    }
    Ok(VrrpSpan {
        offset: l3 + ihl,
        len: total - ihl,
        addr_len: 4,
    })
}

#[inline(always)]
fn ipv6_span(ctx: &XdpContext, l3: usize) -> Result<VrrpSpan, XdpReason> {
    let ip = window::<IPV6_HLEN>(ctx, l3).map_err(|_| XdpReason::NotVrrp)?;
    // VRRP is sent without extension headers (RFC 5798 §5.1.2); anything else is not ours.
    if ip[6] != IPPROTO_VRRP {
        return Err(XdpReason::NotVrrp);
    }
    let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if l3 + IPV6_HLEN + payload > frame_len(ctx) {
        return Err(XdpReason::Truncated);
    }
    if ip[7] != VRRP_TTL {
        return Err(XdpReason::BadTtl);
    }
    Ok(VrrpSpan {
        offset: l3 + IPV6_HLEN,
        len: payload,
        addr_len: 16,
    })
}

#[inline(always)]
fn check_vrrp(ctx: &XdpContext, span: &VrrpSpan) -> Result<XdpReason, XdpReason> {
    if span.len < VRRP_HEADER_LEN {
        return Err(XdpReason::Truncated);
    }
    let vrrp = window::<VRRP_HEADER_LEN>(ctx, span.offset)?;
    if vrrp[0] & 0x0f != VRRP_TYPE_ADVERTISEMENT {
        return Err(XdpReason::BadType);
    }
    let (reason, trailer) = match vrrp[0] >> 4 {
        // RFC 3768 is IPv4 only.
        VRRP_VERSION_2 if span.addr_len == 4 => (XdpReason::VrrpV2, VRRP_V2_AUTH_DATA_LEN),
        VRRP_VERSION_3 => (XdpReason::VrrpV3, 0),
        _ => return Err(XdpReason::BadVersion),
    };
    let count = usize::from(vrrp[3]);
    if span.len < VRRP_HEADER_LEN + count * span.addr_len + trailer {
        return Err(XdpReason::BadLength);
    }
    Ok(reason)
}
