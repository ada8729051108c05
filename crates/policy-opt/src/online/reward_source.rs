//! [`RewardSource`]: where the reward of an online run comes from, as configuration — a
//! reward-model folder or OpenAI-style graders — and how it is built.

use std::path::PathBuf;

use burn::tensor::Device;
use lm::tokenizer::Tokenizer;
use rlaif_judge::GraderReward;
use rlaif_judge::grader::{BuildContext, load_graders};
use rlhf_core::Reward;
use serde::{Deserialize, Serialize};

use crate::run_error::RunError;
use crate::train::ConfigError;

/// A reward model saved by a reward-model run (`<out>/model`: weights, tokenizer,
/// `normalizer.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardModelSource {
    /// The folder. Required.
    pub path: PathBuf,
    /// Normalise the scores by the mean and standard deviation saved with the model (its
    /// held-out rewards), so that they have mean 0 and std 1 on the data (OpenRLHF's
    /// `normalize_reward`; TRL centres rewards while training the model instead). Default
    /// true.
    pub normalize: bool,
    /// Rows scored per forward pass. Default 16.
    pub batch_size: usize,
}

impl Default for RewardModelSource {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            normalize: true,
            batch_size: 16,
        }
    }
}

impl RewardSource {
    /// The reward model saved in `path`, with the default settings (normalised, 16 rows
    /// per pass).
    pub fn model(path: impl Into<PathBuf>) -> Self {
        Self::Model(RewardModelSource {
            path: path.into(),
            ..RewardModelSource::default()
        })
    }
}

/// Graders in OpenAI's grader format (TOML or JSON; see [`rlaif_judge::grader`]), as
/// reinforcement fine-tuning uses them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GraderSource {
    /// The grader file (`.toml` or `.json`). Required.
    pub path: PathBuf,
    /// Which grader of the file (its `name`); unset: the file must hold exactly one
    /// (combine several with a `multi` grader). Default unset.
    pub name: Option<String>,
}

/// Where an online run's reward comes from (`kind = "model" | "graders"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RewardSource {
    /// A reward model ([`RewardModelSource`]).
    Model(RewardModelSource),
    /// Graders ([`GraderSource`]); graders that call a model (`score_model`,
    /// `label_model`) need one registered in code and are refused here.
    Graders(GraderSource),
}

impl Default for RewardSource {
    fn default() -> Self {
        Self::Model(RewardModelSource::default())
    }
}

impl RewardSource {
    /// Checks the settings and that the paths exist (cheap, before loading). Fields are
    /// named relative to the `[reward]` table.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Model(m) => {
                crate::run_error::check_model_path("path", &m.path)?;
                if m.batch_size == 0 {
                    return Err(ConfigError::new("batch_size", "at least 1", 0));
                }
            }
            Self::Graders(g) => {
                if !g.path.is_file() {
                    return Err(ConfigError::new(
                        "path",
                        "a grader file (.toml or .json)",
                        if g.path.as_os_str().is_empty() {
                            "nothing (it is required)".to_string()
                        } else {
                            format!("{} (not found)", g.path.display())
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the reward on `device` (the plain device). `policy_tokenizer`, the policy's,
    /// decides whether a reward model scores the policy's token ids (the same vocabulary)
    /// or re-encodes the text with its own.
    pub fn build(
        &self,
        policy_tokenizer: &Tokenizer,
        device: &Device,
    ) -> Result<Box<dyn Reward>, RunError> {
        match self {
            Self::Model(m) => {
                let reward =
                    reward_model::load_reward(&m.path, m.normalize, Some(policy_tokenizer), device)
                        .map_err(|e| RunError::Reward {
                            path: m.path.clone(),
                            source: e.into(),
                        })?;
                Ok(Box::new(reward.with_batch_size(m.batch_size)))
            }
            Self::Graders(g) => Ok(Box::new(GraderReward::from_boxed(grader(g)?))),
        }
    }
}

fn grader(g: &GraderSource) -> Result<Box<dyn rlaif_judge::grader::Grader>, RunError> {
    let origin = g.path.display().to_string();
    let fail = |e: crate::run_error::BoxError| RunError::Reward {
        path: g.path.clone(),
        source: e,
    };
    let configs = load_graders(&g.path).map_err(|e| fail(e.into()))?;
    let names: Vec<&str> = configs.iter().map(|c| c.name()).collect();
    let chosen = match &g.name {
        Some(name) => configs.iter().find(|c| c.name() == name).ok_or_else(|| {
            fail(format!("no grader named {name:?} (the file has {names:?})").into())
        })?,
        None if configs.len() == 1 => &configs[0],
        None => {
            return Err(fail(
                format!(
                    "holds {} graders {names:?}: choose one with reward.name",
                    configs.len()
                )
                .into(),
            ));
        }
    };
    chosen
        .build(&BuildContext::new(), &origin)
        .map_err(|e| fail(e.into()))
}
