//! Per-token log-probabilities and entropies from logits, under masks.
//!
//! Shift convention: the log-prob at position `t` is that of token `t + 1` given tokens
//! `0 ..= t`, so a sequence of `T` tokens has `T − 1` scored positions. Masks passed here are
//! aligned with the *input ids* (`target_mask[t] = 1` when token `t` is to be scored) and are
//! shifted inside, which is the form data pipelines produce (completion masks).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// `log p(ids[t+1] | ids[..=t])` for `t = 0 .. T−1`: `[B, T, V] × [B, T] → [B, T−1]`.
///
/// ```text
/// logp[b, t] = log_softmax(logits[b, t, :])[ids[b, t+1]]
/// ```
pub fn next_token_logprobs(logits: Tensor<3>, ids: Tensor<2, Int>) -> Tensor<2> {
    let [b, t, _] = logits.dims();
    let logits = logits.narrow(1, 0, t - 1);
    let targets = ids.narrow(1, 1, t - 1).reshape([b, t - 1, 1]);
    log_softmax(logits, 2)
        .gather(2, targets)
        .reshape([b, t - 1])
}

/// Shifts a mask aligned with input ids (`[B, T]`) to the `[B, T−1]` grid of
/// [`next_token_logprobs`], as floats.
pub fn shift_mask(target_mask: Tensor<2, Int>) -> Tensor<2> {
    let [_, t] = target_mask.dims();
    target_mask.narrow(1, 1, t - 1).float()
}

/// Entropy of the next-token distribution at every position, `[B, T, V] → [B, T]`:
/// `H_t = −Σ_v p_v log p_v`.
pub fn token_entropy(logits: Tensor<3>) -> Tensor<2> {
    let [b, t, _] = logits.dims();
    let lp = log_softmax(logits, 2);
    (lp.clone().exp() * lp).sum_dim(2).neg().reshape([b, t])
}

/// Per-token log-probs with their masked sequence reductions.
#[derive(Clone, Debug)]
pub struct SequenceLogProbs {
    /// Per-token log-probs `[B, T−1]`, zero where the mask is zero.
    pub tokens: Tensor<2>,
    /// Scored-token mask `[B, T−1]` (floats 0/1).
    pub mask: Tensor<2>,
    /// `Σ_t mask·logp` per sequence, `[B]`.
    pub sum: Tensor<1>,
    /// Number of scored tokens per sequence, `[B]`.
    pub count: Tensor<1>,
}

impl SequenceLogProbs {
    /// Reduces per-token log-probs `[B, T−1]` under a `[B, T−1]` float mask.
    pub fn from_tokens(tokens: Tensor<2>, mask: Tensor<2>) -> Self {
        let [b, _] = tokens.dims();
        let tokens = tokens * mask.clone();
        let sum = tokens.clone().sum_dim(1).reshape([b]);
        let count = mask.clone().sum_dim(1).reshape([b]);
        Self {
            tokens,
            mask,
            sum,
            count,
        }
    }

    /// `sum / count` per sequence (0 for a sequence without scored tokens).
    pub fn mean(&self) -> Tensor<1> {
        self.sum.clone() / self.count.clone().clamp_min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    fn ln_softmax(row: &[f32]) -> Vec<f32> {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let z: f32 = row.iter().map(|x| (x - m).exp()).sum();
        row.iter().map(|x| x - m - z.ln()).collect()
    }

    /// Hand-computed case: two sequences, vocab 3, the mask keeps only completion tokens.
    #[test]
    fn masked_shifted_logprobs_by_hand() {
        let dev = Device::flex();
        let logits = [
            [
                [1.0f32, 2.0, 3.0],
                [0.5, 0.5, 2.0],
                [3.0, 1.0, 0.0],
                [0.0, 0.0, 0.0],
            ],
            [
                [2.0, 0.0, 1.0],
                [1.0, 1.0, 1.0],
                [0.0, 4.0, 1.0],
                [2.0, 2.0, 0.0],
            ],
        ];
        let ids = [[0i32, 2, 1, 0], [1, 1, 0, 2]];
        // Token 0 is the prompt in both rows; row 0 scores tokens 2, 3; row 1 tokens 1..3.
        let target = [[0i32, 0, 1, 1], [0, 1, 1, 1]];
        let lt = Tensor::<3>::from_floats(logits, &dev);
        let it = Tensor::<2, Int>::from_ints(ids, &dev);
        let mt = Tensor::<2, Int>::from_ints(target, &dev);
        let lp = SequenceLogProbs::from_tokens(next_token_logprobs(lt, it), shift_mask(mt));
        let got: Vec<f32> = lp.tokens.try_into_vec_as::<f32>().unwrap();
        let mut want = vec![];
        for b in 0..2 {
            for t in 0..3 {
                let m = target[b][t + 1] as f32;
                want.push(m * ln_softmax(&logits[b][t])[ids[b][t + 1] as usize]);
            }
        }
        for (g, w) in got.iter().zip(&want) {
            assert_relative_eq!(g, w, epsilon = 1e-6);
        }
        // Row 0: log softmax([0.5,0.5,2])[1] + log softmax([3,1,0])[0].
        let row0 = ln_softmax(&[0.5, 0.5, 2.0])[1] + ln_softmax(&[3.0, 1.0, 0.0])[0];
        let sums: Vec<f32> = lp.sum.try_into_vec_as::<f32>().unwrap();
        assert_relative_eq!(sums[0], row0, epsilon = 1e-6);
        let counts: Vec<f32> = lp.count.try_into_vec_as::<f32>().unwrap();
        assert_eq!(counts, vec![2.0, 3.0]);
    }

    #[test]
    fn entropy_of_uniform_is_log_v() {
        let dev = Device::flex();
        let h = token_entropy(Tensor::<3>::zeros([2, 3, 5], &dev));
        for v in h.try_into_vec_as::<f32>().unwrap() {
            assert_relative_eq!(v, 5f32.ln(), epsilon = 1e-6);
        }
    }
}
