//! Masked reductions of per-token values (KL estimates, penalties) over sequences and batches.
//!
//! A mask selects the tokens that count (completion tokens, not prompt or padding). Masks are
//! `[B, T]` tensors of any kind ([`TokenMask`]): a position is selected when its mask value is
//! non-zero (`true`). Values at unselected positions are *ignored*, not multiplied by zero, so
//! NaN or ±inf there (e.g. log-probs of padding) cannot leak into the result.
//!
//! A row that selects no token has sum 0, count 0 and mean **0** (not NaN): the count is
//! clamped to 1 before dividing, as TRL does (`.clamp(min=1.0)`).

use burn::tensor::{Bool, Int, Tensor};

use crate::error::{KlResult, check_shape};

/// A `[B, T]` token mask: `Tensor<2, Int>`, `Tensor<2>` (float) or `Tensor<2, Bool>`.
/// Non-zero (or `true`) selects a position; float masks are not weights.
pub trait TokenMask {
    /// The mask as booleans, `true` where selected.
    fn into_bool_mask(self) -> Tensor<2, Bool>;
}

impl TokenMask for Tensor<2, Bool> {
    fn into_bool_mask(self) -> Tensor<2, Bool> {
        self
    }
}

impl TokenMask for Tensor<2, Int> {
    fn into_bool_mask(self) -> Tensor<2, Bool> {
        self.not_equal_elem(0)
    }
}

impl TokenMask for Tensor<2> {
    fn into_bool_mask(self) -> Tensor<2, Bool> {
        self.not_equal_elem(0.0)
    }
}

/// Converts `mask` to booleans and checks it has the shape of `values`.
pub(crate) fn bool_mask_for(
    place: &'static str,
    values: &Tensor<2>,
    mask: impl TokenMask,
) -> KlResult<Tensor<2, Bool>> {
    let mask = mask.into_bool_mask();
    check_shape(place, "mask", &values.dims(), &mask.dims())?;
    Ok(mask)
}

/// `values` with every unselected position set to exactly 0 (whatever it held, NaN included).
pub(crate) fn zero_unselected(values: Tensor<2>, mask: Tensor<2, Bool>) -> Tensor<2> {
    values.mask_fill(mask.bool_not(), 0.0)
}

/// `Σ_t m[b,t]·x[b,t]` per sequence: `[B, T] → [B]`.
///
/// TRL's sequence-level KL (`(kl * mask).sum(-1)`, the `objective/kl` metric of PPO and the
/// RLOO penalty) is this of the k1 estimate.
///
/// # Errors
/// [`KlError::Shape`](crate::KlError::Shape) if `mask` is not `[B, T]`.
pub fn masked_sum_per_sequence(values: Tensor<2>, mask: impl TokenMask) -> KlResult<Tensor<1>> {
    let [b, _] = values.dims();
    let mask = bool_mask_for("masked_sum_per_sequence", &values, mask)?;
    Ok(zero_unselected(values, mask).sum_dim(1).reshape([b]))
}

/// `Σ_t m·x / max(1, Σ_t m)` per sequence: `[B, T] → [B]`; 0 for a row without selected tokens.
///
/// # Errors
/// [`KlError::Shape`](crate::KlError::Shape) if `mask` is not `[B, T]`.
pub fn masked_mean_per_sequence(values: Tensor<2>, mask: impl TokenMask) -> KlResult<Tensor<1>> {
    let [b, _] = values.dims();
    let mask = bool_mask_for("masked_mean_per_sequence", &values, mask)?;
    let count = mask.clone().float().sum_dim(1).reshape([b]);
    let sum = zero_unselected(values, mask).sum_dim(1).reshape([b]);
    Ok(sum / count.clamp_min(1.0))
}

/// `Σ_{b,t} m·x / max(1, Σ_{b,t} m)`: the token-level mean over the whole batch, `[B, T] → [1]`;
/// 0 when no token is selected.
///
/// Every token weighs the same (long sequences count more). For the mean of per-sequence
/// means, use [`masked_mean_per_sequence`] followed by `.mean()`.
///
/// # Errors
/// [`KlError::Shape`](crate::KlError::Shape) if `mask` is not `[B, T]`.
pub fn masked_mean_batch(values: Tensor<2>, mask: impl TokenMask) -> KlResult<Tensor<1>> {
    let mask = bool_mask_for("masked_mean_batch", &values, mask)?;
    let count = mask.clone().float().sum();
    let sum = zero_unselected(values, mask).sum();
    Ok(sum / count.clamp_min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;
    use proptest::prelude::*;

    fn vals(t: Tensor<1>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    #[test]
    fn hand_computed_reductions() {
        let dev = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], &dev);
        let m = Tensor::<2, Int>::from_ints([[0, 1, 1, 0], [1, 1, 1, 1]], &dev);
        assert_eq!(
            vals(masked_sum_per_sequence(x.clone(), m.clone()).unwrap()),
            vec![5.0, 26.0]
        );
        assert_eq!(
            vals(masked_mean_per_sequence(x.clone(), m.clone()).unwrap()),
            vec![2.5, 6.5]
        );
        // (2 + 3 + 5 + 6 + 7 + 8) / 6
        let batch = masked_mean_batch(x.clone(), m)
            .unwrap()
            .into_scalar::<f32>();
        assert_relative_eq!(batch, 31.0 / 6.0, epsilon = 1e-6);
        // The same mask as floats and as booleans.
        let mf = Tensor::<2>::from_floats([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]], &dev);
        assert_eq!(
            vals(masked_mean_per_sequence(x.clone(), mf.clone()).unwrap()),
            vec![2.5, 6.5]
        );
        assert_eq!(
            vals(masked_mean_per_sequence(x, mf.into_bool_mask()).unwrap()),
            vec![2.5, 6.5]
        );
    }

    /// A row with no selected token gives 0, not NaN, even with NaN/inf values in it; so
    /// does a batch with no selected token at all.
    #[test]
    fn empty_rows_give_zero() {
        let dev = Device::flex();
        let x = Tensor::<2>::from_floats([[f32::NAN, f32::INFINITY], [1.0, 3.0]], &dev);
        let m = Tensor::<2, Int>::from_ints([[0, 0], [1, 1]], &dev);
        assert_eq!(
            vals(masked_mean_per_sequence(x.clone(), m.clone()).unwrap()),
            vec![0.0, 2.0]
        );
        assert_eq!(
            vals(masked_sum_per_sequence(x.clone(), m).unwrap()),
            vec![0.0, 4.0]
        );
        let none = Tensor::<2, Int>::zeros([2, 2], &dev);
        assert_eq!(
            masked_mean_batch(x, none).unwrap().into_scalar::<f32>(),
            0.0
        );
    }

    #[test]
    fn mask_shape_mismatch_is_an_error() {
        let dev = Device::flex();
        let x = Tensor::<2>::zeros([2, 3], &dev);
        let m = Tensor::<2, Int>::ones([2, 4], &dev);
        let err = masked_mean_batch(x, m).unwrap_err();
        assert_eq!(
            err.to_string(),
            "masked_mean_batch: `mask` has shape [2, 4], expected [2, 3]"
        );
    }

    fn masked_case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<i32>, Vec<f32>)> {
        (1usize..5, 1usize..7).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                proptest::collection::vec(-10.0f32..10.0, b * t),
                proptest::collection::vec(0i32..2, b * t),
                proptest::collection::vec(
                    prop_oneof![
                        -1e6f32..1e6,
                        Just(f32::NAN),
                        Just(f32::INFINITY),
                        Just(f32::NEG_INFINITY)
                    ],
                    b * t,
                ),
            )
        })
    }

    proptest! {
        /// Replacing the values at unselected positions (by anything, NaN and ±inf included)
        /// leaves all three reductions bit-for-bit unchanged.
        #[test]
        fn unselected_values_change_nothing((b, t, x, m, junk) in masked_case()) {
            let dev = Device::flex();
            let y: Vec<f32> = x.iter().zip(&m).zip(&junk)
                .map(|((x, m), j)| if *m == 0 { *j } else { *x }).collect();
            let tx = Tensor::<1>::from_floats(x.as_slice(), &dev).reshape([b, t]);
            let ty = Tensor::<1>::from_floats(y.as_slice(), &dev).reshape([b, t]);
            let tm = Tensor::<1, Int>::from_ints(m.as_slice(), &dev).reshape([b, t]);
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            prop_assert_eq!(
                bits(vals(masked_sum_per_sequence(tx.clone(), tm.clone()).unwrap())),
                bits(vals(masked_sum_per_sequence(ty.clone(), tm.clone()).unwrap())));
            prop_assert_eq!(
                bits(vals(masked_mean_per_sequence(tx.clone(), tm.clone()).unwrap())),
                bits(vals(masked_mean_per_sequence(ty.clone(), tm.clone()).unwrap())));
            prop_assert_eq!(
                bits(vals(masked_mean_batch(tx, tm.clone()).unwrap())),
                bits(vals(masked_mean_batch(ty, tm).unwrap())));
        }
    }
}
