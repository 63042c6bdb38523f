//! `backprop basins`: the restarts of a report with kept models, aligned to the best modulo
//! hidden-unit symmetries, grouped into distinct minima, with the health of their units. The
//! numerics are `backprop_optim::basins`; this module loads, prints and draws.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use backprop_optim::basins::{self, Basins, BasinsConfig, LayerHealth};
use backprop_optim::{Dataset, Network};
use plotters::prelude::*;

use crate::args::BasinsArgs;
use crate::commands::{check_outputs, print, scaled_dataset};
use crate::data::Task;
use crate::model::Model;
use crate::output::write_atomic;
use crate::report::{loss, percent, Report};
use crate::setup::{load_for_model, ModelData};

/// One measured network: a restart, or the zero-init baseline.
#[derive(Debug)]
pub struct Row {
    /// The restart index, `None` for the zero-init baseline.
    pub restart: Option<usize>,
    /// Its seed.
    pub seed: u64,
    /// Its group among the distinct minima (`None` for the baseline).
    pub group: Option<usize>,
    /// Its score (validation loss, else training loss), as the report has it.
    pub score: f64,
    /// Relative parameter distance to the best, before alignment.
    pub distance_before: f64,
    /// The same after alignment.
    pub distance_after: f64,
    /// Mean absolute difference of the predictions from the best's.
    pub output_difference: f64,
    /// Fraction of rows whose predicted class differs from the best's.
    pub disagreement: f64,
    /// The loss barrier to the best.
    pub barrier: f64,
    /// The mean loss along the segment from the best.
    pub curve: Vec<f64>,
    /// Unit health per hidden layer.
    pub health: Vec<LayerHealth>,
}

/// What `basins` found in a report.
#[derive(Debug)]
pub struct Analysis {
    /// The restarts in report order, then the baseline.
    pub rows: Vec<Row>,
    /// The distinct minima from the library, indices into `rows`.
    pub basins: Basins,
    /// The restarts left out (diverged or not finite).
    pub left_out: Vec<usize>,
    /// The data measured on.
    pub source: String,
    /// Rows of that data.
    pub data_rows: usize,
    /// The settings.
    pub config: BasinsConfig,
    /// Classification or regression.
    pub task: Task,
    /// Whether the hidden units may be sign-flipped (tanh, identity, sigmoid).
    pub flips: bool,
}

/// Reads a kept model, naming the restart on error.
fn kept(file: &crate::model::ModelFile, what: &str) -> Result<Model> {
    Ok(Model::from_file(file.clone(), what)?)
}

/// Measures the restarts of `report` on the rows of `data` (default: the report's own data).
///
/// # Errors
/// A report without kept models, data that does not fit, settings out of range.
pub fn analyze(report: &Report, data: Option<&str>, config: BasinsConfig) -> Result<Analysis> {
    config.validate().context("invalid basins settings")?;
    let mut models = Vec::new();
    let mut left_out = Vec::new();
    for r in &report.runs {
        match &r.model {
            Some(file) => {
                let model = kept(file, &format!("restart {}", r.restart))?;
                if r.diverged || !r.score.is_finite() || !model.network.is_finite() {
                    left_out.push(r.restart);
                } else {
                    models.push((r, model));
                }
            }
            None => left_out.push(r.restart),
        }
    }
    if report.runs.iter().all(|r| r.model.is_none()) {
        bail!(
            "the report keeps no restart's network: run `backprop restarts --keep-models --report FILE` (then `backprop merge` keeps them too)"
        );
    }
    let Some((_, first)) = models.first() else {
        bail!("every restart with a kept network diverged: nothing to compare");
    };
    let c = &report.config;
    let source = data.unwrap_or(&c.data.source).to_owned();
    let (labeled, _) = load_for_model(
        ModelData {
            data: &source,
            target: &[],
            drop: &[],
            seed: c.seed,
            // The run's reading of its file; another file is read as a new one (its delimiter
            // detected, a header expected).
            delimiter: c
                .data
                .delimiter
                .filter(|_| data.is_none())
                .and_then(|d| u8::try_from(d).ok()),
            no_header: c.data.no_header && data.is_none(),
            keep: &[],
            model: "the report's best model",
        },
        first,
        true,
    )?;
    let dataset: Dataset<f64> = scaled_dataset(first, labeled)?;
    let nets: Vec<&Network<f64>> = models.iter().map(|(_, m)| &m.network).collect();
    let scores: Vec<f64> = models.iter().map(|(r, _)| r.score).collect();
    let found = basins::basins(&nets, &scores, &dataset, &config)
        .with_context(|| format!("{source}: cannot compare the restarts"))?;
    let mut rows = Vec::with_capacity(models.len() + 1);
    for ((r, m), b) in models.iter().zip(&found.networks) {
        rows.push(Row {
            restart: Some(r.restart),
            seed: r.seed,
            group: Some(b.group),
            score: r.score,
            distance_before: b.distance_before,
            distance_after: b.distance_after,
            output_difference: b.functional.mean_output_difference,
            disagreement: b.functional.disagreement,
            barrier: b.barrier.barrier,
            curve: b.barrier.loss.clone(),
            health: basins::unit_health(&m.network, &dataset, &config)?,
        });
    }
    if let Some((b, file)) = report
        .baseline
        .as_ref()
        .and_then(|b| b.model.as_ref().map(|f| (b, f)))
    {
        let model = kept(file, "the zero-init baseline")?;
        if model.network.is_finite() {
            let best = nets[found.best];
            let aligned = basins::align(&model.network, best, &dataset)?.network;
            let functional = basins::functional_distance(&aligned, best, &dataset)?;
            let barrier = basins::barrier(best, &aligned, &dataset, config.points)?;
            rows.push(Row {
                restart: None,
                seed: b.seed,
                group: None,
                score: b.score,
                distance_before: basins::relative_distance(&model.network, best),
                distance_after: basins::relative_distance(&aligned, best),
                output_difference: functional.mean_output_difference,
                disagreement: functional.disagreement,
                barrier: barrier.barrier,
                curve: barrier.loss,
                health: basins::unit_health(&model.network, &dataset, &config)?,
            });
        }
    }
    Ok(Analysis {
        rows,
        basins: found,
        left_out,
        source,
        data_rows: dataset.len(),
        config,
        task: c.data.task,
        flips: basins::flip_offset(c.network.activation).is_some(),
    })
}

impl Analysis {
    /// The restart index of row `i` as shown.
    fn label(&self, i: usize) -> String {
        self.rows[i]
            .restart
            .map_or("zero".to_owned(), |r| r.to_string())
    }

    /// The table, the groups and the definitions, as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let best = &self.rows[self.basins.best];
        let _ = writeln!(
            out,
            "{} restarts on {} ({} rows), aligned to the best (restart {}) modulo hidden-unit permutations{}",
            self.basins.networks.len(),
            self.source,
            self.data_rows,
            self.label(self.basins.best),
            if self.flips { " and sign flips" } else { "" }
        );
        let _ = writeln!(
            out,
            "distance: ||θ - θ_best|| / ||θ_best|| before and after alignment; out diff: mean |prediction - best's|;\n\
             barrier: the largest excess of the loss over the straight line between the ends, at {} points on the segment\n",
            self.config.points
        );
        let classification = self.task == Task::Classification;
        let mut header = format!(
            "{:>7}  {:>5}  {:>10}  {:>9}  {:>9}  {:>9}",
            "restart", "group", "score", "dist", "aligned", "out diff"
        );
        if classification {
            let _ = write!(header, "  {:>8}", "disagree");
        }
        let _ = write!(header, "  {:>10}", "barrier");
        for h in &best.health {
            let _ = write!(header, "  {:>12}", format!("L{} d/s/dup", h.layer));
        }
        let _ = writeln!(out, "{header}");
        for (i, r) in self.rows.iter().enumerate() {
            let mark = if i == self.basins.best { "*" } else { "" };
            let _ = write!(
                out,
                "{:>7}  {:>5}  {:>10}  {:>9.3e}  {:>9.3e}  {:>9.3e}",
                format!("{mark}{}", self.label(i)),
                r.group.map_or("-".to_owned(), |g| g.to_string()),
                loss(r.score),
                r.distance_before,
                r.distance_after,
                r.output_difference
            );
            if classification {
                let _ = write!(out, "  {:>8}", percent(r.disagreement));
            }
            let _ = write!(out, "  {:>10.3e}", r.barrier);
            for h in &r.health {
                let _ = write!(
                    out,
                    "  {:>12}",
                    format!("{}/{}/{} of {}", h.dead, h.saturated, h.duplicates, h.units)
                );
            }
            out.push('\n');
        }
        if !self.left_out.is_empty() {
            let shown: Vec<String> = self.left_out.iter().map(usize::to_string).collect();
            let _ = writeln!(
                out,
                "left out: restart {} (diverged, or no kept network)",
                shown.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\n{} distinct minima (barrier to the group's representative at most {}):",
            self.basins.groups.len(),
            self.config.tolerance
        );
        let _ = writeln!(
            out,
            "{:>5}  {:>5}  {:>10}  {:>14}  members",
            "group", "size", "best score", "representative"
        );
        for (g, group) in self.basins.groups.iter().enumerate() {
            let members: Vec<String> = group.members.iter().map(|&i| self.label(i)).collect();
            let _ = writeln!(
                out,
                "{g:>5}  {:>5}  {:>10}  {:>14}  {}",
                group.members.len(),
                loss(group.best_score),
                self.label(group.representative),
                members.join(",")
            );
        }
        let _ = writeln!(
            out,
            "\nunit health per hidden layer l, as dead/saturated/duplicate of n_l units: dead = ReLU, s <= 0 on every row;\n\
             saturated = sigmoid or tanh, |s| > {} on more than {}% of the rows; duplicate = another unit of the layer has the\n\
             same incoming weights and bias (within {:e} relative), a copy that gets the same updates forever",
            self.config.saturation,
            100.0 * self.config.saturated_fraction,
            self.config.duplicate_tolerance
        );
        out
    }

    /// One CSV row per restart (and the baseline, restart `zero`).
    ///
    /// # Errors
    /// CSV errors (none expected).
    pub fn csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let layers: Vec<usize> = self.rows[0].health.iter().map(|h| h.layer).collect();
        let mut header: Vec<String> = [
            "restart",
            "seed",
            "group",
            "score",
            "distance_before",
            "distance_after",
            "output_difference",
            "disagreement",
            "barrier",
        ]
        .map(str::to_owned)
        .to_vec();
        for l in &layers {
            for what in ["units", "dead", "saturated", "duplicates"] {
                header.push(format!("layer{l}_{what}"));
            }
        }
        w.write_record(&header)?;
        for (i, r) in self.rows.iter().enumerate() {
            let mut rec = vec![
                self.label(i),
                r.seed.to_string(),
                r.group.map_or(String::new(), |g| g.to_string()),
                format!("{:?}", r.score),
                format!("{:?}", r.distance_before),
                format!("{:?}", r.distance_after),
                format!("{:?}", r.output_difference),
                format!("{:?}", r.disagreement),
                format!("{:?}", r.barrier),
            ];
            for h in &r.health {
                rec.extend([h.units, h.dead, h.saturated, h.duplicates].map(|n| n.to_string()));
            }
            w.write_record(&rec)?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The distances before and after alignment, and the barrier curves, as SVG.
    ///
    /// # Errors
    /// Drawing errors (none expected).
    pub fn svg(&self) -> Result<String> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (1200, 520)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            let panels = root.split_evenly((1, 2));
            self.draw_distances(&panels[0])?;
            self.draw_curves(&panels[1])?;
            root.present().map_err(plot_error)?;
        }
        Ok(svg)
    }

    /// The minima drawn in colour: the best's, then the largest (the rest are gray).
    fn colored_groups(&self) -> Vec<usize> {
        let mut g: Vec<usize> = (0..self.basins.groups.len()).collect();
        g.sort_by_key(|&k| {
            (
                k != 0,
                std::cmp::Reverse(self.basins.groups[k].members.len()),
                k,
            )
        });
        g.truncate(GROUP_COLORS.len());
        g
    }

    fn color(&self, i: usize) -> RGBColor {
        match self.rows[i].group {
            Some(g) => self
                .colored_groups()
                .iter()
                .position(|&k| k == g)
                .map_or(OTHER_COLOR, |p| GROUP_COLORS[p]),
            None => ZERO_COLOR,
        }
    }

    fn draw_distances(&self, area: &Area<'_>) -> Result<()> {
        let n = self.rows.len();
        let hi = self
            .rows
            .iter()
            .flat_map(|r| [r.distance_before, r.distance_after])
            .filter(|x| x.is_finite())
            .fold(0.0_f64, f64::max)
            .max(1e-3)
            * 1.45;
        let mut chart = ChartBuilder::on(area)
            .caption(
                "distance to the best, before and after alignment",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..hi)
            .map_err(plot_error)?;
        let order = self.order();
        let labels: Vec<String> = order.iter().map(|&i| self.label(i)).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(40))
            .x_label_style(("sans-serif", 11))
            .x_label_formatter(&|x| {
                let k = x.round();
                if (x - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
                    labels[k as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("restart (sorted by score, best first; zero = zero init)")
            .y_desc("||θ - θ_best|| / ||θ_best||")
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(plot_error)?;
        let gray = RGBColor(150, 150, 150);
        for (x, &i) in order.iter().enumerate() {
            let r = &self.rows[i];
            let (x, c) = (x as f64, self.color(i));
            chart
                .draw_series(LineSeries::new(
                    [(x, r.distance_before), (x, r.distance_after)],
                    gray.stroke_width(1),
                ))
                .map_err(plot_error)?;
            chart
                .draw_series([
                    EmptyElement::at((x, r.distance_before))
                        + Circle::new((0, 0), 4, gray.stroke_width(2)),
                    EmptyElement::at((x, r.distance_after)) + Circle::new((0, 0), 4, c.filled()),
                ])
                .map_err(plot_error)?;
        }
        // Legend entries only: empty series.
        let first = GROUP_COLORS[0];
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(plot_error)?
            .label("before alignment")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, gray.stroke_width(2)));
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(plot_error)?
            .label("after alignment, colour = minimum (as on the right)")
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, first.filled()));
        if self.rows.iter().any(|r| r.restart.is_none()) {
            let red = ZERO_COLOR;
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(plot_error)?
                .label("zero init, after alignment")
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, red.filled()));
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

    /// Row indices by score, best first, the baseline last.
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (&self.rows[a], &self.rows[b]);
            ra.restart
                .is_none()
                .cmp(&rb.restart.is_none())
                .then(ra.score.total_cmp(&rb.score))
                .then(a.cmp(&b))
        });
        order
    }

    fn draw_curves(&self, area: &Area<'_>) -> Result<()> {
        let hi = self
            .rows
            .iter()
            .flat_map(|r| r.curve.iter().copied())
            .filter(|x| x.is_finite())
            .fold(0.0_f64, f64::max)
            .max(1e-6)
            * 1.9;
        let mut chart = ChartBuilder::on(area)
            .caption(
                "loss on the straight segment from the best (t = 0) to each restart, aligned (t = 1)",
                ("sans-serif", 15),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..1.0, 0.0..hi)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("t")
            .y_desc("mean loss on the data")
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(plot_error)?;
        let points = self.config.points;
        for &i in self.order().iter().rev() {
            let r = &self.rows[i];
            let c = self.color(i);
            let pts: Vec<(f64, f64)> = r
                .curve
                .iter()
                .enumerate()
                .filter(|(_, l)| l.is_finite())
                .map(|(k, &l)| (k as f64 / (points - 1) as f64, l.min(hi)))
                .collect();
            if r.restart.is_none() {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 4, c.stroke_width(2)))
                    .map_err(plot_error)?;
            } else {
                chart
                    .draw_series(LineSeries::new(pts, c.mix(0.7).stroke_width(2)))
                    .map_err(plot_error)?;
            }
        }
        let colored = self.colored_groups();
        for (p, &g) in colored.iter().enumerate() {
            let group = &self.basins.groups[g];
            let c = GROUP_COLORS[p];
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(plot_error)?
                .label(format!(
                    "minimum {g}: {} restart{}, best loss {}",
                    group.members.len(),
                    if group.members.len() == 1 { "" } else { "s" },
                    loss(group.best_score)
                ))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        let others = self.basins.groups.len() - colored.len();
        if others > 0 {
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(plot_error)?
                .label(format!("{others} other minima"))
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], OTHER_COLOR.stroke_width(2))
                });
        }
        if self.rows.iter().any(|r| r.restart.is_none()) {
            let red = ZERO_COLOR;
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(plot_error)?
                .label("zero init")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_error)?;
        Ok(())
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Colors of the minima drawn in colour (see `colored_groups`): the class colours without red
/// (the zero-init run's), grey (the other minima's kind) and olive.
const GROUP_COLORS: [RGBColor; 7] = {
    let c = crate::plot::CLASS_COLORS;
    [c[0], c[1], c[2], c[4], c[5], c[6], c[9]]
};
/// The other minima.
const OTHER_COLOR: RGBColor = RGBColor(185, 185, 185);
/// The zero-init baseline.
const ZERO_COLOR: RGBColor = crate::plot::CLASS_COLORS[3];

fn plot_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw: {e}")
}

/// `backprop basins`.
///
/// # Errors
/// Bad input (a report without kept models among it).
pub fn run(args: &BasinsArgs) -> Result<()> {
    let report = Report::load(&args.report)?;
    let mut inputs = vec![("REPORT", args.report.as_path())];
    inputs.extend(args.data.as_deref().and_then(crate::commands::data_input));
    check_outputs(
        &[
            ("--csv", args.csv.as_deref()),
            ("--plot", args.plot.as_deref()),
            ("--html", args.html.as_deref()),
        ],
        &inputs,
    )?;
    let config = BasinsConfig {
        tolerance: args.tolerance,
        saturation: args.saturation,
        ..BasinsConfig::default()
    };
    let analysis = analyze(&report, args.data.as_deref(), config)
        .with_context(|| args.report.display().to_string())?;
    print(&analysis.render())?;
    if let Some(path) = &args.csv {
        write_atomic(path, &analysis.csv()?)?;
    }
    if let Some(path) = &args.plot {
        write_atomic(path, analysis.svg()?.as_bytes())?;
    }
    if let Some(path) = &args.html {
        crate::html::write_basins(path, &report, &analysis, &args.report)?;
    }
    Ok(())
}
