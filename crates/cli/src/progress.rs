//! Progress bars (indicatif), fed by the optimizer's [`Observer`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backprop_optim::{Observer, RunSummary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One bar over every epoch of every run; it counts finished runs in its message.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    epochs: usize,
    runs: usize,
    done: AtomicUsize,
}

impl Progress {
    /// A bar for `runs` runs of up to `epochs` epochs each; hidden when `quiet` (indicatif also
    /// hides it when stderr is not a terminal).
    pub fn new(runs: usize, epochs: usize, quiet: bool) -> Progress {
        // Saturating: `--epochs` may be as large as a usize holds.
        let total = (runs as u64).saturating_mul(epochs as u64);
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10))
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:40}] {percent:>3}% {msg} (eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("0/{runs} runs"));
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            epochs,
            runs,
            done: AtomicUsize::new(0),
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
        // Runs stopped early (patience, divergence) skip their remaining epochs.
        self.bar
            .inc(self.epochs.saturating_sub(summary.epochs) as u64);
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.set_message(format!("{done}/{} runs", self.runs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_over_more_epochs_than_a_u64_counts_does_not_overflow() {
        let progress = Progress::new(33, usize::MAX, true);
        progress.epoch_done(0, 0, 1.0);
        progress.finish();
    }
}
