//! `failover.png`: every trial's outage as a dot, kad beside keepalived for each advert
//! interval, one panel per fault, log-scale milliseconds; medians as bars, the RFC floor as
//! a grey dashed line. Drawn with plotters' bitmap backend; text goes through ab_glyph (pure
//! Rust) with DejaVu Sans from Debian's `fonts-dejavu-core`, which `cargo xtask setup`
//! installs.

use std::{fs, ops::Range, path::Path, sync::OnceLock, time::Duration};

use anyhow::{Context as _, Result, anyhow, bail};
use plotters::{
    coord::{
        Shift,
        ranged1d::{DefaultFormatting, KeyPointHint},
    },
    prelude::*,
    style::{FontStyle, register_font},
};

use super::{Cell, Daemon, Fault, Outages, Report, Row};

/// TTF files tried, in order, for the plot's text.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

const SIZE: (u32, u32) = (1400, 760);
const KEEPALIVED: RGBColor = RGBColor(31, 119, 180);
const KAD: RGBColor = RGBColor(214, 39, 40);
const FLOOR: RGBColor = RGBColor(130, 130, 130);
/// Horizontal offset of each daemon's column from the row's tick.
const OFFSET: f64 = 0.17;

/// Registers DejaVu Sans as plotters' `sans-serif` (once per process).
fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let (path, bytes) = FONT_PATHS
                .iter()
                .find_map(|path| fs::read(path).ok().map(|bytes| (path, bytes)))
                .ok_or_else(|| {
                    format!(
                        "no font for the plot: none of {FONT_PATHS:?} is readable (Debian \
                         package fonts-dejavu-core; `cargo xtask setup` installs it)"
                    )
                })?;
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{path}: not a font ab_glyph can read"))
        })
        .clone()
        .map_err(|message| anyhow!(message))
}

fn ms(value: Duration) -> f64 {
    value.as_secs_f64() * 1000.0
}

/// The y range (ms) holding every outage and floor of `cells`, with some margin.
fn y_range(cells: &[Cell]) -> (f64, f64) {
    let values = cells.iter().flat_map(|cell| {
        cell.kad
            .0
            .iter()
            .chain(&cell.keepalived.0)
            .copied()
            .chain([cell.row.rfc_floor(cell.fault)])
            .map(ms)
    });
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v.max(0.1)), hi.max(v))
    });
    if lo.is_finite() && hi > 0.0 {
        // Whole decades, so that every label of the log axis is drawn.
        let decade = |v: f64, round: fn(f64) -> f64| 10f64.powf(round(v.log10()));
        (decade(lo / 1.2, f64::floor), decade(hi * 1.2, f64::ceil))
    } else {
        (1.0, 10_000.0)
    }
}

/// Draws `report` to the PNG file at `path`.
pub fn draw(report: &Report, path: &Path) -> Result<()> {
    register_fonts()?;
    if report.cells.is_empty() {
        bail!("nothing to plot");
    }
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "VRRP failover, client-observed outage: kad vs keepalived ({} each, {})",
        super::trials(report.trials),
        report.machine.date
    );
    let body = root.titled(&title, ("sans-serif", 26))?;
    let (left, right) = body.split_horizontally(SIZE.0 / 2);
    let y = y_range(&report.cells);
    for (area, fault) in [(left, Fault::LinkDown), (right, Fault::Sigterm)] {
        let cells: Vec<&Cell> = report.cells.iter().filter(|c| c.fault == fault).collect();
        panel(&area, fault, &cells, y)?;
    }
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The x axis of a panel: rows at 0, 1, … (one tick each), continuous in between so that
/// each daemon's dots can sit beside the tick.
struct RowAxis(usize);

impl Ranged for RowAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (from, to): (i32, i32)) -> i32 {
        let Range { start, end } = self.range();
        let share = (value - start) / (end - start);
        from + (f64::from(to - from) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.0).map(|i| i as f64).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.0 as f64 - 0.5
    }
}

/// A panel: rows on x, log-scale milliseconds on y.
type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RowAxis, LogCoord<f64>>>;

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    fault: Fault,
    cells: &[&Cell],
    (y_lo, y_hi): (f64, f64),
) -> Result<()> {
    let rows: Vec<Row> = cells.iter().map(|cell| cell.row).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(fault.label(), ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(76)
        .build_cartesian_2d(RowAxis(rows.len()), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rows.len())
        .x_label_formatter(&|x| {
            rows.get(x.round().max(0.0) as usize)
                .map(Row::label)
                .unwrap_or_default()
        })
        .y_labels(40)
        .y_max_light_lines(0)
        .y_label_formatter(&log_label)
        .x_desc("advert_int, VRRP version")
        .y_desc("outage (ms, log scale)")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()?;

    for (i, cell) in cells.iter().enumerate() {
        let floor = ms(cell.row.rfc_floor(cell.fault));
        let x = i as f64;
        let series = chart.draw_series(DashedLineSeries::new(
            [(x - 0.42, floor), (x + 0.42, floor)],
            6,
            4,
            FLOOR.stroke_width(2),
        ))?;
        if i == 0 {
            series
                .label("RFC floor")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], FLOOR.stroke_width(2)));
        }
    }
    for (daemon, dx, color) in [
        (Daemon::Keepalived, -OFFSET, KEEPALIVED),
        (Daemon::Kad, OFFSET, KAD),
    ] {
        let outages: Vec<(f64, &Outages)> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let outages = match daemon {
                    Daemon::Kad => &cell.kad,
                    Daemon::Keepalived => &cell.keepalived,
                };
                (i as f64 + dx, outages)
            })
            .collect();
        dots(&mut chart, daemon, color, &outages, y_lo)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

/// Labels 1, 2 and 5 times a power of ten; the other ticks of a decade stay unlabelled.
fn log_label(value: &f64) -> String {
    let mantissa = value / 10f64.powf(value.log10().floor());
    if [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6) {
        if *value >= 1.0 {
            format!("{value:.0}")
        } else {
            format!("{value}")
        }
    } else {
        String::new()
    }
}

/// One daemon's trials (spread a little sideways so equal values stay visible) and medians.
fn dots(
    chart: &mut Chart<'_, '_>,
    daemon: Daemon,
    color: RGBColor,
    columns: &[(f64, &Outages)],
    y_lo: f64,
) -> Result<()> {
    let name = match daemon {
        Daemon::Kad => "kad",
        Daemon::Keepalived => "keepalived",
    };
    let points: Vec<(f64, f64)> = columns
        .iter()
        .flat_map(|(x, outages)| {
            let n = outages.0.len();
            outages.0.iter().enumerate().map(move |(j, value)| {
                let spread = if n > 1 {
                    (j as f64 / (n - 1) as f64 - 0.5) * 0.12
                } else {
                    0.0
                };
                (x + spread, ms(*value).max(y_lo))
            })
        })
        .collect();
    chart
        .draw_series(
            points
                .iter()
                .map(|point| Circle::new(*point, 5, color.mix(0.75).filled())),
        )?
        .label(format!("{name}: one trial"))
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    let medians: Vec<(f64, f64)> = columns
        .iter()
        .filter_map(|(x, outages)| Some((*x, ms(outages.summary()?.median).max(y_lo))))
        .collect();
    chart
        .draw_series(medians.iter().map(|(x, y)| {
            PathElement::new([(x - 0.12, *y), (x + 0.12, *y)], color.stroke_width(4))
        }))?
        .label(format!("{name}: median"))
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(4)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::machine::Machine;

    /// Draws a small report when the font is installed (skipped otherwise: the bench fails
    /// with a clear message in that case).
    #[test]
    fn draws_a_png() {
        if !FONT_PATHS.iter().any(|p| Path::new(p).exists()) {
            eprintln!("SKIPPED draws_a_png: no DejaVu Sans (fonts-dejavu-core)");
            return;
        }
        let cells = Row::selection(true)
            .into_iter()
            .flat_map(|row| Fault::ALL.map(|fault| Cell::new(row, fault)))
            .map(|mut cell| {
                let floor = cell.row.rfc_floor(cell.fault);
                cell.kad = Outages(vec![floor, floor * 2, floor / 2]);
                cell.keepalived = Outages(vec![floor * 3 / 2]);
                cell
            })
            .collect();
        let report = Report {
            trials: 3,
            quick: true,
            probe_interval: Duration::from_millis(2),
            keepalived_version: String::new(),
            nice: 0,
            machine: Machine::default(),
            elapsed: Duration::ZERO,
            cells,
        };
        let path = std::env::temp_dir().join(format!("kad-plot-test-{}.png", std::process::id()));
        draw(&report, &path).expect("draw");
        let bytes = fs::read(&path).expect("png written");
        let _ = fs::remove_file(&path);
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    }

    #[test]
    fn log_labels() {
        let labels: Vec<String> = [0.5, 0.6, 1.0, 3.0, 20.0, 70.0, 500.0, 1000.0]
            .iter()
            .map(log_label)
            .collect();
        assert_eq!(labels, ["0.5", "", "1", "", "20", "", "500", "1000"]);
    }
}
