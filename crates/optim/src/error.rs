//! The errors of training: bad configurations, bad data, and the network's own errors.

/// What went wrong when configuring or running training.
///
/// Training itself never fails on numbers: a run whose loss becomes NaN or infinite is stopped and
/// reported as diverged in its [`History`](crate::History), not as an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the network (shapes, buffers).
    #[error(transparent)]
    Network(#[from] backprop_network::Error),
    /// A configuration value out of its range.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The configuration field, for example `"learning_rate"`.
        field: &'static str,
        /// Why the value is refused.
        message: String,
    },
    /// A data set that cannot be used (empty, ragged rows, ...).
    #[error("invalid data: {message}")]
    Data {
        /// What is wrong with it.
        message: String,
    },
    /// A data set whose width does not fit the network.
    #[error("{what} has width {got}, the network needs {expected}")]
    DataShape {
        /// Which width: `"training inputs"`, `"validation targets"`, ...
        what: &'static str,
        /// The network's width (`n_0` for inputs, `n_d` for targets).
        expected: usize,
        /// The data set's width.
        got: usize,
    },
    /// A string that does not name a known setting.
    #[error("cannot parse {input:?} as {what}: expected {expected}")]
    Parse {
        /// What was parsed: `"initialization"`, `"order"`, `"schedule"`.
        what: &'static str,
        /// The string given.
        input: String,
        /// The accepted forms.
        expected: &'static str,
    },
    /// The thread pool of an experiment could not be built.
    #[error("cannot build the thread pool: {0}")]
    ThreadPool(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error::InvalidConfig`].
pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidConfig {
        field,
        message: message.into(),
    }
}
