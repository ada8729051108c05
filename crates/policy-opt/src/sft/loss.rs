//! The supervised fine-tuning loss.

use burn::tensor::{Int, Tensor};
use lm::logprobs::{next_token_logprobs, shift_mask};
use lm::{CausalLm, SequenceLogProbs};

/// Token-level negative log-likelihood over the tokens selected by `loss_mask`.
///
/// ```text
/// L(θ) = − Σ_{b,t} m_{b,t+1} · log p_θ(x_{b,t+1} | x_{b,≤t})  /  Σ_{b,t} m_{b,t+1}
/// ```
///
/// the maximum-likelihood objective of causal language modelling (Radford et al. 2018,
/// eq. 1), averaged over scored tokens as TRL's `SFTTrainer` does. `loss_mask` is aligned
/// with `ids` (1 = token to predict: completion tokens, or every real token); it is
/// shifted here. Returns the loss `[1]` and the number of scored tokens.
pub fn sft_loss(
    logits: Tensor<3>,
    ids: Tensor<2, Int>,
    loss_mask: Tensor<2, Int>,
) -> (Tensor<1>, Tensor<1>) {
    let logp = next_token_logprobs(logits, ids);
    let mask = shift_mask(loss_mask);
    let count = mask.clone().sum();
    let loss = (logp * mask).sum().neg() / count.clone().clamp_min(1.0);
    (loss, count)
}

/// [`sft_loss`] of `model` on `ids`/`mask`, through the model's per-token log-probs
/// ([`CausalLm::sequence_logprobs`], the fused output head where the backend has it): the
/// `[B, T, V]` logits of the whole batch never exist at once (at Gemma 3's 262 144-token
/// vocabulary they would take gigabytes). Same value and gradients as
/// `sft_loss(model.logits(ids, mask), ids, loss_mask · mask)`.
pub fn sft_loss_chunked<M: CausalLm + ?Sized>(
    model: &M,
    ids: Tensor<2, Int>,
    mask: Tensor<2, Int>,
    loss_mask: Tensor<2, Int>,
) -> (Tensor<1>, Tensor<1>) {
    sft_loss_from_logprobs(&model.sequence_logprobs(ids, mask, loss_mask))
}

/// [`sft_loss`] from masked per-token log-probs (e.g. [`CausalLm::sequence_logprobs`]
/// with the loss mask as target mask): `(−Σ sum / max(Σ count, 1), Σ count)`.
pub fn sft_loss_from_logprobs(lp: &SequenceLogProbs) -> (Tensor<1>, Tensor<1>) {
    let count = lp.count.clone().sum();
    let loss = lp.sum.clone().sum().neg() / count.clone().clamp_min(1.0);
    (loss, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn hand_computed_masked_nll() {
        let dev = Device::flex();
        // One row, vocab 2, three tokens; only token 2 is scored.
        let logits = Tensor::<3>::from_floats([[[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]]], &dev);
        let ids = Tensor::<2, Int>::from_ints([[0, 1, 0]], &dev);
        let mask = Tensor::<2, Int>::from_ints([[0, 0, 1]], &dev);
        let (loss, n) = sft_loss(logits.clone(), ids.clone(), mask);
        // log p(token 0 | position 1 logits [2, 0]) = 2 − ln(e² + 1).
        let want = -(2.0f32 - (2f32.exp() + 1.0).ln());
        assert_relative_eq!(loss.into_scalar::<f32>(), want, epsilon = 1e-6);
        assert_eq!(n.into_scalar::<f32>(), 1.0);
        // All tokens: mean of ln 2 (position 0 → token 1) and the term above.
        let all = Tensor::<2, Int>::from_ints([[1, 1, 1]], &dev);
        let (loss, _) = sft_loss(logits, ids, all);
        assert_relative_eq!(
            loss.into_scalar::<f32>(),
            (2f32.ln() + want) / 2.0,
            epsilon = 1e-6
        );
    }

    /// The chunked path equals the logits path, value and gradients, whatever the chunk size.
    #[test]
    fn chunked_equals_logits_path() {
        use lm::{Transformer, TransformerConfig};
        let dev = lm::select_device().unwrap().autodiff();
        let cfg = TransformerConfig::llama(37, 16, 1, 2, 1, 32).with_max_seq_len(16);
        let model = Transformer::new(&cfg, 3, &dev).unwrap();
        let ids = Tensor::<2, Int>::from_ints([[1, 5, 9, 3, 4, 0], [2, 7, 7, 8, 0, 0]], &dev);
        let mask = Tensor::<2, Int>::from_ints([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], &dev);
        let loss_mask = Tensor::<2, Int>::from_ints([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]], &dev);
        let grad_of = |loss: Tensor<1>, m: &Transformer| {
            let g = loss.backward();
            m.blocks[0]
                .attn
                .q
                .weight
                .grad(&g)
                .unwrap()
                .try_into_vec_as::<f32>()
                .unwrap()
        };
        let (want, n) = sft_loss(
            model.logits(ids.clone(), mask.clone()),
            ids.clone(),
            loss_mask.clone() * mask.clone(),
        );
        let want_v = want.clone().into_scalar::<f32>();
        let want_g = grad_of(want, &model);
        for chunk in [usize::MAX, 37 * 2, 1] {
            let chunked = Chunked(&model, chunk);
            let (got, m) = sft_loss_chunked(&chunked, ids.clone(), mask.clone(), loss_mask.clone());
            assert_eq!(m.into_scalar::<f32>(), n.clone().into_scalar::<f32>());
            assert_relative_eq!(got.clone().into_scalar::<f32>(), want_v, epsilon = 1e-5);
            for (a, b) in grad_of(got, &model).iter().zip(&want_g) {
                assert_relative_eq!(a, b, epsilon = 1e-5, max_relative = 1e-4);
            }
        }
    }

    /// A model projected `.1` logits at a time.
    struct Chunked<'a>(&'a lm::Transformer, usize);

    impl CausalLm for Chunked<'_> {
        fn vocab_size(&self) -> usize {
            self.0.vocab_size()
        }
        fn d_model(&self) -> usize {
            self.0.d_model()
        }
        fn max_seq_len(&self) -> usize {
            self.0.max_seq_len()
        }
        fn new_cache(&self, capacity: usize) -> lm::KvCache {
            self.0.new_cache(capacity)
        }
        fn hidden(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3> {
            self.0.hidden(ids, mask)
        }
        fn logits_from_hidden(&self, hidden: Tensor<3>) -> Tensor<3> {
            self.0.logits_from_hidden(hidden)
        }
        fn hidden_cached(
            &self,
            ids: Tensor<2, Int>,
            mask: Tensor<2, Int>,
            positions: Tensor<2, Int>,
            cache: &mut lm::KvCache,
        ) -> Tensor<3> {
            self.0.hidden_cached(ids, mask, positions, cache)
        }
        fn logits_chunk_elements(&self) -> usize {
            self.1
        }
    }
}
