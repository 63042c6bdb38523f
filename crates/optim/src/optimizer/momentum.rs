//! Momentum, classical and Nesterov's, as PyTorch's `SGD(momentum=mu, nesterov=..)` writes them.

use backprop_linalg::Real;
use backprop_network::{Gradients, Network};

use crate::Result;

/// The velocity `u`, shaped like the gradients, zero at the start of a run.
#[derive(Clone, Debug)]
pub(super) struct Velocity<T: Real> {
    u: Gradients<T>,
}

impl<T: Real> Velocity<T> {
    pub(super) fn new(net: &Network<T>) -> Self {
        Velocity { u: net.gradients() }
    }

    /// `u <- mu u + g`; classical: `W <- W - eta u`; Nesterov: `W <- W - eta (g + mu u)`, with
    /// `g + mu u` built in the gradient buffer.
    pub(super) fn step(
        &mut self,
        net: &mut Network<T>,
        g: &mut Gradients<T>,
        eta: T,
        mu: f64,
        nesterov: bool,
    ) -> Result<()> {
        let mu = T::from_f64(mu);
        self.u.scale(mu);
        self.u.add_scaled(T::one(), g)?;
        if nesterov {
            g.add_scaled(mu, &self.u)?;
            net.update(-eta, g)?;
        } else {
            net.update(-eta, &self.u)?;
        }
        Ok(())
    }
}
