//! Robust DPO: the DPO loss de-biased for a known label-flip rate ε.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// Robust DPO (Chowdhury et al. 2024, "Provably Robust DPO: Aligning Language Models with
/// Noisy Feedback", the de-biased loss), TRL's `loss_type="robust"` with ε = `label_smoothing` ∈ [0, ½),
/// the probability that a preference label is flipped:
///
/// ```text
/// z = β · [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))]
/// ℓ = [−(1 − ε) · log σ(z) + ε · log σ(−z)] / (1 − 2ε)
/// ```
///
/// an unbiased estimate of the clean-label DPO loss; `ε = 0` gives DPO.
pub fn robust_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<1> {
    let eps = label_smoothing;
    let z = (chosen_logratios - rejected_logratios).mul_scalar(beta);
    (log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) + log_sigmoid(z.neg()).mul_scalar(eps))
        .div_scalar(1.0 - 2.0 * eps)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // z = 0.1 · (3 − (−2)) = 0.5, ε = 0.2.
        let l = v(robust_loss(t(&[3.0]), t(&[-2.0]), 0.1, 0.2));
        let want = (-0.8 * ln_sigmoid(0.5) + 0.2 * ln_sigmoid(-0.5)) / 0.6;
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
        let dpo = v(robust_loss(t(&[3.0]), t(&[-2.0]), 0.1, 0.0));
        assert_relative_eq!(dpo[0] as f64, -ln_sigmoid(0.5), epsilon = 1e-6);
    }
}
