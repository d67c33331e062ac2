//! Every sample configuration keepalived ships is checked by `keepalived -t` and `kad -t`
//! on this machine: same exit status, and every line keepalived flags is flagged by kad.
//! Deliberate differences are listed in `EXCEPTIONS` and in docs/config-compat.md.
//!
//! Needs keepalived installed (Debian: `apt-get install keepalived`) and the kad binary
//! built (`cargo build -p kad-userspace --bin kad`). `keepalived -t` only parses.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use kad_tests::compat::{self, kad_lines, keepalived_lines};

/// Where Debian installs keepalived's sample configurations.
const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// (sample file name, line keepalived flags that kad does not, why). Empty: none so far;
/// an entry here must also be explained in docs/config-compat.md.
const EXCEPTIONS: &[(&str, u32, &str)] = &[];

/// Sample files, decompressed into `scratch` when shipped as `.gz`.
fn samples(scratch: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(SAMPLES).unwrap_or_else(|e| {
        panic!("{SAMPLES}: {e}; install keepalived (apt-get install keepalived)")
    });
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("keepalived.conf") {
            continue;
        }
        if let Some(stem) = name.strip_suffix(".gz") {
            let out = Command::new("gzip")
                .arg("-dc")
                .arg(&path)
                .output()
                .unwrap_or_else(|e| panic!("gzip -dc {}: {e}", path.display()));
            assert!(out.status.success(), "gzip -dc {} failed", path.display());
            let target = scratch.join(stem);
            std::fs::write(&target, out.stdout).unwrap_or_else(|e| panic!("{e}"));
            found.push(target);
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Runs a config test; returns (exit status, combined output).
fn run(program: &Path, file: &Path, config_id: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(program);
    cmd.arg("-t").arg("-f").arg(file);
    if let Some(id) = config_id {
        cmd.arg("-i").arg(id);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn keepalived_bin() -> PathBuf {
    compat::keepalived_bin()
        .unwrap_or_else(|| panic!("keepalived is not installed: apt-get install keepalived"))
}

fn compare(file: &Path, config_id: Option<&str>, failures: &mut Vec<String>) {
    let kad = kad_tests::kad_bin().unwrap_or_else(|e| panic!("the kad binary under test: {e:#}"));
    assert!(
        kad.exists(),
        "{} missing: cargo build -p kad-userspace --bin kad",
        kad.display()
    );
    let (k_status, k_out) = run(&keepalived_bin(), file, config_id);
    let (d_status, d_out) = run(&kad, file, config_id);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let case = format!("{name} (-i {})", config_id.unwrap_or("<host name>"));
    if k_status != d_status {
        failures.push(format!(
            "{case}: keepalived -t exits {k_status}, kad -t exits {d_status}\n--- keepalived:\n{k_out}--- kad:\n{d_out}"
        ));
    }
    let flagged = kad_lines(&d_out, file);
    for line in keepalived_lines(&k_out, file) {
        let excepted = EXCEPTIONS.iter().any(|(f, l, _)| *f == name && *l == line);
        if !flagged.contains(&line) && !excepted {
            failures.push(format!(
                "{case}: keepalived flags line {line}, kad does not\n--- keepalived:\n{k_out}--- kad:\n{d_out}"
            ));
        }
    }
}

#[test]
fn kad_and_keepalived_agree_on_every_shipped_sample() {
    let scratch = std::env::temp_dir().join(format!("kad-config-samples-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("{e}"));
    let files = samples(&scratch);
    assert!(
        files.len() >= 20,
        "expected keepalived's ~25 samples, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        compare(file, None, &mut failures);
        if file.to_string_lossy().ends_with("conditional_conf") {
            compare(file, Some("high"), &mut failures);
            compare(file, Some("low"), &mut failures);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
