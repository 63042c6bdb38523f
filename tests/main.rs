//! The integration tests of the workspace, one binary (see STYLE.md): each module a concern.

mod alloc;
mod determinism;
mod gradcheck;
mod network;
mod optim;
