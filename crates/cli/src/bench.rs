//! `backprop bench`: the peers' benchmark work (`shared/bench-peers/README.md`, "The work") run by
//! backprop, printed as one JSON line in the peers' format so that a script can put it beside them.
//!
//! T1 (batch 1) is the lecture's per-sample SGD, measured in steps per second; T2 (batch > 1) is
//! mini-batch SGD with the mean gradient, in samples per second. Both: sigmoid units in every layer,
//! a bias per layer, squared loss (`--activation` and `--loss` change the hidden units and the
//! loss; under cross-entropy the output layer is the identity, the softmax's logits), learning rate 0.1, weights and biases uniform in [-0.1, 0.1],
//! inputs uniform in [0, 1), one-hot targets (a uniform scalar for one output). The timing follows
//! the peers: one warm-up epoch sizes the repetitions to at least `--min-rep-s` seconds each, then
//! `--reps` repetitions give the median, min and max rate.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use backprop_network::{
    Activation, BatchWorkspace, BlockWorkspace, Loss, Network, Real, Workspace,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The flags of `backprop bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Layer widths joined by `-`, input first: 2-8-1, 64-32-10, 784-128-10, 256-256-256-10, ...
    #[arg(long, default_value = "784-128-10")]
    pub net: String,
    /// Floating-point type: f64 or f32.
    #[arg(long, default_value = "f64")]
    pub dtype: String,
    /// Samples per step: 1 is the lecture's per-sample SGD (T1), more is a mini-batch (T2).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Repetitions (median, min and max are reported).
    #[arg(long, default_value_t = 9)]
    pub reps: usize,
    /// Samples in the dataset (default 10000 for T1, 10240 for T2, as the peers).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Least seconds per repetition.
    #[arg(long, default_value_t = 0.3)]
    pub min_rep_s: f64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// The hidden layers' activation (the peers' work: sigmoid).
    #[arg(long, default_value = "sigmoid")]
    pub activation: Activation,
    /// The loss: squared (the peers' work, sigmoid outputs) or cross-entropy (identity outputs
    /// under a softmax).
    #[arg(long, default_value = "squared")]
    pub loss: Loss,
    /// Per-sample SGD only: samples per block of the first layer's GEMMs (`Network::sgd_block`);
    /// 1 runs the plain steps of an `SgdSession`. Default: the training default for the network.
    #[arg(long)]
    pub block: Option<usize>,
}

/// Parses `784-128-10` into widths.
///
/// # Errors
/// Fewer than two widths, a width that is not a positive integer.
pub fn parse_net(net: &str) -> Result<Vec<usize>> {
    let widths = net
        .split('-')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("--net {net:?}: {w:?} is not a positive width"),
        })
        .collect::<Result<Vec<_>>>()?;
    if widths.len() < 2 {
        bail!("--net {net:?}: give at least an input and an output width, as 784-128-10");
    }
    Ok(widths)
}

/// Runs the benchmark and prints its JSON line on stdout.
///
/// # Errors
/// Bad flags.
pub fn run(args: &BenchArgs) -> Result<()> {
    let widths = parse_net(&args.net)?;
    let rate_ok = args.lr > 0.0 && args.lr.is_finite();
    if args.batch == 0
        || args.reps == 0
        || args.min_rep_s.is_nan()
        || args.min_rep_s < 0.0
        || !rate_ok
    {
        bail!("--batch and --reps must be at least 1, --min-rep-s at least 0, --lr positive");
    }
    let line = match args.dtype.as_str() {
        "f64" => measure::<f64>(args, &widths)?,
        "f32" => measure::<f32>(args, &widths)?,
        other => bail!("--dtype {other:?}: expected f64 or f32"),
    };
    println!("{line}");
    Ok(())
}

/// The peers' network (sigmoid everywhere, squared loss) with `hidden` units and `loss`, the
/// output layer sigmoid under the squared loss and the identity under cross-entropy; weights and
/// biases uniform in [-0.1, 0.1].
fn network<T: Real>(
    widths: &[usize],
    hidden: Activation,
    loss: Loss,
    rng: &mut ChaCha8Rng,
) -> Result<Network<T>> {
    let mut builder = Network::builder(widths[0]).loss(loss);
    let output = match loss {
        Loss::CrossEntropy => Activation::Identity,
        _ => Activation::Sigmoid,
    };
    for (l, &n) in widths[1..].iter().enumerate() {
        let last = l + 2 == widths.len();
        builder = builder.layer(n, if last { output } else { hidden });
    }
    let mut net = builder.build::<T>().context("building the network")?;
    for p in net.params_mut().flatten() {
        *p = T::from_f64(0.2 * rng.random::<f64>() - 0.1);
    }
    Ok(net)
}

/// Inputs uniform in [0, 1), one-hot targets (a uniform scalar for one output), sample-major.
fn data<T: Real>(n_in: usize, n_out: usize, m: usize, rng: &mut ChaCha8Rng) -> (Vec<T>, Vec<T>) {
    let x = (0..m * n_in)
        .map(|_| T::from_f64(rng.random::<f64>()))
        .collect();
    let mut y = vec![T::zero(); m * n_out];
    for s in 0..m {
        if n_out == 1 {
            y[s] = T::from_f64(rng.random::<f64>());
        } else {
            y[s * n_out + rng.random_range(0..n_out)] = T::one();
        }
    }
    (x, y)
}

/// Sample `s` of a sample-major buffer of rows of `n`.
fn row<T>(v: &[T], s: usize, n: usize) -> &[T] {
    &v[s * n..(s + 1) * n]
}

/// The peers' work on one network: its weights, data and buffers, ready to run epochs.
#[derive(Debug)]
pub struct Work<T: Real> {
    net: Network<T>,
    x: Vec<T>,
    y: Vec<T>,
    widths: Vec<usize>,
    batch: usize,
    eta: T,
    ws: Workspace<T>,
    bws: BatchWorkspace<T>,
    block: Option<BlockWorkspace<T>>,
}

impl<T: Real> Work<T> {
    /// The network of `widths` and `samples` samples (at least `batch`), drawn from a fixed seed.
    ///
    /// # Errors
    /// A zero width or batch.
    pub fn new(
        widths: &[usize],
        batch: usize,
        samples: usize,
        lr: f64,
        block: Option<usize>,
    ) -> Result<Self> {
        Self::with_units(
            widths,
            batch,
            samples,
            lr,
            block,
            Activation::Sigmoid,
            Loss::Squared,
        )
    }

    /// As [`Work::new`], with `hidden` units and `loss` (the output layer sigmoid under the
    /// squared loss, the identity under cross-entropy).
    ///
    /// # Errors
    /// A zero width or batch.
    pub fn with_units(
        widths: &[usize],
        batch: usize,
        samples: usize,
        lr: f64,
        block: Option<usize>,
        hidden: Activation,
        loss: Loss,
    ) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let net = network::<T>(widths, hidden, loss, &mut rng)?;
        let (n_in, n_out) = (widths[0], widths[widths.len() - 1]);
        let (x, y) = data::<T>(n_in, n_out, samples.max(batch), &mut rng);
        let block = block.unwrap_or_else(|| net.sgd_block_size());
        Ok(Work {
            block: if batch == 1 && block > 1 {
                Some(net.block_workspace(block)?)
            } else {
                None
            },
            ws: net.workspace(),
            bws: net.batch_workspace(batch)?,
            net,
            x,
            y,
            widths: widths.to_vec(),
            batch,
            eta: T::from_f64(lr),
        })
    }

    fn dims(&self) -> (usize, usize) {
        (self.widths[0], self.widths[self.widths.len() - 1])
    }

    /// The number of samples.
    pub fn samples(&self) -> usize {
        self.x.len() / self.widths[0]
    }

    /// One epoch: a per-sample SGD step on every sample (batch 1, in an
    /// [`SgdSession`](backprop_network::SgdSession)), or a mini-batch step on each full batch.
    /// Returns the samples trained on.
    ///
    /// # Errors
    /// None in practice: the shapes were fixed by [`Work::new`].
    pub fn epoch(&mut self) -> Result<usize> {
        let m = self.samples();
        let (n_in, n_out) = self.dims();
        if let Some(bw) = self.block.as_mut() {
            let k = bw.capacity();
            for first in (0..m).step_by(k) {
                let b = k.min(m - first);
                for j in 0..b {
                    let s = first + j;
                    bw.load(j, row(&self.x, s, n_in), row(&self.y, s, n_out))?;
                }
                self.net.sgd_block(bw, b, self.eta)?;
            }
            return Ok(m);
        }
        if self.batch == 1 {
            let mut session = self.net.sgd_session(&mut self.ws)?;
            let samples = self.x.chunks_exact(n_in).zip(self.y.chunks_exact(n_out));
            // `steps` stops after a sample whose loss is not finite: go on from the next one,
            // so that an epoch is always m steps, as the peers count it.
            let mut done = 0;
            while let Some(k) = session.steps(samples.clone().skip(done), self.eta)? {
                done += k + 1;
            }
            return Ok(m);
        }
        let steps = m / self.batch;
        for k in 0..steps {
            for j in 0..self.batch {
                let s = k * self.batch + j;
                self.bws
                    .load(j, row(&self.x, s, n_in), row(&self.y, s, n_out))?;
            }
            self.net.forward_batch(&mut self.bws, self.batch)?;
            self.net.sgd_batch(&mut self.bws, self.batch, self.eta)?;
        }
        Ok(steps * self.batch)
    }

    /// The mean loss over the samples (the peers' sanity check).
    ///
    /// # Errors
    /// None in practice.
    pub fn mean_loss(&mut self) -> Result<f64> {
        let (n_in, n_out) = self.dims();
        let mut loss = 0.0;
        for s in 0..self.samples() {
            let (x, y) = (row(&self.x, s, n_in), row(&self.y, s, n_out));
            loss += self.net.loss_of(&mut self.ws, x, y)?.as_f64();
        }
        Ok(loss / self.samples() as f64)
    }
}

fn measure<T: Real>(args: &BenchArgs, widths: &[usize]) -> Result<String> {
    let batch = args.batch;
    let samples = args
        .samples
        .unwrap_or(if batch == 1 { 10_000 } else { 10_240 });
    let mut work = Work::<T>::with_units(
        widths,
        batch,
        samples,
        args.lr,
        args.block,
        args.activation,
        args.loss,
    )?;
    let t0 = Instant::now();
    work.epoch()?;
    let warm = t0.elapsed().as_secs_f64().max(1e-9);
    let epochs = (args.min_rep_s / warm) as usize + 1;
    let mut rates = Vec::with_capacity(args.reps);
    let mut per_rep = 0;
    for _ in 0..args.reps {
        let t = Instant::now();
        per_rep = 0;
        for _ in 0..epochs {
            per_rep += work.epoch()?;
        }
        rates.push(per_rep as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = if rates.len() % 2 == 1 {
        rates[rates.len() / 2]
    } else {
        0.5 * (rates[rates.len() / 2 - 1] + rates[rates.len() / 2])
    };
    let (task, metric) = if batch == 1 {
        ("T1", "steps_per_s")
    } else {
        ("T2", "samples_per_s")
    };
    let line = serde_json::json!({
        "task": task,
        "impl": "backprop",
        "dtype": T::NAME,
        "net": args.net,
        "activation": args.activation.name(),
        "loss": args.loss.name(),
        "batch": batch,
        "metric": metric,
        "median": median,
        "min": rates[0],
        "max": rates[rates.len() - 1],
        "reps": args.reps,
        "steps_per_rep": per_rep,
        "threads": 1,
        "block": work.block.as_ref().map_or(1, BlockWorkspace::capacity),
        "loss_after": work.mean_loss()?,
    });
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_parse() {
        assert_eq!(parse_net("784-128-10").unwrap(), vec![784, 128, 10]);
        assert!(parse_net("784").is_err());
        assert!(parse_net("784-0-10").is_err());
        assert!(parse_net("a-b").is_err());
    }

    #[test]
    fn a_tiny_run_prints_the_peers_fields() {
        let args = BenchArgs {
            net: "3-4-2".into(),
            dtype: "f32".into(),
            batch: 4,
            reps: 3,
            samples: Some(40),
            min_rep_s: 0.0,
            lr: 0.1,
            activation: Activation::Tanh,
            loss: Loss::CrossEntropy,
            block: None,
        };
        let line = measure::<f32>(&args, &[3, 4, 2]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["task"], "T2");
        assert_eq!(v["metric"], "samples_per_s");
        assert_eq!(v["dtype"], "f32");
        assert_eq!(v["activation"], "tanh");
        assert_eq!(v["loss"], "cross-entropy");
        assert!(v["loss_after"].as_f64().unwrap().is_finite());
        assert_eq!(v["steps_per_rep"], 40);
        assert!(v["min"].as_f64().unwrap() <= v["median"].as_f64().unwrap());
        assert!(v["median"].as_f64().unwrap() <= v["max"].as_f64().unwrap());
    }
}
