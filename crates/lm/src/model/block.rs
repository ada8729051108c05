//! One pre-norm decoder block.

use burn::module::Module;
use burn::tensor::{Bool, Device, Tensor};

use super::attention::Attention;
use super::mlp::Mlp;
use super::norm::Norm;
use super::rope::RopeTables;
use crate::config::TransformerConfig;
use crate::kv_cache::KvCache;

/// `x + attn(norm₁(x))`, then `x + mlp(norm₂(x))` (pre-norm, as GPT-2 and Llama).
#[derive(Module, Debug)]
pub struct Block {
    /// Norm before attention.
    pub attn_norm: Norm,
    /// Self-attention.
    pub attn: Attention,
    /// Norm before the feed-forward block.
    pub mlp_norm: Norm,
    /// Feed-forward block.
    pub mlp: Mlp,
}

impl Block {
    /// Randomly initialised block.
    pub(crate) fn new(config: &TransformerConfig, init: &mut super::Init, device: &Device) -> Self {
        let norm = || Norm::new(config.norm, config.d_model, config.norm_eps, device);
        Self {
            attn_norm: norm(),
            attn: Attention::new(config, init, device),
            mlp_norm: norm(),
            mlp: Mlp::new(config, init, device),
        }
    }

    /// See [`Attention::forward`] for the arguments.
    pub fn forward(
        &self,
        x: Tensor<3>,
        blocked: &Tensor<4, Bool>,
        rope: Option<&RopeTables>,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let x = x.clone()
            + self
                .attn
                .forward(self.attn_norm.forward(x), blocked, rope, cache);
        x.clone() + self.mlp.forward(self.mlp_norm.forward(x))
    }
}
