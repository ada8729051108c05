//! The decoder-only models: the configurable [`Transformer`] (GPT-2, Llama, Qwen2/3,
//! Mistral, SmolLM), [`Gemma3`], and the [`LanguageModel`] enum that holds either.

/// The [`CausalLm`](crate::CausalLm) methods every decoder of this crate implements the same
/// way from its `config` (`vocab_size`, `d_model`, `max_seq_len`, `n_layers`) and its
/// `run(ids, mask, positions, cache)`; used inside each `impl CausalLm`.
macro_rules! decoder_common {
    () => {
        fn vocab_size(&self) -> usize {
            self.config.vocab_size
        }

        fn d_model(&self) -> usize {
            self.config.d_model
        }

        fn max_seq_len(&self) -> usize {
            self.config.max_seq_len
        }

        fn new_cache(&self, capacity: usize) -> crate::kv_cache::KvCache {
            crate::kv_cache::KvCache::new(self.config.n_layers, capacity)
        }

        fn hidden(
            &self,
            ids: burn::tensor::Tensor<2, burn::tensor::Int>,
            mask: burn::tensor::Tensor<2, burn::tensor::Int>,
        ) -> burn::tensor::Tensor<3> {
            let positions = crate::mask::positions_from_mask(mask.clone());
            self.run(ids, mask, positions, None)
        }

        fn hidden_cached(
            &self,
            ids: burn::tensor::Tensor<2, burn::tensor::Int>,
            mask: burn::tensor::Tensor<2, burn::tensor::Int>,
            positions: burn::tensor::Tensor<2, burn::tensor::Int>,
            cache: &mut crate::kv_cache::KvCache,
        ) -> burn::tensor::Tensor<3> {
            self.run(ids, mask, positions, Some(cache))
        }
    };
}

mod any;
mod attention;
mod block;
pub mod gemma;
mod mlp;
mod norm;
mod rope;
mod transformer;
mod vocab_embedding;

pub use any::LanguageModel;
pub use attention::{Attention, MASKED_SCORE};
pub use block::Block;
pub use gemma::{Gemma3, Gemma3Config};
pub use mlp::{GateActivation, Mlp};
pub use norm::Norm;
pub use rope::{Rope, RopeScaling, RopeTables};
pub use transformer::Transformer;
pub(crate) use vocab_embedding::ROW_BLOCKS_FIELD;
pub use vocab_embedding::{MAX_BLOCK_BYTES, VocabEmbedding};

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Logits of a tied output projection: `hidden: [B, T, d]`, `embedding: [V, d]` →
/// `[B, T, V]`, computed as `(E · hᵀ)ᵀ`.
///
/// Multiplying by the embedding itself rather than by a transposed view of it means the
/// backward pass sends each call's `[V, d]` gradient straight into the embedding's own
/// gradient (summed in place), instead of into a fresh transpose node per call. With
/// per-token log-probs computed in chunks that is the difference between one `[V, d]`
/// gradient buffer and one per chunk held at once (measured by
/// `examples/bench_logprob_chunking.rs`), and it avoids re-laying out `Eᵀ` at every call.
pub fn tied_logits(hidden: Tensor<3>, embedding: Tensor<2>) -> Tensor<3> {
    let [b, t, d] = hidden.dims();
    let [v, _] = embedding.dims();
    embedding
        .matmul(hidden.reshape([b * t, d]).transpose())
        .transpose()
        .reshape([b, t, v])
}

/// Seeded host-side initialiser: N(0, 0.02²) weights (GPT-2 / Llama), independent of the
/// backend's global random state, so the same seed gives the same model on every backend
/// and in concurrently running threads.
pub(crate) struct Init {
    rng: StdRng,
}

impl Init {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// `[rows, cols]` with N(0, std²) entries (Box–Muller).
    pub(crate) fn normal(
        &mut self,
        rows: usize,
        cols: usize,
        std: f64,
        device: &Device,
    ) -> Param<Tensor<2>> {
        Param::from_tensor(Tensor::from_data(self.normal_data(rows, cols, std), device))
    }

    /// [`normal`](Self::normal) in host memory.
    pub(crate) fn normal_data(&mut self, rows: usize, cols: usize, std: f64) -> TensorData {
        let n = rows * cols;
        let mut v = Vec::with_capacity(n + 1);
        while v.len() < n {
            let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
            let u2: f64 = self.rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt() * std;
            let a = std::f64::consts::TAU * u2;
            v.push((r * a.cos()) as f32);
            v.push((r * a.sin()) as f32);
        }
        v.truncate(n);
        TensorData::new(v, [rows, cols])
    }

    /// A projection with N(0, 0.02²) weights and, if asked, zero biases.
    pub(crate) fn linear(
        &mut self,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Linear {
        let mut lin = LinearConfig::new(d_in, d_out).with_bias(false).init(device);
        lin.weight = self.normal(d_in, d_out, 0.02, device);
        if bias {
            lin.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
        }
        lin
    }
}
