//! The model file: its format lives in the network crate ([`backprop_network::model`]), so that a
//! library user saves and loads models without this crate; here are the command line's additions:
//! provenance of a training run, and errors as `anyhow` errors.

use anyhow::Result;

pub use backprop_network::model::{
    argmax, DataRecord, LayerFile, Model, ModelFile, Provenance, FORMAT, VERSION, VERSIONS_READ,
};

/// `source:line:column: message` for a serde_json error (the model crate's, as an `anyhow`
/// error, for the other JSON files the command line reads).
pub fn json_error(source: &str, e: &serde_json::Error) -> anyhow::Error {
    backprop_network::model::json_error(source, e).into()
}

/// The provenance of a run of this program: its version and command line, and what the caller
/// knows of the run.
pub fn provenance(
    seed: u64,
    sgd: &backprop_optim::SgdConfig,
    epochs: usize,
    data: DataRecord,
) -> Result<Provenance> {
    Ok(Provenance {
        tool: format!("backprop {}", env!("CARGO_PKG_VERSION")),
        command: std::env::args().collect(),
        seed: Some(seed),
        // The configuration as a whole: whatever optimizer and settings it carries.
        training: Some(serde_json::to_value(sgd)?),
        epochs: Some(epochs),
        data: Some(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_records_the_whole_sgd_config() -> Result<()> {
        let sgd = backprop_optim::SgdConfig {
            learning_rate: 0.25,
            ..Default::default()
        };
        let data = DataRecord {
            source: "d.csv".into(),
            rows: 3,
            fingerprint: "00".into(),
        };
        let p = provenance(9, &sgd, 4, data)?;
        assert!(p.tool.starts_with("backprop "));
        assert_eq!(p.seed, Some(9));
        let training = p.training.expect("recorded");
        assert_eq!(training, serde_json::to_value(&sgd)?);
        assert_eq!(training["learning_rate"], 0.25);
        Ok(())
    }
}
