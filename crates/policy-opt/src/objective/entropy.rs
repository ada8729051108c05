//! Token entropies of the policy and the entropy bonus.

use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use kl_control::{TokenMask, masked_mean_batch};

use crate::rl_error::{RlResult, bool_mask, check_finite, check_non_empty};

/// The entropy (in nats) of each next-token distribution, `logits [B, T, V] → [B, T]`:
///
/// ```text
/// H[b,t] = −Σ_v p_v · log p_v,    log p = log_softmax(logits[b,t,:])
/// ```
///
/// As TRL's `entropy_from_logits` (`trl/trainer/utils.py`), differentiable, on the device.
/// Tokens of zero probability contribute exactly 0 (a `−inf` logit does not give NaN).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if a dimension is 0.
pub fn entropy_from_logits(logits: Tensor<3>) -> RlResult<Tensor<2>> {
    let [b, t, v] = logits.dims();
    check_non_empty("entropy_from_logits", "logits", &[b, t, v])?;
    let logp = log_softmax(logits, 2);
    let p = logp.clone().exp();
    let zero = p.clone().equal_elem(0.0);
    let plogp = (p * logp).mask_fill(zero, 0.0);
    Ok(plogp.sum_dim(2).neg().reshape([b, t]))
}

/// The entropy bonus as a loss term: `−coef · masked_mean(entropy)` over the tokens selected by
/// `mask`, `[B, T] → [1]`, to be *added* to the policy loss (maximising entropy encourages
/// exploration).
///
/// ```text
/// L_entropy = −coef · Σ m·H / max(1, Σ m)
/// ```
///
/// As TRL 1.16's `GRPOTrainer._compute_loss` with `entropy_coef`: a token mean over the
/// micro-batch whatever the policy loss's `loss_type` (divide by the accumulation steps like
/// the other terms). verl's `entropy_coeff` weighs the same entropy, aggregated with its
/// `loss_agg_mode`. An empty mask gives 0.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `mask` is not the `[B, T]` of `entropy` or a
/// dimension is 0; [`RlError::Argument`](crate::RlError::Argument) if `coef` is not finite (a
/// negative coefficient penalises entropy).
pub fn entropy_bonus(entropy: Tensor<2>, mask: impl TokenMask, coef: f64) -> RlResult<Tensor<1>> {
    const PLACE: &str = "entropy_bonus";
    let dims = entropy.dims();
    check_non_empty(PLACE, "entropy", &dims)?;
    let mask = bool_mask(PLACE, dims, mask)?;
    check_finite(PLACE, "coef", coef)?;
    Ok(masked_mean_batch(entropy, mask)? * (-coef))
}

#[cfg(test)]
mod tests {
    use super::super::super::advantage::test_util::{m2, rows, t2, v1};
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn uniform_one_hot_and_minus_infinity() {
        let z = Tensor::<3>::from_data(
            TensorData::new(
                vec![
                    0.0f32,
                    0.0,
                    0.0,
                    0.0,
                    50.0,
                    0.0,
                    0.0,
                    0.0,
                    1.0,
                    f32::NEG_INFINITY,
                    1.0,
                    1.0,
                ],
                [1, 3, 4],
            ),
            &Device::flex(),
        );
        let h = rows(entropy_from_logits(z).unwrap());
        assert_relative_eq!(h[0][0] as f64, 4f64.ln(), epsilon = 1e-6);
        assert!(h[0][1] >= 0.0 && h[0][1] < 1e-18_f32.max(1e-6));
        assert_relative_eq!(h[0][2] as f64, 3f64.ln(), epsilon = 1e-6);
    }

    #[test]
    fn bonus_by_hand() {
        let e = t2(&[&[1.0, 2.0, f32::NAN], &[4.0, 0.0, 0.0]]);
        let m = m2(&[&[1, 1, 0], &[1, 0, 0]]);
        let b = v1(entropy_bonus(e.clone(), m.clone(), 0.1).unwrap())[0] as f64;
        assert_relative_eq!(b, -0.1 * 7.0 / 3.0, epsilon = 1e-6);
        assert_eq!(
            entropy_bonus(e, m, f64::NAN).unwrap_err().to_string(),
            "entropy_bonus: `coef` must be finite, got NaN"
        );
    }
}
