//! kad's operator interfaces as lab tests drive them: `kad status` over a control socket,
//! `kad --signum`, an HTTP GET (the metrics endpoint) from inside a lab host, and files kad
//! writes (dumps).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::{kad_bin, lab::Lab};

/// Starts kad on `host` with `config` (written to the lab folder) through env(1) with
/// `env` (`NAME=value` words; env execs kad, so the daemon's pid is kad's and signals reach
/// it), its control socket at `<lab folder>/<host>.sock` unless `extra` names one, and the
/// `extra` arguments. Waits until kad runs its instances, or with `-C` (no VRRP) until its
/// control socket answers. Returns the daemon's index and the control socket's path.
pub fn start_kad(
    lab: &mut Lab,
    host: &str,
    config: &str,
    env: &[&str],
    extra: &[&str],
) -> Result<(usize, PathBuf)> {
    let conf = lab.dir().join(format!("kad-{host}.conf"));
    std::fs::write(&conf, config)?;
    let socket = lab.dir().join(format!("{host}.sock"));
    let bin = kad_bin()?.to_string_lossy().into_owned();
    let conf = conf.to_string_lossy().into_owned();
    let sock = socket.to_string_lossy().into_owned();
    let mut args: Vec<&str> = env.to_vec();
    args.extend([bin.as_str(), "-f", conf.as_str()]);
    if !extra.contains(&"--control-socket") {
        args.extend(["--control-socket", sock.as_str()]);
    }
    args.extend_from_slice(extra);
    let kad = lab.start(host, Path::new("env"), &args)?;
    if extra.contains(&"-C") {
        let path = socket.clone();
        lab.wait_for("kad -C answers", Duration::from_secs(20), || {
            Ok(status_json(&path).is_ok())
        })?;
    } else {
        lab.wait_until_started(kad);
    }
    Ok((kad, socket))
}

/// `kad status --json` against `socket`, parsed.
pub fn status_json(socket: &Path) -> Result<Value> {
    let out = Command::new(kad_bin()?)
        .args(["status", "--json", "--control-socket"])
        .arg(socket)
        .output()
        .context("running kad status")?;
    if !out.status.success() {
        bail!(
            "kad status --json failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("kad status --json is not JSON")
}

/// `kad status` (the table) against `socket`.
pub fn status_text(socket: &Path) -> Result<String> {
    let out = Command::new(kad_bin()?)
        .args(["status", "--control-socket"])
        .arg(socket)
        .output()
        .context("running kad status")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `kad --signum NAME`: the signal keepalived's `--signum` names (DATA, STATS, JSON, STOP,
/// RELOAD); an error for a name it does not know.
pub fn signum(name: &str) -> Result<i32> {
    let out = Command::new(kad_bin()?).args(["--signum", name]).output()?;
    if !out.status.success() {
        bail!(
            "kad --signum {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// GET `url` with reqwest from inside `lab`'s host `host` (its namespace's loopback):
/// the status code and the body.
pub fn http_get(lab: &Lab, host: &str, url: &str) -> Result<(u16, String)> {
    let url = url.to_owned();
    lab.host(host)?.ns.run(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()?;
            let response = client.get(&url).send().await?;
            let status = response.status().as_u16();
            Ok((status, response.text().await?))
        })
    })
}

/// Waits up to 5 s until the file at `path` contains `needle`; returns its text.
pub fn wait_file(lab: &Lab, path: &Path, needle: &str) -> Result<String> {
    let mut text = String::new();
    lab.wait_for(
        &format!("{} with {needle:?}", path.display()),
        Duration::from_secs(5),
        || {
            text = std::fs::read_to_string(path).unwrap_or_default();
            Ok(text.contains(needle))
        },
    )?;
    Ok(text)
}

/// The repository's status schema (`docs/status.schema.json`), compiled (formats checked
/// too).
pub fn schema() -> Result<jsonschema::Validator> {
    let path = crate::repo_root().join("docs/status.schema.json");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let schema: Value = serde_json::from_str(&text)?;
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

/// Fails when `status` does not follow the schema.
pub fn assert_valid(validator: &jsonschema::Validator, status: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(status)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "status does not follow docs/status.schema.json:\n{}\n{status:#}",
        errors.join("\n")
    );
}
