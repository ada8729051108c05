//! Errors of the `lm` crate. Every variant names the place the problem was found.

use std::path::PathBuf;

use rlhf_core::ConfigError;

/// What can go wrong building, running, saving or loading a language model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LmError {
    /// A configuration value is out of range or inconsistent with another.
    #[error("invalid model config: {0}")]
    Config(#[from] ConfigError),
    /// Input tensors do not have the shape or content the call needs.
    #[error("invalid input `{what}`: expected {expected}, got {got}")]
    Input {
        /// Which argument.
        what: &'static str,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint or weight file is malformed or does not fit the model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensor or key where there is one.
        reason: String,
    },
    /// The requested backend is not compiled in or cannot start.
    #[error("device: {0}")]
    Device(String),
}

impl LmError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
