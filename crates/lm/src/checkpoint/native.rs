//! The crate's own checkpoint folder: `model.safetensors` + `config.json` (+ `lora.json`
//! when the model carries LoRA adapters).

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::Device;
use serde::Serialize;
use serde_json::Value;

use super::row_blocks::{load_module_file, module_to_bytes};
use super::write_atomic;
use crate::config::TransformerConfig;
use crate::error::LmError;
use crate::lora::{LoraConfig, LoraModel};
use crate::model::gemma::Gemma3Config;
use crate::model::{Gemma3, LanguageModel, Transformer};

/// Weights file inside a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Config file inside a checkpoint folder.
pub const CONFIG_FILE: &str = "config.json";
/// LoRA configuration inside a checkpoint folder of a model with adapters (the adapters'
/// factors are in the weights file with the base weights).
pub const LORA_FILE: &str = "lora.json";

/// `config.json` key naming the family in folders written by [`save_language_model`]
/// (`"transformer"` or `"gemma3"`; absent means `"transformer"`).
pub const FAMILY_KEY: &str = "family";

/// Saves `model` (and its adapters, if any) into the folder `dir` (created if needed).
pub fn save_model(model: &Transformer, dir: &Path) -> Result<(), LmError> {
    save_folder(
        model,
        &model.config,
        "transformer",
        model.lora_config(),
        dir,
    )
}

/// Saves a model of any family into the folder `dir`: `config.json` is the family's config
/// with a `"family"` key, `model.safetensors` the weights under burn's module paths (the same
/// folder layout as [`save_model`], which [`load_model`] reads for the Transformer family).
pub fn save_language_model(model: &LanguageModel, dir: &Path) -> Result<(), LmError> {
    match model {
        LanguageModel::Transformer(m) => save_model(m, dir),
        LanguageModel::Gemma3(m) => save_folder(m, &m.config, "gemma3", m.lora_config(), dir),
    }
}

fn save_folder<M: Module, C: Serialize>(
    model: &M,
    config: &C,
    family: &str,
    lora: Option<&LoraConfig>,
    dir: &Path,
) -> Result<(), LmError> {
    let path = dir.join(WEIGHTS_FILE);
    write_atomic(&path, &module_to_bytes(model, &path)?)?;
    let config_path = dir.join(CONFIG_FILE);
    let json_err = |file: &Path, e: serde_json::Error| LmError::checkpoint(file, e.to_string());
    let mut value = serde_json::to_value(config).map_err(|e| json_err(&config_path, e))?;
    if let Value::Object(map) = &mut value {
        map.insert(FAMILY_KEY.into(), Value::String(family.into()));
    }
    let bytes = serde_json::to_vec_pretty(&value).map_err(|e| json_err(&config_path, e))?;
    write_atomic(&config_path, &bytes)?;
    let lora_path = dir.join(LORA_FILE);
    match lora {
        Some(l) => {
            let bytes = serde_json::to_vec_pretty(l).map_err(|e| json_err(&lora_path, e))?;
            write_atomic(&lora_path, &bytes)
        }
        None if lora_path.exists() => {
            std::fs::remove_file(&lora_path).map_err(|e| LmError::io("removing", &lora_path, e))
        }
        None => Ok(()),
    }
}

/// Reads the config of the checkpoint in `dir`.
pub fn load_config(dir: &Path) -> Result<TransformerConfig, LmError> {
    let path = dir.join(CONFIG_FILE);
    let (family, value) = read_family(&path)?;
    if family != "transformer" {
        return Err(LmError::checkpoint(
            &path,
            format!(
                "field `{FAMILY_KEY}`: expected `transformer`, got `{family}` (use \
                 load_language_model)"
            ),
        ));
    }
    let config: TransformerConfig = parse_config(&path, value)?;
    config.validate()?;
    Ok(config)
}

fn parse_config<C: serde::de::DeserializeOwned>(path: &Path, value: Value) -> Result<C, LmError> {
    serde_json::from_value(value).map_err(|e| LmError::checkpoint(path, e.to_string()))
}

/// The `family` key (default `transformer`) and the config without it.
fn read_family(path: &Path) -> Result<(String, Value), LmError> {
    let mut value = super::hf_json::read_json(path)?;
    let family = match value.as_object_mut().and_then(|m| m.remove(FAMILY_KEY)) {
        None => "transformer".to_string(),
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(LmError::checkpoint(
                path,
                format!("field `{FAMILY_KEY}`: expected a string, got {other}"),
            ));
        }
    };
    Ok((family, value))
}

/// The LoRA configuration of the checkpoint in `dir`, if it has one.
fn load_lora(dir: &Path) -> Result<Option<LoraConfig>, LmError> {
    let path = dir.join(LORA_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let config: LoraConfig = parse_config(&path, super::hf_json::read_json(&path)?)?;
    config
        .validate()
        .map_err(|e| LmError::checkpoint(&path, e.to_string()))?;
    Ok(Some(config))
}

/// Loads the checkpoint in `dir` onto `device`. Every parameter of the model must be in
/// the file and every tensor of the file must be used. With a `lora.json` the adapters are
/// attached first ([`LoraModel::with_lora`], so the base is frozen) and loaded too.
pub fn load_model(dir: &Path, device: &Device) -> Result<Transformer, LmError> {
    let config = load_config(dir)?;
    fill(Transformer::new(&config, 0, device)?, dir)
}

/// Loads a folder written by [`save_language_model`] (or [`save_model`]) onto `device`.
pub fn load_language_model(dir: &Path, device: &Device) -> Result<LanguageModel, LmError> {
    let path = dir.join(CONFIG_FILE);
    let (family, value) = read_family(&path)?;
    match family.as_str() {
        "transformer" => Ok(LanguageModel::Transformer(load_model(dir, device)?)),
        "gemma3" => {
            let config: Gemma3Config = parse_config(&path, value)?;
            config
                .validate()
                .map_err(|e| LmError::checkpoint(&path, e.to_string()))?;
            let model = fill(Gemma3::new(&config, 0, device)?, dir)?;
            Ok(LanguageModel::Gemma3(model))
        }
        other => Err(LmError::checkpoint(
            &path,
            format!("field `{FAMILY_KEY}`: expected `transformer` or `gemma3`, got `{other}`"),
        )),
    }
}

/// Attaches the folder's adapters (if any) to `model` and loads every weight into it.
fn fill<M: LoraModel + ModuleSnapshot>(model: M, dir: &Path) -> Result<M, LmError> {
    let model = match load_lora(dir)? {
        Some(lora) => model.with_lora(&lora)?,
        None => model,
    };
    load_module_file(model, &dir.join(WEIGHTS_FILE))
}
