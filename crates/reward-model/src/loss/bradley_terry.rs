//! The Bradley-Terry pairwise loss, with Llama 2's optional per-pair margin.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

use super::weighted_mean;

/// Negative log-likelihood of the preferences under the Bradley-Terry model (Bradley & Terry
/// 1952), the reward-model loss of InstructGPT (Ouyang et al. 2022, eq. 1), with the
/// preference-strength margin of Llama 2 (Touvron et al. 2023, §3.2.2, eq. 2):
///
/// ```text
/// ℓ_i  = − log σ( r_chosen,i − r_rejected,i − m_i )
/// L    = Σ_i w_i ℓ_i / Σ_i w_i          (= mean_i ℓ_i without weights)
/// ```
///
/// `chosen`, `rejected`: rewards `[B]`; `margin`: `m` `[B]` (0 where a pair has none; `None`
/// is `m = 0`); `weight`: `w` `[B]` (`None`: unit weights). Returns `[1]`. Equals TRL's
/// `RewardTrainer` loss `-logsigmoid(rc - rr - margin).mean()` for unit weights.
/// `log σ` is evaluated stably (no overflow for large |Δ|).
pub fn bradley_terry(
    chosen: Tensor<1>,
    rejected: Tensor<1>,
    margin: Option<Tensor<1>>,
    weight: Option<Tensor<1>>,
) -> Tensor<1> {
    let mut delta = chosen - rejected;
    if let Some(m) = margin {
        delta = delta - m;
    }
    weighted_mean(log_sigmoid(delta).neg(), weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_floats(v, &Device::flex())
    }

    #[test]
    fn hand_computed_values() {
        // Δ = 0 → ln 2; Δ = 2 → ln(1 + e^-2); mean of both.
        let l = bradley_terry(t(&[1.0, 3.0]), t(&[1.0, 1.0]), None, None);
        let want = (2f32.ln() + (1.0 + (-2f32).exp()).ln()) / 2.0;
        assert_relative_eq!(l.into_scalar::<f32>(), want, epsilon = 1e-6);
        // A margin of 2 on the second pair brings its Δ back to 0: both terms ln 2.
        let l = bradley_terry(t(&[1.0, 3.0]), t(&[1.0, 1.0]), Some(t(&[0.0, 2.0])), None);
        assert_relative_eq!(l.into_scalar::<f32>(), 2f32.ln(), epsilon = 1e-6);
        // Weights 3 : 1 → (3·ln 2 + ln(1+e^-2)) / 4.
        let l = bradley_terry(t(&[1.0, 3.0]), t(&[1.0, 1.0]), None, Some(t(&[3.0, 1.0])));
        let want = (3.0 * 2f32.ln() + (1.0 + (-2f32).exp()).ln()) / 4.0;
        assert_relative_eq!(l.into_scalar::<f32>(), want, epsilon = 1e-6);
    }

    #[test]
    fn large_differences_stay_finite() {
        let l = bradley_terry(t(&[-200.0, 200.0]), t(&[200.0, -200.0]), None, None);
        // −log σ(−400) = 400 (+ e^-400), −log σ(400) ≈ 0 → mean 200.
        assert_relative_eq!(l.into_scalar::<f32>(), 200.0, epsilon = 1e-3);
    }
}
