//! Length-normalised DPO (Tülu 3).

use burn::tensor::Tensor;

use super::sigmoid::logistic_cross_entropy;

/// Length-normalised DPO (Lambert et al. 2024, "Tülu 3: Pushing Frontiers in Open Language
/// Model Post-Training", §5.1.2 eq. 6), TRL's `loss_type="sigmoid_norm"`: the DPO loss on
/// log-ratios averaged over completion tokens,
///
/// ```text
/// z = β · [(log π_θ(y_w) − log π_ref(y_w)) / |y_w| − (log π_θ(y_l) − log π_ref(y_l)) / |y_l|]
/// ℓ = −p · log σ(z) − (1 − p) · log σ(−z)
/// ```
///
/// with soft labels `p` (hard: `p = 1`, TRL's loss). Like TRL it reads no label smoothing.
pub fn sigmoid_norm_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    chosen_len: Tensor<1>,
    rejected_len: Tensor<1>,
    beta: f64,
    p_chosen: Option<Tensor<1>>,
) -> Tensor<1> {
    let z = (chosen_logratios / chosen_len - rejected_logratios / rejected_len).mul_scalar(beta);
    logistic_cross_entropy(z, 0.0, p_chosen)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // z = 2 · (6/3 − (−2)/4) = 5.
        let l = v(sigmoid_norm_loss(
            t(&[6.0]),
            t(&[-2.0]),
            t(&[3.0]),
            t(&[4.0]),
            2.0,
            None,
        ));
        assert_relative_eq!(l[0] as f64, -ln_sigmoid(5.0), epsilon = 1e-6);
        let s = v(sigmoid_norm_loss(
            t(&[6.0]),
            t(&[-2.0]),
            t(&[3.0]),
            t(&[4.0]),
            2.0,
            Some(t(&[0.5])),
        ));
        let want = -0.5 * ln_sigmoid(5.0) - 0.5 * ln_sigmoid(-5.0);
        assert_relative_eq!(s[0] as f64, want, epsilon = 1e-5);
    }
}
