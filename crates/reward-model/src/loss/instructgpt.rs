//! InstructGPT's K-wise loss: every pair of a prompt's ranking, weighted to count once.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Tensor, TensorData};

use super::weighted_mean;

/// The reward-model loss of InstructGPT (Ouyang et al. 2022, §3.5, eq. 1): a labeller ranks
/// K completions of a prompt, giving C(K, 2) comparisons, and "we train on all comparisons
/// from each prompt as a single batch element":
///
/// ```text
/// ℓ_b = − 1 / C(K, 2) · Σ_{i < j} log σ( r_b,i − r_b,j )
/// L   = Σ_b w_b ℓ_b / Σ_b w_b
/// ```
///
/// so each prompt counts once however many pairs it yields, and each completion's reward is
/// computed once for all its pairs. `rewards`: `[B, K]`, each row best first; `weight`: `[B]`.
/// Rows with `K < 2` have no pair and contribute 0. Returns `[1]`. For `K = 2` this is the
/// Bradley-Terry loss.
pub fn instructgpt_pairwise(rewards: Tensor<2>, weight: Option<Tensor<1>>) -> Tensor<1> {
    let [b, k] = rewards.dims();
    let device = rewards.device();
    // diff[b, i, j] = r[b, i] − r[b, j]
    let diff = rewards.clone().reshape([b, k, 1]) - rewards.reshape([b, 1, k]);
    let upper: Vec<f32> = (0..k * k)
        .map(|n| f32::from(u8::from(n / k < n % k)))
        .collect();
    let upper = Tensor::<3>::from_data(TensorData::new(upper, [1, k, k]), &device);
    let pairs = (k * k.saturating_sub(1) / 2).max(1) as f64;
    let per_row = (log_sigmoid(diff) * upper)
        .sum_dim(2)
        .sum_dim(1)
        .reshape([b])
        .div_scalar(pairs)
        .neg();
    weighted_mean(per_row, weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn hand_computed_three_way() {
        let d = Device::flex();
        let r = Tensor::<2>::from_floats([[2.0, 1.0, 0.0]], &d);
        // pairs (Δ = 1, 2, 1): mean of softplus(−Δ)
        let sp = |x: f32| (1.0 + (-x).exp()).ln();
        let want = (2.0 * sp(1.0) + sp(2.0)) / 3.0;
        let l = instructgpt_pairwise(r, None).into_scalar::<f32>();
        assert_relative_eq!(l, want, epsilon = 1e-6);
    }

    #[test]
    fn each_prompt_counts_once() {
        let d = Device::flex();
        // A prompt with a bad ranking and one with a good one: the mean of their two
        // per-prompt losses, whatever K is.
        let r = Tensor::<2>::from_floats([[0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0]], &d);
        let both = instructgpt_pairwise(r.clone(), None).into_scalar::<f32>();
        let first = instructgpt_pairwise(r.clone().slice([0..1, 0..4]), None);
        let second = instructgpt_pairwise(r.slice([1..2, 0..4]), None);
        let mean = (first.into_scalar::<f32>() + second.into_scalar::<f32>()) / 2.0;
        assert_relative_eq!(both, mean, epsilon = 1e-6);
    }
}
