//! The built-in datasets, used by name in place of a path (`--data xor`).
//!
//! The synthetic ones are generated from the seed with `ChaCha8Rng` (stream 2, apart from the
//! streams the restarts use), so a seed names one dataset on every machine. `digits` is embedded
//! in the binary, gzip-compressed (see `data/README.md`).

use std::f64::consts::PI;
use std::io::Read;

use anyhow::{Context, Result};
use backprop_network::Loss;
use backprop_optim::{Init, Optimizer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::data::{Labeled, ReadOptions, Selection, Table, Task};

/// The gzip-compressed digits CSV.
const DIGITS_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// A built-in dataset: its name, a line about it, and the training settings it suggests.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// The name used with `--data`.
    pub name: &'static str,
    /// One line about it.
    pub about: &'static str,
    /// Settings used when the flags do not give them.
    pub preset: Preset,
}

/// Training settings a built-in dataset suggests; flags override each.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// Hidden widths.
    pub hidden: &'static [usize],
    /// Hidden activation name.
    pub activation: &'static str,
    /// Learning rate.
    pub learning_rate: f64,
    /// Epochs.
    pub epochs: usize,
    /// Validation fraction.
    pub validation: f64,
    /// The loss (`None`: cross-entropy for classes, squared for regression).
    pub loss: Option<Loss>,
    /// The initialization (`None`: He for ReLU hidden layers, else Xavier).
    pub init: Option<Init>,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Samples per step, at most the training rows.
    pub batch_size: usize,
    /// Early stopping: epochs without a better validation loss (`None`: off).
    pub patience: Option<usize>,
    /// `train` trains the chosen restart again on all rows for the chosen epochs.
    pub refit: bool,
}

impl Preset {
    /// The learning rate for `optimizer`: the preset's when the preset's rule runs (or another
    /// of the Adam family), else the lecture's `eta` for a rule the flags chose instead.
    pub fn learning_rate_for(&self, optimizer: &Optimizer) -> f64 {
        let adam = |o: &Optimizer| matches!(o, Optimizer::Adam { .. } | Optimizer::AdamW { .. });
        if adam(optimizer) == adam(&self.optimizer) {
            self.learning_rate
        } else if adam(optimizer) {
            DEFAULT_PRESET.learning_rate
        } else {
            LECTURE.learning_rate
        }
    }
}

/// The lecture's per-sample SGD, which every built-in dataset keeps (its lesson).
const LECTURE: Preset = Preset {
    hidden: &[16],
    activation: "tanh",
    learning_rate: 0.05,
    epochs: 100,
    validation: 0.2,
    loss: None,
    init: None,
    optimizer: Optimizer::Sgd,
    batch_size: 1,
    patience: None,
    refit: false,
};

/// The default settings for a user's CSV file, chosen by measurement (`benches/defaults.py`, on
/// scikit-learn's small tabular, image-like and regression datasets): `MLPClassifier()`'s network
/// and rule (100 ReLU units with Glorot's (Xavier's) uniform initialization, Adam with
/// `eta = 0.001`, batches of 200 rows, 200 epochs), with early stopping on 10 % of the rows and
/// a refit of the chosen restart on all rows, which did better than no validation on the small
/// files (iris, diabetes).
pub const DEFAULT_PRESET: Preset = Preset {
    hidden: &[100],
    activation: "relu",
    learning_rate: 0.001,
    epochs: 200,
    validation: 0.1,
    loss: None,
    init: Some(Init::XavierUniform),
    optimizer: Optimizer::ALL[3],
    batch_size: 200,
    patience: Some(10),
    refit: true,
};

/// Every built-in dataset.
pub const BUILTINS: [Builtin; 5] = [
    Builtin {
        name: "xor",
        about:
            "XOR: 200 points around the corners of [-1, 1]^2 (noise 0.2), class = x1 > 0 xor x2 > 0",
        preset: Preset {
            hidden: &[2],
            activation: "sigmoid",
            learning_rate: 0.5,
            epochs: 300,
            validation: 0.0,
            loss: Some(Loss::Squared),
            ..LECTURE
        },
    },
    Builtin {
        name: "spirals",
        about: "two interleaved spirals, 1.5 turns each: 400 points in the plane, 2 classes",
        preset: Preset {
            hidden: &[16, 16],
            activation: "tanh",
            learning_rate: 0.05,
            epochs: 200,
            validation: 0.2,
            loss: None,
            ..LECTURE
        },
    },
    Builtin {
        name: "circles",
        about: "two concentric circles of radius 0.5 and 1 (noise 0.1): 400 points, 2 classes",
        preset: Preset {
            hidden: &[8],
            activation: "tanh",
            learning_rate: 0.05,
            epochs: 100,
            validation: 0.2,
            loss: None,
            ..LECTURE
        },
    },
    Builtin {
        name: "sine",
        about: "regression: y = sin(x) + noise 0.1 for 200 x uniform in [-pi, pi]",
        preset: Preset {
            hidden: &[16],
            activation: "tanh",
            learning_rate: 0.02,
            epochs: 200,
            validation: 0.2,
            loss: None,
            ..LECTURE
        },
    },
    Builtin {
        name: "digits",
        about: "1,797 handwritten digits, 8x8 pixels (0-16), 10 classes (UCI, CC BY 4.0; embedded)",
        preset: Preset {
            hidden: &[32],
            activation: "tanh",
            learning_rate: 0.01,
            epochs: 30,
            validation: 0.2,
            loss: None,
            ..LECTURE
        },
    },
];

/// The built-in dataset called `name`, if any.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Generates (or unpacks) the built-in dataset `name` from `seed`.
///
/// # Errors
/// An unknown name; a `selection` that does not fit the dataset's columns.
pub fn load(name: &str, seed: u64, selection: &Selection) -> Result<Labeled> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(2);
    let labeled =
        |inputs: &[&str], task: Task, classes: &[&str], x: Vec<Vec<f64>>, y: Vec<Vec<f64>>| {
            Labeled::from_rows(
                name,
                inputs.iter().map(|s| s.to_string()).collect(),
                vec![if task == Task::Regression {
                    "y"
                } else {
                    "class"
                }
                .to_owned()],
                task,
                classes.iter().map(|s| s.to_string()).collect(),
                &x,
                &y,
            )
        };
    let custom = !selection.targets.is_empty() || !selection.drop.is_empty();
    let data = match name {
        "digits" => {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(DIGITS_GZ)
                .read_to_end(&mut text)
                .context("digits: the embedded data is corrupt")?;
            let table = Table::read_csv(text.as_slice(), "digits", &ReadOptions::default())?;
            let mut data = Labeled::from_table(table, selection)?;
            data.delimiter = None;
            return Ok(data);
        }
        "xor" => {
            let (x, y) = xor(&mut rng, 200, 0.2);
            labeled(&["x1", "x2"], Task::Classification, &["0", "1"], x, y)
        }
        "spirals" => {
            let (x, y) = spirals(&mut rng, 200, 0.02);
            labeled(&["x1", "x2"], Task::Classification, &["0", "1"], x, y)
        }
        "circles" => {
            let (x, y) = circles(&mut rng, 200, 0.1);
            labeled(
                &["x1", "x2"],
                Task::Classification,
                &["inner", "outer"],
                x,
                y,
            )
        }
        "sine" => {
            let (x, y) = sine(&mut rng, 200, 0.1);
            labeled(&["x"], Task::Regression, &[], x, y)
        }
        _ => anyhow::bail!(
            "{name}: no such file, nor a built-in dataset ({})",
            BUILTINS.map(|b| b.name).join(", ")
        ),
    };
    if custom {
        anyhow::bail!("--target and --drop apply to CSV files and digits, not to {name}");
    }
    if let Some(task) = selection.task {
        if task != data.task {
            anyhow::bail!("{name} is a {} dataset, not {}", data.task, task);
        }
    }
    Ok(data)
}

fn one_hot(k: usize, n: usize) -> Vec<f64> {
    let mut y = vec![0.0; n];
    y[k] = 1.0;
    y
}

fn normal(std: f64) -> Normal<f64> {
    Normal::new(0.0, std).expect("a positive finite standard deviation")
}

type Samples = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// `n` points, cycling over the corners `(±1, ±1)`, with Gaussian noise; class 1 where the signs
/// differ.
fn xor(rng: &mut ChaCha8Rng, n: usize, noise: f64) -> Samples {
    let noise = normal(noise);
    (0..n)
        .map(|i| {
            let (a, b) = (i % 2, (i / 2) % 2);
            let x1 = 2.0 * a as f64 - 1.0 + noise.sample(rng);
            let x2 = 2.0 * b as f64 - 1.0 + noise.sample(rng);
            (vec![x1, x2], one_hot(a ^ b, 2))
        })
        .unzip()
}

/// Two spirals of `per_class` points each: radius `t`, angle `3 pi t` plus `pi` for class 1,
/// `t` uniform in `[0.05, 1]`, with Gaussian noise.
fn spirals(rng: &mut ChaCha8Rng, per_class: usize, noise: f64) -> Samples {
    let noise = normal(noise);
    (0..2 * per_class)
        .map(|i| {
            let class = i % 2;
            let t: f64 = rng.random_range(0.05..1.0);
            let angle = 3.0 * PI * t + PI * class as f64;
            let x1 = t * angle.cos() + noise.sample(rng);
            let x2 = t * angle.sin() + noise.sample(rng);
            (vec![x1, x2], one_hot(class, 2))
        })
        .unzip()
}

/// Points on circles of radius 0.5 (class 0) and 1 (class 1), angle uniform, Gaussian noise.
fn circles(rng: &mut ChaCha8Rng, per_class: usize, noise: f64) -> Samples {
    let noise = normal(noise);
    (0..2 * per_class)
        .map(|i| {
            let class = i % 2;
            let r = 0.5 + 0.5 * class as f64;
            let angle: f64 = rng.random_range(0.0..2.0 * PI);
            let x1 = r * angle.cos() + noise.sample(rng);
            let x2 = r * angle.sin() + noise.sample(rng);
            (vec![x1, x2], one_hot(class, 2))
        })
        .unzip()
}

/// `y = sin(x) + noise` for `x` uniform in `[-pi, pi]`.
fn sine(rng: &mut ChaCha8Rng, n: usize, noise: f64) -> Samples {
    let noise = normal(noise);
    (0..n)
        .map(|_| {
            let x: f64 = rng.random_range(-PI..PI);
            (vec![x], vec![x.sin() + noise.sample(rng)])
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads_with_finite_values_and_depends_on_the_seed() -> Result<()> {
        for b in BUILTINS {
            let data = load(b.name, 7, &Selection::default())?;
            assert!(data.len() >= 200, "{}", b.name);
            assert!(data.x.iter().all(|v| v.is_finite()));
            assert_eq!(data.sample_x(0).len(), data.inputs.len());
            let again = load(b.name, 7, &Selection::default())?;
            assert_eq!(data.x, again.x, "{}: same seed, same data", b.name);
            if b.name != "digits" {
                let other = load(b.name, 8, &Selection::default())?;
                assert_ne!(data.x, other.x, "{}: the seed changes the data", b.name);
            }
        }
        Ok(())
    }

    #[test]
    fn digits_are_the_shared_file() -> Result<()> {
        let data = load("digits", 0, &Selection::default())?;
        assert_eq!(data.len(), 1797);
        assert_eq!(data.inputs.len(), 64);
        assert_eq!(data.task, Task::Classification);
        assert_eq!(data.classes.len(), 10);
        assert_eq!(data.classes[0], "0");
        // The first image of the file is a 0.
        assert_eq!(data.sample_y(0)[0], 1.0);
        assert_eq!(&data.sample_x(0)[..4], &[0.0, 0.0, 5.0, 13.0]);
        Ok(())
    }

    #[test]
    fn xor_labels_follow_the_corners() -> Result<()> {
        let data = load("xor", 1, &Selection::default())?;
        for k in 0..data.len() {
            let (x, y) = (data.sample_x(k), data.sample_y(k));
            let class = usize::from((x[0] > 0.0) != (x[1] > 0.0));
            // Noise 0.2 around corners at distance 1 from the axes: a sign flips rarely.
            if x[0].abs() > 0.5 && x[1].abs() > 0.5 {
                assert_eq!(y[class], 1.0, "{x:?}");
            }
        }
        Ok(())
    }
}
