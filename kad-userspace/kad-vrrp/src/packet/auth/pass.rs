//! RFC 3768 §5.3.6.1: simple text password (Auth Type 1).

use kad_common::vrrp_wire::VRRP_V2_AUTH_DATA_LEN;

/// RFC 3768 §7.1: whether the received Authentication Data equals the configured password.
/// Compared without an early exit, so the time taken does not tell which byte differed.
pub fn pass_matches(
    received: &[u8; VRRP_V2_AUTH_DATA_LEN],
    configured: &[u8; VRRP_V2_AUTH_DATA_LEN],
) -> bool {
    received
        .iter()
        .zip(configured)
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_passwords_match_and_any_differing_byte_does_not() {
        let configured = *b"nltest51";
        assert!(pass_matches(b"nltest51", &configured));
        for i in 0..VRRP_V2_AUTH_DATA_LEN {
            let mut other = configured;
            other[i] ^= 0x20;
            assert!(!pass_matches(&other, &configured), "byte {i}");
        }
    }
}
