//! One model type for every family: what [`crate::checkpoint::load_pretrained`] returns.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use super::{Block, Gemma3, Transformer};
use crate::causal_lm::CausalLm;
use crate::kv_cache::KvCache;

/// A language model of any supported family: the configurable [`Transformer`] (GPT-2, Llama
/// 2/3.x, SmolLM, Qwen2/2.5, Qwen3, Mistral) or [`Gemma3`].
///
/// It is a burn [`Module`] and a [`CausalLm`] that forwards every call to the model it
/// holds, so every trainer, `generate`, reward-model backbone and LoRA helper
/// ([`crate::lora::LoraModel`]) takes it without knowing the family. Match on it to reach
/// the family's own fields.
// The variants differ by a few hundred bytes of config and handles (the weights live on the
// device); boxing them would take the variants out of burn's `Module` derive.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum LanguageModel {
    /// GPT-2, Llama, SmolLM, Qwen2/2.5, Qwen3 or Mistral.
    Transformer(Transformer),
    /// Gemma 3 (text).
    Gemma3(Gemma3),
}

impl LanguageModel {
    /// The decoder blocks.
    pub fn blocks(&self) -> &[Block] {
        match self {
            Self::Transformer(m) => &m.blocks,
            Self::Gemma3(m) => &m.blocks,
        }
    }

    /// The decoder blocks, mutably.
    pub fn blocks_mut(&mut self) -> &mut Vec<Block> {
        match self {
            Self::Transformer(m) => &mut m.blocks,
            Self::Gemma3(m) => &mut m.blocks,
        }
    }

    /// Number of trainable parameters of the architecture (adapters excluded).
    pub fn num_base_params(&self) -> usize {
        match self {
            Self::Transformer(m) => m.config.num_params(),
            Self::Gemma3(m) => m.config.num_params(),
        }
    }
}

impl From<Transformer> for LanguageModel {
    fn from(m: Transformer) -> Self {
        Self::Transformer(m)
    }
}

impl From<Gemma3> for LanguageModel {
    fn from(m: Gemma3) -> Self {
        Self::Gemma3(m)
    }
}

/// Forwards `$call` to the model inside `$self`.
macro_rules! forward {
    ($self:expr, $m:ident => $call:expr) => {
        match $self {
            LanguageModel::Transformer($m) => $call,
            LanguageModel::Gemma3($m) => $call,
        }
    };
}

impl CausalLm for LanguageModel {
    fn vocab_size(&self) -> usize {
        forward!(self, m => m.vocab_size())
    }

    fn d_model(&self) -> usize {
        forward!(self, m => m.d_model())
    }

    fn max_seq_len(&self) -> usize {
        forward!(self, m => m.max_seq_len())
    }

    fn new_cache(&self, capacity: usize) -> KvCache {
        forward!(self, m => m.new_cache(capacity))
    }

    fn hidden(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3> {
        forward!(self, m => m.hidden(ids, mask))
    }

    fn logits_from_hidden(&self, hidden: Tensor<3>) -> Tensor<3> {
        forward!(self, m => m.logits_from_hidden(hidden))
    }

    fn output_projection(&self) -> Option<crate::fused_head::OutputProjection> {
        forward!(self, m => m.output_projection())
    }

    fn hidden_cached(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        forward!(self, m => m.hidden_cached(ids, mask, positions, cache))
    }

    fn logits_chunk_elements(&self) -> usize {
        forward!(self, m => m.logits_chunk_elements())
    }
}
