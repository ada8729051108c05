//! Training curves as a PNG: one panel per metric, one line per split (train, valid, ...),
//! drawn with [`plotters`].
//!
//! Text is rendered with DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, licence
//! in `assets/DejaVuSans-LICENSE.txt`), so plotting needs no system fonts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::error::TrainError;
use super::metrics::MetricRecord;

/// Width of the image in pixels.
pub const PLOT_WIDTH: u32 = 1000;
/// Height of one panel (one metric) in pixels.
pub const PANEL_HEIGHT: u32 = 320;
/// Height of the title band in pixels.
pub const TITLE_HEIGHT: u32 = 50;

pub(crate) const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Colours for the splits: `train` first, `valid` second, then the others by name
/// (matplotlib's "tab10" palette).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The size in pixels `(width, height)` of a plot with `num_panels` panels.
pub fn plot_size(num_panels: usize) -> (u32, u32) {
    let panels = u32::try_from(num_panels.max(1)).unwrap_or(u32::MAX / PANEL_HEIGHT);
    (
        PLOT_WIDTH,
        TITLE_HEIGHT.saturating_add(PANEL_HEIGHT.saturating_mul(panels)),
    )
}

/// Registers the embedded font with plotters (once per process).
pub(crate) fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the embedded DejaVu Sans font could not be loaded".to_string())
    }
}

/// Draws `records` to the PNG file `out_png`: a title band with `title`, then one panel per
/// entry of `keys` (e.g. `["loss", "reward", "kl"]`), stacked vertically. In each panel x is
/// the step, y the metric, with one line per split (train blue, valid orange, others after) and
/// a legend. The image is [`plot_size`]`(keys.len())` pixels; parent directories are created.
///
/// - Points are sorted by step; non-finite values (NaN/inf) are left out.
/// - Series with few points (≤ 30) also get a marker at every point, so a single point (e.g.
///   one validation pass) is visible.
/// - A key with no finite value for any split gives an empty panel saying so.
///
/// Errors (as [`TrainError::Plot`], naming `out_png`): `keys` is empty, the directory cannot
/// be created, or drawing/encoding fails.
pub fn plot_metrics(
    records: &[MetricRecord],
    keys: &[&str],
    out_png: &Path,
    title: &str,
) -> Result<(), TrainError> {
    let err = |message: String| TrainError::Plot {
        path: out_png.to_path_buf(),
        message,
    };
    if keys.is_empty() {
        return Err(err("no metric keys to plot".to_string()));
    }
    register_font().map_err(err)?;
    if let Some(dir) = out_png.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create directory {}: {e}", dir.display())))?;
    }

    let size = plot_size(keys.len());
    let root = BitMapBackend::new(out_png, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let (title_band, body) = root.split_vertically(TITLE_HEIGHT);
    title_band
        .titled(title, (FONT, 28).into_font().color(&BLACK))
        .map_err(|e| err(e.to_string()))?;
    let panels = body.split_evenly((keys.len(), 1));
    for (panel, key) in panels.iter().zip(keys) {
        draw_panel(panel, records, key).map_err(err)?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

type Series = BTreeMap<(usize, String), Vec<(f64, f64)>>;

/// The finite points of metric `key`, per split, splits ordered train, valid, then by name.
fn collect_series(records: &[MetricRecord], key: &str) -> Series {
    let mut series: Series = BTreeMap::new();
    for record in records {
        let Some(value) = record.get(key).filter(|v| v.is_finite()) else {
            continue;
        };
        let rank = match record.split.as_str() {
            "train" => 0,
            "valid" | "validation" | "eval" => 1,
            _ => 2,
        };
        series
            .entry((rank, record.split.clone()))
            .or_default()
            .push((record.step as f64, value));
    }
    for points in series.values_mut() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// `[lo, hi]` padded so that it is never empty and has a margin around the data; a
/// degenerate range (one value) is widened by `max(min_half, 10% of the value)` each side.
pub(crate) fn padded_range(lo: f64, hi: f64, pad_frac: f64, min_half: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 || span < 1e-12 * lo.abs().max(hi.abs()) {
        let half = if lo == 0.0 {
            min_half.max(1.0)
        } else {
            min_half.max(0.1 * lo.abs())
        };
        return (lo - half, hi + half);
    }
    (lo - pad_frac * span, hi + pad_frac * span)
}

/// Tick label: integers as integers, very small or large magnitudes in scientific notation.
pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        format!("{}", v.round())
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Legend in the upper right unless the data's right-hand end lies high: then lower right.
fn legend_position(series: &Series, x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let x_cut = x.0 + 0.6 * (x.1 - x.0);
    let y_mid = 0.5 * (y.0 + y.1);
    let (mut high, mut low) = (0usize, 0usize);
    for &(px, py) in series.values().flatten() {
        if px >= x_cut {
            if py > y_mid {
                high += 1;
            } else {
                low += 1;
            }
        }
    }
    if high > low {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    }
}

fn draw_panel(
    panel: &DrawingArea<BitMapBackend<'_>, Shift>,
    records: &[MetricRecord],
    key: &str,
) -> Result<(), String> {
    let series = collect_series(records, key);
    let points = || series.values().flatten();
    let (x_lo, x_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (y_lo, y_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let x = padded_range(x_lo, x_hi, 0.02, 1.0);
    let y = padded_range(y_lo, y_hi, 0.08, 0.0);

    let mut chart = ChartBuilder::on(panel)
        .caption(key, (FONT, 22).into_font().color(&BLACK))
        .margin_top(4)
        .margin_bottom(8)
        .margin_left(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(78)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(|e| e.to_string())?;
    let x_fmt = |v: &f64| fmt_tick(*v);
    let y_fmt = |v: &f64| fmt_tick(*v);
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(key)
        .x_labels(10)
        .y_labels(6)
        .max_light_lines(2)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, 14).into_font().color(&BLACK))
        .axis_desc_style((FONT, 16).into_font().color(&BLACK))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(205, 205, 205))
        .draw()
        .map_err(|e| e.to_string())?;

    if series.is_empty() {
        let style = (FONT, 18).into_font().color(&RGBColor(110, 110, 110));
        let (w, h) = chart.plotting_area().dim_in_pixel();
        let text = format!("no finite values for \"{key}\"");
        let area = chart.plotting_area().strip_coord_spec();
        area.draw(&Text::new(
            text,
            (
                i32::try_from(w / 2).unwrap_or(0) - 110,
                i32::try_from(h / 2).unwrap_or(0),
            ),
            style,
        ))
        .map_err(|e| e.to_string())?;
        return Ok(());
    }

    let mut others = 2usize;
    for ((rank, split), pts) in &series {
        let color = match rank {
            0 => PALETTE[0],
            1 => PALETTE[1],
            _ => {
                let c = PALETTE[others % PALETTE.len()];
                others += 1;
                c
            }
        };
        let line = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), line))
            .map_err(|e| e.to_string())?
            .label(match pts.len() {
                1 => format!("{split} (1 pt)"),
                n => format!("{split} ({n} pts)"),
            })
            .legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 22, ly)], line));
        if pts.len() <= 30 {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend_position(&series, x, y))
        .label_font((FONT, 14).into_font().color(&BLACK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's signature and IHDR chunk.
    fn png_dimensions(bytes: &[u8]) -> (u32, u32) {
        assert!(bytes.len() > 24, "file too short for a PNG");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h)
    }

    /// A plausible run: train every step, valid every 50, with a NaN and a lone test point.
    fn sample_records() -> Vec<MetricRecord> {
        let mut records = Vec::new();
        for step in 0..=400usize {
            let t = step as f64;
            let noise = ((t * 12.9898).sin() * 43_758.545).fract() - 0.5;
            let loss = 0.8 + 2.2 * (-t / 90.0).exp() + 0.12 * noise;
            let reward = -1.0 + 2.5 * (1.0 - (-t / 120.0).exp()) + 0.2 * noise;
            let kl = 0.02 * t.sqrt() + 0.01 * noise.abs();
            let mut r = MetricRecord::from_pairs(
                step,
                "train",
                &[("loss", loss), ("reward", reward), ("kl", kl), ("lr", 3e-4)],
            );
            if step == 200 {
                r.values.insert("loss".to_string(), f64::NAN);
            }
            records.push(r);
            if step % 50 == 0 {
                records.push(MetricRecord::from_pairs(
                    step,
                    "valid",
                    &[
                        ("loss", 0.9 + 2.0 * (-t / 100.0).exp()),
                        ("reward", reward - 0.2),
                    ],
                ));
            }
        }
        records.push(MetricRecord::from_pairs(400, "test", &[("loss", 1.0)]));
        records
    }

    #[test]
    fn writes_png_of_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plots/curves.png");
        let keys = ["loss", "reward", "kl"];
        plot_metrics(&sample_records(), &keys, &out, "sft: tiny run").unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(png_dimensions(&bytes), plot_size(3));
        assert_eq!(plot_size(3), (PLOT_WIDTH, TITLE_HEIGHT + 3 * PANEL_HEIGHT));
    }

    /// Writes `sample_plot.png` to the temporary directory, to look at:
    /// `cargo test --release -p policy-opt sample_plot -- --ignored`.
    #[test]
    #[ignore = "writes a file outside the test's temporary directory, for inspection"]
    fn sample_plot_for_inspection() {
        let out = std::env::temp_dir().join("sample_plot.png");
        plot_metrics(
            &sample_records(),
            &["loss", "reward", "kl", "lr"],
            &out,
            "sft: sample run",
        )
        .unwrap();
        eprintln!("wrote {}", out.display());
        let records = vec![
            MetricRecord::from_pairs(5, "valid", &[("loss", 1.5), ("nan", f64::NAN)]),
            MetricRecord::from_pairs(6, "train", &[("const", 2.0)]),
            MetricRecord::from_pairs(7, "train", &[("const", 2.0)]),
        ];
        let out = std::env::temp_dir().join("sample_plot_degenerate.png");
        plot_metrics(&records, &["loss", "const", "nan"], &out, "degenerate").unwrap();
        eprintln!("wrote {}", out.display());
    }

    #[test]
    fn empty_and_degenerate_series_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("empty.png");
        // No records at all.
        plot_metrics(&[], &["loss"], &out, "empty").unwrap();
        assert_eq!(png_dimensions(&std::fs::read(&out).unwrap()), plot_size(1));
        // A single point, a constant series, a key that is never logged, only NaN values.
        let records = vec![
            MetricRecord::from_pairs(
                5,
                "valid",
                &[("loss", 1.5), ("const", 2.0), ("nan", f64::NAN)],
            ),
            MetricRecord::from_pairs(6, "train", &[("const", 2.0)]),
            MetricRecord::from_pairs(7, "train", &[("const", 2.0), ("zero", 0.0)]),
        ];
        let out = dir.path().join("degenerate.png");
        plot_metrics(
            &records,
            &["loss", "const", "missing", "nan", "zero"],
            &out,
            "",
        )
        .unwrap();
        assert_eq!(png_dimensions(&std::fs::read(&out).unwrap()), plot_size(5));
        // Huge and tiny magnitudes.
        let records: Vec<_> = (0..5)
            .map(|s| {
                MetricRecord::from_pairs(s, "train", &[("big", 1e30 * s as f64), ("tiny", 1e-12)])
            })
            .collect();
        plot_metrics(&records, &["big", "tiny"], &out, "magnitudes").unwrap();
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.png");
        let err = plot_metrics(&[], &[], &out, "t").unwrap_err();
        assert!(err.to_string().contains("x.png"), "{err}");
        assert!(err.to_string().contains("no metric keys"), "{err}");
        // A path whose parent is a file cannot be written.
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let bad = file.join("y.png");
        let err = plot_metrics(&[], &["loss"], &bad, "t").unwrap_err();
        assert!(err.to_string().contains("y.png"), "{err}");
    }

    #[test]
    fn tick_format() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(200.0), "200");
        assert_eq!(fmt_tick(1.25), "1.25");
        assert_eq!(fmt_tick(3e-4), "3.0e-4");
        assert_eq!(fmt_tick(2.5e6), "2.5e6");
    }
}
