//! SLiC's hinge loss on the DPO log-ratio margin.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// The hinge (calibration) loss of SLiC (Zhao et al. 2023, "SLiC-HF: Sequence Likelihood
/// Calibration with Human Feedback", margin δ = 1/β), on the reference-normalised margin as
/// in RSO (Liu et al. 2024, "Statistical Rejection Sampling Improves Preference
/// Optimization"); TRL's `loss_type="hinge"`:
///
/// ```text
/// ℓ = max(0, 1 − β · [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))])
/// ```
pub fn hinge_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    relu(
        (chosen_logratios - rejected_logratios)
            .mul_scalar(-beta)
            .add_scalar(1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // β = 0.5; margins 1, 3, −2 → 1 − 0.5, 0, 1 + 1.
        let l = v(hinge_loss(t(&[1.0, 2.0, -1.0]), t(&[0.0, -1.0, 1.0]), 0.5));
        assert_relative_eq!(l[0], 0.5, epsilon = 1e-6);
        assert_eq!(l[1], 0.0);
        assert_relative_eq!(l[2], 2.0, epsilon = 1e-6);
    }
}
