//! An x–y plot of several named series in one panel (e.g. the reward–KL frontier of several
//! methods: oracle score against KL to the reference), as a PNG.

use std::path::Path;

use plotters::prelude::*;

use crate::error::TrainError;
use crate::plot::{FONT, PALETTE, fmt_tick, padded_range, register_font};

/// One named series of `(x, y)` points, drawn as a line through the points in the given
/// order with a marker at each.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct XySeries {
    /// Legend label.
    pub name: String,
    /// The points; non-finite ones are left out.
    pub points: Vec<(f64, f64)>,
}

impl XySeries {
    /// The series `name` through `points`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// Draws `series` into one panel of `out_png` (1000 × 700 pixels) titled `title`, with axis
/// labels `x_label` and `y_label` and a legend; parent folders are created. Errors (as
/// [`TrainError::Plot`], naming the file): no series, no finite point, or drawing fails.
pub fn plot_xy(
    series: &[XySeries],
    x_label: &str,
    y_label: &str,
    title: &str,
    out_png: &Path,
) -> Result<(), TrainError> {
    let err = |message: String| TrainError::Plot {
        path: out_png.to_path_buf(),
        message,
    };
    let finite: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all = || finite.iter().flatten();
    if all().next().is_none() {
        return Err(err("no finite point to plot".into()));
    }
    register_font().map_err(err)?;
    if let Some(dir) = out_png.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create directory {}: {e}", dir.display())))?;
    }
    let fold = |f: fn(&(f64, f64)) -> f64| {
        all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(f(p)), hi.max(f(p)))
        })
    };
    let (xl, xh) = fold(|p| p.0);
    let (yl, yh) = fold(|p| p.1);
    let x = padded_range(xl, xh, 0.04, 0.5);
    let y = padded_range(yl, yh, 0.08, 0.0);
    let root = BitMapBackend::new(out_png, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 24).into_font().color(&BLACK))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(|e| err(e.to_string()))?;
    let fmt = |v: &f64| fmt_tick(*v);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style((FONT, 14).into_font().color(&BLACK))
        .axis_desc_style((FONT, 16).into_font().color(&BLACK))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(205, 205, 205))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, (s, pts)) in series.iter().zip(&finite).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let line = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), line))
            .map_err(|e| err(e.to_string()))?
            .label(s.name.clone())
            .legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 22, ly)], line));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| err(e.to_string()))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14).into_font().color(&BLACK))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_and_refuses_empty_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/frontier.png");
        let series = vec![
            XySeries {
                name: "ppo".into(),
                points: vec![(0.0, 0.1), (1.0, 0.4), (2.5, 0.6), (f64::NAN, 1.0)],
            },
            XySeries {
                name: "dpo".into(),
                points: vec![(0.5, 0.3)],
            },
        ];
        plot_xy(&series, "KL", "oracle", "frontier", &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let empty = vec![XySeries {
            name: "x".into(),
            points: vec![(f64::NAN, 0.0)],
        }];
        let e = plot_xy(&empty, "x", "y", "t", &path).unwrap_err();
        assert!(e.to_string().contains("no finite point"), "{e}");
    }
}
