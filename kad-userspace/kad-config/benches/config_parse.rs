//! keepalived.conf parsing and validation at scale: 1,000 vrrp_instances and 1,000
//! virtual_servers (each with two real servers and a checker), generated.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's fixtures: a panic is a broken benchmark, not a crash of kad"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use kad_config::{AssumeAllExist, FsSource, LoadOptions, load_text};
use std::{fmt::Write as _, hint::black_box};

/// A configuration of `n` vrrp_instances and `n` virtual_servers.
fn generate(n: usize) -> String {
    let mut text = String::from(
        "global_defs {\n    router_id bench\n    enable_script_security\n    script_user nobody\n    vrrp_garp_master_delay 2\n}\n\nvrrp_script chk {\n    script \"/bin/true\"\n    interval 2\n    weight -10\n}\n\n",
    );
    for i in 0..n {
        let vrid = i % 255 + 1;
        let iface = i / 255;
        let _ = write!(
            text,
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{iface}\n    virtual_router_id {vrid}\n    priority {}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass pw{i}\n    }}\n    track_script {{\n        chk weight 5\n    }}\n    virtual_ipaddress {{\n        10.{}.{}.1/24 dev eth{iface} label eth{iface}:{vrid}\n    }}\n}}\n",
            i % 254 + 1,
            i / 256,
            i % 256,
        );
    }
    for i in 0..n {
        let _ = write!(
            text,
            "virtual_server 172.16.{}.{} 80 {{\n    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    persistence_timeout 50\n    protocol TCP\n    real_server 192.168.{}.{} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 3\n        }}\n    }}\n    real_server 192.168.{}.{} 8080 {{\n        weight 2\n        HTTP_GET {{\n            url {{\n                path /health\n                status_code 200\n            }}\n            connect_timeout 3\n        }}\n    }}\n}}\n",
            i / 256,
            i % 256,
            i / 256,
            i % 256,
            i / 256 + 100,
            i % 256,
        );
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = generate(1000);
    let options = LoadOptions::with_config_id("bench");
    // The configuration must load cleanly, or the figure would measure error paths.
    let loaded = load_text("bench.conf", &text, &options, &FsSource, &AssumeAllExist);
    assert_eq!(loaded.config.vrrp_instances.len(), 1000);
    assert_eq!(loaded.config.virtual_servers.len(), 1000);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics.first());
    c.bench_function("config_parse_1000_instances_1000_virtual_servers", |b| {
        b.iter(|| {
            black_box(load_text(
                "bench.conf",
                black_box(&text),
                &options,
                &FsSource,
                &AssumeAllExist,
            ))
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
