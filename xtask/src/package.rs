//! `cargo xtask man` and `cargo xtask package`: kad's man pages (clap_mangen, from the
//! binary's own command line) and its Debian package (cargo-deb, metadata in
//! kad-userspace/Cargo.toml under `[package.metadata.deb]`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// The cargo target directory (`CARGO_TARGET_DIR`, else the workspace's `target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cmd::workspace_root().join("target"))
}

/// Where the man pages go: beside the release binary, where the package's assets
/// (`target/release/man/*.8.gz`, gzipped by `cargo xtask package`) expect them.
pub fn man_dir() -> PathBuf {
    target_dir().join("release").join("man")
}

/// Where the package's documentation goes, gzipped: beside the release binary, where the
/// package's assets (`target/release/doc/*.gz`) expect it.
pub fn doc_dir() -> PathBuf {
    target_dir().join("release").join("doc")
}

/// The files shipped in /usr/share/doc/kad/ (gzipped, Debian policy §12.3), from the
/// workspace root.
const DOCS: &[&str] = &[
    "README.md",
    "docs/config-compat.md",
    "docs/features.md",
    "docs/keywords.md",
    "docs/lvs.md",
    "docs/operations.md",
    "docs/security.md",
    "docs/status.schema.json",
];

/// Writes `kad.8` and a page per subcommand into [`man_dir`] (the `kad-man` example, built
/// in release mode so that it shares the release build of the library).
pub fn man() -> Result<()> {
    let dir = man_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    cmd::run(
        cmd::cargo()
            .args(["run", "--quiet", "--release", "-p", "kad-userspace"])
            .args(["--example", "kad-man", "--"])
            .arg(&dir),
    )?;
    println!("xtask: man pages in {}", dir.display());
    Ok(())
}

/// `gzip -9n` (no name or time stamp: the same input gives the same archive) of `file`
/// into `out_dir`, as `NAME.gz`.
fn gzip_into(file: &Path, out_dir: &Path) -> Result<()> {
    let name = file
        .file_name()
        .with_context(|| format!("{} has no file name", file.display()))?;
    let mut gz_name = name.to_os_string();
    gz_name.push(".gz");
    let out = std::fs::File::create(out_dir.join(gz_name))
        .with_context(|| format!("creating {}.gz in {}", file.display(), out_dir.display()))?;
    let status = std::process::Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(file)
        .stdout(out)
        .status()
        .context("running gzip")?;
    if !status.success() {
        bail!("gzip {} failed: {status}", file.display());
    }
    Ok(())
}

/// Gzips the man pages (in place) and the documentation (into [`doc_dir`]) for the package:
/// Debian policy §12.1 and §12.3.
fn compress() -> Result<()> {
    let man = man_dir();
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(&man).with_context(|| format!("reading {}", man.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "8") {
            pages.push(path);
        }
    }
    if pages.is_empty() {
        bail!("no man pages in {}", man.display());
    }
    for page in &pages {
        gzip_into(page, &man)?;
        std::fs::remove_file(page).with_context(|| format!("removing {}", page.display()))?;
    }
    let doc = doc_dir();
    if doc.exists() {
        std::fs::remove_dir_all(&doc).with_context(|| format!("emptying {}", doc.display()))?;
    }
    std::fs::create_dir_all(&doc).with_context(|| format!("creating {}", doc.display()))?;
    for file in DOCS {
        gzip_into(&cmd::workspace_root().join(file), &doc)?;
    }
    println!(
        "xtask: gzipped {} man pages and {} documents",
        pages.len(),
        DOCS.len()
    );
    Ok(())
}

/// Writes docs/keywords.md from the keyword tables (the `kad-keywords` example).
pub fn keywords() -> Result<()> {
    let out = cmd::output(
        cmd::cargo()
            .args([
                "run",
                "--quiet",
                "-p",
                "kad-config",
                "--example",
                "kad-keywords",
            ])
            .stderr(std::process::Stdio::inherit()),
    )?;
    if !out.status.success() {
        bail!("the kad-keywords example failed: {}", out.status);
    }
    let page = cmd::workspace_root().join("docs").join("keywords.md");
    std::fs::write(&page, &out.stdout).with_context(|| format!("writing {}", page.display()))?;
    println!("xtask: wrote {}", page.display());
    Ok(())
}

/// Builds kad (release), its man pages, then the Debian package; prints the .deb's path.
pub fn package() -> Result<PathBuf> {
    cmd::run(cmd::cargo().args(["build", "--release", "-p", "kad-userspace", "--bin", "kad"]))?;
    man()?;
    compress()?;
    let shown = "cargo deb -p kad-userspace --no-build";
    println!("xtask: $ {shown}");
    let out = cmd::output(
        cmd::cargo()
            .args(["deb", "-p", "kad-userspace", "--no-build"])
            .stderr(std::process::Stdio::inherit()),
    )?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}); is cargo-deb installed (`cargo xtask setup`)?",
            out.status
        );
    }
    // cargo deb prints the archive's path as its last line.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let deb = stdout
        .lines()
        .map(str::trim)
        .rfind(|line| line.ends_with(".deb"))
        .map(PathBuf::from)
        .with_context(|| format!("`{shown}` printed no .deb path: {stdout}"))?;
    println!("{}", deb.display());
    Ok(deb)
}
