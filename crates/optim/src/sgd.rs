//! The lecture's SGD, and what users expect beyond it.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use backprop_linalg::Real;
use backprop_network::{BatchWorkspace, Gradients, Network, Workspace};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::{error::invalid, Dataset, Error, Optimizer, OptimizerState, Result};

/// The order in which an epoch visits the samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Order {
    /// A fresh random permutation every epoch (sampling without replacement).
    #[default]
    Shuffle,
    /// `m` samples drawn uniformly with replacement: the lecture's "take a random `(x, y)`".
    Replacement,
    /// Data order every epoch, so that a run can be reproduced by hand.
    Fixed,
}

/// How the learning rate changes with the epoch `t` (counted from 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum Schedule {
    /// `eta` throughout.
    #[default]
    Constant,
    /// `eta / (1 + k t)`.
    InverseScaling {
        /// The decay `k >= 0`.
        k: f64,
    },
    /// `eta factor^floor(t / every)`.
    StepDecay {
        /// The factor, in `(0, 1]`.
        factor: f64,
        /// Epochs between decays, `>= 1`.
        every: usize,
    },
}

impl Schedule {
    /// The learning rate in epoch `t` for a base rate `eta`.
    ///
    /// # Example
    /// ```
    /// use backprop_optim::Schedule;
    /// let s = Schedule::StepDecay { factor: 0.5, every: 10 };
    /// assert_eq!(s.rate(0.2, 9), 0.2);
    /// assert_eq!(s.rate(0.2, 25), 0.05);
    /// assert_eq!(Schedule::InverseScaling { k: 1.0 }.rate(0.2, 1), 0.1);
    /// ```
    pub fn rate(self, eta: f64, t: usize) -> f64 {
        match self {
            Schedule::Constant => eta,
            Schedule::InverseScaling { k } => eta / (1.0 + k * t as f64),
            Schedule::StepDecay { factor, every } => {
                eta * factor.powi(i32::try_from(t / every.max(1)).unwrap_or(i32::MAX))
            }
        }
    }

    fn validate(self) -> Result<()> {
        match self {
            Schedule::InverseScaling { k } if !(k >= 0.0 && k.is_finite()) => Err(invalid(
                "schedule",
                format!("inverse-scaling k must be >= 0, not {k}"),
            )),
            Schedule::StepDecay { factor, .. } if !(factor > 0.0 && factor <= 1.0) => Err(invalid(
                "schedule",
                format!("step-decay factor must be in (0, 1], not {factor}"),
            )),
            Schedule::StepDecay { every: 0, .. } => Err(invalid(
                "schedule",
                "step-decay period must be at least 1 epoch",
            )),
            _ => Ok(()),
        }
    }
}

/// The momentum of reports and models written before [`Optimizer`]: `{"mu": .., "nesterov": ..}`
/// in the `momentum` field, read into [`Optimizer::Momentum`] or [`Optimizer::Nesterov`].
#[derive(Clone, Copy, Debug, serde::Deserialize)]
struct LegacyMomentum {
    mu: f64,
    nesterov: bool,
}

/// The configuration of one SGD run.
///
/// The default is the lecture's algorithm: one random sample per step (`batch_size` 1), a
/// constant rate, plain SGD (no momentum), no weight decay.
///
/// Reports and models written before the `optimizer` field, with `"momentum": null` or
/// `"momentum": {"mu": .., "nesterov": ..}`, still load: the momentum becomes the optimizer.
///
/// ```
/// use backprop_optim::SgdConfig;
/// let cfg = SgdConfig { learning_rate: 0.5, epochs: 10, ..Default::default() };
/// assert!(cfg.validate().is_ok());
/// assert!(SgdConfig { learning_rate: -1.0, ..cfg }.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SgdConfigWire")]
pub struct SgdConfig {
    /// The learning rate `eta > 0`.
    pub learning_rate: f64,
    /// Epochs (passes of `m` steps' worth of samples), `>= 1`.
    pub epochs: usize,
    /// Samples per step; 1 is the lecture's SGD, larger is a mini-batch with the mean gradient.
    pub batch_size: usize,
    /// The sample order.
    pub order: Order,
    /// The update rule and its settings.
    pub optimizer: Optimizer,
    /// Weight decay `lambda`, on the weights `W_i`, not the biases: L2, adding `lambda W_i` to
    /// `dL/dW_i`, for every rule but AdamW, which decouples it (`W_i <- W_i - eta lambda W_i`
    /// before its step).
    pub weight_decay: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Rescales a gradient whose Euclidean norm exceeds this to this norm.
    pub clip_norm: Option<f64>,
    /// Early stopping: stop when the validation loss has not improved for this many epochs and
    /// restore the weights of the best epoch (needs a validation set).
    pub patience: Option<usize>,
    /// Plain per-sample steps only (batch 1, plain SGD, no decay or clipping): the samples per
    /// block of [`Network::sgd_block`], which gathers the first layer's products of a block into
    /// GEMMs. `Some(1)` takes plain steps, bit for bit those of [`Network::sgd_step`]; `None`
    /// leaves the choice to [`Network::sgd_block_size`] (blocks only for large first layers).
    #[serde(default)]
    pub block: Option<usize>,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            learning_rate: 0.1,
            epochs: 100,
            batch_size: 1,
            order: Order::Shuffle,
            optimizer: Optimizer::Sgd,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            clip_norm: None,
            patience: None,
            block: None,
        }
    }
}

impl SgdConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(invalid(
                "learning_rate",
                format!("must be a positive number, not {}", self.learning_rate),
            ));
        }
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1"));
        }
        self.optimizer.validate()?;
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(invalid(
                "weight_decay",
                format!("must be >= 0, not {}", self.weight_decay),
            ));
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(invalid("clip_norm", format!("must be positive, not {c}")));
            }
        }
        if self.patience == Some(0) {
            return Err(invalid("patience", "must be at least 1 epoch"));
        }
        if self.block == Some(0) {
            return Err(invalid("block", "must be at least 1 sample"));
        }
        self.schedule.validate()
    }

    /// True for the lecture's plain step: one sample, plain SGD, no decay or clipping. Such runs
    /// take the fused steps of [`Network::sgd_session`].
    fn is_plain(&self) -> bool {
        self.batch_size == 1 && self.is_plain_update()
    }

    /// True when a step is `W <- W - eta g` with the gradient as it is: a plain rule
    /// ([`Optimizer::is_plain`]), no decay or clipping. Mini-batches then take
    /// [`Network::sgd_batch`], which applies the update in its backward pass.
    fn is_plain_update(&self) -> bool {
        self.optimizer.is_plain() && self.weight_decay == 0.0 && self.clip_norm.is_none()
    }
}

/// [`SgdConfig`] as JSON has it, with the `momentum` field of configurations written before
/// the `optimizer` field.
#[derive(serde::Deserialize)]
struct SgdConfigWire {
    learning_rate: f64,
    epochs: usize,
    batch_size: usize,
    order: Order,
    #[serde(default)]
    optimizer: Option<Optimizer>,
    #[serde(default)]
    momentum: Option<LegacyMomentum>,
    weight_decay: f64,
    schedule: Schedule,
    clip_norm: Option<f64>,
    patience: Option<usize>,
    #[serde(default)]
    block: Option<usize>,
}

impl TryFrom<SgdConfigWire> for SgdConfig {
    type Error = String;

    fn try_from(w: SgdConfigWire) -> std::result::Result<Self, String> {
        let optimizer = match (w.optimizer, w.momentum) {
            (Some(o), None) => o,
            (None, None) => Optimizer::Sgd,
            (
                None,
                Some(LegacyMomentum {
                    mu,
                    nesterov: false,
                }),
            ) => Optimizer::Momentum { mu },
            (None, Some(LegacyMomentum { mu, nesterov: true })) => Optimizer::Nesterov { mu },
            (Some(_), Some(_)) => {
                return Err("both \"optimizer\" and the older \"momentum\" are given".to_owned())
            }
        };
        Ok(SgdConfig {
            learning_rate: w.learning_rate,
            epochs: w.epochs,
            batch_size: w.batch_size,
            order: w.order,
            optimizer,
            weight_decay: w.weight_decay,
            schedule: w.schedule,
            clip_norm: w.clip_norm,
            patience: w.patience,
            block: w.block,
        })
    }
}

/// What a run did, epoch by epoch.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// Mean training loss after each epoch.
    pub train_loss: Vec<f64>,
    /// Mean validation loss after each epoch (empty without validation).
    pub validation_loss: Vec<f64>,
    /// Validation accuracy after each epoch (empty unless classifying with validation).
    pub validation_accuracy: Vec<f64>,
    /// Epochs run (fewer than configured after early stopping or divergence).
    pub epochs: usize,
    /// The epoch (from 0) with the lowest validation loss, or training loss without validation.
    pub best_epoch: usize,
    /// True when a loss or a weight became NaN or infinite: the run stopped there.
    pub diverged: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Progress reports from training, for progress bars. Called from worker threads.
pub trait Observer: Sync {
    /// Epoch `epoch` (from 0) of restart `restart` ended with mean training loss `train_loss`.
    fn epoch_done(&self, restart: usize, epoch: usize, train_loss: f64) {
        let _ = (restart, epoch, train_loss);
    }

    /// A restart finished.
    fn restart_done(&self, summary: &crate::RunSummary) {
        let _ = summary;
    }

    /// Whether restart `restart` goes on after epoch `epoch` (from 0), whose score (validation
    /// loss with a validation set, else training loss) is `score`: `false` stops the run there,
    /// as if `epoch + 1` epochs had been asked for. Racing prunes runs with it; the default goes on.
    fn proceed(&self, restart: usize, epoch: usize, score: f64) -> bool {
        let _ = (restart, epoch, score);
        true
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// The rows of one batched forward pass of an evaluation.
pub const EVAL_CHUNK: usize = 64;

/// The mean loss of a network over a dataset and, when asked, its accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss over the rows.
    pub mean_loss: f64,
    /// The fraction of rows classified right (see [`accuracy`]), when asked for.
    pub accuracy: Option<f64>,
}

/// Evaluation buffers, made once per run: a batch workspace of [`EVAL_CHUNK`] columns (fewer for
/// a smaller dataset), and a chunk's losses and predictions.
///
/// An evaluation runs the rows through [`Network::forward_batch_of`] where they lie in the
/// dataset, `EVAL_CHUNK` at a time, each layer's product one GEMM, and takes the losses and the
/// predicted classes of the chunk from the same outputs ([`Loss::values_and_outputs`](backprop_network::Loss::values_and_outputs), whose
/// exponentials are one loop over the chunk): one forward pass for both. The losses are summed in
/// `f64` in row order (one fixed order, whatever the thread count), then divided by the number of
/// rows.
pub(crate) struct Evaluator<T: Real> {
    batch: BatchWorkspace<T>,
    losses: Vec<T>,
    out: Vec<T>,
}

impl<T: Real> Evaluator<T> {
    /// Buffers for evaluating `net` on datasets of up to `rows` rows in one chunk (at most
    /// [`EVAL_CHUNK`]; larger datasets take several).
    pub(crate) fn new(net: &Network<T>, rows: usize) -> Result<Self> {
        let chunk = rows.clamp(1, EVAL_CHUNK);
        Ok(Evaluator {
            batch: net.batch_workspace(chunk)?,
            losses: vec![T::zero(); chunk],
            out: vec![T::zero(); net.outputs() * chunk],
        })
    }

    /// The mean loss of `net` over `data` and, for `classification`, the accuracy, from one
    /// batched forward pass over the rows.
    pub(crate) fn evaluate(
        &mut self,
        net: &Network<T>,
        data: &Dataset<T>,
        classification: bool,
    ) -> Result<Evaluation> {
        self.evaluate_counting(net, data, classification, None)
    }

    /// As [`evaluate`](Self::evaluate), and for `classification`, each row counted in
    /// `confusion[t][p]`: true class `t`, predicted class `p` (see [`confusion`]).
    fn evaluate_counting(
        &mut self,
        net: &Network<T>,
        data: &Dataset<T>,
        classification: bool,
        mut confusion: Option<&mut [Vec<usize>]>,
    ) -> Result<Evaluation> {
        let loss = net.loss();
        let n = net.outputs();
        let (inputs, targets) = (data.inputs_matrix(), data.targets_matrix().as_slice());
        let mut total = 0.0;
        let mut right = 0usize;
        let capacity = self.batch.capacity();
        let mut first = 0;
        while first < data.len() {
            let b = capacity.min(data.len() - first);
            net.forward_batch_of(&mut self.batch, &inputs.columns(first, b))?;
            let v_d = self.batch.v_slice(net.depth(), b);
            let y = &targets[first * n..(first + b) * n];
            let (losses, out) = (&mut self.losses[..b], &mut self.out[..n * b]);
            loss.values_and_outputs(v_d, y, losses, out, classification)?;
            for l in losses.iter() {
                total += l.as_f64();
            }
            if classification {
                for (p, t) in out.chunks_exact(n).zip(y.chunks_exact(n)) {
                    let (p, t) = (class_of(p), class_of(t));
                    right += usize::from(p == t);
                    if let Some(counts) = confusion.as_deref_mut() {
                        counts[t][p] += 1;
                    }
                }
            }
            first += b;
        }
        let rows = data.len() as f64;
        Ok(Evaluation {
            mean_loss: total / rows,
            accuracy: classification.then(|| right as f64 / rows),
        })
    }
}

/// The class a vector stands for: the index of its largest entry (first on ties), or for a single
/// value whether it is above 0.5.
fn class_of<T: Real>(v: &[T]) -> usize {
    if v.len() == 1 {
        return usize::from(v[0].as_f64() > 0.5);
    }
    let mut best = 0;
    for (k, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = k;
        }
    }
    best
}

pub(crate) fn check_data<T: Real>(net: &Network<T>, data: &Dataset<T>, what: &str) -> Result<()> {
    if data.inputs() != net.inputs() || data.outputs() != net.outputs() {
        return Err(Error::Data {
            message: format!(
                "{what} data has {} inputs and {} targets, the network {} and {}",
                data.inputs(),
                data.outputs(),
                net.inputs(),
                net.outputs()
            ),
        });
    }
    Ok(())
}

/// The mean loss of `net` over `data`.
///
/// # Errors
/// [`Error::Data`] if the data does not fit the network.
pub fn mean_loss<T: Real>(net: &Network<T>, data: &Dataset<T>) -> Result<f64> {
    Ok(evaluate(net, data, false)?.mean_loss)
}

/// The fraction of samples classified right: the largest output against the largest target entry
/// (one-hot targets), or for a single output, output and target on the same side of 0.5.
///
/// # Errors
/// [`Error::Data`] if the data does not fit the network.
pub fn accuracy<T: Real>(net: &Network<T>, data: &Dataset<T>) -> Result<f64> {
    Ok(evaluate(net, data, true)?.accuracy.unwrap_or(0.0))
}

/// The mean loss of `net` over `data` and, for `classification`, its accuracy (as [`accuracy`]),
/// from one batched forward pass over the rows, [`EVAL_CHUNK`] at a time. The losses are summed
/// in `f64` in row order.
///
/// # Errors
/// [`Error::Data`] if the data does not fit the network or is empty.
pub fn evaluate<T: Real>(
    net: &Network<T>,
    data: &Dataset<T>,
    classification: bool,
) -> Result<Evaluation> {
    check_data(net, data, "evaluation")?;
    Evaluator::new(net, data.len())?.evaluate(net, data, classification)
}

/// The mean loss of `net` over `data`, its accuracy, and its confusion matrix:
/// `confusion[t][p]` counts the rows of true class `t` (the largest target entry) predicted as
/// class `p` (the largest output; for a single output, 0 or 1 by the side of 0.5), all from the
/// one batched forward pass of [`evaluate`], whose loss and accuracy these are to the bit.
///
/// # Errors
/// [`Error::Data`] if the data does not fit the network or is empty.
///
/// # Example
/// ```
/// use backprop_network::{Activation, Loss, Matrix, Network};
/// use backprop_optim::Dataset;
/// let net = Network::builder(1)
///     .layer(2, Activation::Identity)
///     .loss(Loss::CrossEntropy)
///     .build()?;
/// let x = Matrix::from_vec(1, 2, vec![0.0, 1.0]);
/// let y = Matrix::from_vec(2, 2, vec![1.0, 0.0, 0.0, 1.0]);
/// let (e, confusion) = backprop_optim::confusion(&net, &Dataset::new(x, y)?)?;
/// assert_eq!(confusion.iter().flatten().sum::<usize>(), 2);
/// let right = (confusion[0][0] + confusion[1][1]) as f64 / 2.0;
/// assert_eq!(e.accuracy, Some(right));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn confusion<T: Real>(
    net: &Network<T>,
    data: &Dataset<T>,
) -> Result<(Evaluation, Vec<Vec<usize>>)> {
    check_data(net, data, "evaluation")?;
    let k = net.outputs().max(2);
    let mut counts = vec![vec![0; k]; k];
    let e =
        Evaluator::new(net, data.len())?.evaluate_counting(net, data, true, Some(&mut counts))?;
    Ok((e, counts))
}

/// One step's buffers, made once per run: nothing is allocated per step.
struct Stepper<T: Real> {
    ws: Workspace<T>,
    batch: Option<BatchWorkspace<T>>,
    grads: Gradients<T>,
    optimizer: OptimizerState<T>,
}

impl<T: Real> Stepper<T> {
    /// The gradient of the samples `chunk` (mean for a mini-batch) into `self.grads`, and the loss.
    fn gradient(&mut self, net: &Network<T>, data: &Dataset<T>, chunk: &[usize]) -> Result<T> {
        match (&mut self.batch, chunk) {
            (None, &[k]) | (Some(_), &[k]) => {
                net.forward(&mut self.ws, data.x(k))?;
                Ok(net.backward(&mut self.ws, data.y(k), &mut self.grads)?)
            }
            (Some(bws), _) => {
                for (j, &k) in chunk.iter().enumerate() {
                    bws.load(j, data.x(k), data.y(k))?;
                }
                net.forward_batch(bws, chunk.len())?;
                Ok(net.backward_batch(bws, chunk.len(), &mut self.grads)?)
            }
            (None, _) => unreachable!("batches above 1 have a batch workspace"),
        }
    }

    /// The optimizer's step with `self.grads` (decay, clipping, the rule).
    fn apply(&mut self, net: &mut Network<T>, eta: T) -> Result<()> {
        self.optimizer.step(net, &mut self.grads, eta)
    }
}

/// Trains `net` by SGD on `train`, from its current weights; returns the history.
///
/// Each step takes the samples of the next chunk of the epoch's order (`cfg.batch_size` of them),
/// computes their (mean) gradient by backpropagation and updates
/// `W_i <- W_i - eta dL/dW_i`. After each epoch the mean training loss (and validation loss and,
/// for `classification`, accuracy) is recorded and `observer` told. A NaN or infinite loss stops
/// the run and marks it diverged. With `cfg.patience` and a validation set, training stops when
/// the validation loss has not improved for that many epochs, and the best epoch's weights are
/// restored. `rng` drives the sample order only; `restart` is passed to `observer`.
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad configuration (also `patience` without a validation set),
/// [`Error::Data`] for data that does not fit the network.
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
    if cfg.patience.is_some() && validation.is_none() {
        return Err(invalid(
            "patience",
            "early stopping needs a validation set to watch",
        ));
    }
    let start = Instant::now();
    let m = train.len();
    let batch = cfg.batch_size.min(m);
    let mut order: Vec<usize> = (0..m).collect();
    let mut stepper = Stepper {
        ws: net.workspace(),
        batch: if batch > 1 {
            Some(net.batch_workspace(batch)?)
        } else {
            None
        },
        grads: net.gradients(),
        optimizer: OptimizerState::new(net, cfg)?,
    };
    // Plain steps on a large first layer go in blocks (the workspace is made once, here).
    let block = cfg.block.unwrap_or_else(|| net.sgd_block_size()).min(m);
    let mut blocks = if cfg.is_plain() && block > 1 {
        Some(net.block_workspace(block)?)
    } else {
        None
    };
    let rows = validation.map_or(m, |v| v.len().max(m));
    let mut eval = Evaluator::new(net, rows)?;
    // The history's room, reserved once (up to 65,536 epochs, so that a huge --epochs with early
    // stopping does not reserve gigabytes; beyond that a push grows the vectors, rarely).
    let room = cfg.epochs.min(1 << 16);
    let mut history = History {
        train_loss: Vec::with_capacity(room),
        validation_loss: Vec::with_capacity(if validation.is_some() { room } else { 0 }),
        validation_accuracy: Vec::with_capacity(if validation.is_some() && classification {
            room
        } else {
            0
        }),
        ..History::default()
    };
    let early_stopping = cfg.patience;
    // The best epoch so far: its score and index. With early stopping its weights are copied into
    // `kept`, allocated once here, so an improving epoch costs a copy and no allocation.
    let mut best: Option<(f64, usize)> = None;
    let mut kept = early_stopping.map(|_| net.clone());

    'epochs: for epoch in 0..cfg.epochs {
        match cfg.order {
            Order::Shuffle => order.shuffle(rng),
            Order::Replacement => order.iter_mut().for_each(|k| *k = rng.random_range(0..m)),
            Order::Fixed => {}
        }
        let eta = T::from_f64(cfg.schedule.rate(cfg.learning_rate, epoch));
        if let Some(bw) = blocks.as_mut() {
            // The lecture's steps, a block of samples at a time.
            for chunk in order.chunks(bw.capacity()) {
                for (j, &k) in chunk.iter().enumerate() {
                    bw.load(j, train.x(k), train.y(k))?;
                }
                if !net.sgd_block(bw, chunk.len(), eta)?.is_finite() {
                    history.diverged = true;
                    break 'epochs;
                }
            }
        } else if cfg.is_plain() {
            // The lecture's step, with the first layer's update fused into the next forward
            // product; the session applies the last update when it ends with the epoch.
            let mut session = net.sgd_session(&mut stepper.ws)?;
            let samples = order.iter().map(|&k| (train.x(k), train.y(k)));
            if session.steps(samples, eta)?.is_some() {
                history.diverged = true;
                break 'epochs;
            }
        } else if let Some(bws) = stepper.batch.as_mut().filter(|_| cfg.is_plain_update()) {
            // Plain mini-batch SGD: the backward pass applies the mean gradient as it goes.
            for chunk in order.chunks(batch) {
                for (j, &k) in chunk.iter().enumerate() {
                    bws.load(j, train.x(k), train.y(k))?;
                }
                net.forward_batch(bws, chunk.len())?;
                if !net.sgd_batch(bws, chunk.len(), eta)?.is_finite() {
                    history.diverged = true;
                    break 'epochs;
                }
            }
        } else {
            for chunk in order.chunks(batch) {
                let loss = stepper.gradient(net, train, chunk)?;
                if !loss.is_finite() || !stepper.grads.is_finite() {
                    history.diverged = true;
                    break 'epochs;
                }
                stepper.apply(net, eta)?;
            }
        }
        let train_loss = eval.evaluate(net, train, false)?.mean_loss;
        if !train_loss.is_finite() || !net.is_finite() {
            history.diverged = true;
            break;
        }
        history.train_loss.push(train_loss);
        history.epochs = epoch + 1;
        let mut score = train_loss;
        if let Some(v) = validation {
            let e = eval.evaluate(net, v, classification)?;
            score = e.mean_loss;
            history.validation_loss.push(score);
            if let Some(a) = e.accuracy {
                history.validation_accuracy.push(a);
            }
        }
        observer.epoch_done(restart, epoch, train_loss);
        let improved = best.is_none_or(|(s, _)| score < s);
        if improved {
            best = Some((score, epoch));
            if let Some(kept) = kept.as_mut() {
                copy_params(kept, net);
            }
        } else if let (Some(patience), Some((_, best_epoch))) = (early_stopping, best) {
            if epoch - best_epoch >= patience {
                break;
            }
        }
        if !observer.proceed(restart, epoch, score) {
            break;
        }
    }
    if let Some((_, epoch)) = best {
        history.best_epoch = epoch;
        if let Some(kept) = kept.as_ref() {
            if !history.diverged {
                copy_params(net, kept);
            }
        }
    }
    history.seconds = start.elapsed().as_secs_f64();
    Ok(history)
}

/// Copies the weights and biases of `src` into `dst`, a network of the same architecture.
fn copy_params<T: Real>(dst: &mut Network<T>, src: &Network<T>) {
    for (d, s) in dst.params_mut().zip(src.params()) {
        d.copy_from_slice(s);
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

    /// Parses `shuffle`, `replacement` and `fixed`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shuffle" => Ok(Order::Shuffle),
            "replacement" | "with-replacement" | "random" => Ok(Order::Replacement),
            "fixed" | "none" | "data" => Ok(Order::Fixed),
            _ => Err(Error::Parse(format!(
                "unknown sample order {s:?} (expected shuffle, replacement or fixed)"
            ))),
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

    /// Parses `constant`, `inverse:K` (`eta / (1 + K t)`) and `step:FACTOR:EVERY`.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let bad = || {
            Error::Parse(format!(
                "unknown schedule {s:?} (expected constant, inverse:K or step:FACTOR:EVERY)"
            ))
        };
        let schedule = match parts.as_slice() {
            ["constant"] => Schedule::Constant,
            ["inverse", k] => Schedule::InverseScaling {
                k: k.parse().map_err(|_| bad())?,
            },
            ["step", factor, every] => Schedule::StepDecay {
                factor: factor.parse().map_err(|_| bad())?,
                every: every.parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        schedule
            .validate()
            .map_err(|e| Error::Parse(e.to_string()))?;
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confusion_matrix_holds_the_loss_and_accuracy_of_evaluate() -> Result<()> {
        use backprop_network::{Activation, Loss};
        use rand::SeedableRng;
        // Three classes from two inputs, over more rows than one evaluation chunk.
        let rows = 3 * EVAL_CHUNK + 5;
        let x: Vec<Vec<f64>> = (0..rows)
            .map(|k| vec![(k % 7) as f64 / 7.0, (k % 5) as f64 / 5.0])
            .collect();
        let y: Vec<Vec<f64>> = (0..rows)
            .map(|k| (0..3).map(|c| f64::from(u8::from(k % 3 == c))).collect())
            .collect();
        let data = Dataset::from_rows(&x, &y)?;
        let mut net = Network::builder(2)
            .layer(4, Activation::Tanh)
            .layer(3, Activation::Identity)
            .loss(Loss::CrossEntropy)
            .build()?;
        crate::initialize(
            &mut net,
            crate::Init::default(),
            &mut ChaCha8Rng::seed_from_u64(3),
        )?;
        let (e, counts) = confusion(&net, &data)?;
        assert_eq!(e.mean_loss.to_bits(), mean_loss(&net, &data)?.to_bits());
        assert_eq!(e.accuracy, Some(accuracy(&net, &data)?));
        assert_eq!(counts.iter().flatten().sum::<usize>(), rows);
        let right: usize = (0..3).map(|c| counts[c][c]).sum();
        assert_eq!(Some(right as f64 / rows as f64), e.accuracy);
        for (t, row) in counts.iter().enumerate() {
            let truth = (0..rows).filter(|k| k % 3 == t).count();
            assert_eq!(row.iter().sum::<usize>(), truth, "class {t}");
        }
        Ok(())
    }

    #[test]
    fn names_round_trip() {
        for o in [Order::Shuffle, Order::Replacement, Order::Fixed] {
            assert_eq!(o.to_string().parse::<Order>().unwrap(), o);
        }
        for s in [
            Schedule::Constant,
            Schedule::InverseScaling { k: 0.01 },
            Schedule::StepDecay {
                factor: 0.5,
                every: 10,
            },
        ] {
            assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
        }
        assert!("step:2:10".parse::<Schedule>().is_err());
        assert!("step:0.5:0".parse::<Schedule>().is_err());
        assert!("cosine".parse::<Schedule>().is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            SgdConfig {
                learning_rate: f64::NAN,
                ..Default::default()
            },
            SgdConfig {
                epochs: 0,
                ..Default::default()
            },
            SgdConfig {
                batch_size: 0,
                ..Default::default()
            },
            SgdConfig {
                optimizer: Optimizer::Momentum { mu: 1.0 },
                ..Default::default()
            },
            SgdConfig {
                patience: Some(0),
                ..Default::default()
            },
        ];
        let fields = [
            "learning_rate",
            "epochs",
            "batch_size",
            "momentum",
            "patience",
        ];
        for (cfg, field) in bad.iter().zip(fields) {
            match cfg.validate() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    /// The JSON of a configuration as reports and models wrote it before the `optimizer` field.
    fn legacy_json(momentum: &str) -> String {
        format!(
            r#"{{"learning_rate":0.5,"epochs":3,"batch_size":2,"order":"shuffle","momentum":{momentum},"weight_decay":0.001,"schedule":{{"kind":"constant"}},"clip_norm":null,"patience":null,"block":null}}"#
        )
    }

    #[test]
    fn configurations_written_before_the_optimizer_field_still_load() {
        let cases = [
            ("null", Optimizer::Sgd),
            (
                r#"{"mu":0.5,"nesterov":false}"#,
                Optimizer::Momentum { mu: 0.5 },
            ),
            (
                r#"{"mu":0.7,"nesterov":true}"#,
                Optimizer::Nesterov { mu: 0.7 },
            ),
        ];
        for (momentum, optimizer) in cases {
            let cfg: SgdConfig = serde_json::from_str(&legacy_json(momentum)).unwrap();
            let expected = SgdConfig {
                learning_rate: 0.5,
                epochs: 3,
                batch_size: 2,
                optimizer,
                weight_decay: 0.001,
                ..Default::default()
            };
            assert_eq!(cfg, expected, "{momentum}");
            // Written again, it has the new field only, and reads back the same.
            let json = serde_json::to_value(&cfg).unwrap();
            assert!(json.get("momentum").is_none(), "{json}");
            assert_eq!(json["optimizer"]["kind"], optimizer.name());
            assert_eq!(serde_json::from_value::<SgdConfig>(json).unwrap(), cfg);
        }
        // Without either field: plain SGD. With both: refused, not guessed.
        let neither = legacy_json("null").replace(r#""momentum":null,"#, "");
        let cfg: SgdConfig = serde_json::from_str(&neither).unwrap();
        assert_eq!(cfg.optimizer, Optimizer::Sgd);
        let both = legacy_json(r#"{"mu":0.5,"nesterov":false}"#).replace(
            r#""order""#,
            r#""optimizer":{"kind":"adam","beta1":0.9,"beta2":0.999,"eps":1e-8},"order""#,
        );
        let err = serde_json::from_str::<SgdConfig>(&both).unwrap_err();
        assert!(err.to_string().contains("both"), "{err}");
    }

    #[test]
    fn every_optimizer_round_trips_through_json() {
        for optimizer in Optimizer::ALL {
            let cfg = SgdConfig {
                optimizer,
                ..Default::default()
            };
            let json = serde_json::to_string(&cfg).unwrap();
            assert_eq!(
                serde_json::from_str::<SgdConfig>(&json).unwrap(),
                cfg,
                "{json}"
            );
        }
    }

    /// The batched evaluation, over chunks of 64 rows with a shorter last one, against the
    /// per-sample forward pass: the same predicted classes, losses equal to rounding (the GEMM
    /// adds the products in another order than the matrix-vector kernel), for both losses and
    /// a single sigmoid output.
    #[test]
    fn batched_evaluation_matches_the_per_sample_pass() {
        use backprop_network::{Activation, Loss};
        for (loss, outputs, out_act) in [
            (Loss::CrossEntropy, 3, Activation::Identity),
            (Loss::Squared, 3, Activation::Sigmoid),
            (Loss::Squared, 1, Activation::Sigmoid),
        ] {
            let mut net = Network::builder(4)
                .layer(6, Activation::Tanh)
                .layer(outputs, out_act)
                .loss(loss)
                .build::<f64>()
                .unwrap();
            for (k, p) in net.params_mut().flatten().enumerate() {
                *p = ((k * 29 % 17) as f64 - 8.0) / 9.0;
            }
            let rows = 150;
            let x: Vec<Vec<f64>> = (0..rows)
                .map(|k| {
                    let t = k as f64;
                    vec![t.sin(), (0.3 * t).cos(), (t / 11.0).fract(), -0.5]
                })
                .collect();
            let y: Vec<Vec<f64>> = (0..rows)
                .map(|k| {
                    let mut y = vec![0.0; outputs];
                    y[k % outputs] = 1.0;
                    if outputs == 1 {
                        y[0] = f64::from(u8::from(k % 3 == 0));
                    }
                    y
                })
                .collect();
            let data = Dataset::from_rows(&x, &y).unwrap();
            let e = evaluate(&net, &data, true).unwrap();
            let (mut ws, mut out) = (net.workspace(), vec![0.0; outputs]);
            let (mut total, mut right) = (0.0, 0);
            for k in 0..rows {
                total += net.loss_of(&mut ws, data.x(k), data.y(k)).unwrap();
                net.predict_to(&mut ws, data.x(k), &mut out).unwrap();
                right += usize::from(class_of(&out) == class_of(data.y(k)));
            }
            let mean = total / rows as f64;
            assert!(
                (e.mean_loss - mean).abs() <= 1e-12 * mean.abs(),
                "{loss}: {e:?} {mean}"
            );
            assert_eq!(e.accuracy, Some(right as f64 / rows as f64), "{loss}");
            assert!(
                right > 0 && right < rows,
                "{loss}: a test that can tell: {right}"
            );
            assert_eq!(evaluate(&net, &data, false).unwrap().accuracy, None);
            assert_eq!(mean_loss(&net, &data).unwrap(), e.mean_loss);
        }
    }

    #[test]
    fn class_of_takes_argmax_or_threshold() {
        assert_eq!(class_of(&[0.2_f64, 0.7, 0.1]), 1);
        assert_eq!(class_of(&[0.6_f64]), 1);
        assert_eq!(class_of(&[0.4_f64]), 0);
        assert_eq!(class_of(&[0.5_f64, 0.5]), 0);
    }
}
