//! Per-reason packet counters kept by the XDP program in the `KAD_XDP_COUNTERS`
//! `PerCpuArray` (one `u64` slot per [`XdpReason`], summed over CPUs by userspace).

/// Name of the per-CPU counter array in the eBPF object.
pub const XDP_COUNTERS_MAP: &str = "KAD_XDP_COUNTERS";

/// Name of the XDP program in the eBPF object.
pub const XDP_PROGRAM: &str = "kad_xdp";

/// Why the XDP program gave a packet the verdict it did. The discriminant is the index of
/// the reason's counter in [`XDP_COUNTERS_MAP`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpReason {
    /// Not VRRP (other ethertype or IP protocol): passed untouched.
    NotVrrp = 0,
    /// A VRRPv2 advert whose fixed fields are valid: passed to userspace.
    VrrpV2 = 1,
    /// A VRRPv3 advert whose fixed fields are valid: passed to userspace.
    VrrpV3 = 2,
    /// Ethernet/IP/VRRP headers cut short, or an IP header length that lies: dropped.
    Truncated = 3,
    /// RFC 5798 §7.1: IPv4 TTL or IPv6 hop limit other than 255: dropped.
    BadTtl = 4,
    /// RFC 5798 §7.1: VRRP version other than 2 or 3: dropped.
    BadVersion = 5,
    /// RFC 5798 §7.1: VRRP type other than ADVERTISEMENT: dropped.
    BadType = 6,
    /// RFC 5798 §7.1: the addresses announced by Count IPvX Addr do not fit the packet: dropped.
    BadLength = 7,
}

impl XdpReason {
    /// Number of reasons, i.e. the size of [`XDP_COUNTERS_MAP`].
    pub const COUNT: u32 = 8;

    /// Every reason, in counter-index order.
    pub const ALL: [XdpReason; Self::COUNT as usize] = [
        XdpReason::NotVrrp,
        XdpReason::VrrpV2,
        XdpReason::VrrpV3,
        XdpReason::Truncated,
        XdpReason::BadTtl,
        XdpReason::BadVersion,
        XdpReason::BadType,
        XdpReason::BadLength,
    ];

    /// Stable, snake_case name for status output and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            XdpReason::NotVrrp => "not_vrrp",
            XdpReason::VrrpV2 => "vrrp_v2",
            XdpReason::VrrpV3 => "vrrp_v3",
            XdpReason::Truncated => "truncated",
            XdpReason::BadTtl => "bad_ttl",
            XdpReason::BadVersion => "bad_version",
            XdpReason::BadType => "bad_type",
            XdpReason::BadLength => "bad_length",
        }
    }

    /// Whether packets counted under this reason are dropped (`XDP_DROP`) rather than passed.
    pub const fn drops(self) -> bool {
        !matches!(
            self,
            XdpReason::NotVrrp | XdpReason::VrrpV2 | XdpReason::VrrpV3
        )
    }
}
