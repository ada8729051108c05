//! IPO's squared loss on length-normalised log-ratios.

use burn::tensor::Tensor;

/// The IPO loss (Azar et al. 2024, "A General Theoretical Paradigm to Understand Learning
/// from Human Preferences", eq. 17, with β in the role of the regulariser τ), on log-ratios
/// averaged over completion tokens as TRL's `loss_type="ipo"` does (TRL notes the IPO
/// authors confirmed the paper's results use this normalisation):
///
/// ```text
/// h = (log π_θ(y_w) − log π_ref(y_w)) / |y_w| − (log π_θ(y_l) − log π_ref(y_l)) / |y_l|
/// ℓ = (h − 1 / (2β))²
/// ```
pub fn ipo_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    chosen_len: Tensor<1>,
    rejected_len: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let h = chosen_logratios / chosen_len - rejected_logratios / rejected_len;
    h.sub_scalar(1.0 / (2.0 * beta)).square()
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // h = 4/2 − (−3)/3 = 3; β = 0.25 → (3 − 2)² = 1. Second pair: h = 0 → 4.
        let l = v(ipo_loss(
            t(&[4.0, 1.0]),
            t(&[-3.0, 1.0]),
            t(&[2.0, 5.0]),
            t(&[3.0, 5.0]),
            0.25,
        ));
        assert_relative_eq!(l[0], 1.0, epsilon = 1e-6);
        assert_relative_eq!(l[1], 4.0, epsilon = 1e-6);
    }
}
