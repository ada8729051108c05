//! The error type of the online-RL estimators ([`crate::advantage`]) and losses
//! ([`crate::objective`]), and the argument checks they share.

#![warn(missing_docs)]

use burn::tensor::{Bool, Tensor};
use kl_control::{KlError, TokenMask};

/// Errors raised by the advantage estimators and the policy/value losses.
///
/// Every message names the function, the argument at fault and the expected versus the
/// received value, so it can be shown to a user as is. The enum is `#[non_exhaustive]`; match
/// it with a wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RlError {
    /// A tensor does not have the shape the function needs (e.g. a mask that is not `[B, T]`).
    #[error("{place}: `{argument}` has shape {got:?}, expected {expected}")]
    Shape {
        /// The function that checked the shape, e.g. `gae`.
        place: &'static str,
        /// The argument with the unexpected shape, e.g. `mask`.
        argument: &'static str,
        /// The shape(s) it may have, e.g. `[4, 7]` or `[4] or [4, 7]`.
        expected: String,
        /// The shape it has.
        got: Vec<usize>,
    },

    /// A scalar argument is out of its domain (a discount outside `[0, 1]`, a group size that
    /// does not divide the batch, a negative clip range, …).
    #[error("{place}: `{argument}` {message}")]
    Argument {
        /// The function that rejected it.
        place: &'static str,
        /// The argument's name, e.g. `gamma`.
        argument: &'static str,
        /// Why the value is rejected, including the value itself.
        message: String,
    },

    /// A value the estimator reads (one selected by the mask, for `[B, T]` inputs) is NaN or
    /// infinite.
    #[error("{place}: `{argument}` holds {got} at {index:?}; selected values must be finite")]
    NonFinite {
        /// The function that read it.
        place: &'static str,
        /// The argument, e.g. `rewards`.
        argument: &'static str,
        /// Its position: `[i]` in a vector, `[b, t]` in a matrix.
        index: Vec<usize>,
        /// The value found.
        got: f32,
    },

    /// A tensor could not be read back from its device.
    #[error("{place}: `{argument}` could not be read back from the device: {message}")]
    Device {
        /// The function that read it.
        place: &'static str,
        /// The argument being read.
        argument: &'static str,
        /// The backend's error.
        message: String,
    },

    /// An error of the KL utilities this crate builds on (reward shaping, masked reductions).
    #[error(transparent)]
    Kl(#[from] KlError),
}

/// `Result` with an [`RlError`].
pub type RlResult<T> = Result<T, RlError>;

fn dims_string(d: &[usize]) -> String {
    format!("{d:?}")
}

/// Checks that `got` equals `expected`.
pub(crate) fn check_shape(
    place: &'static str,
    argument: &'static str,
    expected: &[usize],
    got: &[usize],
) -> RlResult<()> {
    if expected == got {
        Ok(())
    } else {
        Err(RlError::Shape {
            place,
            argument,
            expected: dims_string(expected),
            got: got.to_vec(),
        })
    }
}

/// Checks that no dimension of `dims` is 0.
pub(crate) fn check_non_empty(
    place: &'static str,
    argument: &'static str,
    dims: &[usize],
) -> RlResult<()> {
    if dims.contains(&0) {
        Err(RlError::Shape {
            place,
            argument,
            expected: "no dimension of size 0".to_string(),
            got: dims.to_vec(),
        })
    } else {
        Ok(())
    }
}

/// Converts `mask` to booleans and checks that it is `[B, T]` like `values`.
pub(crate) fn bool_mask(
    place: &'static str,
    dims: [usize; 2],
    mask: impl TokenMask,
) -> RlResult<Tensor<2, Bool>> {
    let mask = mask.into_bool_mask();
    check_shape(place, "mask", &dims, &mask.dims())?;
    Ok(mask)
}

/// Checks `lo ≤ v ≤ hi` (and that `v` is finite).
pub(crate) fn check_in_range(
    place: &'static str,
    argument: &'static str,
    v: f64,
    lo: f64,
    hi: f64,
) -> RlResult<()> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(RlError::Argument {
            place,
            argument,
            message: format!("must be in [{lo}, {hi}], got {v}"),
        })
    }
}

/// Checks that `v` is finite (any sign).
pub(crate) fn check_finite(place: &'static str, argument: &'static str, v: f64) -> RlResult<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(RlError::Argument {
            place,
            argument,
            message: format!("must be finite, got {v}"),
        })
    }
}

/// Checks `group_size ≥ min` and that it divides `n`.
pub(crate) fn check_group_size(
    place: &'static str,
    argument: &'static str,
    group_size: usize,
    min: usize,
    n: usize,
) -> RlResult<()> {
    if group_size < min {
        return Err(RlError::Argument {
            place,
            argument,
            message: format!("must be ≥ {min}, got {group_size}"),
        });
    }
    if !n.is_multiple_of(group_size) {
        return Err(RlError::Argument {
            place,
            argument,
            message: format!(
                "must divide the number of rewards ({n}) into consecutive groups, got {group_size}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_function_argument_and_values() {
        assert_eq!(
            check_shape("gae", "values", &[2, 3], &[2, 4])
                .unwrap_err()
                .to_string(),
            "gae: `values` has shape [2, 4], expected [2, 3]"
        );
        assert_eq!(
            check_in_range("gae", "gamma", 1.5, 0.0, 1.0)
                .unwrap_err()
                .to_string(),
            "gae: `gamma` must be in [0, 1], got 1.5"
        );
        assert_eq!(
            check_group_size("rloo_advantages", "k", 3, 2, 8)
                .unwrap_err()
                .to_string(),
            "rloo_advantages: `k` must divide the number of rewards (8) into consecutive groups, \
             got 3"
        );
        assert_eq!(
            check_group_size("rloo_advantages", "k", 1, 2, 8)
                .unwrap_err()
                .to_string(),
            "rloo_advantages: `k` must be ≥ 2, got 1"
        );
        assert_eq!(
            check_non_empty("whiten", "values", &[0])
                .unwrap_err()
                .to_string(),
            "whiten: `values` has shape [0], expected no dimension of size 0"
        );
        let e = RlError::NonFinite {
            place: "gae",
            argument: "rewards",
            index: vec![1, 2],
            got: f32::NAN,
        };
        assert_eq!(
            e.to_string(),
            "gae: `rewards` holds NaN at [1, 2]; selected values must be finite"
        );
    }
}
