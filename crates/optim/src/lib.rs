//! The lecture's SGD, random initialization, and parallel restarts that keep the best.
//!
//! The lecture ends on two pieces of advice for a non-convex loss: (1) never start from
//! `W_0 = ... = W_{d-1} = 0`, randomize the starting weights ([`initialize`] with an [`Init`]);
//! (2) run separate SGDs and take the best ([`run_restarts`]). Each run is the lecture's SGD,
//! `W_i <- W_i - eta dL/dW_i` on one random sample at a time ([`train`] with the default
//! [`SgdConfig`]), with the usual extensions: mini-batches (mean gradient), sample orders,
//! momentum (classical and Nesterov), L2 weight decay, learning-rate [`Schedule`]s, gradient
//! clipping and early stopping.
//!
//! Restarts run in parallel on a rayon pool built per experiment. Restart `i` draws everything
//! from [`restart_seed`]`(master, i)`, so results are bit-identical for any thread count, and a
//! restart gives the same result alone as among others. A run whose loss becomes NaN or infinite
//! stops, is marked diverged, and is never chosen as the best.
//!
//! ```
//! use backprop_optim::{run_restarts, Activation, Dataset, Network, NoObserver, RestartConfig, SgdConfig};
//! // XOR with the lecture's 2-2-1 sigmoid network and squared loss.
//! let xor = Dataset::from_rows(
//!     &[vec![0.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0], vec![1.0, 1.0]],
//!     &[vec![0.0], vec![1.0], vec![1.0], vec![0.0]],
//! )?;
//! let template = Network::builder(2)
//!     .layer(2, Activation::Sigmoid)
//!     .layer(1, Activation::Sigmoid)
//!     .build::<f64>()?;
//! let cfg = RestartConfig {
//!     restarts: 8,
//!     seed: 1,
//!     classification: true,
//!     sgd: SgdConfig { learning_rate: 2.0, epochs: 2000, ..Default::default() },
//!     ..Default::default()
//! };
//! let experiment = run_restarts(&template, &xor, None, &cfg, &NoObserver)?;
//! let best = experiment.best_run().expect("some restart did not diverge");
//! assert_eq!(best.summary.train_accuracy, Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod data;
mod error;
mod init;
mod restarts;
mod sgd;

pub use backprop_network::{Activation, Loss, Matrix, Network, Real};
pub use data::Dataset;
pub use error::{Error, Result};
pub use init::{initialize, initialize_with_biases, Init};
pub use rand_chacha::ChaCha8Rng;
pub use restarts::{
    best_of, restart_seed, run_restarts, Experiment, NoObserver, Observer, RestartConfig, Run,
    RunSummary,
};
pub use sgd::{accuracy, mean_loss, train, History, Momentum, Order, Schedule, SgdConfig};
