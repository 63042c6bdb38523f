//! The restart report: what `--report` writes, what `merge` reads, and the table printed from it.
//!
//! Non-finite numbers (a diverged run's loss) are written as `null`, the workspace's one
//! convention ([`backprop_optim::nan_as_null`]: pandas and jq read it as a missing value), and the
//! run's `diverged` flag says why; the strings `"NaN"`, `"inf"` and `"-inf"` of older reports
//! still read. Finite numbers are the shortest decimal that reads back to the same `f64`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use backprop_optim as optim;
use backprop_optim::stats::{self, Criterion, Outcome};
use backprop_optim::{
    Experiment, History, Init, Optimizer, Order, RunSummary, Schedule, SgdConfig,
};

use crate::data::Task;
use crate::model::{json_error, Model, ModelFile};
use crate::output::write_atomic;
use crate::setup::ExperimentConfig;

/// The value of `format` in a report.
pub const FORMAT: &str = "backprop-report";
/// The report version written and read.
pub const VERSION: u32 = 1;

/// One shard of a sharded experiment: the restarts whose index is `index` modulo `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// `I`.
    pub index: usize,
    /// `N`.
    pub count: usize,
}

impl Shard {
    /// The restart indices of this shard among `restarts`.
    pub fn restarts(self, restarts: usize) -> Vec<usize> {
        (self.index..restarts).step_by(self.count).collect()
    }
}

/// One run: its summary and its loss history.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// The restart index `i`.
    pub restart: usize,
    /// `seed_i = restart_seed(master, i)`.
    pub seed: u64,
    /// The mean training loss after the last epoch (of the kept weights).
    #[serde(with = "num")]
    pub final_train_loss: f64,
    /// The mean validation loss of the kept weights.
    #[serde(with = "opt_num")]
    pub final_validation_loss: Option<f64>,
    /// Training accuracy (classification).
    #[serde(with = "opt_num")]
    pub train_accuracy: Option<f64>,
    /// Validation accuracy (classification with validation).
    #[serde(with = "opt_num")]
    pub final_validation_accuracy: Option<f64>,
    /// Epochs run.
    pub epochs: usize,
    /// The epoch (from 0) with the lowest validation loss (training loss without validation);
    /// early stopping (`--patience`) keeps its weights.
    pub best_epoch: usize,
    /// True when the loss stopped being finite.
    pub diverged: bool,
    /// The score the best restart is chosen by (validation loss, else training loss).
    #[serde(with = "num")]
    pub score: f64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Mean training loss per epoch.
    #[serde(with = "vec_num")]
    pub train_loss: Vec<f64>,
    /// Mean validation loss per epoch.
    #[serde(with = "vec_num")]
    pub validation_loss: Vec<f64>,
    /// Validation accuracy per epoch.
    #[serde(with = "vec_num")]
    pub validation_accuracy: Vec<f64>,
    /// The epochs after which racing stopped the run; absent for a run to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_at: Option<usize>,
    /// The run's final network as a model file (`restarts --keep-models`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelFile>,
}

impl RunRecord {
    /// The record of a run.
    pub fn new(summary: &RunSummary, history: &History) -> RunRecord {
        RunRecord {
            restart: summary.index,
            seed: summary.seed,
            final_train_loss: summary.final_train_loss,
            final_validation_loss: summary.final_validation_loss,
            train_accuracy: summary.train_accuracy,
            final_validation_accuracy: summary.final_validation_accuracy,
            epochs: summary.epochs,
            best_epoch: history.best_epoch,
            diverged: summary.diverged,
            score: summary.score,
            seconds: summary.seconds,
            train_loss: history.train_loss.clone(),
            validation_loss: history.validation_loss.clone(),
            validation_accuracy: history.validation_accuracy.clone(),
            pruned_at: summary.pruned_at,
            model: None,
        }
    }

    /// Whether the run ran to its end (it was not pruned by racing).
    pub fn complete(&self) -> bool {
        self.pruned_at.is_none()
    }

    /// The accuracy shown: on validation when there is validation, else on training.
    pub fn accuracy(&self) -> Option<f64> {
        self.final_validation_accuracy.or(self.train_accuracy)
    }

    /// The run's summary, as the library gave it (for the library's rules over runs).
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            index: self.restart,
            seed: self.seed,
            final_train_loss: self.final_train_loss,
            final_validation_loss: self.final_validation_loss,
            final_validation_accuracy: self.final_validation_accuracy,
            train_accuracy: self.train_accuracy,
            epochs: self.epochs,
            diverged: self.diverged,
            seconds: self.seconds,
            score: self.score,
            pruned_at: self.pruned_at,
        }
    }

    /// What the statistics over the restarts take of the run: its score (infinite when it
    /// diverged) and its accuracy.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            score: if self.diverged {
                f64::INFINITY
            } else {
                self.score
            },
            accuracy: self.accuracy(),
        }
    }
}

/// The spread of the scores of the restarts that did not diverge.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    /// Restarts that did not diverge.
    pub converged: usize,
    /// The lowest score.
    pub min: f64,
    /// The median score.
    pub median: f64,
    /// The highest score.
    pub max: f64,
    /// Restarts whose score is at most 1.1 times the best.
    pub within_10_percent: usize,
}

impl Spread {
    /// The spread of `runs`, or `None` if every one diverged.
    pub fn of(runs: &[RunRecord]) -> Option<Spread> {
        let mut scores: Vec<f64> = runs
            .iter()
            .filter(|r| !r.diverged && r.score.is_finite() && r.complete())
            .map(|r| r.score)
            .collect();
        if scores.is_empty() {
            return None;
        }
        scores.sort_by(f64::total_cmp);
        let n = scores.len();
        let median = if n % 2 == 1 {
            scores[n / 2]
        } else {
            (scores[n / 2 - 1] + scores[n / 2]) / 2.0
        };
        let min = scores[0];
        Some(Spread {
            converged: n,
            min,
            median,
            max: scores[n - 1],
            within_10_percent: scores.iter().filter(|&&s| s <= min * 1.1).count(),
        })
    }
}

/// The statistics over the restarts of a whole report, as written: see [`stats`] for the
/// formulas. Non-finite numbers (an infinite expected best) are written as the report writes
/// them.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Statistics {
    /// The successes and the probability of one.
    pub success: SuccessRecord,
    /// How many restarts give a success at the confidence.
    pub restarts_needed: NeededRecord,
    /// The best of `k` random restarts, `k = 1..R`.
    pub best_of_k: Vec<BestOfKRecord>,
    /// Restarts pruned by racing, left out: their final scores are censored (unknown, and
    /// likely worse than those that went on), so `R` counts only the restarts that ran to the
    /// end. Absent without racing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub censored: Option<usize>,
    /// Whether `auto` chose the criterion (said in the terminal, not written: the criterion in
    /// the file is in numbers).
    #[serde(skip)]
    pub auto: bool,
}

/// `statistics.success`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuccessRecord {
    /// The criterion used, in numbers (`auto` resolved), as `--success` reads it.
    pub criterion: String,
    /// `m`, the restarts that succeeded.
    pub count: usize,
    /// `R`.
    pub restarts: usize,
    /// `p = m / R`.
    #[serde(with = "num")]
    pub p: f64,
    /// The exact Clopper-Pearson interval for `p`, `[lo, hi]`.
    #[serde(with = "vec_num")]
    pub interval: Vec<f64>,
    /// The level of the interval and of the restarts needed.
    #[serde(with = "num")]
    pub confidence: f64,
}

/// `statistics.restarts_needed`: `null` when no number of restarts suffices (`m = 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NeededRecord {
    /// At `p` (1 when every restart succeeded).
    pub at_p: Option<u64>,
    /// At the interval's lower end, the conservative figure.
    pub at_lower: Option<u64>,
}

/// One point of `statistics.best_of_k`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestOfKRecord {
    /// `k`.
    pub k: usize,
    /// The expected best score of `k` random restarts (infinite when `k` can all diverge).
    #[serde(with = "num")]
    pub expected: f64,
    /// The probability that `k` random restarts hold a success.
    #[serde(with = "num")]
    pub p_success: f64,
}

impl Statistics {
    /// The statistics of `runs` under `criterion` at `confidence`.
    ///
    /// # Errors
    /// No runs, a confidence outside (0, 1), `accuracy:X` for regression.
    pub fn of(runs: &[RunRecord], criterion: Criterion, confidence: f64) -> Result<Statistics> {
        let outcomes: Vec<Outcome> = runs
            .iter()
            .filter(|r| r.complete())
            .map(RunRecord::outcome)
            .collect();
        let pruned = runs.len() - outcomes.len();
        let s = stats::statistics(&outcomes, criterion, confidence)?;
        Ok(Statistics {
            success: SuccessRecord {
                criterion: s.success.criterion.to_string(),
                count: s.success.count,
                restarts: s.success.restarts,
                p: s.success.p,
                interval: vec![s.success.interval.0, s.success.interval.1],
                confidence,
            },
            restarts_needed: NeededRecord {
                at_p: s.restarts_needed.at_p,
                at_lower: s.restarts_needed.at_lower,
            },
            best_of_k: s
                .best_of_k
                .iter()
                .map(|b| BestOfKRecord {
                    k: b.k,
                    expected: b.expected,
                    p_success: b.p_success,
                })
                .collect(),
            censored: (pruned > 0).then_some(pruned),
            auto: s.success.auto,
        })
    }

    /// The lower end of the interval.
    pub fn lower(&self) -> f64 {
        self.success.interval.first().copied().unwrap_or(0.0)
    }

    /// The upper end of the interval.
    pub fn upper(&self) -> f64 {
        self.success.interval.get(1).copied().unwrap_or(1.0)
    }

    /// The short block printed after the table: successes, restarts needed, and the best of
    /// `k` at powers of two; `what` names the score ("validation loss").
    pub fn render(&self, what: &str) -> String {
        let mut out = String::new();
        let s = &self.success;
        let level = percent_level(s.confidence);
        if let Some(c) = self.censored {
            let _ = writeln!(
                out,
                "statistics over the {} restarts that ran to the end: {c} pruned by racing are censored (their final scores are unknown; the restarts that ran on were the best at every checkpoint, so p and the restarts needed lean optimistic)",
                s.restarts
            );
        }
        let _ = writeln!(
            out,
            "success ({}{}): {} of {} restarts, p = {:.3}, {level} interval [{:.3}, {:.3}] (Clopper-Pearson)",
            if self.auto { "auto: " } else { "" },
            s.criterion,
            s.count,
            s.restarts,
            s.p,
            self.lower(),
            self.upper(),
        );
        let n = &self.restarts_needed;
        let needed = match (n.at_p, n.at_lower) {
            (None, _) => "none can be given, no restart succeeded (m = 0)".to_owned(),
            (Some(k), lower) => {
                let mut t = format!("{k} at p = {:.3}", s.p);
                if s.count == s.restarts {
                    t.push_str(" (every restart succeeded)");
                }
                match lower {
                    Some(kl) => {
                        let _ = write!(t, ", {kl} at the lower end {:.3}", self.lower());
                    }
                    None => t.push_str(", none at the lower end 0"),
                }
                t
            }
        };
        let _ = writeln!(
            out,
            "restarts needed for a success with probability {level}: {needed}"
        );
        let r = self.best_of_k.len();
        let mut ks: Vec<usize> = std::iter::successors(Some(1usize), |k| k.checked_mul(2))
            .take_while(|&k| k < r)
            .collect();
        ks.push(r);
        let points: Vec<String> = ks
            .iter()
            .filter_map(|&k| self.best_of_k.get(k - 1))
            .map(|b| format!("{} {} ({})", b.k, loss(b.expected), chance(b.p_success)))
            .collect();
        let _ = writeln!(
            out,
            "best of k random restarts, expected {what} (P success): {}",
            points.join(", ")
        );
        out
    }
}

/// A probability as a percentage, never rounded up to a certainty it is not: ">99.9%".
pub(crate) fn chance(p: f64) -> String {
    if (0.9995..1.0).contains(&p) {
        ">99.9%".to_owned()
    } else {
        percent(p)
    }
}

/// A confidence as a percentage without needless digits: 0.95 as "95%", 0.995 as "99.5%".
fn percent_level(c: f64) -> String {
    let x = 100.0 * c;
    let rounded = (x * 1e6).round() / 1e6;
    format!("{rounded}%")
}

/// The best restart and its model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Best {
    /// Its restart index.
    pub restart: usize,
    /// Its seed.
    pub seed: u64,
    /// Its network, as a model file.
    pub model: ModelFile,
}

/// Everything one experiment (or one shard of it) found.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// What was run.
    pub config: ExperimentConfig,
    /// The shard, for a partial report; `null` for a whole experiment.
    pub shard: Option<Shard>,
    /// Every restart run, by index.
    pub runs: Vec<RunRecord>,
    /// The same network from zero initialization, with restart 0's sample order (in the report
    /// of shard 0 and in whole reports).
    pub baseline: Option<RunRecord>,
    /// The best restart (of this shard, in a partial report).
    pub best: Option<Best>,
    /// The spread of the scores.
    pub spread: Option<Spread>,
    /// The statistics over the restarts (whole reports; absent from shard parts and older
    /// files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    /// The race, with `restarts --racing`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub racing: Option<RacingRecord>,
    /// Wall-clock seconds of the whole experiment (the longest shard after a merge).
    pub seconds: f64,
    /// How the report was made: the program, its command line, seed, SGD settings, data
    /// (absent in reports written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::model::Provenance>,
}

/// `racing`: how the restarts raced, and the compute spent against the exhaustive experiment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RacingRecord {
    /// The method, as `--racing` reads it (`halving:3`).
    pub method: String,
    /// The checkpoints, in epochs run.
    pub checkpoints: Vec<usize>,
    /// Restarts pruned.
    pub pruned: usize,
    /// Sample-steps spent: training rows times epochs run, summed over the restarts.
    pub sample_steps: u64,
    /// Sample-steps of the exhaustive experiment: restarts times epochs times training rows
    /// (an upper bound with early stopping).
    pub exhaustive_sample_steps: u64,
    /// `sample_steps / exhaustive_sample_steps`.
    pub fraction: f64,
}

impl RacingRecord {
    /// The record of `runs` raced by `halving`.
    pub fn of(
        halving: optim::racing::Halving,
        config: &ExperimentConfig,
        runs: &[RunRecord],
    ) -> RacingRecord {
        let rows = config.data.train_rows as u64;
        let sample_steps = runs.iter().map(|r| r.epochs as u64 * rows).sum();
        let exhaustive_sample_steps = (config.restarts as u64)
            .saturating_mul(config.sgd.epochs as u64)
            .saturating_mul(rows);
        RacingRecord {
            method: halving.to_string(),
            checkpoints: halving.checkpoints(config.sgd.epochs, config.restarts),
            pruned: runs.iter().filter(|r| !r.complete()).count(),
            sample_steps,
            exhaustive_sample_steps,
            fraction: sample_steps as f64 / exhaustive_sample_steps.max(1) as f64,
        }
    }
}

impl Report {
    /// The report of an experiment; `model` gives names and scalings to the best network.
    pub fn new(
        config: ExperimentConfig,
        shard: Option<Shard>,
        experiment: &Experiment<f64>,
        baseline: Option<RunRecord>,
        model: &Model,
        seconds: f64,
    ) -> Report {
        let runs: Vec<RunRecord> = experiment
            .runs
            .iter()
            .map(|r| RunRecord::new(&r.summary, &r.history))
            .collect();
        let best = experiment.best.map(|k| {
            let run = &experiment.runs[k];
            let mut best_model = model.clone();
            best_model.network = run.network.clone();
            Best {
                restart: run.summary.index,
                seed: run.summary.seed,
                model: best_model.to_file(),
            }
        });
        let provenance = model.provenance.clone();
        Report::from_records(config, shard, runs, baseline, best, provenance, seconds)
    }

    /// The report of the runs `runs` (in restart order) whose best is `best`, made by the run
    /// that `provenance` describes.
    pub fn from_records(
        config: ExperimentConfig,
        shard: Option<Shard>,
        runs: Vec<RunRecord>,
        baseline: Option<RunRecord>,
        best: Option<Best>,
        provenance: Option<crate::model::Provenance>,
        seconds: f64,
    ) -> Report {
        let spread = Spread::of(&runs);
        Report {
            format: FORMAT.to_owned(),
            version: VERSION,
            config,
            shard,
            runs,
            baseline,
            best,
            spread,
            statistics: None,
            racing: None,
            seconds,
            provenance,
        }
    }

    /// Recomputes [`Report::statistics`] under `criterion` at `confidence`, for a whole report
    /// with runs (a shard part keeps none: its restarts are not the experiment's).
    ///
    /// # Errors
    /// As [`Statistics::of`].
    pub fn compute_statistics(&mut self, criterion: Criterion, confidence: f64) -> Result<()> {
        self.statistics = if self.shard.is_none() && !self.runs.is_empty() {
            Some(Statistics::of(&self.runs, criterion, confidence)?)
        } else {
            None
        };
        Ok(())
    }

    /// What the score is: "validation loss" with a split, else "training loss".
    pub fn score_name(&self) -> &'static str {
        if self.config.data.validation_rows > 0 {
            "validation loss"
        } else {
            "training loss"
        }
    }

    /// The report as pretty JSON.
    ///
    /// # Errors
    /// Serialization errors (none are expected).
    pub fn to_json(&self) -> Result<String> {
        crate::output::pretty_json(self)
    }

    /// Writes the report (through a temporary file).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Reads a report.
    ///
    /// # Errors
    /// A missing file, invalid JSON, another format or version.
    pub fn load(path: &Path) -> Result<Report> {
        let source = path.display().to_string();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{source}: cannot read"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| json_error(&source, &e))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            bail!("{source}: not a backprop report (format is not {FORMAT:?})");
        }
        if value.get("version").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
            bail!("{source}: report version is not {VERSION}");
        }
        serde_json::from_str(text).map_err(|e| json_error(&source, &e))
    }

    /// The table of restarts, the best, the spread, the statistics and the baseline, as
    /// printed.
    pub fn render(&self) -> String {
        let mut out = self.render_header();
        out.push('\n');
        out.push_str(&self.render_table());
        out.push('\n');
        out.push_str(&self.render_summary());
        if let Some(s) = &self.statistics {
            out.push_str(&s.render(self.score_name()));
        }
        out.push_str(&self.render_baseline());
        out
    }

    /// What was run: data, network, SGD, and the shard.
    fn render_header(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        let widths: Vec<String> = c.network.widths.iter().map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "{} restarts on {}: {} rows ({} training, {} validation), {}",
            c.restarts,
            c.data.source,
            c.data.rows,
            c.data.train_rows,
            c.data.validation_rows,
            c.data.task,
        );
        let _ = writeln!(
            out,
            "network {} ({} hidden, {} output), {} loss; {}: lr {}, {} epochs, batch {}, {} init, seed {}",
            widths.join("-"),
            c.network.activation.name(),
            c.network.output_name(),
            c.network.loss,
            rule_family(c.sgd.optimizer),
            c.sgd.learning_rate,
            c.sgd.epochs,
            c.sgd.batch_size,
            c.init,
            c.seed,
        );
        let mut extras = sgd_extras(&c.sgd);
        if c.bias_init != Init::Zero {
            extras.insert(0, format!("biases {} init", c.bias_init));
        }
        if !extras.is_empty() {
            let _ = writeln!(out, "    {}", extras.join(", "));
        }
        if let Some(s) = self.shard {
            let indices: Vec<String> = self.runs.iter().map(|r| r.restart.to_string()).collect();
            let _ = writeln!(
                out,
                "shard {}/{}: restarts {} (partial report; combine with backprop merge)",
                s.index,
                s.count,
                indices.join(",")
            );
        }
        out
    }

    /// One row per restart, the best marked with `*`.
    fn render_table(&self) -> String {
        let mut out = String::new();
        let classification = self.config.data.task == Task::Classification;
        let validation = self.config.data.validation_rows > 0;
        let mut header = format!("{:>7}  {:>20}  {:>11}", "restart", "seed", "train loss");
        if validation {
            let _ = write!(header, "  {:>11}", "val loss");
        }
        if classification {
            let acc = if validation { "val acc" } else { "train acc" };
            let _ = write!(header, "  {acc:>9}");
        }
        let _ = write!(header, "  {:>6}  {:>8}", "epochs", "diverged");
        if self.racing.is_some() {
            let _ = write!(header, "  {:>6}", "pruned");
        }
        let _ = writeln!(out, "{header}");
        let best = self.best.as_ref().map(|b| b.restart);
        for r in &self.runs {
            let mark = if Some(r.restart) == best { "*" } else { "" };
            let label = format!("{mark}{}", r.restart);
            let _ = write!(
                out,
                "{label:>7}  {:>20}  {:>11}",
                r.seed,
                loss(r.final_train_loss)
            );
            if validation {
                let v = r.final_validation_loss.map_or("-".into(), loss);
                let _ = write!(out, "  {v:>11}");
            }
            if classification {
                let _ = write!(out, "  {:>9}", r.accuracy().map_or("-".into(), percent));
            }
            let diverged = if r.diverged { "yes" } else { "no" };
            let _ = write!(out, "  {:>6}  {diverged:>8}", r.epochs);
            if self.racing.is_some() {
                let pruned = if r.complete() { "no" } else { "yes" };
                let _ = write!(out, "  {pruned:>6}");
            }
            out.push('\n');
        }
        out
    }

    /// The best restart, the spread and the diverged restarts.
    fn render_summary(&self) -> String {
        let mut out = String::new();
        let what = self.what();
        let best = self
            .best
            .as_ref()
            .and_then(|b| self.runs.iter().find(|r| r.restart == b.restart));
        match best {
            Some(r) => {
                let _ = write!(
                    out,
                    "best: restart {} (seed {}), {what} loss {}",
                    r.restart,
                    r.seed,
                    loss(r.score)
                );
                if let Some(a) = r.accuracy() {
                    let _ = write!(out, ", {what} accuracy {}", percent(a));
                }
                out.push('\n');
            }
            None if self.runs.is_empty() => {
                out.push_str("best: none, this shard has no restarts\n");
            }
            None => out.push_str("best: none, every restart diverged\n"),
        }
        if let Some(s) = &self.spread {
            let _ = write!(
                out,
                "spread of the final {what} loss over {} converged restarts: min {}, median {}, max {}",
                s.converged,
                loss(s.min),
                loss(s.median),
                loss(s.max),
            );
            // With statistics, the success line says how many are near the best, and by what
            // rule; without (a shard part, an older file), the old count.
            if self.statistics.is_none() {
                let _ = write!(
                    out,
                    "; {} of {} within 10% of the best",
                    s.within_10_percent, s.converged
                );
            }
            out.push('\n');
        }
        if let Some(r) = &self.racing {
            let _ = writeln!(
                out,
                "racing {}: checkpoints at epochs {:?}, {} of {} restarts pruned; {} sample-steps, {} of the exhaustive experiment's {}",
                r.method,
                r.checkpoints,
                r.pruned,
                self.runs.len(),
                r.sample_steps,
                percent(r.fraction),
                r.exhaustive_sample_steps
            );
        }
        let diverged: Vec<String> = self
            .runs
            .iter()
            .filter(|r| r.diverged)
            .map(|r| r.restart.to_string())
            .collect();
        if !diverged.is_empty() {
            let _ = writeln!(
                out,
                "diverged: restart {} (the loss stopped being finite; try a smaller --lr)",
                diverged.join(", ")
            );
        }
        out
    }

    /// The zero-init run.
    fn render_baseline(&self) -> String {
        let mut out = String::new();
        let Some(b) = &self.baseline else {
            return out;
        };
        let what = self.what();
        let _ = write!(
            out,
            "zero init (all weights 0, restart 0's sample order): {what} loss {}",
            loss(b.score)
        );
        if let Some(a) = b.accuracy() {
            let _ = write!(out, ", {what} accuracy {}", percent(a));
        }
        if b.diverged {
            out.push_str(", diverged");
        }
        out.push('\n');
        if self.config.network.widths.len() > 2 {
            out.push_str(
                "  (from zero, every hidden node of a layer gets the same updates and stays a copy of the others)\n",
            );
        }
        out
    }

    /// "validation" with a split, else "training".
    fn what(&self) -> &'static str {
        if self.config.data.validation_rows > 0 {
            "validation"
        } else {
            "training"
        }
    }
}

/// Combines partial reports into the report of the whole experiment, with its statistics
/// under `criterion` at `confidence`.
///
/// # Errors
/// No parts, a whole report among them, parts of different experiments or shard counts, a shard
/// missing or given twice.
pub fn merge(parts: &[(String, Report)], criterion: Criterion, confidence: f64) -> Result<Report> {
    let Some((first_name, first)) = parts.first() else {
        bail!("no reports to merge");
    };
    let mut shards = Vec::new();
    for (name, part) in parts {
        let Some(shard) = part.shard else {
            bail!("{name}: a whole report, not a shard (--shard I/N writes shards)");
        };
        if let Some(field) = experiment_difference(&part.config, &first.config, false) {
            bail!("{name}: a different experiment from {first_name} ({field} differs)");
        }
        if shard.count != first.shard.map_or(0, |s| s.count) {
            bail!(
                "{name}: shard {}/{} does not belong with {first_name}'s {}/{}",
                shard.index,
                shard.count,
                first.shard.map_or(0, |s| s.index),
                first.shard.map_or(0, |s| s.count)
            );
        }
        if let Some((other, _)) = shards
            .iter()
            .find(|(_, s): &&(String, Shard)| s.index == shard.index)
        {
            bail!(
                "{name}: shard {}/{} is also in {other}",
                shard.index,
                shard.count
            );
        }
        let expected = shard.restarts(part.config.restarts);
        let got: Vec<usize> = part.runs.iter().map(|r| r.restart).collect();
        if got != expected {
            bail!(
                "{name}: shard {}/{} should hold restarts {expected:?}, it holds {got:?}",
                shard.index,
                shard.count
            );
        }
        shards.push((name.clone(), shard));
    }
    let count = first.shard.map_or(0, |s| s.count);
    let missing: Vec<String> = (0..count)
        .filter(|i| !shards.iter().any(|(_, s)| s.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!("missing shard {} of {count}", missing.join(", "));
    }
    let mut runs: Vec<RunRecord> = parts.iter().flat_map(|(_, p)| p.runs.clone()).collect();
    runs.sort_by_key(|r| r.restart);
    let baseline = parts
        .iter()
        .find(|(_, p)| p.shard.is_some_and(|s| s.index == 0))
        .and_then(|(_, p)| p.baseline.clone());
    // The library's rule picks the best run; its model is in the part whose best it was (the
    // rule is a total order, so the best of all is the best of its shard).
    let summaries: Vec<RunSummary> = runs.iter().map(RunRecord::summary).collect();
    let best = match optim::best_of(&summaries) {
        Some(k) => {
            let restart = runs[k].restart;
            let found = parts
                .iter()
                .filter_map(|(_, p)| p.best.as_ref())
                .find(|b| b.restart == restart);
            match found {
                Some(b) => Some(b.clone()),
                None => bail!(
                    "restart {restart} is the best of all, but no part holds its model (a part's best was edited?)"
                ),
            }
        }
        None => None,
    };
    let spread = Spread::of(&runs);
    let mut merged = Report {
        format: FORMAT.to_owned(),
        version: VERSION,
        config: first.config.clone(),
        shard: None,
        runs,
        baseline,
        best,
        spread,
        statistics: None,
        racing: None,
        seconds: parts.iter().map(|(_, p)| p.seconds).fold(0.0, f64::max),
        provenance: first.provenance.clone(),
    };
    merged.compute_statistics(criterion, confidence)?;
    Ok(merged)
}

/// The family of the update rule, as the configuration's first line names it: the rule's own
/// settings follow on the next line.
pub(crate) fn rule_family(optimizer: Optimizer) -> &'static str {
    match optimizer {
        Optimizer::Adam { .. } => "Adam",
        Optimizer::AdamW { .. } => "AdamW",
        Optimizer::Sgd | Optimizer::Momentum { .. } | Optimizer::Nesterov { .. } => "SGD",
    }
}

/// The SGD settings that differ from the lecture's plain SGD, as `name value` phrases.
pub(crate) fn sgd_extras(sgd: &SgdConfig) -> Vec<String> {
    let mut extras = Vec::new();
    match sgd.order {
        Order::Fixed => extras.push("samples in data order".to_owned()),
        Order::Replacement => extras.push("samples drawn with replacement".to_owned()),
        _ => {}
    }
    if !sgd.optimizer.is_plain() {
        extras.push(sgd.optimizer.to_string());
    }
    if sgd.weight_decay != 0.0 {
        let kind = if sgd.optimizer.decouples_weight_decay() {
            "decoupled weight decay"
        } else {
            "weight decay"
        };
        extras.push(format!("{kind} {}", sgd.weight_decay));
    }
    if sgd.schedule != Schedule::Constant {
        extras.push(format!("schedule {}", sgd.schedule));
    }
    if let Some(c) = sgd.clip_norm {
        extras.push(format!("gradient clipped at norm {c}"));
    }
    if let Some(p) = sgd.patience {
        extras.push(format!(
            "early stopping after {p} epochs without improvement"
        ));
    }
    match sgd.block {
        Some(1) => extras.push("plain per-sample steps (no first-layer blocks)".to_owned()),
        Some(k) => extras.push(format!("first layer in blocks of {k} steps")),
        None => {}
    }
    extras
}

/// The first field in which `part` is another experiment than `of`, or `None` for the same
/// experiment. The same data may stand at another path on another machine, in another
/// delimiter, or be recorded by a report written before the reading options were: the
/// fingerprint of its numbers decides, not the path or the reading as recorded. With
/// `any_restarts`, the number of restarts is not compared (a resumed experiment may grow).
pub fn experiment_difference(
    part: &ExperimentConfig,
    of: &ExperimentConfig,
    any_restarts: bool,
) -> Option<String> {
    let mut config = part.clone();
    if config.data.fingerprint == of.data.fingerprint {
        config.data.source.clone_from(&of.data.source);
        config.data.delimiter = of.data.delimiter;
        config.data.no_header = of.data.no_header;
    }
    if any_restarts {
        config.restarts = of.restarts;
    }
    (config != *of).then(|| config_difference(&config, of))
}

/// The name of the first part of two configurations that differs.
fn config_difference(a: &ExperimentConfig, b: &ExperimentConfig) -> String {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    fn walk(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                x.iter().find_map(|(k, v)| {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, y.get(k).unwrap_or(&serde_json::Value::Null), &sub)
                })
            }
            _ if a != b => Some(path.to_owned()),
            _ => None,
        }
    }
    walk(&a, &b, "").unwrap_or_else(|| "the configuration".to_owned())
}

/// A loss for the table: 4 significant digits.
pub fn loss(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// A fraction as a percentage.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

// Non-finite numbers follow the workspace's one convention (`null`; see
// `backprop_optim::nan_as_null`), which still reads the strings this file wrote before.
use backprop_optim::nan_as_null as num;
use backprop_optim::nan_as_null::option as opt_num;
use backprop_optim::nan_as_null::vec as vec_num;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(restart: usize, score: f64, diverged: bool) -> RunRecord {
        RunRecord {
            restart,
            seed: restart as u64,
            final_train_loss: score,
            final_validation_loss: None,
            train_accuracy: None,
            final_validation_accuracy: None,
            epochs: 3,
            best_epoch: 3,
            diverged,
            score,
            seconds: 0.0,
            train_loss: vec![1.0, score],
            validation_loss: Vec::new(),
            validation_accuracy: Vec::new(),
            pruned_at: None,
            model: None,
        }
    }

    #[test]
    fn statistics_and_spread_leave_pruned_runs_out_and_say_they_are_censored() -> Result<()> {
        let mut runs: Vec<RunRecord> = (0..6).map(|i| run(i, 0.1 + i as f64, false)).collect();
        // A pruned run with a low score at its checkpoint is neither the best nor counted.
        runs[5].score = 0.01;
        runs[5].pruned_at = Some(1);
        let s = Statistics::of(&runs, Criterion::Within(0.1), 0.95)?;
        assert_eq!(s.success.restarts, 5);
        assert_eq!(s.censored, Some(1));
        assert!(s
            .render("training loss")
            .contains("1 pruned by racing are censored"));
        assert_eq!(Spread::of(&runs).map(|s| s.converged), Some(5));
        let summaries: Vec<RunSummary> = runs.iter().map(RunRecord::summary).collect();
        assert_eq!(optim::best_of(&summaries), Some(0));
        runs[5].pruned_at = None;
        assert_eq!(
            Statistics::of(&runs, Criterion::Within(0.1), 0.95)?.censored,
            None
        );
        Ok(())
    }

    #[test]
    fn spread_skips_diverged_runs_and_counts_those_near_the_best() {
        let runs = [
            run(0, 0.5, false),
            run(1, 0.105, false),
            run(2, f64::NAN, true),
            run(3, 0.1, false),
            run(4, 0.3, false),
        ];
        let s = Spread::of(&runs).expect("some converged");
        assert_eq!(s.converged, 4);
        assert_eq!((s.min, s.max), (0.1, 0.5));
        assert_eq!(s.median, (0.105 + 0.3) / 2.0);
        assert_eq!(s.within_10_percent, 2);
        assert_eq!(Spread::of(&[run(0, f64::NAN, true)]), None);
    }

    #[test]
    fn non_finite_numbers_round_trip_through_json() -> Result<()> {
        let mut r = run(0, f64::INFINITY, true);
        r.train_loss = vec![0.25, f64::NAN, f64::NEG_INFINITY];
        r.final_validation_loss = Some(f64::NAN);
        let text = serde_json::to_string(&r)?;
        assert!(
            !text.contains("NaN") && !text.contains("inf") && text.contains("[0.25,null,null]"),
            "{text}"
        );
        assert!(text.contains("\"diverged\":true"), "{text}");
        let back: RunRecord = serde_json::from_str(&text)?;
        assert_eq!(back.train_loss[0], 0.25);
        assert!(back.train_loss[1].is_nan() && back.train_loss[2].is_nan());
        assert!(back.score.is_nan());
        assert_eq!(back.final_validation_loss, None);
        // A report written before the convention still reads, infinities and all.
        let old = text
            .replace("[0.25,null,null]", "[0.25,\"NaN\",\"-inf\"]")
            .replace("\"score\":null", "\"score\":\"inf\"");
        let back: RunRecord = serde_json::from_str(&old)?;
        assert_eq!(back.train_loss[2], f64::NEG_INFINITY);
        assert_eq!(back.score, f64::INFINITY);
        Ok(())
    }

    #[test]
    fn losses_print_with_four_decimals_or_in_scientific_notation() {
        assert_eq!(loss(0.123456), "0.1235");
        assert_eq!(loss(0.0001234), "1.234e-4");
        assert_eq!(loss(f64::NAN), "NaN");
        assert_eq!(percent(0.75), "75.0%");
    }
}
