//! BCO for pairs: binary classification of chosen versus rejected implicit rewards.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// BCO on paired data (Jung et al. 2024, "Binary Classifier Optimization for Large Language
/// Model Alignment"), as TRL 1.x's `loss_type="bco_pair"`. With the implicit rewards
/// `r_w = β (log π_θ(y_w) − log π_ref(y_w))` and `r_l` likewise:
///
/// ```text
/// ℓ = −log σ(r_w) − log σ(−r_l)
/// ```
///
/// The paper (and TRL ≤ 0.2x) shift both rewards by a running mean δ of past rewards;
/// TRL 1.x dropped that shift, and so does this function (δ = 0).
pub fn bco_pair_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let rw = chosen_logratios.mul_scalar(beta);
    let rl = rejected_logratios.mul_scalar(beta);
    log_sigmoid(rw).neg() - log_sigmoid(rl.neg())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // r_w = 0.1 · 5 = 0.5, r_l = 0.1 · 3 = 0.3.
        let l = v(bco_pair_loss(t(&[5.0]), t(&[3.0]), 0.1));
        let want = -ln_sigmoid(0.5) - ln_sigmoid(-0.3);
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
