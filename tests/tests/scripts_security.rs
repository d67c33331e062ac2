//! keepalived.conf(5) "SCRIPTS" security, issue 13 items 3 and 6:
//!
//! - the script kad executes is the path it checked: a symlinked directory on the written
//!   path, swapped for an attacker's after kad loaded its configuration, changes nothing
//!   (kad runs the resolved path, as keepalived replaces argv[0]);
//! - `quorum_up`/`quorum_down` and real servers' `notify_up`/`notify_down` in a world-writable
//!   folder are refused with `enable_script_security`, like notify scripts (so a quorum change
//!   and `omega` at stop never run them);
//! - a `net_namespace` line does not switch script checks off.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Result;
use kad::{
    config::{self, FsSource, LoadOptions},
    host_checks::SystemEnvironment,
    lvs::{kept_config::KeptConfig, notify::quorum_script, table::QuorumChange},
};
use kad_tests::{conf::vrrp_instance, lab::Lab, scratch};

/// A root-owned 0755 scratch folder (under sticky /tmp), with `open/` (0777) inside.
fn tempdir(tag: &str) -> Result<PathBuf> {
    let dir = scratch::dir(tag)?;
    std::fs::create_dir(dir.join("open"))?;
    std::fs::set_permissions(dir.join("open"), std::fs::Permissions::from_mode(0o777))?;
    Ok(dir)
}

fn load(text: &str) -> config::Loaded {
    config::load_text(
        "scripts_security.conf",
        text,
        &LoadOptions::with_config_id("t"),
        &FsSource,
        &SystemEnvironment,
    )
}

fn messages(loaded: &config::Loaded) -> String {
    loaded
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn quorum_and_real_server_notify_scripts_in_a_world_writable_folder_are_refused() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dir = tempdir("quorum")?;
    let open = dir.join("open");
    for name in ["up.sh", "down.sh", "rs_down.sh"] {
        scratch::script(&open.join(name), "exit 0", 0o755)?;
    }
    let safe = dir.join("safe_down.sh");
    scratch::script(&safe, "exit 0", 0o755)?;
    let text = |quorum_down: &Path| {
        format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
             virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  omega\n  quorum_up {}\n  quorum_down {}\n\
             \x20 real_server 10.0.0.2 80 {{\n    notify_down {}\n    TCP_CHECK {{\n    }}\n  }}\n}}\n",
            open.join("up.sh").display(),
            quorum_down.display(),
            open.join("rs_down.sh").display(),
        )
    };
    let loaded = load(&text(&open.join("down.sh")));
    let vs = loaded
        .config
        .virtual_servers
        .first()
        .ok_or_else(|| anyhow::anyhow!("no virtual server: {}", messages(&loaded)))?;
    assert!(vs.quorum_up.is_none(), "quorum_up kept: {:?}", vs.quorum_up);
    assert!(vs.quorum_down.is_none(), "quorum_down kept");
    assert!(
        vs.real_servers.iter().all(|rs| rs.notify_down.is_none()),
        "notify_down kept (omega would run it at stop)"
    );
    let change = |up| QuorumChange {
        vs: "TCP 10.0.0.1:80".into(),
        up,
        alive_weight: 0,
    };
    assert!(quorum_script(&KeptConfig::new(loaded.config.clone()), &change(true)).is_none());
    assert!(quorum_script(&KeptConfig::new(loaded.config.clone()), &change(false)).is_none());
    let log = messages(&loaded);
    assert!(
        log.contains(&open.join("up.sh").display().to_string())
            && log.contains("writable by everyone"),
        "{log}"
    );
    // The same scripts in a safe place run.
    let loaded = load(&text(&safe));
    assert!(
        quorum_script(&KeptConfig::new(loaded.config.clone()), &change(false)).is_some(),
        "{}",
        messages(&loaded)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn net_namespace_does_not_switch_script_checks_off() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let dir = tempdir("netns")?;
    let open = dir.join("open");
    let notify = open.join("notify.sh");
    let quorum = open.join("quorum.sh");
    let track = open.join("track.sh");
    for path in [&notify, &quorum, &track] {
        scratch::script(path, "exit 0", 0o755)?;
    }
    let text = format!(
        "net_namespace kad-no-such-ns\nglobal_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script {}\n  interval 1\n}}\n{}\
         virtual_server 10.0.0.1 80 {{\n  protocol TCP\n  quorum_up {}\n\
         \x20 real_server 10.0.0.2 80 {{\n    TCP_CHECK {{\n    }}\n  }}\n}}\n",
        track.display(),
        vrrp_instance(
            "NS",
            51,
            100,
            "10.77.0.100",
            &format!(
                "  track_script {{\n    chk\n  }}\n  notify_master {}\n",
                notify.display()
            )
        ),
        quorum.display(),
    );
    let loaded = load(&text);
    let log = messages(&loaded);
    assert!(
        loaded.config.vrrp_scripts.is_empty(),
        "vrrp_script kept: {log}"
    );
    let instance = loaded
        .config
        .vrrp_instances
        .first()
        .ok_or_else(|| anyhow::anyhow!("no instance: {log}"))?;
    assert!(
        instance.notify.master.is_none(),
        "notify_master kept: {log}"
    );
    assert!(
        loaded
            .config
            .virtual_servers
            .iter()
            .all(|vs| vs.quorum_up.is_none()),
        "quorum_up kept: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn the_script_kad_runs_is_the_one_it_checked_after_a_symlinked_folder_is_swapped() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // dir/good/check.sh counts its runs; dir/evil/check.sh marks that it ran. The
    // configuration names dir/link/check.sh, dir/link -> good.
    let dir = tempdir("swap")?;
    let out = dir.join("open");
    let good = dir.join("good");
    let evil = dir.join("evil");
    for folder in [&good, &evil] {
        std::fs::create_dir(folder)?;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755))?;
    }
    let runs = out.join("good.runs");
    let evil_ran = out.join("evil.ran");
    scratch::script(
        &good.join("check.sh"),
        &format!("echo run >> {}\nexit 0", runs.display()),
        0o755,
    )?;
    scratch::script(
        &evil.join("check.sh"),
        &format!("touch {}\nexit 0", evil_ran.display()),
        0o755,
    )?;
    let link = dir.join("link");
    std::os::unix::fs::symlink(&good, &link)?;

    let config = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk {{\n  script \"{}\"\n  interval 1\n}}\n{}",
        link.join("check.sh").display(),
        vrrp_instance(
            "SWAP",
            52,
            200,
            "10.77.0.100",
            "  track_script {\n    chk\n  }\n"
        )
    );
    let mut lab = Lab::with_hosts("ss", &[("r1", 1)])?;
    let kad = lab.start_kad("r1", &config)?;
    let count = || {
        std::fs::read_to_string(&runs)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    };
    lab.wait_for("the script ran once", Duration::from_secs(10), || {
        Ok(count() >= 1)
    })?;
    // Swap the folder: dir/link -> evil (rename over the old link, as an attacker would).
    let swapped = dir.join("link.new");
    std::os::unix::fs::symlink(&evil, &swapped)?;
    std::fs::rename(&swapped, &link)?;
    let before = count();
    lab.wait_for(
        "the script kept running after the swap",
        Duration::from_secs(10),
        || Ok(count() >= before + 2 || evil_ran.exists()),
    )?;
    let log = lab.daemon(kad)?.log();
    assert!(
        !evil_ran.exists(),
        "kad ran the swapped-in script (the path as written) instead of the checked one\n{log}"
    );
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
