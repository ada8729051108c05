//! The causal language model abstraction every trainer in the workspace is written against.

use burn::tensor::{Int, Tensor};

use crate::fused_head::{
    OutputProjection, fused_head_available, fused_next_token_stats, fused_token_entropy,
};
use crate::kv_cache::KvCache;
use crate::logprobs::{
    SequenceLogProbs, TokenStats, chunk_positions, chunked_next_token_logprobs,
    chunked_next_token_stats, chunked_token_entropy, shift_mask,
};

/// Default of [`CausalLm::logits_chunk_elements`]: 2²⁴ logits (64 MiB in f32) per chunk.
/// A batch of 16 × 256 tokens over a 4 096-token vocabulary fits in one chunk; Gemma 3's
/// 262 144-token vocabulary is split into chunks of 64 positions at batch size 1.
pub const DEFAULT_LOGITS_CHUNK_ELEMENTS: usize = 1 << 24;

/// A decoder-only language model over a batch of token ids with a padding mask.
///
/// Conventions:
/// - `ids: [B, T]` token ids; `mask: [B, T]` is 1 for tokens and 0 for padding. Rows may be
///   left- or right-padded; positions are counted over real tokens only, so padding never
///   changes a row's log-probs.
/// - Only [`hidden`](CausalLm::hidden), [`logits_from_hidden`](CausalLm::logits_from_hidden)
///   and [`hidden_cached`](CausalLm::hidden_cached) must be written; log-probs, entropies and
///   logits come from them. Splitting hidden states from the output projection lets a reward
///   or value head share the backbone, and lets large vocabularies be projected in chunks:
///   [`token_logprobs`](CausalLm::token_logprobs), [`sequence_logprobs`](CausalLm::sequence_logprobs)
///   and [`token_entropy`](CausalLm::token_entropy) never hold more than
///   [`logits_chunk_elements`](CausalLm::logits_chunk_elements) logits of one forward pass at
///   once (see [`crate::logprobs::chunked_next_token_logprobs`]).
/// - Run rollouts and reference scoring on a `model.valid()` copy with inputs on a device
///   without autodiff, so that no graph is kept alive (see the burn notes).
///
/// The trait is object safe: `&dyn CausalLm` works.
pub trait CausalLm {
    /// Vocabulary size.
    fn vocab_size(&self) -> usize;

    /// Width of the hidden states.
    fn d_model(&self) -> usize;

    /// Longest sequence the model accepts.
    fn max_seq_len(&self) -> usize;

    /// An empty KV cache able to hold `capacity` positions.
    fn new_cache(&self, capacity: usize) -> KvCache;

    /// Final hidden states (after the last norm), `[B, T, d_model]`.
    fn hidden(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3>;

    /// Output projection of hidden states to logits, `[B, T, d_model] → [B, T, vocab]`.
    fn logits_from_hidden(&self, hidden: Tensor<3>) -> Tensor<3>;

    /// Hidden states of `ids: [B, T]` appended after the `cache.len()` cached positions.
    /// `mask: [B, cache.len() + T]` is the padding mask of every position so far and
    /// `positions: [B, T]` the positions of the new tokens. Advances the cache by `T`.
    fn hidden_cached(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        cache: &mut KvCache,
    ) -> Tensor<3>;

    /// Most logits (`batch × positions × vocab`) one chunk of [`token_logprobs`](Self::token_logprobs)
    /// and [`token_entropy`](Self::token_entropy) projects at once; at least one position
    /// per chunk. Defaults to [`DEFAULT_LOGITS_CHUNK_ELEMENTS`].
    fn logits_chunk_elements(&self) -> usize {
        DEFAULT_LOGITS_CHUNK_ELEMENTS
    }

    /// The output projection as weights (tied embedding or linear head), which lets
    /// [`token_logprobs`](Self::token_logprobs), [`token_stats_from_hidden`](Self::token_stats_from_hidden),
    /// [`sequence_logprobs`](Self::sequence_logprobs) and [`token_entropy`](Self::token_entropy)
    /// use the fused head ([`crate::fused_head`]: no logits-sized state saved for the backward
    /// pass) where [`fused_head_available`] says it runs. `None` (the default) keeps the
    /// chunked path over [`logits_from_hidden`](Self::logits_from_hidden).
    fn output_projection(&self) -> Option<OutputProjection> {
        None
    }

    /// The output projection when the fused head runs for `hidden` on its device.
    fn fused_projection(&self, hidden: &Tensor<3>) -> Option<OutputProjection> {
        self.output_projection()
            .filter(|p| fused_head_available(hidden.dtype(), &hidden.device(), p))
    }

    /// Logits `[B, T, vocab]` (all at once; the log-prob methods work in chunks instead).
    fn logits(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3> {
        self.logits_from_hidden(self.hidden(ids, mask))
    }

    /// Per-token log-probs of the next token, `[B, T − 1]` (see [`crate::logprobs`]),
    /// projected to the vocabulary in chunks of positions with gradients flowing through
    /// every chunk.
    fn token_logprobs(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        let [b, _] = ids.dims();
        let hidden = self.hidden(ids.clone(), mask);
        if let Some(proj) = self.fused_projection(&hidden) {
            let block = self.logits_chunk_elements();
            return fused_next_token_stats(hidden, ids, &proj, 1.0, false, block, None).logprobs;
        }
        let chunk = chunk_positions(b, self.vocab_size(), self.logits_chunk_elements());
        chunked_next_token_logprobs(hidden, ids, chunk, |h| self.logits_from_hidden(h))
    }

    /// Per-token log-probs of the next token under `softmax(logits / temperature)` and, when
    /// `with_entropy`, the entropies of those distributions, both `[B, T − 1]`, from hidden
    /// states `hidden` (`[B, T, d_model]`, e.g. from [`hidden`](Self::hidden), shared with a
    /// value head) in one chunked projection (see [`crate::logprobs::chunked_next_token_stats`]).
    fn token_stats_from_hidden(
        &self,
        hidden: Tensor<3>,
        ids: Tensor<2, Int>,
        temperature: f32,
        with_entropy: bool,
    ) -> TokenStats {
        if let Some(proj) = self.fused_projection(&hidden) {
            let block = self.logits_chunk_elements();
            return fused_next_token_stats(
                hidden,
                ids,
                &proj,
                temperature,
                with_entropy,
                block,
                None,
            );
        }
        let [b, _] = ids.dims();
        let chunk = chunk_positions(b, self.vocab_size(), self.logits_chunk_elements());
        chunked_next_token_stats(hidden, ids, chunk, temperature, with_entropy, |h| {
            self.logits_from_hidden(h)
        })
    }

    /// [`token_stats_from_hidden`](Self::token_stats_from_hidden) of a fresh forward pass.
    fn token_stats(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        temperature: f32,
        with_entropy: bool,
    ) -> TokenStats {
        let hidden = self.hidden(ids.clone(), mask);
        self.token_stats_from_hidden(hidden, ids, temperature, with_entropy)
    }

    /// Log-probs of the tokens selected by `target_mask` (aligned with `ids`, e.g. a
    /// completion mask), with per-sequence sums, counts and means.
    fn sequence_logprobs(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        target_mask: Tensor<2, Int>,
    ) -> SequenceLogProbs {
        let target_mask = shift_mask(target_mask * mask.clone());
        let hidden = self.hidden(ids.clone(), mask.clone());
        if let Some(proj) = self.fused_projection(&hidden) {
            // Only the scored positions are projected; the others are masked to 0 anyway.
            let block = self.logits_chunk_elements();
            let rows = Some(target_mask.clone());
            let tokens = fused_next_token_stats(hidden, ids, &proj, 1.0, false, block, rows);
            return SequenceLogProbs::from_tokens(tokens.logprobs, target_mask);
        }
        let [b, _] = ids.dims();
        let chunk = chunk_positions(b, self.vocab_size(), self.logits_chunk_elements());
        let tokens =
            chunked_next_token_logprobs(hidden, ids, chunk, |h| self.logits_from_hidden(h));
        SequenceLogProbs::from_tokens(tokens, target_mask)
    }

    /// Entropy of the next-token distribution at every position, `[B, T]`.
    fn token_entropy(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        let [b, _] = ids.dims();
        let hidden = self.hidden(ids, mask);
        if let Some(proj) = self.fused_projection(&hidden) {
            return fused_token_entropy(hidden, &proj, self.logits_chunk_elements());
        }
        let chunk = chunk_positions(b, self.vocab_size(), self.logits_chunk_elements());
        chunked_token_entropy(hidden, chunk, |h| self.logits_from_hidden(h))
    }
}
