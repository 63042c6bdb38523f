//! The lecture's SGD and its extensions: mini-batches, sample orders, momentum, weight decay,
//! learning-rate schedules, gradient clipping and early stopping.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use backprop_linalg::{axpy, Real};
use backprop_network::{BatchWorkspace, Gradients, Network, Workspace};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::error::{invalid, Error, Result};
use crate::{Dataset, Observer};

/// The order in which an epoch visits the samples.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Order {
    /// A fresh random permutation every epoch (sampling without replacement).
    #[default]
    Shuffle,
    /// `m` samples drawn uniformly with replacement every epoch: the lecture's "take a random
    /// sample".
    Replacement,
    /// The data order every epoch, to reproduce a computation by hand. Uses no randomness.
    Fixed,
}

impl Order {
    /// Writes this epoch's sample indices into `order` (length `m`).
    fn fill(self, order: &mut [usize], rng: &mut ChaCha8Rng) {
        let m = order.len();
        match self {
            Order::Shuffle => order.shuffle(rng),
            Order::Replacement => order.iter_mut().for_each(|k| *k = rng.random_range(0..m)),
            Order::Fixed => order.iter_mut().enumerate().for_each(|(i, k)| *k = i),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Shuffle => "shuffle",
            Order::Replacement => "replacement",
            Order::Fixed => "fixed",
        })
    }
}

impl FromStr for Order {
    type Err = Error;

    /// Parses `shuffle`, `replacement` (or `random`) and `fixed` (or `sequential`).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shuffle" => Ok(Order::Shuffle),
            "replacement" | "random" => Ok(Order::Replacement),
            "fixed" | "sequential" => Ok(Order::Fixed),
            _ => Err(Error::Parse {
                what: "order",
                input: s.to_owned(),
                expected: "shuffle, replacement or fixed",
            }),
        }
    }
}

/// The learning rate `eta_t` of epoch `t = 0, 1, ...` (constant within an epoch).
///
/// Written and parsed as `constant`, `inverse:K` and `step:FACTOR:EVERY`; serialized as that string.
///
/// ```
/// use backprop_optim::Schedule;
/// let s: Schedule = "step:0.5:10".parse()?;
/// assert_eq!(s, Schedule::StepDecay { factor: 0.5, every: 10 });
/// assert_eq!((s.rate(0.1, 9), s.rate(0.1, 10)), (0.1, 0.05));
/// assert_eq!(Schedule::InverseScaling { k: 1.0 }.rate(0.1, 1), 0.05);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Schedule {
    /// `eta_t = eta`.
    #[default]
    Constant,
    /// `eta_t = eta / (1 + k t)`.
    InverseScaling {
        /// The decay rate `k >= 0`.
        k: f64,
    },
    /// `eta_t = eta factor^floor(t / every)`.
    StepDecay {
        /// The factor applied every `every` epochs, `> 0`.
        factor: f64,
        /// The epochs between two decays, `>= 1`.
        every: usize,
    },
}

impl Schedule {
    /// `eta_t` for base rate `eta` in epoch `t` (counted from 0).
    pub fn rate(&self, eta: f64, t: usize) -> f64 {
        match *self {
            Schedule::Constant => eta,
            Schedule::InverseScaling { k } => eta / (1.0 + k * t as f64),
            Schedule::StepDecay { factor, every } => {
                let n = (t / every.max(1)).min(i32::MAX as usize) as i32;
                eta * factor.powi(n)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::InverseScaling { k } if k.is_finite() && k >= 0.0 => Ok(()),
            Schedule::StepDecay { factor, every }
                if factor.is_finite() && factor > 0.0 && every >= 1 =>
            {
                Ok(())
            }
            s => Err(invalid(
                "schedule",
                format!("{s}: k must be finite and >= 0, factor finite and > 0, every >= 1"),
            )),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant => f.write_str("constant"),
            Schedule::InverseScaling { k } => write!(f, "inverse:{k}"),
            Schedule::StepDecay { factor, every } => write!(f, "step:{factor}:{every}"),
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;

    /// Parses `constant`, `inverse:K` and `step:FACTOR:EVERY`.
    fn from_str(s: &str) -> Result<Self> {
        let err = || Error::Parse {
            what: "schedule",
            input: s.to_owned(),
            expected: "constant, inverse:K or step:FACTOR:EVERY",
        };
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let schedule = match parts.as_slice() {
            ["constant"] => Schedule::Constant,
            ["inverse", k] => Schedule::InverseScaling {
                k: k.parse().map_err(|_| err())?,
            },
            ["step", factor, every] => Schedule::StepDecay {
                factor: factor.parse().map_err(|_| err())?,
                every: every.parse().map_err(|_| err())?,
            },
            _ => return Err(err()),
        };
        schedule.validate().map_err(|_| err())?;
        Ok(schedule)
    }
}

impl From<Schedule> for String {
    fn from(s: Schedule) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Schedule {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// Momentum, in the form of Sutskever et al. (2013): with gradient `g`,
///
/// - classical: `v <- mu v - eta g(W)`, `W <- W + v`;
/// - Nesterov: `v <- mu v - eta g(W + mu v)`, `W <- W + v` (the gradient at the look-ahead point).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Momentum {
    /// The momentum coefficient `mu`, in `[0, 1)`.
    pub mu: f64,
    /// Nesterov's accelerated gradient instead of classical momentum.
    pub nesterov: bool,
}

/// The settings of one SGD run. `SgdConfig::default()` is the lecture's SGD: batch 1, constant
/// rate, nothing else.
///
/// One step on a mini-batch `B` (in this order): the mean gradient `g` of the loss over `B`; if
/// `clip_norm = c` and `||g|| > c`, `g <- g c / ||g||` (norm over all weights and biases); with
/// weight decay `lambda`, `g_W <- g_W + lambda W` for the weights (not the biases), that is L2
/// regularization `lambda/2 ||W||^2`; then `W <- W - eta_t g`, or the [`Momentum`] update.
///
/// ```
/// use backprop_optim::{Momentum, SgdConfig};
/// let cfg = SgdConfig {
///     learning_rate: 0.05,
///     batch_size: 8,
///     momentum: Some(Momentum { mu: 0.9, nesterov: true }),
///     ..Default::default()
/// };
/// cfg.validate()?;
/// assert!(SgdConfig { batch_size: 0, ..cfg }.validate().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SgdConfig {
    /// The base learning rate `eta > 0` (default 0.1).
    pub learning_rate: f64,
    /// Passes over the training data (default 100, at least 1).
    pub epochs: usize,
    /// Samples per step (default 1, the lecture's SGD); the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Sample order within an epoch.
    pub order: Order,
    /// Momentum, classical or Nesterov (default none).
    pub momentum: Option<Momentum>,
    /// L2 weight decay `lambda >= 0` on the weights (default 0).
    pub weight_decay: f64,
    /// The learning-rate schedule over epochs.
    pub schedule: Schedule,
    /// Clips the gradient to this Euclidean norm (default none).
    pub clip_norm: Option<f64>,
    /// Early stopping: stop after this many epochs without a new lowest validation loss (the
    /// training loss without a validation set) and restore the weights of the best epoch.
    pub patience: Option<usize>,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            learning_rate: 0.1,
            epochs: 100,
            batch_size: 1,
            order: Order::Shuffle,
            momentum: None,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            clip_norm: None,
            patience: None,
        }
    }
}

impl SgdConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("{} must be finite and > 0", self.learning_rate),
            ));
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", "at least 1 epoch"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "at least 1 sample per batch"));
        }
        if let Some(m) = self.momentum {
            if !(0.0..1.0).contains(&m.mu) {
                return Err(invalid(
                    "momentum",
                    format!("mu = {} must be in [0, 1)", m.mu),
                ));
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid(
                "weight_decay",
                format!("{} must be finite and >= 0", self.weight_decay),
            ));
        }
        self.schedule.validate()?;
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(invalid("clip_norm", format!("{c} must be finite and > 0")));
            }
        }
        if self.patience == Some(0) {
            return Err(invalid("patience", "at least 1 epoch"));
        }
        Ok(())
    }

    /// True for the lecture's plain step: batch 1, no momentum, no weight decay, no clipping.
    pub fn is_plain(&self) -> bool {
        self.batch_size == 1
            && self.momentum.is_none()
            && self.weight_decay == 0.0
            && self.clip_norm.is_none()
    }
}

/// The record of one training run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// Mean training loss after each epoch (`train_loss[t]` after epoch `t + 1`).
    pub train_loss: Vec<f64>,
    /// Mean validation loss after each epoch; empty without a validation set.
    pub validation_loss: Vec<f64>,
    /// Validation accuracy after each epoch; empty unless classifying with a validation set.
    pub validation_accuracy: Vec<f64>,
    /// Epochs run (fewer than asked after early stopping or divergence).
    pub epochs: usize,
    /// The epoch (1-based) with the lowest validation loss (training loss without validation);
    /// 0 if none was finite. With early stopping, the returned weights are this epoch's.
    pub best_epoch: usize,
    /// True if a loss or weight became NaN or infinite; the run stopped there.
    pub diverged: bool,
    /// Wall time of the run in seconds.
    pub seconds: f64,
}

/// The mean loss `1/m sum_k L(forward(x_k), y_k)` of `net` over `data`, summed in sample order
/// in `f64`. Allocates one workspace.
///
/// # Errors
/// [`Error::DataShape`] if the data does not fit the network.
pub fn mean_loss<T: Real>(net: &Network<T>, data: &Dataset<T>) -> Result<f64> {
    check_data(net, data, "data")?;
    Ok(mean_loss_with(net, data, &mut net.workspace()))
}

/// The fraction of samples classified right: for `n_d >= 2` outputs the argmax of the prediction
/// against the argmax of the target; for one output, prediction `> 0.5` against target `> 0.5`.
/// The prediction is `v_d` (squared loss) or `softmax(v_d)` (cross-entropy).
///
/// # Errors
/// [`Error::DataShape`] if the data does not fit the network.
pub fn accuracy<T: Real>(net: &Network<T>, data: &Dataset<T>) -> Result<f64> {
    check_data(net, data, "data")?;
    Ok(accuracy_with(
        net,
        data,
        &mut net.workspace(),
        &mut vec![T::zero(); net.outputs()],
    ))
}

pub(crate) fn check_data<T: Real>(
    net: &Network<T>,
    data: &Dataset<T>,
    what: &'static str,
) -> Result<()> {
    let (inputs, targets) = match what {
        "training" => ("training inputs", "training targets"),
        "validation" => ("validation inputs", "validation targets"),
        _ => ("inputs", "targets"),
    };
    if data.inputs() != net.inputs() {
        return Err(Error::DataShape {
            what: inputs,
            expected: net.inputs(),
            got: data.inputs(),
        });
    }
    if data.outputs() != net.outputs() {
        return Err(Error::DataShape {
            what: targets,
            expected: net.outputs(),
            got: data.outputs(),
        });
    }
    Ok(())
}

/// [`mean_loss`] on a caller's workspace; shapes already checked. Allocates nothing.
pub(crate) fn mean_loss_with<T: Real>(
    net: &Network<T>,
    data: &Dataset<T>,
    ws: &mut Workspace<T>,
) -> f64 {
    let mut sum = 0.0;
    for k in 0..data.len() {
        // Shapes were checked by the caller, so this cannot fail.
        match net.loss_of(ws, data.x(k), data.y(k)) {
            Ok(l) => sum += l.as_f64(),
            Err(_) => return f64::NAN,
        }
    }
    sum / data.len() as f64
}

/// [`accuracy`] on caller buffers; shapes already checked. Allocates nothing.
pub(crate) fn accuracy_with<T: Real>(
    net: &Network<T>,
    data: &Dataset<T>,
    ws: &mut Workspace<T>,
    out: &mut [T],
) -> f64 {
    let half = T::from_f64(0.5);
    let argmax = |v: &[T]| {
        v.iter()
            .enumerate()
            .fold((0, T::neg_infinity()), |(bi, bv), (i, &x)| {
                if x > bv {
                    (i, x)
                } else {
                    (bi, bv)
                }
            })
            .0
    };
    let mut right = 0usize;
    for k in 0..data.len() {
        if net.predict_to(ws, data.x(k), out).is_err() {
            return f64::NAN;
        }
        let y = data.y(k);
        let ok = if out.len() == 1 {
            (out[0] > half) == (y[0] > half)
        } else {
            argmax(out) == argmax(y)
        };
        right += usize::from(ok);
    }
    right as f64 / data.len() as f64
}

/// Copies every weight and bias of `from` into `to` (same shape). Allocates nothing.
fn copy_params<T: Real>(to: &mut Network<T>, from: &Network<T>) {
    for (t, f) in to.params_mut().zip(from.params()) {
        t.copy_from_slice(f);
    }
}

/// The lecture's step on one sample, fused (forward, backward and update in one pass): the one
/// place that calls it, so that a faster stepper can be swapped in here.
#[inline]
fn plain_step<T: Real>(
    net: &mut Network<T>,
    ws: &mut Workspace<T>,
    x: &[T],
    y: &[T],
    eta: T,
) -> Result<T> {
    Ok(net.sgd_step(ws, x, y, eta)?)
}

/// The buffers of one run, made once: every step reuses them.
struct Stepper<T: Real> {
    plain: bool,
    ws: Workspace<T>,
    batch: Option<BatchWorkspace<T>>,
    grads: Gradients<T>,
    velocity: Option<Gradients<T>>,
    /// `W + mu v`, where Nesterov's gradient is taken.
    look_ahead: Option<Network<T>>,
    mu: T,
    weight_decay: T,
    clip_norm: Option<T>,
}

impl<T: Real> Stepper<T> {
    fn new(net: &Network<T>, cfg: &SgdConfig, capacity: usize) -> Result<Self> {
        let nesterov = cfg.momentum.is_some_and(|m| m.nesterov);
        Ok(Stepper {
            plain: cfg.is_plain(),
            ws: net.workspace(),
            batch: if cfg.batch_size > 1 {
                Some(net.batch_workspace(capacity)?)
            } else {
                None
            },
            grads: net.gradients(),
            velocity: cfg.momentum.map(|_| net.gradients()),
            look_ahead: nesterov.then(|| net.clone()),
            mu: T::from_f64(cfg.momentum.map_or(0.0, |m| m.mu)),
            weight_decay: T::from_f64(cfg.weight_decay),
            clip_norm: cfg.clip_norm.map(T::from_f64),
        })
    }

    /// One step on the samples `batch` of `data`; returns the (mean) loss before the step.
    fn step(
        &mut self,
        net: &mut Network<T>,
        data: &Dataset<T>,
        batch: &[usize],
        eta: T,
    ) -> Result<T> {
        if self.plain {
            let k = batch[0];
            return plain_step(net, &mut self.ws, data.x(k), data.y(k), eta);
        }
        // Where the gradient is taken: W, or Nesterov's look-ahead W + mu v.
        let at: &Network<T> = match (&mut self.look_ahead, &self.velocity) {
            (Some(look), Some(v)) => {
                for ((l, w), v) in look.params_mut().zip(net.params()).zip(v.slices()) {
                    for ((l, &w), &v) in l.iter_mut().zip(w).zip(v) {
                        *l = w + self.mu * v;
                    }
                }
                look
            }
            _ => net,
        };
        let loss = match &mut self.batch {
            None => {
                at.forward(&mut self.ws, data.x(batch[0]))?;
                at.backward(&mut self.ws, data.y(batch[0]), &mut self.grads)?
            }
            Some(bw) => {
                for (j, &k) in batch.iter().enumerate() {
                    bw.load(j, data.x(k), data.y(k))?;
                }
                at.forward_batch(bw, batch.len())?;
                at.backward_batch(bw, batch.len(), &mut self.grads)?
            }
        };
        if let Some(c) = self.clip_norm {
            let norm = self.grads.norm();
            if norm > c {
                self.grads.scale(c / norm);
            }
        }
        if self.weight_decay != T::zero() {
            // Slices alternate W_0, b_0, W_1, b_1, ...: decay the weights only.
            for (g, p) in self.grads.slices_mut().zip(at.params()).step_by(2) {
                axpy(g, self.weight_decay, p);
            }
        }
        match &mut self.velocity {
            None => net.update(-eta, &self.grads)?,
            Some(v) => {
                v.scale(self.mu);
                v.add_scaled(-eta, &self.grads);
                net.update(T::one(), v)?;
            }
        }
        Ok(loss)
    }
}

/// One training run of `net` on `train`: the lecture's SGD with the extensions of `cfg`.
///
/// `rng` drives the sample order (nothing else); `observer` hears of every epoch, tagged with
/// `restart`. After each epoch the mean training loss (and validation loss and accuracy) is
/// evaluated on the weights at that point. The buffers are made once; no step allocates.
///
/// A step whose loss is NaN or infinite, or an epoch that ends with such a mean loss or with
/// non-finite weights, stops the run with `diverged` set (the weights are left as they are).
/// With `patience`, the weights of the best epoch are restored at the end (unless diverged).
///
/// ```
/// use backprop_optim::{initialize, train, Activation, Dataset, Init, Network, NoObserver, SgdConfig};
/// use rand::SeedableRng;
/// let data = Dataset::from_rows(&[vec![-1.0], vec![0.0], vec![1.0]], &[vec![-2.0], vec![0.0], vec![2.0]])?;
/// let mut net = Network::builder(1).layer(1, Activation::Identity).build::<f64>()?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// initialize(&mut net, Init::Uniform { a: 0.5 }, &mut rng);
/// let cfg = SgdConfig { learning_rate: 0.2, epochs: 50, ..Default::default() };
/// let history = train(&mut net, &data, None, &cfg, false, &mut rng, &NoObserver, 0)?;
/// assert!(!history.diverged && history.train_loss[49] < 1e-6);
/// assert!((net.layers()[0].weights()[(0, 0)] - 2.0).abs() < 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad `cfg`, [`Error::DataShape`] if a data set does not fit
/// `net`.
#[allow(clippy::too_many_arguments)]
pub fn train<T: Real>(
    net: &mut Network<T>,
    train: &Dataset<T>,
    validation: Option<&Dataset<T>>,
    cfg: &SgdConfig,
    classification: bool,
    rng: &mut ChaCha8Rng,
    observer: &dyn Observer,
    restart: usize,
) -> Result<History> {
    cfg.validate()?;
    check_data(net, train, "training")?;
    if let Some(v) = validation {
        check_data(net, v, "validation")?;
    }
    let start = Instant::now();
    let m = train.len();
    let capacity = cfg.batch_size.min(m);
    let mut stepper = Stepper::new(net, cfg, capacity)?;
    let mut order: Vec<usize> = (0..m).collect();
    let mut out = vec![T::zero(); net.outputs()];
    let mut best_net = cfg.patience.map(|_| net.clone());
    let mut history = History {
        train_loss: Vec::with_capacity(cfg.epochs),
        validation_loss: Vec::with_capacity(if validation.is_some() { cfg.epochs } else { 0 }),
        validation_accuracy: Vec::with_capacity(if validation.is_some() && classification {
            cfg.epochs
        } else {
            0
        }),
        ..History::default()
    };
    let mut best = f64::INFINITY;
    let mut since_best = 0;
    for epoch in 0..cfg.epochs {
        let eta = T::from_f64(cfg.schedule.rate(cfg.learning_rate, epoch));
        cfg.order.fill(&mut order, rng);
        let mut finite = true;
        for batch in order.chunks(capacity) {
            if !stepper.step(net, train, batch, eta)?.is_finite() {
                finite = false;
                break;
            }
        }
        let train_loss = mean_loss_with(net, train, &mut stepper.ws);
        history.train_loss.push(train_loss);
        history.epochs = epoch + 1;
        if !(finite && train_loss.is_finite() && net.is_finite()) {
            history.diverged = true;
            observer.epoch_done(restart, epoch + 1, train_loss);
            break;
        }
        let monitored = match validation {
            Some(v) => {
                let loss = mean_loss_with(net, v, &mut stepper.ws);
                history.validation_loss.push(loss);
                if classification {
                    history.validation_accuracy.push(accuracy_with(
                        net,
                        v,
                        &mut stepper.ws,
                        &mut out,
                    ));
                }
                loss
            }
            None => train_loss,
        };
        observer.epoch_done(restart, epoch + 1, train_loss);
        if monitored < best {
            best = monitored;
            since_best = 0;
            history.best_epoch = epoch + 1;
            if let Some(b) = &mut best_net {
                copy_params(b, net);
            }
        } else {
            since_best += 1;
            if cfg.patience.is_some_and(|p| since_best >= p) {
                break;
            }
        }
    }
    if let Some(b) = &best_net {
        if !history.diverged && history.best_epoch > 0 {
            copy_params(net, b);
        }
    }
    history.seconds = start.elapsed().as_secs_f64();
    Ok(history)
}
