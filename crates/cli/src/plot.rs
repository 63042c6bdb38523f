//! SVG pictures (plotters' SVG backend): loss curves with a histogram of final losses, and
//! decision regions.

use anyhow::{bail, Result};
use plotters::prelude::*;

use crate::data::{Labeled, Task};
use crate::model::{argmax, Model};
use crate::report::Report;

/// Colors of the classes, strong for points and light for regions (matplotlib's tab10; the
/// basins plot takes its minima's colours from it too).
pub(crate) const CLASS_COLORS: [RGBColor; 10] = [
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

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GRAY: RGBColor = RGBColor(120, 120, 120);

/// Font sizes: captions, axis descriptions, tick labels.
const CAPTION: u32 = 19;
const DESC: u32 = 16;
const TICKS: u32 = 14;

/// One entry of a legend drawn beside the charts, never over them.
enum Key {
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Band(RGBColor, f64),
    Bar(RGBColor),
    /// Text alone, for what the chart does not draw.
    Blank,
}

/// Draws `items` in one row, centred in `area` (a strip of its own below the charts).
fn legend(area: &Area<'_>, items: &[(Key, String)]) -> Result<()> {
    let font = ("sans-serif", DESC).into_font();
    let widths: Vec<i32> = items
        .iter()
        .map(|(_, t)| 34 + 8 * i32::try_from(t.chars().count()).unwrap_or(40) + 24)
        .collect();
    let (w, h) = area.dim_in_pixel();
    let total: i32 = widths.iter().sum();
    let mut x = ((i32::try_from(w).unwrap_or(0) - total) / 2).max(4);
    let y = i32::try_from(h).unwrap_or(0) / 2;
    for ((key, text), width) in items.iter().zip(&widths) {
        match key {
            Key::Line(c, width) => area
                .draw(&PathElement::new(
                    [(x, y), (x + 28, y)],
                    c.stroke_width(*width),
                ))
                .map_err(plot_error)?,
            Key::Dashed(c) => {
                for k in 0..3 {
                    let x0 = x + 11 * k;
                    area.draw(&PathElement::new([(x0, y), (x0 + 6, y)], c.stroke_width(2)))
                        .map_err(plot_error)?;
                }
            }
            Key::Band(c, alpha) => area
                .draw(&Rectangle::new(
                    [(x, y - 7), (x + 28, y + 7)],
                    c.mix(*alpha).filled(),
                ))
                .map_err(plot_error)?,
            Key::Blank => {}
            Key::Bar(c) => area
                .draw(&Rectangle::new(
                    [(x + 6, y - 8), (x + 22, y + 8)],
                    c.mix(0.7).filled(),
                ))
                .map_err(plot_error)?,
        }
        area.draw(&Text::new(
            text.clone(),
            (x + 34, y - 8),
            font.clone().color(&BLACK),
        ))
        .map_err(plot_error)?;
        x += width;
    }
    Ok(())
}

/// Tick values for a log axis over `[lo, hi]`: 1-2-5 steps within a few decades, every
/// mantissa within one, decades beyond, so that a reader finds numbers, not only powers of ten.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (hi / lo).log10();
    let mantissas: &[f64] = if decades <= 1.2 {
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    } else if decades <= 4.5 {
        &[1.0, 2.0, 5.0]
    } else if decades <= 7.0 {
        &[1.0, 3.0]
    } else {
        &[1.0]
    };
    // At most about eight decades labeled.
    let step = (decades / 8.0).ceil().max(1.0) as i32;
    let mut ticks = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi * 1.000_001 {
        for &m in mantissas {
            let v = m * 10f64.powi(e);
            if v >= lo * 0.999_999 && v <= hi * 1.000_001 {
                ticks.push(v);
            }
        }
        e += step;
    }
    if ticks.len() < 3 {
        // A narrow range: evenly spaced round numbers instead.
        return linear_ticks(lo, hi);
    }
    ticks
}

/// About five round tick values over `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut v = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    while v <= hi + 1e-9 * step {
        ticks.push(v);
        v += step;
    }
    ticks
}

/// A tick label: at most 3 significant digits, plain between 0.001 and 10,000, else like 2e-4.
fn tick(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    if (1e-3..1e4).contains(&x.abs()) {
        let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        let t = format!("{x:.digits$}");
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            t
        }
    } else {
        let t = format!("{x:.2e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
    }
}

/// Writes `text` in `color` at `at` (pixels of the whole picture, as a chart's
/// `backend_coord` gives them) moved by `offset`, on `area`.
fn note(
    area: &Area<'_>,
    at: (i32, i32),
    offset: (i32, i32),
    text: String,
    color: RGBColor,
) -> Result<()> {
    let (bx, by) = area.get_base_pixel();
    area.draw(&Text::new(
        text,
        (at.0 - bx + offset.0, at.1 - by + offset.1),
        ("sans-serif", DESC).into_font().color(&color),
    ))
    .map_err(plot_error)
}

/// A value for an annotation: 4 significant digits.
fn value(x: f64) -> String {
    if x.is_finite() && x.abs() >= 1.0 && x.abs() < 1e5 {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    } else {
        crate::report::loss(x)
    }
}

/// The score curve of a run, the one the best is chosen by: validation loss per epoch where
/// there is a split, else training loss.
fn score_curve(r: &crate::report::RunRecord) -> &[f64] {
    if r.validation_loss.is_empty() {
        &r.train_loss
    } else {
        &r.validation_loss
    }
}

/// The `q`-quantile of sorted values, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    if i + 1 < sorted.len() {
        sorted[i] * (1.0 - f) + sorted[i + 1] * f
    } else {
        sorted[i]
    }
}

/// `[lo, hi]` widened by a margin on a log scale (a factor) or a linear one.
fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        let f = (hi / lo).powf(0.06).max(1.05);
        (lo / f, hi * f)
    } else {
        let pad = 0.06 * (hi - lo).max(1e-9 * hi.abs().max(1e-12));
        (lo - pad, hi + pad)
    }
}

/// The restarts of a report, as SVG text: the score per epoch (validation loss where there is
/// a split, the loss that chooses the best) as the median over the restarts with an
/// interquartile band and the range, the best restart and the zero-init run; beside it the
/// distribution of the final scores (log bins when they span a decade or more), the best and
/// the zero-init run marked, the latter as a note when it lies far off the restarts' range.
///
/// # Errors
/// A report without runs.
pub fn restarts_svg(report: &Report) -> Result<String> {
    if report.runs.is_empty() {
        bail!("no restarts to draw");
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (charts, strip) = root.split_vertically(470);
        let panels = charts.split_evenly((1, 2));
        draw_curves(&panels[0], report)?;
        draw_histogram(&panels[1], report)?;
        let r = report.runs.iter().filter(|r| !r.diverged).count();
        let mut items = vec![
            (Key::Line(BLUE, 2), format!("median of {r} restarts")),
            (Key::Band(BLUE, 0.35), "25-75%".to_owned()),
            (Key::Band(BLUE, 0.12), "min-max".to_owned()),
        ];
        if let Some(b) = &report.best {
            items.push((
                Key::Line(ORANGE, 3),
                format!("best (restart {})", b.restart),
            ));
        }
        if report.baseline.is_some() {
            items.push((Key::Dashed(RED), "zero init".to_owned()));
        }
        items.push((Key::Bar(GRAY), "restarts per bin".to_owned()));
        legend(&strip, &items)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn draw_curves(area: &Area<'_>, report: &Report) -> Result<()> {
    let what = report.score_name();
    // The restarts that diverged would stretch the axis to their last finite losses: they are
    // counted in the caption instead.
    let curves: Vec<&[f64]> = report
        .runs
        .iter()
        .filter(|r| !r.diverged)
        .map(score_curve)
        .collect();
    let diverged = report.runs.len() - curves.len();
    let caption = if diverged > 0 {
        format!("{what} per epoch ({diverged} diverged, not shown)")
    } else {
        format!("{what} per epoch")
    };
    let epochs = curves.iter().map(|c| c.len()).max().unwrap_or(1).max(2);
    // Per epoch: min, 25%, median, 75%, max over the restarts still finite there.
    let mut bands: Vec<(usize, [f64; 5])> = Vec::with_capacity(epochs);
    for e in 0..epochs {
        let mut v: Vec<f64> = curves
            .iter()
            .filter_map(|c| c.get(e).copied())
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let q = [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(&v, q));
        bands.push((e + 1, q));
    }
    let (lo, hi) = bands
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), (_, q)| {
            (lo.min(q[0]), hi.max(q[4]))
        });
    // The zero-init run joins the axis when that at most doubles its span (in decades).
    let zero = report.baseline.as_ref().map(|b| {
        score_curve(b)
            .iter()
            .filter(|x| x.is_finite() && **x > 0.0)
            .fold((f64::INFINITY, 0.0_f64), |(a, b), &x| (a.min(x), b.max(x)))
    });
    let (lo, hi) = match zero {
        Some((a, b)) if a.is_finite() && lo.is_finite() && hi > lo => {
            let (a, b) = (lo.min(a), hi.max(b));
            if (b / a).ln() <= 2.0 * (hi / lo).ln() {
                (a, b)
            } else {
                (lo, hi)
            }
        }
        _ => (lo, hi),
    };
    let (lo, hi) = if lo.is_finite() && hi > lo {
        padded(lo, hi, true)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", CAPTION))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(
            1..epochs,
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
        )
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(format!("{what} (log scale)"))
        .axis_desc_style(("sans-serif", DESC))
        .label_style(("sans-serif", TICKS))
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.08))
        .draw()
        .map_err(plot_error)?;
    let band = |a: usize, b: usize| -> Vec<(usize, f64)> {
        let upper = bands.iter().map(|(e, q)| (*e, q[b]));
        let lower = bands.iter().rev().map(|(e, q)| (*e, q[a]));
        upper.chain(lower).collect()
    };
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(0, 4),
            BLUE.mix(0.12).filled(),
        )))
        .map_err(plot_error)?;
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(1, 3),
            BLUE.mix(0.35).filled(),
        )))
        .map_err(plot_error)?;
    chart
        .draw_series(LineSeries::new(
            bands.iter().map(|(e, q)| (*e, q[2])),
            BLUE.stroke_width(2),
        ))
        .map_err(plot_error)?;
    let clipped = |c: &[f64]| -> Vec<(usize, f64)> {
        c.iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .map(|(e, &x)| (e + 1, x.clamp(lo, hi)))
            .collect()
    };
    if let Some(b) = &report.baseline {
        let curve = score_curve(b);
        // Only the stretches inside the axis: a run off the range leaves no line on the frame.
        let mut pieces: Vec<Vec<(usize, f64)>> = vec![Vec::new()];
        for (e, &x) in curve.iter().enumerate() {
            if x.is_finite() && x >= lo && x <= hi {
                if let Some(p) = pieces.last_mut() {
                    p.push((e + 1, x));
                }
            } else if pieces.last().is_some_and(|p| !p.is_empty()) {
                pieces.push(Vec::new());
            }
        }
        for piece in pieces.into_iter().filter(|p| p.len() > 1) {
            chart
                .draw_series(DashedLineSeries::new(piece, 7, 5, RED.stroke_width(2)))
                .map_err(plot_error)?;
        }
        if let Some(&last) = curve.iter().rev().find(|x| x.is_finite()) {
            if last > hi || last < lo {
                let at = chart.backend_coord(&(epochs, if last > hi { hi } else { lo }));
                let side = if last > hi { "above" } else { "below" };
                let dy = if last > hi { 6 } else { -22 };
                let text = format!("zero init ends at {}, {side} the axis", value(last));
                note(area, at, (-310, dy), text, RED)?;
            }
        }
    }
    let best = report.best.as_ref().map(|b| b.restart);
    if let Some(r) = report.runs.iter().find(|r| Some(r.restart) == best) {
        chart
            .draw_series(LineSeries::new(
                clipped(score_curve(r)),
                ORANGE.stroke_width(3),
            ))
            .map_err(plot_error)?;
    }
    Ok(())
}

fn draw_histogram(area: &Area<'_>, report: &Report) -> Result<()> {
    let what = report.score_name();
    let scores: Vec<f64> = report
        .runs
        .iter()
        .filter(|r| !r.diverged && r.score.is_finite())
        .map(|r| r.score)
        .collect();
    let r = report.runs.len();
    let diverged = r - scores.len();
    let caption = if diverged > 0 {
        format!("final {what} of {r} restarts ({diverged} diverged, not shown)")
    } else {
        format!("final {what} of {r} restarts")
    };
    let (lo, hi) = scores
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    // Log bins when the scores span a decade or more.
    let log = lo > 0.0 && hi / lo >= 10.0;
    // The zero-init run joins the axis when that at most doubles its span; farther off, it is
    // a note at the edge.
    let (lo, hi) = match report.baseline.as_ref().map(|b| b.score) {
        Some(z) if z.is_finite() && lo.is_finite() && (!log || z > 0.0) => {
            let span = |a: f64, b: f64| if log { (b / a).ln() } else { b - a };
            let (a, b) = (lo.min(z), hi.max(z));
            if span(a, b) <= 2.0 * span(lo, hi) {
                (a, b)
            } else {
                (lo, hi)
            }
        }
        _ => (lo, hi),
    };
    let (lo, hi) = if !lo.is_finite() {
        (0.1, 1.0)
    } else if hi > lo {
        padded(lo, hi, log)
    } else {
        let d = 0.05 * lo.abs().max(1e-6);
        (lo - d, hi + d)
    };
    let bins = if scores.len() > 40 { 30 } else { 20 };
    let to = |x: f64| if log { x.ln() } else { x };
    let from = |x: f64| if log { x.exp() } else { x };
    let (t0, t1) = (to(lo), to(hi));
    let width = (t1 - t0) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &s in &scores {
        let k = (((to(s) - t0) / width) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    let top = top + top.div_ceil(5);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, ("sans-serif", CAPTION))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(50);
    let bars = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(k, &c)| {
            let x0 = from(t0 + k as f64 * width);
            let x1 = from(t0 + (k + 1) as f64 * width);
            (x0, x1, c)
        });
    let bars: Vec<(f64, f64, u32)> = bars.collect();
    let best = report
        .best
        .as_ref()
        .and_then(|b| report.runs.iter().find(|r| r.restart == b.restart))
        .map(|r| r.score);
    let zero = report.baseline.as_ref().map(|b| b.score);
    let y_desc = "restarts";
    macro_rules! draw {
        ($chart:expr, $xdesc:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc($xdesc)
                .y_desc(y_desc)
                .axis_desc_style(("sans-serif", DESC))
                .label_style(("sans-serif", TICKS))
                .x_label_formatter(&|x| tick(*x))
                .x_labels(7)
                .light_line_style(WHITE)
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_series(
                    bars.iter().map(|&(x0, x1, c)| {
                        Rectangle::new([(x0, 0), (x1, c)], GRAY.mix(0.7).filled())
                    }),
                )
                .map_err(plot_error)?;
            if let Some(b) = best {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(b, 0), (b, top)],
                        ORANGE.stroke_width(3),
                    )))
                    .map_err(plot_error)?;
            }
            match zero {
                Some(z) if z.is_finite() && z >= lo && z <= hi => {
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(z, 0), (z, top)],
                            7,
                            5,
                            RED.stroke_width(2),
                        ))
                        .map_err(plot_error)?;
                }
                Some(z) => {
                    // Far off the restarts' range: a note at the edge, not a stretched axis.
                    let right = z.is_nan() || z >= lo;
                    let at = chart.backend_coord(&(if right { hi } else { lo }, top));
                    let text = if z.is_finite() {
                        format!("zero init: {}", value(z))
                    } else {
                        "zero init: diverged".to_owned()
                    };
                    let text = if right {
                        format!("{text} \u{2192}")
                    } else {
                        format!("\u{2190} {text}")
                    };
                    let w = 8 * i32::try_from(text.chars().count()).unwrap_or(20);
                    let dx = if right { -w - 6 } else { 6 };
                    note(area, at, (dx, 6), text, RED)?;
                }
                None => {}
            }
        }};
    }
    if log {
        let chart = builder
            .build_cartesian_2d(
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
                0u32..top,
            )
            .map_err(plot_error)?;
        draw!(chart, format!("final {what} (log scale, log bins)"));
    } else {
        let chart = builder
            .build_cartesian_2d(lo..hi, 0u32..top)
            .map_err(plot_error)?;
        draw!(chart, format!("final {what}"));
    }
    Ok(())
}

/// The statistics of a whole report, as SVG text: the ECDF of the final scores with the
/// success threshold marked, and the expected best of `k` random restarts against `k` (log
/// scale) with the probability that they hold a success beside it.
///
/// # Errors
/// A report without statistics.
pub fn stats_svg(report: &Report) -> Result<String> {
    let Some(stats) = &report.statistics else {
        bail!("no statistics to draw");
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1200, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (charts, strip) = root.split_vertically(470);
        let panels = charts.split_evenly((1, 2));
        let threshold = draw_ecdf(&panels[0], report, stats)?;
        draw_best_of_k(&panels[1], report, stats)?;
        let s = &stats.success;
        let success = match threshold {
            Some(t) => (
                Key::Dashed(GREEN),
                format!(
                    "success: score \u{2264} {} ({} of {})",
                    tick(t),
                    s.count,
                    s.restarts
                ),
            ),
            None => (
                Key::Blank,
                format!(
                    "success: {} ({} of {}), not a score",
                    s.criterion, s.count, s.restarts
                ),
            ),
        };
        legend(
            &strip,
            &[
                (
                    Key::Line(BLUE, 2),
                    "restarts with a score \u{2264} x".to_owned(),
                ),
                success,
                (Key::Line(ORANGE, 3), "expected best of k".to_owned()),
                (Key::Line(GREEN, 2), "P(a success among k)".to_owned()),
            ],
        )?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// The ECDF panel; returns the success threshold on the score axis, if the criterion has one.
fn draw_ecdf(
    area: &Area<'_>,
    report: &Report,
    stats: &crate::report::Statistics,
) -> Result<Option<f64>> {
    let what = report.score_name();
    let mut scores: Vec<f64> = report
        .runs
        .iter()
        .map(|r| r.outcome().score)
        .filter(|s| s.is_finite())
        .collect();
    scores.sort_by(f64::total_cmp);
    let r = report.runs.len();
    let best = scores.first().copied().unwrap_or(f64::NAN);
    let threshold = stats
        .success
        .criterion
        .parse::<backprop_optim::stats::Criterion>()
        .ok()
        .and_then(|c| c.threshold(best));
    let (lo, hi) = match (scores.first(), scores.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0.1, 1.0),
    };
    let log = lo > 0.0 && hi / lo >= 10.0;
    let (lo, hi) = if hi > lo {
        padded(lo, hi, log)
    } else {
        let d = 0.05 * lo.abs().max(1e-6);
        (lo - d, hi + d)
    };
    let diverged = r - scores.len();
    let caption = if diverged > 0 {
        format!("ECDF of the final {what} ({diverged} of {r} diverged)")
    } else {
        format!("ECDF of the final {what}, {r} restarts")
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(caption, ("sans-serif", CAPTION))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60);
    // The step function, from 0 before the best to (R - d) / R after the worst.
    let mut steps = vec![(lo, 0.0)];
    for (k, &x) in scores.iter().enumerate() {
        steps.push((x, k as f64 / r as f64));
        steps.push((x, (k + 1) as f64 / r as f64));
    }
    steps.push((hi, scores.len() as f64 / r as f64));
    macro_rules! draw {
        ($chart:expr, $xdesc:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc($xdesc)
                .y_desc("fraction of restarts")
                .axis_desc_style(("sans-serif", DESC))
                .label_style(("sans-serif", TICKS))
                .x_label_formatter(&|x| tick(*x))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .x_labels(7)
                .light_line_style(WHITE)
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(plot_error)?;
            if let Some(t) = threshold {
                let t_in = t.clamp(lo, hi);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(lo, 0.0), (t_in, 1.05)],
                        GREEN.mix(0.08).filled(),
                    )))
                    .map_err(plot_error)?;
                if t >= lo && t <= hi {
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(t, 0.0), (t, 1.05)],
                            7,
                            5,
                            GREEN.stroke_width(2),
                        ))
                        .map_err(plot_error)?;
                }
                let p = stats.success.p;
                chart
                    .draw_series(DashedLineSeries::new(
                        [(lo, p), (t_in, p)],
                        3,
                        4,
                        GREEN.stroke_width(1),
                    ))
                    .map_err(plot_error)?;
                let at = chart.backend_coord(&(lo, p));
                note(area, at, (6, -20), format!("p = {p:.3}"), GREEN)?;
            }
            chart
                .draw_series(LineSeries::new(steps.iter().copied(), BLUE.stroke_width(2)))
                .map_err(plot_error)?;
        }};
    }
    if log {
        let chart = builder
            .build_cartesian_2d(
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
                0.0..1.05,
            )
            .map_err(plot_error)?;
        draw!(chart, format!("final {what} x (log scale)"));
    } else {
        let chart = builder
            .build_cartesian_2d(lo..hi, 0.0..1.05)
            .map_err(plot_error)?;
        draw!(chart, format!("final {what} x"));
    }
    Ok(threshold)
}

/// The best-of-k panel: the expected best (left axis) and the probability of a success (right
/// axis) against k on a log scale.
fn draw_best_of_k(
    area: &Area<'_>,
    report: &Report,
    stats: &crate::report::Statistics,
) -> Result<()> {
    let what = report.score_name();
    let r = stats.best_of_k.len().max(2);
    let finite: Vec<(f64, f64)> = stats
        .best_of_k
        .iter()
        .filter(|b| b.expected.is_finite())
        .map(|b| (b.k as f64, b.expected))
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, e)| {
            (lo.min(e), hi.max(e))
        });
    let log = lo > 0.0 && hi / lo >= 10.0;
    let (lo, hi) = if !lo.is_finite() {
        (0.1, 1.0)
    } else if hi > lo {
        padded(lo, hi, log)
    } else {
        let d = 0.05 * lo.abs().max(1e-6);
        (lo - d, hi + d)
    };
    let k_range = || {
        (0.8..r as f64 * 1.25)
            .log_scale()
            .with_key_points(log_ticks(1.0, r as f64))
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(
            format!("best of k random restarts of {}", stats.best_of_k.len()),
            ("sans-serif", CAPTION),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .right_y_label_area_size(60);
    let p: Vec<(f64, f64)> = stats
        .best_of_k
        .iter()
        .map(|b| (b.k as f64, b.p_success))
        .collect();
    let skipped = stats.best_of_k.len() - finite.len();
    macro_rules! draw {
        ($chart:expr, $ydesc:expr) => {{
            let mut chart = $chart.set_secondary_coord(k_range(), 0.0..1.05);
            chart
                .configure_mesh()
                .x_desc("k, restarts (log scale)")
                .y_desc($ydesc)
                .axis_desc_style(("sans-serif", DESC))
                .label_style(("sans-serif", TICKS))
                .x_label_formatter(&|x| tick(*x))
                .y_label_formatter(&|y| tick(*y))
                .light_line_style(WHITE)
                .bold_line_style(BLACK.mix(0.08))
                .draw()
                .map_err(plot_error)?;
            chart
                .configure_secondary_axes()
                .y_desc("P(a success among k)")
                .axis_desc_style(("sans-serif", DESC).into_font().color(&GREEN))
                .label_style(("sans-serif", TICKS).into_font().color(&GREEN))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_secondary_series(LineSeries::new(p.iter().copied(), GREEN.stroke_width(2)))
                .map_err(plot_error)?;
            chart
                .draw_series(LineSeries::new(
                    finite.iter().copied(),
                    ORANGE.stroke_width(3),
                ))
                .map_err(plot_error)?;
            if skipped > 0 {
                let at = chart.backend_coord(&(1.0, hi));
                let text = format!("k \u{2264} {skipped}: infinite (all may diverge)");
                note(area, at, (6, 6), text, RED)?;
            }
        }};
    }
    if log {
        let chart = builder
            .build_cartesian_2d(
                k_range(),
                (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            )
            .map_err(plot_error)?;
        draw!(chart, format!("expected best {what} (log scale)"));
    } else {
        let chart = builder
            .build_cartesian_2d(k_range(), lo..hi)
            .map_err(plot_error)?;
        draw!(chart, format!("expected best {what}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_give_numbers_between_the_decades() {
        // Within a decade: every mantissa.
        assert_eq!(log_ticks(0.06, 0.098), vec![0.06, 0.07, 0.08, 0.09]);
        // A few decades: 1-2-5.
        let t = log_ticks(1.5e-4, 0.3);
        assert!(
            t.contains(&2e-4) && t.contains(&5e-3) && t.contains(&0.2),
            "{t:?}"
        );
        // Many decades: every decade, then every other one.
        assert_eq!(log_ticks(1e-10, 1.0).len(), 6);
        assert!(log_ticks(1e-12, 1e195).len() <= 9);
        // Too narrow for round mantissas: evenly spaced round numbers.
        let t = log_ticks(0.0612, 0.0639);
        assert!(t.len() >= 3, "{t:?}");
        assert!(t.iter().all(|x| (0.0612..=0.0639).contains(x)), "{t:?}");
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(0.1), "0.1");
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(2e-4), "2e-4");
        assert_eq!(tick(1.5e-5), "1.5e-5");
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(0.0625), "0.0625");
        assert_eq!(tick(0.0), "0");
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 1.0), 4.0);
    }
}
