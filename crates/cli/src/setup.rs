//! From flags to a training setup: data, split, scaling, network shape, SGD configuration.

use std::path::Path;

use anyhow::{bail, Context, Result};
use backprop_network::{Activation, Loss, Network};
use backprop_optim::{Dataset, Init, Optimizer, Order, SgdConfig};

use crate::args::{DataArgs, TrainingArgs};
use crate::data::{Labeled, ReadOptions, Scaling, Selection, Table, Task};
use crate::datasets::{self, Preset, DEFAULT_PRESET};
use crate::model::Model;

/// What the data is, as recorded in reports (and compared by `merge`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataInfo {
    /// The path or built-in name given with `--data`.
    pub source: String,
    /// Classification or regression.
    pub task: Task,
    /// Feature column names.
    pub inputs: Vec<String>,
    /// Target column names.
    pub targets: Vec<String>,
    /// Class names (classification).
    pub classes: Vec<String>,
    /// Rows in the data.
    pub rows: usize,
    /// Rows trained on.
    pub train_rows: usize,
    /// Rows held out for validation.
    pub validation_rows: usize,
    /// FNV-1a hash of the bits of every (scaled) training and validation number, in order.
    pub fingerprint: String,
    /// The field delimiter the file was read with (given or detected; none for a built-in
    /// dataset and in reports written before the field), so that `basins` and the HTML report
    /// read the file again as the run did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// The file had no header row (`--no-header`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_header: bool,
}

/// The network's shape, as recorded in reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkInfo {
    /// The widths `n_0, ..., n_d`.
    pub widths: Vec<usize>,
    /// The hidden activation.
    pub activation: Activation,
    /// The output activation.
    pub output_activation: Activation,
    /// The loss.
    pub loss: Loss,
}

impl NetworkInfo {
    /// The output as summaries name it: the output activation, or "softmax" for the identity
    /// output of the cross-entropy loss (whose softmax makes the probabilities), "sigmoid then
    /// softmax" for another activation under it.
    pub fn output_name(&self) -> String {
        match (self.loss, self.output_activation) {
            (Loss::CrossEntropy, Activation::Identity) => "softmax".to_owned(),
            (Loss::CrossEntropy, a) => format!("{} then softmax", a.name()),
            (Loss::Squared, a) => a.name().to_owned(),
            // Loss is non-exhaustive: a new loss reads as its output activation.
            (_, a) => a.name().to_owned(),
        }
    }
}

impl DataInfo {
    /// How the file was read, for a report's reader: "semicolon-separated, no header row"; `None`
    /// for a built-in dataset or a report written before the reading was recorded.
    pub fn reading(&self) -> Option<String> {
        let d = self.delimiter.and_then(|d| u8::try_from(d).ok())?;
        let header = if self.no_header {
            ", no header row"
        } else {
            ""
        };
        Some(format!(
            "{}-separated{header}",
            crate::data::delimiter_name(d)
        ))
    }
}

/// Everything that fixes a training run or an experiment (all but threads and shards).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExperimentConfig {
    /// The data.
    pub data: DataInfo,
    /// The network.
    pub network: NetworkInfo,
    /// The initialization of the random restarts.
    pub init: Init,
    /// The initialization of their biases.
    #[serde(default = "zero_init")]
    pub bias_init: Init,
    /// SGD.
    pub sgd: SgdConfig,
    /// The master seed.
    pub seed: u64,
    /// The number of restarts R (1 for train).
    pub restarts: usize,
    /// The validation fraction.
    pub validation: f64,
    /// Whether inputs and regression targets are standardized.
    pub scale: bool,
    /// The floating-point type of training (`f64` in files written before the field).
    #[serde(default)]
    pub dtype: crate::args::Dtype,
}

/// A training setup.
#[derive(Debug)]
pub struct Setup {
    /// The recorded configuration.
    pub config: ExperimentConfig,
    /// The data before scaling, all rows (for plots of the decision regions).
    pub raw: Labeled,
    /// The scaled training rows.
    pub train: Dataset<f64>,
    /// The scaled validation rows.
    pub validation: Option<Dataset<f64>>,
    /// A network of the right shape (zero weights, or the warm start's).
    pub template: Network<f64>,
    /// The model around a trained network: names and scalings.
    pub model: Model,
}

/// Loads `--data`: a built-in dataset by name, or a CSV file.
///
/// # Errors
/// As [`Table::read_path`], [`Labeled::from_table`] and [`datasets::load`].
pub fn load_data(args: &DataArgs, seed: u64) -> Result<Labeled> {
    let selection = Selection {
        targets: args.target.clone(),
        drop: args.drop.clone(),
        task: args.task,
    };
    if is_builtin(&args.data) {
        return datasets::load(&args.data, seed, &selection);
    }
    let options = ReadOptions {
        delimiter: args.delimiter,
        no_header: args.no_header,
        text: Vec::new(),
    };
    let table = Table::read_path(Path::new(&args.data), &options)?;
    Labeled::from_table(table, &selection)
}

/// A name with a slash or a dot is a path, whether or not the file exists.
fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.contains('.') || s.contains('\\')
}

/// The built-in dataset's settings, or the defaults.
pub fn preset(data: &str) -> Preset {
    datasets::builtin(data).map_or(DEFAULT_PRESET, |b| b.preset)
}

/// Reads the flags into SGD settings; what they leave out comes from the preset of `--data`
/// (the lecture's for a built-in dataset, the measured defaults for a CSV file). The preset's
/// batch size is capped at `train_rows`, its early stopping needs `validation > 0`.
///
/// # Errors
/// An invalid combination, as [`SgdConfig::validate`] finds it.
pub fn sgd_config(args: &TrainingArgs, train_rows: usize, validation: f64) -> Result<SgdConfig> {
    let preset = preset(&args.data.data);
    let optimizer = optimizer(args, &preset)?;
    let cfg = SgdConfig {
        learning_rate: args
            .lr
            .unwrap_or_else(|| preset.learning_rate_for(&optimizer)),
        epochs: args.epochs.unwrap_or(preset.epochs),
        batch_size: args
            .batch_size
            .unwrap_or_else(|| preset.batch_size.min(train_rows).max(1)),
        order: if args.no_shuffle {
            Order::Fixed
        } else if args.with_replacement {
            Order::Replacement
        } else {
            Order::Shuffle
        },
        optimizer,
        weight_decay: args.weight_decay,
        schedule: args.schedule,
        clip_norm: args.clip_norm,
        patience: args
            .patience
            .or(preset.patience.filter(|_| validation > 0.0)),
        block: args.block,
    };
    cfg.validate().context("invalid training settings")?;
    Ok(cfg)
}

/// The update rule of `--optimizer`, `--momentum`, `--nesterov`, `--beta1`, `--beta2` and `--eps`:
/// a flag that the rule does not take is an error, not ignored.
///
/// # Errors
/// A flag that does not fit the rule, `--nesterov` without `--momentum`.
fn optimizer(args: &TrainingArgs, preset: &Preset) -> Result<Optimizer> {
    let given = |flags: &[(&'static str, bool)]| -> Vec<&'static str> {
        flags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(f, _)| *f)
            .collect()
    };
    let momentum_flags = given(&[
        ("--momentum", args.momentum.is_some()),
        ("--nesterov", args.nesterov),
    ]);
    let adam_flags = given(&[
        ("--beta1", args.beta1.is_some()),
        ("--beta2", args.beta2.is_some()),
        ("--eps", args.eps.is_some()),
    ]);
    // A preset's rule other than plain SGD stands in for --optimizer, unless --momentum asks
    // for momentum.
    let preset_rule =
        Some(preset.optimizer).filter(|o| *o != Optimizer::Sgd && momentum_flags.is_empty());
    let Some(chosen) = args.optimizer.or(preset_rule) else {
        // Without --optimizer, --momentum (and --nesterov) choose momentum as they always did.
        if !adam_flags.is_empty() {
            let verb = if adam_flags.len() == 1 {
                "needs"
            } else {
                "need"
            };
            bail!("{} {verb} --optimizer adam or adamw", adam_flags.join(", "));
        }
        return Ok(
            match (args.momentum.filter(|&mu| mu > 0.0), args.nesterov) {
                (None, true) => bail!("--nesterov needs --momentum"),
                (None, false) => Optimizer::Sgd,
                (Some(mu), false) => Optimizer::Momentum { mu },
                (Some(mu), true) => Optimizer::Nesterov { mu },
            },
        );
    };
    let refuse = |flags: &[&str]| -> Result<()> {
        if flags.is_empty() {
            return Ok(());
        }
        bail!(
            "--optimizer {} does not take {}",
            chosen.name(),
            flags.join(", ")
        )
    };
    let mu = |default: f64| args.momentum.unwrap_or(default);
    let beta = |flag: Option<f64>, default: f64| flag.unwrap_or(default);
    // Each rule takes its own flags: the match names every rule, so a new one must say which.
    Ok(match chosen {
        Optimizer::Sgd => {
            refuse(&[momentum_flags, adam_flags].concat())?;
            chosen
        }
        Optimizer::Momentum { mu: default } => {
            if args.nesterov {
                bail!("--optimizer momentum is classical momentum: --optimizer nesterov is Nesterov's");
            }
            refuse(&adam_flags)?;
            Optimizer::Momentum { mu: mu(default) }
        }
        Optimizer::Nesterov { mu: default } => {
            refuse(&adam_flags)?;
            Optimizer::Nesterov { mu: mu(default) }
        }
        Optimizer::Adam { beta1, beta2, eps } => {
            refuse(&momentum_flags)?;
            Optimizer::Adam {
                beta1: beta(args.beta1, beta1),
                beta2: beta(args.beta2, beta2),
                eps: beta(args.eps, eps),
            }
        }
        Optimizer::AdamW { beta1, beta2, eps } => {
            refuse(&momentum_flags)?;
            Optimizer::AdamW {
                beta1: beta(args.beta1, beta1),
                beta2: beta(args.beta2, beta2),
                eps: beta(args.eps, eps),
            }
        }
    })
}

/// The setup for `train` and `restarts`; with `from`, the network, columns and scaling come from
/// a saved model (warm start).
///
/// # Errors
/// Bad data, bad flags, a model that does not fit the data.
pub fn setup(args: &TrainingArgs, restarts: usize, from: Option<&Model>) -> Result<Setup> {
    let preset = preset(&args.data.data);
    let validation = args.data.validation.unwrap_or(preset.validation);
    if args.patience.is_some() && validation <= 0.0 {
        bail!(
            "--patience stops on the validation loss: give --validation F too (a fraction above 0)"
        );
    }
    let (raw, x, y, model) = match from {
        None => {
            let raw = load_data(&args.data, args.seed)?;
            let (x, y) = (raw.x.clone(), raw.y.clone());
            let model = new_model(args, &raw, &preset)?;
            (raw, x, y, model)
        }
        Some(model) => {
            let source = ModelData {
                data: &args.data.data,
                target: &args.data.target,
                drop: &args.data.drop,
                seed: args.seed,
                delimiter: args.data.delimiter,
                no_header: args.data.no_header,
                keep: &[],
                model: "the --from model",
            };
            let (raw, _) = load_for_model(source, model, true)?;
            let (x, y) = (raw.x.clone(), raw.y.clone());
            (raw, x, y, model.clone())
        }
    };
    let all = Dataset::new(x, y).with_context(|| raw.source.clone())?;
    let (train, validation_set) = if validation > 0.0 {
        let (t, v) = all.split(validation, args.seed).with_context(|| {
            format!(
                "{}: cannot hold out {validation} for validation",
                raw.source
            )
        })?;
        (t, Some(v))
    } else {
        (all, None)
    };
    let sgd = sgd_config(args, train.len(), validation)?;
    let mut model = model;
    if from.is_none() && args.data.scale.unwrap_or(true) {
        let rows = |d: &Dataset<f64>, f: fn(&Dataset<f64>, usize) -> &[f64]| -> Vec<Vec<f64>> {
            (0..d.len()).map(|i| f(d, i).to_vec()).collect()
        };
        model.input_scaling = Some(Scaling::fit(&rows(&train, Dataset::x)));
        if raw.task == Task::Regression {
            model.target_scaling = Some(Scaling::fit(&rows(&train, Dataset::y)));
        }
    }
    let scale = |d: &Dataset<f64>| -> Result<Dataset<f64>> {
        let mut xs = Vec::with_capacity(d.len());
        let mut ys = Vec::with_capacity(d.len());
        for i in 0..d.len() {
            let (mut x, mut y) = (d.x(i).to_vec(), d.y(i).to_vec());
            if let Some(s) = &model.input_scaling {
                s.apply(&mut x);
            }
            if let Some(s) = &model.target_scaling {
                s.apply(&mut y);
            }
            xs.push(x);
            ys.push(y);
        }
        Ok(Dataset::from_rows(&xs, &ys)?)
    };
    let train = scale(&train)?;
    let validation_set = validation_set.as_ref().map(scale).transpose()?;
    let template = model.network.clone();
    let layers = template.layers();
    let network = NetworkInfo {
        widths: template.widths(),
        activation: layers[0].activation(),
        output_activation: layers[layers.len() - 1].activation(),
        loss: template.loss(),
    };
    let init = match args.init.or(preset.init) {
        Some(init) => init,
        None if network.activation == Activation::Relu && layers.len() > 1 => Init::HeUniform,
        None => Init::XavierUniform,
    };
    let data = DataInfo {
        source: raw.source.clone(),
        task: raw.task,
        inputs: raw.inputs.clone(),
        targets: raw.targets.clone(),
        classes: raw.classes.clone(),
        rows: raw.len(),
        train_rows: train.len(),
        validation_rows: validation_set.as_ref().map_or(0, Dataset::len),
        fingerprint: fingerprint(&train, validation_set.as_ref()),
        delimiter: raw.delimiter.map(|(d, _)| char::from(d)),
        no_header: args.data.no_header,
    };
    Ok(Setup {
        config: ExperimentConfig {
            data,
            network,
            init,
            bias_init: args.bias_init.unwrap_or(Init::Zero),
            sgd,
            seed: args.seed,
            restarts,
            validation,
            // What the run does: the flag's choice, or the saved model's scaling under --from.
            scale: from.map_or(args.data.scale.unwrap_or(true), |m| {
                m.input_scaling.is_some()
            }),
            dtype: args.dtype,
        },
        raw,
        train,
        validation: validation_set,
        template,
        model,
    })
}

/// A zero network of the shape the flags ask for, wrapped with the data's names.
fn new_model(args: &TrainingArgs, raw: &Labeled, preset: &Preset) -> Result<Model> {
    let classification = raw.task == Task::Classification;
    let loss = args.loss.or(preset.loss).unwrap_or(if classification {
        Loss::CrossEntropy
    } else {
        Loss::Squared
    });
    if loss == Loss::CrossEntropy && !classification {
        bail!(
            "--loss cross-entropy needs classes, and {} is a regression task",
            raw.source
        );
    }
    let activation = match args.activation {
        Some(a) => a,
        None => preset
            .activation
            .parse()
            .context("the preset's activation")?,
    };
    let output_activation =
        args.output_activation
            .unwrap_or(if classification && loss == Loss::Squared {
                Activation::Sigmoid
            } else {
                Activation::Identity
            });
    let hidden = match &args.hidden {
        Some(h) => h.0.clone(),
        None => preset.hidden.to_vec(),
    };
    let outputs = raw.y.nrows();
    let network = Network::builder(raw.inputs.len())
        .hidden(&hidden, activation)
        .layer(outputs, output_activation)
        .loss(loss)
        .build::<f64>()?;
    Ok(Model {
        network,
        inputs: raw.inputs.clone(),
        targets: raw.targets.clone(),
        task: raw.task,
        classes: raw.classes.clone(),
        input_scaling: None,
        target_scaling: None,
        provenance: None,
    })
}

/// FNV-1a over the bits of every number of the datasets, as 16 hex digits.
pub fn fingerprint(train: &Dataset<f64>, validation: Option<&Dataset<f64>>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: f64| {
        for byte in x.to_bits().to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for d in std::iter::once(train).chain(validation) {
        eat(d.len() as f64);
        for i in 0..d.len() {
            d.x(i).iter().chain(d.y(i)).for_each(|&x| eat(x));
        }
    }
    format!("{h:016x}")
}

/// Where the rows for a saved model come from.
#[derive(Clone, Copy, Debug)]
pub struct ModelData<'a> {
    /// A CSV path or a built-in dataset's name.
    pub data: &'a str,
    /// The target columns (empty: the model's).
    pub target: &'a [String],
    /// Columns to ignore.
    pub drop: &'a [String],
    /// The seed of a built-in dataset.
    pub seed: u64,
    /// The delimiter (`None`: detected).
    pub delimiter: Option<u8>,
    /// The file has no header row.
    pub no_header: bool,
    /// Columns to read as text and hand back (`predict --keep`).
    pub keep: &'a [String],
    /// The model, as errors name it.
    pub model: &'a str,
}

/// The rows of `--data` as `model` reads them: its input columns (by name, or every column but
/// the targets and dropped ones in file order), and its targets when the data has them
/// (one-hot over the model's classes); and the text of the `keep` columns. With `need_targets`,
/// data without the target columns is an error; without, the target columns are not read and
/// `y` has no rows.
///
/// # Errors
/// Missing columns, a feature count that does not fit the network, bad numbers, unknown classes.
pub fn load_for_model(
    source: ModelData<'_>,
    model: &Model,
    need_targets: bool,
) -> Result<(Labeled, Vec<Vec<String>>)> {
    let table = if is_builtin(source.data) {
        datasets::load(source.data, source.seed, &Selection::default())?.to_table()
    } else {
        let options = ReadOptions {
            delimiter: source.delimiter,
            no_header: source.no_header,
            text: source.keep.to_vec(),
        };
        Table::read_path(Path::new(source.data), &options)?
    };
    let kept: Vec<Vec<String>> = source
        .keep
        .iter()
        .map(|k| {
            let c = table.column(k).context("--keep")?;
            Ok((0..table.len())
                .map(|r| table.text(r, c).into_owned())
                .collect())
        })
        .collect::<Result<_>>()?;
    let targets: Vec<String> = if source.target.is_empty() {
        model.targets.clone()
    } else {
        source.target.to_vec()
    };
    let present: Vec<usize> = targets
        .iter()
        .filter_map(|t| table.header.iter().position(|h| h == t))
        .collect();
    let have_targets = !targets.is_empty() && present.len() == targets.len();
    if need_targets && !have_targets {
        if targets.is_empty() {
            bail!("{}: name the target column(s) with --target", table.source);
        }
        for t in &targets {
            table.column(t)?;
        }
    }
    let dropped: Vec<usize> = source
        .drop
        .iter()
        .map(|d| table.column(d))
        .collect::<Result<_>>()?;
    let n_0 = model.network.inputs();
    let features: Vec<usize> = if model.inputs.is_empty() {
        let f: Vec<usize> = (0..table.header.len())
            .filter(|c| {
                !present.contains(c)
                    && !dropped.contains(c)
                    && !source.keep.contains(&table.header[*c])
            })
            .collect();
        if f.len() != n_0 {
            bail!(
                "{}: {}, the model takes {} (name the others with --target or --drop)",
                table.source,
                crate::data::count(f.len(), "feature column", "feature columns"),
                crate::data::count(n_0, "input", "inputs")
            );
        }
        f
    } else {
        let missing: Vec<String> = model
            .inputs
            .iter()
            .filter(|name| !table.header.contains(name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            bail!(
                "{}:1: the model {} needs the input column{} {}, which the data lacks (its columns are {})",
                table.source,
                source.model,
                if missing.len() == 1 { "" } else { "s" },
                crate::data::list(&missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>()),
                crate::data::list(&table.header)
            );
        }
        model
            .inputs
            .iter()
            .map(|name| table.column(name))
            .collect::<Result<_>>()?
    };
    // Prediction reads no targets: whatever stands in their columns (blank, a new label) is fine.
    // Classes are read as indices first, and made one-hot once the table's numbers have become
    // the input matrix: two copies of the data never live at once.
    enum Targets {
        None,
        Classes(Vec<u32>),
        Numbers(crate::data::Matrix),
    }
    let y = if have_targets && need_targets {
        match model.task {
            Task::Classification => {
                let &[t] = present.as_slice() else {
                    bail!(
                        "classification has one target column, got {}",
                        present.len()
                    );
                };
                Targets::Classes(crate::data::class_indices(&table, t, &model.classes)?)
            }
            Task::Regression => {
                if present.len() != model.network.outputs() {
                    bail!(
                        "{}: {}, the model has {}",
                        table.source,
                        crate::data::count(present.len(), "target column", "target columns"),
                        crate::data::count(model.network.outputs(), "output", "outputs")
                    );
                }
                Targets::Numbers(table.matrix(&present)?)
            }
        }
    } else {
        Targets::None
    };
    let source_name = table.source.clone();
    let inputs = features.iter().map(|&c| table.header[c].clone()).collect();
    let delimiter = Some((table.delimiter, table.delimiter_detected));
    let rows = table.len();
    let x = table.into_matrix(&features)?;
    let y = match y {
        Targets::None => crate::data::Matrix::zeros(0, rows),
        Targets::Classes(indices) => crate::data::one_hot_of(&indices, model.classes.len()),
        Targets::Numbers(y) => y,
    };
    Ok((
        Labeled {
            source: source_name,
            inputs,
            targets: if have_targets { targets } else { Vec::new() },
            task: model.task,
            classes: model.classes.clone(),
            x,
            y,
            guessed: crate::data::Guessed::default(),
            delimiter,
        },
        kept,
    ))
}

/// True when `data` names a built-in dataset rather than a file: a built-in name, unless a file
/// of that name is written as a path (`./xor`).
pub fn is_builtin(data: &str) -> bool {
    if data == "-" {
        return false; // standard input
    }
    datasets::builtin(data).is_some() || !Path::new(data).exists() && !looks_like_path(data)
}

/// The bias initialization of reports written before it could be chosen.
fn zero_init() -> Init {
    Init::Zero
}
