//! The command line: subcommands and flags (clap derive).

use std::path::PathBuf;

use backprop_network::{Activation, Loss};
use backprop_optim::stats::Criterion;
use backprop_optim::{Init, Optimizer, Schedule};
use clap::{Args, Parser, Subcommand};

use crate::data::Task;

const EXAMPLES: &str = "\
Examples:
  backprop restarts                      the restart experiment on the built-in xor data
  backprop restarts --data spirals --boundary spirals.svg --plot restarts.svg
  backprop train --data iris.csv --target species --out model.json
  backprop predict --model model.json --data new.csv --out predictions.csv
  backprop evaluate --model model.json --data test.csv --target species
  backprop datasets                      the built-in datasets";

/// Multi-layer networks trained by backpropagation and SGD, as in the lecture.
///
/// Random restarts against zero initialization, training on CSV data, models on disk, and
/// pictures.
#[derive(Debug, Parser)]
#[command(name = "backprop", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The restart experiment: R random restarts, the best, the spread, and zero init.
    ///
    /// Trains R restarts of the same network in parallel, each from its own random
    /// initialization, prints every restart, the best and the spread of the final losses, and
    /// trains the same network from zero initialization beside them: the lecture's two points.
    #[command(after_help = "\
Examples:
  backprop restarts
  backprop restarts --data spirals --restarts 64 --plot restarts.svg --boundary boundary.svg
  backprop restarts --data data.csv --target y --hidden 32,16 --report results.json
  backprop restarts --data digits --shard 0/4 --report part0.json   (then: backprop merge)")]
    Restarts(RestartsArgs),
    /// One training run; --out saves the model, --from starts from a saved one.
    ///
    /// The run is restart 0 of the experiment that `restarts` would run with the same flags.
    #[command(after_help = "\
Examples:
  backprop train --data xor --out xor.json
  backprop train --data data.csv --target price --drop id --hidden 32,16 --epochs 200 --out m.json
  backprop train --from m.json --data more.csv --epochs 20 --out m2.json")]
    Train(TrainArgs),
    /// Predictions of a saved model for the rows of a CSV file.
    #[command(after_help = "\
Examples:
  backprop predict --model m.json --data new.csv
  backprop predict --model m.json --data new.csv --out predictions.csv")]
    Predict(PredictArgs),
    /// The loss of a saved model on labeled data, with accuracy and confusion matrix.
    #[command(after_help = "\
Example:
  backprop evaluate --model m.json --data test.csv --target species")]
    Evaluate(EvaluateArgs),
    /// Backpropagation against central finite differences on a saved model.
    #[command(after_help = "\
Example:
  backprop gradcheck --model m.json --data test.csv --target species")]
    Gradcheck(GradcheckArgs),
    /// Lists the built-in datasets.
    #[command(after_help = "\
Example:
  backprop datasets")]
    Datasets,
    /// Statistics over the restarts of a report: successes, restarts needed, best of k.
    ///
    /// Recomputes from any report, merged ones included: how many restarts succeed (with an
    /// exact Clopper-Pearson interval), how many restarts a success needs, and the expected
    /// best of k random restarts for k = 1..R.
    #[command(after_help = "\
Examples:
  backprop stats results.json
  backprop stats results.json --success loss:0.01 --confidence 0.99
  backprop stats merged.json --csv best-of-k.csv --plot stats.svg")]
    Stats(StatsArgs),
    /// Combines the partial reports of a sharded experiment into one report.
    ///
    /// The parts are the reports written by `restarts --shard I/N --report FILE` for I = 0..N-1
    /// with otherwise equal flags; the result is the report one machine would have written (only
    /// timings differ).
    #[command(after_help = "\
Example:
  backprop merge part0.json part1.json part2.json part3.json --report results.json")]
    Merge(MergeArgs),
    /// Measures SGD steps per second on the peers' benchmark work; prints one JSON line.
    ///
    /// The work of shared/bench-peers ("The work"): sigmoid units, squared loss, learning rate
    /// 0.1, inputs uniform in [0, 1), one-hot targets. --batch 1 is the lecture's per-sample SGD
    /// (steps per second), --batch 64 a mini-batch (samples per second). Pin it as the peers are
    /// pinned: taskset -c 1 backprop bench ...
    #[command(after_help = "\
Examples:
  backprop bench --net 784-128-10 --dtype f64 --batch 1
  taskset -c 1 backprop bench --net 784-256-10 --dtype f32 --batch 64")]
    Bench(crate::bench::BenchArgs),
    /// Distinct minima among the restarts of a report, modulo hidden-unit symmetries, and the
    /// health of their hidden units.
    ///
    /// Reads a report written by `restarts --keep-models --report FILE`. Aligns every restart to
    /// the best one: each hidden layer's units are permuted (and, for tanh and identity units,
    /// sign-flipped with their incoming weights, bias and outgoing weights) by an optimal
    /// assignment (Hungarian algorithm) maximizing the correlation of the units' activations over
    /// the data; the aligned network computes the same function. Then, per restart: the relative
    /// parameter distance ||θ - θ_best|| / ||θ_best|| before and after alignment; the mean
    /// absolute difference of the predictions and the fraction of rows whose predicted class
    /// differs; the loss barrier, the largest excess of the mean loss over the straight line
    /// between the end losses, at 21 points along the straight segment from the best to the
    /// aligned restart.
    ///
    /// Distinct minima: restarts in order of score join the first group whose representative
    /// (its best restart), aligned pairwise, has a barrier of at most --tolerance to them; else
    /// they found a new group.
    ///
    /// Unit health per hidden layer, shown as dead/saturated/duplicate counts: dead = ReLU units
    /// with s <= 0 on every row (never active); saturated = sigmoid and tanh units with |s| >
    /// --saturation (default 4) on more than half of the rows; duplicate = units with another unit
    /// of the layer of equal incoming weights and bias, within 1e-6 relative (copies, which get the
    /// same updates forever: the zero-init baseline's hidden units are all duplicates).
    #[command(after_help = "\
Examples:
  backprop restarts --keep-models --report xor.json
  backprop basins xor.json
  backprop basins spirals.json --csv basins.csv --plot basins.svg --tolerance 0.05")]
    Basins(BasinsArgs),
    /// One sample through the lecture's forward and backward passes, every number shown.
    ///
    /// For every layer l = 1..d: s_l = W_{l-1}^T v_{l-1} + b_{l-1}, v_l = σ(s_l), dL/dv_l (v_d - y
    /// for the squared loss at the top, W_l delta_{l+1} below), delta_l = dL/dv_l ⊙ σ'(s_l),
    /// dL/dW_{l-1} = v_{l-1} delta_l^T (n_{l-1} x n_l, column j is the gradient of w_{l-1,j}) and
    /// dL/db_{l-1} = delta_l. The input is scaled as the model says; v_0 is the scaled input.
    #[command(after_help = "\
Examples:
  backprop trace --model xor.json --data xor --row 0
  backprop trace --model m.json --data test.csv --target species --row 3 --json")]
    Trace(TraceArgs),
    /// Prints a shell completion script: backprop completions bash > ~/.local/share/bash-completion/completions/backprop
    #[command(after_help = "\
Examples:
  backprop completions bash > ~/.local/share/bash-completion/completions/backprop
  backprop completions zsh > ~/.zfunc/_backprop
  backprop completions fish > ~/.config/fish/completions/backprop.fish")]
    Completions(CompletionsArgs),
}

/// `backprop completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Where the data comes from and how it is read.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// A CSV file (.gz read as well; - for standard input), or a built-in dataset: xor, spirals,
    /// circles, sine, digits.
    #[arg(long, value_name = "PATH|NAME", default_value = "xor")]
    pub data: String,
    /// The field delimiter: a character, or tab, comma, semicolon, pipe [default: detected from
    /// the header line among comma, tab, semicolon and pipe].
    #[arg(long, value_name = "CHAR", value_parser = crate::data::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// The file has no header row: the columns are named c0, c1, ...
    #[arg(long)]
    pub no_header: bool,
    /// The target column(s) [default: the last column].
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub target: Vec<String>,
    /// Columns to ignore.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,
    /// classify or regress [default: guessed from the target column: text, or integers with at
    /// most 10 distinct values (each seen twice on average), are classes; anything else is
    /// regressed; the summary says what was guessed].
    #[arg(long, value_name = "TASK", value_parser = parse_task)]
    pub task: Option<Task>,
    /// Standardize inputs and regression targets (mean and deviation of the training rows)
    /// [default: standard; a model read by --from keeps its own].
    #[arg(long, value_name = "standard|none", value_parser = parse_scale, action = clap::ArgAction::Set)]
    pub scale: Option<bool>,
    /// Fraction of rows held out for validation [default: 0.1 for a CSV file; a built-in
    /// dataset's own].
    #[arg(long, value_name = "F", value_parser = parse_fraction, allow_negative_numbers = true)]
    pub validation: Option<f64>,
}

/// The network and the SGD settings, shared by train and restarts.
#[derive(Debug, Args, Clone)]
pub struct TrainingArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Hidden layer widths, or "none" [default: 100 for a CSV file; a built-in dataset's own,
    /// see `backprop datasets`].
    #[arg(long, value_name = "N[,N...]", value_parser = parse_hidden)]
    pub hidden: Option<Hidden>,
    /// Activation of the hidden nodes: sigmoid, tanh, relu, step, identity [default: relu for a
    /// CSV file; a built-in dataset's own].
    #[arg(long, value_name = "NAME")]
    pub activation: Option<Activation>,
    /// Activation of the output nodes [default: identity; sigmoid for classes under the squared loss].
    #[arg(long, value_name = "NAME")]
    pub output_activation: Option<Activation>,
    /// squared (the lecture's) or cross-entropy (softmax) [default: squared for xor; cross-entropy
    /// for other classes; squared for regression].
    #[arg(long, value_name = "LOSS", value_parser = parse_loss)]
    pub loss: Option<Loss>,
    /// Learning rate η [default: 0.001 with Adam for a CSV file, 0.05 with another rule; a
    /// built-in dataset's own].
    #[arg(long, value_name = "ETA", value_parser = parse_positive, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Passes over the training data [default: 200 for a CSV file; a built-in dataset's own].
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub epochs: Option<usize>,
    /// Samples per gradient step (1 is the lecture's SGD).
    /// [default: 1 for a built-in dataset; min(200, training rows) for a CSV file]
    #[arg(long, value_name = "B", value_parser = parse_count, allow_negative_numbers = true)]
    pub batch_size: Option<usize>,
    /// The update rule: sgd (the lecture's), momentum, nesterov, adam, adamw [default: adam for
    /// a CSV file, sgd for a built-in dataset; momentum or nesterov with --momentum].
    #[arg(long, value_name = "NAME", value_parser = parse_optimizer)]
    pub optimizer: Option<Optimizer>,
    /// Momentum μ of --optimizer momentum or nesterov [default: 0.9]; alone, selects momentum
    /// (0 for none).
    #[arg(long, value_name = "MU", value_parser = parse_momentum, allow_hyphen_values = true)]
    pub momentum: Option<f64>,
    /// Nesterov momentum (needs --momentum; the same as --optimizer nesterov).
    #[arg(long)]
    pub nesterov: bool,
    /// Adam's and AdamW's β1, the decay of the mean of the gradients [default: 0.9].
    #[arg(long, value_name = "B1", value_parser = parse_momentum, allow_hyphen_values = true)]
    pub beta1: Option<f64>,
    /// Adam's and AdamW's β2, the decay of the mean of the squared gradients [default: 0.999].
    #[arg(long, value_name = "B2", value_parser = parse_momentum, allow_hyphen_values = true)]
    pub beta2: Option<f64>,
    /// Adam's and AdamW's ε, added to the root of the second moment [default: 1e-8].
    #[arg(long, value_name = "EPS", value_parser = parse_positive, allow_hyphen_values = true)]
    pub eps: Option<f64>,
    /// Weight decay λ on the weights, not the biases: L2 (λW added to the gradient), decoupled
    /// for adamw (W ← W − ηλW before each step).
    #[arg(long, value_name = "LAMBDA", default_value_t = 0.0, value_parser = parse_nonnegative, allow_hyphen_values = true)]
    pub weight_decay: f64,
    /// Learning rate schedule: constant, inverse:K (η/(1+K t)), step:FACTOR:EVERY.
    #[arg(long, value_name = "SCHEDULE", default_value = "constant", value_parser = parse_schedule)]
    pub schedule: Schedule,
    /// Initialization: zero, uniform or uniform:A, normal or normal:STD, xavier, xavier-normal, he, he-normal
    /// [default: xavier for a CSV file; for a built-in dataset xavier, he for relu].
    #[arg(long, value_name = "INIT", value_parser = parse_init)]
    pub init: Option<Init>,
    /// How the biases start: zero (the default) or any --init scheme, a bias counted as one
    /// more input of its layer.
    #[arg(long, value_name = "INIT", value_parser = parse_init)]
    pub bias_init: Option<Init>,
    /// Clip the gradient to this Euclidean norm.
    #[arg(long, value_name = "NORM", value_parser = parse_positive, allow_hyphen_values = true)]
    pub clip_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss (keeps the best epoch)
    /// [default: 10 for a CSV file with validation rows; off for a built-in dataset].
    #[arg(long, value_name = "EPOCHS", value_parser = parse_count, allow_negative_numbers = true)]
    pub patience: Option<usize>,
    /// Per-sample SGD: steps per block of the first layer's GEMMs (1: plain steps, bit for bit
    /// the lecture's update in order) [default: 32 for a first layer of 16,384 weights or more,
    /// else 1].
    #[arg(long, value_name = "STEPS", value_parser = parse_count, allow_negative_numbers = true)]
    pub block: Option<usize>,
    /// Master seed: data generation, validation split, and every restart's seed.
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Visit the samples in a new random order every epoch (the default).
    #[arg(long, overrides_with = "no_shuffle")]
    pub shuffle: bool,
    /// Visit the samples in data order every epoch, so that a run can be redone by hand.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Draw every step's sample at random, with replacement (the lecture's "take a random
    /// sample"); an epoch is as many draws as there are samples.
    #[arg(long, conflicts_with_all = ["no_shuffle", "shuffle"])]
    pub with_replacement: bool,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// The floating-point type of training: f64, or f32 (about twice the numbers per vector
    /// instruction, half the memory). Models are saved in f64 either way (exact for f32 values).
    #[arg(long, value_name = "f64|f32", value_enum, default_value_t = Dtype::F64)]
    pub dtype: Dtype,
}

/// The floating-point type a run trains in.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 64-bit IEEE 754 (the default).
    #[default]
    F64,
    /// 32-bit IEEE 754.
    F32,
}

impl Dtype {
    /// `f64` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "f64",
            Dtype::F32 => "f32",
        }
    }
}

/// `backprop restarts`.
#[derive(Debug, Args)]
pub struct RestartsArgs {
    /// Data, network and SGD.
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Number of random restarts R.
    #[arg(long, value_name = "R", default_value_t = 32, value_parser = parse_count, allow_negative_numbers = true)]
    pub restarts: usize,
    /// Worker threads (0: one per core).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub threads: usize,
    /// Run only the restarts whose index is I modulo N, and write a partial report (needs --report).
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Write everything as JSON: configuration, every restart, the zero-init baseline, the best model.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw the loss curves and a histogram of final losses (SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Draw the best network's decision regions over the data (SVG; two-input data).
    #[arg(long, value_name = "FILE")]
    pub boundary: Option<PathBuf>,
    /// Save the best model.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Keep every restart's final network (and the zero-init baseline's) in the report, in the
    /// model file's format, for `backprop basins` (needs --report or --html).
    #[arg(long)]
    pub keep_models: bool,
    /// Reuse the restarts recorded for this experiment in --report FILE or its journal
    /// (FILE.journal) and run only the missing ones; --restarts may grow.
    #[arg(long)]
    pub resume: bool,
    /// Race the restarts by successive halving: at epochs/ETA^j (j = J..1) keep the best 1/ETA
    /// of the restarts by their score (ETA 3 by default); the rest are pruned.
    #[arg(long, value_name = "halving[:ETA]")]
    pub racing: Option<backprop_optim::racing::Halving>,
    /// Write one self-contained HTML page: configuration, restarts, statistics, every plot, and
    /// the distinct minima with --keep-models.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The success criterion and the level of the statistics.
    #[command(flatten)]
    pub stats: StatsFlags,
}

/// How the statistics over the restarts count a success, and at what level.
#[derive(Debug, Args, Clone, Copy)]
pub struct StatsFlags {
    /// When a restart succeeds: auto (below the largest gap of a decade or more in the sorted
    /// scores, else within:0.1), within:EPS (at most (1+EPS) times the best score), loss:X
    /// (a score of at most X), accuracy:X (an accuracy of at least X).
    #[arg(long, value_name = "CRITERION", default_value = "auto", value_parser = parse_criterion)]
    pub success: Criterion,
    /// The level of the interval for p and of the restarts needed.
    #[arg(long, value_name = "C", default_value_t = 0.95, value_parser = parse_confidence)]
    pub confidence: f64,
}

/// `backprop stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// A report written by `restarts --report` or `merge --report`.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The success criterion and the level.
    #[command(flatten)]
    pub stats: StatsFlags,
    /// Write the best-of-k curve as CSV: k, expected best score, probability of a success.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw the ECDF of the scores and the best-of-k curve (SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write one self-contained HTML page: configuration, restarts, statistics, every plot.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

fn parse_criterion(s: &str) -> Result<Criterion, String> {
    s.parse::<Criterion>().map_err(|e| e.to_string())
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err("must be a number in (0, 1), as 0.95".to_owned()),
    }
}

/// `backprop train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Data, network and SGD.
    #[command(flatten)]
    pub training: TrainingArgs,
    /// Save the trained model.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Start from a saved model (its network, columns and scaling) instead of a random one.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Train R random restarts in parallel and keep the best (the lecture's last slide).
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = parse_count, allow_negative_numbers = true)]
    pub restarts: usize,
    /// After the restart and its epochs are chosen on the validation rows, train that restart's
    /// initialization again on all rows for that many epochs [default: on for a CSV file with
    /// validation rows; off for a built-in dataset].
    #[arg(long, overrides_with = "no_refit")]
    pub refit: bool,
    /// Keep the network trained on the training rows (no refit).
    #[arg(long)]
    pub no_refit: bool,
    /// Worker threads for the restarts (0: one per core).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub threads: usize,
    /// Draw the network's decision regions over the data (SVG; two-input data).
    #[arg(long, value_name = "FILE")]
    pub boundary: Option<PathBuf>,
}

/// `backprop basins`.
#[derive(Debug, Args)]
pub struct BasinsArgs {
    /// A report written by `restarts --keep-models --report FILE`.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The data to measure on [default: the report's own, regenerated from its seed for a
    /// built-in dataset; all rows].
    #[arg(long, value_name = "PATH|NAME")]
    pub data: Option<String>,
    /// Two restarts are one minimum when the loss barrier between them, aligned, is at most T
    /// (in units of the mean loss).
    #[arg(long, value_name = "T", default_value_t = backprop_optim::basins::BasinsConfig::default().tolerance, value_parser = parse_nonnegative, allow_negative_numbers = true)]
    pub tolerance: f64,
    /// A sigmoid or tanh unit is saturated when |s| exceeds this on more than half of the rows.
    #[arg(long, value_name = "S", default_value_t = backprop_optim::basins::BasinsConfig::default().saturation, value_parser = parse_positive, allow_negative_numbers = true)]
    pub saturation: f64,
    /// Write one row per restart (CSV).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw the distances to the best before and after alignment, and the barrier curves (SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write one self-contained HTML page: the report's configuration, restarts, statistics and
    /// distinct minima, with every plot.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `backprop trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Model and data.
    #[command(flatten)]
    pub input: ModelDataArgs,
    /// The row to trace, from 0 (the first row after the header).
    #[arg(long, value_name = "K")]
    pub row: usize,
    /// Print the numbers as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Data for a saved model.
#[derive(Debug, Args, Clone)]
pub struct ModelDataArgs {
    /// The model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// A CSV file (.gz read as well; - for standard input), or a built-in dataset.
    #[arg(long, value_name = "PATH|NAME")]
    pub data: String,
    /// The field delimiter: a character, or tab, comma, semicolon, pipe [default: detected from
    /// the header line among comma, tab, semicolon and pipe].
    #[arg(long, value_name = "CHAR", value_parser = crate::data::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// The file has no header row: the columns are named c0, c1, ...
    #[arg(long)]
    pub no_header: bool,
    /// The target column(s) [default: the model's].
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub target: Vec<String>,
    /// Columns to ignore (for models that do not name their inputs).
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub drop: Vec<String>,
    /// The seed of a built-in dataset.
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub seed: u64,
}

/// `backprop predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model and data.
    #[command(flatten)]
    pub input: ModelDataArgs,
    /// Columns copied through to the predictions, before them (ID columns), as written.
    #[arg(long, value_name = "COL[,COL...]", value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Write the predictions here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `backprop evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model and data.
    #[command(flatten)]
    pub input: ModelDataArgs,
}

/// `backprop gradcheck`.
#[derive(Debug, Args)]
pub struct GradcheckArgs {
    /// Model and data.
    #[command(flatten)]
    pub input: ModelDataArgs,
    /// How many rows (from the top) enter the loss.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = parse_count)]
    pub samples: usize,
    /// Finite-difference step h.
    #[arg(long, value_name = "H", default_value_t = 1e-6, value_parser = parse_positive)]
    pub step: f64,
    /// Largest relative error accepted (exit code 1 above it).
    #[arg(long, value_name = "TOL", default_value_t = 1e-5, value_parser = parse_positive)]
    pub tolerance: f64,
}

/// `backprop merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The partial reports, one per shard, in any order.
    #[arg(value_name = "PARTS", required = true)]
    pub parts: Vec<PathBuf>,
    /// Write the merged report.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw the loss curves and a histogram of final losses (SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Save the best model.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The success criterion and the level of the statistics.
    #[command(flatten)]
    pub stats: StatsFlags,
}

/// Hidden widths; empty for none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hidden(pub Vec<usize>);

fn parse_hidden(s: &str) -> Result<Hidden, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") {
        return Ok(Hidden(Vec::new()));
    }
    if s.is_empty() {
        return Err("empty: give widths as N[,N...], or none for no hidden layer".to_owned());
    }
    s.split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(0) => Err("a hidden layer needs at least 1 node".to_owned()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!("{w:?} is not a width (expected N[,N...] or none)")),
        })
        .collect::<Result<_, _>>()
        .map(Hidden)
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err("must be a positive number".to_owned()),
    }
}

fn parse_nonnegative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err("must be a number >= 0".to_owned()),
    }
}

fn parse_optimizer(s: &str) -> Result<Optimizer, String> {
    s.parse().map_err(|e: backprop_optim::Error| e.to_string())
}

fn parse_momentum(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        _ => Err("must be a number in [0, 1)".to_owned()),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..1.0).contains(&x) => Ok(x),
        _ => Err("must be a fraction in [0, 1)".to_owned()),
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number >= 1".to_owned()),
    }
}

fn parse_scale(s: &str) -> Result<bool, String> {
    match s.trim() {
        "standard" => Ok(true),
        "none" => Ok(false),
        _ => Err("expected standard or none".to_owned()),
    }
}

fn parse_task(s: &str) -> Result<Task, String> {
    s.parse()
}

fn parse_loss(s: &str) -> Result<Loss, String> {
    s.parse()
        .map_err(|e: backprop_network::Error| e.to_string())
}

fn parse_init(s: &str) -> Result<Init, String> {
    s.parse::<Init>().map_err(|e| e.to_string())
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.parse::<Schedule>().map_err(|e| e.to_string())
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || "expected I/N with 0 <= I < N, as 0/4".to_owned();
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n) = (
        i.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if i < n {
        Ok((i, n))
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_parse() {
        assert_eq!(parse_hidden("32, 16"), Ok(Hidden(vec![32, 16])));
        assert_eq!(parse_hidden("none"), Ok(Hidden(vec![])));
        assert!(parse_hidden("0").is_err());
        assert!(parse_hidden("").is_err());
        assert!(parse_positive("-1").is_err());
        assert!(parse_positive("nan").is_err());
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert_eq!(parse_confidence("0.99"), Ok(0.99));
        assert!(parse_confidence("1").is_err() && parse_confidence("0").is_err());
        assert_eq!(parse_criterion("loss:0.5"), Ok(Criterion::Loss(0.5)));
        assert!(parse_criterion("best").is_err());
    }
}
