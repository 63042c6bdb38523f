//! SVG pictures (plotters' SVG backend): loss curves with a histogram of final losses, and
//! decision regions.

use anyhow::{bail, Result};
use plotters::prelude::*;

use crate::data::{Labeled, Task};
use crate::model::{argmax, Model};
use crate::report::Report;

/// Colors of the classes, strong for points and light for regions.
const CLASS_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn plot_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw: {e}")
}

/// The loss curves of every restart (the best one highlighted, the zero-init run dashed red)
/// and a histogram of the final scores, as SVG text.
///
/// # Errors
/// A report without runs.
pub fn restarts_svg(report: &Report) -> Result<String> {
    if report.runs.is_empty() {
        bail!("no restarts to draw");
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 450)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let panels = root.split_evenly((1, 2));
        draw_curves(&panels[0], report)?;
        draw_histogram(&panels[1], report)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn draw_curves(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    report: &Report,
) -> Result<()> {
    let curves: Vec<&[f64]> = report
        .runs
        .iter()
        .chain(&report.baseline)
        .map(|r| r.train_loss.as_slice())
        .collect();
    let epochs = curves.iter().map(|c| c.len()).max().unwrap_or(1).max(2);
    let finite = curves
        .iter()
        .flat_map(|c| c.iter())
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0);
    let (lo, hi) = finite.fold((f64::INFINITY, 0.0_f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo * 0.8, hi * 1.25)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption("training loss per epoch", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(1..epochs, (lo..hi).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("mean loss (log scale)")
        .y_label_formatter(&|y| format!("{y:.1e}"))
        .draw()
        .map_err(plot_error)?;
    let points = |c: &[f64]| -> Vec<(usize, f64)> {
        c.iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .map(|(e, &x)| (e + 1, x.clamp(lo, hi)))
            .collect()
    };
    let best = report.best.as_ref().map(|b| b.restart);
    let gray = RGBColor(160, 160, 160).mix(0.6);
    let mut labeled_other = false;
    for r in report.runs.iter().filter(|r| Some(r.restart) != best) {
        let series = chart
            .draw_series(LineSeries::new(points(&r.train_loss), gray.stroke_width(1)))
            .map_err(plot_error)?;
        if !labeled_other {
            series
                .label("random restarts")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], gray));
            labeled_other = true;
        }
    }
    if let Some(b) = &report.baseline {
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(DashedLineSeries::new(
                points(&b.train_loss),
                6,
                4,
                red.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label("zero init")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(2)));
    }
    if let Some(r) = report.runs.iter().find(|r| Some(r.restart) == best) {
        let blue = RGBColor(31, 119, 180);
        chart
            .draw_series(LineSeries::new(points(&r.train_loss), blue.stroke_width(3)))
            .map_err(plot_error)?
            .label(format!("best (restart {})", r.restart))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

fn draw_histogram(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    report: &Report,
) -> Result<()> {
    let what = if report.config.data.validation_rows > 0 {
        "validation"
    } else {
        "training"
    };
    let scores: Vec<f64> = report
        .runs
        .iter()
        .filter(|r| !r.diverged && r.score.is_finite())
        .map(|r| r.score)
        .collect();
    // The axis spans the restarts and the zero-init run, whose marker is drawn over the bars.
    let baseline = report
        .baseline
        .as_ref()
        .map(|b| b.score)
        .filter(|s| s.is_finite());
    let (lo, hi) = scores
        .iter()
        .chain(&baseline)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let (lo, hi) = if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5 * lo.abs().max(1e-3), hi + 0.5 * hi.abs().max(1e-3))
    };
    let bins = 20;
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &s in &scores {
        let k = (((s - lo) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) + 1;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("final {what} loss of {} restarts", report.runs.len()),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(40)
        .build_cartesian_2d(lo..hi, 0u32..top)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(format!("final {what} loss"))
        .y_desc("restarts")
        .x_label_formatter(&|x| format!("{x:.3}"))
        .draw()
        .map_err(plot_error)?;
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(k, &c)| {
                    let x0 = lo + k as f64 * width;
                    Rectangle::new([(x0, 0), (x0 + width, c)], blue.mix(0.7).filled())
                }),
        )
        .map_err(plot_error)?;
    if let Some(b) = &report.baseline {
        if b.score.is_finite() && b.score >= lo && b.score <= hi {
            let red = RGBColor(214, 39, 40);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [(b.score, 0), (b.score, top)],
                    red.stroke_width(2),
                )))
                .map_err(plot_error)?
                .label("zero init")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(2)));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperMiddle)
                .draw()
                .map_err(plot_error)?;
        }
    }
    Ok(())
}

/// The decision regions of `model` over the plane of its two inputs, with the points of `data`
/// (raw units) colored by class, as SVG text.
///
/// # Errors
/// A model that is not a classifier of two inputs.
pub fn boundary_svg(model: &Model, data: &Labeled, title: &str) -> Result<String> {
    if model.network.inputs() != 2 || model.task != Task::Classification {
        bail!(
            "--boundary draws classifiers of two inputs; this model has {} ({})",
            crate::data::count(model.network.inputs(), "input", "inputs"),
            model.task
        );
    }
    let range = |k: usize| {
        let (lo, hi) = (0..data.len())
            .map(|s| data.sample_x(s)[k])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let pad = 0.08 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    let n = 120;
    let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
    let mut ws = model.network.workspace();
    let mut scratch = Vec::new();
    let mut out = vec![0.0; model.network.outputs()];
    // Cells of one class that follow each other up a column are drawn as one rectangle.
    let mut cells: Vec<(f64, f64, f64, usize)> = Vec::new();
    for i in 0..n {
        let mut run: Option<(usize, usize)> = None; // (first row, class)
        for j in 0..=n {
            let class = if j < n {
                let (x, y) = (x0 + (i as f64 + 0.5) * dx, y0 + (j as f64 + 0.5) * dy);
                model.predict_to(&mut ws, &[x, y], &mut scratch, &mut out)?;
                Some(argmax(&out))
            } else {
                None
            };
            match (run, class) {
                (Some((_, k)), Some(c)) if k == c => {}
                (prev, next) => {
                    if let Some((start, k)) = prev {
                        let x = x0 + i as f64 * dx;
                        cells.push((x, y0 + start as f64 * dy, y0 + j as f64 * dy, k));
                    }
                    run = next.map(|c| (j, c));
                }
            }
        }
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let name = |k: usize| {
            model
                .inputs
                .get(k)
                .cloned()
                .unwrap_or(format!("x{}", k + 1))
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        chart
            .draw_series(cells.iter().map(|&(x, y_lo, y_hi, k)| {
                let c = CLASS_COLORS[k % CLASS_COLORS.len()];
                Rectangle::new([(x, y_lo), (x + dx, y_hi)], c.mix(0.25).filled())
            }))
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(name(0))
            .y_desc(name(1))
            .draw()
            .map_err(plot_error)?;
        for (k, class) in model.classes.iter().enumerate() {
            let c = CLASS_COLORS[k % CLASS_COLORS.len()];
            chart
                .draw_series(
                    (0..data.len())
                        .map(|s| (data.sample_x(s), data.sample_y(s)))
                        .filter(|(_, y)| argmax(y) == k)
                        .map(|(x, _)| Circle::new((x[0], x[1]), 3, c.filled())),
                )
                .map_err(plot_error)?
                .label(format!("class {class}"))
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}
