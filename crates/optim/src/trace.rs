//! One sample through the lecture's algorithm, every intermediate kept: a [`Trace`].
//!
//! The numbers are the network's own: `s_l` and `v_l` from [`Network::forward`], `delta_l`,
//! `dL/dW_i` and `dL/db_i` from [`Network::backward`]. `dL/dv_l`, which the backward pass
//! overwrites in place by `delta_l`, is taken with the same kernels it uses: `dL/dv_d` from
//! [`Loss::gradient_to`](backprop_network::Loss::gradient_to), and `dL/dv_l = W_l delta_{l+1}`
//! by `gemv`, so every number equals the library's bit for bit.
//!
//! ```
//! use backprop_network::{Activation, Network};
//! use backprop_optim::trace::trace;
//! let mut net = Network::builder(2)
//!     .layer(2, Activation::Sigmoid)
//!     .layer(1, Activation::Sigmoid)
//!     .build::<f64>()?;
//! net.layer_mut(0).weights_mut().fill(0.5);
//! let t = trace(&net, &[1.0, 0.0], &[1.0])?;
//! assert_eq!(t.layers.len(), 2);
//! assert_eq!(t.layers[0].s, [0.5, 0.5]); // s_1 = W_0^T v_0 + b_0
//! assert_eq!(t.layers[1].v, [0.5]); // W_1 = 0, so s_2 = 0
//! assert_eq!(t.layers[1].dl_dv, [-0.5]); // v_2 - y
//! assert_eq!(t.layers[1].delta, [-0.125]); // dL/dv_2 σ'(s_2)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use backprop_network::{Matrix, Network};

use crate::Result;

/// Layer `l` (`1..=d`) of a trace: the values of its nodes and the gradients of the weights
/// `W_{l-1}` that feed them.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    /// `l`.
    pub l: usize,
    /// `s_l = W_{l-1}^T v_{l-1} + b_{l-1}`.
    pub s: Vec<f64>,
    /// `v_l = σ(s_l)`.
    pub v: Vec<f64>,
    /// `dL/dv_l`: `v_d - y` for the squared loss at `l = d`, else `W_l delta_{l+1}`.
    pub dl_dv: Vec<f64>,
    /// `delta_l = dL/dv_l ⊙ σ'(s_l)`.
    pub delta: Vec<f64>,
    /// `dL/dW_{l-1} = v_{l-1} delta_l^T`, `n_{l-1} x n_l`.
    pub dl_dw: Matrix<f64>,
    /// `dL/db_{l-1} = delta_l`.
    pub dl_db: Vec<f64>,
}

/// One sample through the forward and backward passes.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// `v_0 = x`.
    pub x: Vec<f64>,
    /// The target `y`.
    pub y: Vec<f64>,
    /// `L(v_d, y)`.
    pub loss: f64,
    /// Layers `1..=d`.
    pub layers: Vec<LayerTrace>,
}

/// Traces the sample `(x, y)` through `net` (see the module docs).
///
/// # Errors
/// [`Error::Network`](crate::Error::Network) when `x` or `y` does not fit the network.
pub fn trace(net: &Network<f64>, x: &[f64], y: &[f64]) -> Result<Trace> {
    let mut ws = net.workspace();
    let mut grads = net.gradients();
    net.forward(&mut ws, x)?;
    let d = net.depth();
    let s: Vec<Vec<f64>> = (0..=d).map(|l| ws.s(l).to_vec()).collect();
    let v: Vec<Vec<f64>> = (0..=d).map(|l| ws.v(l).to_vec()).collect();
    let loss = net.backward(&mut ws, y, &mut grads)?;
    let mut dl_dv = vec![Vec::new(); d + 1];
    let mut top = vec![0.0; net.outputs()];
    net.loss().gradient_to(&v[d], y, &mut top)?;
    dl_dv[d] = top;
    for l in (1..d).rev() {
        let mut out = vec![0.0; net.widths()[l]];
        backprop_linalg::gemv(&mut out, net.layers()[l].weights(), ws.delta(l + 1));
        dl_dv[l] = out;
    }
    let layers = (1..=d)
        .map(|l| LayerTrace {
            l,
            s: s[l].clone(),
            v: v[l].clone(),
            dl_dv: std::mem::take(&mut dl_dv[l]),
            delta: ws.delta(l).to_vec(),
            dl_dw: grads.weights(l - 1).clone(),
            dl_db: grads.bias(l - 1).to_vec(),
        })
        .collect();
    Ok(Trace {
        x: v[0].clone(),
        y: y.to_vec(),
        loss,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop_network::{Activation, Loss};

    #[test]
    fn the_trace_follows_the_recursion_and_matches_the_library() -> Result<()> {
        for loss in Loss::ALL {
            let mut net = Network::builder(3)
                .layer(4, Activation::Tanh)
                .layer(3, Activation::Relu)
                .layer(2, Activation::Identity)
                .loss(loss)
                .build::<f64>()?;
            for (k, p) in net.params_mut().flatten().enumerate() {
                *p = ((k * 37 % 17) as f64 - 8.0) / 9.0;
            }
            let (x, y) = ([0.3, -0.8, 1.2], [1.0, 0.0]);
            let t = trace(&net, &x, &y)?;
            let mut ws = net.workspace();
            let mut g = net.gradients();
            net.forward(&mut ws, &x)?;
            assert_eq!(t.loss, net.backward(&mut ws, &y, &mut g)?);
            assert_eq!(t.x, x);
            for lt in &t.layers {
                let l = lt.l;
                assert_eq!(lt.s, ws.s(l));
                assert_eq!(lt.v, ws.v(l));
                assert_eq!(lt.delta, ws.delta(l));
                assert_eq!(&lt.dl_dw, g.weights(l - 1));
                assert_eq!(lt.dl_db, g.bias(l - 1));
                // delta_l = dL/dv_l ⊙ σ'(s_l), as the recursion says.
                let act = net.layers()[l - 1].activation();
                for ((&dv, &s), &delta) in lt.dl_dv.iter().zip(&lt.s).zip(&lt.delta) {
                    assert!((dv * act.derivative(s) - delta).abs() <= 1e-12, "layer {l}");
                }
            }
            // dL/dv_d = v_d - y for the squared loss.
            if loss == Loss::Squared {
                let top = &t.layers[2];
                assert_eq!(top.dl_dv, [top.v[0] - 1.0, top.v[1]]);
            }
        }
        Ok(())
    }

    #[test]
    fn a_sample_of_the_wrong_width_is_an_error() {
        let net = Network::builder(2)
            .layer(1, Activation::Sigmoid)
            .build::<f64>()
            .expect("widths above 0");
        assert!(trace(&net, &[1.0], &[0.0]).is_err());
        assert!(trace(&net, &[1.0, 2.0], &[0.0, 1.0]).is_err());
    }
}
