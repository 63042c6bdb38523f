//! The `backprop` command line: the restart experiment, training on CSV data, models on disk,
//! and pictures.
//!
//! The binary is thin: [`run`] parses the flags (clap), loads data and models, calls
//! `backprop-network` and `backprop-optim`, and prints or writes the results. The public modules
//! are what the tests and benches use: the flags ([`args`]), CSV tables and built-in datasets
//! ([`data`], [`datasets`]), the model file ([`model`]), the setup of a run from flags
//! ([`setup`]) and the kernels' benchmark ([`bench`](mod@bench)); reports, their statistics and merging,
//! the subcommands and the SVG plots are private to the crate.
//!
//! ```
//! use backprop_cli::data::{Selection, Task};
//! use backprop_cli::datasets;
//! // The built-in XOR data, generated from seed 7: two inputs, two classes.
//! let xor = datasets::load("xor", 7, &Selection::default())?;
//! assert_eq!(xor.task, Task::Classification);
//! assert_eq!((xor.inputs.len(), xor.classes.len()), (2, 2));
//! // Exit code 0 for a listing of the built-in datasets.
//! assert_eq!(backprop_cli::run(["backprop", "datasets"]), std::process::ExitCode::SUCCESS);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub mod args;
pub mod basins;
pub mod bench;
pub(crate) mod commands;
pub mod data;
pub mod datasets;
pub(crate) mod html;
mod journal;
pub mod model;
pub(crate) mod output;
pub(crate) mod plot;
mod progress;
pub(crate) mod report;
pub mod setup;
pub mod trace;

pub use commands::Failure;

use args::{Cli, Command};

/// Exit code of bad input: a missing or malformed file, an unknown column, a bad flag.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of a run that failed: every restart diverged, a gradient check above tolerance.
pub const EXIT_FAILURE: u8 = 1;

/// Runs the command line on `args` (the program name first) and returns the exit code: 0 on
/// success, [`EXIT_FAILURE`] for a failed run, [`EXIT_BAD_INPUT`] for bad input, after one line
/// on stderr.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(EXIT_BAD_INPUT)
                }
                _ => {
                    // The first paragraph of clap's message, on one line: "error: the following
                    // required arguments were not provided: --model <FILE>".
                    let text = e.to_string();
                    let line: Vec<&str> = text
                        .lines()
                        .take_while(|l| !l.trim().is_empty())
                        .map(str::trim)
                        .collect();
                    eprintln!("{} (see --help)", line.join(" "));
                    ExitCode::from(EXIT_BAD_INPUT)
                }
            };
        }
    };
    let result = match &cli.command {
        Command::Restarts(a) => commands::restarts(a),
        Command::Train(a) => commands::train(a),
        Command::Predict(a) => commands::predict(a),
        Command::Evaluate(a) => commands::evaluate(a),
        Command::Gradcheck(a) => commands::gradcheck(a),
        Command::Datasets => commands::datasets(),
        Command::Merge(a) => commands::merge(a),
        Command::Stats(a) => commands::stats(a),
        Command::Bench(a) => bench::run(a),
        Command::Basins(a) => basins::run(a),
        Command::Trace(a) => trace::run(a),
        Command::Completions(a) => commands::completions(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {message}");
            if e.downcast_ref::<Failure>().is_some() {
                ExitCode::from(EXIT_FAILURE)
            } else {
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    }
}
