//! Progress: a bar on a terminal (indicatif), one line per finished run in a log; fed by the
//! optimizer's [`Observer`].

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backprop_optim::{Observer, RunSummary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::loss;

/// One bar over every epoch of every run; it counts finished restarts and the zero-init run
/// apart in its message. When stderr is not a terminal (a batch job's log), one line per
/// finished run instead: index, score, seconds.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    epochs: usize,
    restarts: usize,
    baseline: bool,
    done: AtomicUsize,
    baseline_done: AtomicBool,
    in_baseline: AtomicBool,
    lines: bool,
    started: Instant,
}

impl Progress {
    /// A bar for `restarts` restarts (and the zero-init run, with `baseline`) of up to `epochs`
    /// epochs each; silent when `quiet`.
    pub fn new(restarts: usize, baseline: bool, epochs: usize, quiet: bool) -> Progress {
        let runs = restarts + usize::from(baseline);
        // Saturating: `--epochs` may be as large as a usize holds.
        let total = (runs as u64).saturating_mul(epochs as u64);
        let lines = !quiet && !std::io::stderr().is_terminal();
        let bar = if quiet || lines {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10))
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {percent:>3}% {msg} (eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        let progress = Progress {
            bar,
            epochs,
            restarts,
            baseline,
            done: AtomicUsize::new(0),
            baseline_done: AtomicBool::new(false),
            in_baseline: AtomicBool::new(false),
            lines,
            started: Instant::now(),
        };
        progress.bar.set_message(progress.message());
        progress.bar.enable_steady_tick(Duration::from_millis(250));
        progress
    }

    /// "12/64 restarts + zero init", the zero init ticked when done.
    fn message(&self) -> String {
        let mut m = format!(
            "{}/{} restarts",
            self.done.load(Ordering::Relaxed),
            self.restarts
        );
        if self.baseline {
            m.push_str(if self.baseline_done.load(Ordering::Relaxed) {
                " + zero init (done)"
            } else {
                " + zero init"
            });
        }
        m
    }

    /// The bar alone, no lines in a log (for `train`, whose runs are not an experiment's).
    pub fn without_lines(mut self) -> Progress {
        self.lines = false;
        self
    }

    /// The runs from now on are the zero-init run.
    pub fn start_baseline(&self) {
        self.in_baseline.store(true, Ordering::Relaxed);
    }

    /// Says on stderr (unless quiet) what a resume found.
    pub fn note(&self, text: &str) {
        if self.lines {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn epoch_done(&self, _restart: usize, _epoch: usize, _train_loss: f64) {
        self.bar.inc(1);
    }

    fn restart_done(&self, summary: &RunSummary) {
        // Runs stopped early (patience, divergence, racing) skip their remaining epochs.
        self.bar
            .inc(self.epochs.saturating_sub(summary.epochs) as u64);
        let baseline = self.in_baseline.load(Ordering::Relaxed);
        let done = if baseline {
            self.baseline_done.store(true, Ordering::Relaxed);
            self.done.load(Ordering::Relaxed)
        } else {
            self.done.fetch_add(1, Ordering::Relaxed) + 1
        };
        self.bar.set_message(self.message());
        if self.lines {
            let what = if baseline {
                "zero init".to_owned()
            } else {
                format!("restart {}", summary.index)
            };
            let how = match summary.pruned_at {
                Some(e) => format!(", pruned after {e} epochs"),
                None if summary.diverged => ", diverged".to_owned(),
                None => String::new(),
            };
            eprintln!(
                "{what}: score {}{how}, {:.2} s ({done}/{} restarts, {:.1} s elapsed)",
                loss(summary.score),
                summary.seconds,
                self.restarts,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_over_more_epochs_than_a_u64_counts_does_not_overflow() {
        let progress = Progress::new(33, true, usize::MAX, true);
        progress.epoch_done(0, 0, 1.0);
        progress.finish();
    }

    #[test]
    fn the_message_counts_restarts_and_the_zero_init_apart() {
        let progress = Progress::new(64, true, 10, true);
        assert_eq!(progress.message(), "0/64 restarts + zero init");
        progress.start_baseline();
        progress.restart_done(&RunSummary {
            index: 0,
            seed: 0,
            final_train_loss: 0.1,
            final_validation_loss: None,
            final_validation_accuracy: None,
            train_accuracy: None,
            epochs: 10,
            diverged: false,
            seconds: 0.0,
            score: 0.1,
            pruned_at: None,
        });
        assert_eq!(progress.message(), "0/64 restarts + zero init (done)");
    }
}
