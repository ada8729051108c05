//! GRPO's group-relative advantages (and Dr. GRPO's unscaled variant).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::host::{check_selected_finite, read_values, shifted_mean, unbiased_std, write_vector};
use crate::rl_error::{RlResult, check_group_size, check_non_empty};

/// The ε added to the standard deviation by [`group_advantages`] (TRL's `1e-4`).
pub const GRPO_STD_EPS: f64 = 1e-4;

/// How [`group_advantages`] scales `r − mean_group`: TRL `GRPOConfig.scale_rewards`
/// (serialised as `"group"`, `"batch"`, `"none"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRewards {
    /// Divide by `std_group + 1e-4`, the standard deviation of the sample's own group (GRPO,
    /// Shao et al. 2024; TRL's default).
    #[default]
    Group,
    /// Divide by `std_batch + 1e-4`, one standard deviation over all rewards of the batch
    /// (the mean stays per group; "PPO Lite", Liu et al. 2025, arXiv 2508.08221).
    Batch,
    /// No scaling: `A = r − mean_group` (Dr. GRPO, Liu et al. 2025, "Understanding R1-Zero-Like
    /// Training", §3.1: the std division biases towards too easy and too hard questions).
    None,
}

impl ScaleRewards {
    /// TRL's name: `"group"`, `"batch"` or `"none"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Batch => "batch",
            Self::None => "none",
        }
    }
}

/// GRPO's outcome-supervised advantages (Shao et al. 2024, "DeepSeekMath", §4.1.2): `rewards
/// [N]` hold consecutive groups of `group_size` completions of the same prompt (TRL's layout,
/// `rewards.view(-1, num_generations)`); returns `[N]`:
///
/// ```text
/// A_i = (r_i − mean_g(i)) / (std + 1e-4)     std = std_g(i)   (Group)
///                                             std = std_all    (Batch)
/// A_i =  r_i − mean_g(i)                                       (None, Dr. GRPO)
/// ```
///
/// with the **unbiased** (Bessel-corrected, `n − 1`) standard deviation and ε = 1e-4 added to
/// the std (not the variance), exactly as TRL 1.16's `GRPOTrainer._generate_and_score_completions`
/// (`trl/trainer/grpo_trainer.py`, `nanstd` from `trl/trainer/utils.py`). The paper's
/// `(r − mean)/std` has no ε; verl's `compute_grpo_outcome_advantage` uses ε = 1e-6 and, for a
/// group of one, mean 0 and std 1 (so `A = r`), where TRL (and this function) give 0.
///
/// Never NaN: a group whose rewards are all equal has `r − mean = 0` exactly (the mean is
/// computed as `r₀ + mean(r − r₀)` in f64), hence `A = 0`, under every scaling; a group of
/// size 1 has std 0 and `A = 0`. Broadcast `A_i` over the completion tokens (the clipped
/// surrogate takes `[B]` advantages directly).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `rewards` is empty;
/// [`RlError::Argument`](crate::RlError::Argument) if `group_size` is 0 or does not divide `N`;
/// [`RlError::NonFinite`](crate::RlError::NonFinite) for a NaN or infinite reward (TRL treats
/// NaN as "unscorable" and zeroes its advantage; drop such samples before calling).
pub fn group_advantages(
    rewards: Tensor<1>,
    group_size: usize,
    scale: ScaleRewards,
) -> RlResult<Tensor<1>> {
    const PLACE: &str = "group_advantages";
    let [n] = rewards.dims();
    check_non_empty(PLACE, "rewards", &[n])?;
    check_group_size(PLACE, "group_size", group_size, 1, n)?;
    let device = rewards.device();
    let r = read_values(PLACE, "rewards", rewards)?;
    check_selected_finite(PLACE, "rewards", &r, None, 0)?;

    let batch_std = unbiased_std(&r, shifted_mean(&r));
    let mut adv = Vec::with_capacity(n);
    for group in r.chunks(group_size) {
        let mean = shifted_mean(group);
        let std = match scale {
            ScaleRewards::Group => unbiased_std(group, mean),
            ScaleRewards::Batch => batch_std,
            ScaleRewards::None => 0.0,
        };
        adv.extend(group.iter().map(|x| match scale {
            ScaleRewards::None => x - mean,
            _ => (x - mean) / (std + GRPO_STD_EPS),
        }));
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
        // Groups [1, 3] and [2, 2, …]: mean 2, unbiased std √2.
        let r = [1.0, 3.0, 0.0, 4.0];
        let g = v1(group_advantages(t1(&r), 2, ScaleRewards::Group).unwrap());
        let s = 2f64.sqrt() + 1e-4;
        assert_relative_eq!(g[0] as f64, -1.0 / s, epsilon = 1e-6);
        assert_relative_eq!(g[1] as f64, 1.0 / s, epsilon = 1e-6);
        // second group [0, 4]: mean 2, std 2√2.
        let s2 = 2.0 * 2f64.sqrt() + 1e-4;
        assert_relative_eq!(g[3] as f64, 2.0 / s2, epsilon = 1e-6);
        // Batch std of [1, 3, 0, 4]: mean 2, Σ(x − 2)² = 10, /3.
        let sb = (10.0f64 / 3.0).sqrt() + 1e-4;
        let b = v1(group_advantages(t1(&r), 2, ScaleRewards::Batch).unwrap());
        assert_relative_eq!(b[3] as f64, 2.0 / sb, epsilon = 1e-6);
        let n = v1(group_advantages(t1(&r), 2, ScaleRewards::None).unwrap());
        assert_eq!(n, vec![-1.0, 1.0, -2.0, 2.0]);
    }

    #[test]
    fn arguments_are_validated() {
        let e = |r: &[f32], g| {
            group_advantages(t1(r), g, ScaleRewards::Group)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(&[1.0, 2.0, 3.0], 2),
            "group_advantages: `group_size` must divide the number of rewards (3) into \
             consecutive groups, got 2"
        );
        assert_eq!(
            e(&[1.0], 0),
            "group_advantages: `group_size` must be ≥ 1, got 0"
        );
        assert_eq!(
            e(&[1.0, f32::NAN], 2),
            "group_advantages: `rewards` holds NaN at [1]; selected values must be finite"
        );
        assert_eq!(
            ScaleRewards::default(),
            ScaleRewards::Group,
            "TRL's default scale_rewards"
        );
        let s: ScaleRewards = serde_json::from_str("\"batch\"").unwrap();
        assert_eq!((s, s.name()), (ScaleRewards::Batch, "batch"));
    }

    proptest! {
        /// Groups of equal rewards (any value, any group size, size 1 included) get exactly
        /// zero advantage under every scaling; other groups are finite.
        #[test]
        fn equal_groups_and_singletons_give_zero(
            g in 1usize..9,
            levels in proptest::collection::vec(-1e4f32..1e4, 1..6),
            noisy in proptest::collection::vec(any::<bool>(), 6),
            noise in proptest::collection::vec(-3.0f32..3.0, 64),
        ) {
            let mut r = Vec::new();
            for (k, l) in levels.iter().enumerate() {
                for j in 0..g {
                    r.push(if noisy[k] && g > 1 { l + noise[(k * 8 + j) % 64] } else { *l });
                }
            }
            for scale in [ScaleRewards::Group, ScaleRewards::Batch, ScaleRewards::None] {
                let a = v1(group_advantages(t1(&r), g, scale).unwrap());
                for (k, group) in a.chunks(g).enumerate() {
                    let rg = &r[k * g..(k + 1) * g];
                    let equal = rg.iter().all(|x| *x == rg[0]);
                    for x in group {
                        prop_assert!(x.is_finite());
                        if equal {
                            prop_assert_eq!(*x, 0.0);
                        }
                    }
                }
            }
        }
    }
}
