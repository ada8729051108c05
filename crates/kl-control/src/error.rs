//! The error type of the KL utilities.

use rlhf_core::ConfigError;

/// Errors raised by the KL estimators, reductions, controllers and reward shaping.
///
/// Every message names the function or configuration field at fault and the expected versus
/// the received value, so it can be shown to a user as is. The enum is `#[non_exhaustive]`;
/// match it with a wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KlError {
    /// Two tensors that must have the same shape (or a tensor and its mask) do not.
    #[error("{place}: `{tensor}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The function that checked the shapes, e.g. `masked_mean_per_sequence`.
        place: &'static str,
        /// The argument with the unexpected shape, e.g. `mask`.
        tensor: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        got: Vec<usize>,
    },

    /// A controller configuration (or a deserialized controller state) is invalid.
    #[error("invalid KL controller config: {0}")]
    Config(#[from] ConfigError),

    /// A controller update was refused; the controller's state is unchanged.
    #[error("KL controller update refused: {message}")]
    Update {
        /// Why, including the offending values.
        message: String,
    },

    /// A scalar argument is out of its domain (e.g. a negative or non-finite `beta`).
    #[error("{place}: `{argument}` {message}")]
    Argument {
        /// The function that rejected it.
        place: &'static str,
        /// The argument's name.
        argument: &'static str,
        /// Why the value is rejected, including the value itself.
        message: String,
    },

    /// A row of a completion mask selects no token, so its sequence score has no token to
    /// be placed on.
    #[error(
        "shaped_rewards: row {row} of `completion_mask` selects no token; its score would be \
         dropped (drop the row, or give it at least one completion token)"
    )]
    EmptyCompletion {
        /// The 0-based batch row.
        row: usize,
    },
}

/// `Result` with a [`KlError`].
pub type KlResult<T> = Result<T, KlError>;

/// Checks that `got` equals `expected`, naming `place` and `tensor` otherwise.
pub(crate) fn check_shape(
    place: &'static str,
    tensor: &'static str,
    expected: &[usize],
    got: &[usize],
) -> KlResult<()> {
    if expected == got {
        Ok(())
    } else {
        Err(KlError::Shape {
            place,
            tensor,
            expected: expected.to_vec(),
            got: got.to_vec(),
        })
    }
}
