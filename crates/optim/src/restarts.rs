//! The lecture's "run separate SGDs and take the best", in parallel and reproducibly.

use std::time::Instant;

use backprop_linalg::Real;
use backprop_network::Network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::error::{invalid, Error, Result};
use crate::sgd::{accuracy, check_data, mean_loss};
use crate::{initialize, initialize_with_biases, train, Dataset, History, Init, SgdConfig};

/// Hears of progress: called from the worker threads, so it must be [`Sync`]; both methods do
/// nothing by default. `optim` knows no UI: the CLI implements this to draw progress bars.
pub trait Observer: Sync {
    /// Restart `restart` finished epoch `epoch` (1-based) with mean training loss `train_loss`.
    fn epoch_done(&self, restart: usize, epoch: usize, train_loss: f64) {
        let _ = (restart, epoch, train_loss);
    }

    /// A restart finished.
    fn restart_done(&self, summary: &RunSummary) {
        let _ = summary;
    }
}

/// An [`Observer`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// The seed of restart `i` under master seed `master`: the `(i + 1)`-th output of the SplitMix64
/// generator (Steele, Lea and Flood 2014) seeded with `master`, that is `mix(master + (i + 1)
/// 0x9E3779B97F4A7C15)` with SplitMix64's finalizer `mix`.
///
/// It depends on `(master, i)` alone, so a restart can be rerun by itself; neighbouring master
/// seeds give unrelated restarts (not so with `master + i`). The values are pinned by a test:
/// changing them changes every experiment ever run.
///
/// ```
/// use backprop_optim::restart_seed;
/// assert_eq!(restart_seed(0, 0), 0xE220_A839_7B1D_CDAF); // SplitMix64's first output from 0
/// assert_ne!(restart_seed(1, 0), restart_seed(0, 1));
/// ```
pub fn restart_seed(master: u64, i: usize) -> u64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut z = master.wrapping_add((i as u64).wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The settings of a multi-restart experiment.
///
/// ```
/// use backprop_optim::RestartConfig;
/// let cfg = RestartConfig { restarts: 8, threads: 2, seed: 42, ..Default::default() };
/// cfg.validate()?;
/// assert!(RestartConfig { restarts: 0, ..cfg }.validate().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RestartConfig {
    /// The number `R` of restarts (default 32, at least 1).
    pub restarts: usize,
    /// Worker threads: 0 for rayon's default (all cores), else exactly this many. The results
    /// do not depend on it.
    pub threads: usize,
    /// The master seed; restart `i` uses [`restart_seed`]`(seed, i)`.
    pub seed: u64,
    /// The initialization of every restart (default Xavier uniform; He suits ReLU).
    pub init: Init,
    /// Also draw the biases from `init` (default false: biases start at zero).
    pub init_biases: bool,
    /// The SGD of every restart.
    pub sgd: SgdConfig,
    /// Report classification accuracies.
    pub classification: bool,
    /// Run only these restart indices (each `< restarts`), to split an experiment across
    /// machines; `None` runs `0..restarts`.
    pub only: Option<Vec<usize>>,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            restarts: 32,
            threads: 0,
            seed: 0,
            init: Init::XavierUniform,
            init_biases: false,
            sgd: SgdConfig::default(),
            classification: false,
            only: None,
        }
    }
}

impl RestartConfig {
    /// Checks every field's range, the SGD's included.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if self.restarts == 0 {
            return Err(invalid("restarts", "at least 1 restart"));
        }
        self.init.validate()?;
        self.sgd.validate()?;
        if let Some(only) = &self.only {
            if only.is_empty() {
                return Err(invalid("only", "no restart index given"));
            }
            if let Some(&i) = only.iter().find(|&&i| i >= self.restarts) {
                return Err(invalid(
                    "only",
                    format!(
                        "restart {i} does not exist among {} (0 to {})",
                        self.restarts,
                        self.restarts - 1
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The restart indices this configuration runs, in order.
    pub fn indices(&self) -> Vec<usize> {
        self.only
            .clone()
            .unwrap_or_else(|| (0..self.restarts).collect())
    }
}

/// What one restart ended with.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// The restart index `i`.
    pub index: usize,
    /// Its seed, [`restart_seed`]`(master, i)`.
    pub seed: u64,
    /// Mean training loss of the returned network.
    pub final_train_loss: f64,
    /// Mean validation loss of the returned network, with a validation set.
    pub final_validation_loss: Option<f64>,
    /// Validation accuracy of the returned network, when classifying with a validation set.
    pub final_validation_accuracy: Option<f64>,
    /// Training accuracy of the returned network, when classifying.
    pub train_accuracy: Option<f64>,
    /// Epochs run.
    pub epochs: usize,
    /// The best epoch (see [`History::best_epoch`]).
    pub best_epoch: usize,
    /// True if the run diverged: such a run is never the best.
    pub diverged: bool,
    /// Wall time in seconds.
    pub seconds: f64,
    /// What the best is chosen by: the final validation loss, else the final training loss.
    pub score: f64,
}

/// One restart: its summary, history and trained network.
#[derive(Clone, Debug)]
pub struct Run<T: Real = f64> {
    /// The summary.
    pub summary: RunSummary,
    /// The per-epoch record.
    pub history: History,
    /// The trained network.
    pub network: Network<T>,
}

/// Every restart of an experiment, in index order, and which is best.
#[derive(Clone, Debug)]
pub struct Experiment<T: Real = f64> {
    /// The runs, in the order of [`RestartConfig::indices`].
    pub runs: Vec<Run<T>>,
    /// The position in `runs` of the best run, by [`best_of`]; `None` if all diverged.
    pub best: Option<usize>,
}

impl<T: Real> Experiment<T> {
    /// The best run, if any did not diverge.
    pub fn best_run(&self) -> Option<&Run<T>> {
        self.best.map(|b| &self.runs[b])
    }

    /// The summaries of all runs, in order.
    pub fn summaries(&self) -> Vec<RunSummary> {
        self.runs.iter().map(|r| r.summary.clone()).collect()
    }
}

/// The position of the best summary: the lowest `score` (validation loss where there is a
/// validation set, else final training loss) among the runs that did not diverge and have a
/// finite score; ties go to the lowest restart index. `None` if there is no such run.
///
/// ```
/// use backprop_optim::{best_of, RunSummary};
/// let run = |index, score, diverged| RunSummary {
///     index, seed: 0, final_train_loss: score, final_validation_loss: None,
///     final_validation_accuracy: None, train_accuracy: None, epochs: 1, best_epoch: 1,
///     diverged, seconds: 0.0, score,
/// };
/// assert_eq!(best_of(&[run(0, 0.3, false), run(1, 0.1, true), run(2, 0.2, false), run(3, 0.2, false)]), Some(2));
/// assert_eq!(best_of(&[run(0, 0.1, true)]), None);
/// ```
pub fn best_of(summaries: &[RunSummary]) -> Option<usize> {
    summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.diverged && s.score.is_finite())
        .min_by(|(_, a), (_, b)| a.score.total_cmp(&b.score).then(a.index.cmp(&b.index)))
        .map(|(pos, _)| pos)
}

/// Runs restart `i`: a copy of `template` initialized from `ChaCha8Rng(seed_i)` stream 0, trained
/// with the sample order from stream 1. Depends on `(cfg, data, i)` alone.
fn run_restart<T: Real>(
    template: &Network<T>,
    train_set: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    observer: &dyn Observer,
    index: usize,
) -> Result<Run<T>> {
    let start = Instant::now();
    let seed = restart_seed(cfg.seed, index);
    let mut init_rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order_rng = ChaCha8Rng::seed_from_u64(seed);
    order_rng.set_stream(1);
    let mut network = template.clone();
    if cfg.init_biases {
        initialize_with_biases(&mut network, cfg.init, &mut init_rng);
    } else {
        initialize(&mut network, cfg.init, &mut init_rng);
    }
    let history = train(
        &mut network,
        train_set,
        validation,
        &cfg.sgd,
        cfg.classification,
        &mut order_rng,
        observer,
        index,
    )?;
    let final_train_loss = mean_loss(&network, train_set)?;
    let final_validation_loss = validation.map(|v| mean_loss(&network, v)).transpose()?;
    let classify = |d: &Dataset<T>| accuracy(&network, d);
    let final_validation_accuracy = match validation {
        Some(v) if cfg.classification => Some(classify(v)?),
        _ => None,
    };
    let train_accuracy = if cfg.classification {
        Some(classify(train_set)?)
    } else {
        None
    };
    let summary = RunSummary {
        index,
        seed,
        final_train_loss,
        final_validation_loss,
        final_validation_accuracy,
        train_accuracy,
        epochs: history.epochs,
        best_epoch: history.best_epoch,
        diverged: history.diverged,
        seconds: start.elapsed().as_secs_f64(),
        score: final_validation_loss.unwrap_or(final_train_loss),
    };
    observer.restart_done(&summary);
    Ok(Run {
        summary,
        history,
        network,
    })
}

/// Runs the restarts of `cfg` in parallel and picks the best.
///
/// Each restart copies `template`'s shape (layers, activations, loss), draws its weights from
/// `ChaCha8Rng::seed_from_u64(seed_i)` stream 0 and its sample order from stream 1, where
/// `seed_i = restart_seed(cfg.seed, i)`. The restarts run on a rayon pool of `cfg.threads`
/// threads built for this call (not the global pool); each is one task with its own buffers,
/// nothing is shared mutably, and the results are collected in index order. So every run is
/// bit-identical for any thread count and whether it runs alone or among others. The best is
/// chosen afterwards, serially, by [`best_of`].
///
/// ```
/// use backprop_optim::{run_restarts, Activation, Dataset, Network, NoObserver, RestartConfig, SgdConfig};
/// let data = Dataset::from_rows(&[vec![-1.0], vec![1.0]], &[vec![-1.0], vec![1.0]])?;
/// let template = Network::builder(1).layer(1, Activation::Tanh).build::<f64>()?;
/// let cfg = RestartConfig {
///     restarts: 4,
///     threads: 2,
///     sgd: SgdConfig { epochs: 5, ..Default::default() },
///     ..Default::default()
/// };
/// let experiment = run_restarts(&template, &data, None, &cfg, &NoObserver)?;
/// assert_eq!(experiment.runs.len(), 4);
/// let best = experiment.best_run().expect("no restart diverged");
/// assert!(experiment.runs.iter().all(|r| r.summary.score >= best.summary.score));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad `cfg`, [`Error::DataShape`] if a data set does not fit
/// `template`, [`Error::ThreadPool`] if the pool cannot be built.
pub fn run_restarts<T: Real>(
    template: &Network<T>,
    train_set: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    observer: &dyn Observer,
) -> Result<Experiment<T>> {
    cfg.validate()?;
    check_data(template, train_set, "training")?;
    if let Some(v) = validation {
        check_data(template, v, "validation")?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::ThreadPool(e.to_string()))?;
    let indices = cfg.indices();
    let runs = pool.install(|| {
        indices
            .into_par_iter()
            .map(|i| run_restart(template, train_set, validation, cfg, observer, i))
            .collect::<Result<Vec<_>>>()
    })?;
    let summaries: Vec<RunSummary> = runs.iter().map(|r| r.summary.clone()).collect();
    let best = best_of(&summaries);
    Ok(Experiment { runs, best })
}
