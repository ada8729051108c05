//! [`JudgeRunError`]: why an RLAIF stage failed, naming the place.

use std::path::{Path, PathBuf};

use pref_data::{DataError, PipelineError};
use rlhf_core::ConfigError;

use crate::backend::BackendError;
use crate::constitution::ConstitutionError;
use crate::critique::CritiqueError;
use crate::judge::JudgeError;

/// A boxed error kept as a source where several error types can occur.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why [`run_feedback`](super::run_feedback) or [`run_sl_cai`](super::run_sl_cai) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeRunError {
    /// A setting is out of its domain (checked before any loading); `field` is dotted.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// A model could not be loaded (or, for a server, its client could not be built).
    #[error("model {}: {source}", path.display())]
    Model {
        /// The model path (the URL for a server).
        path: PathBuf,
        /// Why: the loader's error ([`lm::LmError`],
        /// [`TemplateError`](pref_data::TemplateError), [`HttpError`](crate::http::HttpError), ...).
        #[source]
        source: BoxError,
    },
    /// The constitution could not be read.
    #[error(transparent)]
    Constitution(#[from] ConstitutionError),
    /// Reading or splitting the prompts or pairs failed.
    #[error("data: {0}")]
    Data(#[from] PipelineError),
    /// Reading a data file failed.
    #[error("data: {0}")]
    Read(#[from] DataError),
    /// Generating failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Judging failed.
    #[error(transparent)]
    Judge(#[from] JudgeError),
    /// Critique → revision failed.
    #[error(transparent)]
    Critique(#[from] CritiqueError),
    /// Writing an output failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why: an [`std::io::Error`], a [`serde_json::Error`] or an
        /// [`AtomicWriteError`](rlhf_core::fs::AtomicWriteError).
        #[source]
        source: BoxError,
    },
}

impl JudgeRunError {
    pub(crate) fn config(field: &str, expected: &str, got: impl std::fmt::Display) -> Self {
        Self::Config(ConfigError::new(field, expected, got))
    }

    pub(crate) fn write(path: &Path, e: impl Into<BoxError>) -> Self {
        Self::Write {
            path: path.to_path_buf(),
            source: e.into(),
        }
    }

    pub(crate) fn model(path: impl Into<PathBuf>, e: impl Into<BoxError>) -> Self {
        Self::Model {
            path: path.into(),
            source: e.into(),
        }
    }
}
