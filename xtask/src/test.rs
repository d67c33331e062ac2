//! `cargo xtask test`: set up, then every test: the workspace's unit and integration tests
//! (kernel, netns and real-peer tests run as root), then bounded fuzz runs. Ends with one
//! summary line: `summary: P passed, F failed, S skipped`.

use std::{
    io::{BufRead as _, BufReader},
    process::Stdio,
};

use anyhow::{Context as _, Result, bail};

use crate::{cmd, fuzz, run, setup};

pub fn run(fuzz_seconds: u32) -> Result<()> {
    cmd::step("setup: system packages, bpf-linker, toolchains", setup::run)?;
    // The daemon under test is the release build, as users run it: the lab tests time
    // elections at advert_int 0.01 s on a shared 2-core machine.
    let kad = cmd::step("build kad (release, with its eBPF object)", || {
        run::build_kad(true)
    })?;
    let skip_log = std::env::temp_dir().join(format!("kad-skips-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);

    let mut test = cmd::cargo();
    test.args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .env("KAD_BIN", &kad)
        .env("KAD_SKIP_LOG", &skip_log)
        .stdout(Stdio::piped());
    println!("xtask: ── cargo test --workspace --all-targets (unit, kernel and lab tests) …");
    let tests_started = std::time::Instant::now();
    let mut child = test.spawn().context("cannot start cargo test")?;
    let stdout = child.stdout.take().context("cargo test stdout")?;
    let mut totals = Totals::default();
    // Lossy: a test may print bytes that are not UTF-8; that must not end the run.
    for line in BufReader::new(stdout).split(b'\n') {
        let line =
            String::from_utf8_lossy(&line.context("reading cargo test's output")?).into_owned();
        println!("{line}");
        totals.add_result_line(&line);
    }
    let status = child.wait()?;
    println!(
        "xtask: ── cargo test: {} in {:.1} s",
        if status.success() { "done" } else { "FAILED" },
        tests_started.elapsed().as_secs_f64()
    );

    let skips = std::fs::read_to_string(&skip_log).unwrap_or_default();
    let _ = std::fs::remove_file(&skip_log);
    for skip in skips.lines() {
        println!("xtask: SKIPPED {skip}");
    }
    let skipped = skips.lines().count();

    let fuzz_result = if fuzz_seconds == 0 {
        println!("xtask: fuzzing skipped (--fuzz-seconds 0)");
        Ok(())
    } else {
        cmd::step(&format!("fuzz every target for {fuzz_seconds} s"), || {
            fuzz::run(None, fuzz_seconds)
        })
    };
    let fuzz_targets = fuzz::targets().map(|t| t.len()).unwrap_or(0);
    match &fuzz_result {
        Ok(()) if fuzz_seconds > 0 => totals.passed += fuzz_targets,
        Ok(()) => {}
        Err(_) => totals.failed += 1,
    }

    println!(
        "xtask: cargo test passed {} tests (of which {} skipped for a missing kernel feature or privilege), ignored {}; {} fuzz target(s) x {} s",
        totals.passed, skipped, totals.ignored, fuzz_targets, fuzz_seconds
    );
    // Last, so that the tail of a CI log names what failed.
    for failure in &totals.failures {
        println!("xtask: FAILED {failure}");
    }
    if let Err(error) = &fuzz_result {
        println!("xtask: FAILED fuzzing: {error:#}");
    }
    println!(
        "summary: {} passed, {} failed, {} skipped",
        totals.passed.saturating_sub(skipped),
        totals.failed,
        skipped
    );
    if !status.success() {
        bail!("cargo test failed: {status}");
    }
    fuzz_result
}

/// Sums libtest's `test result:` lines.
#[derive(Default)]
struct Totals {
    passed: usize,
    failed: usize,
    ignored: usize,
    /// Failed tests as `binary: test`, and test binaries that did not finish.
    failures: Vec<String>,
    /// The test binary whose output is being read (`Running tests/x.rs (...)`).
    binary: String,
}

impl Totals {
    fn add_result_line(&mut self, line: &str) {
        let trimmed = line.trim();
        if let Some(running) = trimmed.strip_prefix("Running ") {
            self.binary = running.split(" (").next().unwrap_or(running).to_string();
        }
        if let Some(name) = trimmed
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            self.failures.push(format!("{}: {name}", self.binary));
        }
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<usize>() else {
                continue;
            };
            match kind {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                "ignored" => self.ignored += count,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn sums_libtest_result_lines() {
        let mut totals = Totals::default();
        totals.add_result_line(
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        );
        totals.add_result_line("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured");
        totals.add_result_line("running 5 tests");
        assert_eq!((totals.passed, totals.failed, totals.ignored), (15, 2, 1));
    }

    #[test]
    fn names_failed_tests_with_their_binary() {
        let mut totals = Totals::default();
        for line in [
            "     Running tests/ops_load.rs (target/debug/deps/ops_load-792d762a122239ea)",
            "test metrics_load_leaves_adverts_and_checkers_alone ... FAILED",
            "test other ... ok",
            "     Running unittests src/lib.rs (target/debug/deps/kad-1)",
            "test vrrp::fsm::tests::x ... FAILED",
        ] {
            totals.add_result_line(line);
        }
        assert_eq!(
            totals.failures,
            [
                "tests/ops_load.rs: metrics_load_leaves_adverts_and_checkers_alone",
                "unittests src/lib.rs: vrrp::fsm::tests::x"
            ]
        );
    }
}
