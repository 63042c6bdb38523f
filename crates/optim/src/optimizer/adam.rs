//! Adam (Kingma and Ba 2015) and AdamW (Loshchilov and Hutter 2019), with the formulas of PyTorch's
//! `torch.optim.Adam` and `AdamW`. Two differences from PyTorch: weight decay acts on the weights
//! only, never on the biases (PyTorch decays every parameter it is given), and the first moment is
//! `b1 m + (1 - b1) g` as written, where PyTorch's `lerp` may round its last bit otherwise.

use backprop_linalg::Real;
use backprop_network::{Gradients, Network};

use crate::Result;

/// The moments `m` and `v`, shaped like the gradients and zero at the start of a run.
#[derive(Clone, Debug)]
pub(super) struct Moments<T: Real> {
    m: Gradients<T>,
    v: Gradients<T>,
}

impl<T: Real> Moments<T> {
    pub(super) fn new(net: &Network<T>) -> Self {
        Moments {
            m: net.gradients(),
            v: net.gradients(),
        }
    }

    /// Step `t` (`1, 2, ...`, counting every step of the run across epochs, never reset). With
    /// `decay` (AdamW's decoupled decay `lambda`), first `W_i <- W_i - eta lambda W_i` on the
    /// weights (not the biases); then, for every weight and bias with gradient `g`,
    /// `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2` and
    /// `w <- w - eta m_hat / (sqrt(v_hat) + eps)` with `m_hat = m / (1 - b1^t)`,
    /// `v_hat = v / (1 - b2^t)`. The last line is computed as PyTorch does:
    /// `w <- w - (eta / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn step(
        &mut self,
        net: &mut Network<T>,
        g: &Gradients<T>,
        eta: T,
        t: u64,
        (beta1, beta2, eps): (f64, f64, f64),
        decay: Option<T>,
    ) -> Result<()> {
        if let Some(lambda) = decay {
            let keep = T::one() - eta * lambda;
            // Slices alternate W_0, b_0, W_1, ...: the weights decay, the biases do not.
            for w in net.params_mut().step_by(2) {
                w.iter_mut().for_each(|w| *w *= keep);
            }
        }
        let t = t as f64;
        let step_size = eta / T::from_f64(1.0 - beta1.powf(t));
        let correction2 = T::from_f64((1.0 - beta2.powf(t)).sqrt());
        let (b1, b2, eps) = (T::from_f64(beta1), T::from_f64(beta2), T::from_f64(eps));
        let (c1, c2) = (T::one() - b1, T::one() - b2);
        let slices = net
            .params_mut()
            .zip(self.m.slices_mut())
            .zip(self.v.slices_mut())
            .zip(g.slices());
        for (((w, m), v), g) in slices {
            for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                *m = b1 * *m + c1 * g;
                *v = b2 * *v + c2 * g * g;
                *w -= step_size * *m / (v.sqrt() / correction2 + eps);
            }
        }
        Ok(())
    }
}
