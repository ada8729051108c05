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
///
/// With post-norms (Gemma 2 and 3) each branch is normalised again before the residual add:
/// `x + post₁(attn(norm₁(x)))`, then `x + post₂(mlp(norm₂(x)))`.
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
    /// Norm of the attention output before the residual add (Gemma).
    pub post_attn_norm: Option<Norm>,
    /// Norm of the feed-forward output before the residual add (Gemma).
    pub post_mlp_norm: Option<Norm>,
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
            post_attn_norm: None,
            post_mlp_norm: None,
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
        let post = |norm: &Option<Norm>, y: Tensor<3>| match norm {
            Some(norm) => norm.forward(y),
            None => y,
        };
        let a = self
            .attn
            .forward(self.attn_norm.forward(x.clone()), blocked, rope, cache);
        let x = x + post(&self.post_attn_norm, a);
        let m = self.mlp.forward(self.mlp_norm.forward(x.clone()));
        x + post(&self.post_mlp_norm, m)
    }
}
