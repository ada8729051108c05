//! Generalized advantage estimation over the completion tokens.

use burn::tensor::Tensor;
use kl_control::TokenMask;

use super::AdvantagesAndReturns;
use super::host::{
    check_selected_finite, read_mask, read_values, selected_positions, write_matrix,
};
use crate::rl_error::{RlResult, bool_mask, check_in_range, check_non_empty, check_shape};

/// GAE(γ, λ) (Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized
/// Advantage Estimation", eq. 16) for `[B, T]` per-token `rewards` and `values` of the
/// completion tokens selected by `mask`:
///
/// ```text
/// for each row, with s_1 < s_2 < … < s_n its masked positions (the trajectory):
///   δ_k = r[s_k] + γ · V[s_{k+1}] − V[s_k]          V[s_{n+1}] = 0
///   A[s_k] = δ_k + γλ · A[s_{k+1}]                  A[s_{n+1}] = 0
///   R[s_k] = A[s_k] + V[s_k]                        (the λ-return, the value target)
/// A = R = 0 at every position outside the mask.
/// ```
///
/// This is TRL's `PPOTrainer` loop (`trl/experimental/ppo/ppo_trainer.py`, `PPOTrainer.train`,
/// "compute advantages and returns"; the trainer is not in TRL 1.16) on right-padded responses
/// whose rewards and values are 0 on the padding, and verl's `compute_gae_advantage_return`
/// (`verl/trainer/ppo/core_algos.py`) for any mask: positions outside the mask (prompt, padding,
/// tool-output tokens in the middle of a completion) are skipped, not treated as zero-reward
/// steps, so holes do not add discount steps. Values after the last completion token
/// bootstrap as 0: the episode ends there.
///
/// Not included here, and left to the caller, as in TRL:
/// - the score placement and KL penalty of the per-token rewards
///   ([`kl_control::shaped_rewards`]; TRL's `PPOTrainer` puts the score one position *after*
///   the last token and bootstraps from the value there, a quirk of its `padding_mask_p1`);
/// - whitening the advantages ([`masked_whiten`](super::masked_whiten)), which TRL's
///   `PPOTrainer` and verl apply next.
///
/// Inputs are read to the host (they are detached rollout values); results are f32 on the
/// inputs' device. Values outside the mask are never read, so NaN there is harmless.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `values` or `mask` is not the `[B, T]` of
/// `rewards` or a dimension is 0; [`RlError::Argument`](crate::RlError::Argument) if `gamma` or
/// `lambda` is outside `[0, 1]`; [`RlError::NonFinite`](crate::RlError::NonFinite) for a
/// selected reward or value that is NaN or infinite;
/// [`RlError::Device`](crate::RlError::Device) if the inputs cannot be read back.
pub fn gae(
    rewards: Tensor<2>,
    values: Tensor<2>,
    mask: impl TokenMask,
    gamma: f64,
    lambda: f64,
) -> RlResult<AdvantagesAndReturns> {
    const PLACE: &str = "gae";
    let dims = rewards.dims();
    check_non_empty(PLACE, "rewards", &dims)?;
    check_shape(PLACE, "values", &dims, &values.dims())?;
    let mask = bool_mask(PLACE, dims, mask)?;
    check_in_range(PLACE, "gamma", gamma, 0.0, 1.0)?;
    check_in_range(PLACE, "lambda", lambda, 0.0, 1.0)?;
    let device = rewards.device();
    let [b, t] = dims;

    let m = read_mask(PLACE, mask)?;
    let r = read_values(PLACE, "rewards", rewards)?;
    let v = read_values(PLACE, "values", values)?;
    check_selected_finite(PLACE, "rewards", &r, Some(&m), t)?;
    check_selected_finite(PLACE, "values", &v, Some(&m), t)?;

    let mut adv = vec![0.0f64; b * t];
    let mut ret = vec![0.0f64; b * t];
    for row in 0..b {
        let mut next_value = 0.0;
        let mut next_adv = 0.0;
        for &j in selected_positions(&m, row, t).iter().rev() {
            let i = row * t + j;
            let delta = r[i] + gamma * next_value - v[i];
            next_adv = delta + gamma * lambda * next_adv;
            adv[i] = next_adv;
            ret[i] = next_adv + v[i];
            next_value = v[i];
        }
    }
    Ok(AdvantagesAndReturns {
        advantages: write_matrix(&adv, dims, &device),
        returns: write_matrix(&ret, dims, &device),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{m2, rows, t2};
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// Two rows by hand: a right-padded one with γ = 0.5, λ = 0.5, and a left-offset one with
    /// a hole (position 2 is skipped).
    #[test]
    fn hand_computed() {
        let r = t2(&[&[1.0, 0.0, 2.0, 9.0], &[5.0, 1.0, 7.0, 3.0]]);
        let v = t2(&[&[0.5, 1.0, 0.25, 9.0], &[9.0, 2.0, 9.0, 1.0]]);
        let m = m2(&[&[1, 1, 1, 0], &[0, 1, 0, 1]]);
        let out = gae(r, v, m, 0.5, 0.5).unwrap();
        let (a, ret) = (rows(out.advantages), rows(out.returns));
        // Row 0: δ2 = 2 − 0.25 = 1.75; δ1 = 0 + 0.5·0.25 − 1 = −0.875;
        // δ0 = 1 + 0.5·1 − 0.5 = 1. A2 = 1.75, A1 = −0.875 + 0.25·1.75 = −0.4375,
        // A0 = 1 + 0.25·(−0.4375) = 0.890625.
        assert_eq!(a[0], vec![0.890625, -0.4375, 1.75, 0.0]);
        assert_eq!(ret[0], vec![1.390625, 0.5625, 2.0, 0.0]);
        // Row 1 (positions 1, 3): δ3 = 3 − 1 = 2; δ1 = 1 + 0.5·1 − 2 = −0.5;
        // A1 = −0.5 + 0.25·2 = 0.
        assert_eq!(a[1], vec![0.0, 0.0, 0.0, 2.0]);
        assert_eq!(ret[1], vec![0.0, 2.0, 0.0, 3.0]);
    }

    /// Junk (NaN, ±inf) outside the mask changes nothing; inside it is an error.
    #[test]
    fn unselected_values_are_ignored_and_selected_ones_checked() {
        let m = m2(&[&[1, 1, 0]]);
        let clean = gae(
            t2(&[&[1.0, 2.0, 0.0]]),
            t2(&[&[0.5, 0.5, 0.0]]),
            m.clone(),
            0.9,
            0.8,
        )
        .unwrap();
        let junk = gae(
            t2(&[&[1.0, 2.0, f32::NAN]]),
            t2(&[&[0.5, 0.5, f32::INFINITY]]),
            m.clone(),
            0.9,
            0.8,
        )
        .unwrap();
        assert_eq!(rows(clean.advantages), rows(junk.advantages));
        assert_eq!(rows(clean.returns), rows(junk.returns));
        let err = gae(t2(&[&[1.0, f32::NAN, 0.0]]), t2(&[&[0.0; 3]]), m, 1.0, 1.0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gae: `rewards` holds NaN at [0, 1]; selected values must be finite"
        );
    }

    #[test]
    fn arguments_are_validated() {
        let r = t2(&[&[1.0, 2.0]]);
        let m = m2(&[&[1, 1]]);
        let e = |g, l| {
            gae(r.clone(), r.clone(), m.clone(), g, l)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(e(1.01, 0.9), "gae: `gamma` must be in [0, 1], got 1.01");
        assert_eq!(e(0.9, -0.1), "gae: `lambda` must be in [0, 1], got -0.1");
        assert_eq!(e(f64::NAN, 0.9), "gae: `gamma` must be in [0, 1], got NaN");
        let bad = gae(r.clone(), t2(&[&[1.0]]), m.clone(), 1.0, 1.0).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "gae: `values` has shape [1, 1], expected [1, 2]"
        );
        let bad = gae(r.clone(), r.clone(), m2(&[&[1, 1, 1]]), 1.0, 1.0).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "gae: `mask` has shape [1, 3], expected [1, 2]"
        );
    }

    /// An empty mask (and an empty row) gives zeros.
    #[test]
    fn empty_mask_gives_zeros() {
        let out = gae(
            t2(&[&[1.0, 2.0], &[3.0, 4.0]]),
            t2(&[&[1.0, 2.0], &[3.0, 4.0]]),
            m2(&[&[0, 0], &[0, 0]]),
            0.99,
            0.95,
        )
        .unwrap();
        assert_eq!(rows(out.advantages), vec![vec![0.0; 2]; 2]);
        assert_eq!(rows(out.returns), vec![vec![0.0; 2]; 2]);
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<i32>)> {
        (1usize..5, 1usize..9).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                proptest::collection::vec(-5.0f32..5.0, b * t),
                proptest::collection::vec(-5.0f32..5.0, b * t),
                proptest::collection::vec(0i32..2, b * t),
            )
        })
    }

    proptest! {
        /// With γ = λ = 1, A = (reward-to-go over the row's masked tokens) − V, and the
        /// return is the reward-to-go; both are exactly 0 outside the mask.
        #[test]
        fn lambda_one_gamma_one_is_reward_to_go_minus_value((b, t, r, v, m) in case()) {
            let to = |x: &[f32]| {
                let rs: Vec<&[f32]> = x.chunks(t).collect();
                t2(&rs)
            };
            let mi: Vec<&[i32]> = m.chunks(t).collect();
            let out = gae(to(&r), to(&v), m2(&mi), 1.0, 1.0).unwrap();
            let (a, ret) = (rows(out.advantages), rows(out.returns));
            for row in 0..b {
                let mut to_go = 0.0f64;
                for j in (0..t).rev() {
                    let i = row * t + j;
                    if m[i] == 0 {
                        prop_assert_eq!(a[row][j], 0.0);
                        prop_assert_eq!(ret[row][j], 0.0);
                        continue;
                    }
                    to_go += r[i] as f64;
                    assert_relative_eq!(a[row][j] as f64, to_go - v[i] as f64, epsilon = 1e-4);
                    assert_relative_eq!(ret[row][j] as f64, to_go, epsilon = 1e-4);
                }
            }
        }
    }
}
