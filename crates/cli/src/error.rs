//! [`CliError`]: what the command line reports, each naming the place at fault.

use std::path::PathBuf;

use train::ConfigError;

/// Why a command failed. Configuration errors name the file, the key and (where the file
/// sets the key) the line; `--set` errors name the argument.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The configuration file cannot be read.
    #[error("config file {}: {source}", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, or names an unknown key, or holds a value
    /// of the wrong type (the message gives line and column).
    #[error("config file {}: {message}", path.display())]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// toml's message, with the line, the column and the offending text.
        message: String,
    },
    /// A `--set key=value` override is malformed or does not fit the configuration.
    #[error("--set {arg}: {message}")]
    Override {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
    /// A configuration value is out of its domain.
    #[error("{place}: {source}")]
    Invalid {
        /// Where the value comes from: `file.toml, line 3`, `--set train.steps=0`, or
        /// `the default`.
        place: String,
        /// The field and why.
        source: ConfigError,
    },
    /// SFT or DPO failed.
    #[error(transparent)]
    Policy(Box<policy_opt::RunError>),
    /// The reward-model run failed.
    #[error(transparent)]
    Reward(Box<reward_model::RewardRunError>),
    /// An RLAIF stage (AI feedback, critique → revision) failed.
    #[error(transparent)]
    Judge(Box<rlaif_judge::JudgeRunError>),
    /// Loading a model or generating failed.
    #[error(transparent)]
    Lm(#[from] lm::LmError),
    /// Generation's inputs are unusable (e.g. a prompt the template cannot render).
    #[error("generate: {0}")]
    Generate(String),
}

impl From<policy_opt::RunError> for CliError {
    fn from(e: policy_opt::RunError) -> Self {
        Self::Policy(Box::new(e))
    }
}

impl From<reward_model::RewardRunError> for CliError {
    fn from(e: reward_model::RewardRunError) -> Self {
        Self::Reward(Box::new(e))
    }
}

impl From<rlaif_judge::JudgeRunError> for CliError {
    fn from(e: rlaif_judge::JudgeRunError) -> Self {
        Self::Judge(Box::new(e))
    }
}
