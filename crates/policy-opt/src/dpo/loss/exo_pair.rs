//! EXO for pairs: the reverse KL between the policy's and the smoothed label distribution.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_sigmoid, sigmoid};

/// EXO-pref for K = 2 (Ji et al. 2024, "Towards Efficient Exact Optimization of Language
/// Model Alignment", eq. 16), TRL's `loss_type="exo_pair"`: the KL from the policy's
/// preference distribution `σ(±z)` to the label distribution `(1 − ε, ε)`, ε =
/// `label_smoothing` ∈ (0, 1) (the paper suggests 1e-3):
///
/// ```text
/// z = β · [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))]
/// ℓ = σ(z) · (log σ(z) − log(1 − ε)) + σ(−z) · (log σ(−z) − log ε)
/// ```
pub fn exo_pair_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<1> {
    let eps = label_smoothing;
    let z = (chosen_logratios - rejected_logratios).mul_scalar(beta);
    let win = sigmoid(z.clone()) * log_sigmoid(z.clone()).sub_scalar((-eps).ln_1p());
    let lose = sigmoid(z.clone().neg()) * log_sigmoid(z.neg()).sub_scalar(eps.ln());
    win + lose
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // z = 0.5 · (1 − (−1)) = 1, ε = 0.01.
        let l = v(exo_pair_loss(t(&[1.0]), t(&[-1.0]), 0.5, 0.01));
        let (lw, ll) = (ln_sigmoid(1.0), ln_sigmoid(-1.0));
        let want = lw.exp() * (lw - 0.99f64.ln()) + ll.exp() * (ll - 0.01f64.ln());
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }

    #[test]
    fn zero_when_policy_matches_labels() {
        // σ(z) = 1 − ε ⇒ the KL is 0.
        let eps = 0.2f64;
        let z = ((1.0 - eps) / eps).ln();
        let l = v(exo_pair_loss(t(&[z as f32]), t(&[0.0]), 1.0, eps));
        assert!(l[0].abs() < 1e-6, "{l:?}");
    }
}
