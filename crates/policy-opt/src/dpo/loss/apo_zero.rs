//! APO-zero: raise the chosen and lower the rejected likelihood, each against the reference.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

/// APO-zero (D'Oosterlinck et al. 2024, "Anchored Preference Optimization and Contrastive
/// Revisions", eq. 7), TRL's `loss_type="apo_zero"`, for chosen outputs better than the
/// model's own. With `r_w = β (log π_θ(y_w) − log π_ref(y_w))` and `r_l` likewise:
///
/// ```text
/// ℓ = (1 − σ(r_w)) + σ(r_l)
/// ```
pub fn apo_zero_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let rw = chosen_logratios.mul_scalar(beta);
    let rl = rejected_logratios.mul_scalar(beta);
    sigmoid(rw).neg().add_scalar(1.0) + sigmoid(rl)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{sigmoid_f64, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        let l = v(apo_zero_loss(t(&[2.0]), t(&[-6.0]), 0.5));
        let want = 1.0 - sigmoid_f64(1.0) + sigmoid_f64(-3.0);
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
