//! keepalived.conf `script_user`, `user` and `enable_script_security` with kad running
//! scripts for real: a vrrp_script and a notify script run as the configured non-root user
//! (no supplementary groups), one configured `user root` in a safe place runs as root, and
//! a world-writable one that would run as root is refused: logged with its path, and dropped
//! from the instance as keepalived drops it (its weight 0 would otherwise mean FAULT).

use std::{os::unix::fs::PermissionsExt as _, time::Duration};

use anyhow::Result;
use kad_tests::{
    conf::vrrp_instance,
    lab::{Lab, VIP},
    scratch,
};

#[test]
fn scripts_run_as_script_user_and_insecure_root_scripts_are_refused() -> Result<()> {
    kad_tests::skip_unless!(Root);
    let Some(nobody) = nix_nobody() else {
        kad_tests::skip!("no user `nobody` on this machine");
    };
    // Scripts in a root-owned 0755 folder (under sticky /tmp); results in a folder anyone
    // may write to.
    let dir = scratch::dir("scripts")?;
    let out = dir.join("out");
    std::fs::create_dir(&out)?;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777))?;
    let o = |name: &str| out.join(name);

    let as_user = dir.join("as_user.sh");
    scratch::script(
        &as_user,
        &format!(
            "id -u > {}\nid -G > {}\nexit 0",
            o("script.uid").display(),
            o("script.groups").display()
        ),
        0o755,
    )?;
    let as_root = dir.join("as_root.sh");
    scratch::script(
        &as_root,
        &format!("id -u > {}\nexit 0", o("root.uid").display()),
        0o755,
    )?;
    let open = dir.join("open.sh");
    scratch::script(
        &open,
        &format!("touch {}\nexit 1", o("open.ran").display()),
        0o777,
    )?;
    let notify = dir.join("notify.sh");
    scratch::script(
        &notify,
        &format!("id -u > {}", o("notify.uid").display()),
        0o755,
    )?;

    let config = format!(
        "global_defs {{\n  enable_script_security\n  script_user nobody\n}}\n\
         vrrp_script as_user {{\n  script \"{}\"\n  interval 1\n}}\n\
         vrrp_script as_root {{\n  script \"{}\"\n  interval 1\n  user root\n}}\n\
         vrrp_script open {{\n  script \"{}\"\n  interval 1\n  user root\n}}\n{}",
        as_user.display(),
        as_root.display(),
        open.display(),
        vrrp_instance(
            "LAB",
            51,
            200,
            VIP,
            &format!(
                "  track_script {{\n    as_user\n    as_root\n    open\n  }}\n  notify_master \"{}\"\n",
                notify.display()
            )
        )
    );
    let mut lab = Lab::with_hosts("su", &[("r1", 1)])?;
    let kad = lab.start_kad("r1", &config)?;
    lab.wait_for(
        "kad is master (the refused script does not count)",
        Duration::from_secs(10),
        || lab.holds("r1", VIP),
    )?;
    let read = |name: &str| {
        std::fs::read_to_string(o(name))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    lab.wait_for("scripts ran", Duration::from_secs(5), || {
        Ok(!read("script.uid").is_empty()
            && !read("root.uid").is_empty()
            && !read("notify.uid").is_empty())
    })?;
    assert_eq!(read("script.uid"), nobody.0.to_string(), "vrrp_script user");
    assert_eq!(
        read("script.groups"),
        nobody.1.to_string(),
        "only the user's group, no supplementary groups"
    );
    assert_eq!(
        read("notify.uid"),
        nobody.0.to_string(),
        "notify script user"
    );
    assert_eq!(
        read("root.uid"),
        "0",
        "`user root` in a safe place runs as root"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !o("open.ran").exists(),
        "the world-writable root script must never run"
    );
    let log = lab.daemon(kad)?.log();
    assert!(
        log.contains("Disabling track script open due to insecure")
            && log.contains(&open.display().to_string())
            && log.contains("writable by everyone"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `nobody`'s uid and primary gid, from `id`.
fn nix_nobody() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = std::process::Command::new("id")
            .args([flag, "nobody"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}
