//! [`RewardError`]: why a reward could not score a batch.

/// Errors of a [`Reward`](super::Reward). Each names the reward (its
/// [`name`](super::Reward::name)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewardError {
    /// The reward's own machinery failed (a model, a server, a program); `source` says why.
    #[error("reward `{reward}`: {source}")]
    Failed {
        /// The reward's name.
        reward: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The reward returned a number of scores other than the number of samples.
    #[error("reward `{reward}`: returned {got} scores for {expected} samples")]
    Count {
        /// The reward's name.
        reward: String,
        /// Samples in the batch.
        expected: usize,
        /// Scores returned.
        got: usize,
    },
    /// A score is NaN or infinite.
    #[error("reward `{reward}`: the score of sample {index} is {value}, not a finite number")]
    NonFinite {
        /// The reward's name.
        reward: String,
        /// Index of the sample in the batch.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Dense rewards have the wrong shape.
    #[error("reward `{reward}`: dense rewards of shape {got:?}, expected {expected:?}")]
    DenseShape {
        /// The reward's name.
        reward: String,
        /// `[N, T]` of the input's tensors.
        expected: [usize; 2],
        /// What was returned.
        got: [usize; 2],
    },
    /// The reward needs something the input does not carry (e.g. token tensors).
    #[error("reward `{reward}`: needs {what}, which the input does not carry")]
    Missing {
        /// The reward's name.
        reward: String,
        /// What is missing.
        what: &'static str,
    },
}

impl RewardError {
    /// Wraps any error of the reward named `reward`.
    pub fn failed(
        reward: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Failed {
            reward: reward.into(),
            source: source.into(),
        }
    }
}
