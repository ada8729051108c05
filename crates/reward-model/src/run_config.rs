//! [`RewardRunConfig`]: everything one reward-model run needs, as one TOML/serde document.

use std::path::{Path, PathBuf};

use pref_data::PairDataConfig;
use serde::{Deserialize, Serialize};
use train::{ConfigError, TrainingConfig};

use crate::loss::PairwiseLossConfig;

/// The default peak learning rate of a reward-model run (TRL's `RewardConfig.learning_rate`).
pub const REWARD_DEFAULT_LR: f64 = 1e-4;

/// A reward-model run (InstructGPT's reward model, Ouyang et al. 2022 §3.5; TRL's
/// `RewardTrainer`): a scalar head on the backbone `model`, trained on preference pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardRunConfig {
    /// Run folder: `checkpoints/`, `metrics.jsonl`, `curves.png`, `report.json` and the
    /// trained `model/` (`reward_model.safetensors`, `config.json`, `tokenizer.json`,
    /// `tokenizer_config.json`, `normalizer.json`). Rerunning with the same folder resumes. Default `runs/reward`.
    pub out: PathBuf,
    /// The backbone: a Hugging Face folder or a folder of this project (e.g. an SFT run's
    /// `model/`) of the Llama/Qwen/Mistral/GPT-2 families. Required.
    pub model: PathBuf,
    /// Freeze the embeddings and this many lowest blocks. Default 0 (TRL trains all).
    pub freeze_layers: usize,
    /// Bins of the held-out calibration (ECE) in the report. Default 10.
    pub calibration_bins: usize,
    /// The preference file and its split and truncation.
    pub data: PairDataConfig,
    /// Optimizer, schedule and loop (learning rate default 1e-4, TRL's).
    pub train: TrainingConfig,
    /// The loss: `kind` (`BradleyTerry` or `SoftLabel`), `use_margin` (Llama 2's margin,
    /// default true), `center_rewards_coefficient` (Eisenstein et al. 2023; default 0, TRL
    /// suggests 0.01).
    pub loss: PairwiseLossConfig,
}

impl Default for RewardRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/reward"),
            model: PathBuf::new(),
            freeze_layers: 0,
            calibration_bins: 10,
            data: PairDataConfig::default(),
            train: TrainingConfig::default(),
            loss: PairwiseLossConfig::default(),
        }
    }
}

impl RewardRunConfig {
    /// Checks every field, and that the paths exist, without loading anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.out.as_os_str().is_empty() {
            return Err(ConfigError::expected("out", "a run folder", "nothing"));
        }
        if let Some(got) = lm::checkpoint::model_path_problem(&self.model) {
            return Err(ConfigError::expected("model", "a model folder", got));
        }
        if let Some(family) = gemma_family(&self.model) {
            return Err(ConfigError::expected(
                "model",
                "a Llama/Qwen/Mistral/GPT-2-family backbone (saving a reward model over \
                 Gemma 3 is not supported yet)",
                family,
            ));
        }
        if self.calibration_bins == 0 {
            return Err(ConfigError::expected("calibration_bins", "at least 1", 0));
        }
        self.data
            .validate()
            .map_err(|e| ConfigError::expected(format!("data.{}", e.field), e.expected, e.got))?;
        self.train.validate().map_err(|e| e.within("train"))?;
        self.loss.init().map_err(|e| match e {
            crate::RmError::Config {
                field,
                expected,
                got,
            } => ConfigError::expected(format!("loss.{field}"), expected, got),
            other => ConfigError {
                field: "loss".into(),
                message: other.to_string(),
            },
        })?;
        Ok(())
    }
}

/// `Some(description)` when `path` holds a Gemma 3 model (a GGUF file, a Hugging Face
/// `gemma3_text` folder, or a folder of this project with the `gemma3` family).
fn gemma_family(path: &Path) -> Option<String> {
    if path.extension().is_some_and(|e| e == "gguf") {
        return Some(format!("{} (a GGUF file: Gemma 3)", path.display()));
    }
    let text = std::fs::read_to_string(path.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let is_gemma = v.get("model_type").and_then(|t| t.as_str()) == Some("gemma3_text")
        || v.get(lm::checkpoint::FAMILY_KEY).and_then(|t| t.as_str()) == Some("gemma3");
    is_gemma.then(|| format!("{} (Gemma 3)", path.display()))
}
