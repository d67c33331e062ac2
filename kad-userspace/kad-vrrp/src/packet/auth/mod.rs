//! VRRPv2 authentication (RFC 3768 §5.3.6 and RFC 2338 §5.3.6): none, simple text
//! password, and keepalived's IPsec AH with HMAC-MD5-96, plus AH anti-replay.

pub mod ah;
pub mod pass;
pub mod replay;

use kad_common::vrrp_wire::{VRRP_AUTH_AH, VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_V2_AUTH_DATA_LEN};

/// RFC 3768 §5.3.6: the Auth Type field of a VRRPv2 advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// Type 0: no authentication (and always for VRRPv3).
    None,
    /// Type 1: simple text password.
    Pass,
    /// Type 2: IPsec Authentication Header.
    Ah,
}

impl AuthType {
    /// RFC 3768 §5.3.6: the wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            AuthType::None => VRRP_AUTH_NONE,
            AuthType::Pass => VRRP_AUTH_PASS,
            AuthType::Ah => VRRP_AUTH_AH,
        }
    }

    /// RFC 3768 §5.3.6: the type of a wire value, if it is one of the three defined.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            VRRP_AUTH_NONE => Some(AuthType::None),
            VRRP_AUTH_PASS => Some(AuthType::Pass),
            VRRP_AUTH_AH => Some(AuthType::Ah),
            _ => None,
        }
    }
}

/// keepalived.conf `authentication { auth_type; auth_pass }`: the configured auth of an
/// instance. The secret is the password zero-padded (or cut) to 8 bytes, as keepalived keeps it.
/// `Debug` does not print the secret.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthConfig {
    /// No authentication (the only choice for VRRPv3).
    #[default]
    None,
    /// `auth_type PASS`: RFC 3768 §5.3.6.1 simple text password.
    Pass([u8; VRRP_V2_AUTH_DATA_LEN]),
    /// `auth_type AH`: IPsec AH with HMAC-MD5-96 keyed with the 8-byte password.
    Ah([u8; VRRP_V2_AUTH_DATA_LEN]),
}

impl AuthConfig {
    /// keepalived.conf `auth_type PASS` + `auth_pass`: the first 8 bytes, zero-padded.
    pub fn pass(password: &[u8]) -> Self {
        AuthConfig::Pass(pad_secret(password))
    }

    /// keepalived.conf `auth_type AH` + `auth_pass`: the first 8 bytes, zero-padded.
    pub fn ah(password: &[u8]) -> Self {
        AuthConfig::Ah(pad_secret(password))
    }

    /// The Auth Type this configuration puts on the wire.
    pub fn auth_type(&self) -> AuthType {
        match self {
            AuthConfig::None => AuthType::None,
            AuthConfig::Pass(_) => AuthType::Pass,
            AuthConfig::Ah(_) => AuthType::Ah,
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthConfig::None => "None",
            AuthConfig::Pass(_) => "Pass(<secret>)",
            AuthConfig::Ah(_) => "Ah(<secret>)",
        })
    }
}

/// keepalived keeps `auth_pass` in an 8-byte field: longer passwords are cut, shorter ones
/// zero-padded.
fn pad_secret(password: &[u8]) -> [u8; VRRP_V2_AUTH_DATA_LEN] {
    let mut out = [0u8; VRRP_V2_AUTH_DATA_LEN];
    for (slot, byte) in out.iter_mut().zip(password) {
        *slot = *byte;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_cut_or_padded_to_eight_bytes() {
        assert_eq!(
            AuthConfig::pass(b"nltest51"),
            AuthConfig::Pass(*b"nltest51")
        );
        assert_eq!(
            AuthConfig::pass(b"nltest51-too-long"),
            AuthConfig::Pass(*b"nltest51")
        );
        assert_eq!(AuthConfig::ah(b"abc"), AuthConfig::Ah(*b"abc\0\0\0\0\0"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!(
            "{:?} {:?}",
            AuthConfig::pass(b"nltest51"),
            AuthConfig::ah(b"nltest51")
        );
        assert!(
            !shown.contains("nltest51") && !shown.contains("110, 108"),
            "{shown}"
        );
    }

    #[test]
    fn auth_type_wire_values_round_trip() {
        for t in [AuthType::None, AuthType::Pass, AuthType::Ah] {
            assert_eq!(AuthType::from_wire(t.to_wire()), Some(t));
        }
        assert_eq!(AuthType::from_wire(3), None);
    }
}
