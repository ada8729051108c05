//! Errors of the reward-model crate.

use std::path::PathBuf;

use rlhf_core::ConfigError;
use rlhf_core::fs::AtomicWriteError;
use thiserror::Error;

/// Everything that can go wrong configuring, training, evaluating or applying a reward model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RmError {
    /// A setting is out of range; names the field, what it must be and what it was.
    #[error("invalid reward-model config: {0}")]
    Config(#[from] ConfigError),
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
    /// Reading a file or creating a folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (a config, a normaliser, a report) could not be parsed or serialised.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's or serialiser's error (it names line and column when parsing).
        #[source]
        source: serde_json::Error,
    },
    /// A reward-model folder is incomplete or does not fit its config (a missing weights
    /// file, tensors that do not fit, an unknown family).
    #[error("{}: {message}", path.display())]
    Folder {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong, naming the tensors or key.
        message: String,
    },
    /// Writing a file atomically failed.
    #[error(transparent)]
    Write(#[from] AtomicWriteError),
    /// The shared training loop failed.
    #[error(transparent)]
    Train(#[from] train::TrainError),
    /// The language-model layer failed (e.g. loading a backbone).
    #[error(transparent)]
    Lm(#[from] lm::LmError),
}

impl RmError {
    /// A [`RmError::Config`] error: `field`, what it must be and what it was.
    pub fn config(
        field: impl Into<String>,
        expected: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::Config(ConfigError::new(field, expected, got))
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Self::Json {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn folder(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Folder {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Result with [`RmError`].
pub type RmResult<T> = Result<T, RmError>;
