//! REINFORCE++ and REINFORCE++-baseline: discounted token returns, normalised over the batch.

use burn::tensor::Tensor;
use kl_control::{TokenMask, shaped_rewards};

use super::AdvantagesAndReturns;
use super::group::{ScaleRewards, group_advantages};
use super::host::{
    check_selected_finite, read_mask, read_values, selected_positions, write_matrix,
};
use crate::rl_error::{
    RlError, RlResult, bool_mask, check_group_size, check_in_range, check_non_empty, check_shape,
};

/// The floor of the variance in REINFORCE++'s normalisation (OpenRLHF's
/// `var.clamp(min=1e-8).rsqrt()`).
pub const REINFORCE_PP_VAR_FLOOR: f64 = 1e-8;

/// REINFORCE++ (Hu 2025, "REINFORCE++: An Efficient RLHF Algorithm with Robustness to Both
/// Prompt and Reward Models", arXiv 2501.03262): per-token `token_rewards [B, T]` (the
/// KL penalty already folded in, e.g. by [`kl_control::shaped_rewards`]) over the completion
/// tokens selected by `mask`:
///
/// ```text
/// for each row, with s_1 < … < s_n its masked positions:
///   G[s_k] = Σ_{l ≥ k} γ^{l−k} · r[s_l]                       (returns)
/// over all N masked tokens of the batch:
///   μ = Σ G / N,   σ² = Σ (G − μ)² / N                         (biased)
///   A = (G − μ) · rsqrt(max(σ², 1e-8))                         (advantages)
/// A = G = 0 outside the mask.
/// ```
///
/// As OpenRLHF's `get_cumulative_returns` followed by `_normalize_advantages`
/// (`openrlhf/trainer/ppo_utils/experience_maker.py`, `advantage_estimator = "reinforce"`):
/// the batch normalisation there spans the whole rollout batch, so pass the whole batch. Two
/// deliberate differences, neither of which matters on contiguous masks: positions outside the
/// mask are skipped (a hole does not add a discount step; OpenRLHF discounts across it and verl
/// resets the return there), and outputs are 0 outside the mask (OpenRLHF leaves
/// `(G − μ)·rstd` there). verl's `compute_reinforce_plus_plus_outcome_advantage` normalises with
/// `masked_whiten` instead (unbiased variance, `rsqrt(σ² + 1e-8)`).
///
/// With no selected token at all the result is all 0 (OpenRLHF divides 0 by 0). A batch
/// whose returns are all equal gets `A = 0` exactly (the mean is exact in f64).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `mask` is not the `[B, T]` of `token_rewards`
/// or a dimension is 0; [`RlError::Argument`](crate::RlError::Argument) if `gamma` is outside
/// `[0, 1]`; [`RlError::NonFinite`](crate::RlError::NonFinite) for a selected reward that is
/// NaN or infinite; [`RlError::Device`](crate::RlError::Device) if it cannot be read back.
pub fn reinforce_pp(
    token_rewards: Tensor<2>,
    mask: impl TokenMask,
    gamma: f64,
) -> RlResult<AdvantagesAndReturns> {
    const PLACE: &str = "reinforce_pp";
    let dims = token_rewards.dims();
    check_non_empty(PLACE, "token_rewards", &dims)?;
    let mask = bool_mask(PLACE, dims, mask)?;
    check_in_range(PLACE, "gamma", gamma, 0.0, 1.0)?;
    let device = token_rewards.device();
    let [b, t] = dims;
    let m = read_mask(PLACE, mask)?;
    let r = read_values(PLACE, "token_rewards", token_rewards)?;
    check_selected_finite(PLACE, "token_rewards", &r, Some(&m), t)?;

    let mut ret = vec![0.0f64; b * t];
    let mut selected = Vec::new();
    for row in 0..b {
        let mut g = 0.0;
        for &j in selected_positions(&m, row, t).iter().rev() {
            let i = row * t + j;
            g = r[i] + gamma * g;
            ret[i] = g;
        }
    }
    for (i, g) in ret.iter().enumerate() {
        if m[i] {
            selected.push(*g);
        }
    }
    let mut adv = vec![0.0f64; b * t];
    if !selected.is_empty() {
        let mean = super::host::shifted_mean(&selected);
        let var = selected
            .iter()
            .map(|g| (g - mean) * (g - mean))
            .sum::<f64>()
            / selected.len() as f64;
        let rstd = 1.0 / var.max(REINFORCE_PP_VAR_FLOOR).sqrt();
        for (i, a) in adv.iter_mut().enumerate() {
            if m[i] {
                *a = (ret[i] - mean) * rstd;
            }
        }
    }
    Ok(AdvantagesAndReturns {
        advantages: write_matrix(&adv, dims, &device),
        returns: write_matrix(&ret, dims, &device),
    })
}

/// REINFORCE++-baseline (Hu 2025; OpenRLHF `advantage_estimator = "reinforce_baseline"`):
/// sequence `scores [B]` in consecutive groups of `group_size` samples per prompt, per-token
/// `kl_per_token [B, T]` and the completion `mask`:
///
/// ```text
/// s'_i   = s_i − mean_group(i)                        (no division by the std)
/// r[b,t] = −β · KL[b,t] + s'_b · [t = last masked token of row b]
/// (A, G) = reinforce_pp(r, mask, γ = 1)
/// ```
///
/// The composition of OpenRLHF's `_apply_reward_shaping`, `compute_reward`
/// (`openrlhf/models/utils.py`; no `reward_clip_range`) and the REINFORCE++ returns and
/// normalisation, which OpenRLHF runs with γ forced to 1 — here as
/// [`group_advantages`]`(scores, group_size, ScaleRewards::None)`,
/// [`kl_control::shaped_rewards`] and [`reinforce_pp`]. A group of one keeps no signal
/// (`s' = 0`); verl's `compute_reinforce_plus_plus_baseline_outcome_advantage` keeps `s` there
/// and has no KL term in the reward.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `scores` is not `[B]`, `mask` not `[B, T]`,
/// or a dimension is 0; [`RlError::Argument`](crate::RlError::Argument) for a negative or
/// non-finite `beta` or a `group_size` that is 0 or does not divide `B`;
/// [`RlError::Kl`](crate::RlError::Kl) wrapping
/// [`KlError::EmptyCompletion`](kl_control::KlError::EmptyCompletion) for a row without a
/// completion token (its score would be lost); [`RlError::NonFinite`](crate::RlError::NonFinite)
/// for a NaN or infinite score or selected KL value.
pub fn reinforce_pp_baseline(
    scores: Tensor<1>,
    kl_per_token: Tensor<2>,
    mask: impl TokenMask,
    beta: f64,
    group_size: usize,
) -> RlResult<AdvantagesAndReturns> {
    const PLACE: &str = "reinforce_pp_baseline";
    let dims = kl_per_token.dims();
    check_non_empty(PLACE, "kl_per_token", &dims)?;
    check_shape(PLACE, "scores", &[dims[0]], &scores.dims())?;
    let mask = bool_mask(PLACE, dims, mask)?;
    if !(beta.is_finite() && beta >= 0.0) {
        return Err(RlError::Argument {
            place: PLACE,
            argument: "beta",
            message: format!("must be finite and ≥ 0, got {beta}"),
        });
    }
    check_group_size(PLACE, "group_size", group_size, 1, dims[0])?;
    let shifted = group_advantages(scores, group_size, ScaleRewards::None)?;
    let rewards = shaped_rewards(kl_per_token, mask.clone(), shifted, beta)?;
    reinforce_pp(rewards, mask, 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{m2, rows, t1, t2};
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// Returns [3, 2, 0] and [4]: μ = 9/4, σ² = (0.5625 + 0.0625 + 5.0625 + 3.0625)/4.
    #[test]
    fn hand_computed() {
        let r = t2(&[&[1.0, 2.0, 0.0, 7.0], &[9.0, 4.0, 9.0, 9.0]]);
        let m = m2(&[&[1, 1, 1, 0], &[0, 1, 0, 0]]);
        let out = reinforce_pp(r, m, 1.0).unwrap();
        assert_eq!(
            rows(out.returns),
            vec![vec![3.0, 2.0, 0.0, 0.0], vec![0.0, 4.0, 0.0, 0.0]]
        );
        let (mu, var) = (2.25f64, 8.75f64 / 4.0);
        let a = rows(out.advantages);
        assert_relative_eq!(a[0][0] as f64, (3.0 - mu) / var.sqrt(), epsilon = 1e-6);
        assert_relative_eq!(a[1][1] as f64, (4.0 - mu) / var.sqrt(), epsilon = 1e-6);
        assert_eq!((a[0][3], a[1][0]), (0.0, 0.0));
        // γ = 0.5 over a hole: positions 0 and 2 are consecutive steps.
        let out = reinforce_pp(t2(&[&[1.0, 5.0, 2.0]]), m2(&[&[1, 0, 1]]), 0.5).unwrap();
        assert_eq!(rows(out.returns), vec![vec![2.0, 0.0, 2.0]]);
        // All returns equal: A = 0 exactly.
        assert_eq!(rows(out.advantages), vec![vec![0.0, 0.0, 0.0]]);
    }

    #[test]
    fn empty_mask_gives_zeros() {
        let out = reinforce_pp(t2(&[&[1.0, 2.0]]), m2(&[&[0, 0]]), 1.0).unwrap();
        assert_eq!(rows(out.advantages), vec![vec![0.0, 0.0]]);
        assert_eq!(rows(out.returns), vec![vec![0.0, 0.0]]);
    }

    /// Scores [1, 3] (one group): s' = [−1, 1]; β = 0.5, KL = 1 on every token.
    #[test]
    fn baseline_by_hand() {
        let kl = t2(&[&[1.0, 1.0], &[1.0, 1.0]]);
        let m = m2(&[&[1, 1], &[1, 0]]);
        let out = reinforce_pp_baseline(t1(&[1.0, 3.0]), kl, m, 0.5, 2).unwrap();
        // rewards [[−0.5, −1.5], [0.5, 0]] → returns [[−2, −1.5], [0.5, 0]].
        assert_eq!(rows(out.returns), vec![vec![-2.0, -1.5], vec![0.5, 0.0]]);
        let err = reinforce_pp_baseline(
            t1(&[1.0, 3.0]),
            t2(&[&[0.0, 0.0], &[0.0, 0.0]]),
            m2(&[&[1, 1], &[0, 0]]),
            0.1,
            2,
        )
        .unwrap_err();
        assert!(err.to_string().contains("row 1"), "{err}");
        let err = reinforce_pp_baseline(
            t1(&[1.0, 3.0]),
            t2(&[&[0.0], &[0.0]]),
            m2(&[&[1], &[1]]),
            -0.1,
            2,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "reinforce_pp_baseline: `beta` must be finite and ≥ 0, got -0.1"
        );
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<i32>)> {
        (1usize..5, 1usize..9).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                proptest::collection::vec(-5.0f32..5.0, b * t),
                proptest::collection::vec(0i32..2, b * t),
            )
        })
    }

    proptest! {
        /// Masked-out positions are exactly 0; over the mask the advantages have mean 0 and
        /// (biased) variance 1 whenever the returns are spread out.
        #[test]
        fn normalised_over_the_mask((b, t, r, m) in case(), gamma in 0.0f64..=1.0) {
            let rr: Vec<&[f32]> = r.chunks(t).collect();
            let mr: Vec<&[i32]> = m.chunks(t).collect();
            let out = reinforce_pp(t2(&rr), m2(&mr), gamma).unwrap();
            let a: Vec<f32> = rows(out.advantages).into_iter().flatten().collect();
            let g: Vec<f32> = rows(out.returns).into_iter().flatten().collect();
            prop_assert_eq!(a.len(), b * t);
            let mut sel = Vec::new();
            let mut sel_g = Vec::new();
            for i in 0..b * t {
                if m[i] == 0 {
                    prop_assert_eq!((a[i], g[i]), (0.0, 0.0));
                } else {
                    sel.push(a[i] as f64);
                    sel_g.push(g[i] as f64);
                }
            }
            let n = sel_g.len() as f64;
            let gm = sel_g.iter().sum::<f64>() / n.max(1.0);
            let gv = sel_g.iter().map(|x| (x - gm).powi(2)).sum::<f64>() / n.max(1.0);
            prop_assume!(gv > 1e-2);
            let am = sel.iter().sum::<f64>() / n;
            let av = sel.iter().map(|x| (x - am).powi(2)).sum::<f64>() / n;
            prop_assert!(am.abs() < 1e-4 && (av - 1.0).abs() < 1e-4, "{} {}", am, av);
        }
    }
}
