//! `kad -t`, `kad -t=FILE`, `kad --dump-config[=json]`, `-f`, `-i` and includes, run as a
//! user runs them. Build first: `cargo build -p kad-userspace --bin kad`.

use std::{path::PathBuf, process::Command};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("kad-config-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap_or_else(|e| panic!("{e}"));
        Self(dir)
    }
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kad(args: &[&str]) -> (i32, String, String) {
    let bin = kad_tests::kad_bin().unwrap_or_else(|e| panic!("the kad binary under test: {e:#}"));
    assert!(
        bin.exists(),
        "{} missing: cargo build -p kad-userspace --bin kad",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running kad: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An instance on an interface no host has (`dynamic_interfaces`: keepalived then checks
/// none, and refuses a loopback one), its priority chosen by the config id.
const INSTANCE: &str = "global_defs {\n    dynamic_interfaces\n}\nvrrp_instance VI_1 {\n    interface kadcli0\n    virtual_router_id 7\n    @edge priority 200\n    @^edge priority 50\n    virtual_ipaddress {\n        10.9.0.1/24\n    }\n}\n";

#[test]
fn includes_are_relative_to_the_including_file_and_errors_point_into_them() {
    let s = Scratch::new("include");
    s.write(
        "conf.d/10-bad.conf",
        "global_defs {\n    vrrp_version 9\n}\n",
    );
    let main = s.write("keepalived.conf", "include conf.d/*.conf\n");
    let path = main.display().to_string();
    let (status, _, stderr) = kad(&["-t", "-f", &path]);
    let inc = s.0.join("conf.d/10-bad.conf").display().to_string();
    assert_eq!(
        stderr.trim(),
        format!(
            "{inc}:2:18: error: vrrp_version: invalid value '9': expected an integer in 2..=3 - ignoring"
        )
    );
    assert_eq!(status, 5);
}

#[test]
fn config_test_report_goes_to_the_named_file() {
    let s = Scratch::new("report");
    let main = s.write("k.conf", "global_defs {\n    bogus_keyword 1\n}\n");
    let report = s.0.join("report.txt");
    let arg = format!("--config-test={}", report.display());
    let (status, _, stderr) = kad(&[&arg, "-f", &main.display().to_string()]);
    assert_eq!(status, 5);
    assert_eq!(stderr, "");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        text.trim(),
        format!(
            "{}:2:5: warning: Unknown keyword 'bogus_keyword'",
            main.display()
        )
    );
}

#[test]
fn clean_configuration_exits_zero_and_missing_file_cannot_run() {
    let s = Scratch::new("clean");
    let main = s.write("k.conf", "global_defs {\n    router_id r1\n}\n");
    assert_eq!(kad(&["-t", "-f", &main.display().to_string()]).0, 0);
    let missing = s.0.join("nope.conf").display().to_string();
    let (status, _, stderr) = kad(&["-t", "-f", &missing]);
    assert_eq!(status, 4);
    assert!(
        stderr.contains("cannot read configuration file"),
        "{stderr}"
    );
}

#[test]
fn dump_config_json_resolves_conditionals_and_keeps_places() {
    let s = Scratch::new("dump");
    let main = s.write("k.conf", INSTANCE);
    let path = main.display().to_string();
    let (_, stdout, _) = kad(&["--dump-config=json", "-i", "edge", "-f", &path]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let inst = &json["vrrp_instances"][0];
    assert_eq!(inst["priority"], 200);
    assert_eq!(inst["places"]["priority"], format!("{path}:7:20"));
    assert_eq!(inst["advert_int"], 1.0);
    let (_, stdout, _) = kad(&["--dump-config=json", "-i", "core", "-f", &path]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["vrrp_instances"][0]["priority"], 50);
}

#[test]
fn dump_config_text_names_the_model() {
    let s = Scratch::new("text");
    let main = s.write("k.conf", "global_defs {\n    router_id r1\n}\n");
    let (status, stdout, _) = kad(&["--dump-config", "-f", &main.display().to_string()]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("router_id: Some(\n            \"r1\""),
        "{stdout}"
    );
}

#[test]
fn bad_route_and_rule_options_are_reported_with_their_place() {
    let s = Scratch::new("routes");
    let main = s.write(
        "k.conf",
        "static_routes {\n    10.8.0.0/24 dev lo mtu lock big\n}\nstatic_rules {\n    from 10.8.0.0/24 table 100 preference 7 sport 70000\n}\n",
    );
    let path = main.display().to_string();
    let (status, _, stderr) = kad(&["-t", "-f", &path]);
    assert_eq!(
        stderr.trim(),
        format!(
            "{path}:2:33: error: static_routes: mtu: invalid value 'big': expected a number - skipping route\n\
             {path}:5:51: error: static_rules: sport: invalid value '70000': expected N or N-M - skipping rule"
        )
    );
    assert_eq!(status, 5);
}
