//! The exact KL(π ‖ π_ref) of the next-token distributions, when both models' logits are at hand.

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

use crate::error::{KlResult, check_shape};
use crate::masked::{TokenMask, bool_mask_for, zero_unselected};

/// The exact KL divergence between the policy's and the reference's next-token
/// distributions at every position: logits `[B, T, V]` ×2, mask `[B, T]` → `[B, T]`.
///
/// ```text
/// log p = log_softmax(logits),  log q = log_softmax(ref_logits)      (over the vocabulary)
/// KL_t(π ‖ π_ref) = Σ_v p_v (log p_v − log q_v)
/// ```
///
/// This is what the sampled estimators ([`KlEstimator`](crate::KlEstimator)) estimate, with
/// no sampling noise, at the cost of holding both `[B, T, V]` logit tensors. Terms with
/// `p_v = 0` (a `-inf` policy logit) count 0 (the `0·log 0 = 0` convention); `q_v = 0` where
/// `p_v > 0` gives `+inf`. Positions where `mask` is 0 are exactly 0, whatever the logits
/// (a fully `-inf` padding row would otherwise be NaN). Reduce with
/// [`masked_mean_per_sequence`](crate::masked_mean_per_sequence) and friends.
///
/// Alignment is the caller's: for a causal LM, logits at position `t` predict token `t + 1`,
/// so pass the logits narrowed to the scored positions and the matching (shifted) mask.
///
/// # Errors
/// [`KlError::Shape`](crate::KlError::Shape) if the logits' shapes differ or `mask` is not
/// `[B, T]`.
pub fn exact_kl(
    logits: Tensor<3>,
    ref_logits: Tensor<3>,
    mask: impl TokenMask,
) -> KlResult<Tensor<2>> {
    check_shape("exact_kl", "ref_logits", &logits.dims(), &ref_logits.dims())?;
    let [b, t, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    let logq = log_softmax(ref_logits, 2);
    let p = logp.clone().exp();
    let terms = (p.clone() * (logp - logq)).mask_fill(p.equal_elem(0.0), 0.0);
    let kl = terms.sum_dim(2).reshape([b, t]);
    let mask = bool_mask_for("exact_kl", &kl, mask)?;
    Ok(zero_unselected(kl, mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::{Device, Int};

    fn vals(t: Tensor<2>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    /// p = (¼, ¾) from logits (0, ln 3), q = (½, ½): KL = ¼ ln ½ + ¾ ln 3/2.
    /// q = (0.1, 0.2, 0.7) vs p = (0.5, 0.25, 0.25) at the second position.
    #[test]
    fn closed_form_by_hand() {
        let dev = Device::flex();
        let ln = |x: f32| x.ln();
        let logits = Tensor::<3>::from_floats(
            [[
                [0.0, ln(3.0), f32::NEG_INFINITY],
                [ln(0.5), ln(0.25), ln(0.25)],
            ]],
            &dev,
        );
        let ref_logits = Tensor::<3>::from_floats(
            [[
                [5.0, 5.0, 1.0],
                [ln(0.1) + 7.0, ln(0.2) + 7.0, ln(0.7) + 7.0],
            ]],
            &dev,
        );
        let ones = Tensor::<2, Int>::ones([1, 2], &dev);
        let kl = vals(exact_kl(logits, ref_logits, ones).unwrap());
        // The third token has p = 0 and contributes nothing; q is renormalised over all three.
        let z = 2.0 * 5f64.exp() + 1f64.exp();
        let q = [5f64.exp() / z, 5f64.exp() / z];
        let want0 = 0.25 * (0.25f64 / q[0]).ln() + 0.75 * (0.75f64 / q[1]).ln();
        let want1 =
            0.5 * (0.5f64 / 0.1).ln() + 0.25 * (0.25f64 / 0.2).ln() + 0.25 * (0.25f64 / 0.7).ln();
        assert_relative_eq!(kl[0] as f64, want0, epsilon = 1e-6);
        assert_relative_eq!(kl[1] as f64, want1, epsilon = 1e-6);
    }

    #[test]
    fn identical_logits_give_zero_and_masked_positions_are_zero() {
        let dev = Device::flex();
        let logits = Tensor::<3>::from_floats(
            [
                [[1.0, -2.0, 0.5], [3.0, 3.0, -1.0]],
                [[0.0, 0.0, 0.0], [7.0, 1.0, 2.0]],
            ],
            &dev,
        );
        let all = Tensor::<2, Int>::ones([2, 2], &dev);
        assert_eq!(
            vals(exact_kl(logits.clone(), logits.clone(), all).unwrap()),
            vec![0.0; 4]
        );
        // A fully -inf (padding) row under mask 0 is 0, not NaN.
        let pad = Tensor::<3>::full([2, 2, 3], f32::NEG_INFINITY, &dev);
        let other = logits
            .clone()
            .slice_assign([1..2, 1..2, 0..3], pad.slice([1..2, 1..2, 0..3]));
        let m = Tensor::<2, Int>::from_ints([[1, 1], [1, 0]], &dev);
        let kl = vals(exact_kl(other, logits + 0.5, m).unwrap());
        assert_eq!(kl[3], 0.0);
        assert!(kl.iter().all(|v| v.is_finite()));
        // Adding a constant to the reference logits changes nothing (softmax shift invariance).
        assert!(kl[..3].iter().all(|v| v.abs() < 1e-6));
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let dev = Device::flex();
        let a = Tensor::<3>::zeros([1, 2, 3], &dev);
        let b = Tensor::<3>::zeros([1, 2, 4], &dev);
        let m = Tensor::<2, Int>::ones([1, 2], &dev);
        assert!(exact_kl(a.clone(), b, m).is_err());
        let m = Tensor::<2, Int>::ones([2, 2], &dev);
        let err = exact_kl(a.clone(), a, m).unwrap_err();
        assert_eq!(
            err.to_string(),
            "exact_kl: `mask` has shape [2, 2], expected [1, 2]"
        );
    }
}
