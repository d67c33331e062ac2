//! `kad_xdp`: classify every frame on a VRRP interface. Adverts that break RFC 3768 §7.1 /
//! RFC 5798 §7.1 are dropped; adverts for a configured instance are recorded in
//! `KAD_VRRP_SEEN` and dropped, waking userspace through `KAD_VRRP_EVENTS` only when
//! something changed; traffic to non-accepting virtual addresses is dropped; VLAN-tagged
//! frames (a sub-interface's) and everything else pass. BFD control packets are judged by
//! `bfd.rs` (the same interface carries both; one XDP program per interface). Every verdict is counted per reason,
//! globally and per interface.

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use aya_log_ebpf::debug;
use kad_common::{
    xdp_counters::XdpReason,
    xdp_maps::{
        FAMILY_V4, FLAG_CHECKSUM_AS_V2, FLAG_LOG_UNKNOWN_VRIDS, FLAG_OLD_CHECKSUM,
        FLAG_OLD_CHECKSUM_ONLY, FLAG_TO_SOCKET, FLAG_UNICAST, INTERFACE_MARKER_VRID, VrrpKey,
        vrrp_index,
    },
};

use crate::{
    advert, bfd,
    checksum::{self, V3Ipv4},
    instance, maps,
    packet::{self, Frame, VrrpPacket},
    vip,
};

#[xdp]
pub fn kad_xdp(ctx: XdpContext) -> u32 {
    let slot = maps::slot(&ctx);
    let reason = classify(&ctx, slot);
    maps::count(slot, reason);
    if reason.drops() {
        debug!(&ctx, "kad_xdp: drop, reason {}", reason as u32);
        xdp_action::XDP_DROP
    } else {
        xdp_action::XDP_PASS
    }
}

#[inline(always)]
fn classify(ctx: &XdpContext, slot: u32) -> XdpReason {
    match packet::parse(ctx) {
        Ok(Frame::NotIp) => XdpReason::NotVrrp,
        Ok(Frame::Tagged) => XdpReason::VlanTagged,
        Ok(Frame::OtherIp(other)) => vip::filter(ctx.ingress_ifindex() as u32, &other),
        Ok(Frame::Vrrp(packet)) => vrrp(ctx, slot, &packet).unwrap_or_else(|reason| reason),
        Ok(Frame::VrrpLowTtl(packet)) => low_ttl(ctx, slot, &packet),
        Ok(Frame::Bfd(packet)) => match bfd::classify(ctx, &packet) {
            // A BFD packet that would reach the socket is still IP traffic to its
            // destination: a non-accepting VIP drops it as any other (not on the steady
            // path, which drops anyway and so pays no VIP lookup).
            reason if !reason.drops() => match vip::filter(
                ctx.ingress_ifindex() as u32,
                &packet::OtherIp {
                    family: packet.family,
                    dst: packet.dst,
                    neighbour_discovery: false,
                },
            ) {
                XdpReason::VipNoAccept => XdpReason::VipNoAccept,
                _ => reason,
            },
            reason => reason,
        },
        Err(reason) => reason,
    }
}

/// A VRRP packet whose TTL / hop limit is not 255 (RFC 5798 §7.1): `BadTtl`, unless it is
/// for a unicast instance on this interface — keepalived accepts unicast adverts that
/// crossed routers, checking only a peer's `min_ttl`/`max_ttl` — then it goes to the
/// socket, where userspace validates it in full.
#[inline(always)]
fn low_ttl(ctx: &XdpContext, slot: u32, packet: &VrrpPacket) -> XdpReason {
    let Ok(head) = packet::window::<2>(ctx, packet.offset) else {
        return XdpReason::Truncated;
    };
    if slot == 0 {
        return XdpReason::BadTtl;
    }
    match maps::config(vrrp_index(slot, packet.family, head[1])) {
        Some(config) if config.flags & FLAG_UNICAST != 0 => {
            if head[0] >> 4 == 2 {
                XdpReason::VrrpV2
            } else {
                XdpReason::VrrpV3
            }
        }
        _ => XdpReason::BadTtl,
    }
}

/// An advert: its own fields, its instance (or the lack of one), its checksums, then what
/// the instance makes of it. `slot` is the ingress interface's (0: not managed by kad).
#[inline(always)]
fn vrrp(ctx: &XdpContext, slot: u32, packet: &VrrpPacket) -> Result<XdpReason, XdpReason> {
    let advert = advert::check(ctx, packet)?;
    // RFC 5798 §5.2.3: VRIDs are 1..255; 0 is the interface marker's key, never an instance.
    if advert.vrid == INTERFACE_MARKER_VRID {
        return Err(XdpReason::UnknownVrid);
    }
    let key = VrrpKey {
        ifindex: ctx.ingress_ifindex() as u32,
        vrid: advert.vrid,
        family: packet.family,
        pad: [0; 2],
    };
    let index = vrrp_index(slot, packet.family, advert.vrid);
    let config = if slot == 0 { None } else { maps::config(index) };
    if config.is_none() && slot != 0 {
        if let Some(marker) = maps::config(vrrp_index(slot, packet.family, INTERFACE_MARKER_VRID)) {
            if marker.flags & FLAG_LOG_UNKNOWN_VRIDS != 0 {
                instance::unknown_vrid_event(&key, packet, &advert);
            }
            return Err(XdpReason::UnknownVrid);
        }
    }
    // Without a configuration the socket decides the v3 form (`vrrp_v3_checksum_as_v2`).
    let v3_ipv4 = match config {
        Some(config) if config.flags & FLAG_CHECKSUM_AS_V2 == 0 => V3Ipv4::PseudoHeader,
        _ => V3Ipv4::EitherForm,
    };
    if packet.family == FAMILY_V4 && !checksum::ipv4_header_ok(ctx, packet)? {
        return Err(XdpReason::BadChecksum);
    }
    // keepalived.conf old_unicast_checksum: the pre-2.2.0 VRRPv3 IPv4 form, with the group
    // as pseudo-header destination, is checked here too, so only adverts carrying one of the
    // forms the instance accepts leave XDP.
    let old_flags = match config {
        Some(config)
            if packet.family == FAMILY_V4
                && advert.version == kad_common::vrrp_wire::VRRP_VERSION_3 =>
        {
            config.flags & (FLAG_OLD_CHECKSUM | FLAG_OLD_CHECKSUM_ONLY)
        }
        _ => 0,
    };
    let old_group = match config {
        Some(config) if old_flags != 0 => Some(config.checksum_group),
        _ => None,
    };
    let forms = checksum::vrrp_forms(ctx, packet, &advert, v3_ipv4, old_group)?;
    if old_flags & FLAG_OLD_CHECKSUM_ONLY != 0 {
        // Configured or detected: the old form only (the RFC form alone is refused).
        if !forms.old {
            return Err(XdpReason::BadChecksum);
        }
    } else if !forms.rfc {
        // Detection: an advert in the old form goes to the socket, which switches the
        // instance; one in neither form is dropped.
        return if old_flags & FLAG_OLD_CHECKSUM != 0 && forms.old {
            Ok(advert.passed())
        } else {
            Err(XdpReason::BadChecksum)
        };
    }
    match config {
        None => Ok(advert.passed()),
        Some(config) if config.flags & FLAG_TO_SOCKET != 0 => Ok(advert.passed()),
        Some(config) => instance::accept(ctx, packet, &advert, &key, index, config),
    }
}
