//! The subcommands: each reads its inputs, calls the library, prints and writes.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use backprop_optim::{self as optim, Dataset, Init, RestartConfig};

use crate::args::{
    Dtype, EvaluateArgs, GradcheckArgs, MergeArgs, ModelDataArgs, PredictArgs, RestartsArgs,
    StatsArgs, TrainArgs,
};
use crate::data::{Labeled, Task};
use crate::datasets::BUILTINS;
use crate::journal;
use crate::model::{argmax, Model};
use crate::output::write_atomic;
use crate::plot;
use crate::progress::Progress;
use crate::report::{self, loss, percent, Best, Report, RunRecord, Shard};
use crate::setup::{self, load_for_model, ModelData, Setup};

/// A run that finished but failed (divergence, a failed gradient check): exit code 1, where
/// bad input has exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

/// Writes `text` to stdout; a closed pipe (`backprop ... | head`) is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("stdout"),
        _ => Ok(()),
    }
}

/// Fails before training when `--boundary` cannot be drawn for this data.
fn check_boundary(setup: &Setup, boundary: Option<&Path>) -> Result<()> {
    if boundary.is_some()
        && (setup.model.network.inputs() != 2 || setup.model.task != Task::Classification)
    {
        bail!(
            "--boundary draws classifiers of two inputs; {} has {} ({})",
            setup.raw.source,
            crate::data::count(setup.model.network.inputs(), "input", "inputs"),
            setup.model.task
        );
    }
    Ok(())
}

/// Fails before any work when an output file cannot be written: a path that is a directory, in
/// a directory that does not exist or cannot be written, named by two flags (the second file
/// would replace the first), or naming one of the command's `inputs` (an output never replaces
/// the data, a model or a report it was made from). Paths are compared as files, after
/// resolving links: `out.json` and a link to it are the same file. So a bad path never costs a
/// training run, nor leaves the other outputs of a failed command behind.
///
/// # Errors
/// The first output that cannot be written, by flag and path, and the input or output it
/// collides with.
pub fn check_outputs(outputs: &[(&str, Option<&Path>)], inputs: &[(&str, &Path)]) -> Result<()> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, path)| path.map(|p| (flag, p)))
        .collect();
    for (k, &(flag, path)) in given.iter().enumerate() {
        let shown = path.display();
        if let Some((other, p)) = given[..k].iter().find(|(_, p)| same_file(p, path)) {
            let as_given = if *p == path {
                String::new()
            } else {
                format!(" {}", p.display())
            };
            bail!(
                "{shown}: given to both {other}{as_given} and {flag}: each output needs its own file"
            );
        }
        if let Some((input, p)) = inputs.iter().find(|(_, p)| same_file(p, path)) {
            bail!(
                "{shown}: {flag} names the input {input} {}: an output never replaces an input, choose another file",
                p.display()
            );
        }
        if path.is_dir() {
            bail!("{shown}: is a directory: {flag} needs a file name");
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            bail!("{shown}: no directory {} for {flag}", dir.display());
        }
        // Outputs are written through a temporary file beside them: try one now.
        tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("{shown}: cannot write in {} ({flag})", dir.display()))?;
    }
    Ok(())
}

/// Whether `a` and `b` name the same file once links are resolved: the same canonical path
/// (for a file not yet there, its canonical directory and its name), or on Unix the same device
/// and inode (hard links).
fn same_file(a: &Path, b: &Path) -> bool {
    if resolved(a) == resolved(b) {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

/// `path` with every link resolved, as far as it exists.
fn resolved(path: &Path) -> std::path::PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => path.to_path_buf(),
    }
}

/// The data file among a command's inputs, unless `data` names a built-in dataset.
pub(crate) fn data_input(data: &str) -> Option<(&'static str, &Path)> {
    (!setup::is_builtin(data)).then(|| ("--data", Path::new(data)))
}

/// The configuration of `restarts` restarts (`run_restarts` starts no more threads than runs).
fn restart_config(setup: &Setup, restarts: usize, threads: usize) -> RestartConfig {
    RestartConfig {
        restarts,
        threads,
        seed: setup.config.seed,
        init: setup.config.init,
        bias_init: setup.config.bias_init,
        sgd: setup.config.sgd.clone(),
        classification: setup.config.data.task == Task::Classification,
        only: None,
        racing: None,
    }
}

/// Runs the restarts of `cfg` in the floating-point type of `setup`: in `f64` on the setup's
/// data and network, in `f32` on copies cast to `f32`, whose trained networks come back cast to
/// `f64` (exactly: every `f32` is an `f64`), so that reports and models are written as ever.
fn run_in_dtype(
    setup: &Setup,
    cfg: &RestartConfig,
    observer: &dyn optim::Observer,
    journal: Option<&journal::Journal>,
) -> optim::Result<optim::Experiment<f64>> {
    Ok(match setup.config.dtype {
        Dtype::F64 => {
            let hooks: &dyn optim::RunHooks<f64> = match journal {
                Some(j) => j,
                None => &optim::NoHooks,
            };
            optim::run_restarts_with(
                &setup.template,
                &setup.train,
                setup.validation.as_ref(),
                cfg,
                observer,
                hooks,
            )?
        }
        Dtype::F32 => {
            let hooks: &dyn optim::RunHooks<f32> = match journal {
                Some(j) => j,
                None => &optim::NoHooks,
            };
            let validation = setup.validation.as_ref().map(Dataset::cast::<f32>);
            let e = optim::run_restarts_with(
                &setup.template.cast::<f32>(),
                &setup.train.cast::<f32>(),
                validation.as_ref(),
                cfg,
                observer,
                hooks,
            )?;
            optim::Experiment {
                best: e.best,
                runs: e
                    .runs
                    .into_iter()
                    .map(|r| optim::Run {
                        summary: r.summary,
                        history: r.history,
                        network: r.network.cast::<f64>(),
                    })
                    .collect(),
            }
        }
    })
}

/// `backprop restarts`.
///
/// # Errors
/// Bad input; [`Failure`] when every restart diverged or a signal stopped the experiment.
pub fn restarts(args: &RestartsArgs) -> Result<()> {
    let started = Instant::now();
    let setup = setup::setup(&args.training, args.restarts, None)?;
    check_boundary(&setup, args.boundary.as_deref())?;
    let shard = args.shard.map(|(index, count)| Shard { index, count });
    if shard.is_some() && args.report.is_none() {
        bail!("--shard runs part of an experiment: give --report FILE for its partial report");
    }
    let inputs: Vec<(&str, &Path)> = data_input(&args.training.data.data).into_iter().collect();
    check_outputs(
        &[
            ("--report", args.report.as_deref()),
            ("--plot", args.plot.as_deref()),
            ("--out", args.out.as_deref()),
            ("--boundary", args.boundary.as_deref()),
            ("--html", args.html.as_deref()),
        ],
        &inputs,
    )?;
    if args.keep_models && args.report.is_none() && args.html.is_none() {
        bail!("--keep-models keeps the networks in the report: give --report FILE (or --html FILE) too");
    }
    if args.resume && args.report.is_none() {
        bail!("--resume continues the experiment of --report FILE: give it");
    }
    if let Some(h) = args.racing {
        if shard.is_some() {
            bail!("--racing ranks all the restarts together at each checkpoint, a shard sees only its own: run a race on one machine (drop --shard)");
        }
        if args.resume {
            bail!("--resume reruns only missing restarts, but a race decides from all of them at each checkpoint: drop --resume (a race is cheap) or --racing {h}");
        }
    }
    // The journal of an experiment with a report (a race keeps none: it cannot be resumed).
    let journal_path = args
        .report
        .as_deref()
        .filter(|_| args.racing.is_none())
        .map(journal::path_for);
    if let Some(j) = journal_path
        .as_deref()
        .filter(|j| j.exists() && !args.resume)
    {
        bail!(
            "{}: holds the restarts of an interrupted run: add --resume to continue it, or remove the file to start again",
            j.display()
        );
    }
    // On standard error, beside the progress: standard output stays the report, as `merge`
    // prints it.
    eprintln!("{}", setup.raw.describe());
    let mut cfg = restart_config(&setup, args.restarts, args.threads);
    cfg.racing = args.racing;
    let indices = shard.map_or_else(
        || (0..args.restarts).collect(),
        |s| s.restarts(args.restarts),
    );
    let mut recorded = match (&args.report, args.resume) {
        (Some(report), true) => journal::Recorded::read(report, &setup.config, shard)?,
        _ => journal::Recorded::default(),
    };
    // Only this experiment's indices; with --keep-models, only runs that kept their network.
    recorded
        .runs
        .retain(|i, r| indices.contains(i) && (!args.keep_models || r.model.is_some()));
    let with_baseline = shard.is_none_or(|s| s.index == 0);
    if !with_baseline
        || (args.keep_models
            && recorded
                .baseline
                .as_ref()
                .is_some_and(|b| b.model.is_none()))
    {
        recorded.baseline = None;
    }
    let missing: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|i| !recorded.runs.contains_key(i))
        .collect();
    cfg.only = Some(missing.clone());
    let run_baseline = with_baseline && recorded.baseline.is_none();
    let progress = Progress::new(
        missing.len(),
        run_baseline,
        cfg.sgd.epochs,
        args.training.quiet,
    );
    if args.resume && !args.training.quiet {
        progress.note(&format!(
            "resumed {} restarts{} from {}; running {}",
            recorded.runs.len(),
            if with_baseline && !run_baseline {
                " and the zero init"
            } else {
                ""
            },
            args.report
                .as_deref()
                .map_or(String::new(), |p| p.display().to_string()),
            missing.len()
        ));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let journal = match &journal_path {
        Some(path) => {
            signals(&stop)?;
            Some(journal::Journal::open(
                path.clone(),
                setup.config.clone(),
                setup.model.clone(),
                Arc::clone(&stop),
            )?)
        }
        None => None,
    };
    let interrupted = |finished: usize| -> anyhow::Error {
        progress.finish();
        if let Some(e) = journal.as_ref().and_then(journal::Journal::take_error) {
            return e;
        }
        let path = journal_path
            .as_deref()
            .map_or(String::new(), |p| p.display().to_string());
        Failure(format!(
            "interrupted: {} restarts are recorded in {path}, no report written; run the same command with --resume to continue",
            recorded.runs.len() + finished
        ))
        .into()
    };
    let experiment = match run_in_dtype(&setup, &cfg, &progress, journal.as_ref()) {
        Err(optim::Error::Interrupted { finished }) => return Err(interrupted(finished)),
        other => other?,
    };
    if let Some(e) = journal.as_ref().and_then(journal::Journal::take_error) {
        return Err(e);
    }
    if stop.load(Ordering::SeqCst) {
        return Err(interrupted(experiment.runs.len()));
    }
    let baseline = if run_baseline {
        progress.start_baseline();
        // Zero weights and zero biases, whatever --bias-init says: random biases alone would
        // break the symmetry the baseline is there to show.
        let zero = RestartConfig {
            init: Init::Zero,
            bias_init: Init::Zero,
            only: Some(vec![0]),
            threads: 1,
            ..restart_config(&setup, args.restarts, 1)
        };
        let e = run_in_dtype(&setup, &zero, &progress, None).map_err(|e| match e {
            optim::Error::Interrupted { .. } => anyhow::anyhow!("{e}"),
            e => e.into(),
        })?;
        match (e.runs.first(), &journal) {
            (Some(r), Some(j)) => {
                let record = j.record(r);
                j.append(&record, true)?;
                Some(record)
            }
            (Some(r), None) => {
                let mut record = RunRecord::new(&r.summary, &r.history);
                record.model = Some(journal::model_file(&setup.model, &r.network));
                Some(record)
            }
            (None, _) => None,
        }
    } else {
        recorded.baseline.take()
    };
    progress.finish();
    let report = experiment_report(
        args,
        &setup,
        shard,
        &experiment,
        recorded,
        baseline,
        started,
    )?;
    let result = finish_experiment(
        &report,
        args.report.as_deref(),
        args.plot.as_deref(),
        args.out.as_deref(),
        args.boundary.as_deref().map(|b| (b, &setup.raw)),
    );
    // The report is written (a failure comes after it): the journal's runs are in it now.
    if result.is_ok()
        || result
            .as_ref()
            .is_err_and(|e| e.downcast_ref::<Failure>().is_some())
    {
        if let Some(j) = journal {
            j.remove()?;
        }
    }
    result
}

/// The report of the runs just run and those `recorded` before, in restart order.
fn experiment_report(
    args: &RestartsArgs,
    setup: &Setup,
    shard: Option<Shard>,
    experiment: &optim::Experiment<f64>,
    recorded: journal::Recorded,
    baseline: Option<RunRecord>,
    started: Instant,
) -> Result<Report> {
    // The best model carries the provenance of this run.
    let mut model = setup.model.clone();
    model.provenance = Some(crate::model::provenance(
        setup.config.seed,
        &setup.config.sgd,
        setup.config.sgd.epochs,
        data_record(&setup.raw),
    )?);
    let mut runs = recorded.runs;
    for run in &experiment.runs {
        let mut record = RunRecord::new(&run.summary, &run.history);
        record.model = Some(journal::model_file(&setup.model, &run.network));
        runs.insert(run.summary.index, record);
    }
    let mut runs: Vec<RunRecord> = runs.into_values().collect();
    // The library's rule over every run; the best's network is in its record, or, for a run
    // of an earlier report, in that report's best (the best of all among its runs is its best).
    let summaries: Vec<optim::RunSummary> = runs.iter().map(RunRecord::summary).collect();
    let best = match optim::best_of(&summaries) {
        Some(k) => {
            let r = &runs[k];
            let file = match (&r.model, &recorded.best) {
                (Some(m), _) => m.clone(),
                (None, Some(b)) if b.restart == r.restart => b.model.clone(),
                (None, _) => bail!(
                    "restart {} is the best, but its network is in neither the report nor the journal",
                    r.restart
                ),
            };
            let network = Model::from_file(file, "the best model")?.network;
            Some(Best {
                restart: r.restart,
                seed: r.seed,
                model: journal::model_file(&model, &network),
            })
        }
        None => None,
    };
    let mut baseline = baseline;
    if !args.keep_models {
        for r in &mut runs {
            r.model = None;
        }
        if let Some(b) = baseline.as_mut() {
            b.model = None;
        }
    }
    let mut report = Report::from_records(
        setup.config.clone(),
        shard,
        runs,
        baseline,
        best,
        model.provenance.clone(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(h) = args.racing {
        report.racing = Some(report::RacingRecord::of(h, &report.config, &report.runs));
    }
    report.compute_statistics(args.stats.success, args.stats.confidence)?;
    if let Some(path) = &args.html {
        crate::html::write_restarts(path, &report, &setup.raw)?;
    }
    Ok(report)
}

/// SIGINT and SIGTERM set `stop`: the restarts in flight finish and are journaled, no new ones
/// begin. A second signal ends the process at once (the journal holds whole lines only).
fn signals(stop: &Arc<AtomicBool>) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        signal_hook::flag::register_conditional_shutdown(signal, code, Arc::clone(stop))
            .context("cannot watch for signals")?;
        signal_hook::flag::register(signal, Arc::clone(stop))
            .context("cannot watch for signals")?;
    }
    Ok(())
}

/// The data as a model's provenance records it.
fn data_record(data: &Labeled) -> crate::model::DataRecord {
    crate::model::DataRecord {
        source: data.source.clone(),
        rows: data.len(),
        fingerprint: data.fingerprint(),
    }
}

/// Prints a report and writes what was asked for.
fn finish_experiment(
    report: &Report,
    report_path: Option<&Path>,
    plot_path: Option<&Path>,
    out: Option<&Path>,
    boundary: Option<(&Path, &Labeled)>,
) -> Result<()> {
    print(&report.render())?;
    if let Some(path) = report_path {
        report.save(path)?;
    }
    if let Some(path) = plot_path {
        write_atomic(path, plot::restarts_svg(report)?.as_bytes())?;
    }
    let Some(best) = &report.best else {
        // A shard without a best is no failure of the experiment: its partial report is written
        // and the merge chooses among all shards. Only a model or picture asked of it cannot be.
        if report.shard.is_some() && out.is_none() && boundary.is_none() {
            return Ok(());
        }
        let why = if report.runs.is_empty() {
            "this shard has no restarts: no best model to write"
        } else {
            "every restart diverged: no best model (try a smaller --lr)"
        };
        return Err(Failure(why.to_owned()).into());
    };
    let model = Model::from_file(best.model.clone(), "the best model")?;
    if let Some(path) = out {
        model.save(path)?;
    }
    if let Some((path, data)) = boundary {
        let title = format!(
            "{}: best of {} restarts (restart {})",
            report.config.data.source, report.config.restarts, best.restart
        );
        write_atomic(path, plot::boundary_svg(&model, data, &title)?.as_bytes())?;
    }
    Ok(())
}

/// `backprop train`.
///
/// # Errors
/// Bad input; [`Failure`] when training diverged.
pub fn train(args: &TrainArgs) -> Result<()> {
    let started = Instant::now();
    if args.from.is_some() {
        let t = &args.training;
        let network_flags = [
            ("--hidden", t.hidden.is_some()),
            ("--activation", t.activation.is_some()),
            ("--output-activation", t.output_activation.is_some()),
            ("--loss", t.loss.is_some()),
            ("--init", t.init.is_some()),
            ("--bias-init", t.bias_init.is_some()),
            ("--task", t.data.task.is_some()),
            ("--scale", t.data.scale.is_some()),
            ("--restarts", args.restarts > 1),
            ("--refit", args.refit),
        ];
        if let Some((flag, _)) = network_flags.iter().find(|(_, given)| *given) {
            bail!("--from continues one saved model, whose network it takes: drop {flag}");
        }
    }
    let validation = args.training.data.validation;
    if args.refit && validation.unwrap_or(setup::preset(&args.training.data.data).validation) <= 0.0
    {
        bail!("--refit trains again on all rows after choosing on the validation rows: give --validation F too (a fraction above 0)");
    }
    let from = args.from.as_deref().map(Model::load).transpose()?;
    let setup = setup::setup(&args.training, args.restarts, from.as_ref())?;
    check_boundary(&setup, args.boundary.as_deref())?;
    let mut inputs: Vec<(&str, &Path)> = data_input(&args.training.data.data).into_iter().collect();
    inputs.extend(args.from.as_deref().map(|p| ("--from", p)));
    check_outputs(
        &[
            ("--out", args.out.as_deref()),
            ("--boundary", args.boundary.as_deref()),
        ],
        &inputs,
    )?;
    if from.is_none() {
        // On standard error, as in `restarts`.
        eprintln!("{}", setup.raw.describe());
    }
    let cfg = restart_config(&setup, args.restarts, args.threads);
    let refit = from.is_none()
        && setup.validation.is_some()
        && if args.refit || args.no_refit {
            args.refit
        } else {
            setup::preset(&args.training.data.data).refit
        };
    let progress =
        Progress::new(args.restarts, false, cfg.sgd.epochs, args.training.quiet).without_lines();
    let mut kept = None;
    let mut too_small = None;
    let (network, history, chosen) = match from {
        None => {
            let mut e = run_in_dtype(&setup, &cfg, &progress, None)?;
            // The best restart; restart 0 (diverged) when there is none, to report it.
            let k = e.best.unwrap_or(0);
            kept = e
                .best
                .filter(|_| args.restarts > 1)
                .map(|k| e.runs[k].summary.index);
            if let (Some(v), Some(_)) = (setup.validation.as_ref(), kept) {
                too_small = indistinct(&e, k, v)?;
            }
            let run = e.runs.swap_remove(k);
            (run.network, run.history, run.summary.index)
        }
        Some(_) => {
            // A warm start: restart 0's sample order, from the saved weights.
            let (_, mut rng) = optim::restart_rngs(cfg.seed, 0);
            let (network, history) = match setup.config.dtype {
                Dtype::F64 => {
                    let mut network = setup.template.clone();
                    let history = optim::train(
                        &mut network,
                        &setup.train,
                        setup.validation.as_ref(),
                        &cfg.sgd,
                        cfg.classification,
                        &mut rng,
                        &progress,
                        0,
                    )?;
                    (network, history)
                }
                Dtype::F32 => {
                    let mut network = setup.template.cast::<f32>();
                    let validation = setup.validation.as_ref().map(Dataset::cast::<f32>);
                    let history = optim::train(
                        &mut network,
                        &setup.train.cast::<f32>(),
                        validation.as_ref(),
                        &cfg.sgd,
                        cfg.classification,
                        &mut rng,
                        &progress,
                        0,
                    )?;
                    (network.cast::<f64>(), history)
                }
            };
            (network, history, 0)
        }
    };
    progress.finish();
    let c = &setup.config;
    let mut text = format!(
        "{}
",
        settings_line(&setup, refit)
    );
    let widths: Vec<String> = c.network.widths.iter().map(usize::to_string).collect();
    let _ = writeln!(
        text,
        "trained on {}: {} rows ({} training, {} validation), network {} ({} hidden, {} output), {} loss{}",
        c.data.source,
        c.data.rows,
        c.data.train_rows,
        c.data.validation_rows,
        widths.join("-"),
        c.network.activation.name(),
        c.network.output_name(),
        c.network.loss,
        if args.from.is_some() { ", warm start" } else { "" },
    );
    if history.diverged || !network.is_finite() {
        print(&text)?;
        return Err(Failure(format!(
            "training diverged at epoch {} (the loss is not finite); try a smaller --lr; no model written",
            history.epochs
        ))
        .into());
    }
    if let Some(best) = kept {
        let _ = write!(text, "best of {} restarts: restart {best}, ", args.restarts);
    }
    let _ = write!(text, "{} epochs", history.epochs);
    if cfg.sgd.patience.is_some() {
        // Early stopping keeps the weights of the epoch with the lowest validation loss.
        let _ = write!(
            text,
            " (kept the weights after epoch {})",
            history.best_epoch + 1
        );
    }
    let _ = writeln!(text, " in {:.2} s", started.elapsed().as_secs_f64());
    let classification = c.data.task == Task::Classification;
    for (what, data) in [
        ("training", Some(&setup.train)),
        ("validation", setup.validation.as_ref()),
    ] {
        let Some(data) = data else { continue };
        let _ = write!(
            text,
            "{what} loss {}",
            loss(optim::mean_loss(&network, data)?)
        );
        if classification {
            let _ = write!(
                text,
                ", accuracy {}",
                percent(optim::accuracy(&network, data)?)
            );
        }
        text.push('\n');
    }
    if let Some(note) = too_small {
        let _ = writeln!(text, "{note}");
    }
    let (network, sgd, epochs) = if refit {
        // The chosen restart's initialization and sample order, on all rows, for the epochs
        // the validation rows chose (the best epoch under early stopping).
        let epochs = if cfg.sgd.patience.is_some() {
            history.best_epoch + 1
        } else {
            history.epochs
        };
        let all = all_rows(&setup)?;
        let mut again = cfg.clone();
        again.sgd.epochs = epochs;
        again.sgd.patience = None;
        // In the run's own type, as the restarts were trained.
        let run = match setup.config.dtype {
            Dtype::F64 => optim::run_restart(
                &setup.template,
                &all,
                None,
                &again,
                chosen,
                &optim::NoObserver,
            )?,
            Dtype::F32 => {
                let r = optim::run_restart(
                    &setup.template.cast::<f32>(),
                    &all.cast::<f32>(),
                    None,
                    &again,
                    chosen,
                    &optim::NoObserver,
                )?;
                optim::Run {
                    summary: r.summary,
                    history: r.history,
                    network: r.network.cast::<f64>(),
                }
            }
        };
        if run.history.diverged || !run.network.is_finite() {
            print(&text)?;
            return Err(Failure(format!(
                "the refit on all rows diverged at epoch {} (the loss is not finite); try a smaller --lr or --no-refit; no model written",
                run.history.epochs
            ))
            .into());
        }
        let _ = write!(
            text,
            "refit: restart {chosen}'s initialization trained again on all {} rows for {epochs} epochs, loss {}",
            all.len(),
            loss(optim::mean_loss(&run.network, &all)?)
        );
        if classification {
            let _ = write!(
                text,
                ", accuracy {}",
                percent(optim::accuracy(&run.network, &all)?)
            );
        }
        text.push('\n');
        (run.network, again.sgd, epochs)
    } else {
        (network, cfg.sgd.clone(), history.epochs)
    };
    let mut model = setup.model.clone();
    model.network = network;
    model.provenance = Some(crate::model::provenance(
        cfg.seed,
        &sgd,
        epochs,
        data_record(&setup.raw),
    )?);
    if let Some(path) = &args.out {
        model.save(path)?;
        let _ = writeln!(text, "model written to {}", path.display());
    }
    print(&text)?;
    if let Some(path) = &args.boundary {
        let title = format!("{}: trained network", c.data.source);
        write_atomic(
            path,
            plot::boundary_svg(&model, &setup.raw, &title)?.as_bytes(),
        )?;
    }
    Ok(())
}

/// The training rows followed by the validation rows (scaled as for training).
fn all_rows(setup: &Setup) -> Result<Dataset<f64>> {
    let parts = std::iter::once(&setup.train).chain(setup.validation.as_ref());
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for d in parts {
        for k in 0..d.len() {
            xs.push(d.x(k).to_vec());
            ys.push(d.y(k).to_vec());
        }
    }
    Ok(Dataset::from_rows(&xs, &ys)?)
}

/// The note `train` prints when its validation rows are too few to tell its restarts apart
/// (see [`too_few_to_tell`]).
fn indistinct(
    e: &optim::Experiment<f64>,
    best: usize,
    validation: &Dataset<f64>,
) -> Result<Option<String>> {
    let scores: Vec<f64> = e
        .runs
        .iter()
        .filter_map(|r| r.summary.final_validation_loss)
        .collect();
    let net = &e.runs[best].network;
    let per_row: Vec<f64> = (0..validation.len())
        .map(|k| optim::mean_loss(net, &validation.subset(&[k])))
        .collect::<Result<_, _>>()?;
    Ok(too_few_to_tell(&scores, &per_row).map(|(spread, se)| {
        format!(
            "note: {} validation rows are too few to tell the restarts apart: the median restart's validation loss is {} above the best's, less than 2 standard errors of it (2 x {}); the choice is mostly noise (more rows, or --validation 0 with one restart)",
            per_row.len(),
            loss(spread),
            loss(se)
        )
    }))
}

/// The rule behind `train`'s note on small validation sets: `Some((spread, se))` when the
/// spread of the restarts' validation losses `scores` (the median's minus the best's, over the
/// finite ones) is less than two standard errors `se` of the chosen restart's validation loss,
/// whose per-row losses are `per_row` (`se` = their sample standard deviation over
/// `sqrt(rows)`). Then the best restart is not reliably better than a typical one. `None` with
/// fewer than two finite scores or two rows.
fn too_few_to_tell(scores: &[f64], per_row: &[f64]) -> Option<(f64, f64)> {
    let mut scores: Vec<f64> = scores.iter().copied().filter(|l| l.is_finite()).collect();
    let n = per_row.len();
    if scores.len() < 2 || n < 2 {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    let spread = scores[(scores.len() - 1) / 2] - scores[0];
    let mean = per_row.iter().sum::<f64>() / n as f64;
    let var = per_row.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    (spread < 2.0 * se).then_some((spread, se))
}

/// The settings that ran, in one line: network, rule, rate, batches, epochs, early stopping,
/// validation and refit.
fn settings_line(setup: &Setup, refit: bool) -> String {
    let c = &setup.config;
    let s = &c.sgd;
    let widths: Vec<String> = c.network.widths.iter().map(usize::to_string).collect();
    let rule = match s.optimizer {
        optim::Optimizer::Sgd => "sgd".to_owned(),
        optim::Optimizer::Momentum { mu } => format!("momentum (mu {mu})"),
        optim::Optimizer::Nesterov { mu } => format!("nesterov (mu {mu})"),
        optim::Optimizer::Adam { beta1, beta2, eps } => {
            format!("adam (beta1 {beta1}, beta2 {beta2}, eps {eps:e})")
        }
        optim::Optimizer::AdamW { beta1, beta2, eps } => {
            format!("adamw (beta1 {beta1}, beta2 {beta2}, eps {eps:e})")
        }
    };
    let mut line = format!(
        "settings: network {} ({} hidden, {} output, {} init), optimizer {rule}, lr {}, batch size {}, ",
        widths.join("-"),
        c.network.activation.name(),
        c.network.output_name(),
        c.init,
        s.learning_rate,
        s.batch_size
    );
    if s.weight_decay > 0.0 {
        let _ = write!(line, "weight decay {}, ", s.weight_decay);
    }
    let _ = write!(line, "{} epochs, ", s.epochs);
    match s.patience {
        Some(p) => {
            let _ = write!(line, "early stopping (patience {p}), ");
        }
        None => line.push_str("no early stopping, "),
    }
    if c.data.validation_rows > 0 {
        let _ = write!(
            line,
            "validation {} ({} rows), refit {}",
            c.validation,
            c.data.validation_rows,
            if refit { "on all rows" } else { "off" }
        );
    } else {
        line.push_str("no validation, no refit");
    }
    line
}

fn model_data<'a>(args: &'a ModelDataArgs, keep: &'a [String], model: &'a str) -> ModelData<'a> {
    ModelData {
        data: &args.data,
        target: &args.target,
        drop: &args.drop,
        seed: args.seed,
        delimiter: args.delimiter,
        no_header: args.no_header,
        keep,
        model,
    }
}

/// The rows of `data` scaled as the model was trained: inputs, and targets for regression; the
/// samples are moved, not copied.
pub(crate) fn scaled_dataset(model: &Model, data: Labeled) -> Result<Dataset<f64>> {
    let (mut x, mut y) = (data.x, data.y);
    if let Some(s) = &model.input_scaling {
        let n = x.nrows();
        x.as_mut_slice()
            .chunks_exact_mut(n)
            .for_each(|x| s.apply(x));
    }
    if let Some(s) = &model.target_scaling {
        let n = y.nrows();
        y.as_mut_slice()
            .chunks_exact_mut(n)
            .for_each(|y| s.apply(y));
    }
    Dataset::new(x, y).with_context(|| data.source.clone())
}

/// `backprop predict`.
///
/// # Errors
/// Bad model or data.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let model = Model::load(&args.input.model)?;
    let name = args.input.model.display().to_string();
    let mut inputs = vec![("--model", args.input.model.as_path())];
    inputs.extend(data_input(&args.input.data));
    check_outputs(&[("--out", args.out.as_deref())], &inputs)?;
    let (data, kept) = load_for_model(model_data(&args.input, &args.keep, &name), &model, false)?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let n_d = model.network.outputs();
    let mut header: Vec<String> = args.keep.clone();
    // The model's target names, else those named with --target (a minimal model names none).
    let targets = if model.targets.is_empty() {
        &data.targets
    } else {
        &model.targets
    };
    match model.task {
        Task::Classification => {
            let target = targets.first().map_or("class", String::as_str);
            header.push(format!("predicted_{target}"));
            header.extend(model.classes.iter().map(|c| format!("p_{c}")));
        }
        Task::Regression => {
            if targets.len() == n_d {
                header.extend(targets.iter().map(|t| format!("predicted_{t}")));
            } else {
                header.extend((0..n_d).map(|k| format!("predicted_output_{k}")));
            }
        }
    }
    if let Some((k, h)) = header
        .iter()
        .enumerate()
        .find(|(k, h)| header[..*k].contains(h))
    {
        bail!(
            "--keep {h:?}: the predictions have a column of that name already (column {})",
            k + 1
        );
    }
    csv.write_record(&header)?;
    let mut ws = model.network.workspace();
    let mut scratch = Vec::with_capacity(model.network.inputs());
    let mut out = vec![0.0; n_d];
    let mut record = Vec::with_capacity(header.len());
    for r in 0..data.len() {
        model.predict_to(&mut ws, data.sample_x(r), &mut scratch, &mut out)?;
        record.clear();
        record.extend(kept.iter().map(|column| column[r].clone()));
        if model.task == Task::Classification {
            record.push(model.classes[argmax(&out)].clone());
        }
        // Debug is the shortest decimal that reads back exactly, with an exponent when short.
        record.extend(out.iter().map(|v| format!("{v:?}")));
        csv.write_record(&record)?;
    }
    let bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    match &args.out {
        Some(path) => write_atomic(path, &bytes),
        None => print(&String::from_utf8_lossy(&bytes)),
    }
}

/// `backprop evaluate`.
///
/// # Errors
/// Bad model or data.
pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let model = Model::load(&args.input.model)?;
    let name = args.input.model.display().to_string();
    let (data, _) = load_for_model(model_data(&args.input, &[], &name), &model, true)?;
    let (source, rows, targets) = (data.source.clone(), data.len(), data.targets.clone());
    let dataset = scaled_dataset(&model, data)?;
    let net = &model.network;
    // A classifier's loss and confusion matrix come from one batched forward pass.
    let (mean_loss, confusion) = match model.task {
        Task::Classification => {
            let (e, confusion) = optim::confusion(net, &dataset)?;
            (e.mean_loss, confusion)
        }
        Task::Regression => (optim::mean_loss(net, &dataset)?, Vec::new()),
    };
    let mut text = format!(
        "{} on {}: {} rows\nloss ({}{}) {}\n",
        args.input.model.display(),
        source,
        rows,
        net.loss(),
        if model.target_scaling.is_some() {
            ", standardized targets"
        } else {
            ""
        },
        loss(mean_loss)
    );
    let mut ws = net.workspace();
    let mut out = vec![0.0; net.outputs()];
    match model.task {
        Task::Classification => {
            // The diagonal of the confusion matrix is the accuracy (a classifier has two outputs
            // or more, so its class is the largest output).
            let k = model.classes.len();
            if confusion.len() != k {
                bail!(
                    "{}: the model has {} and {}",
                    args.input.model.display(),
                    crate::data::count(net.outputs(), "output", "outputs"),
                    crate::data::count(k, "class", "classes")
                );
            }
            let right: usize = (0..k).map(|c| confusion[c][c]).sum();
            let _ = writeln!(
                text,
                "accuracy {}",
                percent(right as f64 / dataset.len() as f64)
            );
            let width = model
                .classes
                .iter()
                .map(String::len)
                .chain(confusion.iter().flatten().map(|c| c.to_string().len()))
                .max()
                .unwrap_or(1)
                .max(4);
            text.push_str("confusion matrix (rows: true class, columns: predicted)\n");
            let _ = write!(text, "{:>width$}", "");
            for c in &model.classes {
                let _ = write!(text, " {c:>width$}");
            }
            text.push('\n');
            for (c, row) in model.classes.iter().zip(&confusion) {
                let _ = write!(text, "{c:>width$}");
                for n in row {
                    let _ = write!(text, " {n:>width$}");
                }
                text.push('\n');
            }
        }
        Task::Regression => {
            // In target units: the prediction and the target mapped back from the scaling.
            // R² = 1 - SS_res / SS_tot per target, SS_tot about the target's mean on this data.
            let m = net.outputs();
            let n = rows as f64;
            let target = |k: usize, y: &mut [f64]| {
                y.copy_from_slice(dataset.y(k));
                if let Some(s) = &model.target_scaling {
                    s.invert(y);
                }
            };
            let (mut mean, mut y) = (vec![0.0; m], vec![0.0; m]);
            for k in 0..dataset.len() {
                target(k, &mut y);
                mean.iter_mut().zip(&y).for_each(|(a, &t)| *a += t / n);
            }
            let (mut squares, mut totals) = (vec![0.0; m], vec![0.0; m]);
            for k in 0..dataset.len() {
                net.predict_to(&mut ws, dataset.x(k), &mut out)?;
                if let Some(s) = &model.target_scaling {
                    s.invert(&mut out);
                }
                target(k, &mut y);
                for j in 0..m {
                    squares[j] += (out[j] - y[j]) * (out[j] - y[j]);
                    totals[j] += (y[j] - mean[j]) * (y[j] - mean[j]);
                }
            }
            let mut r2s = Vec::with_capacity(m);
            for (k, s) in squares.iter().enumerate() {
                let name = targets.get(k).cloned().unwrap_or(format!("output_{k}"));
                let total = totals[k];
                let _ = write!(text, "RMSE of {name} {}", loss((s / n).sqrt()));
                if total > 0.0 {
                    let r2 = 1.0 - s / total;
                    r2s.push(r2);
                    let _ = writeln!(text, ", R² {r2:.4}");
                } else {
                    let _ = writeln!(text, ", R² undefined (the target is constant)");
                }
            }
            if !r2s.is_empty() {
                let _ = writeln!(
                    text,
                    "mean R² {:.4} over {}",
                    r2s.iter().sum::<f64>() / r2s.len() as f64,
                    crate::data::count(r2s.len(), "target", "targets")
                );
            }
        }
    }
    print(&text)
}

/// `backprop gradcheck`.
///
/// # Errors
/// Bad model or data; [`Failure`] when an error exceeds the tolerance.
pub fn gradcheck(args: &GradcheckArgs) -> Result<()> {
    let model = Model::load(&args.input.model)?;
    let name = args.input.model.display().to_string();
    let (data, _) = load_for_model(model_data(&args.input, &[], &name), &model, true)?;
    let source = data.source.clone();
    let dataset = scaled_dataset(&model, data)?;
    let n = args.samples.min(dataset.len());
    let samples: Vec<usize> = (0..n).collect();
    let dataset = dataset.subset(&samples);
    let errors = backprop_optim::gradient_check(&model.network, &dataset, args.step)?;
    let mut text = format!(
        "gradcheck of {} on {}: the mean loss of {n} rows, backpropagation against central differences (h = {})\n\
         relative error |backprop - numeric| / max(|backprop|, |numeric|, {:e}), largest per layer:\n",
        args.input.model.display(),
        source,
        args.step,
        backprop_optim::GRADCHECK_FLOOR
    );
    let _ = writeln!(
        text,
        "{:>5}  {:>9}  {:>12}  {:>12}",
        "layer", "W shape", "weights", "bias"
    );
    let mut worst: f64 = 0.0;
    for (i, (layer, e)) in model.network.layers().iter().zip(&errors).enumerate() {
        let shape = format!("{}x{}", layer.inputs(), layer.outputs());
        let _ = writeln!(
            text,
            "{i:>5}  {shape:>9}  {:>12.3e}  {:>12.3e}",
            e.weights, e.bias
        );
        worst = worst.max(e.weights).max(e.bias);
    }
    let ok = worst <= args.tolerance;
    let _ = writeln!(
        text,
        "largest {worst:.3e}: {} (tolerance {:e})",
        if ok { "ok" } else { "MISMATCH" },
        args.tolerance
    );
    print(&text)?;
    if ok {
        Ok(())
    } else {
        Err(Failure(format!(
            "backpropagation and finite differences differ by {worst:.3e}, above {:e}",
            args.tolerance
        ))
        .into())
    }
}

/// `backprop datasets`.
///
/// # Errors
/// A closed stdout.
pub fn datasets() -> Result<()> {
    let mut text = String::from(
        "Built-in datasets (use the name in place of a path: --data NAME; xor, spirals, circles\n\
         and sine are generated from --seed):\n\n",
    );
    for b in BUILTINS {
        let p = b.preset;
        let hidden: Vec<String> = p.hidden.iter().map(usize::to_string).collect();
        let _ = writeln!(text, "  {:<8} {}", b.name, b.about);
        let _ = writeln!(
            text,
            "  {:<8} defaults: --hidden {} --activation {}{} --lr {} --epochs {} --validation {}",
            "",
            hidden.join(","),
            p.activation,
            p.loss.map_or(String::new(), |l| format!(" --loss {l}")),
            p.learning_rate,
            p.epochs,
            p.validation
        );
    }
    print(&text)
}

/// `backprop merge`.
///
/// # Errors
/// Unreadable parts; parts that do not make one experiment.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let inputs: Vec<(&str, &Path)> = args.parts.iter().map(|p| ("part", p.as_path())).collect();
    check_outputs(
        &[
            ("--report", args.report.as_deref()),
            ("--plot", args.plot.as_deref()),
            ("--out", args.out.as_deref()),
        ],
        &inputs,
    )?;
    let parts = args
        .parts
        .iter()
        .map(|p| Ok((p.display().to_string(), Report::load(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut merged = report::merge(&parts, args.stats.success, args.stats.confidence)?;
    if let Some(p) = &mut merged.provenance {
        p.command = std::env::args().collect();
    }
    finish_experiment(
        &merged,
        args.report.as_deref(),
        args.plot.as_deref(),
        args.out.as_deref(),
        None,
    )
}

/// `backprop stats`.
///
/// # Errors
/// An unreadable report, a shard part, a report without runs; an output that cannot be
/// written.
pub fn stats(args: &StatsArgs) -> Result<()> {
    check_outputs(
        &[
            ("--csv", args.csv.as_deref()),
            ("--plot", args.plot.as_deref()),
            ("--html", args.html.as_deref()),
        ],
        &[("REPORT", args.report.as_path())],
    )?;
    let source = args.report.display().to_string();
    let mut report = Report::load(&args.report)?;
    if let Some(s) = report.shard {
        bail!(
            "{source}: shard {}/{} of an experiment: merge the parts first (backprop merge), then ask for its statistics",
            s.index,
            s.count
        );
    }
    if report.runs.is_empty() {
        bail!("{source}: no restarts");
    }
    report
        .compute_statistics(args.stats.success, args.stats.confidence)
        .with_context(|| source.clone())?;
    let statistics = report
        .statistics
        .as_ref()
        .context("a whole report with runs has statistics")?;
    let c = &report.config;
    let mut text = format!(
        "{source}: {} restarts on {}, {} loss per restart (infinite when diverged)\n",
        report.runs.len(),
        c.data.source,
        report.score_name().trim_end_matches(" loss"),
    );
    text.push_str(&statistics.render(report.score_name()));
    print(&text)?;
    if let Some(path) = &args.csv {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["k", "expected", "p_success"])?;
        for b in &statistics.best_of_k {
            csv.write_record([
                b.k.to_string(),
                format!("{:?}", b.expected),
                format!("{:?}", b.p_success),
            ])?;
        }
        let bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        write_atomic(path, &bytes)?;
    }
    if let Some(path) = &args.plot {
        write_atomic(path, plot::stats_svg(&report)?.as_bytes())?;
    }
    if let Some(path) = &args.html {
        crate::html::write_stats(path, &report, &args.report)?;
    }
    Ok(())
}

/// `backprop completions SHELL`: the completion script on stdout.
///
/// # Errors
/// A closed stdout.
pub fn completions(args: &crate::args::CompletionsArgs) -> Result<()> {
    use clap::CommandFactory as _;
    let mut out = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut crate::args::Cli::command(),
        "backprop",
        &mut out,
    );
    print(&String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_within_two_standard_errors_are_too_few_to_tell() {
        // Per-row losses 0 and 2 alternating over 8 rows: mean 1, sd sqrt(8/7), se 0.378.
        let per_row = [0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0];
        let se = (8.0_f64 / 7.0 / 8.0).sqrt();
        // Median 1.3 (of 4 sorted: the second), best 1.0: spread 0.3 < 2 se.
        let close = too_few_to_tell(&[1.0, 1.3, 1.4, 5.0], &per_row);
        let (spread, got) = close.expect("too close to tell");
        assert!((spread - 0.3).abs() < 1e-12);
        assert!((got - se).abs() < 1e-12);
        // Spread 1.0 > 2 se: the restarts differ.
        assert_eq!(too_few_to_tell(&[1.0, 2.0, 2.1], &per_row), None);
        // Diverged restarts do not count; one finite score tells nothing.
        assert_eq!(
            too_few_to_tell(&[1.0, f64::NAN, f64::INFINITY], &per_row),
            None
        );
        assert_eq!(too_few_to_tell(&[1.0, 1.0], &[0.5]), None);
    }
}
