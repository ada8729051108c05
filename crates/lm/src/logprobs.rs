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

/// [`next_token_logprobs`] of `project(hidden)` computed over chunks of at most `chunk`
/// positions: `hidden: [B, T, d]`, `ids: [B, T]` → `[B, T − 1]`.
///
/// ```text
/// for each chunk C of the positions 0 .. T−1:
///     logp[:, C] = log_softmax(project(hidden[:, C]))[ids[:, C + 1]]
/// ```
///
/// Only the first `T − 1` positions are projected (the last one has no next token). Each
/// chunk's logits `[B, |C|, V]` exist one chunk at a time in the forward pass, instead of the
/// `[B, T, V]` of the whole batch (the memory TRL's chunked / fused LM-head log-probs save);
/// gradients flow through every chunk to `hidden` and the projection's weights. Under
/// autodiff burn keeps what each chunk's backward needs (the max-shifted logits that
/// `log_softmax`'s exponential is recomputed from), so the saving is in the transient
/// forward and backward buffers; see `examples/bench_logprob_chunking.rs` for figures.
/// Equal to the unchunked computation up to floating-point summation order.
pub fn chunked_next_token_logprobs(
    hidden: Tensor<3>,
    ids: Tensor<2, Int>,
    chunk: usize,
    project: impl Fn(Tensor<3>) -> Tensor<3>,
) -> Tensor<2> {
    chunked_next_token_stats(hidden, ids, chunk, 1.0, false, project).logprobs
}

/// Per-token log-probs of the next token — and, when asked, the entropy of the next-token
/// distribution at the same positions — under the tempered policy `softmax(logits / τ)`,
/// from one projection of `hidden`.
#[derive(Clone, Debug)]
pub struct TokenStats {
    /// `log softmax(logits_t / τ)[ids_{t+1}]`, `[B, T − 1]`.
    pub logprobs: Tensor<2>,
    /// `−Σ_v p_v log p_v` of `softmax(logits_t / τ)`, `[B, T − 1]`, when requested.
    pub entropy: Option<Tensor<2>>,
}

/// [`chunked_next_token_logprobs`] at temperature `τ`, with the entropies of the same
/// tempered distributions when `with_entropy` (both from each chunk's logits, so the
/// backbone and the projection run once):
///
/// ```text
/// logp[b, t] = log_softmax(project(hidden[b, t]) / τ)[ids[b, t+1]]
/// H[b, t]    = −Σ_v exp(ls_v) · ls_v,      ls = log_softmax(project(hidden[b, t]) / τ)
/// ```
///
/// The tempered softmax is the policy that sampling at temperature `τ` draws from, and the
/// distribution TRL (`selective_log_softmax(logits / temperature)`) and verl use for the
/// old, new and reference log-probs of online RL. `τ = 1` is the model's own distribution.
/// `τ` must be finite and positive (not checked here; callers validate their configs).
pub fn chunked_next_token_stats(
    hidden: Tensor<3>,
    ids: Tensor<2, Int>,
    chunk: usize,
    temperature: f32,
    with_entropy: bool,
    project: impl Fn(Tensor<3>) -> Tensor<3>,
) -> TokenStats {
    let [b, t, _] = hidden.dims();
    let scaled = |logits: Tensor<3>| {
        if temperature == 1.0 {
            logits
        } else {
            logits / temperature as f64
        }
    };
    if t < 2 {
        let logits = scaled(project(hidden));
        let entropy = with_entropy.then(|| Tensor::<2>::zeros([b, 0], &logits.device()));
        return TokenStats {
            logprobs: next_token_logprobs(logits, ids),
            entropy,
        };
    }
    let n = t - 1;
    let chunk = chunk.clamp(1, n);
    let mut parts: Vec<Tensor<2>> = Vec::with_capacity(n.div_ceil(chunk));
    let mut ent_parts: Vec<Tensor<2>> = Vec::new();
    let mut start = 0;
    while start < n {
        let c = chunk.min(n - start);
        let logits = scaled(project(after(
            parts.last(),
            hidden.clone().narrow(1, start, c),
        )));
        let targets = ids.clone().narrow(1, start + 1, c).reshape([b, c, 1]);
        let lp = log_softmax(logits, 2);
        if with_entropy {
            ent_parts.push(
                (lp.clone().exp() * lp.clone())
                    .sum_dim(2)
                    .neg()
                    .reshape([b, c]),
            );
        }
        parts.push(lp.gather(2, targets).reshape([b, c]));
        start += c;
    }
    let join = |mut parts: Vec<Tensor<2>>| {
        if parts.len() == 1 {
            parts.pop().expect("one chunk")
        } else {
            Tensor::cat(parts, 1)
        }
    };
    TokenStats {
        logprobs: join(parts),
        entropy: with_entropy.then(|| join(ent_parts)),
    }
}

/// [`token_entropy`] of `project(hidden)` over chunks of at most `chunk` positions:
/// `hidden: [B, T, d] → [B, T]`.
pub fn chunked_token_entropy(
    hidden: Tensor<3>,
    chunk: usize,
    project: impl Fn(Tensor<3>) -> Tensor<3>,
) -> Tensor<2> {
    let [_, t, _] = hidden.dims();
    let chunk = chunk.clamp(1, t.max(1));
    if chunk >= t {
        return token_entropy(project(hidden));
    }
    let mut parts: Vec<Tensor<2>> = Vec::with_capacity(t.div_ceil(chunk));
    let mut start = 0;
    while start < t {
        let c = chunk.min(t - start);
        let h = after(parts.last(), hidden.clone().narrow(1, start, c));
        parts.push(token_entropy(project(h)));
        start += c;
    }
    Tensor::cat(parts, 1)
}

/// `x`, made to depend (with a zero contribution) on the previous chunk's result `prev`.
///
/// burn's backward pass runs the recorded operations level by level in reverse order of
/// depth in the graph. Independent chunks share their levels, so the backward would build
/// the `[B, c, V]` gradients of *every* chunk at one level before moving to the next, holding
/// the logits-sized gradients of the whole batch at once. Chaining each chunk behind the
/// previous one puts the chunks at disjoint depths: the backward finishes one chunk (and
/// frees its buffers) before starting the next. The value of `x` is unchanged: the added
/// term is `mask_fill(·, 0)` of `prev`, exactly zero even if `prev` is not finite.
fn after(prev: Option<&Tensor<2>>, x: Tensor<3>) -> Tensor<3> {
    let Some(prev) = prev.filter(|p| p.is_tracked()) else {
        return x;
    };
    let [b, c, d] = x.dims();
    let dep = prev
        .clone()
        .narrow(1, 0, 1)
        .narrow(0, 0, 1)
        .reshape([1, 1, 1]);
    let all = dep.clone().zeros_like().equal_elem(0.0);
    x + dep.mask_fill(all, 0.0).expand([b, c, d])
}

/// Positions per chunk so that one chunk holds at most `elements` logits of a batch of
/// `batch` rows over `vocab` tokens (at least 1).
pub fn chunk_positions(batch: usize, vocab: usize, elements: usize) -> usize {
    (elements / (batch.max(1) * vocab.max(1))).max(1)
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

    fn randn(n: usize, seed: u64) -> Vec<f32> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random::<f32>() * 4.0 - 2.0).collect()
    }

    /// Chunked log-probs and entropies equal the unchunked ones, and so do the gradients
    /// they send to the hidden states and the projection weights, for chunk sizes that
    /// divide the positions, do not, are 1, and cover everything.
    #[test]
    fn chunked_equals_unchunked_with_gradients() {
        use burn::tensor::TensorData;
        let dev = Device::flex().autodiff();
        let (b, t, d, v) = (2, 9, 5, 13);
        let h0 = TensorData::new(randn(b * t * d, 1), [b, t, d]);
        let w0 = TensorData::new(randn(d * v, 2), [d, v]);
        let ids: Vec<i64> = (0..b * t).map(|i| ((i * 7 + 3) % v) as i64).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &dev);
        // A loss weighting every position differently, so each gradient entry is distinct.
        let weights =
            Tensor::<2>::from_data(TensorData::new(randn(b * (t - 1), 3), [b, t - 1]), &dev);
        let ent_weights = Tensor::<2>::from_data(TensorData::new(randn(b * t, 4), [b, t]), &dev);
        let run = |chunk: Option<usize>| {
            let h = Tensor::<3>::from_data(h0.clone(), &dev).require_grad();
            let w = Tensor::<2>::from_data(w0.clone(), &dev).require_grad();
            let project = |x: Tensor<3>| {
                let [b, c, _] = x.dims();
                x.reshape([b * c, d]).matmul(w.clone()).reshape([b, c, v])
            };
            let (lp, ent) = match chunk {
                None => {
                    let logits = project(h.clone());
                    (
                        next_token_logprobs(logits.clone(), ids.clone()),
                        token_entropy(logits),
                    )
                }
                Some(c) => (
                    chunked_next_token_logprobs(h.clone(), ids.clone(), c, project),
                    chunked_token_entropy(h.clone(), c, project),
                ),
            };
            let loss =
                (lp.clone() * weights.clone()).sum() + (ent.clone() * ent_weights.clone()).sum();
            let grads = loss.backward();
            let vec = |x: Tensor<3>| x.try_into_vec_as::<f32>().unwrap();
            (
                lp.try_into_vec_as::<f32>().unwrap(),
                ent.try_into_vec_as::<f32>().unwrap(),
                vec(h.grad(&grads).unwrap()),
                w.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap(),
            )
        };
        let want = run(None);
        for chunk in [1, 2, 3, 8, 100] {
            let got = run(Some(chunk));
            for (g, w) in [
                (&got.0, &want.0),
                (&got.1, &want.1),
                (&got.2, &want.2),
                (&got.3, &want.3),
            ] {
                assert_eq!(g.len(), w.len());
                for (a, b) in g.iter().zip(w.iter()) {
                    assert_relative_eq!(a, b, epsilon = 1e-5, max_relative = 1e-5);
                }
            }
        }
    }

    /// Tempered log-probs and entropies from one chunked pass equal the unchunked tempered
    /// computation, for several chunk sizes.
    #[test]
    fn tempered_stats_equal_the_unchunked_computation() {
        use burn::tensor::TensorData;
        let dev = Device::flex();
        let (b, t, v, tau) = (2, 7, 11, 0.6f32);
        let h = Tensor::<3>::from_data(TensorData::new(randn(b * t * v, 7), [b, t, v]), &dev);
        let ids: Vec<i64> = (0..b * t).map(|i| ((i * 5 + 1) % v) as i64).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &dev);
        let scaled = h.clone() / tau as f64;
        let want_lp: Vec<f32> = next_token_logprobs(scaled.clone(), ids.clone())
            .try_into_vec_as()
            .unwrap();
        let want_h: Vec<f32> = token_entropy(scaled.narrow(1, 0, t - 1))
            .try_into_vec_as()
            .unwrap();
        for chunk in [1, 3, 100] {
            let got = chunked_next_token_stats(h.clone(), ids.clone(), chunk, tau, true, |x| x);
            let lp: Vec<f32> = got.logprobs.try_into_vec_as().unwrap();
            let ent: Vec<f32> = got.entropy.unwrap().try_into_vec_as().unwrap();
            for (a, b) in lp.iter().zip(&want_lp).chain(ent.iter().zip(&want_h)) {
                assert_relative_eq!(a, b, epsilon = 1e-5, max_relative = 1e-5);
            }
        }
    }

    #[test]
    fn chunk_positions_fit_the_budget() {
        assert_eq!(chunk_positions(2, 262_144, 1 << 24), 32);
        assert_eq!(chunk_positions(16, 4096, 1 << 24), 256);
        assert_eq!(chunk_positions(64, 262_144, 1 << 24), 1);
        assert_eq!(chunk_positions(0, 0, 0), 1);
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
