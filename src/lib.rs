//! backprop: the lecture's multi-layer network, backpropagation and SGD with parallel restarts.
//!
//! This facade re-exports the workspace's crates under short names.
#![doc(test(attr(deny(warnings))))]

pub use backprop_activations as activations;
pub use backprop_linalg as linalg;
pub use backprop_network as network;
pub use backprop_optim as optim;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
