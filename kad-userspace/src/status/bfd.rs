//! The BFD sessions' status (keepalived.conf `bfd_instance`) as the BFD task publishes it:
//! read by the VRRP trackers (`track_bfd`), the checkers (`BFD_CHECK`) and `kad status`.
//! One watch channel carries every session; it changes only when a session's state or
//! negotiated parameters change, never per packet.

use std::{net::IpAddr, sync::Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One session as `kad status` shows it (RFC 5880 §6.8.1 state variables).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdSessionStatus {
    /// The `bfd_instance` name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip`, if given.
    pub source: Option<IpAddr>,
    /// `multihop`: RFC 5883, UDP port 4784.
    #[serde(default)]
    pub multihop: bool,
    /// bfd.SessionState: `admin_down`, `down`, `init` or `up`.
    pub state: String,
    /// What `track_bfd` and `BFD_CHECK` see: up once the session came up, down when it falls
    /// from Up — but not when the peer signalled AdminDown (RFC 5882 §3.2; keepalived sends
    /// its VRRP and checker processes no event then).
    pub tracked_up: bool,
    /// bfd.RemoteSessionState.
    pub remote_state: String,
    /// bfd.LocalDiag (RFC 5880 §4.1 diagnostic, as words).
    pub local_diag: String,
    /// The diagnostic in the peer's last packet.
    pub remote_diag: String,
    /// bfd.LocalDiscr.
    pub local_discriminator: u32,
    /// bfd.RemoteDiscr (0 until the peer is heard).
    pub remote_discriminator: u32,
    /// The interval packets are sent at now (µs, before jitter).
    pub tx_interval_us: u64,
    /// The interval the peer sends at now, as agreed (µs).
    pub rx_interval_us: u64,
    /// Detection time (µs): silence this long takes the session down.
    pub detect_time_us: u64,
    /// Times the session came up.
    pub up_transitions: u64,
    /// Times it went down from up.
    pub down_transitions: u64,
    /// Why it last went down (a diagnostic), if it ever did.
    pub last_down_reason: Option<String>,
    /// Control packets of this session the BFD thread read from its socket (with XDP, only
    /// the changes: steady packets stay in the kernel).
    pub socket_packets: u64,
    /// Whether XDP detects the session's failure now (its `bpf_timer`; while Up on an
    /// interface with kad's program).
    pub xdp_detection: bool,
    /// Times XDP's timer declared the session down.
    pub xdp_expiries: u64,
}

impl BfdSessionStatus {
    /// Whether trackers see it up ([`BfdSessionStatus::tracked_up`]).
    pub fn is_up(&self) -> bool {
        self.tracked_up
    }
}

/// Every session, in configuration order.
pub type BfdStatuses = Arc<Vec<BfdSessionStatus>>;

/// The channel the BFD task publishes on.
pub fn channel() -> (watch::Sender<BfdStatuses>, watch::Receiver<BfdStatuses>) {
    watch::channel(Arc::new(Vec::new()))
}

/// Whether the session `name` is up in `statuses` (a session not (yet) known is down, as
/// keepalived's tracked BFD starts down).
pub fn is_up(statuses: &[BfdSessionStatus], name: &str) -> bool {
    statuses.iter().any(|s| s.name == name && s.is_up())
}
