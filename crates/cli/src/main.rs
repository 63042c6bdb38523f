//! The `backprop` command line.
fn main() {}
