//! The integration tests of the workspace, one binary (see STYLE.md): each module a concern.

mod alloc;
mod gradcheck;
mod network;
