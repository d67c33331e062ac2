//! The test kit's own guarantees: the daemon a lab test runs is built from the current source.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use anyhow::{Context as _, Result};

/// The newest modification time of the daemon's sources: every `.rs` file under a `src`
/// folder, each `build.rs` and `Cargo.toml` of kad-userspace (and the crates nested in it),
/// kad-common and kad-ebpf.
fn newest_source(
    dir: &Path,
    in_src: bool,
    newest: &mut Option<(SystemTime, PathBuf)>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if name != "target" && !name.starts_with('.') {
                newest_source(&path, in_src || name == "src", newest)?;
            }
            continue;
        }
        let counts =
            (in_src && name.ends_with(".rs")) || name == "build.rs" || name == "Cargo.toml";
        if !counts {
            continue;
        }
        let modified = entry.metadata()?.modified()?;
        if newest.as_ref().is_none_or(|(time, _)| modified > *time) {
            *newest = Some((modified, path));
        }
    }
    Ok(())
}

#[test]
fn the_daemon_under_test_is_newer_than_its_sources() -> Result<()> {
    let kad = kad_tests::kad_bin()?;
    let built = std::fs::metadata(&kad)
        .with_context(|| format!("{}", kad.display()))?
        .modified()?;
    let root = kad_tests::repo_root();
    let mut newest = None;
    for krate in ["kad-userspace", "kad-common", "kad-ebpf"] {
        newest_source(&root.join(krate), false, &mut newest)?;
    }
    let (source_time, source) = newest.context("no daemon sources found")?;
    assert!(
        built >= source_time,
        "{} is older than {}: a stale daemon would be tested",
        kad.display(),
        source.display()
    );
    Ok(())
}

#[test]
fn the_daemon_under_test_runs() -> Result<()> {
    let out = std::process::Command::new(kad_tests::kad_bin()?)
        .arg("--version")
        .output()?;
    assert!(out.status.success(), "kad --version: {}", out.status);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kad"));
    Ok(())
}

#[test]
fn the_skip_guard_names_the_test_it_stands_in() {
    assert_eq!(
        kad_tests::test_name!(),
        "the_skip_guard_names_the_test_it_stands_in"
    );
    let in_closure = || kad_tests::test_name!();
    assert_eq!(in_closure(), "the_skip_guard_names_the_test_it_stands_in");
}

#[tokio::test]
async fn the_skip_guard_names_an_async_test_too() {
    let name = async { kad_tests::test_name!() }.await;
    assert_eq!(name, "the_skip_guard_names_an_async_test_too");
    assert_eq!(
        kad_tests::test_name!(),
        "the_skip_guard_names_an_async_test_too"
    );
}

mod nested {
    #[test]
    fn the_skip_guard_names_a_test_in_a_module_by_its_path() {
        assert_eq!(
            kad_tests::test_name!(),
            "nested::the_skip_guard_names_a_test_in_a_module_by_its_path"
        );
    }
}
