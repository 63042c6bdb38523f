//! The model file: a network with what it needs to be applied to data (column names, the task,
//! class names, input and target scaling) and how it was made, as JSON.
//!
//! ```text
//! {"format": "backprop-mlp", "version": 2, "loss": "squared" | "cross-entropy",
//!  "layers": [{"activation": "sigmoid", "weights": [[..n_out..], ..n_in rows], "bias": [..n_out..]}, ..],
//!  "inputs": [..], "targets": [..], "task": "regression" | "classification", "classes": [..],
//!  "input_scaling": {"mean": [..], "std": [..]} or null, "target_scaling": {..} or null,
//!  "provenance": {"tool": .., "command": [..], "seed": .., "training": {..}, "epochs": ..,
//!                 "data": {"source": .., "rows": .., "columns": [..], "fingerprint": ..}} or null}
//! ```
//! `weights[z][j]` is the lecture's `w_{i,j}(z)`, entry `(z, j)` of `W_i`. Only `format`,
//! `version`, `loss` and `layers` are required. Numbers are written as the shortest decimal that
//! reads back to the same `f64`, and read exactly, so a model round-trips bit for bit. A model
//! holds finite numbers only: one whose training diverged is not saved.
//!
//! Versions: 1 (no `provenance`) and 2 are read; 2 is written.
//!
//! ```
//! use backprop_network::model::{Model, Task};
//! use backprop_network::{Activation, Loss, Network};
//! let network = Network::builder(2)
//!     .layer(3, Activation::Tanh)
//!     .layer(1, Activation::Identity)
//!     .loss(Loss::Squared)
//!     .build::<f64>()?;
//! let model = Model::new(network, Task::Regression);
//! let dir = std::env::temp_dir().join(format!("backprop-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("model.json");
//! model.save(&path)?;
//! let back = Model::load(&path)?;
//! assert_eq!(back, model);
//! let mut out = [0.0];
//! back.predict(&[0.5, -1.0], &mut out)?;
//! assert_eq!(out, [0.0]); // a network of zero weights
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;

use crate::{Activation, Layer, Loss, Matrix, Network, Workspace};

/// The value of `format`.
pub const FORMAT: &str = "backprop-mlp";
/// The version written.
pub const VERSION: u32 = 2;
/// The versions read.
pub const VERSIONS_READ: [u32; 2] = [1, 2];

/// What went wrong reading or writing a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read or written.
    #[error("{file}: cannot {action}: {error}")]
    Io {
        /// The path.
        file: String,
        /// `read` or `write`.
        action: &'static str,
        /// The I/O error.
        error: std::io::Error,
    },
    /// Text that is not a model file's JSON.
    #[error("{}", located(file, *line, *column, message))]
    Json {
        /// Where the text came from.
        file: String,
        /// The line (0 when unknown).
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON of a model file whose content does not make a model.
    #[error("{file}: {message}")]
    Invalid {
        /// Where the model came from.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A network error (a prediction of the wrong length), for callers that mix both.
    #[error(transparent)]
    Network(#[from] crate::Error),
    /// A network with NaN or infinite weights: training diverged, nothing to save.
    #[error("the model has non-finite weights (training diverged): not saved")]
    NotFinite,
}

fn located(file: &str, line: usize, column: usize, message: &str) -> String {
    if line == 0 {
        format!("{file}: {message}")
    } else {
        format!("{file}:{line}:{column}: {message}")
    }
}

/// `1 input`, `2 inputs`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The model errors' result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a network learns: classes (one-hot outputs) or numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One target column of class names; one output per class.
    Classification,
    /// One or more numeric target columns; one output per column.
    Regression,
}

impl Task {
    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Task {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classify" | "classification" => Ok(Task::Classification),
            "regress" | "regression" => Ok(Task::Regression),
            _ => Err(format!("unknown task {s:?} (expected classify or regress)")),
        }
    }
}

/// Standardization: `x -> (x - mean) / std`, per column.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scaling {
    /// The mean of each column.
    pub mean: Vec<f64>,
    /// The standard deviation of each column (1 where a column is constant).
    pub std: Vec<f64>,
}

impl Scaling {
    /// The mean and (population) standard deviation of each column of `rows`, summed in row
    /// order; a constant column gets standard deviation 1, so it maps to 0.
    ///
    /// # Panics
    /// If `rows` is empty.
    pub fn fit(rows: &[Vec<f64>]) -> Scaling {
        let n = rows[0].len();
        let m = rows.len() as f64;
        let mut mean = vec![0.0; n];
        for row in rows {
            for (s, &x) in mean.iter_mut().zip(row) {
                *s += x;
            }
        }
        mean.iter_mut().for_each(|s| *s /= m);
        let mut var = vec![0.0; n];
        for row in rows {
            for ((s, &x), &mu) in var.iter_mut().zip(row).zip(&mean) {
                *s += (x - mu) * (x - mu);
            }
        }
        let std = var
            .into_iter()
            .map(|v| {
                let s = (v / m).sqrt();
                if s > 0.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Scaling { mean, std }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True for a scaling of no columns.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// `x <- (x - mean) / std`.
    pub fn apply(&self, x: &mut [f64]) {
        for ((x, &mu), &sd) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = (*x - mu) / sd;
        }
    }

    /// `x <- x std + mean`, the inverse of [`apply`](Self::apply).
    pub fn invert(&self, x: &mut [f64]) {
        for ((x, &mu), &sd) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = *x * sd + mu;
        }
    }
}

/// The data a model was trained on, as recorded.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataRecord {
    /// The path or name it was read from.
    pub source: String,
    /// The number of rows.
    pub rows: usize,
    /// FNV-1a (64 bits, 16 hex digits) over the column names and the bits of every number read,
    /// in order: the same file read twice has the same fingerprint.
    pub fingerprint: String,
}

/// How a model was made.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The program and its version, as `backprop 0.1.0`.
    pub tool: String,
    /// The command line, one argument an entry.
    #[serde(default)]
    pub command: Vec<String>,
    /// The master seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The optimizer and its settings, as the trainer records them (for the `backprop` tool, its
    /// `SgdConfig` as a whole).
    #[serde(default)]
    pub training: Option<serde_json::Value>,
    /// The epochs trained.
    #[serde(default)]
    pub epochs: Option<usize>,
    /// The data trained on.
    #[serde(default)]
    pub data: Option<DataRecord>,
}

/// One layer as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerFile {
    /// The activation of the layer's nodes.
    pub activation: Activation,
    /// `n_in` rows of `n_out` numbers: `weights[z][j] = w_{i,j}(z)`.
    pub weights: Vec<Vec<f64>>,
    /// `n_out` numbers.
    pub bias: Vec<f64>,
}

/// The model file as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// One of [`VERSIONS_READ`].
    pub version: u32,
    /// The loss the network was trained with (it also fixes what a prediction is).
    pub loss: Loss,
    /// The layers `W_0, ..., W_{d-1}`.
    pub layers: Vec<LayerFile>,
    /// The feature column names (empty: the data's columns in file order).
    #[serde(default)]
    pub inputs: Vec<String>,
    /// The target column names.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The task (regression when absent).
    #[serde(default)]
    pub task: Option<Task>,
    /// The class names, one per output, for classification.
    #[serde(default)]
    pub classes: Vec<String>,
    /// The scaling applied to inputs before the network.
    #[serde(default)]
    pub input_scaling: Option<Scaling>,
    /// The scaling the regression targets were trained in; predictions are mapped back.
    #[serde(default)]
    pub target_scaling: Option<Scaling>,
    /// How the model was made (version 2; absent in version 1 files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A network with what it needs to be applied to data.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The network.
    pub network: Network<f64>,
    /// The feature column names (may be empty).
    pub inputs: Vec<String>,
    /// The target column names (may be empty).
    pub targets: Vec<String>,
    /// Classification or regression.
    pub task: Task,
    /// The class names for classification.
    pub classes: Vec<String>,
    /// The input scaling.
    pub input_scaling: Option<Scaling>,
    /// The target scaling (regression).
    pub target_scaling: Option<Scaling>,
    /// How it was made, when known.
    pub provenance: Option<Provenance>,
}

impl Model {
    /// A model of `network` without names, scaling or provenance.
    pub fn new(network: Network<f64>, task: Task) -> Model {
        Model {
            network,
            inputs: Vec::new(),
            targets: Vec::new(),
            task,
            classes: Vec::new(),
            input_scaling: None,
            target_scaling: None,
            provenance: None,
        }
    }

    /// Checks a stored model and builds its network; errors name `file`.
    ///
    /// # Errors
    /// [`Error::Invalid`]: a wrong format or version, weights of the wrong shape, non-finite
    /// numbers, names or scalings that do not match the widths.
    pub fn from_file(file: ModelFile, source: &str) -> Result<Model> {
        let bad = |message: String| Error::Invalid {
            file: source.to_owned(),
            message,
        };
        if file.format != FORMAT {
            return Err(bad(format!(
                "format is {:?}, expected {FORMAT:?}",
                file.format
            )));
        }
        if !VERSIONS_READ.contains(&file.version) {
            return Err(bad(format!(
                "version {} is not supported (this program reads versions {})",
                file.version,
                VERSIONS_READ.map(|v| v.to_string()).join(" and ")
            )));
        }
        if file.layers.is_empty() {
            return Err(bad("the model has no layers".into()));
        }
        let mut layers = Vec::with_capacity(file.layers.len());
        let mut n_in = file.layers[0].weights.len();
        for (i, layer) in file.layers.iter().enumerate() {
            let rows = layer.weights.len();
            if rows != n_in {
                return Err(bad(format!(
                    "layer {i}: weights has {rows} rows, expected {n_in} (the width of layer {i})"
                )));
            }
            let n_out = layer.bias.len();
            if n_out == 0 || rows == 0 {
                return Err(bad(format!(
                    "layer {i}: a layer needs at least one input and one node"
                )));
            }
            for (z, row) in layer.weights.iter().enumerate() {
                if row.len() != n_out {
                    return Err(bad(format!(
                        "layer {i}: weights[{z}] has {} numbers, expected {n_out} (the length of bias)",
                        row.len()
                    )));
                }
            }
            let w = Matrix::from_fn(rows, n_out, |z, j| layer.weights[z][j]);
            if !w.iter().chain(&layer.bias).all(|x| x.is_finite()) {
                return Err(bad(format!("layer {i}: weights and biases must be finite")));
            }
            layers.push(
                Layer::new(w, layer.bias.clone(), layer.activation)
                    .map_err(|e| bad(format!("layer {i}: {e}")))?,
            );
            n_in = n_out;
        }
        let network = Network::new(layers, file.loss).map_err(|e| bad(format!("layers: {e}")))?;
        let (n_0, n_d) = (network.inputs(), network.outputs());
        let task = file.task.unwrap_or(Task::Regression);
        if !file.inputs.is_empty() && file.inputs.len() != n_0 {
            return Err(bad(format!(
                "{} named, the network has {n_0}",
                count(file.inputs.len(), "input", "inputs")
            )));
        }
        for (what, names) in [("inputs", &file.inputs), ("targets", &file.targets)] {
            if let Some((k, c)) = names
                .iter()
                .enumerate()
                .find(|(k, c)| names[..*k].contains(c))
            {
                return Err(bad(format!(
                    "column {c:?} is listed twice in {what:?} (entry {k})"
                )));
            }
        }
        match task {
            Task::Classification => {
                if n_d < 2 {
                    return Err(bad(format!(
                        "a classifier needs at least two classes, the network has {}",
                        count(n_d, "output", "outputs")
                    )));
                }
                if file.classes.len() != n_d {
                    return Err(bad(format!(
                        "{}, the network has {}",
                        count(file.classes.len(), "class", "classes"),
                        count(n_d, "output", "outputs")
                    )));
                }
                if let Some((k, c)) = file
                    .classes
                    .iter()
                    .enumerate()
                    .find(|(k, c)| file.classes[..*k].contains(c))
                {
                    return Err(bad(format!(
                        "class {c:?} is listed twice in \"classes\" (entry {k})"
                    )));
                }
                if file.targets.len() > 1 {
                    return Err(bad("classification has one target column".into()));
                }
                if file.target_scaling.is_some() {
                    return Err(bad("a classifier has no target scaling".into()));
                }
            }
            Task::Regression => {
                if !file.targets.is_empty() && file.targets.len() != n_d {
                    return Err(bad(format!(
                        "{} named, the network has {}",
                        count(file.targets.len(), "target", "targets"),
                        count(n_d, "output", "outputs")
                    )));
                }
                if file.loss == Loss::CrossEntropy {
                    return Err(bad("the cross-entropy loss is for classification".into()));
                }
            }
        }
        for (what, scaling, n) in [
            ("input_scaling", &file.input_scaling, n_0),
            ("target_scaling", &file.target_scaling, n_d),
        ] {
            if let Some(s) = scaling {
                if s.mean.len() != n || s.std.len() != n {
                    return Err(bad(format!(
                        "{what} has {} means and {} deviations, expected {n}",
                        s.mean.len(),
                        s.std.len()
                    )));
                }
                if !s.mean.iter().all(|x| x.is_finite())
                    || !s.std.iter().all(|x| x.is_finite() && *x > 0.0)
                {
                    return Err(bad(format!(
                        "{what}: means must be finite and deviations positive"
                    )));
                }
            }
        }
        Ok(Model {
            network,
            inputs: file.inputs,
            targets: file.targets,
            task,
            classes: file.classes,
            input_scaling: file.input_scaling,
            target_scaling: file.target_scaling,
            provenance: file.provenance,
        })
    }

    /// The model as stored (the current [`VERSION`]).
    pub fn to_file(&self) -> ModelFile {
        ModelFile {
            format: FORMAT.to_owned(),
            version: VERSION,
            loss: self.network.loss(),
            layers: self
                .network
                .layers()
                .iter()
                .map(|l| {
                    let w = l.weights();
                    LayerFile {
                        activation: l.activation(),
                        weights: (0..w.nrows())
                            .map(|z| (0..w.ncols()).map(|j| w[(z, j)]).collect())
                            .collect(),
                        bias: l.bias().to_vec(),
                    }
                })
                .collect(),
            inputs: self.inputs.clone(),
            targets: self.targets.clone(),
            task: Some(self.task),
            classes: self.classes.clone(),
            input_scaling: self.input_scaling.clone(),
            target_scaling: self.target_scaling.clone(),
            provenance: self.provenance.clone(),
        }
    }

    /// Parses a model from JSON text; errors name `source`, and the line and column for JSON
    /// errors. A byte order mark before the JSON is skipped.
    ///
    /// # Errors
    /// [`Error::Json`] for invalid JSON, unknown activations or losses, missing fields; and
    /// everything [`from_file`](Self::from_file) checks.
    pub fn from_json(text: &str, source: &str) -> Result<Model> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file: ModelFile = serde_json::from_str(text).map_err(|e| json_error(source, &e))?;
        Model::from_file(file, source)
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// [`Error::Io`] for a file that cannot be read, and as [`from_json`](Self::from_json).
    pub fn load(path: &Path) -> Result<Model> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            file: source.clone(),
            action: "read",
            error,
        })?;
        Model::from_json(&text, &source)
    }

    /// The model as JSON, indented, one weight row a line.
    ///
    /// # Errors
    /// [`Error::NotFinite`] for a network with NaN or infinite weights.
    pub fn to_json(&self) -> Result<String> {
        if !self.network.is_finite() {
            return Err(Error::NotFinite);
        }
        pretty_json(&self.to_file()).map_err(|e| Error::Invalid {
            file: "the model".to_owned(),
            message: e.to_string(),
        })
    }

    /// Writes the model to `path`, through a temporary file beside it renamed when complete, so
    /// that a failure leaves no half-written file.
    ///
    /// # Errors
    /// As [`to_json`](Self::to_json), and [`Error::Io`].
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_json()?;
        let io = |error| Error::Io {
            file: path.display().to_string(),
            action: "write",
            error,
        };
        let name = path.file_name().map_or_else(
            || std::ffi::OsString::from("model"),
            std::ffi::OsStr::to_os_string,
        );
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(&name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }

    /// The prediction for one raw (unscaled) sample: scales `x` into `scratch`, runs the
    /// network, and writes the outputs to `out` (class probabilities for cross-entropy, the
    /// output values otherwise, mapped back to target units for scaled regression targets).
    ///
    /// # Errors
    /// Lengths that do not fit the network.
    pub fn predict_to(
        &self,
        ws: &mut Workspace<f64>,
        x: &[f64],
        scratch: &mut Vec<f64>,
        out: &mut [f64],
    ) -> crate::Result<()> {
        scratch.clear();
        scratch.extend_from_slice(x);
        if let Some(s) = &self.input_scaling {
            s.apply(scratch);
        }
        self.network.predict_to(ws, scratch, out)?;
        if let Some(s) = &self.target_scaling {
            s.invert(out);
        }
        Ok(())
    }

    /// As [`predict_to`](Self::predict_to), with buffers of its own (for a few predictions; for
    /// many, reuse a workspace with `predict_to`).
    ///
    /// # Errors
    /// Lengths that do not fit the network.
    pub fn predict(&self, x: &[f64], out: &mut [f64]) -> crate::Result<()> {
        let mut ws = self.network.workspace();
        self.predict_to(&mut ws, x, &mut Vec::new(), out)
    }

    /// The predicted class of a classifier: the name of the largest output.
    pub fn class_of(&self, out: &[f64]) -> Option<&str> {
        self.classes.get(argmax(out)).map(String::as_str)
    }
}

/// `source:line:column: message` for a serde_json error.
pub fn json_error(source: &str, e: &serde_json::Error) -> Error {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    Error::Json {
        file: source.to_owned(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// The index of the largest entry, the first among equals.
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = k;
        }
    }
    best
}

/// Pretty JSON, indented by two spaces, with arrays of numbers (or strings) kept on one line, so
/// that a weight row or a loss history reads as one line; fields keep their declared order.
/// Numbers are written by serde_json, as the shortest decimal that reads back to the same `f64`.
///
/// # Errors
/// A value that does not serialize (a map with keys that are not strings).
pub fn pretty_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < lines.len() {
        let line = lines[k];
        if line.ends_with('[') {
            // serde_json writes each element of an array on its own line and closes it with `]`
            // at the opening line's indentation.
            let indent = line.len() - line.trim_start().len();
            let end = lines[k + 1..].iter().position(|l| {
                let t = l.trim_start();
                l.len() - t.len() == indent && (t == "]" || t == "],")
            });
            if let Some(end) = end.map(|e| k + 1 + e) {
                let elements = &lines[k + 1..end];
                let scalar = |l: &&str| {
                    let t = l.trim();
                    !(t.starts_with('[')
                        || t.starts_with('{')
                        || t.ends_with('[')
                        || t.ends_with('{'))
                };
                if elements.iter().all(scalar) {
                    out.push_str(line);
                    for (n, e) in elements.iter().enumerate() {
                        if n > 0 {
                            out.push(' ');
                        }
                        out.push_str(e.trim());
                    }
                    out.push_str(lines[end].trim_start());
                    out.push('\n');
                    k = end + 1;
                    continue;
                }
            }
        }
        out.push_str(line);
        out.push('\n');
        k += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let mut network = Network::builder(2)
            .layer(3, Activation::Tanh)
            .layer(2, Activation::Identity)
            .loss(Loss::CrossEntropy)
            .build::<f64>()
            .unwrap();
        for (k, p) in network.params_mut().flatten().enumerate() {
            *p = (k as f64 * 0.7).sin() / 3.0 + 1e-17 * k as f64;
        }
        Model {
            network,
            inputs: vec!["a".into(), "b".into()],
            targets: vec!["c".into()],
            task: Task::Classification,
            classes: vec!["no".into(), "yes".into()],
            input_scaling: Some(Scaling {
                mean: vec![0.1, 1.0 / 3.0],
                std: vec![2.0, 0.3],
            }),
            target_scaling: None,
            provenance: Some(Provenance {
                tool: "backprop 0.1.0".into(),
                command: vec!["backprop".into(), "train".into()],
                seed: Some(7),
                training: Some(serde_json::json!({"learning_rate": 0.1})),
                epochs: Some(3),
                data: Some(DataRecord {
                    source: "d.csv".into(),
                    rows: 10,
                    fingerprint: "0123456789abcdef".into(),
                }),
            }),
        }
    }

    #[test]
    fn json_round_trips_bit_for_bit() -> Result<()> {
        let m = model();
        let back = Model::from_json(&m.to_json()?, "m.json")?;
        assert_eq!(back, m);
        for (a, b) in back
            .network
            .params()
            .flatten()
            .zip(m.network.params().flatten())
        {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        Ok(())
    }

    #[test]
    fn weights_rows_are_inputs() {
        let m = model();
        let file = m.to_file();
        assert_eq!(file.layers[0].weights.len(), 2);
        assert_eq!(
            file.layers[0].weights[1][2],
            m.network.layers()[0].weights()[(1, 2)]
        );
        assert_eq!(file.version, VERSION);
    }

    #[test]
    fn minimal_file_is_a_regression_model() -> Result<()> {
        let text = r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#;
        let m = Model::from_json(text, "m.json")?;
        assert_eq!(m.task, Task::Regression);
        assert_eq!(m.provenance, None);
        let mut out = [0.0];
        m.predict(&[1.0, 1.0], &mut out)?;
        assert_eq!(out, [6.0]);
        Ok(())
    }

    #[test]
    fn bad_models_are_named() {
        let err = |text: &str| Model::from_json(text, "m.json").unwrap_err().to_string();
        let e = err(
            r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
            "layers": [{"activation": "swish", "weights": [[2.0]], "bias": [1.0]}]}"#,
        );
        assert!(e.starts_with("m.json:2:") && e.contains("swish"), "{e}");
        let e = err(
            r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
            "layers": [{"activation": "relu", "weights": [[2.0], [1.0]], "bias": [1.0]},
                       {"activation": "relu", "weights": [[2.0, 1.0], [0.0, 1.0]], "bias": [1.0, 2.0]}]}"#,
        );
        assert_eq!(
            e,
            "m.json: layer 1: weights has 2 rows, expected 1 (the width of layer 1)"
        );
        let e = err(
            r#"{"format": "backprop-mlp", "version": 1, "loss": "squared", "inputs": ["a", "a"],
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#,
        );
        assert_eq!(
            e,
            "m.json: column \"a\" is listed twice in \"inputs\" (entry 1)"
        );
        let e = err(
            r#"{"format": "backprop-mlp", "version": 3, "loss": "squared",
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#,
        );
        assert_eq!(
            e,
            "m.json: version 3 is not supported (this program reads versions 1 and 2)"
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_diverged_models_are_not_saved() -> Result<()> {
        let m = model();
        let text = format!("\u{feff}{}", m.to_json()?);
        assert_eq!(Model::from_json(&text, "m.json")?, m);
        let mut bad = m.clone();
        bad.network.params_mut().next().unwrap()[0] = f64::NAN;
        assert!(matches!(bad.to_json(), Err(Error::NotFinite)));
        Ok(())
    }

    #[test]
    fn pretty_json_keeps_number_rows_on_one_line() {
        let value = serde_json::json!({"a": [[0.1, 2.0], [1e-300, -3.5]], "d": []});
        let text = pretty_json(&value).unwrap();
        assert!(text.contains("[0.1, 2.0]"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
