//! Fuzz target: the VRRP decoders never panic on any input, and every advert they accept
//! re-encodes to the very bytes it was decoded from (AH adverts and set reserved bits
//! aside: their bytes are not a function of the decoded values alone).
#![no_main]

use std::net::IpAddr;

use kad_vrrp::packet::{
    AdvertSpec, Advertisement, AuthConfig, AuthType, ChecksumMode, DecodeOptions, ReplayGuard,
    RxMeta, decode_ethernet, decode_ipv4, decode_vrrp, encode_vrrp_vec,
};
use libfuzzer_sys::fuzz_target;

fn check(adv: &Advertisement<'_>, opts: &DecodeOptions) {
    let addresses: Vec<IpAddr> = adv.addresses().collect();
    assert_eq!(addresses.len(), usize::from(adv.count()));
    assert_ne!(adv.advert_interval_cs(), 0);
    let mut guard = ReplayGuard::new();
    for config in [
        AuthConfig::None,
        AuthConfig::pass(b"nltest51"),
        AuthConfig::ah(b"nltest51"),
    ] {
        let _ = adv.authenticate(&config, &mut guard, std::time::Instant::now());
    }
    let auth = match (adv.auth_type(), adv.auth_data()) {
        (AuthType::Ah, _) => return,
        (AuthType::Pass, Some(data)) => AuthConfig::Pass(*data),
        (AuthType::None, Some(data)) if data != &[0; 8] => return,
        _ => AuthConfig::None,
    };
    if adv.reserved() != 0 {
        return;
    }
    let spec = AdvertSpec {
        version: adv.version(),
        vrid: adv.vrid(),
        priority: adv.priority(),
        interval_cs: adv.advert_interval_cs(),
        addresses: &addresses,
        auth,
        ah_seq: 0,
        src: adv.src(),
        dst: adv.dst(),
        checksum: opts.checksum,
    };
    let encoded = encode_vrrp_vec(&spec).expect("a decoded advert is encodable");
    assert_eq!(encoded, adv.vrrp_bytes(), "re-encoding differs");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions {
        checksum: if selector & 1 == 0 {
            ChecksumMode::PseudoHeader
        } else {
            ChecksumMode::AsV2
        },
        check_ttl: selector & 2 == 0,
    };
    if let Ok(adv) = decode_ethernet(rest, &opts) {
        check(&adv, &opts);
    }
    if let Ok(adv) = decode_ipv4(rest, &opts) {
        check(&adv, &opts);
    }
    let meta = if selector & 4 == 0 {
        RxMeta {
            src: IpAddr::from([10, 77, 0, 1]),
            dst: IpAddr::from([224, 0, 0, 18]),
            ttl: 255,
        }
    } else {
        let mut src = [0u8; 16];
        src[0] = 0xfe;
        src[1] = 0x80;
        src[15] = selector;
        let mut dst = [0u8; 16];
        dst[0] = 0xff;
        dst[1] = 0x02;
        dst[15] = 0x12;
        RxMeta {
            src: IpAddr::from(src),
            dst: IpAddr::from(dst),
            ttl: 255,
        }
    };
    if let Ok(adv) = decode_vrrp(rest, meta, &opts) {
        check(&adv, &opts);
    }
});
