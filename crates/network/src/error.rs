//! The errors of building and running a network.

/// What went wrong when building or running a [`Network`](crate::Network).
///
/// Every public function that takes shapes from its caller checks them and returns one of these
/// instead of panicking.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A network needs at least one layer (`d >= 1`).
    #[error("a network needs at least one layer")]
    NoLayers,
    /// A layer with no nodes, or a network with no inputs.
    #[error("layer {layer} has width 0: every layer needs at least one node")]
    ZeroWidth {
        /// Index `l` of the layer `n_l` (0 is the input layer).
        layer: usize,
    },
    /// A weight matrix whose shape is not `n_i x n_{i+1}`.
    #[error("W_{layer} is {got_rows} x {got_cols}, expected {rows} x {cols}")]
    WeightShape {
        /// Index `i` of `W_i`.
        layer: usize,
        /// Expected rows, `n_i`.
        rows: usize,
        /// Expected columns, `n_{i+1}`.
        cols: usize,
        /// Rows given.
        got_rows: usize,
        /// Columns given.
        got_cols: usize,
    },
    /// A vector (input, target, bias, ...) of the wrong length.
    #[error("{what} has length {got}, expected {expected}")]
    Length {
        /// What the vector is, for example `"input x"`.
        what: &'static str,
        /// The length the network needs.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A workspace or gradient buffer made for a network of other widths.
    #[error("{what} was made for a network of widths {got:?}, this one has {expected:?}")]
    BufferMismatch {
        /// Which buffer: `"workspace"`, `"gradients"`, ...
        what: &'static str,
        /// The network's widths `n_0, ..., n_d`.
        expected: Vec<usize>,
        /// The widths the buffer was made for.
        got: Vec<usize>,
    },
    /// A backward pass asked of a workspace that holds no forward pass.
    #[error("backward pass before a forward pass: run forward on this workspace first")]
    NoForwardPass,
    /// A mini-batch larger than the batch workspace, or empty.
    #[error(
        "batch of {got} samples does not fit a workspace of capacity {capacity} (1 to {capacity})"
    )]
    BatchSize {
        /// The capacity of the batch workspace.
        capacity: usize,
        /// The batch size asked for.
        got: usize,
    },
    /// An unknown loss name.
    #[error("unknown loss {0:?} (expected squared or cross-entropy)")]
    UnknownLoss(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// [`Error::Length`] naming `what` unless `got == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            got,
        })
    }
}

/// [`Error::NoLayers`] for fewer than two widths, [`Error::ZeroWidth`] for a width of 0.
pub(crate) fn check_widths(widths: &[usize]) -> Result<()> {
    if widths.len() < 2 {
        return Err(Error::NoLayers);
    }
    match widths.iter().position(|&n| n == 0) {
        Some(layer) => Err(Error::ZeroWidth { layer }),
        None => Ok(()),
    }
}
