//! SGD as the lecture gives it (and beyond), random initialization, and parallel restarts that
//! keep the best.
//!
//! The lecture's last slide in three calls: the loss of a network is non-convex, so
//! [`initialize`] its weights at random (never all zero), [`train`] by SGD
//! (`W_i <- W_i - eta dL/dW_i` on one random sample per step, by default), and
//! [`run_restarts`]: run separate SGDs from different random starts, in parallel, and keep the
//! best. Restart `i` draws everything from `(master seed, i)` alone ([`restart_seed`]), so an
//! experiment gives bit-identical results on any number of threads, and restart `i` is the same
//! run alone or among others.
//!
//! Beyond the lecture, [`SgdConfig::optimizer`] chooses the update rule: plain SGD (the default,
//! and the only rule that takes the fused steps), momentum, Nesterov's momentum, Adam and AdamW,
//! each as PyTorch computes it. The [`optimizer`] module documents the rules and the steps to add
//! one: a file in `optimizer/`, a variant of [`Optimizer`], and its flags in the CLI.
//!
//! ```
//! use backprop_network::{Activation, Network};
//! use backprop_optim::{run_restarts, Dataset, Init, NoObserver, RestartConfig, SgdConfig};
//!
//! // XOR, the lecture's 2-2-1 sigmoid network and squared loss.
//! let xor = Dataset::from_rows(
//!     &[vec![0.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 1.0]],
//!     &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
//! )?;
//! let net = Network::builder(2)
//!     .layer(2, Activation::Sigmoid)
//!     .layer(1, Activation::Sigmoid)
//!     .build::<f64>()?;
//! let cfg = RestartConfig {
//!     restarts: 8,
//!     seed: 1,
//!     init: Init::Uniform { a: 1.0 },
//!     sgd: SgdConfig { learning_rate: 2.0, epochs: 300, ..Default::default() },
//!     ..Default::default()
//! };
//! let experiment = run_restarts(&net, &xor, None, &cfg, &NoObserver)?;
//! let best = experiment.best_run().expect("not every run diverges");
//! assert!(experiment.runs.iter().all(|r| r.summary.diverged || best.summary.score <= r.summary.score));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod basins;
mod data;
mod error;
mod gradcheck;
mod init;
pub mod optimizer;
mod restarts;
mod sgd;
pub mod stats;
pub mod trace;

pub use backprop_network::{Activation, Loss, Network, Real};
pub use data::Dataset;
pub use error::{Error, Result};
pub use gradcheck::{gradient_check, LayerError, GRADCHECK_FLOOR};
pub use init::{initialize, initialize_biases, Init};
pub use optimizer::{Optimizer, OptimizerState};
pub use restarts::{
    best_of, restart_rngs, restart_seed, run_restart, run_restarts, Experiment, RestartConfig, Run,
    RunSummary,
};
pub use sgd::{
    accuracy, evaluate, mean_loss, train, Evaluation, History, NoObserver, Observer, Order,
    Schedule, SgdConfig, EVAL_CHUNK,
};

/// Serde for an `f64` that may be NaN or infinite: JSON has no such numbers, so they are written
/// as `null` and read back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a finite value as a number and anything else as `null`.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }

    /// Reads a number, or `null` as NaN.
    ///
    /// # Errors
    /// The deserializer's.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}
