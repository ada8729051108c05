//! RLOO: REINFORCE with the leave-one-out baseline.

use burn::tensor::Tensor;

use super::host::{check_selected_finite, read_values, shifted_mean, write_vector};
use crate::rl_error::{RlResult, check_group_size, check_non_empty};

/// REINFORCE Leave-One-Out advantages (Ahmadian et al. 2024, "Back to Basics: Revisiting
/// REINFORCE Style Optimization for Learning from Human Feedback in LLMs", the leave-one-out
/// baseline of Kool et al. 2019): `rewards [N]` hold consecutive groups of `k` samples of the same prompt; each
/// sample's baseline is the mean reward of the *other* `k − 1` samples. Returns `[N]`:
///
/// ```text
/// A_i = r_i − 1/(k − 1) · Σ_{j ≠ i} r_j  =  k/(k − 1) · (r_i − mean_group)
/// ```
///
/// TRL 1.16's `RLOOTrainer._generate_and_score_completions` (`trl/trainer/rloo_trainer.py`,
/// `baselines = (grouped_sum − grouped_rewards) / (k − 1)`) and OpenRLHF's
/// `_apply_reward_shaping` (`advantage_estimator = "rloo"`) compute the same. The second form
/// is used here (with an exact group mean), so a group of equal rewards gives exactly 0. TRL's
/// optional `normalize_advantages` (`(A − mean)/(std + 1e-4)` over the batch) is not applied;
/// TRL's KL penalty is subtracted from the rewards before this.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `rewards` is empty;
/// [`RlError::Argument`](crate::RlError::Argument) if `k < 2` (no other sample to form a
/// baseline) or `k` does not divide `N`; [`RlError::NonFinite`](crate::RlError::NonFinite) for
/// a NaN or infinite reward.
pub fn rloo_advantages(rewards: Tensor<1>, k: usize) -> RlResult<Tensor<1>> {
    const PLACE: &str = "rloo_advantages";
    let [n] = rewards.dims();
    check_non_empty(PLACE, "rewards", &[n])?;
    check_group_size(PLACE, "k", k, 2, n)?;
    let device = rewards.device();
    let r = read_values(PLACE, "rewards", rewards)?;
    check_selected_finite(PLACE, "rewards", &r, None, 0)?;
    let factor = k as f64 / (k - 1) as f64;
    let mut adv = Vec::with_capacity(n);
    for group in r.chunks(k) {
        let mean = shifted_mean(group);
        adv.extend(group.iter().map(|x| factor * (x - mean)));
    }
    Ok(write_vector(&adv, &device))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{t1, v1};
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn hand_computed() {
        // Group [1, 2, 6]: baselines (2 + 6)/2 = 4, (1 + 6)/2 = 3.5, (1 + 2)/2 = 1.5.
        // Group [5, 5, 5]: all 0.
        let a = v1(rloo_advantages(t1(&[1.0, 2.0, 6.0, 5.0, 5.0, 5.0]), 3).unwrap());
        let want = [-3.0, -1.5, 4.5, 0.0, 0.0, 0.0];
        for (g, w) in a.iter().zip(want) {
            assert_relative_eq!(*g as f64, w, epsilon = 1e-6);
        }
        assert_eq!(&a[3..], &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn k_below_two_is_an_error() {
        assert_eq!(
            rloo_advantages(t1(&[1.0, 2.0]), 1).unwrap_err().to_string(),
            "rloo_advantages: `k` must be ≥ 2, got 1"
        );
        assert!(rloo_advantages(t1(&[1.0, 2.0, 3.0]), 2).is_err());
        assert!(rloo_advantages(t1(&[1.0, f32::INFINITY]), 2).is_err());
    }

    proptest! {
        /// Agrees with the leave-one-out definition; advantages of a group sum to 0.
        #[test]
        fn matches_the_definition(
            k in 2usize..7,
            r in proptest::collection::vec(-100.0f32..100.0, 42),
        ) {
            let n = (42 / k) * k;
            let r = &r[..n];
            let a = v1(rloo_advantages(t1(r), k).unwrap());
            for (gi, group) in r.chunks(k).enumerate() {
                let sum: f64 = group.iter().map(|x| *x as f64).sum();
                let mut total = 0.0f64;
                for (j, x) in group.iter().enumerate() {
                    let base = (sum - *x as f64) / (k - 1) as f64;
                    let got = a[gi * k + j] as f64;
                    prop_assert!((got - (*x as f64 - base)).abs() < 1e-3, "{} vs {}", got, *x as f64 - base);
                    total += got;
                }
                prop_assert!(total.abs() < 1e-2);
            }
        }
    }
}
