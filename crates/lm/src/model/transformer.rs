//! The full model: embeddings, blocks, final norm, output projection.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear};
use burn::tensor::{Bool, Device, Int, Tensor};

use super::block::Block;
use super::gemma::{LayerKind, sliding_window_blocked};
use super::norm::Norm;
use super::rope::Rope;
use super::vocab_embedding::VocabEmbedding;
use crate::causal_lm::CausalLm;
use crate::config::{PositionKind, TransformerConfig};
use crate::error::LmError;
use crate::fused_head::OutputProjection;
use crate::kv_cache::KvCache;
use crate::lora::LoraConfig;
use crate::mask::blocked_keys;

/// A decoder-only transformer implementing [`CausalLm`].
///
/// Llama-style (RoPE, RMSNorm, SwiGLU, grouped-query attention) or GPT-2-style (learned
/// positions, LayerNorm, GELU) according to its [`TransformerConfig`], whose options also
/// cover Qwen2/2.5 (q/k/v biases), Qwen3 (QK-norm, explicit `head_dim`), Mistral (sliding
/// window) and Llama 3.x (scaled RoPE). Load Hugging Face checkpoints of these families with
/// [`crate::checkpoint::load_hf`] or [`crate::checkpoint::load_pretrained`].
#[derive(Module, Debug)]
pub struct Transformer {
    /// Token embedding `[vocab, d_model]`; also the output projection when tied. Held in
    /// row blocks on devices that cap a buffer's size (wgpu), whole on Flex
    /// ([`VocabEmbedding`]).
    pub embed: VocabEmbedding,
    /// Learned position table `[max_seq_len, d_model]` (GPT-2 style only).
    pub pos_embed: Option<Embedding>,
    /// Decoder blocks.
    pub blocks: Vec<Block>,
    /// Final norm.
    pub norm: Norm,
    /// Output projection `d_model → vocab` when embeddings are not tied.
    pub lm_head: Option<Linear>,
    /// The configuration this model was built from.
    #[module(skip)]
    pub config: TransformerConfig,
    #[module(skip)]
    rope: Option<Rope>,
    #[module(skip)]
    pub(crate) lora: Option<LoraConfig>,
}

impl Transformer {
    /// A randomly initialised model: weights N(0, 0.02²) and biases 0, as GPT-2 and Llama
    /// initialise, drawn from a host RNG seeded with `seed` (the same seed gives the same
    /// weights on every backend). Validates the config first.
    pub fn new(config: &TransformerConfig, seed: u64, device: &Device) -> Result<Self, LmError> {
        config.validate()?;
        let mut init = super::Init::new(seed);
        let embedding = |n: usize, init: &mut super::Init| {
            let mut e = EmbeddingConfig::new(n, config.d_model).init(device);
            e.weight = init.normal(n, config.d_model, 0.02, device);
            e
        };
        let embed = VocabEmbedding::from_data(
            init.normal_data(config.vocab_size, config.d_model, 0.02),
            device,
        )?;
        let pos_embed = (config.positions == PositionKind::Learned)
            .then(|| embedding(config.max_seq_len, &mut init));
        let blocks = (0..config.n_layers)
            .map(|_| Block::new(config, &mut init, device))
            .collect();
        let lm_head = (!config.tie_embeddings)
            .then(|| init.linear(config.d_model, config.vocab_size, false, device));
        let norm = Norm::new(config.norm, config.d_model, config.norm_eps, device);
        Ok(Self::from_parts(
            config, embed, pos_embed, blocks, norm, lm_head,
        ))
    }

    /// Assembles a model from already built parts (used by checkpoint loaders).
    pub fn from_parts(
        config: &TransformerConfig,
        embed: VocabEmbedding,
        pos_embed: Option<Embedding>,
        blocks: Vec<Block>,
        norm: Norm,
        lm_head: Option<Linear>,
    ) -> Self {
        let rope = match (config.positions, &config.rope_scaling) {
            (PositionKind::Rope { theta }, None) => Some(Rope::new(config.head_dim(), theta)),
            (PositionKind::Rope { theta }, Some(s)) => {
                Some(Rope::scaled(config.head_dim(), theta, s))
            }
            (PositionKind::Learned, _) => None,
        };
        Self {
            embed,
            pos_embed,
            blocks,
            norm,
            lm_head,
            config: config.clone(),
            rope,
            lora: None,
        }
    }

    /// Holds the token embedding in blocks of `rows` rows (see [`VocabEmbedding`]; models
    /// are built and loaded with the blocks their device needs already). Outputs are
    /// unchanged; on Flex a blocked tied table takes the unfused chunked head.
    pub fn with_embedding_block_rows(mut self, rows: usize) -> Self {
        self.embed = self.embed.with_block_rows(rows);
        self
    }

    fn run(
        &self,
        ids: Tensor<2, Int>,
        key_mask: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = ids.device();
        let [_, t] = ids.dims();
        let past = cache.as_ref().map_or(0, |c| c.len());
        let mut x = self.embed.forward(ids);
        if let Some(pos) = &self.pos_embed {
            let max = self.config.max_seq_len as i64 - 1;
            x = x + pos.forward(positions.clone().clamp(0, max));
        }
        let blocked: Tensor<4, Bool> = blocked_keys(key_mask.clone(), past, t);
        let n = self.blocks.len();
        let local = match self.config.sliding_window {
            Some(window) if (0..n).any(|i| self.config.layer_kind(i) == LayerKind::Sliding) => {
                Some(sliding_window_blocked(
                    blocked.clone(),
                    key_mask,
                    positions.clone(),
                    window,
                ))
            }
            _ => None,
        };
        let rope = self.rope.as_ref().map(|r| r.tables(positions, &device));
        for (i, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, i));
            let mask = match (self.config.layer_kind(i), &local) {
                (LayerKind::Sliding, Some(local)) => local,
                _ => &blocked,
            };
            x = block.forward(x, mask, rope.as_ref(), layer_cache);
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        self.norm.forward(x)
    }
}

impl CausalLm for Transformer {
    decoder_common!();

    fn logits_from_hidden(&self, hidden: Tensor<3>) -> Tensor<3> {
        match &self.lm_head {
            Some(head) => head.forward(hidden),
            None => self.embed.tied_logits(hidden),
        }
    }

    fn output_projection(&self) -> Option<OutputProjection> {
        match &self.lm_head {
            Some(head) => Some(OutputProjection::Linear {
                weight: head.weight.val(),
                bias: head.bias.as_ref().map(|b| b.val()),
            }),
            None => self.embed.whole().map(OutputProjection::Tied),
        }
    }
}
