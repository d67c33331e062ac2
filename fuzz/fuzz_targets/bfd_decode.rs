//! Fuzz target: the BFD control packet decoder never panics on any input; every packet it
//! accepts passes the RFC 5880 §6.8.6 checks and re-encodes to the bytes it was decoded from
//! (the length field aside: the encoder always writes 24); a session fed the packet never
//! panics either.
#![no_main]

use std::time::{Duration, Instant};

use kad_bfd::packet::{CONTROL_LEN, ControlPacket, State};
use kad_bfd::session::{Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ControlPacket::decode(data) else {
        return;
    };
    assert!(data.len() >= CONTROL_LEN);
    assert!(usize::from(data[3]) >= CONTROL_LEN && usize::from(data[3]) <= data.len());
    assert_eq!(packet.check(), Ok(()));
    assert_ne!(packet.detect_mult, 0);
    assert_ne!(packet.my_discriminator, 0);
    assert!(!packet.authentication && !packet.multipoint);
    assert!(
        packet.your_discriminator != 0 || matches!(packet.state, State::Down | State::AdminDown)
    );
    let encoded = packet.encode();
    assert_eq!(encoded[..3], data[..3], "re-encoding differs");
    assert_eq!(usize::from(encoded[3]), CONTROL_LEN);
    assert_eq!(encoded[4..], data[4..CONTROL_LEN], "re-encoding differs");
    assert_eq!(ControlPacket::decode(&encoded), Ok(packet));

    // The session takes any accepted packet, as a peer's, twice and after a timeout.
    let now = Instant::now();
    let config = SessionConfig {
        passive: data.len() % 2 == 0,
        ..SessionConfig::default()
    };
    let mut session = Session::new(config, packet.your_discriminator.max(1), 0, now);
    let _ = session.receive(now, &packet);
    let later = now + Duration::from_millis(u64::from(data[2]));
    let _ = session.timeout(later);
    let _ = session.receive(later, &packet);
    if let Some(deadline) = session.next_deadline() {
        let _ = session.timeout(deadline);
    }
});
