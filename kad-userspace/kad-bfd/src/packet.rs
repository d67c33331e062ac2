//! RFC 5880 §4.1 BFD control packet: decode (with the session-independent checks of
//! §6.8.6) and encode. The optional authentication section (§4.2–4.4) is not supported:
//! keepalived's BFD has none, so a packet with the A bit set is refused.

use std::ops::RangeInclusive;

/// RFC 5880 §4.1: the length of a control packet without authentication section.
pub const CONTROL_LEN: usize = 24;
/// RFC 5880 §4.1: the protocol version this codec speaks.
pub const VERSION: u8 = 1;
/// RFC 5881 §4: destination UDP port of single-hop control packets.
pub const PORT_SINGLE_HOP: u16 = 3784;
/// RFC 5883 §5: destination UDP port of multihop control packets.
pub const PORT_MULTI_HOP: u16 = 4784;
/// RFC 5881 §4: the source port range of control packets.
pub const SOURCE_PORTS: RangeInclusive<u16> = 49152..=65535;

// Byte 1 flags (RFC 5880 §4.1): Sta(2) P F C A D M.
const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

/// RFC 5880 §4.1 "Sta": a session state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// 0: administratively held down.
    AdminDown = 0,
    /// 1: down (or just created).
    Down = 1,
    /// 2: the remote system is heard, the three-way handshake is under way.
    Init = 2,
    /// 3: both ends see each other.
    Up = 3,
}

impl State {
    /// The state of the two "Sta" bits (only the low two bits of `bits` are read).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0x3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The two "Sta" bits.
    pub fn to_bits(self) -> u8 {
        self as u8
    }

    /// The name used in logs and status ("AdminDown", "Down", "Init", "Up").
    pub fn name(self) -> &'static str {
        match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// RFC 5880 §4.1 "Diag": why the sender's session last changed state (5 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0: No Diagnostic.
    None,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9–31: reserved values, kept as received.
    Other(u8),
}

impl Diag {
    /// The diagnostic of a 5-bit code (the high three bits of `code` are ignored).
    pub fn from_code(code: u8) -> Self {
        match code & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Other(other),
        }
    }

    /// The 5-bit code (an `Other` value is masked to 5 bits).
    pub fn code(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Other(code) => code & 0x1f,
        }
    }

    /// The RFC 5880 §4.1 wording, for logs and status.
    pub fn description(self) -> &'static str {
        match self {
            Diag::None => "No Diagnostic",
            Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
            Diag::EchoFunctionFailed => "Echo Function Failed",
            Diag::NeighborSignaledSessionDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdministrativelyDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
            Diag::Other(_) => "Reserved",
        }
    }
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Diag::Other(code) => write!(f, "Reserved ({})", code & 0x1f),
            other => f.write_str(other.description()),
        }
    }
}

/// Why a received control packet was refused. Each variant names the field that failed
/// (see [`DecodeError::field`]), so the runtime and XDP can count drops per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer than [`CONTROL_LEN`] bytes received: not a control packet.
    #[error("BFD length: {received} bytes received, a control packet has at least 24")]
    Truncated {
        /// Bytes received.
        received: usize,
    },
    /// §6.8.6: the version field is not 1.
    #[error("BFD version: {0}, expected 1")]
    Version(u8),
    /// §6.8.6: the length field is below 24 or above the bytes received.
    #[error(
        "BFD length: field says {length}, {received} bytes received (need 24 ≤ length ≤ received)"
    )]
    Length {
        /// The length field.
        length: u8,
        /// Bytes received.
        received: usize,
    },
    /// §6.8.6: the detect multiplier is zero.
    #[error("BFD detect_mult: zero")]
    DetectMult,
    /// §6.8.6: the multipoint (M) bit is set.
    #[error("BFD multipoint: M bit set")]
    Multipoint,
    /// §6.8.6: my discriminator is zero.
    #[error("BFD my_discriminator: zero")]
    MyDiscriminator,
    /// §6.8.6: your discriminator is zero while the state is Init or Up.
    #[error("BFD your_discriminator: zero in state {0}")]
    YourDiscriminator(State),
    /// §6.8.6: the authentication (A) bit is set; kad (like keepalived) has no BFD
    /// authentication.
    #[error("BFD authentication: A bit set, authentication is not supported")]
    Authentication,
}

impl DecodeError {
    /// The name of the field that failed, as a counter label ("length", "version",
    /// "detect_mult", "multipoint", "my_discriminator", "your_discriminator",
    /// "authentication").
    pub fn field(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } | DecodeError::Length { .. } => "length",
            DecodeError::Version(_) => "version",
            DecodeError::DetectMult => "detect_mult",
            DecodeError::Multipoint => "multipoint",
            DecodeError::MyDiscriminator => "my_discriminator",
            DecodeError::YourDiscriminator(_) => "your_discriminator",
            DecodeError::Authentication => "authentication",
        }
    }
}

/// RFC 5880 §4.1: a BFD control packet (mandatory section; intervals in microseconds as on
/// the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    /// Diag: the sender's reason for its last state change.
    pub diag: Diag,
    /// Sta: the sender's session state.
    pub state: State,
    /// P: the sender asks for a Final (a Poll Sequence, §6.5).
    pub poll: bool,
    /// F: the answer to a Poll.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// A: an authentication section follows (refused by [`ControlPacket::decode`]).
    pub authentication: bool,
    /// D: the sender wishes to use demand mode.
    pub demand: bool,
    /// M: reserved for multipoint, must be zero (refused by [`ControlPacket::decode`]).
    pub multipoint: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator: the sender's own discriminator (non-zero).
    pub my_discriminator: u32,
    /// Your Discriminator: the receiver's discriminator as known to the sender, or 0.
    pub your_discriminator: u32,
    /// Desired Min TX Interval (µs).
    pub desired_min_tx_us: u32,
    /// Required Min RX Interval (µs).
    pub required_min_rx_us: u32,
    /// Required Min Echo RX Interval (µs); 0 as kad has no echo function.
    pub required_min_echo_rx_us: u32,
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

impl ControlPacket {
    /// Decodes a control packet (the UDP payload) and applies the checks of RFC 5880 §6.8.6
    /// that do not depend on a session: version 1, 24 ≤ length ≤ bytes received, detect
    /// mult ≠ 0, M bit clear, my discriminator ≠ 0, your discriminator ≠ 0 unless the state
    /// is Down or AdminDown, A bit clear. Bytes beyond the length field are ignored (the
    /// caller's UDP length bounds `bytes`).
    pub fn decode(bytes: &[u8]) -> Result<ControlPacket, DecodeError> {
        let header: &[u8; CONTROL_LEN] = bytes
            .get(..CONTROL_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::Truncated {
            received: bytes.len(),
        })?;
        let version = header[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let length = header[3];
        if usize::from(length) < CONTROL_LEN || usize::from(length) > bytes.len() {
            return Err(DecodeError::Length {
                length,
                received: bytes.len(),
            });
        }
        let flags = header[1];
        let packet = ControlPacket {
            diag: Diag::from_code(header[0]),
            state: State::from_bits(flags >> 6),
            poll: flags & FLAG_POLL != 0,
            final_: flags & FLAG_FINAL != 0,
            control_plane_independent: flags & FLAG_CPI != 0,
            authentication: flags & FLAG_AUTH != 0,
            demand: flags & FLAG_DEMAND != 0,
            multipoint: flags & FLAG_MULTIPOINT != 0,
            detect_mult: header[2],
            my_discriminator: be_u32(header, 4),
            your_discriminator: be_u32(header, 8),
            desired_min_tx_us: be_u32(header, 12),
            required_min_rx_us: be_u32(header, 16),
            required_min_echo_rx_us: be_u32(header, 20),
        };
        packet.check()?;
        Ok(packet)
    }

    /// RFC 5880 §6.8.6, in its order: the session-independent checks on the decoded fields
    /// (everything [`ControlPacket::decode`] checks but the version and the length).
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.detect_mult == 0 {
            return Err(DecodeError::DetectMult);
        }
        if self.multipoint {
            return Err(DecodeError::Multipoint);
        }
        if self.my_discriminator == 0 {
            return Err(DecodeError::MyDiscriminator);
        }
        if self.your_discriminator == 0 && !matches!(self.state, State::Down | State::AdminDown) {
            return Err(DecodeError::YourDiscriminator(self.state));
        }
        // §6.8.6: "If the A bit is set and no authentication is in use ... MUST be
        // discarded"; kad has none (as keepalived).
        if self.authentication {
            return Err(DecodeError::Authentication);
        }
        Ok(())
    }

    /// The 24 bytes of this packet (version 1, length 24). The fields are written as they
    /// are: the caller keeps A and M clear.
    pub fn encode(&self) -> [u8; CONTROL_LEN] {
        let mut out = [0u8; CONTROL_LEN];
        out[0] = (VERSION << 5) | self.diag.code();
        let mut flags = self.state.to_bits() << 6;
        for (set, bit) in [
            (self.poll, FLAG_POLL),
            (self.final_, FLAG_FINAL),
            (self.control_plane_independent, FLAG_CPI),
            (self.authentication, FLAG_AUTH),
            (self.demand, FLAG_DEMAND),
            (self.multipoint, FLAG_MULTIPOINT),
        ] {
            if set {
                flags |= bit;
            }
        }
        out[1] = flags;
        out[2] = self.detect_mult;
        out[3] = CONTROL_LEN as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[12..16].copy_from_slice(&self.desired_min_tx_us.to_be_bytes());
        out[16..20].copy_from_slice(&self.required_min_rx_us.to_be_bytes());
        out[20..24].copy_from_slice(&self.required_min_echo_rx_us.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests;
