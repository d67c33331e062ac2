//! Builds kad's XDP object (crate `kad-ebpf`) for `bpfel-unknown-none`, so that `src/xdp/` can
//! embed it with `include_bytes_aligned!`.
//!
//! The eBPF side is compiled by Debian's `rustc-web`, which ships a prebuilt `core` for the
//! BPF targets (package `libstd-rust-web-dev-bpf`); `cargo xtask setup` links it into rustup as
//! the toolchain named below. See docs/development.md, "Toolchain".
//!
//! Written by hand rather than with `aya_build::build_ebpf` (which this replaces) for two
//! reasons: aya-build compiles into `OUT_DIR`, which differs per feature set and profile, so
//! the same object was compiled again for `kad` and for the tests' `kad-demo` (~35 s each); and
//! it relays every line of the inner cargo's progress as a `cargo:warning`, burying a
//! newcomer's first build under ~60 lines. Here the object is built once into
//! `<target>/kad-ebpf/` (shared by every profile and feature set; the inner cargo's own
//! freshness check makes a second build a no-op), and only the eBPF crate's compiler
//! diagnostics are relayed.

use std::{
    env,
    ffi::OsString,
    fs,
    io::{BufReader, Read as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{Artifact, Message};

/// Rustup toolchain that `cargo xtask setup` links to Debian's compiler.
const DEFAULT_TOOLCHAIN: &str = "kad-bpf";
/// The eBPF target; the object is little-endian like every host kad runs on.
const BPF_TARGET: &str = "bpfel-unknown-none";
/// The eBPF crate and its binary (the object `src/xdp/` embeds).
const EBPF_PACKAGE: &str = "kad-ebpf";

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed=KAD_BPF_TOOLCHAIN");
    println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
    let toolchain = env::var("KAD_BPF_TOOLCHAIN").unwrap_or_else(|_| DEFAULT_TOOLCHAIN.into());
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR")?);
    let object = out_dir.join(EBPF_PACKAGE);

    // The object depends on the eBPF crate and the map/record types it shares with userspace.
    for dir in ["../kad-ebpf", "../kad-common"] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(dir).display()
        );
    }

    if env::var_os("AYA_BUILD_SKIP").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        // For tools that only type-check (the object's contents do not matter to them).
        fs::write(&object, []).context("writing an empty eBPF object")?;
        return Ok(());
    }

    check_toolchain(&toolchain)?;
    let built = build_object(
        &toolchain,
        &manifest_dir.join("../kad-ebpf"),
        &shared_target_dir(&out_dir),
    )?;
    fs::copy(&built, &object)
        .with_context(|| format!("copying {} to {}", built.display(), object.display()))?;
    Ok(())
}

/// `<target>/kad-ebpf`: beside the profile directories, so every profile and feature set of
/// kad-userspace shares one eBPF build. OUT_DIR is `<target>[/<triple>]/<profile>/build/<unit>/out`.
fn shared_target_dir(out_dir: &Path) -> PathBuf {
    out_dir.ancestors().nth(4).map_or_else(
        || out_dir.join("ebpf-target"),
        |target| target.join(EBPF_PACKAGE),
    )
}

fn check_toolchain(toolchain: &str) -> anyhow::Result<()> {
    let probe = Command::new("rustup")
        .args([
            "run",
            toolchain,
            "rustc",
            "--print",
            "target-libdir",
            "--target",
            BPF_TARGET,
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => bail!(
            "the eBPF toolchain `{toolchain}` is not usable ({}): run `cargo xtask setup`",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => bail!("cannot run rustup ({err}): run `cargo xtask setup`"),
    }
}

/// Runs `cargo build --release --target bpfel-unknown-none -p kad-ebpf` with the eBPF
/// toolchain and returns the path of the built object.
fn build_object(toolchain: &str, ebpf_dir: &Path, target_dir: &Path) -> anyhow::Result<PathBuf> {
    // `--cfg bpf_target_arch`, BTF in the object (aya reads it), joined as cargo's encoded flags.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").context("CARGO_CFG_TARGET_ARCH")?;
    let rustflags: OsString = [
        format!("--cfg=bpf_target_arch=\"{arch}\""),
        "-Cdebuginfo=2".into(),
        "-Clink-arg=--btf".into(),
    ]
    .join("\x1f")
    .into();
    let mut cargo = Command::new("rustup");
    cargo
        .args([
            "run",
            toolchain,
            "cargo",
            "build",
            "--package",
            EBPF_PACKAGE,
            "--bins",
            "--release",
        ])
        .args(["--target", BPF_TARGET, "--message-format=json", "--quiet"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(ebpf_dir)
        // aya-ebpf needs `asm_experimental_arch`: unstable features for that crate only (the
        // prebuilt core means no `-Z build-std`).
        .env("RUSTC_BOOTSTRAP", "aya_ebpf")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        // The outer build's compiler and wrappers are not the eBPF toolchain's.
        .env_remove("RUSTC")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cargo
        .spawn()
        .context("cannot start the eBPF build (rustup run … cargo)")?;
    let stderr = child.stderr.take().context("eBPF build stderr")?;
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });

    let stdout = child.stdout.take().context("eBPF build stdout")?;
    let mut object = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.context("the eBPF build printed invalid JSON")? {
            Message::CompilerArtifact(Artifact {
                executable: Some(path),
                target,
                ..
            }) if target.name == EBPF_PACKAGE => {
                object = Some(path.into_std_path_buf());
            }
            // The eBPF crate's own warnings and errors, shown by the outer cargo.
            Message::CompilerMessage(message) => {
                for line in message.message.rendered.unwrap_or_default().lines() {
                    println!("cargo:warning={line}");
                }
            }
            _ => {}
        }
    }
    let status = child.wait().context("waiting for the eBPF build")?;
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        bail!("the eBPF build failed ({status}):\n{stderr}");
    }
    object.context("the eBPF build produced no kad-ebpf object")
}
