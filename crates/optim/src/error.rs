//! The errors of configuring and running training.

/// What went wrong in training or in its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shape error from the network (input or target widths that do not fit).
    #[error(transparent)]
    Network(#[from] backprop_network::Error),
    /// A configuration value out of its range.
    #[error("invalid {field}: {message}")]
    InvalidConfig {
        /// The field, as named in the configuration struct.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Data that cannot be trained on (empty, ragged, or not fitting the network).
    #[error("{message}")]
    Data {
        /// What is wrong with it.
        message: String,
    },
    /// The thread pool for the restarts could not be built.
    #[error("cannot build a thread pool: {0}")]
    ThreadPool(String),
    /// A name that does not parse (an initialization, order or schedule).
    #[error("{0}")]
    Parse(String),
    /// A stop was requested ([`RunHooks::stop_requested`](crate::RunHooks::stop_requested))
    /// before every restart began.
    #[error("interrupted after {finished} finished restarts")]
    Interrupted {
        /// Restarts that finished (and were given to the hooks).
        finished: usize,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidConfig {
        field,
        message: message.into(),
    }
}
