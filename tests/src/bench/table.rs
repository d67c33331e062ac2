//! The markdown table of a run: per row and fault, each daemon's min / median / max outage
//! side by side, the ratio of the medians, the median of the paired differences (trials of
//! the same phase), each daemon's median time from the master's last advert to the VIP
//! reachable, and the RFC floor. Printed by the binary and
//! written into BENCHMARKS.md by [`super::record`].

use std::{fmt::Write as _, time::Duration};

use super::{Cell, Daemon, Outages};

/// Milliseconds, with one decimal below 100 ms (the probe resolves 2 ms).
pub fn format_ms(value: Duration) -> String {
    let ms = value.as_secs_f64() * 1000.0;
    if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn spread(outages: &Outages) -> String {
    outages.summary().map_or("–".to_owned(), |s| {
        format!(
            "{} / **{}** / {} ms",
            format_ms(s.min),
            format_ms(s.median),
            format_ms(s.max)
        )
    })
}

/// `+12.0 ms`, `−3.5 ms`: a signed difference in ms (one decimal below 100 ms).
pub fn format_signed_ms(ms: f64) -> String {
    let sign = if ms < 0.0 { "−" } else { "+" };
    let magnitude = format_ms(Duration::from_secs_f64(ms.abs() / 1000.0));
    format!("{sign}{magnitude} ms")
}

fn since_advert(cell: &Cell) -> String {
    let median = |daemon| {
        cell.timings(daemon)
            .median_since_advert()
            .map_or("–".to_owned(), format_ms)
    };
    format!(
        "{} / {} ms",
        median(Daemon::Keepalived),
        median(Daemon::Kad)
    )
}

/// The table for `cells`; `keepalived` names the reference daemon in the header.
pub fn markdown(cells: &[Cell], keepalived: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| advert_int | fault | {keepalived} min / **median** / max | kad min / **median** / max \
         | kad / keepalived (medians) | kad − keepalived, paired (median) \
         | last advert → VIP reachable, keepalived / kad (medians) | RFC floor |"
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for cell in cells {
        let ratio = cell.ratio().map_or("–".to_owned(), |r| format!("{r:.2}"));
        let paired = cell
            .paired_median_ms()
            .map_or("–".to_owned(), format_signed_ms);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} ms |",
            cell.row.label(),
            cell.fault.label(),
            spread(&cell.keepalived),
            spread(&cell.kad),
            ratio,
            paired,
            since_advert(cell),
            format_ms(cell.row.rfc_floor(cell.fault)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{
        Fault, Row,
        phase::{Timing, Timings},
    };

    #[test]
    fn table_rows() {
        let mut cell = Cell::new(Row::FULL[2], Fault::Sigterm);
        cell.keepalived = Outages(vec![Duration::from_micros(72_400)]);
        cell.kad = Outages(vec![
            Duration::from_micros(70_000),
            Duration::from_micros(90_000),
            Duration::from_micros(130_000),
        ]);
        let table = markdown(&[cell.clone()], "keepalived 2.2.7");
        let line = table.lines().nth(2).expect("a data line");
        assert_eq!(
            line,
            "| 0.1 s, v3 | graceful stop (SIGTERM) | 72.4 / **72.4** / 72.4 ms \
             | 70.0 / **90.0** / 130 ms | 1.24 | −2.4 ms | – / – ms | 60.9 ms |"
        );
        cell.kad_timings = Timings(vec![Timing {
            phase: Duration::from_millis(40),
            since_advert: Duration::from_millis(110),
        }]);
        let table = markdown(&[cell], "keepalived");
        assert!(
            table
                .lines()
                .nth(2)
                .expect("line")
                .contains("| – / 110 ms |")
        );
        assert_eq!(format_signed_ms(1234.0), "+1234 ms");
        assert_eq!(format_signed_ms(0.0), "+0.0 ms");
    }
}
