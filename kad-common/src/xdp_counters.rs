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
    /// Not VRRP nor BFD (other ethertype, IP protocol or UDP port): passed untouched.
    NotVrrp = 0,
    /// A valid VRRPv2 advert passed to userspace's socket (AH-authenticated, or no
    /// configuration for its interface and family in `KAD_VRRP_CONFIG`, or the event ring
    /// buffer was full).
    VrrpV2 = 1,
    /// A valid VRRPv3 advert passed to userspace's socket (no configuration for its interface
    /// and family in `KAD_VRRP_CONFIG`, or the event ring buffer was full).
    VrrpV3 = 2,
    /// Ethernet/IP/VRRP (or UDP/BFD) headers cut short, an IP header length that lies, or an
    /// IPv4 fragment (RFC 791 §3.2; adverts and BFD control packets are never fragmented):
    /// dropped.
    Truncated = 3,
    /// RFC 5798 §7.1: IPv4 TTL or IPv6 hop limit other than 255: dropped.
    BadTtl = 4,
    /// RFC 5798 §7.1: VRRP version other than 2 or 3: dropped.
    BadVersion = 5,
    /// RFC 5798 §7.1: VRRP type other than ADVERTISEMENT: dropped.
    BadType = 6,
    /// RFC 5798 §7.1: the VRRP message is not exactly as long as Count IPvX Addr (and, for v2,
    /// the 8 bytes of Authentication Data) say, or an AH is not the 24 bytes keepalived
    /// sends: dropped.
    BadLength = 7,
    /// RFC 5798 §7.1: the VRRP checksum (with the IPv6/IPv4 pseudo-header for v3) or the IPv4
    /// header checksum (RFC 791 §3.1) is wrong: dropped.
    BadChecksum = 8,
    /// RFC 5798 §7.1: no instance with this VRID on this interface and family, while the
    /// interface has some: dropped.
    UnknownVrid = 9,
    /// RFC 3768 §5.3.6 / §7.1: an unknown auth type, an auth type that does not match the IP
    /// protocol (AH), or auth type or PASS data that differ from the instance's: dropped (and,
    /// for a configured instance, an `EVENT_AUTH_FAILURE` event sent, at most one per second).
    BadAuth = 10,
    /// keepalived `check_unicast_src` / unicast: an advert from a source that is not a
    /// configured peer (when the instance checks peers, `FLAG_CHECK_PEERS`), a multicast
    /// advert for a unicast instance or a unicast one for a multicast instance, or the
    /// instance's own advert looped back: dropped.
    NotPeer = 11,
    /// A valid advert for a configured instance, recorded in `KAD_VRRP_SEEN` with nothing
    /// changed: dropped here, userspace not woken.
    Recorded = 12,
    /// A valid advert for a configured instance that changed something: recorded, sent to
    /// userspace as a `KAD_VRRP_EVENTS` record, and dropped here.
    Event = 13,
    /// An IP packet addressed to a virtual address of an instance without `accept`
    /// (keepalived `no_accept`, or `vrrp_strict`), listed in `KAD_VIP_V4`/`KAD_VIP_V6` for
    /// the ingress interface while the instance is Master: dropped, as keepalived's
    /// iptables/nftables rules do. IPv6 neighbour solicitations and advertisements (ICMPv6
    /// 135/136) to a VIP pass, so neighbour discovery keeps working.
    VipNoAccept = 14,
    /// RFC 5798 §5.2.7 / RFC 3768 §5.3.7: an advert interval of 0 (the state machine would
    /// divide by it): dropped.
    BadInterval = 15,
    /// RFC 5798 §6.4.2/§6.4.3: a lower-priority advert (above 0) at a Master, or at a Backup
    /// that preempts at once: discarded without waking userspace or touching
    /// `KAD_VRRP_SEEN` (a flood of forged lower-priority senders stays in the kernel).
    Discarded = 16,
    /// An IEEE 802.1Q / 802.1ad tagged frame: passed untouched. It belongs to a VLAN
    /// sub-interface (`eth0.100`), whose own instances, VIPs and program (if any) judge it;
    /// the parent's program neither records nor drops it.
    VlanTagged = 17,
    /// BFD (`bfd_maps`): a steady control packet of a known session (same bytes as the last
    /// recorded one, no Poll/Final): last arrival recorded, dropped, userspace not woken.
    BfdRecorded = 18,
    /// BFD: a control packet of a known session that changed something (state, diag,
    /// intervals, detect mult, discriminators) or carries Poll/Final: recorded and passed to
    /// the socket.
    BfdChanged = 19,
    /// BFD: a valid control packet whose Your Discriminator is 0 (Down/AdminDown) or names no
    /// session in `KAD_BFD_SESSIONS`: passed to the socket (session bring-up is userspace's).
    BfdNoSession = 20,
    /// BFD: UDP length shorter than a control packet or longer than the IP payload, or the
    /// BFD Length field below 24 or beyond the UDP payload (RFC 5880 §6.8.6): dropped.
    BfdBadLength = 21,
    /// BFD: version other than 1 (RFC 5880 §6.8.6): dropped.
    BfdBadVersion = 22,
    /// BFD single hop (port 3784): TTL / hop limit other than 255 (RFC 5881 §5), or a
    /// multihop packet below its session's least TTL (`max_hops`): dropped.
    BfdBadTtl = 23,
    /// BFD: UDP source port below 49152 (RFC 5881 §4): dropped.
    BfdBadSourcePort = 24,
    /// BFD: Detect Mult 0 (RFC 5880 §6.8.6): dropped.
    BfdBadDetectMult = 25,
    /// BFD: the Multipoint bit set (RFC 5880 §6.8.6): dropped.
    BfdMultipoint = 26,
    /// BFD: My Discriminator 0, or Your Discriminator 0 while State is Init or Up
    /// (RFC 5880 §6.8.6): dropped.
    BfdBadDiscriminator = 27,
    /// BFD: the A bit set (RFC 5880 §6.8.6: kad, as keepalived, runs no authentication, so
    /// such a packet is not for any of its sessions): dropped.
    BfdAuthentication = 28,
    /// BFD: a packet naming a known session but from another address, interface or hop mode
    /// than the session's peer: dropped.
    BfdNotPeer = 29,
}

impl XdpReason {
    /// Number of reasons, i.e. the size of [`XDP_COUNTERS_MAP`].
    pub const COUNT: u32 = 30;

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
        XdpReason::BadChecksum,
        XdpReason::UnknownVrid,
        XdpReason::BadAuth,
        XdpReason::NotPeer,
        XdpReason::Recorded,
        XdpReason::Event,
        XdpReason::VipNoAccept,
        XdpReason::BadInterval,
        XdpReason::Discarded,
        XdpReason::VlanTagged,
        XdpReason::BfdRecorded,
        XdpReason::BfdChanged,
        XdpReason::BfdNoSession,
        XdpReason::BfdBadLength,
        XdpReason::BfdBadVersion,
        XdpReason::BfdBadTtl,
        XdpReason::BfdBadSourcePort,
        XdpReason::BfdBadDetectMult,
        XdpReason::BfdMultipoint,
        XdpReason::BfdBadDiscriminator,
        XdpReason::BfdAuthentication,
        XdpReason::BfdNotPeer,
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
            XdpReason::BadChecksum => "bad_checksum",
            XdpReason::UnknownVrid => "unknown_vrid",
            XdpReason::BadAuth => "bad_auth",
            XdpReason::NotPeer => "not_peer",
            XdpReason::Recorded => "recorded",
            XdpReason::Event => "event",
            XdpReason::VipNoAccept => "vip_no_accept",
            XdpReason::BadInterval => "bad_interval",
            XdpReason::Discarded => "discarded",
            XdpReason::VlanTagged => "vlan_tagged",
            XdpReason::BfdRecorded => "bfd_recorded",
            XdpReason::BfdChanged => "bfd_changed",
            XdpReason::BfdNoSession => "bfd_no_session",
            XdpReason::BfdBadLength => "bfd_bad_length",
            XdpReason::BfdBadVersion => "bfd_bad_version",
            XdpReason::BfdBadTtl => "bfd_bad_ttl",
            XdpReason::BfdBadSourcePort => "bfd_bad_source_port",
            XdpReason::BfdBadDetectMult => "bfd_bad_detect_mult",
            XdpReason::BfdMultipoint => "bfd_multipoint",
            XdpReason::BfdBadDiscriminator => "bfd_bad_discriminator",
            XdpReason::BfdAuthentication => "bfd_authentication",
            XdpReason::BfdNotPeer => "bfd_not_peer",
        }
    }

    /// Whether packets counted under this reason are dropped (`XDP_DROP`) rather than passed.
    /// `Recorded` and `Event` adverts are dropped too: their content reached userspace
    /// through the maps, so the socket must not see them a second time.
    pub const fn drops(self) -> bool {
        !matches!(
            self,
            XdpReason::NotVrrp
                | XdpReason::VrrpV2
                | XdpReason::VrrpV3
                | XdpReason::VlanTagged
                | XdpReason::BfdChanged
                | XdpReason::BfdNoSession
        )
    }
}

#[cfg(test)]
mod tests {
    use super::XdpReason;

    /// Counter indices are part of the kernel/userspace contract: `ALL[i] as u32 == i`.
    #[test]
    fn all_lists_every_reason_in_index_order() {
        assert_eq!(XdpReason::ALL.len(), XdpReason::COUNT as usize);
        for (index, reason) in XdpReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{}", reason.name());
        }
    }
}
