//! The keyword table of bfd_instance (keepalived.conf(5) "BFD CONFIGURATION").

use super::{
    keywords::{Ctx, HasPlaces, Keyword, apply, ignored, kw},
    model::BfdInstance,
    place::Places,
    tree::Node,
};

impl HasPlaces for BfdInstance {
    fn places_mut(&mut self) -> &mut Places {
        &mut self.places
    }
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Why every BFD keyword is ignored.
const BFD: &str = "BFD is not implemented";

/// The keyword table of bfd_instance.
pub const BFD_INSTANCE: &[Keyword<BfdInstance>] = &[
    ignored(BFD, kw("neighbor_ip", |b, n, c| b.neighbor_ip = c.ip(n, 0))),
    ignored(BFD, kw("source_ip", |b, n, c| b.source_ip = c.ip(n, 0))),
    ignored(
        BFD,
        kw("min_rx", |b, n, c| {
            if let Some(v) = c.int(n, 0, 1, 1000) {
                b.min_rx = u32_of(v);
            }
        }),
    ),
    ignored(
        BFD,
        kw("min_tx", |b, n, c| {
            if let Some(v) = c.int(n, 0, 1, 1000) {
                b.min_tx = u32_of(v);
            }
        }),
    ),
    ignored(
        BFD,
        kw("idle_tx", |b, n, c| {
            if let Some(v) = c.int(n, 0, 1000, 10000) {
                b.idle_tx = u32_of(v);
            }
        }),
    ),
    ignored(
        BFD,
        kw("multiplier", |b, n, c| {
            if let Some(v) = c.int(n, 0, 1, 10) {
                b.multiplier = u32_of(v);
            }
        }),
    ),
    ignored(BFD, kw("passive", |b, _, _| b.passive = true)),
    ignored(BFD, kw("ttl", ttl)),
    ignored(BFD, kw("hoplimit", ttl)),
    ignored(
        BFD,
        kw("max_hops", |b, n, c| {
            if let Some(v) = c.int(n, 0, 0, 255) {
                b.max_hops = u8::try_from(v).unwrap_or(0);
            }
        }),
    ),
    ignored(
        BFD,
        kw("weight", |b, n, c| {
            if let Some(v) = c.int(n, 0, -253, 253) {
                b.weight = i32::try_from(v).unwrap_or(0);
            }
        }),
    ),
    ignored(BFD, kw("vrrp", |b, _, _| b.vrrp = true)),
    ignored(BFD, kw("checker", |b, _, _| b.checker = true)),
];

fn ttl(b: &mut BfdInstance, n: &Node, c: &mut Ctx) {
    if let Some(v) = c.int(n, 0, 1, 255) {
        b.ttl = u8::try_from(v).unwrap_or(255);
    }
}

/// keepalived.conf: bfd_instance NAME { ... }.
pub fn bfd_instance(c: &mut Ctx, n: &Node) -> Option<BfdInstance> {
    let name = c.string(n, 0, "a BFD instance name")?;
    let mut b = BfdInstance {
        name,
        neighbor_ip: None,
        source_ip: None,
        min_rx: 10,
        min_tx: 10,
        idle_tx: 1000,
        multiplier: 5,
        passive: false,
        ttl: 255,
        max_hops: 0,
        weight: 0,
        vrrp: false,
        checker: false,
        place: n.place().clone(),
        places: Places::new(),
    };
    apply(&mut b, BFD_INSTANCE, n.children(), c);
    if b.neighbor_ip.is_none() {
        c.report(
            super::error::Severity::Error,
            n.end_place(),
            format!(
                "bfd_instance {}: neighbor_ip is required - removing",
                b.name
            ),
        );
        return None;
    }
    Some(b)
}
