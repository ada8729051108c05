//! Using the KL: as a per-token reward penalty (InstructGPT-style PPO) or as a loss term (GRPO).

use burn::tensor::{Int, Tensor};

use crate::error::{KlError, KlResult, check_shape};
use crate::masked::{
    TokenMask, bool_mask_for, masked_mean_batch, masked_mean_per_sequence, zero_unselected,
};

fn check_beta(place: &'static str, beta: f64) -> KlResult<()> {
    if beta.is_finite() && beta >= 0.0 {
        Ok(())
    } else {
        Err(KlError::Argument {
            place,
            argument: "beta",
            message: format!("must be finite and ≥ 0, got {beta}"),
        })
    }
}

/// Per-token rewards with a KL penalty and the sequence score on the last completion token:
/// `kl_per_token [B, T]`, `completion_mask [B, T]`, `scores [B]` → `[B, T]`.
///
/// ```text
/// R[b, t] = −β · KL[b, t] · m[b, t]  +  score[b] · [t = last_b]
/// last_b  = max { t : m[b, t] ≠ 0 }
/// ```
///
/// The reward of RLHF with a KL penalty (Ziegler et al. 2019, eq. 2; Stiennon et al. 2020,
/// eq. 1; Ouyang et al. 2022 (InstructGPT), eq. 2), spread over tokens as in TRL's
/// `PPOTrainer` (`rewards = −kl_coef · kl`, then `rewards[b, last_b] += scores[b]`).
/// `KL[b, t]` is a per-token estimate, usually [`KlEstimator::K1`](crate::KlEstimator::K1)
/// of detached log-probs. Works for left padding, right padding and prompt+completion rows
/// alike: only the mask decides. Positions outside the mask are exactly 0 (whatever
/// `kl_per_token` holds there, NaN included).
///
/// A row with **no** completion token is an error rather than a row of zeros: its score would
/// otherwise be silently lost. Checking this reads `B` numbers back to the host.
///
/// # Errors
/// - [`KlError::Shape`] if `completion_mask` is not `[B, T]` or `scores` is not `[B]`;
/// - [`KlError::Argument`] if `beta` is negative or not finite;
/// - [`KlError::EmptyCompletion`] naming the first row without a completion token.
pub fn shaped_rewards(
    kl_per_token: Tensor<2>,
    completion_mask: impl TokenMask,
    scores: Tensor<1>,
    beta: f64,
) -> KlResult<Tensor<2>> {
    const PLACE: &str = "shaped_rewards";
    let [b, t] = kl_per_token.dims();
    let mask = bool_mask_for(PLACE, &kl_per_token, completion_mask)?;
    check_shape(PLACE, "scores", &[b], &scores.dims())?;
    check_beta(PLACE, beta)?;
    let device = kl_per_token.device();

    let positions = Tensor::<1, Int>::arange(0..t as i64, &device)
        .reshape([1, t])
        .expand([b, t]);
    let last = positions
        .clone()
        .mask_fill(mask.clone().bool_not(), -1)
        .max_dim(1); // [B, 1]
    let empty = last
        .clone()
        .lower_elem(0)
        .into_data()
        .iter::<bool>()
        .position(|e| e);
    if let Some(row) = empty {
        return Err(KlError::EmptyCompletion { row });
    }
    let at_last = positions.equal(last.expand([b, t]));
    let score_map = Tensor::<2>::zeros([b, t], &device)
        .mask_where(at_last, scores.reshape([b, 1]).expand([b, t]));
    Ok(zero_unselected(kl_per_token, mask) * (-beta) + score_map)
}

/// How [`kl_penalty_loss`] averages the masked per-token KL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlAggregation {
    /// Mean over every selected token of the batch (TRL GRPO `loss_type = "bnpo"`/`"dapo"`).
    Token,
    /// Mean over sequences of each sequence's token mean (DeepSeekMath eq. 3's
    /// `1/G Σ_i 1/|o_i| Σ_t`; TRL GRPO `loss_type = "grpo"`). Rows without selected tokens
    /// count as 0 in the mean over sequences, as in TRL.
    Sequence,
}

/// The "KL as a loss term" alternative to reward shaping: `β · mean(KL)` over the selected
/// tokens, `[B, T]` → `[1]`, differentiable through `kl_per_token`.
///
/// ```text
/// Token:     L = β · Σ_{b,t} m·KL / max(1, Σ_{b,t} m)
/// Sequence:  L = β · (1/B) Σ_b [ Σ_t m·KL / max(1, Σ_t m) ]
/// ```
///
/// GRPO (Shao et al. 2024, "DeepSeekMath", eq. 3) subtracts `β · D_KL[π_θ ‖ π_ref]` inside
/// its per-token objective, with `D_KL` the k3 estimate of eq. 4 — pass
/// `KlEstimator::K3.per_token(logp, ref_logp)` with `logp` carrying gradients and `ref_logp`
/// detached. Since the objective is maximised, the loss to minimise *adds* this term.
///
/// # Errors
/// [`KlError::Shape`] if `mask` is not `[B, T]`; [`KlError::Argument`] for a negative or
/// non-finite `beta`.
pub fn kl_penalty_loss(
    kl_per_token: Tensor<2>,
    mask: impl TokenMask,
    beta: f64,
    aggregation: KlAggregation,
) -> KlResult<Tensor<1>> {
    check_beta("kl_penalty_loss", beta)?;
    let mask = bool_mask_for("kl_penalty_loss", &kl_per_token, mask)?;
    let mean = match aggregation {
        KlAggregation::Token => masked_mean_batch(kl_per_token, mask)?,
        KlAggregation::Sequence => masked_mean_per_sequence(kl_per_token, mask)?.mean(),
    };
    Ok(mean * beta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KlEstimator;
    use approx::assert_relative_eq;
    use burn::tensor::Device;
    use proptest::prelude::*;

    fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let [_, n] = t.dims();
        let v = t.try_into_vec_as::<f32>().unwrap();
        v.chunks(n).map(<[f32]>::to_vec).collect()
    }

    /// Right-padded, left-padded and prompt+completion rows, by hand.
    #[test]
    fn shaped_rewards_by_hand() {
        let dev = Device::flex();
        let kl = Tensor::<2>::from_floats(
            [
                [0.5, -0.2, 1.0, 9.0, f32::NAN], // right padded: tokens 0..3
                [7.0, 7.0, 0.3, 0.1, 0.2],       // left padded: tokens 2..5
                [4.0, 0.6, 0.4, 5.0, 5.0],       // prompt at 0, completion 1..3, padding
            ],
            &dev,
        );
        let mask =
            Tensor::<2, Int>::from_ints([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [0, 1, 1, 0, 0]], &dev);
        let scores = Tensor::<1>::from_floats([2.0, -1.0, 0.5], &dev);
        let r = rows(shaped_rewards(kl, mask, scores, 0.1).unwrap());
        let want = [
            [-0.05f32, 0.02, -0.1 + 2.0, 0.0, 0.0],
            [0.0, 0.0, -0.03, -0.01, -0.02 - 1.0],
            [0.0, -0.06, -0.04 + 0.5, 0.0, 0.0],
        ];
        for (g, w) in r.iter().zip(&want) {
            for (g, w) in g.iter().zip(w) {
                assert_relative_eq!(g, w, epsilon = 1e-6);
            }
        }
    }

    #[test]
    fn empty_completion_row_is_an_error() {
        let dev = Device::flex();
        let kl = Tensor::<2>::zeros([3, 2], &dev);
        let mask = Tensor::<2, Int>::from_ints([[1, 0], [0, 0], [0, 0]], &dev);
        let scores = Tensor::<1>::zeros([3], &dev);
        let err = shaped_rewards(kl.clone(), mask, scores.clone(), 0.1).unwrap_err();
        assert_eq!(err, KlError::EmptyCompletion { row: 1 });
        let ones = Tensor::<2, Int>::ones([3, 2], &dev);
        let err = shaped_rewards(kl.clone(), ones.clone(), scores, -1.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shaped_rewards: `beta` must be finite and ≥ 0, got -1"
        );
        let err = shaped_rewards(kl, ones, Tensor::<1>::zeros([2], &dev), 0.1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "shaped_rewards: `scores` has shape [2], expected [3]"
        );
    }

    /// Token vs sequence aggregation by hand, and the gradient through a k3 loss:
    /// ∂L/∂logp[b,t] = β · w[b,t] · (1 − e^{d}) with the aggregation's weights w.
    #[test]
    fn kl_penalty_loss_by_hand_and_gradient() {
        let dev = Device::flex().autodiff();
        let logp0 = [[-1.0f32, -2.0, -0.5], [-0.7, -3.0, -1.0]];
        let refp = [[-1.5f32, -1.0, -0.5], [-0.2, -3.0, -9.0]];
        let m = [[1, 1, 0], [1, 0, 0]];
        let mask = Tensor::<2, Int>::from_ints(m, &dev);
        let beta = 0.04;
        let k3 = |a: f32, b: f32| {
            let d = (b - a) as f64;
            d.exp() - 1.0 - d
        };
        let (k00, k01, k10) = (
            k3(logp0[0][0], refp[0][0]),
            k3(logp0[0][1], refp[0][1]),
            k3(logp0[1][0], refp[1][0]),
        );
        for (agg, want, w) in [
            (
                KlAggregation::Token,
                beta * (k00 + k01 + k10) / 3.0,
                [[1.0 / 3.0, 1.0 / 3.0], [1.0 / 3.0, 0.0]],
            ),
            (
                KlAggregation::Sequence,
                beta * ((k00 + k01) / 2.0 + k10) / 2.0,
                [[0.25, 0.25], [0.5, 0.0]],
            ),
        ] {
            let logp = Tensor::<2>::from_floats(logp0, &dev).require_grad();
            let r = Tensor::<2>::from_floats(refp, &dev);
            let kl = KlEstimator::K3.per_token(logp.clone(), r).unwrap();
            let loss = kl_penalty_loss(kl, mask.clone(), beta, agg).unwrap();
            let grads = loss.clone().backward();
            assert_relative_eq!(loss.into_scalar::<f32>() as f64, want, epsilon = 1e-7);
            let g = logp.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
            for b in 0..2 {
                for t in 0..3 {
                    let d = (refp[b][t] - logp0[b][t]) as f64;
                    let wt = if t < 2 { w[b][t] } else { 0.0 };
                    let want = beta * wt * (1.0 - d.exp());
                    assert_relative_eq!(g[b * 3 + t] as f64, want, epsilon = 1e-7);
                }
            }
        }
    }

    proptest! {
        /// Changing KL values where the completion mask is 0 changes no shaped reward.
        #[test]
        fn shaped_rewards_ignore_unselected_values(
            (b, t, x, m, junk) in (1usize..4, 1usize..6).prop_flat_map(|(b, t)| (
                Just(b), Just(t),
                proptest::collection::vec(-5.0f32..5.0, b * t),
                proptest::collection::vec(0i32..2, b * t),
                proptest::collection::vec(prop_oneof![-1e3f32..1e3, Just(f32::NAN)], b * t),
            )),
        ) {
            // Give every row at least one completion token (its last position).
            let mut m = m;
            for row in 0..b { m[row * t + t - 1] = 1; }
            let dev = Device::flex();
            let y: Vec<f32> = x.iter().zip(&m).zip(&junk)
                .map(|((x, m), j)| if *m == 0 { *j } else { *x }).collect();
            let tm = Tensor::<1, Int>::from_ints(m.as_slice(), &dev).reshape([b, t]);
            let scores = Tensor::<1>::from_floats(
                (0..b).map(|i| i as f32 - 1.5).collect::<Vec<_>>().as_slice(), &dev);
            let run = |v: &[f32]| {
                let kl = Tensor::<1>::from_floats(v, &dev).reshape([b, t]);
                shaped_rewards(kl, tm.clone(), scores.clone(), 0.3).unwrap()
                    .try_into_vec_as::<f32>().unwrap()
                    .into_iter().map(f32::to_bits).collect::<Vec<_>>()
            };
            prop_assert_eq!(run(&x), run(&y));
            let loss = |v: &[f32], agg| {
                let kl = Tensor::<1>::from_floats(v, &dev).reshape([b, t]);
                kl_penalty_loss(kl, tm.clone(), 0.3, agg).unwrap().into_scalar::<f32>().to_bits()
            };
            prop_assert_eq!(loss(&x, KlAggregation::Token), loss(&y, KlAggregation::Token));
            prop_assert_eq!(loss(&x, KlAggregation::Sequence), loss(&y, KlAggregation::Sequence));
        }
    }
}
