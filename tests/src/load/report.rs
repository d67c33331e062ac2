//! Tables (Markdown) and JSON for the load benchmarks, and `--record`: a table written into
//! BENCHMARKS.md between the marker comments `<!-- NAME:begin -->` and `<!-- NAME:end -->`.

use std::{collections::BTreeMap, fmt::Write as _, fs, path::Path};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use super::{
    advert_gaps::Adverts,
    flood::FloodOutcome,
    procfs::Usage,
    scale::{ScaleOutcome, expected_adverts_per_s, spurious_takeovers},
    xdp_counters,
};

fn usage_json(usage: &Usage) -> Value {
    json!({
        "cpu_percent": round2(usage.cpu_percent),
        "rss_start_kib": usage.rss_start_kib,
        "rss_end_kib": usage.rss_end_kib,
    })
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn stat(stats: &BTreeMap<String, u64>, name: &str) -> String {
    stats
        .get(name)
        .map_or_else(|| "–".to_owned(), u64::to_string)
}

fn gap(adverts: Option<&Adverts>) -> String {
    let Some(adverts) = adverts else {
        return "–".to_owned();
    };
    let (gap, vrid) = adverts.max_gap();
    let mut text = format!("{:.1} ms (VRID {vrid})", gap.as_secs_f64() * 1000.0);
    if adverts.dropped > 0 {
        let _ = write!(text, "; capture lost {}", adverts.dropped);
    }
    text
}

/// The scale runs as a Markdown table.
pub fn scale_table(outcomes: &[ScaleOutcome]) -> String {
    let mut table = String::from(
        "| kad receive | kad role | kad CPU | kad RSS | keepalived CPU (VRRP process) | keepalived RSS | \
         master frames/s alone / in window | master's largest advert gap | transitions kad / keepalived | VIPs kad / keepalived | \
         kad socket_packets / xdp_events |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let _ = writeln!(
            table,
            "| {} | {} | {:.1} % | {} | {:.1} % | {} | {:.0} / {:.0} | {} | {} / {} | {} / {} | {} / {} |",
            o.setup.receive.label(),
            if o.setup.kad_master {
                "master"
            } else {
                "backup"
            },
            o.kad.cpu_percent,
            mib(o.kad.rss_end_kib),
            o.keepalived.cpu_percent,
            mib(o.keepalived.rss_end_kib),
            o.master_alone_frames_per_s,
            o.master_frames_per_s,
            gap(o.master_adverts.as_ref()),
            o.kad_transitions,
            o.keepalived_transitions,
            o.kad_vips,
            o.keepalived_vips,
            stat(&o.kad_receive, "socket_packets"),
            stat(&o.kad_receive, "xdp_events"),
        );
    }
    table
}

/// The scale runs as JSON.
pub fn scale_json(outcomes: &[ScaleOutcome]) -> Value {
    Value::Array(
        outcomes
            .iter()
            .map(|o| {
                json!({
                    "instances": o.setup.instances,
                    "advert_int": o.setup.advert_int,
                    "kad_role": if o.setup.kad_master { "master" } else { "backup" },
                    "kad_receive": o.setup.receive.label(),
                    "settle_s": o.setup.settle.as_secs_f64(),
                    "window_s": o.setup.window.as_secs_f64(),
                    "master_ready_s": round2(o.master_ready.as_secs_f64()),
                    "kad": usage_json(&o.kad),
                    "keepalived_vrrp": usage_json(&o.keepalived),
                    "keepalived_parent": usage_json(&o.keepalived_parent),
                    "transitions": {"kad": o.kad_transitions, "keepalived": o.keepalived_transitions},
                    "vips": {"kad": o.kad_vips, "keepalived": o.keepalived_vips},
                    "master_adverts": o.master_adverts.as_ref().map(|a| {
                        let (gap, vrid) = a.max_gap();
                        json!({
                            "captured": a.count(),
                            "instances": a.instances(),
                            "max_gap_ms": round2(gap.as_secs_f64() * 1000.0),
                            "worst_vrid": vrid,
                            "capture_dropped": a.dropped,
                        })
                    }),
                    "kad_takeovers": {
                        "all": o.kad_takeovers.len(),
                        "spurious": spurious_takeovers(o, 100).map(|s| s.len()),
                    },
                    "master_frames_per_s": {
                        "alone": o.master_alone_frames_per_s.round(),
                        "window": o.master_frames_per_s.round(),
                        "expected_adverts": expected_adverts_per_s(&o.setup).round(),
                    },
                    "kad_receive_statistics": o.kad_receive,
                })
            })
            .collect(),
    )
}

/// The flood runs as a Markdown table.
pub fn flood_table(outcomes: &[FloodOutcome]) -> String {
    let mut table = String::from(
        "| backup | generator sent | reached the backup's link | backup CPU | backup RSS before → after | \
         master (keepalived) CPU | softirq (machine) | transitions backup / master | roles at the end | \
         kad socket_packets / xdp_events | XDP dropped |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let seconds = o.sent.elapsed.as_secs_f64().max(f64::EPSILON);
        let roles = o.backup_alive && o.master_holds_vip && !o.backup_holds_vip;
        let _ = writeln!(
            table,
            "| {} | {:.0} k/s | {:.0} k/s | {:.1} % | {} → {} | {:.1} % | {:.1} % | {} / {} | {} | {} / {} | {} |",
            o.setup.backup.label(),
            o.sent.rate() / 1000.0,
            o.delivered as f64 / seconds / 1000.0,
            o.backup.cpu_percent,
            mib(o.backup.rss_start_kib),
            mib(o.backup.rss_end_kib),
            o.master.cpu_percent,
            o.softirq_percent,
            o.backup_transitions,
            o.master_transitions,
            if roles { "yes" } else { "NO" },
            stat(&o.kad_receive, "socket_packets"),
            stat(&o.kad_receive, "xdp_events"),
            o.xdp
                .as_ref()
                .map_or_else(|| "–".to_owned(), |c| xdp_counters::dropped(c).to_string()),
        );
    }
    table
}

/// The flood runs as JSON.
pub fn flood_json(outcomes: &[FloodOutcome]) -> Value {
    Value::Array(
        outcomes
            .iter()
            .map(|o| {
                json!({
                    "backup": o.setup.backup.label(),
                    "advert_int": o.setup.advert_int,
                    "duration_s": o.sent.elapsed.as_secs_f64(),
                    "generator_threads": o.setup.threads,
                    "mix": o.setup.mix.description(),
                    "sent": o.sent.frames,
                    "sent_per_s": o.sent.rate().round(),
                    "send_retries": o.sent.retries,
                    "delivered": o.delivered,
                    "backup": usage_json(&o.backup),
                    "master_keepalived_vrrp": usage_json(&o.master),
                    "softirq_percent": round2(o.softirq_percent),
                    "transitions": {"backup": o.backup_transitions, "master": o.master_transitions},
                    "backup_alive": o.backup_alive,
                    "master_holds_vip": o.master_holds_vip,
                    "backup_holds_vip": o.backup_holds_vip,
                    "kad_receive_statistics": o.kad_receive,
                    "xdp_counters": o.xdp,
                })
            })
            .collect(),
    )
}

/// Writes `value` to `path` (pretty JSON), creating its folder.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value)?;
    fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Replaces what lies between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `file` with
/// `body`; without the markers, appends a section `## heading` holding them.
pub fn record(file: &Path, name: &str, heading: &str, body: &str) -> Result<()> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    fs::write(file, replace_section(&text, name, heading, body))
        .with_context(|| format!("writing {}", file.display()))
}

fn replace_section(text: &str, name: &str, heading: &str, body: &str) -> String {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let body = body.trim_end();
    match (text.find(&begin), text.find(&end)) {
        (Some(start), Some(stop)) if start < stop => {
            format!("{}{begin}\n{body}\n{}", &text[..start], &text[stop..])
        }
        _ => format!(
            "{}\n\n## {heading}\n\n{begin}\n{body}\n{end}\n",
            text.trim_end()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn replaces_between_markers_or_appends() {
        let text = "# B\n\nintro\n<!-- scale:begin -->\nold\n<!-- scale:end -->\ntail\n";
        let new = replace_section(text, "scale", "Scale", "new table\n");
        assert_eq!(
            new,
            "# B\n\nintro\n<!-- scale:begin -->\nnew table\n<!-- scale:end -->\ntail\n"
        );
        let appended = replace_section("# B\n", "flood", "Flood", "t");
        assert_eq!(
            appended,
            "# B\n\n## Flood\n\n<!-- flood:begin -->\nt\n<!-- flood:end -->\n"
        );
    }
}
