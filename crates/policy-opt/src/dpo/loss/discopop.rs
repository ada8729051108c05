//! DiscoPOP: the log-ratio modulated loss discovered by LLM-driven search.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};

/// DiscoPOP's log-ratio modulated loss (Chris Lu et al. 2024, "Discovering Preference
/// Optimization Algorithms with and for Large Language Models", eq. 5), TRL's
/// `loss_type="discopop"` with temperature τ = `discopop_tau` (paper: 0.05):
///
/// ```text
/// z = β · [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))]
/// m = σ(z / τ)
/// ℓ = (1 − m) · (−log σ(z)) + m · exp(−z)
/// ```
///
/// a blend of the logistic (DPO) and exponential losses.
pub fn discopop_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
    tau: f64,
) -> Tensor<1> {
    let z = (chosen_logratios - rejected_logratios).mul_scalar(beta);
    let m = sigmoid(z.clone().div_scalar(tau));
    let logistic = log_sigmoid(z.clone()).neg();
    let exponential = z.neg().exp();
    logistic * m.clone().neg().add_scalar(1.0) + exponential * m
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, sigmoid_f64, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // z = 0.1 · (1 − 0.5) = 0.05, τ = 0.05 → m = σ(1).
        let l = v(discopop_loss(t(&[1.0]), t(&[0.5]), 0.1, 0.05));
        let m = sigmoid_f64(1.0);
        let want = (1.0 - m) * -ln_sigmoid(0.05) + m * (-0.05f64).exp();
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
