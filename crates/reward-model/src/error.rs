//! Errors of the reward-model crate.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong configuring, training, evaluating or applying a reward model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RmError {
    /// A setting is out of range; names the field, what it must be and what it was.
    #[error("invalid {field}: expected {expected}, got {got}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What it must be.
        expected: String,
        /// What it was.
        got: String,
    },
    /// Inputs of mismatched or unusable shape.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The expected shape or size.
        expected: String,
        /// The shape or size given.
        got: String,
    },
    /// Too little data for a statistic (e.g. a normaliser fitted on fewer than 2 rewards).
    #[error("{what}: {message}")]
    Data {
        /// Which statistic or input.
        what: &'static str,
        /// Why it cannot be computed.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The shared training loop failed.
    #[error(transparent)]
    Train(#[from] train::TrainError),
    /// The language-model layer failed (e.g. loading a backbone).
    #[error(transparent)]
    Lm(#[from] lm::LmError),
}

impl RmError {
    /// A [`RmError::Config`] error.
    pub fn config(
        field: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::Config {
            field,
            expected: expected.into(),
            got: got.to_string(),
        }
    }
}

/// Result with [`RmError`].
pub type RmResult<T> = Result<T, RmError>;
