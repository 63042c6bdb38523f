//! The journal of a restart experiment: each finished restart appended, as it finishes, to
//! `REPORT.journal` beside the report, so that a killed run loses only the restarts in flight
//! and `--resume` runs only the missing ones.
//!
//! One JSON line a run, flushed and synced to disk before the next: `{"config": ..., "baseline":
//! false, "run": ...}`, with the experiment's configuration (the report's, with the data's
//! fingerprint) and the run's record with its network. A line cut short by a kill is ignored
//! when read. The report is written whole at the end and the journal removed.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use backprop_optim::{Network, Real, Run, RunHooks};

use crate::model::{Model, ModelFile};
use crate::report::{experiment_difference, Best, Report, RunRecord};
use crate::setup::ExperimentConfig;

/// The journal beside the report `report`: `report.journal`.
pub fn path_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// One line of the journal.
#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    config: ExperimentConfig,
    baseline: bool,
    run: RunRecord,
}

/// What earlier runs of an experiment recorded: its report and journal.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Finished restarts by index, with their networks where known.
    pub runs: BTreeMap<usize, RunRecord>,
    /// The zero-init run.
    pub baseline: Option<RunRecord>,
    /// The best of an earlier report, whose network its runs may not hold.
    pub best: Option<Best>,
    /// Restarts found in the report and in the journal.
    pub from_report: usize,
    /// Restarts found in the journal.
    pub from_journal: usize,
}

impl Recorded {
    /// Reads the report at `report` (if there is one) and its journal, refusing anything
    /// recorded for another experiment than `config` (the number of restarts may differ) or
    /// another shard.
    ///
    /// # Errors
    /// Unreadable files; another experiment, naming the first field that differs.
    pub fn read(
        report: &Path,
        config: &ExperimentConfig,
        shard: Option<crate::report::Shard>,
    ) -> Result<Recorded> {
        let mut recorded = Recorded::default();
        let refuse = |source: &Path, other: &ExperimentConfig| -> Result<()> {
            if let Some(field) = experiment_difference(other, config, true) {
                bail!(
                    "{}: recorded for another experiment ({field} differs): --resume continues the same experiment; choose another --report",
                    source.display()
                );
            }
            Ok(())
        };
        if report.exists() {
            let old = Report::load(report)?;
            refuse(report, &old.config)?;
            if old.shard != shard {
                bail!(
                    "{}: written for another shard ({}): --resume continues the same shard",
                    report.display(),
                    old.shard
                        .map_or("the whole experiment".to_owned(), |s| format!(
                            "{}/{}",
                            s.index, s.count
                        ))
                );
            }
            if let Some(r) = &old.racing {
                bail!(
                    "{}: a race ({}): --resume continues experiments run without --racing",
                    report.display(),
                    r.method
                );
            }
            recorded.from_report = old.runs.len();
            for run in old.runs {
                recorded.runs.insert(run.restart, run);
            }
            recorded.baseline = old.baseline;
            recorded.best = old.best;
        }
        let journal = path_for(report);
        if journal.exists() {
            let file = File::open(&journal)
                .with_context(|| format!("{}: cannot read", journal.display()))?;
            for line in BufReader::new(file).lines() {
                let line = line.with_context(|| format!("{}: cannot read", journal.display()))?;
                // A line cut short by a kill (the last one) is no record.
                let Ok(entry) = serde_json::from_str::<Line>(&line) else {
                    continue;
                };
                refuse(&journal, &entry.config)?;
                if entry.baseline {
                    recorded.baseline = Some(entry.run);
                } else {
                    recorded.from_journal += 1;
                    recorded.runs.entry(entry.run.restart).or_insert(entry.run);
                }
            }
        }
        Ok(recorded)
    }
}

/// The journal being written: a [`RunHooks`] that appends each finished run and asks the
/// experiment to stop on a signal or a failed write.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    config: ExperimentConfig,
    model: Model,
    stop: Arc<AtomicBool>,
    error: Mutex<Option<anyhow::Error>>,
}

impl Journal {
    /// Opens (or creates) the journal at `path` for appending lines of `config`; `model` names
    /// and scales the networks; `stop` is set by a signal.
    ///
    /// # Errors
    /// A file that cannot be opened.
    pub fn open(
        path: PathBuf,
        config: ExperimentConfig,
        model: Model,
        stop: Arc<AtomicBool>,
    ) -> Result<Journal> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .with_context(|| format!("{}: cannot write the journal", path.display()))?;
        end_cut_line(&mut file)
            .with_context(|| format!("{}: cannot mend the journal", path.display()))?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            config,
            model,
            stop,
            error: Mutex::new(None),
        })
    }

    /// Appends `record` as one line, flushed and synced.
    ///
    /// # Errors
    /// A failed write.
    pub fn append(&self, record: &RunRecord, baseline: bool) -> Result<()> {
        let line = Line {
            config: self.config.clone(),
            baseline,
            run: record.clone(),
        };
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        // One writer at a time, so that lines never interleave; the order of lines does not
        // matter (they are read by restart index).
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow!("journal lock poisoned"))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .with_context(|| format!("{}: cannot write the journal", self.path.display()))
    }

    /// The record of `run`, with its network (as `f64`, as reports keep networks).
    pub fn record<T: Real>(&self, run: &Run<T>) -> RunRecord {
        let mut record = RunRecord::new(&run.summary, &run.history);
        record.model = Some(model_file(&self.model, &run.network.cast::<f64>()));
        record
    }

    /// The first failed write, if any.
    pub fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    /// Removes the journal (its runs are in the report now).
    ///
    /// # Errors
    /// A journal that cannot be removed.
    pub fn remove(self) -> Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)
            .with_context(|| format!("{}: cannot remove the journal", self.path.display()))
    }
}

impl<T: Real> RunHooks<T> for Journal {
    fn run_done(&self, run: &Run<T>) {
        if let Err(e) = self.append(&self.record(run), false) {
            if let Ok(mut slot) = self.error.lock() {
                slot.get_or_insert(e);
            }
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// `network` with `model`'s names and scalings, as a model file.
pub fn model_file(model: &Model, network: &Network<f64>) -> ModelFile {
    let mut m = model.clone();
    m.network = network.clone();
    m.to_file()
}

/// Ends a last line cut short by a kill (no newline at its end), so that the next record appended
/// starts a line of its own instead of being read as part of the broken one; a file that is empty
/// or ends its last line is left as it is.
fn end_cut_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mended(text: &str) -> String {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("r.json.journal");
        std::fs::write(&path, text).expect("write");
        let mut file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(&path)
            .expect("open");
        end_cut_line(&mut file).expect("mend");
        file.write_all(b"{\"next\": 1}\n").expect("append");
        std::fs::read_to_string(&path).expect("read")
    }

    #[test]
    fn a_line_cut_short_is_ended_before_the_next_record() {
        assert_eq!(
            mended("{\"a\": 1}\n{\"b\""),
            "{\"a\": 1}\n{\"b\"\n{\"next\": 1}\n"
        );
        assert_eq!(mended("{\"a\": 1}\n"), "{\"a\": 1}\n{\"next\": 1}\n");
        assert_eq!(mended(""), "{\"next\": 1}\n");
    }
}
