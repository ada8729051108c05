//! SPPO with hard win probabilities.

use burn::tensor::Tensor;

/// Self-Play Preference Optimization (Wu et al. 2024, "Self-Play Preference Optimization for
/// Language Model Alignment", eq. 4.7 of Algorithm 1) with the win probability set to 1 for
/// the chosen and 0 for the rejected completion, TRL's `loss_type="sppo_hard"`:
///
/// ```text
/// ℓ = (log π_θ(y_w)/π_ref(y_w) − 1/(2β))² + (log π_θ(y_l)/π_ref(y_l) + 1/(2β))²
/// ```
pub fn sppo_hard_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let half = 0.5 / beta;
    chosen_logratios.sub_scalar(half).square() + rejected_logratios.add_scalar(half).square()
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // β = 0.25 → 1/(2β) = 2: (3 − 2)² + (−1 + 2)² = 2.
        let l = v(sppo_hard_loss(t(&[3.0, 2.0]), t(&[-1.0, -2.0]), 0.25));
        assert_relative_eq!(l[0], 2.0, epsilon = 1e-6);
        assert_eq!(l[1], 0.0);
    }
}
