//! SimPO: reference-free, length-normalised margin with a target reward margin γ.

use burn::tensor::Tensor;

use super::sigmoid::logistic_cross_entropy;

/// SimPO (Meng et al. 2024, "SimPO: Simple Preference Optimization with a Reference-Free
/// Reward"), as TRL's `CPOTrainer` with `loss_type="simpo"` computes it. The reward is the
/// policy's average log-prob per completion token (TRL averages for SimPO); no reference
/// model:
///
/// ```text
/// z = β · (log π_θ(y_w)/|y_w| − log π_θ(y_l)/|y_l| − γ/β)  =  β·Δavg − γ
/// ℓ = −q · log σ(z) − (1 − q) · log σ(−z),   q = (1 − ε) p + ε (1 − p)
/// ```
///
/// `γ` = `simpo_gamma` (TRL default 0.5), ε = `label_smoothing` (TRL's CPO smoothing), `p`
/// soft labels (1 when `None`). TRL's CPO-SimPO adds `cpo_alpha` × the chosen NLL: combine
/// with [`sft_loss`](super::sft_loss) at weight α.
///
/// `avg_chosen`/`avg_rejected` are `log π_θ(y)/|y|`, `[B]`.
pub fn simpo_loss(
    avg_chosen: Tensor<1>,
    avg_rejected: Tensor<1>,
    beta: f64,
    gamma: f64,
    label_smoothing: f64,
    p_chosen: Option<Tensor<1>>,
) -> Tensor<1> {
    let z = (avg_chosen - avg_rejected)
        .sub_scalar(gamma / beta)
        .mul_scalar(beta);
    logistic_cross_entropy(z, label_smoothing, p_chosen)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed() {
        // Δavg = −4/4 − (−9/3) = 2; β = 2, γ = 1 → z = 3.
        let l = v(simpo_loss(t(&[-1.0]), t(&[-3.0]), 2.0, 1.0, 0.0, None));
        assert_relative_eq!(l[0] as f64, -ln_sigmoid(3.0), epsilon = 1e-6);
    }
}
