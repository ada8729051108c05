//! [`OnlineError`].

use std::path::PathBuf;

use rlhf_core::ConfigError;

use crate::RlError;
use crate::rollout::RolloutError;

/// Errors of an online run. Every variant that happens during training names the iteration
/// (and optimizer step); the checkpoints written before it are left untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnlineError {
    /// A setting is out of range (checked before any work).
    /// The field is a dotted path, e.g. `algorithm.beta` or `rollout.temperature`.
    #[error("online config: {0}")]
    Config(#[from] ConfigError),
    /// The rollout phase failed (generation, prompts, the reward).
    #[error("iteration {iteration}: {source}")]
    Rollout {
        /// The iteration (1-based).
        iteration: usize,
        /// Why.
        #[source]
        source: RolloutError,
    },
    /// An estimator or loss rejected its inputs.
    #[error("iteration {iteration}: {source}")]
    Estimator {
        /// The iteration (1-based).
        iteration: usize,
        /// Why.
        #[source]
        source: RlError,
    },
    /// The KL controller refused an update.
    #[error("iteration {iteration}: KL controller: {source}")]
    Kl {
        /// The iteration (1-based).
        iteration: usize,
        /// Why.
        #[source]
        source: kl_control::KlError,
    },
    /// The policy moved too far: an importance ratio or the KL to the reference exploded.
    #[error(
        "iteration {iteration}, optimizer step {step}: {what} is {value} (limit {limit}); stopped \
         before applying it. Last good checkpoint: {}",
        last_checkpoint.as_ref().map_or("none written yet".to_string(), |p| p.display().to_string())
    )]
    Diverged {
        /// The iteration (1-based).
        iteration: usize,
        /// The optimizer step (1-based) being computed (the last completed one for a rollout
        /// check).
        step: usize,
        /// `max |log π_θ − log π_old|` or `KL to the reference`.
        what: &'static str,
        /// The value.
        value: f64,
        /// The limit it exceeded.
        limit: f64,
        /// The newest checkpoint, left untouched.
        last_checkpoint: Option<PathBuf>,
    },
    /// A reference model is needed (a KL term with β > 0) but none was given.
    #[error("{algorithm} with these settings needs a reference model (a KL term with β > 0)")]
    MissingReference {
        /// The algorithm.
        algorithm: &'static str,
    },
    /// The run folder holds a checkpoint of a run with other settings.
    #[error("checkpoint at step {step} does not fit this run: {message}")]
    Resume {
        /// The checkpoint's step.
        step: usize,
        /// What differs.
        message: String,
    },
    /// The shared training engine failed (checkpoints, metrics, the NaN guard).
    #[error(transparent)]
    Train(#[from] train::TrainError),
}
