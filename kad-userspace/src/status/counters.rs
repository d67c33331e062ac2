//! Per-instance counters kept by the runtime (keepalived's `vrrp_stats`: adverts in and out,
//! priority 0 in and out, receive errors per class, state transitions), shared between the
//! receive tasks, the executor and the status snapshot as relaxed atomics: counting never
//! waits and never touches protocol state.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::vrrp::{
    fsm::{DiscardReason, State},
    packet::DecodeError,
};

/// Why a received packet meant for an instance was not accepted (RFC 3768 §7.1 / RFC 5798
/// §7.1 receive checks, grouped as keepalived's stats group them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Headers cut short, lengths that lie, an address count that disagrees with the length
    /// (keepalived `packet_len_err`, `addr_list_err`).
    Length,
    /// IP header or VRRP checksum wrong.
    Checksum,
    /// RFC 5798 §7.1: TTL / hop limit not 255, or outside a unicast peer's `min_ttl`..`max_ttl`
    /// (keepalived `ip_ttl_err`).
    Ttl,
    /// VRRP version neither 2 nor 3, or VRRPv2 over IPv6.
    Version,
    /// VRRP type other than ADVERTISEMENT (keepalived `invalid_type_rcvd`).
    Type,
    /// Advert interval 0 (keepalived `advert_interval_err`).
    Interval,
    /// Authentication failed: unknown or mismatched auth type, wrong PASS data or AH ICV,
    /// replayed AH sequence (keepalived `auth_failure`, `auth_type_mismatch`,
    /// `invalid_authtype`).
    Auth,
    /// keepalived `check_unicast_src`: not a configured `unicast_peer`.
    NotPeer,
    /// Anything else (fragments, wrong IP protocol, mixed families).
    Other,
}

impl ErrorClass {
    /// Every class, in counter order.
    pub const ALL: [ErrorClass; 9] = [
        ErrorClass::Length,
        ErrorClass::Checksum,
        ErrorClass::Ttl,
        ErrorClass::Version,
        ErrorClass::Type,
        ErrorClass::Interval,
        ErrorClass::Auth,
        ErrorClass::NotPeer,
        ErrorClass::Other,
    ];

    /// Stable snake_case name (status JSON keys, metric label values).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorClass::Length => "length",
            ErrorClass::Checksum => "checksum",
            ErrorClass::Ttl => "ttl",
            ErrorClass::Version => "version",
            ErrorClass::Type => "type",
            ErrorClass::Interval => "interval",
            ErrorClass::Auth => "auth",
            ErrorClass::NotPeer => "not_peer",
            ErrorClass::Other => "other",
        }
    }

    /// The class of a codec error.
    pub fn of(error: &DecodeError) -> ErrorClass {
        match error {
            DecodeError::Truncated { .. }
            | DecodeError::BadIhl(_)
            | DecodeError::BadIpLength { .. }
            | DecodeError::CountMismatch { .. }
            | DecodeError::BadAhLength(_) => ErrorClass::Length,
            DecodeError::BadIpChecksum { .. } | DecodeError::BadChecksum { .. } => {
                ErrorClass::Checksum
            }
            DecodeError::BadTtl(_) => ErrorClass::Ttl,
            DecodeError::BadVersion(_) | DecodeError::V2OverIpv6 | DecodeError::BadIpVersion(_) => {
                ErrorClass::Version
            }
            DecodeError::BadType(_) => ErrorClass::Type,
            DecodeError::BadInterval => ErrorClass::Interval,
            DecodeError::UnknownAuthType(_)
            | DecodeError::AuthTypeMismatch { .. }
            | DecodeError::AuthMismatch
            | DecodeError::AhOnV3
            | DecodeError::MissingAh
            | DecodeError::Replayed { .. } => ErrorClass::Auth,
            DecodeError::BadEtherType(_)
            | DecodeError::Fragmented
            | DecodeError::BadProtocol(_)
            | DecodeError::FamilyMismatch => ErrorClass::Other,
        }
    }
}

/// Every [`DiscardReason`], in counter order, with its stable name.
pub const DISCARD_REASONS: [(DiscardReason, &str); 6] = [
    (DiscardReason::Vrid, "vrid"),
    (DiscardReason::Version, "version"),
    (DiscardReason::Interval, "interval"),
    (DiscardReason::Own, "own"),
    (DiscardReason::LowerPriority, "lower_priority"),
    (DiscardReason::NotListening, "not_listening"),
];

/// The live counters of one instance.
#[derive(Debug, Default)]
pub struct InstanceCounters {
    /// Valid adverts received on the raw-socket path (XDP's are counted in its
    /// `KAD_VRRP_SEEN` entry and added at snapshot time).
    pub adverts_received: AtomicU64,
    /// Adverts this instance produced (one per interval; unicast copies count once).
    pub adverts_sent: AtomicU64,
    /// RFC 5798 §6.4.2: adverts with priority 0 received (the Master is leaving).
    pub priority_zero_received: AtomicU64,
    /// Adverts with priority 0 sent (leaving Master).
    pub priority_zero_sent: AtomicU64,
    /// Receive errors per [`ErrorClass`].
    errors: [AtomicU64; ErrorClass::ALL.len()],
    /// Valid adverts the state machine ignored, per [`DISCARD_REASONS`].
    discarded: [AtomicU64; DISCARD_REASONS.len()],
    /// Transitions into Master.
    pub became_master: AtomicU64,
    /// Transitions into Backup.
    pub became_backup: AtomicU64,
    /// Transitions into Fault.
    pub became_fault: AtomicU64,
    /// Transitions out of Master (keepalived `release_master`).
    pub released_master: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl InstanceCounters {
    /// Counts a receive error of `class`.
    pub fn error(&self, class: ErrorClass) {
        if let Some(counter) = self.errors.get(class as usize) {
            bump(counter);
        }
    }

    /// Counts an advert the state machine ignored.
    pub fn discarded(&self, reason: DiscardReason) {
        if let Some(index) = DISCARD_REASONS.iter().position(|(r, _)| *r == reason)
            && let Some(counter) = self.discarded.get(index)
        {
            bump(counter);
        }
    }

    /// Counts a valid advert received on the socket path.
    pub fn received(&self) {
        bump(&self.adverts_received);
    }

    /// Counts a valid advert handed to the state machine with priority `priority`.
    pub fn delivered(&self, priority: u8) {
        if priority == 0 {
            bump(&self.priority_zero_received);
        }
    }

    /// Counts an advert sent with priority `priority`.
    pub fn sent(&self, priority: u8) {
        bump(&self.adverts_sent);
        if priority == 0 {
            bump(&self.priority_zero_sent);
        }
    }

    /// Counts a state change.
    pub fn transition(&self, from: State, to: State) {
        match to {
            State::Master => bump(&self.became_master),
            State::Backup => bump(&self.became_backup),
            State::Fault => bump(&self.became_fault),
            State::Initialize => {}
        }
        if from == State::Master && to != State::Master {
            bump(&self.released_master);
        }
    }

    /// A plain copy, `xdp_received` (adverts XDP recorded for the instance) added in.
    pub fn snapshot(&self, xdp_received: u64) -> CountersSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CountersSnapshot {
            adverts_received: load(&self.adverts_received).saturating_add(xdp_received),
            adverts_sent: load(&self.adverts_sent),
            priority_zero_received: load(&self.priority_zero_received),
            priority_zero_sent: load(&self.priority_zero_sent),
            receive_errors: ErrorClass::ALL
                .iter()
                .zip(&self.errors)
                .map(|(class, counter)| (class.name().to_owned(), load(counter)))
                .collect(),
            discarded: DISCARD_REASONS
                .iter()
                .zip(&self.discarded)
                .map(|((_, name), counter)| ((*name).to_owned(), load(counter)))
                .collect(),
            became_master: load(&self.became_master),
            became_backup: load(&self.became_backup),
            became_fault: load(&self.became_fault),
            released_master: load(&self.released_master),
        }
    }
}

/// The counters of one instance at one moment (status JSON `counters`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersSnapshot {
    /// Valid adverts received (socket path plus XDP's recorded ones).
    pub adverts_received: u64,
    /// Adverts sent.
    pub adverts_sent: u64,
    /// Priority-0 adverts received.
    pub priority_zero_received: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_sent: u64,
    /// Receive errors per class name ([`ErrorClass::name`]).
    pub receive_errors: std::collections::BTreeMap<String, u64>,
    /// Valid adverts ignored by the state machine, per reason.
    pub discarded: std::collections::BTreeMap<String, u64>,
    /// Transitions into Master.
    pub became_master: u64,
    /// Transitions into Backup.
    pub became_backup: u64,
    /// Transitions into Fault.
    pub became_fault: u64,
    /// Transitions out of Master.
    pub released_master: u64,
}

/// The VRID of a VRRP packet as a raw socket delivers it (IPv4: with its IP header and
/// maybe an AH header; IPv6: the VRRP message alone), so that a packet that fails to decode
/// can still be counted against its instance. `None` when too short to tell.
pub fn peek_vrid(packet: &[u8], ipv6: bool) -> Option<u8> {
    if ipv6 {
        return packet.get(1).copied();
    }
    let first = *packet.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    let protocol = *packet.get(9)?;
    // RFC 2402: VRRPv2 under AH follows its 24-byte header (keepalived's HMAC-MD5-96).
    let offset = if protocol == 51 { ihl + 24 } else { ihl };
    packet.get(offset + 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_class() {
        let counters = InstanceCounters::default();
        counters.error(ErrorClass::of(&DecodeError::BadTtl(254)));
        counters.error(ErrorClass::of(&DecodeError::AuthMismatch));
        counters.error(ErrorClass::of(&DecodeError::AuthMismatch));
        counters.discarded(DiscardReason::LowerPriority);
        counters.sent(0);
        counters.sent(100);
        counters.delivered(0);
        counters.transition(State::Backup, State::Master);
        counters.transition(State::Master, State::Backup);
        let snap = counters.snapshot(7);
        assert_eq!(snap.receive_errors.get("ttl"), Some(&1));
        assert_eq!(snap.receive_errors.get("auth"), Some(&2));
        assert_eq!(snap.receive_errors.get("length"), Some(&0));
        assert_eq!(snap.discarded.get("lower_priority"), Some(&1));
        assert_eq!(snap.adverts_sent, 2);
        assert_eq!(snap.priority_zero_sent, 1);
        assert_eq!(snap.priority_zero_received, 1);
        assert_eq!(snap.adverts_received, 7);
        assert_eq!((snap.became_master, snap.became_backup), (1, 1));
        assert_eq!(snap.released_master, 1);
    }

    #[test]
    fn vrid_is_found_behind_ip_and_ah_headers() {
        let mut v4 = vec![0u8; 40];
        v4[0] = 0x45;
        v4[9] = 112;
        v4[21] = 51;
        assert_eq!(peek_vrid(&v4, false), Some(51));
        v4.resize(60, 0);
        v4[9] = 51;
        v4[20 + 24 + 1] = 9;
        assert_eq!(peek_vrid(&v4, false), Some(9));
        assert_eq!(peek_vrid(&[0x31, 7, 0], true), Some(7));
        assert_eq!(peek_vrid(&[0x45], false), None);
    }
}
