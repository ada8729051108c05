//! The error type shared by the training utilities.

use std::path::PathBuf;

use rlhf_core::ConfigError;

/// Errors raised by the training utilities (metrics files, plots, schedule configuration).
///
/// Every message names the file (and line) or the configuration field at fault, so that it can
/// be shown to a user as is. The enum is `#[non_exhaustive]`: the training loop adds variants
/// (non-finite loss, checkpoints, ...), so match it with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Reading, writing, creating or renaming a metrics file failed.
    #[error("metrics file {}: {source}", path.display())]
    MetricsIo {
        /// The metrics file (or its temporary sibling) being accessed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A line of a metrics file is not a valid metrics record.
    #[error("metrics file {}, line {line}: malformed record: {source}", path.display())]
    MetricsParse {
        /// The metrics file.
        path: PathBuf,
        /// The 1-based line number of the malformed record.
        line: usize,
        /// What is wrong with the line (the JSON parser's error).
        #[source]
        source: serde_json::Error,
    },

    /// A metrics record could not be serialized to JSON.
    #[error("metrics file {}: cannot serialize record for step {step}: {source}", path.display())]
    MetricsSerialize {
        /// The metrics file being written.
        path: PathBuf,
        /// The step of the record.
        step: usize,
        /// The underlying serializer error.
        #[source]
        source: serde_json::Error,
    },

    /// Drawing or saving a plot failed.
    #[error("plot {}: {message}", path.display())]
    Plot {
        /// The image file being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },

    /// A learning-rate schedule configuration is invalid (the field is the schedule's,
    /// e.g. `warmup_steps`).
    #[error("invalid learning-rate schedule: {0}")]
    Schedule(ConfigError),

    /// A trainer setting is invalid (the field is the trainer's, e.g. `grad_accum`).
    #[error("invalid trainer config: {0}")]
    Config(#[from] ConfigError),

    /// Training produced a NaN or infinite value; the run stopped before applying it.
    #[error(
        "non-finite {what} ({value}) at step {step}; stopped without updating the model. \
         Last good checkpoint: {}",
        last_checkpoint.as_ref().map_or("none written yet".to_string(), |p| p.display().to_string())
    )]
    NonFinite {
        /// The optimizer step (1-based) that produced it.
        step: usize,
        /// What was non-finite (`loss`, `gradient norm`).
        what: &'static str,
        /// The value.
        value: f64,
        /// The newest checkpoint, left untouched.
        last_checkpoint: Option<PathBuf>,
    },

    /// Writing or reading a trainer checkpoint failed.
    #[error("checkpoint {}: {source}", path.display())]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong: an [`std::io::Error`], a [`serde_json::Error`] or burn's
        /// recorder error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Preparing the data failed.
    #[error("data: {0}")]
    Data(String),

    /// A method's step failed on a batch (e.g. a batch that does not fit the loss).
    #[error("{method} step {step}: {source}")]
    Step {
        /// The method's name.
        method: String,
        /// The optimizer step (1-based) being computed.
        step: usize,
        /// Why.
        #[source]
        source: crate::method::StepError,
    },

    /// The state a method stored with a checkpoint cannot be read back.
    #[error("checkpoint {}: method state: {source}", path.display())]
    MethodState {
        /// The checkpoint's `state.json`.
        path: PathBuf,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result alias for the training utilities.
pub type TrainResult<T> = Result<T, TrainError>;
