//! AOT (unpaired): optimal transport between the chosen and rejected reward distributions.

use burn::tensor::Tensor;

use super::sigmoid::logistic_cross_entropy;

/// Alignment via Optimal Transport, unpaired form (Melnyk et al. 2024, "Distributional
/// Preference Alignment of LLMs via Optimal Transport"), TRL's `loss_type="aot_unpaired"`
/// (`"aot_pair"` in TRL ≤ 0.2x). The chosen and the rejected log-ratios are sorted
/// separately across the batch, so the chosen reward distribution is pushed to dominate the
/// rejected one quantile by quantile:
///
/// ```text
/// c = sort_b(log π_θ(y_w) − log π_ref(y_w)),  r = sort_b(log π_θ(y_l) − log π_ref(y_l))
/// ℓ_i = −(1 − ε) · log σ(β (c_i − r_i)) − ε · log σ(−β (c_i − r_i))
/// ```
///
/// Row `i` of the result is the `i`-th quantile, not pair `i`.
pub fn aot_unpaired_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<1> {
    let c = chosen_logratios.sort(0);
    let r = rejected_logratios.sort(0);
    logistic_cross_entropy((c - r).mul_scalar(beta), label_smoothing, None)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn sorts_each_side_separately() {
        // c sorts to (−1, 2), r to (0, 4); ε = 0.1.
        let l = v(aot_unpaired_loss(t(&[2.0, -1.0]), t(&[0.0, 4.0]), 1.0, 0.1));
        let want = |z: f64| -0.9 * ln_sigmoid(z) - 0.1 * ln_sigmoid(-z);
        assert_relative_eq!(l[0] as f64, want(-1.0), epsilon = 1e-6);
        assert_relative_eq!(l[1] as f64, want(-2.0), epsilon = 1e-6);
    }
}
