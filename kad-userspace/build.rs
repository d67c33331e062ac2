//! Builds kad's XDP object (crate `kad-ebpf`) for `bpfel-unknown-none` with aya-build, so that
//! `src/xdp/` can embed it with `include_bytes_aligned!`.
//!
//! The eBPF side is compiled by Debian's `rustc-web`, which ships a prebuilt `core` for the
//! BPF targets (package `libstd-rust-web-dev-bpf`); `cargo xtask setup` links it into rustup as
//! the toolchain named below. See README.md, "Toolchain".

use std::{env, path::PathBuf, process::Command};

use anyhow::{Context as _, bail};
use aya_build::{Package, Toolchain};

/// Rustup toolchain that `cargo xtask setup` links to Debian's compiler.
const DEFAULT_TOOLCHAIN: &str = "kad-bpf";

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=KAD_BPF_TOOLCHAIN");
    let toolchain = env::var("KAD_BPF_TOOLCHAIN").unwrap_or_else(|_| DEFAULT_TOOLCHAIN.into());
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let ebpf_dir = manifest_dir.join("../kad-ebpf");
    let ebpf_dir = ebpf_dir.to_str().context("non-UTF-8 path to kad-ebpf")?;

    if env::var_os("AYA_BUILD_SKIP").is_none() {
        let probe = Command::new("rustup")
            .args([
                "run",
                &toolchain,
                "rustc",
                "--print",
                "target-libdir",
                "--target",
            ])
            .arg("bpfel-unknown-none")
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            Ok(out) => bail!(
                "the eBPF toolchain `{toolchain}` is not usable ({}): run `cargo xtask setup`",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) => bail!("cannot run rustup ({err}): run `cargo xtask setup`"),
        }
    }

    // aya-ebpf needs `asm_experimental_arch`; enable unstable features for that crate only. This
    // also keeps aya-build from asking for `-Z build-std` (Debian ships a prebuilt core).
    // SAFETY: build scripts are single-threaded until this point.
    unsafe { env::set_var("RUSTC_BOOTSTRAP", "aya_ebpf") };
    aya_build::build_ebpf(
        [Package {
            name: "kad-ebpf",
            root_dir: ebpf_dir,
            ..Default::default()
        }],
        Toolchain::Custom(&toolchain),
    )
}
