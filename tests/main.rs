//! The integration tests of the workspace, one binary (linked once, not once per file): each module a concern.

mod alloc;
mod determinism;
mod gradcheck;
mod network;
mod optim;
mod value_stability;
