//! The error of the one-call entry points ([`sft::run`](crate::sft::run()),
//! [`dpo::run`](crate::dpo::run()), [`online::run`](crate::online::run())) and what they share: loading the model bundle, writing the
//! report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use lm::LmError;
use lm::checkpoint::{ModelBundle, load_bundle};
use lm::tokenizer::TokenizerError;
use pref_data::{ChatTemplate, PipelineError, TemplateError};
use serde::Serialize;

use crate::dpo::{DpoTrainError, ReferenceError};
use crate::train::{ConfigError, MetricName, TrainError};

/// Why a run failed. Every message names the place: the config field, the file, the step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A configuration value is out of its domain (checked before any loading).
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The model could not be loaded.
    #[error("model {}: {source}", path.display())]
    Model {
        /// The model path of the configuration.
        path: PathBuf,
        /// Why.
        source: LmError,
    },
    /// The model's chat template does not load or render.
    #[error("chat template: {0}")]
    Template(#[from] TemplateError),
    /// Reading, splitting, tokenising or batching the data failed.
    #[error("data: {0}")]
    Data(#[from] PipelineError),
    /// Training or loading a tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] TokenizerError),
    /// Reference log-probs could not be computed, read or written.
    #[error("reference log-probs: {0}")]
    Reference(#[from] ReferenceError),
    /// DPO refused the data (see [`Dpo::check_data`](crate::dpo::Dpo::check_data)).
    #[error(transparent)]
    Dpo(#[from] DpoTrainError),
    /// The training loop failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The online loop failed (see [`OnlineError`](crate::online::OnlineError)).
    #[error(transparent)]
    Online(#[from] crate::online::OnlineError),
    /// Preparing prompts or sampling the held-out evaluation failed.
    #[error(transparent)]
    Rollout(#[from] crate::rollout::RolloutError),
    /// The reward of an online run (a reward-model folder, a grader file) could not be
    /// built.
    #[error("reward {}: {source}", path.display())]
    Reward {
        /// The reward's file or folder.
        path: PathBuf,
        /// Why: the loader's error (a [`reward_model::RmError`], a grader-file error), or a
        /// message when the file loads but names no usable grader.
        #[source]
        source: BoxError,
    },
    /// PPO's critic (a reward-model folder) could not be loaded.
    #[error("critic: {0}")]
    Critic(reward_model::RmError),
    /// Building a fresh model failed.
    #[error(transparent)]
    Lm(#[from] LmError),
    /// The held-out KL of a DPO run could not be estimated.
    #[error("held-out KL: {0}")]
    HeldOutKl(#[source] kl_control::KlError),
    /// Writing the run folder failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong: an [`std::io::Error`], a [`serde_json::Error`], an
        /// [`AtomicWriteError`](rlhf_core::fs::AtomicWriteError), an [`LmError`] (saving
        /// the model) or a [`DataError`](pref_data::DataError) (writing pairs).
        #[source]
        source: BoxError,
    },
}

/// A boxed error kept as a source where several error types can occur.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl RunError {
    /// A [`RunError::Write`] for `path`.
    pub(crate) fn write(path: impl Into<PathBuf>, e: impl Into<BoxError>) -> Self {
        Self::Write {
            path: path.into(),
            source: e.into(),
        }
    }
}

/// `path` names a model folder or a GGUF file (a cheap check before any loading).
pub(crate) fn check_model_path(field: &str, path: &Path) -> Result<(), ConfigError> {
    match lm::checkpoint::model_path_problem(path) {
        None => Ok(()),
        Some(got) => Err(ConfigError::new(field, "a model folder or .gguf file", got)),
    }
}

/// The model at `path` with its tokenizer and chat template, on the autodiff device.
pub(crate) fn load_model(
    path: &Path,
    device: &Device,
) -> Result<(ModelBundle, ChatTemplate), RunError> {
    let bundle =
        load_bundle(path, &device.clone().autodiff()).map_err(|source| RunError::Model {
            path: path.to_path_buf(),
            source,
        })?;
    let template = pref_data::model_chat_template(bundle.tokenizer_config.as_deref())?;
    Ok((bundle, template))
}

/// Metrics as a sorted map (for reports).
pub(crate) fn metric_map(values: Vec<(MetricName, f64)>) -> BTreeMap<String, f64> {
    values
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v))
        .collect()
}

/// Writes `report` as pretty JSON to `path`, atomically.
pub(crate) fn write_report<T: Serialize>(report: &T, path: &Path) -> Result<(), RunError> {
    let bytes = serde_json::to_vec_pretty(report).map_err(|e| RunError::write(path, e))?;
    rlhf_core::write_atomic(path, &bytes).map_err(|e| RunError::write(path, e))
}

/// Saves the trained `model` with its tokenizer as `<out>/model` (loadable by
/// [`load_bundle`]) and returns that folder.
pub(crate) fn save_model_dir(
    model: &lm::LanguageModel,
    tokenizer: &lm::tokenizer::Tokenizer,
    add_bos: bool,
    tokenizer_config: Option<&Path>,
    out: &Path,
) -> Result<PathBuf, RunError> {
    let dir = out.join("model");
    lm::checkpoint::save_bundle(model, tokenizer, add_bos, tokenizer_config, &dir)
        .map_err(|e| RunError::write(&dir, e))?;
    Ok(dir)
}

/// Creates the run folder.
pub(crate) fn create_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::write(dir, e))
}
