//! APO-down: lower both likelihoods, the rejected one more.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

/// APO-down (D'Oosterlinck et al. 2024, "Anchored Preference Optimization and Contrastive
/// Revisions", eq. 8), TRL's `loss_type="apo_down"`, for chosen outputs worse than the
/// model's own. With `r_w = β (log π_θ(y_w) − log π_ref(y_w))` and `r_l` likewise:
///
/// ```text
/// ℓ = σ(r_w) + (1 − σ(r_w − r_l))
/// ```
pub fn apo_down_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let rw = chosen_logratios.mul_scalar(beta);
    let rl = rejected_logratios.mul_scalar(beta);
    sigmoid(rw.clone()) + sigmoid(rw - rl).neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{sigmoid_f64, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // r_w = 1, r_l = −3.
        let l = v(apo_down_loss(t(&[2.0]), t(&[-6.0]), 0.5));
        let want = sigmoid_f64(1.0) + 1.0 - sigmoid_f64(4.0);
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
