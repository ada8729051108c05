//! DPO's logistic ("sigmoid") loss, with cDPO label smoothing and soft labels.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// The DPO loss (Rafailov et al. 2023, "Direct Preference Optimization", eq. 7), TRL's
/// `loss_type="sigmoid"`:
///
/// ```text
/// z = β · [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))]
/// ℓ = −q · log σ(z) − (1 − q) · log σ(−z)
/// q = (1 − ε) · p + ε · (1 − p)
/// ```
///
/// With hard labels (`p = 1`) and `ε = 0` this is `−log σ(z)`. `ε > 0` is conservative DPO
/// (cDPO, Mitchell 2023, "A note on DPO with noisy preferences", eq. 3), as TRL ≤ 0.2x's
/// `DPOTrainer` and TRL's `CPOTrainer` apply `label_smoothing` (TRL 1.x's `DPOTrainer` no
/// longer reads it for `"sigmoid"`). A soft label `p ∈ [0, 1]` turns the loss into the
/// cross-entropy between `p` and the Bradley–Terry probability `σ(z)`.
///
/// `chosen_logratios`/`rejected_logratios` are `log π_θ − log π_ref` of the summed completion
/// log-probs, `[B]`; returns the per-pair loss `[B]`.
pub fn sigmoid_loss(
    chosen_logratios: Tensor<1>,
    rejected_logratios: Tensor<1>,
    beta: f64,
    label_smoothing: f64,
    p_chosen: Option<Tensor<1>>,
) -> Tensor<1> {
    let z = (chosen_logratios - rejected_logratios).mul_scalar(beta);
    logistic_cross_entropy(z, label_smoothing, p_chosen)
}

/// `−q · log σ(z) − (1 − q) · log σ(−z)` with `q = (1 − ε) p + ε (1 − p)` (`p = 1` when
/// `None`); exactly `−log σ(z)` for hard labels and `ε = 0`.
pub(crate) fn logistic_cross_entropy(
    z: Tensor<1>,
    label_smoothing: f64,
    p_chosen: Option<Tensor<1>>,
) -> Tensor<1> {
    match p_chosen {
        None if label_smoothing == 0.0 => log_sigmoid(z).neg(),
        None => {
            let eps = label_smoothing;
            log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) - log_sigmoid(z.neg()).mul_scalar(eps)
        }
        Some(p) => {
            let eps = label_smoothing;
            let q = p.mul_scalar(1.0 - 2.0 * eps).add_scalar(eps);
            let not_q = q.clone().neg().add_scalar(1.0);
            (q * log_sigmoid(z.clone()) + not_q * log_sigmoid(z.neg())).neg()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // Log-ratio margins 1 − (−2) = 3 and 0 − 1 = −1; β = 0.5.
        let c = t(&[1.0, 0.0]);
        let r = t(&[-2.0, 1.0]);
        let (z0, z1) = (1.5, -0.5);
        let plain = v(sigmoid_loss(c.clone(), r.clone(), 0.5, 0.0, None));
        assert_relative_eq!(plain[0] as f64, -ln_sigmoid(z0), epsilon = 1e-6);
        assert_relative_eq!(plain[1] as f64, -ln_sigmoid(z1), epsilon = 1e-6);
        // cDPO, ε = 0.1.
        let cdpo = v(sigmoid_loss(c.clone(), r.clone(), 0.5, 0.1, None));
        let want = -0.9 * ln_sigmoid(z0) - 0.1 * ln_sigmoid(-z0);
        assert_relative_eq!(cdpo[0] as f64, want, epsilon = 1e-6);
        // Soft labels p = (0.25, 1), ε = 0.1: q = 0.25·0.8 + 0.1 = 0.3, and 0.9.
        let soft = v(sigmoid_loss(c, r, 0.5, 0.1, Some(t(&[0.25, 1.0]))));
        let want0 = -0.3 * ln_sigmoid(z0) - 0.7 * ln_sigmoid(-z0);
        let want1 = -0.9 * ln_sigmoid(z1) - 0.1 * ln_sigmoid(-z1);
        assert_relative_eq!(soft[0] as f64, want0, epsilon = 1e-6);
        assert_relative_eq!(soft[1] as f64, want1, epsilon = 1e-6);
    }

    #[test]
    fn stable_at_large_margins() {
        let l = v(sigmoid_loss(
            t(&[200.0, -200.0]),
            t(&[0.0, 0.0]),
            1.0,
            0.0,
            None,
        ));
        assert!(l[0] >= 0.0 && l[0] < 1e-30, "{l:?}");
        assert_relative_eq!(l[1], 200.0, epsilon = 1e-4);
    }
}
