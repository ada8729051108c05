//! [`RolloutError`].

use rlhf_core::ConfigError;

/// Errors of the rollout phase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutError {
    /// A setting is out of range.
    #[error("rollout config: {0}")]
    Config(#[from] ConfigError),
    /// Prompts could not be prepared.
    #[error("rollout prompts: {0}")]
    Prompts(String),
    /// Generation failed.
    #[error("rollout generation: {0}")]
    Generate(#[from] lm::LmError),
    /// A completion could not be decoded to text.
    #[error("rollout: decoding the completion of sample {index}: {message}")]
    Decode {
        /// The sample.
        index: usize,
        /// The tokenizer's message.
        message: String,
    },
    /// The reward failed or returned unusable scores.
    #[error(transparent)]
    Reward(#[from] rlhf_core::RewardError),
    /// A KL estimate failed.
    #[error("rollout: {0}")]
    Kl(#[from] kl_control::KlError),
    /// A tensor could not be read back from the device.
    #[error("rollout: reading {what} back from the device: {message}")]
    Device {
        /// What was read.
        what: &'static str,
        /// The backend's message.
        message: String,
    },
}
