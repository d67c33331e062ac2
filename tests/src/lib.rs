//! The test kit of kad's end-to-end tests; each helper a test needs exists once, here.
//!
//! - the daemon under test: [`kad_bin`] is `$KAD_BIN` or the debug build of the current
//!   source, built once per test process ([`daemon_binary`]): no test runs a stale daemon;
//! - skipping: [`skip_unless!`]`(Root)` and [`skip!`]`("why")` name the test from its function
//!   ([`test_name!`], [`privilege`]);
//! - labs and namespaces: [`lab::Lab`] (`Lab::with_hosts(tag, lab::ROUTERS)`, `lab::VIP`,
//!   `Lab::holds`), a host behind a router ([`routed`], `Lab::put_behind`), [`netns`],
//!   User-Mode Linux guests for IPVS ([`uml`]);
//! - configuration text: [`conf`] (`lab_instance`, `vrrp_instance`, `router_id`,
//!   `fast_instances`, `load_isolated`);
//! - fake servers that record what they saw: [`fake`] (HTTP, TLS, SMTP, mail, DNS, UDP, TCP);
//! - real BFD peers: [`bfd_peers`] (FRR bfdd through `Lab::start_frr_bfd`, keepalived's BFD
//!   through `Lab::start_keepalived_bfd`);
//! - keepalived.conf compatibility (`kad -t` beside `keepalived -t`): [`compat`];
//! - the operator interfaces: [`ops`] (`start_kad` with env and control socket,
//!   `status_json`, `signum`, `http_get` from a lab host, `wait_file`);
//! - scratch folders and scripts: [`scratch`]; captures and frames: [`capture`],
//!   [`xdp_frames`], [`advert_watch`], [`probe`]; load and benchmarks: [`load`], [`bench`](mod@bench).

pub mod advert_watch;
pub mod bench;
pub mod bfd_peers;
pub mod capture;
pub mod compat;
pub mod conf;
pub mod daemon_binary;
pub mod fake;
pub mod lab;
pub mod load;
pub mod netns;
pub mod ops;
pub mod packet_socket;
pub mod privilege;
pub mod probe;
pub mod routed;
pub mod scratch;
pub mod sim;
pub mod uml;
pub mod xdp_frames;

use std::path::PathBuf;

pub use daemon_binary::kad_bin;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Real VRRP captures from keepalived 2.2.7 and FRR 8.4.4 (copied from the lab's shared
/// vectors; see `tests/vectors/README.md`).
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}
