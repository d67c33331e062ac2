//! Fuzzes what real servers answer kad's health checkers: the first byte picks the checker,
//! the rest is the server's reply. HTTP_GET's exchange (hyper's parser, then kad's body
//! reading and judging) and SMTP_CHECK's conversation read it as the server's side of the
//! stream; DNS_CHECK judges it as the datagram answering query id 0x4b41; UDP_CHECK
//! judges it against a `require_reply` pattern and length bounds also taken from the input.
//! None of them may panic, whatever a real server sends.
#![no_main]

use std::sync::OnceLock;

use kad::check::{dns, http, smtp, udp};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt as _;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime without IO or timers builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, reply)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let _ = runtime().block_on(smtp::conversation(reply, tokio::io::sink(), "fuzz"));
        }
        1 => {
            let Ok((_, rtype)) = dns::DnsQuery::parse("SOA", ".") else {
                return;
            };
            let _ = dns::judge(reply, 0x4b41, rtype, ".");
        }
        3 => {
            let reply = reply.to_vec();
            let page = runtime().block_on(async move {
                let (client, mut server) = tokio::io::duplex(4096);
                tokio::spawn(async move {
                    let _ = server.write_all(&reply).await;
                    let _ = server.shutdown().await;
                });
                let need = http::BodyUse {
                    digest: true,
                    keep: true,
                };
                let protocol = http::HttpProtocol::default();
                http::get(client, "10.0.0.1:80", "/", protocol, need).await
            });
            if let Ok(page) = page {
                let url = http::UrlSpec {
                    path: "/".into(),
                    digest: Some("00112233445566778899aabbccddeeff".into()),
                    status: vec![(200, 299)],
                    virtualhost: None,
                    regex: None,
                    regex_no_match: false,
                    regex_min_offset: 0,
                    regex_max_offset: None,
                };
                let _ = http::judge(&url, None, &page);
                let _ = page.md5_hex();
            }
        }
        _ => {
            // [min, max, pattern length, pattern bytes (value, mask)…, reply…]
            let [min, max, count, rest @ ..] = reply else {
                return;
            };
            let split = (usize::from(*count) * 2).min(rest.len());
            let (pattern, reply) = rest.split_at(split);
            let spec = udp::UdpSpec {
                payload: None,
                require_reply: true,
                reply_pattern: Some(pattern.chunks(2).map(|p| (p[0], p[p.len() - 1])).collect()),
                min_reply: usize::from(*min),
                max_reply: usize::from(*max),
            };
            let _ = udp::judge(&spec, reply);
        }
    }
});
