//! The compatibility harness (`cargo xtask compat DIR`, `src/bin/kad-compat.rs`) on a small
//! folder of its own: two files kad and keepalived agree on (one naming interfaces the
//! harness must create, one whose mistakes are in an included file) and one kad deliberately
//! flags differently (docs/config-compat.md: a `virtual_server group` naming no configured
//! group is an error for kad, accepted by keepalived 2.2.7). Checks each file's verdict, that
//! the included file is not checked alone, and the summary line.

use std::process::Command;

use kad_tests::{compat, kad_bin, scratch, skip, skip_unless};

/// Agrees: both exit 0 with nothing flagged, but only when `kadcmp0`, `kadcmp1` and `kadcmp2`
/// exist (else both report missing interfaces).
const INTERFACES: &str = "\
vrrp_instance A {
  interface kadcmp0
  virtual_router_id 5
  track_interface {
    kadcmp1 weight 10
  }
  virtual_ipaddress {
    10.0.0.1/24 dev kadcmp2
  }
}
";

/// Agrees: the unknown keywords are on lines 1 and 3 of the included file.
const WITH_INCLUDE: &str = "\
include inc/*.conf
vrrp_instance B {
  interface kadcmp3
  virtual_router_id 6
  virtual_ipaddress {
    10.0.1.1
  }
}
";
const INCLUDED: &str = "kad_unknown_a 1\nglobal_defs {\n  kad_unknown_b\n}\n";

/// Differs: keepalived 2.2.7 exits 0, kad exits 5 (deliberate, docs/config-compat.md).
const UNCONFIGURED_GROUP: &str = "\
virtual_server group NOGROUP {
  protocol TCP
  real_server 10.0.2.2 80 {
    TCP_CHECK {
    }
  }
}
";

#[test]
fn harness_reports_each_files_verdict_and_the_summary() {
    skip_unless!(Root);
    if compat::keepalived_bin().is_none() {
        skip!("keepalived is not installed (apt-get install keepalived)");
    }
    let kad = kad_bin().unwrap_or_else(|e| panic!("the kad binary under test: {e:#}"));
    let dir = scratch::dir("compat-harness").unwrap_or_else(|e| panic!("{e:#}"));
    std::fs::create_dir_all(dir.join("inc")).unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in [
        ("a_interfaces.conf", INTERFACES),
        ("b_with_include.conf", WITH_INCLUDE),
        ("inc/extra.conf", INCLUDED),
        ("c_unconfigured_group.conf", UNCONFIGURED_GROUP),
    ] {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let json = dir.join("results.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kad-compat"))
        .arg(&dir)
        .arg("--json")
        .arg(&json)
        .env("KAD_BIN", &kad)
        .output()
        .unwrap_or_else(|e| panic!("running kad-compat: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kad-compat failed:\n{report}");
    let lines: Vec<&str> = stdout.lines().collect();
    let line_of = |file: &str| -> &str {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{file}: ")))
            .unwrap_or_else(|| panic!("no line for {file}:\n{report}"))
    };
    assert_eq!(
        line_of("a_interfaces.conf"),
        "a_interfaces.conf: keepalived exit 0, no lines | kad exit 0, no lines | agree",
        "{report}"
    );
    assert_eq!(
        line_of("b_with_include.conf"),
        "b_with_include.conf: keepalived exit 5, lines inc/extra.conf:1 inc/extra.conf:3 \
         | kad exit 5, lines inc/extra.conf:1 inc/extra.conf:3 | agree",
        "{report}"
    );
    let differ = line_of("c_unconfigured_group.conf");
    assert!(
        differ.starts_with("c_unconfigured_group.conf: keepalived exit 0, no lines | kad exit 5")
            && differ.ends_with("| DIFFER"),
        "{report}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("inc/")),
        "an included file is checked with its includer, not alone:\n{report}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("compat: 3 files, 2 agree"),
        "{report}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        results[0]["interfaces"],
        serde_json::json!(["kadcmp0", "kadcmp1", "kadcmp2"])
    );
    assert_eq!(results[2]["verdict"], "differ");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every class of difference the corpus showed (issue 15) has a small reproducer of our own
/// in `tests/compat-cases/` (a comment on top of each says what it shows): kad -t and
/// keepalived -t must agree on each of them.
#[test]
fn kad_and_keepalived_agree_on_every_compat_case() {
    skip_unless!(Root);
    if compat::keepalived_bin().is_none() {
        skip!("keepalived is not installed (apt-get install keepalived)");
    }
    let kad = kad_bin().unwrap_or_else(|e| panic!("the kad binary under test: {e:#}"));
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat-cases");
    let out = Command::new(env!("CARGO_BIN_EXE_kad-compat"))
        .arg(&cases)
        .arg("--show")
        .env("KAD_BIN", &kad)
        .output()
        .unwrap_or_else(|e| panic!("running kad-compat: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kad-compat failed:\n{report}");
    let count = std::fs::read_dir(&cases)
        .unwrap_or_else(|e| panic!("{}: {e}", cases.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "conf"))
        .count();
    assert!(count > 0, "no cases in {}", cases.display());
    let differing: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(".conf: keepalived ") && !l.ends_with("| agree"))
        .collect();
    assert!(differing.is_empty(), "{differing:#?}\n{report}");
    assert_eq!(
        stdout.lines().last(),
        Some(format!("compat: {count} files, {count} agree").as_str()),
        "{report}"
    );
}
