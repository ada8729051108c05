//! Per-token Monte-Carlo estimators of KL(π ‖ π_ref) on tokens sampled from π.
//!
//! John Schulman, "Approximating KL Divergence" (blog post, 2020,
//! <http://joschu.net/blog/kl-approx.html>). With `x ~ π` and the ratio
//! `r = π_ref(x) / π(x)`, i.e. `log r = log π_ref(x) − log π(x)`:
//!
//! ```text
//! k1 = −log r                  = log π(x) − log π_ref(x)      unbiased, can be negative
//! k2 = ½ (log r)²                                             biased, ≥ 0, low variance
//! k3 = (r − 1) − log r                                        unbiased, ≥ 0, low variance
//!
//! KL(π ‖ π_ref) = E_{x~π}[log π(x) − log π_ref(x)] = E_π[k1] = E_π[k3]      (E_π[r] = 1)
//! ```
//!
//! `E_π[r] = Σ_x π_ref(x) = 1` needs π > 0 wherever π_ref > 0, which holds for softmax
//! policies. k2's expectation is an f-divergence that agrees with KL only to second order
//! in `log r`; it is not an estimator of KL (see the `unbiasedness` integration test).
//!
//! In RLHF code: k1 is the per-token penalty of InstructGPT-style PPO (TRL `PPOTrainer` /
//! `RLOOTrainer` default); k3 is the KL term of GRPO (DeepSeekMath, Shao et al. 2024, eq. 4:
//! `π_ref/π_θ − log(π_ref/π_θ) − 1`; TRL `GRPOTrainer`).

use burn::tensor::Tensor;

use crate::error::{KlResult, check_shape};

/// `|log r|` below which [`KlEstimator::K3`] is evaluated by its Taylor series.
const K3_SERIES_BOUND: f32 = 0.5;

/// The Taylor coefficients `1/n!` for `n = 2 ..= 9` of `e^d − 1 − d = Σ_{n≥2} dⁿ/n!`.
const K3_SERIES: [f32; 8] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
];

/// Which per-token KL estimator to use (Schulman 2020; see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlEstimator {
    /// `k1 = log π − log π_ref`: unbiased, per-token values can be negative.
    K1,
    /// `k2 = ½ (log π_ref − log π)²`: non-negative and low-variance but **biased**.
    K2,
    /// `k3 = (r − 1) − log r` with `r = π_ref / π`: unbiased and always ≥ 0.
    K3,
}

impl KlEstimator {
    /// The per-token estimate from the log-probs of the sampled tokens under the policy
    /// (`logp`, the tokens were drawn from it) and under the reference (`ref_logp`).
    ///
    /// With `d = log r = ref_logp − logp`:
    ///
    /// ```text
    /// K1:  −d
    /// K2:  ½ d²
    /// K3:  e^d − 1 − d
    /// ```
    ///
    /// K3 is evaluated without cancellation: for `|d| < 0.5` by its Taylor series
    /// `Σ_{n=2}^{9} dⁿ / n!` (truncation error below 1e-8 relative), otherwise as
    /// `e^d − 1 − d`. Relative accuracy is therefore about 1e-6 everywhere in f32, and the
    /// result is never negative — the naive form gives `e^d − 1 − d < 0` for tiny `d`, and
    /// TRL's naive form agrees with this one to within its own rounding error. `d > 88`
    /// overflows f32 to `+inf`, which is the correct limit.
    ///
    /// Any rank works (`[B, T]` per token, `[N]` per sample). The result keeps the autodiff
    /// graph of both inputs (for KL-as-a-loss); detach the inputs for a reward penalty.
    ///
    /// # Errors
    /// [`KlError::Shape`](crate::KlError::Shape) if the two shapes differ.
    pub fn per_token<const D: usize>(
        self,
        logp: Tensor<D>,
        ref_logp: Tensor<D>,
    ) -> KlResult<Tensor<D>> {
        check_shape(
            "KlEstimator::per_token",
            "ref_logp",
            &logp.dims(),
            &ref_logp.dims(),
        )?;
        let d = ref_logp - logp;
        Ok(match self {
            Self::K1 => d.neg(),
            Self::K2 => d.powi_scalar(2) * 0.5,
            Self::K3 => k3_of_log_ratio(d),
        })
    }
}

/// `e^d − 1 − d`, by its Taylor series where `|d|` is small (see [`KlEstimator::per_token`]).
fn k3_of_log_ratio<const D: usize>(d: Tensor<D>) -> Tensor<D> {
    let small = d.clone().abs().lower_elem(K3_SERIES_BOUND);
    // The series is evaluated on a clamped copy so that the branch not taken stays finite
    // (and so does its gradient, which `mask_where` multiplies by zero).
    let ds = d.clone().clamp(-K3_SERIES_BOUND, K3_SERIES_BOUND);
    let (last, rest) = K3_SERIES.split_last().expect("non-empty series");
    let mut acc = ds.clone() * *last;
    for (i, c) in rest.iter().enumerate().rev() {
        acc = acc + *c;
        if i > 0 {
            acc = acc * ds.clone();
        }
    }
    let series = ds.powi_scalar(2) * acc;
    let direct = d.clone().exp() - d - 1.0;
    direct.mask_where(small, series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;
    use proptest::prelude::*;

    fn eval(est: KlEstimator, logp: &[f32], ref_logp: &[f32]) -> Vec<f32> {
        let dev = Device::flex();
        let a = Tensor::<1>::from_floats(logp, &dev);
        let b = Tensor::<1>::from_floats(ref_logp, &dev);
        est.per_token(a, b)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap()
    }

    /// Hand values from the ratio r = π_ref/π: (π, π_ref) = (½, ¼), (0.2, 0.6), (e⁻¹, e⁻¹).
    #[test]
    fn hand_computed_values() {
        let pairs = [(0.5f64, 0.25f64), (0.2, 0.6), (0.1, 0.1)];
        let logp: Vec<f32> = pairs.iter().map(|p| p.0.ln() as f32).collect();
        let refp: Vec<f32> = pairs.iter().map(|p| p.1.ln() as f32).collect();
        let k1 = eval(KlEstimator::K1, &logp, &refp);
        let k2 = eval(KlEstimator::K2, &logp, &refp);
        let k3 = eval(KlEstimator::K3, &logp, &refp);
        // r = ½: k1 = ln 2, k2 = ½ ln²2, k3 = −½ + ln 2.
        assert_relative_eq!(k1[0], std::f32::consts::LN_2, epsilon = 1e-6);
        assert_relative_eq!(k2[0], 0.240_226_5, epsilon = 1e-6);
        assert_relative_eq!(k3[0], 0.193_147_2, epsilon = 1e-6);
        // r = 3: k1 = −ln 3, k2 = ½ ln²3, k3 = 2 − ln 3.
        assert_relative_eq!(k1[1], -1.098_612_3, epsilon = 1e-6);
        assert_relative_eq!(k2[1], 0.603_474_2, epsilon = 1e-6);
        assert_relative_eq!(k3[1], 0.901_387_7, epsilon = 1e-6);
        // r = 1: all three vanish exactly.
        assert_eq!((k1[2], k2[2], k3[2]), (0.0, 0.0, 0.0));
    }

    /// Small log-ratios, where `e^d − 1 − d` cancels catastrophically in f32: the series
    /// branch matches f64's `exp_m1(d) − d` to 1e-6 relative (the naive f32 form is off by
    /// orders of magnitude, or negative, here).
    #[test]
    fn k3_small_log_ratios_are_accurate() {
        let ds = [
            1e-8f32, -1e-8, 1e-5, -1e-5, 3e-3, -3e-3, 0.1, -0.1, 0.49, -0.49, 0.5, -0.5,
        ];
        let zeros = vec![0.0f32; ds.len()];
        let got = eval(KlEstimator::K3, &zeros, &ds);
        for (d, g) in ds.iter().zip(&got) {
            let d = *d as f64;
            let want = d.exp_m1() - d;
            assert!(*g >= 0.0);
            assert_relative_eq!(*g as f64, want, max_relative = 1e-6);
        }
        // The naive form fails at d = 1e-8 (rounds e^d to 1, giving −1e-8).
        assert!(1e-8f32.exp() - 1.0 - 1e-8 < 0.0);
    }

    /// K3 across the series/direct boundary and at large |d| against f64.
    #[test]
    fn k3_matches_f64_over_a_wide_range() {
        let ds: Vec<f32> = (-120..=120).map(|i| i as f32 * 0.1).collect();
        let zeros = vec![0.0f32; ds.len()];
        let got = eval(KlEstimator::K3, &zeros, &ds);
        for (d, g) in ds.iter().zip(&got) {
            let d = *d as f64;
            assert_relative_eq!(*g as f64, d.exp_m1() - d, max_relative = 2e-6);
        }
    }

    /// ∂k3/∂logp = 1 − e^d (d = ref − logp), in both evaluation branches; ∂k1/∂logp = 1.
    #[test]
    fn k3_gradient() {
        let dev = Device::flex().autodiff();
        let logp0 = [-1.0f32, -2.0, -0.3, -4.0];
        let refp = [-1.01f32, -0.5, -2.3, -4.0];
        let logp = Tensor::<1>::from_floats(logp0, &dev).require_grad();
        let r = Tensor::<1>::from_floats(refp, &dev);
        let k = KlEstimator::K3.per_token(logp.clone(), r).unwrap();
        let grads = k.sum().backward();
        let g: Vec<f32> = logp.grad(&grads).unwrap().try_into_vec_as().unwrap();
        for i in 0..4 {
            let d = (refp[i] - logp0[i]) as f64;
            assert_relative_eq!(g[i] as f64, 1.0 - d.exp(), epsilon = 1e-6);
        }
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let dev = Device::flex();
        let a = Tensor::<2>::zeros([2, 3], &dev);
        let b = Tensor::<2>::zeros([2, 1], &dev);
        let err = KlEstimator::K1.per_token(a, b).unwrap_err();
        assert_eq!(
            err.to_string(),
            "KlEstimator::per_token: `ref_logp` has shape [2, 1], expected [2, 3]"
        );
    }

    proptest! {
        /// k3 ≥ 0 and k2 ≥ 0 for any pair of log-probs, including nearly equal ones.
        #[test]
        fn k3_and_k2_are_non_negative(
            logp in proptest::collection::vec(-30.0f32..0.0, 1..40),
            deltas in proptest::collection::vec(
                prop_oneof![-1e-6f32..1e-6, -1e-2f32..1e-2, -30.0f32..30.0], 40),
        ) {
            let refp: Vec<f32> = logp.iter().zip(&deltas).map(|(a, d)| a + d).collect();
            for v in eval(KlEstimator::K3, &logp, &refp) {
                prop_assert!(v >= 0.0, "k3 = {v}");
            }
            for v in eval(KlEstimator::K2, &logp, &refp) {
                prop_assert!(v >= 0.0, "k2 = {v}");
            }
        }
    }
}
