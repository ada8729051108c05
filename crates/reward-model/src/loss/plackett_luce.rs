//! The Plackett-Luce loss for K-wise rankings.

use burn::tensor::{Bool, Device, Tensor, TensorData};

use super::weighted_mean;

/// Scores standing in for `−∞` in masked log-sum-exps (finite, so no NaN; see the burn notes).
const MASKED: f32 = -1e9;

/// Negative log-likelihood of rankings under the Plackett-Luce model (Plackett 1975; Luce
/// 1959), as used for K-wise reward learning by Zhu, Jordan & Jiao 2023 ("Principled RLHF
/// from pairwise or K-wise comparisons", eq. 5) and as ListMLE (Xia et al. 2008):
///
/// ```text
/// P(y_1 ≻ y_2 ≻ … ≻ y_K) = Π_{k=1}^{K} exp(r_k) / Σ_{j=k}^{K} exp(r_j)
/// ℓ_b = − Σ_{k=1}^{min(top, K)} [ r_k − log Σ_{j=k}^{K} exp(r_j) ]
/// L   = Σ_b w_b ℓ_b / Σ_b w_b
/// ```
///
/// `rewards`: `[B, K]`, each row's completions **best first**; `top`: score only the first
/// `top` choices (a partial ranking, "top-k Plackett-Luce"; `None`: all); `weight`: `[B]`.
/// The last position always contributes 0. With `K = 2` this is the Bradley-Terry loss
/// `−log σ(r_1 − r_2)`. Returns `[1]`.
pub fn plackett_luce_nll(
    rewards: Tensor<2>,
    top: Option<usize>,
    weight: Option<Tensor<1>>,
) -> Tensor<1> {
    let [b, k] = rewards.dims();
    let device = rewards.device();
    // x[b, i, j] = r[b, j] for j ≥ i, masked below the diagonal.
    let x = rewards
        .clone()
        .reshape([b, 1, k])
        .expand([b, k, k])
        .mask_fill(before_diagonal(k, &device), MASKED);
    let max = x.clone().max_dim(2); // [b, k, 1], finite: the diagonal is never masked
    let lse = (x - max.clone()).exp().sum_dim(2).log() + max;
    let terms = rewards - lse.reshape([b, k]); // [b, k]
    let scored = top.unwrap_or(k).min(k);
    let positions: Vec<f32> = (0..k).map(|i| f32::from(u8::from(i < scored))).collect();
    let keep = Tensor::<1>::from_data(TensorData::new(positions, [k]), &device).reshape([1, k]);
    let per_row = (terms * keep).sum_dim(1).reshape([b]).neg();
    weighted_mean(per_row, weight)
}

/// `[1, K, K]` mask, true where column `j < i` (choices already made at step `i`).
fn before_diagonal(k: usize, device: &Device) -> Tensor<3, Bool> {
    let v: Vec<bool> = (0..k * k).map(|n| n % k < n / k).collect();
    Tensor::<3, Bool>::from_data(TensorData::new(v, [1, k, k]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::bradley_terry;
    use approx::assert_relative_eq;

    fn t2(v: &[[f32; 3]]) -> Tensor<2> {
        let flat: Vec<f32> = v.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [v.len(), 3]), &Device::flex())
    }

    #[test]
    fn hand_computed_three_way() {
        // r = (2, 1, 0): − [2 − ln(e²+e+1)] − [1 − ln(e+1)] − 0
        let l = plackett_luce_nll(t2(&[[2.0, 1.0, 0.0]]), None, None).into_scalar::<f32>();
        let e = std::f32::consts::E;
        let want = -(2.0 - (e * e + e + 1.0).ln()) - (1.0 - (e + 1.0).ln());
        assert_relative_eq!(l, want, epsilon = 1e-5);
        // Only the first choice: − [2 − ln(e²+e+1)].
        let l = plackett_luce_nll(t2(&[[2.0, 1.0, 0.0]]), Some(1), None).into_scalar::<f32>();
        assert_relative_eq!(l, (e * e + e + 1.0).ln() - 2.0, epsilon = 1e-5);
        // Equal rewards: ln 3! = ln 6 (every order equally likely).
        let l = plackett_luce_nll(t2(&[[0.5, 0.5, 0.5]]), None, None).into_scalar::<f32>();
        assert_relative_eq!(l, 6f32.ln(), epsilon = 1e-5);
    }

    #[test]
    fn two_way_is_bradley_terry() {
        let d = Device::flex();
        let r = Tensor::<2>::from_floats([[0.3, 1.7], [2.0, -1.0]], &d);
        let pl = plackett_luce_nll(r.clone(), None, None).into_scalar::<f32>();
        let c = r.clone().slice([0..2, 0..1]).reshape([2]);
        let w = r.slice([0..2, 1..2]).reshape([2]);
        let bt = bradley_terry(c, w, None, None).into_scalar::<f32>();
        assert_relative_eq!(pl, bt, epsilon = 1e-6);
    }

    #[test]
    fn extreme_rewards_stay_finite() {
        let l = plackett_luce_nll(t2(&[[-500.0, 0.0, 500.0]]), None, None).into_scalar::<f32>();
        // ≈ (500 + 500) + (0 + 500)... −[−500 − 500] − [0 − 500] = 1500
        assert_relative_eq!(l, 1500.0, epsilon = 1e-2);
    }
}
