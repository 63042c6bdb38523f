//! The lecture's multi-layer network: forward pass, backpropagation and losses, allocation-free.
//!
//! A [`Network`] holds layers `W_0, ..., W_{d-1}`: `W_i` is `n_i x n_{i+1}` and its column `j` is
//! the lecture's `w_{i,j}`, the weights into node `j` of layer `i + 1`. Each layer also has a bias
//! `b_i` (the lecture's constant node) and an [`Activation`]. The passes are the lecture's:
//!
//! - forward: `v_0 = x`; `s_l = W_{l-1}^T v_{l-1} + b_{l-1}`, `v_l = σ(s_l)` for `l = 1..d`;
//! - backward: `dL/dv_d = v_d - y` (squared loss `1/2 ||v_d - y||^2`);
//!   `delta_{i+1} = dL/dv_{i+1} ⊙ σ'(s_{i+1})`; `dL/dW_i = v_i delta_{i+1}^T`;
//!   `dL/db_i = delta_{i+1}`; `dL/dv_i = W_i delta_{i+1}`;
//! - SGD: `W_i <- W_i - eta dL/dW_i`.
//!
//! Passes run on buffers made once ([`Workspace`] for one sample, [`BatchWorkspace`] for a
//! mini-batch with samples as columns, [`Gradients`]): per sample on matrix-vector kernels over
//! contiguous columns, per mini-batch on GEMM, and nothing allocates per step. Shapes are checked
//! at every public call and reported as [`Error`]s, never panics. Everything is generic over `f64`
//! (the default) and `f32`.
//!
//! ```
//! use backprop_network::{Activation, Network};
//! // The lecture's network for XOR: 2 inputs, 2 sigmoid hidden nodes, 1 sigmoid output.
//! let mut net = Network::builder(2)
//!     .layer(2, Activation::Sigmoid)
//!     .layer(1, Activation::Sigmoid)
//!     .build::<f64>()?;
//! // Not from zero (the lecture's last slide): any asymmetric start will do here.
//! for (k, w) in net.layer_mut(0).weights_mut().iter_mut().enumerate() {
//!     *w = [0.5, -0.4, 0.3, 0.8][k];
//! }
//! let mut ws = net.workspace();
//! let mut grads = net.gradients();
//! net.forward(&mut ws, &[1.0, 0.0])?;
//! let loss = net.backward(&mut ws, &[1.0], &mut grads)?; // 1/2 (v_d - y)^2
//! net.update(-0.5, &grads)?; // W_i <- W_i - eta dL/dW_i
//! assert!(net.loss_of(&mut ws, &[1.0, 0.0], &[1.0])? < loss);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the default `serde` feature, [`model`] saves and loads a network with its column names,
//! scaling and class names as a JSON model file, the one the `backprop` command line writes.
#![doc(test(attr(deny(warnings))))]

mod batch;
mod block;
mod error;
mod loss;
#[cfg(feature = "serde")]
pub mod model;
mod network;
mod session;
#[cfg(test)]
mod testing;
mod workspace;

pub use backprop_activations::Activation;
pub use backprop_linalg::{Matrix, MatrixView, Real, Vector};
pub use batch::BatchWorkspace;
pub use block::BlockWorkspace;
pub use error::{Error, Result};
pub use loss::Loss;
pub use network::{Builder, Layer, Network};
pub use session::SgdSession;
pub use workspace::{Gradients, Workspace};
