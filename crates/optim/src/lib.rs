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
pub mod racing;
mod restarts;
mod sgd;
pub mod stats;
pub mod trace;

pub use backprop_network::{Activation, Loss, Network, Real};
pub use data::Dataset;
pub use error::{Error, Result};
pub use gradcheck::{gradient_check, LayerError, GRADCHECK_FLOOR};
pub use init::{initialize, initialize_biases, standard_normal, Init};
pub use optimizer::{Optimizer, OptimizerState};
pub use restarts::{
    best_of, restart_rngs, restart_seed, run_restart, run_restarts, run_restarts_with, Experiment,
    NoHooks, RestartConfig, Run, RunHooks, RunSummary,
};
pub use sgd::{
    accuracy, confusion, evaluate, mean_loss, train, Evaluation, History, NoObserver, Observer,
    Order, Schedule, SgdConfig, EVAL_CHUNK,
};

/// The one convention for numbers that may be NaN or infinite in every JSON file written (restart
/// reports, through the CLI; model files hold finite numbers only): **`null`**, for NaN and for
/// both infinities alike; finite numbers as the shortest decimal that reads back to the same
/// `f64`.
///
/// Why `null`: JSON has no NaN or infinity. `null` is what `pandas.read_json` reads as NaN in a
/// float column and what `jq` handles as a missing value (`select(. != null)`, `map(values)`);
/// strings such as `"NaN"` or `"inf"` would turn the column into Python objects and make `jq`'s
/// arithmetic fail, and bare `NaN`/`Infinity` tokens are not JSON at all. The distinction between
/// NaN and an infinity is given up: the only non-finite numbers written are the losses of a run
/// that diverged, and such a run's record says so itself (`"diverged": true`).
///
/// Reading takes `null` (as NaN), numbers, and the strings written before this convention:
/// `"NaN"`, `"inf"`, `"-inf"` (and `"Infinity"`, `"-Infinity"`), as those values.
///
/// Use with `#[serde(with = "backprop_optim::nan_as_null")]` on an `f64`, `nan_as_null::option`
/// on an `Option<f64>` (`None` is `null` too), `nan_as_null::vec` on a `Vec<f64>`.
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Run {
///     #[serde(with = "backprop_optim::nan_as_null")]
///     loss: f64,
///     #[serde(with = "backprop_optim::nan_as_null::vec")]
///     history: Vec<f64>,
/// }
/// let text = serde_json::to_string(&Run { loss: f64::INFINITY, history: vec![0.5, f64::NAN] })?;
/// assert_eq!(text, r#"{"loss":null,"history":[0.5,null]}"#);
/// let old: Run = serde_json::from_str(r#"{"loss":"inf","history":["NaN",1.0]}"#)?;
/// assert_eq!(old.loss, f64::INFINITY);
/// assert!(old.history[0].is_nan());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// A number as read: a number, `null`, or one of the old strings.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    fn from_repr<E: serde::de::Error>(r: Option<Repr>) -> Result<f64, E> {
        match r {
            None => Ok(f64::NAN),
            Some(Repr::Number(x)) => Ok(x),
            Some(Repr::Text(s)) => match s.as_str() {
                "NaN" | "nan" => Ok(f64::NAN),
                "inf" | "Infinity" | "+inf" => Ok(f64::INFINITY),
                "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(E::custom(format!("{s:?} is not a number"))),
            },
        }
    }

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

    /// Reads a number, `null` as NaN, or an old string (`"NaN"`, `"inf"`, `"-inf"`).
    ///
    /// # Errors
    /// The deserializer's; any other string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        from_repr(Option::<Repr>::deserialize(d)?)
    }

    /// The convention for an `Option<f64>`: `None` and non-finite values are both `null`, and
    /// `null` reads as `None`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some(finite)` as a number, anything else as `null`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            match x {
                Some(v) if v.is_finite() => s.serialize_f64(*v),
                _ => s.serialize_none(),
            }
        }

        /// Reads `null` as `None`, else as [`deserialize`](super::deserialize).
        ///
        /// # Errors
        /// The deserializer's; a string that is not an old non-finite form.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<super::Repr>::deserialize(d)?
                .map(|r| super::from_repr(Some(r)))
                .transpose()
        }
    }

    /// The convention for each entry of a `Vec<f64>`.
    pub mod vec {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes each finite entry as a number, any other as `null`.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(x: &[f64], s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(x.len()))?;
            for v in x {
                seq.serialize_element(&v.is_finite().then_some(*v))?;
            }
            seq.end()
        }

        /// Reads each entry as [`deserialize`](super::deserialize).
        ///
        /// # Errors
        /// The deserializer's; a string that is not an old non-finite form.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<Option<super::Repr>>::deserialize(d)?
                .into_iter()
                .map(super::from_repr)
                .collect()
        }
    }
}
