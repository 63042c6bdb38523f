//! Kernel benches.
fn main() {}
