//! Racing: successive halving over the restarts of an experiment (Jamieson and Talwalkar 2016,
//! "Non-stochastic best arm identification and hyperparameter optimization").
//!
//! Every restart runs from its own seed, as without racing. At the checkpoints
//! `floor(epochs / eta^j)` for `j = J, ..., 1` ([`Halving::checkpoints`]) the restarts still in the
//! race are ranked by their score at that epoch (validation loss with a validation set, else
//! training loss; ties by restart index), the best `floor(n / eta)` of them (at least one) go on,
//! and the others stop there: pruned. A pruned restart `i` is therefore the first epochs of restart
//! `i` of the exhaustive experiment, and the ranking depends on scores alone, so the outcome is the
//! same on any number of threads.
//!
//! ```
//! use backprop_optim::racing::Halving;
//! // 64 restarts of 2000 epochs: three halvings (27 <= 64 < 81).
//! assert_eq!(Halving { eta: 3 }.checkpoints(2000, 64), vec![74, 222, 666]);
//! assert_eq!(Halving { eta: 3 }.keep(64), 21);
//! assert_eq!(Halving { eta: 3 }.keep(2), 1);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};

use backprop_linalg::Real;
use backprop_network::Network;

use crate::restarts::{run_restart, Run, RunHooks};
use crate::{error::invalid, Dataset, Error, Observer, RestartConfig, Result, RunSummary};

/// Successive halving with reduction factor `eta`: `--racing halving:ETA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Halving {
    /// The reduction factor, `>= 2`: one restart in `eta` goes on at each checkpoint.
    pub eta: usize,
}

impl Default for Halving {
    fn default() -> Self {
        Halving { eta: 3 }
    }
}

impl Halving {
    /// Checks the factor.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `eta < 2`.
    pub fn validate(&self) -> Result<()> {
        if self.eta < 2 {
            return Err(invalid(
                "racing",
                format!("the halving factor must be at least 2, not {}", self.eta),
            ));
        }
        Ok(())
    }

    /// The checkpoints (epochs run, increasing, each below `epochs`) of an experiment of
    /// `restarts` restarts: `floor(epochs / eta^j)` for `j = J, ..., 1`, where `J` is the largest
    /// `j` with `eta^j <= restarts` (so that about one restart in `eta` is left after the last),
    /// leaving out checkpoints below one epoch and repeats.
    pub fn checkpoints(&self, epochs: usize, restarts: usize) -> Vec<usize> {
        let mut powers = Vec::new();
        let mut p = self.eta.max(2);
        while p <= restarts {
            powers.push(p);
            match p.checked_mul(self.eta.max(2)) {
                Some(q) => p = q,
                None => break,
            }
        }
        let mut out: Vec<usize> = powers
            .iter()
            .rev()
            .map(|&p| epochs / p)
            .filter(|&c| c >= 1 && c < epochs)
            .collect();
        out.dedup();
        out
    }

    /// How many of `n` ranked restarts go on at a checkpoint: `floor(n / eta)`, at least one.
    pub fn keep(&self, n: usize) -> usize {
        (n / self.eta.max(2)).max(1)
    }
}

impl fmt::Display for Halving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "halving:{}", self.eta)
    }
}

impl FromStr for Halving {
    type Err = Error;

    /// Parses `halving` (factor 3) and `halving:ETA`.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let bad = || {
            Error::Parse(format!(
                "unknown racing {s:?} (expected halving or halving:ETA with ETA >= 2)"
            ))
        };
        let halving = match lower.split_once(':') {
            None if lower == "halving" => Halving::default(),
            Some(("halving", eta)) => Halving {
                eta: eta.trim().parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        halving.validate().map_err(|_| bad())?;
        Ok(halving)
    }
}

/// The race's shared state.
#[derive(Debug, Default)]
struct Field {
    /// The checkpoint being raced to (an index into the checkpoints).
    rung: usize,
    /// Restarts in the race: not finished, not pruned.
    live: usize,
    /// Scores at the current checkpoint, with restart indices.
    arrived: Vec<(f64, usize)>,
    /// Pruned restarts and the epochs they ran.
    pruned: BTreeMap<usize, usize>,
    /// Threads free to compute.
    permits: usize,
    /// Seconds each restart waited at checkpoints (not its own time).
    waited: BTreeMap<usize, f64>,
}

/// The referee: an observer that holds each restart at the checkpoints until every restart in
/// the race has reached it (or finished), then ranks them. At most `threads` restarts compute
/// at once; one waiting at a checkpoint gives its turn to another.
struct Race<'a> {
    inner: &'a dyn Observer,
    halving: Halving,
    checkpoints: Vec<usize>,
    field: Mutex<Field>,
    changed: Condvar,
}

impl Race<'_> {
    fn lock(&self) -> MutexGuard<'_, Field> {
        // A thread that panicked holding the lock left consistent counts: go on.
        self.field.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(&self, g: MutexGuard<'g, Field>) -> MutexGuard<'g, Field> {
        self.changed.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    fn acquire<'g>(&self, mut g: MutexGuard<'g, Field>) -> MutexGuard<'g, Field> {
        while g.permits == 0 {
            g = self.wait(g);
        }
        g.permits -= 1;
        g
    }

    /// Ranks the arrivals once every restart in the race has arrived or finished.
    fn decide(&self, f: &mut Field) {
        if f.live == 0 || f.arrived.len() < f.live || f.rung >= self.checkpoints.len() {
            return;
        }
        let epoch = self.checkpoints[f.rung];
        let mut ranked = std::mem::take(&mut f.arrived);
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let keep = self.halving.keep(ranked.len());
        for &(_, i) in &ranked[keep..] {
            f.pruned.insert(i, epoch);
        }
        f.live = keep;
        f.rung += 1;
        self.changed.notify_all();
    }

    /// The end of restart `i`'s thread, however it ended: its turn goes to another.
    fn finished(&self, i: usize) {
        let mut f = self.lock();
        if !f.pruned.contains_key(&i) {
            f.live -= 1;
            self.decide(&mut f);
        }
        f.permits += 1;
        self.changed.notify_all();
    }
}

impl Observer for Race<'_> {
    fn epoch_done(&self, restart: usize, epoch: usize, train_loss: f64) {
        self.inner.epoch_done(restart, epoch, train_loss);
    }

    fn restart_done(&self, summary: &RunSummary) {
        let pruned_at = self.lock().pruned.get(&summary.index).copied();
        match pruned_at {
            Some(epoch) => self.inner.restart_done(&RunSummary {
                pruned_at: Some(epoch),
                ..summary.clone()
            }),
            None => self.inner.restart_done(summary),
        }
    }

    fn proceed(&self, restart: usize, epoch: usize, score: f64) -> bool {
        if !self.inner.proceed(restart, epoch, score) {
            return false;
        }
        if !self.checkpoints.contains(&(epoch + 1)) {
            return true;
        }
        let waiting = std::time::Instant::now();
        let mut f = self.lock();
        let rung = f.rung;
        f.permits += 1;
        f.arrived.push((score, restart));
        self.decide(&mut f);
        self.changed.notify_all();
        while f.rung == rung {
            f = self.wait(f);
        }
        let go_on = !f.pruned.contains_key(&restart);
        let mut f = self.acquire(f);
        *f.waited.entry(restart).or_default() += waiting.elapsed().as_secs_f64();
        go_on
    }
}

/// Runs `cfg`'s restarts as a race (`cfg.racing`): see the [module](self). Runs come back in
/// restart order, pruned ones with [`RunSummary::pruned_at`].
pub(crate) fn run_race<T: Real>(
    template: &Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &RestartConfig,
    halving: Halving,
    observer: &dyn Observer,
    hooks: &dyn RunHooks<T>,
) -> Result<Vec<Run<T>>> {
    let indices = cfg.indices();
    let threads = match cfg.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
    .min(indices.len().max(1));
    let race = Race {
        inner: observer,
        halving,
        checkpoints: halving.checkpoints(cfg.sgd.epochs, indices.len()),
        field: Mutex::new(Field {
            live: indices.len(),
            permits: threads,
            ..Field::default()
        }),
        changed: Condvar::new(),
    };
    // One thread a restart: a restart waiting at a checkpoint keeps its network and buffers
    // where they are, and at most `threads` of them compute at once.
    let results: Vec<Result<Run<T>>> = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(indices.len());
        for &i in &indices {
            let race = &race;
            let job = move || {
                struct Done<'r, 'o>(&'r Race<'o>, usize);
                impl Drop for Done<'_, '_> {
                    fn drop(&mut self) {
                        self.0.finished(self.1);
                    }
                }
                drop(race.acquire(race.lock()));
                let _done = Done(race, i);
                let mut run = run_restart(template, train, validation, cfg, i, race)?;
                let f = race.lock();
                run.summary.pruned_at = f.pruned.get(&i).copied();
                // A run's seconds are its own, not those it waited for the others.
                let waited = f.waited.get(&i).copied().unwrap_or(0.0);
                drop(f);
                run.summary.seconds = (run.summary.seconds - waited).max(0.0);
                run.history.seconds = (run.history.seconds - waited).max(0.0);
                hooks.run_done(&run);
                Ok(run)
            };
            handles.push(
                std::thread::Builder::new()
                    .name(format!("restart {i}"))
                    .spawn_scoped(scope, job)
                    .map_err(|e| Error::ThreadPool(e.to_string())),
            );
        }
        handles
            .into_iter()
            .map(|h| h.and_then(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))))
            .collect()
    });
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_and_keep_at_their_edges() {
        let h = Halving { eta: 3 };
        // Fewer restarts than eta: no race.
        assert!(h.checkpoints(100, 2).is_empty());
        assert_eq!(h.checkpoints(100, 3), vec![33]);
        assert_eq!(h.checkpoints(100, 9), vec![11, 33]);
        // Checkpoints below one epoch are left out.
        assert_eq!(h.checkpoints(5, 100), vec![1]);
        assert_eq!(Halving { eta: 2 }.checkpoints(8, 8), vec![1, 2, 4]);
        assert_eq!(h.keep(0), 1);
        assert_eq!(h.keep(9), 3);
        assert_eq!(Halving { eta: 2 }.keep(5), 2);
    }

    use crate::{run_restarts, NoObserver, SgdConfig};
    use backprop_network::Activation;

    fn xor_race(threads: usize, racing: Option<Halving>) -> crate::Experiment<f64> {
        let xor = crate::data::xor();
        let net = Network::builder(2)
            .layer(3, Activation::Tanh)
            .layer(1, Activation::Sigmoid)
            .build()
            .unwrap();
        let cfg = RestartConfig {
            restarts: 10,
            threads,
            seed: 5,
            sgd: SgdConfig {
                learning_rate: 0.5,
                epochs: 40,
                ..Default::default()
            },
            racing,
            ..Default::default()
        };
        run_restarts(&net, &xor, None, &cfg, &NoObserver).unwrap()
    }

    #[test]
    fn a_race_prunes_prefixes_of_the_exhaustive_runs_whatever_the_threads() {
        let h = Halving { eta: 3 };
        let full = xor_race(2, None);
        let race = xor_race(1, Some(h));
        assert_eq!(race.runs.len(), 10);
        // 10 restarts: checkpoints 4 and 13; 10 -> 3 -> 1.
        let pruned: Vec<Option<usize>> = race.runs.iter().map(|r| r.summary.pruned_at).collect();
        assert_eq!(pruned.iter().filter(|p| **p == Some(4)).count(), 7);
        assert_eq!(pruned.iter().filter(|p| **p == Some(13)).count(), 2);
        assert_eq!(pruned.iter().filter(|p| p.is_none()).count(), 1);
        for (r, f) in race.runs.iter().zip(&full.runs) {
            let n = r.history.train_loss.len();
            assert_eq!(r.history.train_loss[..], f.history.train_loss[..n]);
            assert_eq!(r.summary.epochs, r.summary.pruned_at.unwrap_or(40));
        }
        // The survivors of the first checkpoint are the best three at epoch 4.
        let mut at4: Vec<(f64, usize)> = full
            .runs
            .iter()
            .map(|r| (r.history.train_loss[3], r.summary.index))
            .collect();
        at4.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, i) in &at4[..3] {
            assert_ne!(race.runs[i].summary.pruned_at, Some(4), "restart {i}");
        }
        let best = race.best.unwrap();
        assert_eq!(race.runs[best].summary.pruned_at, None);
        for threads in [2, 3, 8] {
            let again = xor_race(threads, Some(h));
            for (a, b) in again.runs.iter().zip(&race.runs) {
                assert_eq!(
                    a.history.train_loss, b.history.train_loss,
                    "{threads} threads"
                );
                assert_eq!(a.summary.pruned_at, b.summary.pruned_at);
            }
            assert_eq!(again.best, race.best);
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!("halving".parse::<Halving>().unwrap(), Halving { eta: 3 });
        assert_eq!("halving:4".parse::<Halving>().unwrap(), Halving { eta: 4 });
        assert_eq!(Halving { eta: 5 }.to_string(), "halving:5");
        for bad in ["halving:1", "halving:x", "hyperband", "halving:"] {
            assert!(bad.parse::<Halving>().is_err(), "{bad}");
        }
    }
}
