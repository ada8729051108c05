//! Reward normalisation: a running mean and standard deviation of rewards, fitted on a
//! reference set and applied when the model serves as the PPO reward.

use std::path::Path;

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{RmError, RmResult};
use crate::model::RewardModel;

/// Running mean and variance of rewards (Welford 1962; Chan et al. 1979 for merging), and the
/// normalisation
///
/// ```text
/// r̂ = (r − mean) / std,      std = sqrt( Σ (r − mean)² / (n − 1) )
/// ```
///
/// as OpenRLHF's reward model applies with `normalize_reward` (its `mean`/`std` buffers, set
/// from rewards on an evaluation set with `torch.std`, which divides by `n − 1`). Fitted
/// statistics are plain numbers: save them next to the model ([`save`](Self::save)) and wrap
/// the model in a [`NormalizedRewardModel`] for PPO.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardNormalizer {
    /// Rewards seen.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl RewardNormalizer {
    /// Statistics of `rewards`.
    pub fn fit(rewards: &[f32]) -> Self {
        let mut n = Self::default();
        n.update(rewards);
        n
    }

    /// Adds `rewards` to the running statistics (non-finite values included: they make the
    /// statistics non-finite, which [`std`](Self::std) then reports as an error).
    pub fn update(&mut self, rewards: &[f32]) {
        for &r in rewards {
            self.count += 1;
            let r = r as f64;
            let d = r - self.mean;
            self.mean += d / self.count as f64;
            self.m2 += d * (r - self.mean);
        }
    }

    /// Merges statistics gathered separately (e.g. per batch or per worker).
    pub fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * nb / n;
        self.m2 += other.m2 + d * d * na * nb / n;
        self.count += other.count;
    }

    /// The sample standard deviation (`n − 1`). Errors with fewer than 2 rewards, or when
    /// it is not a positive finite number.
    pub fn std(&self) -> RmResult<f64> {
        if self.count < 2 {
            return Err(RmError::Data {
                what: "reward normaliser",
                message: format!("needs at least 2 rewards, has {}", self.count),
            });
        }
        let std = (self.m2 / (self.count - 1) as f64).sqrt();
        if !(std.is_finite() && std > 0.0 && self.mean.is_finite()) {
            return Err(RmError::Data {
                what: "reward normaliser",
                message: format!(
                    "mean {} and std {std} over {} rewards cannot normalise",
                    self.mean, self.count
                ),
            });
        }
        Ok(std)
    }

    /// `(rewards − mean) / std`, any shape.
    pub fn apply<const D: usize>(&self, rewards: Tensor<D>) -> RmResult<Tensor<D>> {
        let std = self.std()?;
        Ok(rewards.sub_scalar(self.mean).div_scalar(std))
    }

    /// Writes the statistics as JSON.
    pub fn save(&self, path: &Path) -> RmResult<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| RmError::json(path, e))?;
        lm::checkpoint::write_atomic(path, &bytes)?;
        Ok(())
    }

    /// Reads statistics written by [`save`](Self::save).
    pub fn load(path: &Path) -> RmResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RmError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| RmError::json(path, e))
    }
}

/// A reward model whose scores are normalised by fitted statistics: what PPO should call.
pub struct NormalizedRewardModel<R> {
    /// The model.
    pub inner: R,
    mean: f64,
    std: f64,
}

impl<R: RewardModel> NormalizedRewardModel<R> {
    /// Wraps `inner`; errors if `stats` cannot normalise (see [`RewardNormalizer::std`]).
    pub fn new(inner: R, stats: &RewardNormalizer) -> RmResult<Self> {
        Ok(Self {
            inner,
            mean: stats.mean,
            std: stats.std()?,
        })
    }

    /// `inner` unchanged (mean 0, std 1): the raw scores behind the same type.
    pub fn identity(inner: R) -> Self {
        Self {
            inner,
            mean: 0.0,
            std: 1.0,
        }
    }
}

impl<R: RewardModel> RewardModel for NormalizedRewardModel<R> {
    fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1> {
        self.inner
            .score(ids, mask)
            .sub_scalar(self.mean)
            .div_scalar(self.std)
    }

    fn token_scores(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        self.inner
            .token_scores(ids, mask)
            .sub_scalar(self.mean)
            .div_scalar(self.std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_statistics() {
        // 1, 2, 3, 4: mean 2.5, sample variance 5/3.
        let n = RewardNormalizer::fit(&[1.0, 2.0, 3.0, 4.0]);
        assert_relative_eq!(n.mean, 2.5);
        assert_relative_eq!(n.std().unwrap(), (5.0f64 / 3.0).sqrt(), epsilon = 1e-12);
        let d = Device::flex();
        let out: Vec<f32> = n
            .apply(Tensor::<1>::from_floats([2.5, 4.0], &d))
            .unwrap()
            .try_into_vec_as()
            .unwrap();
        assert_relative_eq!(out[0], 0.0);
        assert_relative_eq!(out[1], (1.5 / (5.0f64 / 3.0).sqrt()) as f32, epsilon = 1e-6);
    }

    #[test]
    fn too_few_or_constant_rewards_are_errors() {
        assert!(RewardNormalizer::fit(&[1.0]).std().is_err());
        let e = RewardNormalizer::fit(&[2.0, 2.0]).std().unwrap_err();
        assert!(e.to_string().contains("std 0"), "{e}");
    }

    #[test]
    fn save_load_round_trip() {
        let n = RewardNormalizer::fit(&[0.5, -1.0, 3.0]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("norm.json");
        n.save(&p).unwrap();
        assert_eq!(RewardNormalizer::load(&p).unwrap(), n);
    }

    proptest! {
        #[test]
        fn merge_equals_fit_on_the_concatenation(
            a in prop::collection::vec(-100.0f32..100.0, 0..50),
            b in prop::collection::vec(-100.0f32..100.0, 0..50),
        ) {
            let mut m = RewardNormalizer::fit(&a);
            m.merge(&RewardNormalizer::fit(&b));
            let all: Vec<f32> = a.iter().chain(&b).copied().collect();
            let f = RewardNormalizer::fit(&all);
            prop_assert_eq!(m.count, f.count);
            prop_assert!((m.mean - f.mean).abs() < 1e-9 * (1.0 + f.mean.abs()));
            prop_assert!((m.m2 - f.m2).abs() < 1e-7 * (1.0 + f.m2));
        }
    }
}
