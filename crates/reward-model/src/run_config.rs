//! [`RewardRunConfig`]: everything one reward-model run needs, as one TOML/serde document.

use std::path::PathBuf;

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
    /// The backbone: a Hugging Face folder (Llama, Qwen, Mistral, GPT-2, Gemma 3 families), a
    /// Gemma 3 `.gguf` file, or a folder of this project (e.g. an SFT run's `model/`).
    /// Required.
    pub model: PathBuf,
    /// Freeze the embeddings and this many lowest blocks. Default 0 (TRL trains all).
    pub freeze_layers: usize,
    /// Train LoRA adapters on the backbone (Hu et al. 2021; TRL's `peft_config`) instead of
    /// its weights: the backbone is frozen and only the adapters and the scalar head train;
    /// the saved model holds the merged weights. Unset: full fine-tuning. Default unset.
    pub lora: Option<lm::lora::LoraConfig>,
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
            lora: None,
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
            return Err(ConfigError::new("out", "a run folder", "nothing"));
        }
        if let Some(got) = lm::checkpoint::model_path_problem(&self.model) {
            return Err(ConfigError::new(
                "model",
                "a model folder or .gguf file",
                got,
            ));
        }
        if let Some(lora) = &self.lora {
            lora.validate().map_err(|e| match e {
                // LoRA's fields already carry their `lora.` prefix.
                lm::LmError::Config(e) => e,
                other => ConfigError::new("lora", "a valid LoRA configuration", other),
            })?;
            if self.freeze_layers > 0 {
                return Err(ConfigError::new(
                    "freeze_layers",
                    "0 with `lora` (the adapters already freeze the whole backbone)",
                    self.freeze_layers,
                ));
            }
        }
        if self.calibration_bins == 0 {
            return Err(ConfigError::new("calibration_bins", "at least 1", 0));
        }
        self.data.validate().map_err(|e| e.within("data"))?;
        self.train.validate().map_err(|e| e.within("train"))?;
        self.loss.init().map_err(|e| match e {
            crate::RmError::Config(e) => e.within("loss"),
            other => ConfigError::new("loss", "a valid loss configuration", other),
        })?;
        Ok(())
    }
}
