//! Reward-model folders for any backbone family: [`ScalarRewardModel::save_any`] and
//! [`ScalarRewardModel::load_any`] over an [`lm::LanguageModel`] (the reference `Transformer`
//! families and Gemma 3), beside the Transformer-only `save`/`load`.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::Device;
use lm::checkpoint::{CONFIG_FILE, FAMILY_KEY, write_atomic};
use lm::lora::LoraModel;
use lm::{Gemma3, Gemma3Config, LanguageModel};
use serde_json::Value;

use crate::error::{RmError, RmResult};
use crate::model::{RM_WEIGHTS_FILE, ScalarRewardModel};

impl ScalarRewardModel<LanguageModel> {
    /// Saves the model into the folder `dir`: `config.json` (the backbone's config with a
    /// `"family"` key, as [`lm::checkpoint::save_language_model`] writes it) and
    /// `reward_model.safetensors` (backbone and head). LoRA adapters are merged into the
    /// saved weights (`W + (α/r)·A·B`), so the folder is a plain reward model.
    pub fn save_any(&self, dir: &Path) -> RmResult<()> {
        std::fs::create_dir_all(dir).map_err(|e| RmError::io(dir, e))?;
        let head = self.head.clone();
        match self.backbone.clone().merge_lora() {
            LanguageModel::Transformer(t) => ScalarRewardModel { backbone: t, head }.save(dir),
            LanguageModel::Gemma3(g) => {
                let config = serde_json::to_value(&g.config).map_err(|e| RmError::json(dir, e))?;
                write_weights(&ScalarRewardModel { backbone: g, head }, dir)?;
                write_config(config, "gemma3", dir)
            }
        }
    }

    /// Loads a folder written by [`save_any`](Self::save_any) (or by the Transformer-only
    /// [`save`](ScalarRewardModel::save)). Every tensor must fit the config.
    pub fn load_any(dir: &Path, device: &Device) -> RmResult<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| RmError::io(&path, e))?;
        let mut value: Value = serde_json::from_str(&text).map_err(|e| RmError::json(&path, e))?;
        let family = match value.as_object_mut().and_then(|m| m.remove(FAMILY_KEY)) {
            None => "transformer".to_string(),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(RmError::folder(
                    &path,
                    format!("`{FAMILY_KEY}`: expected a string, got {other}"),
                ));
            }
        };
        match family.as_str() {
            "transformer" => {
                let m = ScalarRewardModel::load(dir, device)?;
                Ok(ScalarRewardModel {
                    backbone: LanguageModel::Transformer(m.backbone),
                    head: m.head,
                })
            }
            "gemma3" => {
                let config: Gemma3Config =
                    serde_json::from_value(value).map_err(|e| RmError::json(&path, e))?;
                let fresh = ScalarRewardModel::new(Gemma3::new(&config, 0, device)?, 0, device);
                let m = read_weights(fresh, dir)?;
                Ok(ScalarRewardModel {
                    backbone: LanguageModel::Gemma3(m.backbone),
                    head: m.head,
                })
            }
            other => Err(RmError::folder(
                &path,
                format!("`{FAMILY_KEY}`: expected `transformer` or `gemma3`, got `{other}`"),
            )),
        }
    }
}

/// Writes `model`'s weights to `dir/reward_model.safetensors` (row-blocked embedding
/// tables stored whole, see [`lm::checkpoint::module_to_bytes`]).
pub(crate) fn write_weights<M: Module>(model: &M, dir: &Path) -> RmResult<()> {
    let path = dir.join(RM_WEIGHTS_FILE);
    write_atomic(&path, &lm::checkpoint::module_to_bytes(model, &path)?)?;
    Ok(())
}

/// Reads `dir/reward_model.safetensors` into `model`; every tensor must fit (see
/// [`lm::checkpoint::load_module_file`]).
pub(crate) fn read_weights<M: ModuleSnapshot>(model: M, dir: &Path) -> RmResult<M> {
    Ok(lm::checkpoint::load_module_file(
        model,
        &dir.join(RM_WEIGHTS_FILE),
    )?)
}

/// Writes `config` with its family key as `dir/config.json`.
fn write_config(mut config: Value, family: &str, dir: &Path) -> RmResult<()> {
    if let Value::Object(map) = &mut config {
        map.insert(FAMILY_KEY.into(), Value::String(family.into()));
    }
    let path = dir.join(CONFIG_FILE);
    let bytes = serde_json::to_vec_pretty(&config).map_err(|e| RmError::json(&path, e))?;
    write_atomic(&path, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RewardModel;
    use burn::tensor::{Int, Tensor};
    use lm::lora::{LoraConfig, LoraInit};
    use lm::{Transformer, TransformerConfig};

    fn score(rm: &ScalarRewardModel<LanguageModel>, device: &Device) -> f32 {
        let ids = Tensor::<2, Int>::from_ints([[1, 2, 3, 4]], device);
        let mask = Tensor::<2, Int>::ones([1, 4], device);
        rm.score(ids, mask).into_scalar::<f32>()
    }

    #[test]
    fn every_family_round_trips_and_adapters_are_merged() {
        let device = lm::select_device().unwrap();
        let gemma = Gemma3Config::new(64, 16, 2, 2, 1, 8, 32).with_max_seq_len(32);
        let llama = TransformerConfig::llama(64, 16, 2, 2, 1, 32);
        let backbones = [
            LanguageModel::Gemma3(Gemma3::new(&gemma, 1, &device).unwrap()),
            LanguageModel::Transformer(Transformer::new(&llama, 1, &device).unwrap()),
        ];
        for backbone in backbones {
            let rm = ScalarRewardModel::new(backbone, 2, &device);
            let dir = tempfile::tempdir().unwrap();
            rm.save_any(dir.path()).unwrap();
            let back = ScalarRewardModel::load_any(dir.path(), &device).unwrap();
            assert_eq!(score(&rm, &device), score(&back, &device));

            // With adapters whose B is not zero, the folder holds the merged weights.
            let lora = LoraConfig::new(2, 4.0).with_init(LoraInit::Random);
            let adapted = ScalarRewardModel {
                backbone: rm.backbone.clone().with_lora(&lora).unwrap(),
                head: rm.head.clone(),
            };
            let s = score(&adapted, &device);
            adapted.save_any(dir.path()).unwrap();
            let merged = ScalarRewardModel::load_any(dir.path(), &device).unwrap();
            approx::assert_relative_eq!(score(&merged, &device), s, epsilon = 1e-4);
        }
    }
}
