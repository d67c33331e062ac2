//! The markdown table of a run: per row and fault, each daemon's min / median / max outage
//! side by side, the ratio of the medians and the RFC floor. Printed by the binary and
//! written into BENCHMARKS.md by [`super::record`].

use std::{fmt::Write as _, time::Duration};

use super::{Cell, Outages};

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

/// The table for `cells`; `keepalived` names the reference daemon in the header.
pub fn markdown(cells: &[Cell], keepalived: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| advert_int | fault | {keepalived} min / **median** / max | kad min / **median** / max \
         | kad / keepalived (medians) | RFC floor |"
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for cell in cells {
        let ratio = cell.ratio().map_or("–".to_owned(), |r| format!("{r:.2}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} ms |",
            cell.row.label(),
            cell.fault.label(),
            spread(&cell.keepalived),
            spread(&cell.kad),
            ratio,
            format_ms(cell.row.rfc_floor(cell.fault)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Fault, Row};

    #[test]
    fn table_rows() {
        let mut cell = Cell::new(Row::FULL[2], Fault::Sigterm);
        cell.keepalived = Outages(vec![Duration::from_micros(72_400)]);
        cell.kad = Outages(vec![
            Duration::from_micros(70_000),
            Duration::from_micros(90_000),
            Duration::from_micros(130_000),
        ]);
        let table = markdown(&[cell], "keepalived 2.2.7");
        let line = table.lines().nth(2).expect("a data line");
        assert_eq!(
            line,
            "| 0.1 s, v3 | graceful stop (SIGTERM) | 72.4 / **72.4** / 72.4 ms \
             | 70.0 / **90.0** / 130 ms | 1.24 | 60.9 ms |"
        );
    }
}
