//! [`DpoRunConfig`]: everything one DPO run needs, as one TOML/serde document.

use std::path::PathBuf;

use pref_data::PairDataConfig;
use serde::{Deserialize, Serialize};

use super::DpoError;
use super::loss::DpoLossConfig;
use crate::run_error::check_model_path;
use crate::train::{ConfigError, TrainingConfig};

/// TRL's `DPOConfig.learning_rate`, the default peak learning rate of a DPO run.
pub const DPO_DEFAULT_LR: f64 = 1e-6;

/// Where the reference model's log-probs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceMode {
    /// A frozen copy of the initial policy, scored on every step (TRL's default,
    /// `precompute_ref_log_probs = false`).
    Frozen,
    /// Computed once before training and stored in `<out>/ref_logps_{train,valid}.json`,
    /// fingerprinted against the model and the data (TRL's `precompute_ref_log_probs =
    /// true`); a rerun reads them back.
    Cached,
}

/// A DPO run (Rafailov et al. 2023; TRL's `DPOTrainer`): the policy starts from `model`,
/// the reference is the same model frozen, and the loss is any of the DPO family.
///
/// ```toml
/// model = "runs/sft/model"
/// reference = "cached"
/// [data]
/// path = "prefs.jsonl"
/// [train]
/// steps = 200
/// [loss]
/// beta = 0.1
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoRunConfig {
    /// Run folder: `checkpoints/`, `metrics.jsonl`, `curves.png`, `report.json` and the
    /// trained `model/`. Rerunning with the same folder resumes from the newest checkpoint.
    /// Default `runs/dpo`.
    pub out: PathBuf,
    /// The starting policy (and reference): a Hugging Face folder, a `.gguf` file or a
    /// folder of this project (e.g. an SFT run's `model/`). Required.
    pub model: PathBuf,
    /// `frozen` or `cached` (see [`ReferenceMode`]). Default `frozen` (TRL's).
    pub reference: ReferenceMode,
    /// The preference file and its split and truncation.
    pub data: PairDataConfig,
    /// Optimizer, schedule and loop (learning rate default 1e-6, TRL's).
    pub train: TrainingConfig,
    /// The loss: `beta` 0.1, `loss_types` `["sigmoid"]`, ... (TRL's `DPOConfig`).
    pub loss: DpoLossConfig,
    /// Held-out prompts on which the trained policy samples a completion (temperature 1,
    /// at most `data.max_completion_len` tokens) to estimate its KL to the reference (k3,
    /// [`sampled_kl`](super::sampled_kl)) for the report; 0: none. Not a TRL knob (TRL logs
    /// no KL for DPO). Default 32.
    pub kl_prompts: usize,
}

impl Default for DpoRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/dpo"),
            model: PathBuf::new(),
            reference: ReferenceMode::Frozen,
            data: PairDataConfig::default(),
            train: TrainingConfig::default(),
            loss: DpoLossConfig::default(),
            kl_prompts: 32,
        }
    }
}

impl DpoRunConfig {
    /// Checks every field, and that the model and data paths exist, without loading
    /// anything. The error names the field by its dotted path (`loss.beta`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.out.as_os_str().is_empty() {
            return Err(ConfigError::new("out", "a run folder", "nothing"));
        }
        check_model_path("model", &self.model)?;
        self.data.validate().map_err(|e| e.within("data"))?;
        self.train.validate().map_err(|e| e.within("train"))?;
        self.loss.init().map_err(|e| match e {
            DpoError::Config(e) => e.within("loss"),
            other => ConfigError::new("loss", "a valid loss configuration", other),
        })?;
        Ok(())
    }
}
