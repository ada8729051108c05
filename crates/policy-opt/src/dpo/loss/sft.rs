//! The NLL of the chosen completions, the supervised term added to preference losses.

use burn::tensor::Tensor;

/// Token-mean negative log-likelihood of the batch's chosen completions, TRL's
/// `loss_type="sft"` (the NLL term of RPO, Pang et al. 2024, "Iterative Reasoning Preference
/// Optimization", and of MPO; also CPO's `cpo_alpha` term, Xu et al. 2024, "Contrastive
/// Preference Optimization"):
///
/// ```text
/// ℓ = −Σ_b log π_θ(y_w,b | x_b) / Σ_b |y_w,b|
/// ```
///
/// A batch-level scalar; like TRL it is returned expanded to every pair (`[B]`), so that its
/// batch mean is the value above.
pub fn sft_loss(policy_chosen: Tensor<1>, chosen_len: Tensor<1>) -> Tensor<1> {
    let b = policy_chosen.dims()[0];
    chosen_nll(policy_chosen, chosen_len).expand([b])
}

/// `[1]`: `−Σ_b log π_θ(y_w,b) / Σ_b |y_w,b|`.
pub(crate) fn chosen_nll(policy_chosen: Tensor<1>, chosen_len: Tensor<1>) -> Tensor<1> {
    policy_chosen.sum().neg() / chosen_len.sum()
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn token_mean_over_the_batch() {
        // (−6 − 4) over 3 + 2 tokens = 2, for every pair.
        let l = v(sft_loss(t(&[-6.0, -4.0]), t(&[3.0, 2.0])));
        assert_relative_eq!(l[0], 2.0, epsilon = 1e-6);
        assert_relative_eq!(l[1], 2.0, epsilon = 1e-6);
    }
}
