//! The model file: a network, its loss, the column names and the scaling, as JSON.
//!
//! ```text
//! {"format": "backprop-mlp", "version": 1, "loss": "squared" | "cross-entropy",
//!  "layers": [{"activation": "sigmoid", "weights": [[..n_out..], ..n_in rows], "bias": [..n_out..]}, ..],
//!  "inputs": [..], "targets": [..], "task": "regression" | "classification", "classes": [..],
//!  "input_scaling": {"mean": [..], "std": [..]} or null, "target_scaling": {..} or null}
//! ```
//! `weights[z][j]` is the lecture's `w_{i,j}(z)`, entry `(z, j)` of `W_i`. Only `format`,
//! `version`, `loss` and `layers` are required. Numbers are written as the shortest decimal that
//! reads back to the same `f64`, and read with serde_json's exact float parser, so a model
//! round-trips bit for bit.

use std::path::Path;

use anyhow::{bail, Context, Result};
use backprop_network::{Activation, Layer, Loss, Matrix, Network, Workspace};

use crate::data::{Scaling, Task};
use crate::output::write_atomic;

/// The value of `format`.
pub const FORMAT: &str = "backprop-mlp";
/// The version written and read.
pub const VERSION: u32 = 1;

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
    /// Always [`VERSION`].
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
}

impl Model {
    /// Checks a stored model and builds its network; errors name `source`.
    ///
    /// # Errors
    /// A wrong format or version, weights of the wrong shape, non-finite numbers, names or
    /// scalings that do not match the widths.
    pub fn from_file(file: ModelFile, source: &str) -> Result<Model> {
        if file.format != FORMAT {
            bail!("{source}: format is {:?}, expected {FORMAT:?}", file.format);
        }
        if file.version != VERSION {
            bail!(
                "{source}: version {} is not supported (this program reads version {VERSION})",
                file.version
            );
        }
        if file.layers.is_empty() {
            bail!("{source}: the model has no layers");
        }
        let mut layers = Vec::with_capacity(file.layers.len());
        let mut n_in = file.layers[0].weights.len();
        for (i, layer) in file.layers.iter().enumerate() {
            let rows = layer.weights.len();
            if rows != n_in {
                bail!(
                    "{source}: layer {i}: weights has {rows} rows, expected {n_in} (the width of layer {i})"
                );
            }
            let n_out = layer.bias.len();
            if n_out == 0 || rows == 0 {
                bail!("{source}: layer {i}: a layer needs at least one input and one node");
            }
            for (z, row) in layer.weights.iter().enumerate() {
                if row.len() != n_out {
                    bail!(
                        "{source}: layer {i}: weights[{z}] has {} numbers, expected {n_out} (the length of bias)",
                        row.len()
                    );
                }
            }
            let w = Matrix::from_fn(rows, n_out, |z, j| layer.weights[z][j]);
            if !w.iter().chain(&layer.bias).all(|x| x.is_finite()) {
                bail!("{source}: layer {i}: weights and biases must be finite");
            }
            layers.push(
                Layer::new(w, layer.bias.clone(), layer.activation)
                    .with_context(|| format!("{source}: layer {i}"))?,
            );
            n_in = n_out;
        }
        let network =
            Network::new(layers, file.loss).with_context(|| format!("{source}: layers"))?;
        let (n_0, n_d) = (network.inputs(), network.outputs());
        let task = file.task.unwrap_or(Task::Regression);
        if !file.inputs.is_empty() && file.inputs.len() != n_0 {
            bail!(
                "{source}: {} inputs named, the network has {n_0}",
                file.inputs.len()
            );
        }
        for (what, names) in [("inputs", &file.inputs), ("targets", &file.targets)] {
            if let Some((k, c)) = names
                .iter()
                .enumerate()
                .find(|(k, c)| names[..*k].contains(c))
            {
                bail!("{source}: column {c:?} is listed twice in {what:?} (entry {k})");
            }
        }
        match task {
            Task::Classification => {
                if n_d < 2 {
                    bail!(
                        "{source}: a classifier needs at least two classes, the network has {n_d} output"
                    );
                }
                if file.classes.len() != n_d {
                    bail!(
                        "{source}: {} classes, the network has {n_d} outputs",
                        file.classes.len()
                    );
                }
                if let Some((k, c)) = file
                    .classes
                    .iter()
                    .enumerate()
                    .find(|(k, c)| file.classes[..*k].contains(c))
                {
                    bail!("{source}: class {c:?} is listed twice in \"classes\" (entry {k})");
                }
                if file.targets.len() > 1 {
                    bail!("{source}: classification has one target column");
                }
                if file.target_scaling.is_some() {
                    bail!("{source}: a classifier has no target scaling");
                }
            }
            Task::Regression => {
                if !file.targets.is_empty() && file.targets.len() != n_d {
                    bail!(
                        "{source}: {} targets named, the network has {n_d} outputs",
                        file.targets.len()
                    );
                }
                if file.loss == Loss::CrossEntropy {
                    bail!("{source}: the cross-entropy loss is for classification");
                }
            }
        }
        for (what, scaling, n) in [
            ("input_scaling", &file.input_scaling, n_0),
            ("target_scaling", &file.target_scaling, n_d),
        ] {
            if let Some(s) = scaling {
                if s.mean.len() != n || s.std.len() != n {
                    bail!(
                        "{source}: {what} has {} means and {} deviations, expected {n}",
                        s.mean.len(),
                        s.std.len()
                    );
                }
                if !s.mean.iter().all(|x| x.is_finite())
                    || !s.std.iter().all(|x| x.is_finite() && *x > 0.0)
                {
                    bail!("{source}: {what}: means must be finite and deviations positive");
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
        })
    }

    /// The model as stored.
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
        }
    }

    /// Parses a model from JSON text; errors name `source`, and the line and column for JSON
    /// errors.
    ///
    /// # Errors
    /// Invalid JSON, unknown activations or losses, missing fields, and everything
    /// [`from_file`](Self::from_file) checks.
    pub fn from_json(text: &str, source: &str) -> Result<Model> {
        // A byte order mark, as some editors write, is not part of the JSON.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file: ModelFile = serde_json::from_str(text).map_err(|e| json_error(source, &e))?;
        Model::from_file(file, source)
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// A missing file, and as [`from_json`](Self::from_json).
    pub fn load(path: &Path) -> Result<Model> {
        let source = path.display().to_string();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{source}: cannot read"))?;
        Model::from_json(&text, &source)
    }

    /// The model as pretty JSON.
    ///
    /// # Errors
    /// A network with non-finite weights (JSON has no NaN).
    pub fn to_json(&self) -> Result<String> {
        if !self.network.is_finite() {
            bail!("the model has non-finite weights (training diverged): not saved");
        }
        crate::output::pretty_json(&self.to_file())
    }

    /// Writes the model to `path` (through a temporary file, renamed when complete).
    ///
    /// # Errors
    /// As [`to_json`](Self::to_json), and I/O errors.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_json()?.as_bytes())
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
    ) -> Result<()> {
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
}

/// `source:line:column: message` for a serde_json error.
pub fn json_error(source: &str, e: &serde_json::Error) -> anyhow::Error {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    if e.line() == 0 {
        anyhow::anyhow!("{source}: {message}")
    } else {
        anyhow::anyhow!("{source}:{}:{}: {message}", e.line(), e.column())
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
    fn weights_rows_are_inputs() -> Result<()> {
        let m = model();
        let file = m.to_file();
        assert_eq!(file.layers[0].weights.len(), 2);
        assert_eq!(
            file.layers[0].weights[1][2],
            m.network.layers()[0].weights()[(1, 2)]
        );
        Ok(())
    }

    #[test]
    fn minimal_file_is_a_regression_model() -> Result<()> {
        let text = r#"{"format": "backprop-mlp", "version": 1, "loss": "squared",
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#;
        let m = Model::from_json(text, "m.json")?;
        assert_eq!(m.task, Task::Regression);
        let mut ws = m.network.workspace();
        let mut out = [0.0];
        m.predict_to(&mut ws, &[1.0, 1.0], &mut Vec::new(), &mut out)?;
        assert_eq!(out, [6.0]);
        Ok(())
    }

    #[test]
    fn bad_models_are_named() {
        let err = |text: &str| format!("{:#}", Model::from_json(text, "m.json").unwrap_err());
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
            r#"{"format": "backprop-mlp", "version": 1, "loss": "cross-entropy",
            "task": "classification", "classes": ["a"],
            "layers": [{"activation": "identity", "weights": [[2.0], [3.0]], "bias": [1.0]}]}"#,
        );
        assert!(e.contains("at least two classes"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() -> Result<()> {
        let m = model();
        let text = format!("\u{feff}{}", m.to_json()?);
        assert_eq!(Model::from_json(&text, "m.json")?, m);
        Ok(())
    }
}
