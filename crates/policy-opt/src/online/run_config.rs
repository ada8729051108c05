//! [`OnlineRunConfig`]: everything one online run (PPO, GRPO, RLOO, REINFORCE++) needs
//! besides its reward, as one TOML/serde document.

use std::path::PathBuf;

use pref_data::PromptDataConfig;
use serde::{Deserialize, Serialize};

use super::OnlineError;
use super::config::{Algorithm, OnlineConfig};
use super::reward_source::RewardSource;
use crate::run_error::check_model_path;
use crate::train::ConfigError;

/// An online run: the policy starts from `model` and the frozen reference is the same model;
/// prompts come from `prompts`; the algorithm, sampling and optimisation are `train`
/// ([`OnlineConfig`], TRL's and OpenRLHF's defaults). The reward is given to
/// [`run`](super::run()) (a reward model, graders, a judge, any [`rlhf_core::Reward`]).
///
/// ```toml
/// model = "runs/sft/model"
/// critic = "runs/reward/model"
/// [prompts]
/// path = "prompts.jsonl"
/// [train]
/// iterations = 100
/// [train.algorithm]
/// kind = "ppo"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineRunConfig {
    /// Run folder: `checkpoints/`, `metrics.jsonl`, `curves.png`, `report.json` and the
    /// trained `model/`. Rerunning with the same folder resumes from the newest checkpoint.
    /// Default `runs/online`.
    pub out: PathBuf,
    /// The starting policy, also the frozen reference of the KL term: a Hugging Face folder,
    /// a `.gguf` file or a folder of this project (e.g. an SFT run's `model/`). Required.
    pub model: PathBuf,
    /// PPO's value function: a reward-model folder (`<out>/model` of a reward-model run)
    /// whose backbone and head start a separate critic, as TRL's `PPOTrainer` and OpenRLHF
    /// initialise the critic from the reward model (Bai et al. 2022, §4.1). Unset: a new
    /// value head on the policy's own backbone. Only for PPO. Default unset.
    pub critic: Option<PathBuf>,
    /// The prompt file and its split and truncation.
    pub prompts: PromptDataConfig,
    /// Held-out prompts sampled before and after training (reward, KL to the reference,
    /// completion length, EOS rate), and every `train.eval_every` iterations: the first this
    /// many of the held-out split; 0: none. Default 64.
    pub eval_prompts: usize,
    /// Completions sampled per held-out prompt in those evaluations. Default 1.
    pub eval_samples_per_prompt: usize,
    /// The reward (default: a reward-model folder, whose `path` must be set; ignored by
    /// [`run_with_reward`](super::run_with_reward)).
    pub reward: RewardSource,
    /// The algorithm, sampling, schedule and loop (default GRPO, 8 samples per prompt: see
    /// [`OnlineConfig::for_algorithm`]).
    pub train: OnlineConfig,
}

impl Default for OnlineRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/online"),
            model: PathBuf::new(),
            critic: None,
            prompts: PromptDataConfig::default(),
            eval_prompts: 64,
            eval_samples_per_prompt: 1,
            reward: RewardSource::default(),
            train: OnlineConfig::default(),
        }
    }
}

impl OnlineRunConfig {
    /// Checks every field, and that the model, critic, prompt and reward paths exist,
    /// without loading anything. The error names the field by its dotted path (`train.lr`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_without_reward()?;
        self.reward.validate().map_err(|e| e.within("reward"))
    }

    /// [`validate`](Self::validate) without the `reward` table, for a reward given in code.
    pub fn validate_without_reward(&self) -> Result<(), ConfigError> {
        if self.out.as_os_str().is_empty() {
            return Err(ConfigError::new("out", "a run folder", "nothing"));
        }
        check_model_path("model", &self.model)?;
        if let Some(critic) = &self.critic {
            if !matches!(self.train.algorithm, Algorithm::Ppo(_)) {
                return Err(ConfigError::new(
                    "critic",
                    "unset for a critic-free algorithm",
                    format!(
                        "{} with train.algorithm.kind = \"{}\"",
                        critic.display(),
                        self.train.algorithm.name()
                    ),
                ));
            }
            check_model_path("critic", critic)?;
        }
        self.prompts.validate().map_err(|e| e.within("prompts"))?;
        if self.eval_samples_per_prompt == 0 {
            return Err(ConfigError::new(
                "eval_samples_per_prompt",
                "at least 1",
                "0",
            ));
        }
        self.train.validate().map_err(|e| match e {
            OnlineError::Config(e) => e.within("train"),
            other => ConfigError::new("train", "valid online settings", other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::GrpoConfig;

    #[test]
    fn validation_names_the_dotted_field() {
        let mut config = OnlineRunConfig::default();
        assert_eq!(config.validate().unwrap_err().field, "model");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let prompts = dir.path().join("p.jsonl");
        std::fs::write(&prompts, "{\"prompt\": \"hi\"}\n").unwrap();
        config.model = dir.path().into();
        config.prompts.path = prompts;
        config.train.lr = f64::NAN;
        assert_eq!(config.validate().unwrap_err().field, "train.lr");
        config.train.lr = 1e-6;
        config.critic = Some(dir.path().into());
        config.train.algorithm = Algorithm::Grpo(GrpoConfig::default());
        assert_eq!(config.validate().unwrap_err().field, "critic");
        config.critic = None;
        config.prompts.valid_fraction = 1.5;
        assert_eq!(
            config.validate().unwrap_err().field,
            "prompts.valid_fraction"
        );
        config.prompts.valid_fraction = 0.1;
        assert_eq!(config.validate().unwrap_err().field, "reward.path");
        config.validate_without_reward().unwrap();
    }
}
