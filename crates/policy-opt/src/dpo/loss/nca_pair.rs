//! NCA for pairs: noise-contrastive alignment on absolute rewards.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// NCA for K = 2 (Chen et al. 2024, "Noise Contrastive Alignment of Language Models with
/// Explicit Rewards"), TRL's `loss_type="nca_pair"`. With the implicit rewards
/// `r_w = β (log π_θ(y_w) − log π_ref(y_w))` and `r_l` likewise:
///
/// ```text
/// ℓ = −log σ(r_w) − ½ · log σ(−r_w) − ½ · log σ(−r_l)
/// ```
///
/// It optimises absolute likelihoods, so the chosen log-prob is pushed up rather than only
/// the margin.
pub fn nca_pair_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let rw = chosen_logratios.mul_scalar(beta);
    let rl = rejected_logratios.mul_scalar(beta);
    log_sigmoid(rw.clone()).neg()
        - log_sigmoid(rw.neg()).mul_scalar(0.5)
        - log_sigmoid(rl.neg()).mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // r_w = 0.5 · 2 = 1, r_l = 0.5 · (−4) = −2.
        let l = v(nca_pair_loss(t(&[2.0]), t(&[-4.0]), 0.5));
        let want = -ln_sigmoid(1.0) - 0.5 * ln_sigmoid(-1.0) - 0.5 * ln_sigmoid(2.0);
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
