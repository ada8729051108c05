//! PPO's clipped value-function loss.

use burn::tensor::Tensor;
use kl_control::{TokenMask, masked_mean_batch};

use crate::rl_error::{RlError, RlResult, bool_mask, check_non_empty, check_shape};

/// What [`clipped_value_loss`] returns.
#[derive(Clone, Debug)]
pub struct ValueLoss {
    /// `[1]`: the loss, differentiable w.r.t. `values`.
    pub loss: Tensor<1>,
    /// `[1]`, detached: the fraction of masked tokens where the clipped error is the larger
    /// one, i.e. the clip is active (TRL `val/clipfrac_avg`, verl `vf_clipfrac`).
    pub clip_frac: Tensor<1>,
}

/// The clipped value loss of PPO as implemented in OpenAI's baselines and TRL's `PPOTrainer`
/// (`trl/experimental/ppo/ppo_trainer.py`, `vpredclipped`, `vf_losses1/2`, `vf_loss`,
/// `vf_clipfrac`; not in the PPO paper, whose value loss is the plain squared error):
///
/// ```text
/// V_clip = clamp(V, V_old − c, V_old + c)           = V_old + clamp(V − V_old, −c, c)
/// loss   = ½ · masked_mean(max((V − R)², (V_clip − R)²))
/// clip_frac = masked_mean([(V_clip − R)² > (V − R)²])
/// ```
///
/// `values [B, T]` are the critic's current predictions (with gradients), `old_values` those
/// of the rollout and `returns` the targets (e.g. GAE's `A + V_old`); both are detached here.
/// The gradient w.r.t. `V` is `(V − R)/N` where the unclipped error is the larger and 0 where
/// the clipped one is (V outside the band and moving away from R).
///
/// The mean is over the given mask; TRL's `PPOTrainer` uses one position more per row
/// (`padding_mask_p1`, the position after the last token, where it puts the score). An empty
/// mask gives 0. Positions outside the mask are ignored (NaN there is harmless).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `old_values`, `returns` or `mask` is not the
/// `[B, T]` of `values` or a dimension is 0; [`RlError::Argument`](crate::RlError::Argument)
/// if `clip_range` is negative or not finite (TRL `cliprange_value`, default 0.2).
pub fn clipped_value_loss(
    values: Tensor<2>,
    old_values: Tensor<2>,
    returns: Tensor<2>,
    mask: impl TokenMask,
    clip_range: f64,
) -> RlResult<ValueLoss> {
    const PLACE: &str = "clipped_value_loss";
    let dims = values.dims();
    check_non_empty(PLACE, "values", &dims)?;
    check_shape(PLACE, "old_values", &dims, &old_values.dims())?;
    check_shape(PLACE, "returns", &dims, &returns.dims())?;
    let mask = bool_mask(PLACE, dims, mask)?;
    if !(clip_range.is_finite() && clip_range >= 0.0) {
        return Err(RlError::Argument {
            place: PLACE,
            argument: "clip_range",
            message: format!("must be finite and ≥ 0, got {clip_range}"),
        });
    }
    let off = mask.clone().bool_not();
    let v = values.mask_fill(off.clone(), 0.0);
    let old = old_values.detach().mask_fill(off.clone(), 0.0);
    let ret = returns.detach().mask_fill(off, 0.0);
    // clamp with tensor bounds: exactly V inside the band (no rounding of V_old + (V − V_old)).
    let v_clip = v
        .clone()
        .max_pair(old.clone() - clip_range)
        .min_pair(old + clip_range);
    let err = (v - ret.clone()).powi_scalar(2);
    let err_clip = (v_clip - ret).powi_scalar(2);
    let clip_frac = masked_mean_batch(
        err_clip
            .clone()
            .detach()
            .greater(err.clone().detach())
            .float(),
        mask.clone(),
    )?;
    let loss = masked_mean_batch(err.max_pair(err_clip), mask)? * 0.5;
    Ok(ValueLoss { loss, clip_frac })
}

#[cfg(test)]
mod tests {
    use super::super::super::advantage::test_util::{m2, t2, v1};
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::{Device, TensorData};

    /// c = 0.5, R = 0:
    /// - V_old 0, V 1: V_clip 0.5; errors 1 and 0.25: max 1 (unclipped larger).
    /// - V_old 0, V −2, R −3: V_clip −0.5; errors 1 and 6.25: max 6.25 (clip active).
    /// - V_old 1, V 1.2, R 0: inside the band, errors equal 1.44.
    #[test]
    fn hand_computed() {
        let v = t2(&[&[1.0, -2.0, 1.2, f32::NAN]]);
        let old = t2(&[&[0.0, 0.0, 1.0, 0.0]]);
        let ret = t2(&[&[0.0, -3.0, 0.0, f32::INFINITY]]);
        let m = m2(&[&[1, 1, 1, 0]]);
        let out = clipped_value_loss(v, old, ret, m, 0.5).unwrap();
        let loss = v1(out.loss)[0] as f64;
        assert_relative_eq!(loss, 0.5 * (1.0 + 6.25 + 1.44) / 3.0, epsilon = 1e-6);
        assert_relative_eq!(v1(out.clip_frac)[0] as f64, 1.0 / 3.0, epsilon = 1e-6);
    }

    #[test]
    fn gradient_is_zero_where_the_clipped_error_dominates() {
        let dev = Device::flex().autodiff();
        let mk = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, 3]), &dev);
        let v = mk(vec![1.0, -2.0, f32::NAN]).require_grad();
        let m =
            Tensor::<2, burn::tensor::Int>::from_data(TensorData::new(vec![1, 1, 0], [1, 3]), &dev);
        let out = clipped_value_loss(
            v.clone(),
            mk(vec![0.0, 0.0, 0.0]),
            mk(vec![0.0, -3.0, 0.0]),
            m,
            0.5,
        )
        .unwrap();
        let g: Vec<f32> = v
            .grad(&out.loss.backward())
            .unwrap()
            .try_into_vec_as()
            .unwrap();
        // ½ · mean over 2 tokens of (V − R)²: ∂/∂V = (V − R)/2 = 0.5 for the first token.
        assert_eq!(g, vec![0.5, 0.0, 0.0]);
    }

    #[test]
    fn arguments_are_validated() {
        let x = t2(&[&[1.0, 2.0]]);
        let m = m2(&[&[1, 1]]);
        let e = clipped_value_loss(x.clone(), x.clone(), x.clone(), m.clone(), -0.2);
        assert_eq!(
            e.unwrap_err().to_string(),
            "clipped_value_loss: `clip_range` must be finite and ≥ 0, got -0.2"
        );
        let e = clipped_value_loss(x.clone(), x.clone(), t2(&[&[1.0]]), m, 0.2);
        assert_eq!(
            e.unwrap_err().to_string(),
            "clipped_value_loss: `returns` has shape [1, 1], expected [1, 2]"
        );
        let empty = clipped_value_loss(x.clone(), x.clone(), x, m2(&[&[0, 0]]), 0.2).unwrap();
        assert_eq!(
            (v1(empty.loss), v1(empty.clip_frac)),
            (vec![0.0], vec![0.0])
        );
    }
}
