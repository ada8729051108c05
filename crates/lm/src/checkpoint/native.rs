//! The crate's own checkpoint folder: `model.safetensors` + `config.json`.

use std::path::Path;

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use super::write_atomic;
use crate::config::TransformerConfig;
use crate::error::LmError;
use crate::model::Transformer;

/// Weights file inside a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Config file inside a checkpoint folder.
pub const CONFIG_FILE: &str = "config.json";

/// Saves `model` into the folder `dir` (created if needed).
pub fn save_model(model: &Transformer, dir: &Path) -> Result<(), LmError> {
    let mut store = SafetensorsStore::from_bytes(None);
    model
        .save_into(&mut store)
        .map_err(|e| LmError::checkpoint(dir.join(WEIGHTS_FILE), format!("serialising: {e}")))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| LmError::checkpoint(dir.join(WEIGHTS_FILE), format!("serialising: {e}")))?;
    write_atomic(&dir.join(WEIGHTS_FILE), &bytes)?;
    let config = serde_json::to_vec_pretty(&model.config)
        .map_err(|e| LmError::checkpoint(dir.join(CONFIG_FILE), e.to_string()))?;
    write_atomic(&dir.join(CONFIG_FILE), &config)
}

/// Reads the config of the checkpoint in `dir`.
pub fn load_config(dir: &Path) -> Result<TransformerConfig, LmError> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| LmError::io("reading", &path, e))?;
    let config: TransformerConfig = serde_json::from_str(&text)
        .map_err(|e| LmError::checkpoint(&path, format!("line {}: {e}", e.line())))?;
    config.validate()?;
    Ok(config)
}

/// Loads the checkpoint in `dir` onto `device`. Every parameter of the model must be in
/// the file and every tensor of the file must be used.
pub fn load_model(dir: &Path, device: &Device) -> Result<Transformer, LmError> {
    let config = load_config(dir)?;
    let path = dir.join(WEIGHTS_FILE);
    if !path.is_file() {
        return Err(LmError::checkpoint(&path, "missing weights file"));
    }
    let mut model = Transformer::new(&config, 0, device)?;
    let mut store = SafetensorsStore::from_file(&path);
    let result = model
        .load_from(&mut store)
        .map_err(|e| LmError::checkpoint(&path, e.to_string()))?;
    if !result.missing.is_empty() || !result.unused.is_empty() || !result.errors.is_empty() {
        return Err(LmError::checkpoint(
            &path,
            format!(
                "does not fit the config: missing {:?}, unused {:?}, errors {:?}",
                result.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
                result.unused,
                result.errors
            ),
        ));
    }
    Ok(model)
}
