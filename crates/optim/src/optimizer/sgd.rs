//! The lecture's plain step `W <- W - eta g`.

use backprop_linalg::Real;
use backprop_network::{Gradients, Network};

use crate::Result;

/// `W_i <- W_i - eta dL/dW_i` (and the biases alike): the lecture's update, no state.
pub(super) fn step<T: Real>(net: &mut Network<T>, g: &Gradients<T>, eta: T) -> Result<()> {
    net.update(-eta, g)?;
    Ok(())
}
