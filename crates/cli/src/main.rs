//! The `backprop` command line (see the `backprop-cli` library for the commands).
use std::process::ExitCode;

fn main() -> ExitCode {
    backprop_cli::run(std::env::args_os())
}
