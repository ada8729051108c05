//! AOT (paired): distributional alignment by optimal transport of sorted margins.

use burn::tensor::Tensor;

use super::sigmoid::logistic_cross_entropy;

/// Alignment via Optimal Transport, paired form (Melnyk et al. 2024, "Distributional
/// Preference Alignment of LLMs via Optimal Transport"), TRL's `loss_type="aot"`. The policy's
/// and the reference's chosen-minus-rejected margins are sorted *across the batch* (the 1-D
/// optimal transport plan) and compared quantile by quantile, with label smoothing ε:
///
/// ```text
/// m_θ = sort_b(log π_θ(y_w) − log π_θ(y_l))        (ascending)
/// m_ref = sort_b(log π_ref(y_w) − log π_ref(y_l))
/// ℓ_i = −(1 − ε) · log σ(β (m_θ,i − m_ref,i)) − ε · log σ(−β (m_θ,i − m_ref,i))
/// ```
///
/// Row `i` of the result is the `i`-th quantile, not pair `i`; only the batch mean is
/// meaningful, so use batches of more than a few pairs.
pub fn aot_loss(
    policy_chosen: Tensor<1>,
    policy_rejected: Tensor<1>,
    ref_chosen: Tensor<1>,
    ref_rejected: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<1> {
    let policy = (policy_chosen - policy_rejected).sort(0);
    let reference = (ref_chosen - ref_rejected).sort(0);
    logistic_cross_entropy((policy - reference).mul_scalar(beta), label_smoothing, None)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn sorts_margins_before_comparing() {
        // Policy margins (3, −1) sort to (−1, 3); reference margins (0, 2) stay (0, 2).
        let l = v(aot_loss(
            t(&[1.0, -2.0]),
            t(&[-2.0, -1.0]),
            t(&[0.0, 3.0]),
            t(&[0.0, 1.0]),
            0.5,
            0.0,
        ));
        assert_relative_eq!(l[0] as f64, -ln_sigmoid(0.5 * (-1.0 - 0.0)), epsilon = 1e-6);
        assert_relative_eq!(l[1] as f64, -ln_sigmoid(0.5 * (3.0 - 2.0)), epsilon = 1e-6);
    }
}
