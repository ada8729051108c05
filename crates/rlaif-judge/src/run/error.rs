//! [`JudgeRunError`]: why an RLAIF stage failed, naming the place.

use std::path::{Path, PathBuf};

use pref_data::{DataError, PipelineError};

use crate::backend::BackendError;
use crate::constitution::ConstitutionError;
use crate::critique::CritiqueError;
use crate::judge::JudgeError;

/// Why [`run_feedback`](super::run_feedback) or [`run_sl_cai`](super::run_sl_cai) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeRunError {
    /// A setting is out of its domain (checked before any loading); `field` is dotted.
    #[error("invalid config: `{field}`: expected {expected}, got {got}")]
    Config {
        /// The field.
        field: String,
        /// What it must be.
        expected: String,
        /// What it is.
        got: String,
    },
    /// A model could not be loaded.
    #[error("model {}: {message}", path.display())]
    Model {
        /// The model path.
        path: PathBuf,
        /// Why.
        message: String,
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
    #[error("{}: {message}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl JudgeRunError {
    pub(crate) fn config(field: &str, expected: &str, got: impl std::fmt::Display) -> Self {
        Self::Config {
            field: field.into(),
            expected: expected.into(),
            got: got.to_string(),
        }
    }

    pub(crate) fn write(path: &Path, e: impl std::fmt::Display) -> Self {
        Self::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
