//! Issue 13 item 9: a MISC_CHECK's command line may hold secrets
//! (`misc_path "/path/check --password s3cret"`). kad shows the checker by its program only:
//! neither the Prometheus labels, `kad status --json`, nor the world-readable dumps
//! (`keepalived.json`, `keepalived.data`) carry the arguments.

use std::time::Duration;

use anyhow::Result;
use kad_tests::{
    lab::Lab,
    ops::{self, http_get, signum, status_json, status_text, wait_file},
};
use serde_json::Value;

const SECRET: &str = "s3cret";

#[test]
fn misc_check_arguments_stay_out_of_metrics_status_and_dumps() -> Result<()> {
    kad_tests::skip_unless!(Root);
    // The check script in a root-owned 0755 folder (under sticky /tmp).
    let dir = kad_tests::scratch::dir("secret")?;
    let check = dir.join("check");
    kad_tests::scratch::script(&check, "exit 0", 0o755)?;

    let mut lab = Lab::with_hosts("sc", &[("lb", 1)])?;
    let dumps = lab.dir().join("dumps");
    std::fs::create_dir_all(&dumps)?;
    let config = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         virtual_server 10.77.0.100 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
         \x20 real_server 10.77.0.2 8081 {{\n    MISC_CHECK {{\n      misc_path \"{} --password {SECRET}\"\n    }}\n  }}\n}}\n",
        check.display()
    );
    let env_dir = format!("KAD_DUMP_DIR={}", dumps.display());
    let (kad, socket) = ops::start_kad(
        &mut lab,
        "lb",
        &config,
        &[env_dir.as_str()],
        &["-C", "--metrics-listen", "127.0.0.1:9653"],
    )?;
    let mut status = Value::Null;
    lab.wait_for(
        "the MISC_CHECK has a result",
        Duration::from_secs(20),
        || {
            let Ok(now) = status_json(&socket) else {
                return Ok(false);
            };
            let done = now.to_string().contains("MISC_CHECK")
                && now["virtual_servers"][0]["real_servers"][0]["checkers"][0]["last_result"]
                    .is_string();
            status = now;
            Ok(done)
        },
    )?;
    let shown = status.to_string();
    assert!(
        shown.contains(&check.display().to_string()),
        "the program is shown: {shown}"
    );
    assert!(!shown.contains(SECRET), "kad status --json: {shown}");
    let text = status_text(&socket)?;
    assert!(!text.contains(SECRET), "kad status: {text}");

    let metrics = http_get(&lab, "lb", "http://127.0.0.1:9653/metrics")?.1;
    assert!(metrics.contains("MISC_CHECK"), "{metrics}");
    assert!(!metrics.contains(SECRET), "/metrics: {metrics}");

    lab.daemon(kad)?.signal(signum("JSON")?)?;
    let json = wait_file(&lab, &dumps.join("keepalived.json"), "MISC_CHECK")?;
    assert!(!json.contains(SECRET), "keepalived.json: {json}");
    lab.daemon(kad)?.signal(signum("DATA")?)?;
    let data = wait_file(&lab, &dumps.join("keepalived.data"), "MISC_CHECK")?;
    assert!(!data.contains(SECRET), "keepalived.data: {data}");

    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
