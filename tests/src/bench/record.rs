//! `--record`: writes the run's table into BENCHMARKS.md, replacing the section between
//! [`BEGIN`] and [`END`] (or appending it when the file has none), and leaves the rest of
//! the file as it was.

use std::{fs, path::Path};

use anyhow::{Context as _, Result, bail};

use super::{Report, table};

/// Marker line opening the generated section.
pub const BEGIN: &str = "<!-- failover:begin -->";
/// Marker line closing the generated section.
pub const END: &str = "<!-- failover:end -->";
/// The section's heading.
pub const HEADING: &str = "## VRRP failover (cargo xtask bench failover)";

/// The command that reproduces `report`.
pub fn command(report: &Report) -> String {
    format!(
        "cargo xtask bench failover -- --trials {}{} --record",
        report.trials,
        if report.quick { " --quick" } else { "" }
    )
}

/// Width of the section's prose, like the rest of BENCHMARKS.md.
const WIDTH: usize = 92;

/// `text` as lines of at most [`WIDTH`] characters (a longer word stays whole), each ending
/// in a newline.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The generated section for `report`, markers included.
pub fn section(report: &Report) -> String {
    let mut out = format!("{BEGIN}\n{HEADING}\n\n");
    out.push_str(&wrap(&format!(
        "Command: `{}` (release builds, as root; this section is written by \
         `tests/src/bin/kad-bench.rs`: do not edit it by hand). Lab: two routers (priority 200 \
         master, 100 backup) and a client on one bridge in network namespaces; both routers \
         run the same daemon (`kad -f` or `keepalived -P`) with the same keepalived.conf. The \
         client pings the VIP every {} ms (`ping -D`, reply timestamps from ping itself); the \
         outage is the longest gap between replies from the fault until the VIP has moved (on \
         r2, gone from r1) and 50 replies in a row have come. A trial starts once the backup's \
         log has said BACKUP for a whole Master_Down_Interval, and is run again when the \
         client had no reply in the 20 ms before the fault. The fault lands at a \
         controlled phase: a packet socket on the master's switch port sees one of its \
         adverts (kernel receive stamp), and the link goes down (one `SIOCSIFFLAGS` ioctl) or \
         SIGTERM is sent a planned offset after it. The offsets are drawn uniformly from [0, \
         advert_int), one per slice of the interval, from a fixed seed, and trial n of kad \
         and trial n of keepalived get the same offset (paired trials; which daemon runs \
         first alternates, so both see the same machine load).",
        command(report),
        report.probe_interval.as_millis()
    )));
    out.push('\n');
    out.push_str(&wrap(&format!(
        "Run: {}, {} per daemon and cell{}, {:.0} s in all; the benchmark, ping and both \
         daemons at nice {}; {}; {}.",
        report.machine.date,
        super::trials(report.trials),
        if report.quick {
            " (`--quick`: 1 s rows not run)"
        } else {
            ""
        },
        report.elapsed.as_secs_f64(),
        report.nice,
        report.machine.describe(),
        report.keepalived_version,
    )));
    out.push('\n');
    out.push_str(&table::markdown(&report.cells, "keepalived"));
    out.push('\n');
    out.push_str(&wrap(
        "RFC floor: Master_Down_Interval (3·advert_int + skew) for a link down, skew time for \
         a graceful stop (priority-0 advert), with the backup at priority 100. A link-down \
         outage is Master_Down_Interval minus the fault's phase (the backup counts from the \
         last advert it heard), so the outage columns spread over an advert interval; the \
         paired column (median of kad − keepalived over trials of the same phase) and the \
         last advert → VIP reachable column (phase + outage, which should sit just above \
         Master_Down_Interval for a link down) take the phase out. Every trial's outage, \
         offset and measured phase is in `failover.json`, plotted in `failover.png` (in \
         `target/bench/` unless `--out DIR` is given; not committed).",
    ));
    out.push_str(END);
    out.push('\n');
    out
}

/// `document` with its generated section replaced by `section` (appended after a blank line
/// when the document has no markers). Fails when only one marker is present or they are out
/// of order, rather than guess what to overwrite.
pub fn splice(document: &str, section: &str) -> Result<String> {
    match (document.find(BEGIN), document.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            let mut after = end + END.len();
            if document[after..].starts_with('\n') {
                after += 1;
            }
            Ok(format!(
                "{}{section}{}",
                &document[..begin],
                &document[after..]
            ))
        }
        (None, None) => {
            let body = document.trim_end_matches('\n');
            Ok(format!("{body}\n\n{section}"))
        }
        _ => bail!("the markers {BEGIN} and {END} are not both present, in this order"),
    }
}

/// Writes `report`'s section into the markdown file at `path`.
pub fn record(report: &Report, path: &Path) -> Result<()> {
    let document =
        fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let updated = splice(&document, &section(report))
        .with_context(|| format!("updating {}", path.display()))?;
    fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "<!-- failover:begin -->\nnew\n<!-- failover:end -->\n";

    #[test]
    fn wraps_prose() {
        let text = "word ".repeat(40);
        let wrapped = wrap(&text);
        assert!(wrapped.lines().all(|line| line.len() <= WIDTH));
        assert_eq!(wrapped.split_whitespace().count(), 40);
        assert_eq!(wrap("a `very-long-code-span`"), "a `very-long-code-span`\n");
    }

    #[test]
    fn appends_when_absent() {
        let out = splice("# kad benchmarks\n\ntext\n", NEW).expect("splice");
        assert_eq!(out, format!("# kad benchmarks\n\ntext\n\n{NEW}"));
    }

    #[test]
    fn replaces_between_markers_and_keeps_the_rest() {
        let doc = "a\n\n<!-- failover:begin -->\nold\nold\n<!-- failover:end -->\n\n## next\n";
        let out = splice(doc, NEW).expect("splice");
        assert_eq!(out, format!("a\n\n{NEW}\n## next\n"));
        assert_eq!(splice(&out, NEW).expect("again"), out, "idempotent");
    }

    #[test]
    fn refuses_a_lone_or_misordered_marker() {
        assert!(splice("x\n<!-- failover:begin -->\n", NEW).is_err());
        assert!(splice("<!-- failover:end -->\n<!-- failover:begin -->\n", NEW).is_err());
    }
}
