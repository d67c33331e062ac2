//! `cargo xtask setup`: make a fresh machine of this project's kind able to build and test kad.
//! Every step checks first and installs only what is missing, saying what it does.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// Debian packages kad's build and tests need, with the reason for each.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("rustc-web", "Debian's rustc, the compiler of the eBPF side"),
    (
        "cargo-web",
        "Debian's cargo, driven by kad-userspace/build.rs",
    ),
    (
        "libstd-rust-web-dev-bpf",
        "prebuilt core for bpfel-unknown-none",
    ),
    ("llvm-22-dev", "libLLVM 22 for bpf-linker"),
    ("bpftool", "inspecting loaded programs"),
    ("iproute2", "network namespaces and veths for the lab tests"),
    ("iputils-ping", "probing VIPs from lab clients"),
    ("ethtool", "interface offload settings in the lab"),
    ("nftables", "packet-loss injection in the lab"),
    ("tcpdump", "capturing lab traffic"),
    (
        "keepalived",
        "reference peer (VRRP, BFD) and `keepalived -t` for config tests",
    ),
    (
        "frr",
        "FRR vrrpd and bfdd, the second reference peer (VRRP, BFD)",
    ),
    (
        "user-mode-linux",
        "a kernel with IPVS for kad's LVS tests (tests/src/uml.rs)",
    ),
    ("ipvsadm", "reading the IPVS table in the UML guest"),
    ("busybox-static", "the UML guest's init and shell"),
    (
        "fonts-dejavu-core",
        "the font of the failover benchmark's plot (kad-bench)",
    ),
];

/// cargo-deb release that `cargo xtask package` uses.
const CARGO_DEB_VERSION: &str = "3.8.0";

/// bpf-linker release that builds against llvm-22 (see docs/development.md, "Toolchain").
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Rustup name under which Debian's compiler is linked for kad-userspace/build.rs.
const BPF_TOOLCHAIN: &str = "kad-bpf";

pub fn run() -> Result<()> {
    apt_packages()?;
    bpf_linker()?;
    bpf_toolchain()?;
    cargo_fuzz()?;
    cargo_deb()?;
    println!("xtask: setup complete");
    Ok(())
}

fn is_root() -> bool {
    cmd::output(Command::new("id").arg("-u"))
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as root: directly when we are root, through sudo otherwise.
fn as_root(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut command = Command::new("sudo");
        command.arg(program);
        command
    }
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(name, _)| !dpkg_installed(name))
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        println!("xtask: apt packages present");
        return Ok(());
    }
    for (name, why) in APT_PACKAGES
        .iter()
        .filter(|(name, _)| missing.contains(name))
    {
        println!("xtask: installing {name} ({why})");
    }
    // Keep packaged daemons (keepalived, frr) from starting on this machine's interfaces:
    // kad's tests run them only inside their own network namespaces.
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let wrote_policy = !policy.exists();
    if wrote_policy {
        write_policy_rc(policy)?;
    }
    let result = cmd::run(as_root("apt-get").args(["update", "-qq"])).and_then(|()| {
        cmd::run(
            as_root("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&missing),
        )
    });
    if wrote_policy {
        let _ = cmd::output(as_root("rm").args(["-f", "/usr/sbin/policy-rc.d"]));
    }
    result
}

fn write_policy_rc(path: &Path) -> Result<()> {
    const POLICY: &str =
        "#!/bin/sh\n# written by kad's cargo xtask setup during apt-get install\nexit 101\n";
    if is_root() {
        fs::write(path, POLICY).with_context(|| format!("writing {}", path.display()))?;
        cmd::run(Command::new("chmod").args(["0755", &path.to_string_lossy()]))
    } else {
        let tmp = std::env::temp_dir().join("kad-policy-rc.d");
        fs::write(&tmp, POLICY)?;
        cmd::run(as_root("install").args(["-m", "0755"]).arg(&tmp).arg(path))
    }
}

fn dpkg_installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${db:Status-Status}", package]))
        .is_ok_and(|out| out.status.success() && out.stdout == b"installed")
}

fn bpf_linker() -> Result<()> {
    let present = cmd::output(Command::new("bpf-linker").arg("--version"))
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(BPF_LINKER_VERSION));
    if present {
        println!("xtask: bpf-linker {BPF_LINKER_VERSION} present");
        return Ok(());
    }
    println!("xtask: building bpf-linker {BPF_LINKER_VERSION} against llvm-22 (about 90 s)");
    cmd::run(
        cmd::cargo()
            .env("LLVM_PREFIX", "/usr/lib/llvm-22")
            .args(["install", "--locked"])
            .arg(format!("bpf-linker@{BPF_LINKER_VERSION}"))
            .args(["--no-default-features", "--features", "llvm-22"]),
    )
}

/// Links Debian's rustc/cargo into rustup as `kad-bpf`: build.rs runs `rustup run kad-bpf
/// cargo build --target bpfel-unknown-none`, and Debian's compiler has the prebuilt BPF core.
fn bpf_toolchain() -> Result<()> {
    if bpf_toolchain_usable() {
        println!("xtask: rustup toolchain {BPF_TOOLCHAIN} present");
        return Ok(());
    }
    let dir = toolchain_dir()?;
    println!(
        "xtask: linking Debian's compiler as rustup toolchain {BPF_TOOLCHAIN} ({})",
        dir.display()
    );
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    // rustup wants a lib folder; the compiler finds its sysroot from /usr/bin/rustc.
    fs::create_dir_all(dir.join("lib"))?;
    for tool in ["rustc", "cargo"] {
        let link = bin.join(tool);
        let _ = fs::remove_file(&link);
        symlink(Path::new("/usr/bin").join(tool), &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    cmd::run(
        Command::new("rustup")
            .args(["toolchain", "link", BPF_TOOLCHAIN])
            .arg(&dir),
    )?;
    if !bpf_toolchain_usable() {
        bail!("toolchain {BPF_TOOLCHAIN} still cannot target bpfel-unknown-none");
    }
    Ok(())
}

fn bpf_toolchain_usable() -> bool {
    cmd::succeeds(
        Command::new("rustup")
            .args(["run", BPF_TOOLCHAIN, "rustc", "--print"])
            .args(["target-libdir", "--target", "bpfel-unknown-none"]),
    )
}

fn toolchain_dir() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".local/share/kad/bpf-toolchain"))
}

fn cargo_fuzz() -> Result<()> {
    // cargo fuzz builds with sanitizers, which need the nightly compiler the image ships.
    if !cmd::succeeds(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])) {
        println!("xtask: installing the nightly toolchain (needed by cargo fuzz)");
        cmd::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if cmd::succeeds(cmd::cargo().args(["fuzz", "--version"])) {
        println!("xtask: cargo-fuzz present");
        return Ok(());
    }
    println!("xtask: installing cargo-fuzz (about 60 s)");
    cmd::run(cmd::cargo().args(["install", "--locked", "cargo-fuzz@0.13.2"]))
}

/// cargo-deb, which `cargo xtask package` (and the ops_package test) builds the .deb with.
fn cargo_deb() -> Result<()> {
    let present = cmd::output(cmd::cargo().args(["deb", "--version"]))
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(CARGO_DEB_VERSION));
    if present {
        println!("xtask: cargo-deb {CARGO_DEB_VERSION} present");
        return Ok(());
    }
    println!("xtask: installing cargo-deb {CARGO_DEB_VERSION} (about 60 s)");
    cmd::run(
        cmd::cargo()
            .args(["install", "--locked"])
            .arg(format!("cargo-deb@{CARGO_DEB_VERSION}")),
    )
}
