//! The lecture's last slide: run separate SGDs from random starts, in parallel, and keep the best.

use backprop_linalg::Real;
use backprop_network::Network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::racing::Halving;
use crate::{
    error::invalid, initialize, initialize_biases, sgd, Dataset, Error, History, Init, Observer,
    Result, SgdConfig,
};

/// The seed of restart `i` of an experiment with master seed `master`: output `i` of a SplitMix64
/// generator started at `master` (Steele, Lea and Flood 2014), that is
/// `mix(master + (i + 1) * 0x9E3779B97F4A7C15)` with SplitMix64's finalizer `mix`.
///
/// It depends on `(master, i)` alone, so restart `i` is the same run whatever other restarts run
/// beside it and on whatever thread; and unlike `master + i`, neighbouring master seeds share no
/// runs.
///
/// ```
/// use backprop_optim::restart_seed;
/// assert_ne!(restart_seed(1, 0), restart_seed(0, 1));
/// assert_eq!(restart_seed(42, 3), restart_seed(42, 3));
/// ```
pub fn restart_seed(master: u64, i: usize) -> u64 {
    let mut z = master.wrapping_add(
        (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random streams of restart `i` of an experiment with master seed `master`: the
/// generator of its initialization (`ChaCha8Rng` seeded with [`restart_seed`]`(master, i)`,
/// stream 0) and that of its sample order (the same seed, stream 1). The one home of this rule:
/// [`run_restart`] draws from them, and so does a warm start that continues restart 0's order.
///
/// ```
/// use backprop_optim::restart_rngs;
/// use rand::RngExt;
/// let (mut init, mut order) = restart_rngs(42, 3);
/// let (mut init2, _) = restart_rngs(42, 3);
/// let a: u64 = init.random();
/// assert_eq!(a, init2.random::<u64>());
/// assert_ne!(a, order.random::<u64>());
/// ```
pub fn restart_rngs(master: u64, i: usize) -> (ChaCha8Rng, ChaCha8Rng) {
    let seed = restart_seed(master, i);
    let mut init_rng = ChaCha8Rng::seed_from_u64(seed);
    init_rng.set_stream(0);
    let mut order_rng = ChaCha8Rng::seed_from_u64(seed);
    order_rng.set_stream(1);
    (init_rng, order_rng)
}

/// The configuration of a restart experiment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestartConfig {
    /// The number of restarts `R`, `>= 1`.
    pub restarts: usize,
    /// Threads of the experiment's pool; 0 uses one per core.
    pub threads: usize,
    /// The master seed: restart `i` uses [`restart_seed`]`(seed, i)`.
    pub seed: u64,
    /// How each restart's weights start.
    pub init: Init,
    /// How each restart's biases start ([`Init::Zero`] unless asked otherwise), drawn after the
    /// weights from the same generator.
    #[serde(default = "zero")]
    pub bias_init: Init,
    /// The SGD of each restart.
    pub sgd: SgdConfig,
    /// Whether the targets are classes (accuracy is then reported).
    pub classification: bool,
    /// Run only these restart indices (each `< restarts`), for splitting an experiment across
    /// machines; `None` runs `0..restarts`.
    pub only: Option<Vec<usize>>,
    /// Race the restarts by successive halving ([`racing`](crate::racing)); `None` runs every
    /// restart to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub racing: Option<Halving>,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            restarts: 32,
            threads: 0,
            seed: 0,
            init: Init::XavierUniform,
            bias_init: Init::Zero,
            sgd: SgdConfig::default(),
            classification: false,
            only: None,
            racing: None,
        }
    }
}

/// The default bias initialization of files written before it was configurable.
fn zero() -> Init {
    Init::Zero
}

impl RestartConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be at least 1"));
        }
        if let Some(only) = &self.only {
            let mut sorted = only.clone();
            sorted.sort_unstable();
            if let Some(&i) = sorted.iter().find(|&&i| i >= self.restarts) {
                return Err(invalid(
                    "only",
                    format!("restart {i} is not below the {} restarts", self.restarts),
                ));
            }
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(invalid("only", "a restart index is listed twice"));
            }
        }
        if let Some(h) = &self.racing {
            h.validate()?;
        }
        self.init.validate()?;
        self.bias_init.validate()?;
        self.sgd.validate()
    }

    /// The restart indices this configuration runs, in increasing order.
    pub fn indices(&self) -> Vec<usize> {
        match &self.only {
            Some(only) => {
                let mut v = only.clone();
                v.sort_unstable();
                v
            }
            None => (0..self.restarts).collect(),
        }
    }
}

/// The outcome of one restart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// The restart index `i`.
    pub index: usize,
    /// Its seed, [`restart_seed`]`(master, i)`.
    pub seed: u64,
    /// Mean training loss of the final weights (NaN, written as `null`, when diverged).
    #[serde(with = "crate::nan_as_null")]
    pub final_train_loss: f64,
    /// Mean validation loss of the final weights.
    pub final_validation_loss: Option<f64>,
    /// Validation accuracy of the final weights (classification with validation).
    pub final_validation_accuracy: Option<f64>,
    /// Training accuracy of the final weights (classification).
    pub train_accuracy: Option<f64>,
    /// Epochs run.
    pub epochs: usize,
    /// Whether the run diverged.
    pub diverged: bool,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// What the best restart minimizes: the final validation loss if there is a validation set,
    /// else the final training loss (infinite when diverged).
    #[serde(with = "crate::nan_as_null")]
    pub score: f64,
    /// The epochs after which racing stopped the run (`None` when it ran to its end): its
    /// losses are those of that epoch, and it is never the best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_at: Option<usize>,
}

/// One restart: its summary, history and trained network.
#[derive(Clone, Debug)]
pub struct Run<T: Real = f64> {
    /// The summary.
    pub summary: RunSummary,
    /// The per-epoch history.
    pub history: History,
    /// The network at the end of the run (the best epoch's, with early stopping).
    pub network: Network<T>,
}

/// Every restart of an experiment and which one is best.
#[derive(Clone, Debug)]
pub struct Experiment<T: Real = f64> {
    /// The runs, in increasing restart index.
    pub runs: Vec<Run<T>>,
    /// The position in `runs` of the best run, by [`best_of`]; `None` if every run diverged.
    pub best: Option<usize>,
}

impl<T: Real> Experiment<T> {
    /// The best run, if any run did not diverge.
    pub fn best_run(&self) -> Option<&Run<T>> {
        self.best.map(|b| &self.runs[b])
    }
}

/// The position of the best of `summaries`: the lowest score (validation loss where there is a
/// validation set, else final training loss), ties to the lowest restart index; a diverged run or
/// one pruned by racing is never the best. `None` when every run diverged.
///
/// ```
/// use backprop_optim::{best_of, RunSummary};
/// let run = |index, score, diverged| RunSummary {
///     index, seed: 0, final_train_loss: score, final_validation_loss: None,
///     final_validation_accuracy: None, train_accuracy: None, epochs: 1, diverged, seconds: 0.0, score,
///     pruned_at: None,
/// };
/// assert_eq!(best_of(&[run(0, 0.3, false), run(1, 0.1, true), run(2, 0.2, false), run(3, 0.2, false)]), Some(2));
/// ```
pub fn best_of(summaries: &[RunSummary]) -> Option<usize> {
    summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.diverged && !s.score.is_nan() && s.pruned_at.is_none())
        .min_by(|(_, a), (_, b)| a.score.total_cmp(&b.score).then(a.index.cmp(&b.index)))
        .map(|(k, _)| k)
}

/// Runs restart `i` of the experiment: a network shaped like `template`, initialized from
/// `ChaCha8Rng(seed_i)` stream 0, trained with the sample order from stream 1.
///
/// # Errors
/// As [`train`](crate::train).
pub fn run_restart<T: Real>(
    template: &Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    i: usize,
    observer: &dyn Observer,
) -> Result<Run<T>> {
    let seed = restart_seed(cfg.seed, i);
    let (mut init_rng, mut order_rng) = restart_rngs(cfg.seed, i);
    let mut network = template.clone();
    initialize(&mut network, cfg.init, &mut init_rng)?;
    initialize_biases(&mut network, cfg.bias_init, &mut init_rng)?;
    let history = sgd::train(
        &mut network,
        train,
        validation,
        &cfg.sgd,
        cfg.classification,
        &mut order_rng,
        observer,
        i,
    )?;
    let diverged = history.diverged;
    let finite = |x: f64| if diverged { f64::NAN } else { x };
    // The final weights, evaluated once per dataset: loss and accuracy from one batched pass.
    let rows = validation.map_or(train.len(), |v| v.len().max(train.len()));
    let mut eval = sgd::Evaluator::new(&network, rows)?;
    let on_train = eval.evaluate(&network, train, cfg.classification && !diverged)?;
    let on_validation = match validation {
        Some(v) => Some(eval.evaluate(&network, v, cfg.classification && !diverged)?),
        None => None,
    };
    let final_train_loss = finite(on_train.mean_loss);
    let final_validation_loss = on_validation.map(|e| finite(e.mean_loss));
    let score = if diverged {
        f64::INFINITY
    } else {
        final_validation_loss.unwrap_or(final_train_loss)
    };
    let summary = RunSummary {
        index: i,
        seed,
        final_train_loss,
        final_validation_loss: final_validation_loss.filter(|x| x.is_finite()),
        final_validation_accuracy: on_validation.and_then(|e| e.accuracy),
        train_accuracy: on_train.accuracy,
        epochs: history.epochs,
        diverged,
        seconds: history.seconds,
        score,
        pruned_at: None,
    };
    observer.restart_done(&summary);
    Ok(Run {
        summary,
        history,
        network,
    })
}

/// Runs the experiment's restarts in parallel and picks the best.
///
/// The restarts run on a rayon pool built for this experiment with `cfg.threads` threads (not the
/// global pool). The dataset is shared by reference; each restart owns only its network and
/// buffers. Results come back in restart order and the best is chosen serially, so the outcome is
/// bit-identical for every thread count.
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad configuration, [`Error::ThreadPool`] if the pool cannot be
/// built, and the first error of a run (in restart order).
///
/// # Example
/// ```
/// use backprop_optim::{run_restarts, Dataset, NoObserver, RestartConfig, SgdConfig};
/// use backprop_network::{Activation, Network};
/// let xor = Dataset::from_rows(
///     &[vec![0.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 1.0]],
///     &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
/// )?;
/// let net = Network::builder(2).layer(3, Activation::Tanh).layer(1, Activation::Sigmoid).build()?;
/// let cfg = RestartConfig {
///     restarts: 4, threads: 2, seed: 7,
///     sgd: SgdConfig { learning_rate: 0.5, epochs: 50, ..Default::default() },
///     ..Default::default()
/// };
/// let experiment = run_restarts(&net, &xor, None, &cfg, &NoObserver)?;
/// assert_eq!(experiment.runs.len(), 4);
/// let best = experiment.best_run().unwrap();
/// assert!(experiment.runs.iter().all(|r| best.summary.score <= r.summary.score));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_restarts<T: Real>(
    template: &Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    observer: &dyn Observer,
) -> Result<Experiment<T>> {
    run_restarts_with(template, train, validation, cfg, observer, &NoHooks)
}

/// What the caller of [`run_restarts_with`] is given as the restarts run, and asked, from the
/// worker threads.
pub trait RunHooks<T: Real>: Sync {
    /// Restart `run` finished (with its history and network): for example, record it on disk
    /// before the experiment ends. Called once a run, in the order runs finish.
    fn run_done(&self, run: &Run<T>) {
        let _ = run;
    }

    /// Checked before each restart begins: `true` leaves the restarts not yet begun unrun; those
    /// in flight finish (and are given to [`run_done`](RunHooks::run_done)), then the experiment
    /// ends with [`Error::Interrupted`].
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Hooks that record nothing and never stop.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl<T: Real> RunHooks<T> for NoHooks {}

/// [`run_restarts`] with `hooks`: each finished run is given to [`RunHooks::run_done`], and
/// [`RunHooks::stop_requested`] can end the experiment early. With `cfg.racing`, the restarts
/// race ([`racing`](crate::racing)); the hooks are then given every run, pruned ones too, and
/// a stop is not asked for (a race ranks all its restarts together).
///
/// # Errors
/// As [`run_restarts`]; [`Error::Interrupted`] when a stop was requested before every restart
/// began.
pub fn run_restarts_with<T: Real>(
    template: &Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    observer: &dyn Observer,
    hooks: &dyn RunHooks<T>,
) -> Result<Experiment<T>> {
    cfg.validate()?;
    let runs = if let Some(halving) = cfg.racing {
        crate::racing::run_race(template, train, validation, cfg, halving, observer, hooks)?
    } else {
        run_all(template, train, validation, cfg, observer, hooks)?
    };
    let summaries: Vec<RunSummary> = runs.iter().map(|r| r.summary.clone()).collect();
    let best = best_of(&summaries);
    Ok(Experiment { runs, best })
}

/// Every restart of `cfg` to its end, on a pool of `cfg.threads`.
fn run_all<T: Real>(
    template: &Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    observer: &dyn Observer,
    hooks: &dyn RunHooks<T>,
) -> Result<Vec<Run<T>>> {
    let indices = cfg.indices();
    // Never more threads than runs: a thread without a restart would only cost its start-up.
    let threads = match cfg.threads {
        0 => 0,
        t => t.min(indices.len().max(1)),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::ThreadPool(e.to_string()))?;
    let runs: Vec<Option<Result<Run<T>>>> = pool.install(|| {
        indices
            .par_iter()
            // One restart a job: a thread that runs out of work can take any restart not yet
            // begun, so the threads end at most one restart apart (rayon would otherwise run
            // several restarts as one job that no other thread can share).
            .with_max_len(1)
            .map(|&i| {
                if hooks.stop_requested() {
                    return None;
                }
                let run = run_restart(template, train, validation, cfg, i, observer);
                if let Ok(run) = &run {
                    hooks.run_done(run);
                }
                Some(run)
            })
            .collect()
    });
    let finished = runs.iter().filter(|r| matches!(r, Some(Ok(_)))).count();
    runs.into_iter()
        .map(|r| r.ok_or(Error::Interrupted { finished }))
        .collect::<Result<Result<Vec<_>>>>()?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_seed_values_are_stable() {
        // SplitMix64 from state 0: its first outputs are published test values.
        assert_eq!(restart_seed(0, 0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(restart_seed(0, 1), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(restart_seed(0, 2), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn hooks_see_every_finished_run_and_a_stop_leaves_the_rest_unrun() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        struct StopAfter(usize, AtomicUsize, Mutex<Vec<usize>>);
        impl RunHooks<f64> for StopAfter {
            fn run_done(&self, run: &Run<f64>) {
                self.1.fetch_add(1, Ordering::SeqCst);
                self.2.lock().unwrap().push(run.summary.index);
            }
            fn stop_requested(&self) -> bool {
                self.1.load(Ordering::SeqCst) >= self.0
            }
        }
        let xor = crate::data::xor();
        let net = Network::builder(2)
            .layer(2, backprop_network::Activation::Tanh)
            .layer(1, backprop_network::Activation::Sigmoid)
            .build()
            .unwrap();
        let cfg = RestartConfig {
            restarts: 6,
            threads: 1,
            sgd: SgdConfig {
                epochs: 5,
                ..Default::default()
            },
            ..Default::default()
        };
        let hooks = StopAfter(2, AtomicUsize::new(0), Mutex::new(Vec::new()));
        match run_restarts_with(&net, &xor, None, &cfg, &crate::NoObserver, &hooks) {
            Err(Error::Interrupted { finished: 2 }) => {}
            other => panic!("{:?}", other.map(|e| e.runs.len())),
        }
        assert_eq!(*hooks.2.lock().unwrap(), vec![0, 1]);
        let all = StopAfter(usize::MAX, AtomicUsize::new(0), Mutex::new(Vec::new()));
        let e = run_restarts_with(&net, &xor, None, &cfg, &crate::NoObserver, &all).unwrap();
        assert_eq!(e.runs.len(), 6);
        assert_eq!(all.1.load(Ordering::SeqCst), 6);
    }

    #[test]
    fn config_validation() {
        let ok = RestartConfig::default();
        assert!(ok.validate().is_ok());
        for bad in [
            RestartConfig {
                restarts: 0,
                ..ok.clone()
            },
            RestartConfig {
                only: Some(vec![1, 40]),
                ..ok.clone()
            },
            RestartConfig {
                only: Some(vec![3, 3]),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let shard = RestartConfig {
            only: Some(vec![5, 1]),
            ..ok
        };
        assert_eq!(shard.indices(), vec![1, 5]);
    }
}
