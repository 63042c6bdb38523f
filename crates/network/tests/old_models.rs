//! Model files written by the `backprop` binary before the format moved here (version 1, at
//! commit f904a21) still load, and predict what that binary predicted: bit for bit for the
//! sigmoid classifier, and within a few ulp for the tanh regression model, whose tanh was the C
//! library's then and is the crate's own now (within 4 ulp of it).
#![cfg(feature = "serde")]

use std::path::{Path, PathBuf};

use backprop_network::model::{Model, Task};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The rows of a CSV file of numbers and class names, without its header.
fn rows(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(fixture(name))
        .expect("the fixture exists")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn number(s: &str) -> f64 {
    s.parse().expect("a number")
}

#[test]
fn a_version_1_classifier_loads_and_predicts_as_before() -> Result<(), Box<dyn std::error::Error>> {
    let model = Model::load(&fixture("xor-v1.json"))?;
    assert_eq!(model.task, Task::Classification);
    assert_eq!(model.inputs, ["x1", "x2"]);
    assert_eq!(model.provenance, None);
    let (inputs, expected) = (rows("xor-inputs.csv"), rows("xor-v1-predictions.csv"));
    assert_eq!(inputs.len(), 200);
    let mut ws = model.network.workspace();
    let (mut scratch, mut out) = (Vec::new(), [0.0; 2]);
    for (x, want) in inputs.iter().zip(&expected) {
        let x: Vec<f64> = x.iter().map(|s| number(s)).collect();
        model.predict_to(&mut ws, &x, &mut scratch, &mut out)?;
        assert_eq!(model.class_of(&out), Some(want[0].as_str()));
        for (p, w) in out.iter().zip(&want[1..]) {
            assert_eq!(p.to_bits(), number(w).to_bits());
        }
    }
    Ok(())
}

#[test]
fn a_version_1_regression_model_loads_and_predicts_as_before(
) -> Result<(), Box<dyn std::error::Error>> {
    let model = Model::load(&fixture("sine-v1.json"))?;
    assert_eq!(model.task, Task::Regression);
    assert!(model.target_scaling.is_some());
    let (inputs, expected) = (rows("sine-inputs.csv"), rows("sine-v1-predictions.csv"));
    assert_eq!(inputs.len(), expected.len());
    let mut out = [0.0];
    for (x, want) in inputs.iter().zip(&expected) {
        model.predict(&[number(&x[0])], &mut out)?;
        let want = number(&want[0]);
        assert!(
            (out[0] - want).abs() <= 1e-14 * want.abs().max(1.0),
            "{} against {want}",
            out[0]
        );
    }
    // Saved again, it is a version 2 file that reads back to the same model.
    let dir = std::env::temp_dir().join(format!("backprop-old-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("again.json");
    model.save(&path)?;
    let text = std::fs::read_to_string(&path)?;
    assert!(text.contains("\"version\": 2"), "{text}");
    assert_eq!(Model::load(&path)?, model);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
