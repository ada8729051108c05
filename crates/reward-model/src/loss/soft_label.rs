//! Binary cross-entropy against soft preference labels (AI feedback).

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

use super::weighted_mean;

/// Cross-entropy between the Bradley-Terry preference probability `σ(r_a − r_b)` and a soft
/// label `p ∈ [0, 1]`, the probability that `a` is preferred — the targets an AI feedback
/// model produces in Constitutional AI (Bai et al. 2022, §4.1: "we train on the soft
/// preference labels (normalized log-probabilities) from the feedback model"):
///
/// ```text
/// Δ_i = r_a,i − r_b,i
/// ℓ_i = − [ p_i log σ(Δ_i) + (1 − p_i) log σ(−Δ_i) ]
/// L   = Σ_i w_i ℓ_i / Σ_i w_i
/// ```
///
/// Equals PyTorch's `binary_cross_entropy_with_logits(Δ, p)` for unit weights, and the
/// Bradley-Terry loss [`bradley_terry`](super::bradley_terry) when every `p = 1`. Its minimum
/// over `Δ` is at `σ(Δ) = p`, where `ℓ` is the entropy of `p` (not 0). `a`, `b`, `p`, `weight`:
/// `[B]`. Returns `[1]`.
pub fn soft_label_bce(
    a: Tensor<1>,
    b: Tensor<1>,
    p: Tensor<1>,
    weight: Option<Tensor<1>>,
) -> Tensor<1> {
    let delta = a - b;
    let q = p.clone().neg().add_scalar(1.0);
    let per_pair = (p * log_sigmoid(delta.clone()) + q * log_sigmoid(delta.neg())).neg();
    weighted_mean(per_pair, weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::bradley_terry;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_floats(v, &Device::flex())
    }

    #[test]
    fn hand_computed_values() {
        // Δ = ln 3 → σ(Δ) = 3/4; p = 3/4 → loss = entropy of 3/4.
        let d = 3f32.ln();
        let l = soft_label_bce(t(&[d]), t(&[0.0]), t(&[0.75]), None).into_scalar::<f32>();
        let h = -(0.75f32 * 0.75f32.ln() + 0.25 * 0.25f32.ln());
        assert_relative_eq!(l, h, epsilon = 1e-6);
        // p = 0.5, Δ = 0 → ln 2.
        let l = soft_label_bce(t(&[1.0]), t(&[1.0]), t(&[0.5]), None).into_scalar::<f32>();
        assert_relative_eq!(l, 2f32.ln(), epsilon = 1e-6);
    }

    #[test]
    fn hard_labels_reduce_to_bradley_terry() {
        let (a, b) = (t(&[0.3, -1.2, 2.0]), t(&[1.0, 0.4, -0.7]));
        let soft = soft_label_bce(a.clone(), b.clone(), t(&[1.0, 1.0, 1.0]), None);
        let bt = bradley_terry(a, b, None, None);
        assert_relative_eq!(
            soft.into_scalar::<f32>(),
            bt.into_scalar::<f32>(),
            epsilon = 1e-6
        );
    }
}
