use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Control packets sent by Debian's keepalived 2.2.7 (`bfd_instance`, two peers in a netns
/// pair, captured with tcpdump): A has min_rx 100 min_tx 100 multiplier 3, B has min_rx
/// 200 min_tx 150 idle_tx 1500 multiplier 4.
const KEEPALIVED: &[(&str, &str)] = &[
    // A, Down, idle_tx 1 s while not Up (§6.8.3), your discriminator 0.
    ("a_down", "20400318b5ab6d0c00000000000f4240000186a000000000"),
    // B, Down, its idle_tx 1.5 s.
    ("b_down", "20400418487c02a3000000000016e36000030d4000000000"),
    // A, Init after hearing B.
    ("a_init", "20800318b5ab6d0c487c02a3000f4240000186a000000000"),
    // B, Up, Poll: min_tx 150 ms now that the session is Up.
    (
        "b_up_poll",
        "20e00418487c02a3b5ab6d0c000249f000030d4000000000",
    ),
    // A, Up, Final: the answer to B's Poll.
    (
        "a_up_final",
        "20d00318b5ab6d0c487c02a3000186a0000186a000000000",
    ),
    // B, Up, steady.
    ("b_up", "20c00418487c02a3b5ab6d0c000249f000030d4000000000"),
    // A, Down, diag 1 after B stopped (keepalived picked a new discriminator).
    (
        "a_expired",
        "21400318e74661d300000000000f4240000186a000000000",
    ),
];

fn vector(name: &str) -> Vec<u8> {
    let (_, bytes) = KEEPALIVED.iter().find(|(n, _)| *n == name).unwrap();
    hex(bytes)
}

fn valid() -> ControlPacket {
    ControlPacket::decode(&vector("b_up")).unwrap()
}

#[test]
fn keepalived_vectors_decode_and_round_trip() {
    for (name, bytes) in KEEPALIVED {
        let bytes = hex(bytes);
        let packet = ControlPacket::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(packet.encode().as_slice(), bytes.as_slice(), "{name}");
    }
    let down = ControlPacket::decode(&vector("a_down")).unwrap();
    assert_eq!(down.state, State::Down);
    assert_eq!(down.diag, Diag::None);
    assert_eq!(down.detect_mult, 3);
    assert_eq!(down.my_discriminator, 0xb5ab_6d0c);
    assert_eq!(down.your_discriminator, 0);
    assert_eq!(down.desired_min_tx_us, 1_000_000);
    assert_eq!(down.required_min_rx_us, 100_000);
    assert_eq!(down.required_min_echo_rx_us, 0);

    let poll = ControlPacket::decode(&vector("b_up_poll")).unwrap();
    assert_eq!(
        (poll.state, poll.poll, poll.final_),
        (State::Up, true, false)
    );
    assert_eq!(poll.your_discriminator, 0xb5ab_6d0c);
    assert_eq!(poll.desired_min_tx_us, 150_000);
    assert_eq!(poll.required_min_rx_us, 200_000);
    assert_eq!(poll.detect_mult, 4);

    let fin = ControlPacket::decode(&vector("a_up_final")).unwrap();
    assert_eq!((fin.state, fin.poll, fin.final_), (State::Up, false, true));

    let init = ControlPacket::decode(&vector("a_init")).unwrap();
    assert_eq!(init.state, State::Init);

    let expired = ControlPacket::decode(&vector("a_expired")).unwrap();
    assert_eq!(expired.diag, Diag::ControlDetectionTimeExpired);
    assert_eq!(expired.state, State::Down);
}

#[test]
fn round_trip_every_flag_state_and_diag() {
    for code in 0..32u8 {
        for state in [State::AdminDown, State::Down, State::Init, State::Up] {
            for flags in 0..16u8 {
                let packet = ControlPacket {
                    diag: Diag::from_code(code),
                    state,
                    poll: flags & 1 != 0,
                    final_: flags & 2 != 0,
                    control_plane_independent: flags & 4 != 0,
                    authentication: false,
                    demand: flags & 8 != 0,
                    multipoint: false,
                    detect_mult: 255,
                    my_discriminator: 0xdead_beef,
                    your_discriminator: 7,
                    desired_min_tx_us: 1,
                    required_min_rx_us: u32::MAX,
                    required_min_echo_rx_us: 50,
                };
                let bytes = packet.encode();
                assert_eq!(ControlPacket::decode(&bytes), Ok(packet));
                assert_eq!(Diag::from_code(code).code(), code);
            }
        }
    }
}

#[test]
fn longer_length_field_and_trailing_bytes_are_accepted() {
    // §6.8.6: only a length below the minimum or above the payload is refused.
    let mut bytes = vector("b_up");
    bytes.extend_from_slice(&[0; 8]);
    bytes[3] = 28;
    assert_eq!(ControlPacket::decode(&bytes), Ok(valid()));
}

#[test]
fn truncated() {
    let bytes = vector("b_up");
    for len in 0..CONTROL_LEN {
        let err = ControlPacket::decode(&bytes[..len]).unwrap_err();
        assert_eq!(err, DecodeError::Truncated { received: len });
        assert_eq!(err.field(), "length");
    }
}

#[test]
fn version() {
    for version in [0u8, 2, 7] {
        let mut bytes = vector("b_up");
        bytes[0] = (version << 5) | (bytes[0] & 0x1f);
        let err = ControlPacket::decode(&bytes).unwrap_err();
        assert_eq!(err, DecodeError::Version(version));
        assert_eq!(err.field(), "version");
    }
}

#[test]
fn length_field() {
    let mut bytes = vector("b_up");
    bytes[3] = 23;
    let err = ControlPacket::decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Length {
            length: 23,
            received: 24
        }
    );
    assert_eq!(err.field(), "length");
    bytes[3] = 25;
    assert_eq!(
        ControlPacket::decode(&bytes),
        Err(DecodeError::Length {
            length: 25,
            received: 24
        })
    );
    bytes[3] = 0;
    assert!(matches!(
        ControlPacket::decode(&bytes),
        Err(DecodeError::Length { length: 0, .. })
    ));
}

#[test]
fn detect_mult() {
    let mut bytes = vector("b_up");
    bytes[2] = 0;
    let err = ControlPacket::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::DetectMult);
    assert_eq!(err.field(), "detect_mult");
}

#[test]
fn multipoint() {
    let mut bytes = vector("b_up");
    bytes[1] |= 0x01;
    let err = ControlPacket::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::Multipoint);
    assert_eq!(err.field(), "multipoint");
}

#[test]
fn my_discriminator() {
    let mut bytes = vector("b_up");
    bytes[4..8].fill(0);
    let err = ControlPacket::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::MyDiscriminator);
    assert_eq!(err.field(), "my_discriminator");
}

#[test]
fn your_discriminator_zero_only_while_down() {
    for state in [State::Init, State::Up] {
        let mut bytes = vector("b_up");
        bytes[1] = (bytes[1] & 0x3f) | (state.to_bits() << 6);
        bytes[8..12].fill(0);
        let err = ControlPacket::decode(&bytes).unwrap_err();
        assert_eq!(err, DecodeError::YourDiscriminator(state));
        assert_eq!(err.field(), "your_discriminator");
    }
    for state in [State::AdminDown, State::Down] {
        let mut bytes = vector("b_up");
        bytes[1] = (bytes[1] & 0x3f) | (state.to_bits() << 6);
        bytes[8..12].fill(0);
        assert_eq!(ControlPacket::decode(&bytes).unwrap().state, state);
    }
}

#[test]
fn authentication_is_refused() {
    // With an authentication section appended: still refused, kad has no BFD auth.
    let mut bytes = vector("b_up");
    bytes[1] |= 0x04;
    bytes[3] = 24 + 11;
    bytes.extend_from_slice(&[1, 11, 1, b'k', b'a', b'd', b'-', b'b', b'f', b'd', b'!']);
    let err = ControlPacket::decode(&bytes).unwrap_err();
    assert_eq!(err, DecodeError::Authentication);
    assert_eq!(err.field(), "authentication");
    assert!(err.to_string().contains("authentication"));
}

#[test]
fn error_messages_name_the_field() {
    let cases = [
        DecodeError::Truncated { received: 3 },
        DecodeError::Version(2),
        DecodeError::Length {
            length: 3,
            received: 24,
        },
        DecodeError::DetectMult,
        DecodeError::Multipoint,
        DecodeError::MyDiscriminator,
        DecodeError::YourDiscriminator(State::Up),
        DecodeError::Authentication,
    ];
    for err in cases {
        assert!(err.to_string().contains(err.field()), "{err}");
    }
}

#[test]
fn ports() {
    assert_eq!(PORT_SINGLE_HOP, 3784);
    assert_eq!(PORT_MULTI_HOP, 4784);
    assert!(SOURCE_PORTS.contains(&49152) && !SOURCE_PORTS.contains(&49151));
}
