//! Multi-head causal self-attention with grouped-query heads, RoPE and a KV cache.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Tensor};

use super::norm::Norm;
use super::rope::{Rope, RopeTables};
use crate::config::{NormKind, TransformerConfig};
use crate::kv_cache::KvCache;
use crate::lora::{LoraAdapter, linear_with_lora};

/// Score given to blocked (future or padding) keys before the softmax. Finite on purpose:
/// a row whose keys are all blocked (a padding query) then gets a uniform, finite
/// distribution instead of NaN.
pub const MASKED_SCORE: f32 = -1.0e9;

/// Self-attention: `softmax(s·QKᵀ + mask)·V` per head (Vaswani et al. 2017), with
/// `n_heads / n_kv_heads` query heads sharing each key/value head (Ainslie et al. 2023).
///
/// The score scale `s` is `1/√head_dim` except where a model sets another (Gemma:
/// `query_pre_attn_scalar^−½`). Gemma and Qwen3 also normalise each query and key head with
/// an RMSNorm over `head_dim` before RoPE (`q_norm`, `k_norm`, "QK-norm").
///
/// Each projection may carry a LoRA adapter (`q_lora` .. `o_lora`, see [`crate::lora`]):
/// `y = x·W + b + s·(x·A)·B`.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection `d_model → n_heads·hd`.
    pub q: Linear,
    /// Key projection `d_model → n_kv_heads·hd`.
    pub k: Linear,
    /// Value projection `d_model → n_kv_heads·hd`.
    pub v: Linear,
    /// Output projection `n_heads·hd → d_model`.
    pub o: Linear,
    /// Query heads.
    #[module(skip)]
    pub n_heads: usize,
    /// Key/value heads.
    #[module(skip)]
    pub n_kv_heads: usize,
    /// Width of one head.
    #[module(skip)]
    pub head_dim: usize,
    /// RMSNorm over `head_dim` applied to every query head before RoPE (Gemma 3).
    pub q_norm: Option<Norm>,
    /// RMSNorm over `head_dim` applied to every key head before RoPE (Gemma 3).
    pub k_norm: Option<Norm>,
    /// Scale `s` of the scores `s·QKᵀ`.
    #[module(skip)]
    pub scale: f64,
    /// LoRA adapter of the query projection.
    pub q_lora: Option<LoraAdapter>,
    /// LoRA adapter of the key projection.
    pub k_lora: Option<LoraAdapter>,
    /// LoRA adapter of the value projection.
    pub v_lora: Option<LoraAdapter>,
    /// LoRA adapter of the output projection.
    pub o_lora: Option<LoraAdapter>,
}

impl Attention {
    /// Randomly initialised attention for `config`.
    pub(crate) fn new(config: &TransformerConfig, init: &mut super::Init, device: &Device) -> Self {
        let hd = config.head_dim();
        let qkv_bias = config.has_qkv_bias();
        let mut lin = |i, o, bias| init.linear(i, o, bias, device);
        let q = lin(config.d_model, config.n_heads * hd, qkv_bias);
        let k = lin(config.d_model, config.n_kv_heads * hd, qkv_bias);
        let v = lin(config.d_model, config.n_kv_heads * hd, qkv_bias);
        let o = lin(config.n_heads * hd, config.d_model, config.has_o_bias());
        let qk_norm = || {
            config
                .qk_norm
                .then(|| Norm::new(NormKind::Rms, hd, config.norm_eps, device))
        };
        Self::from_projections(q, k, v, o, config.n_heads, config.n_kv_heads, hd)
            .with_qk_norm(qk_norm(), qk_norm())
    }

    /// Attention over the given projections (`[in, out]` layout), with the default score
    /// scale `1/√head_dim`, no QK-norm and no adapters.
    pub fn from_projections(
        q: Linear,
        k: Linear,
        v: Linear,
        o: Linear,
        n_heads: usize,
        n_kv_heads: usize,
        head_dim: usize,
    ) -> Self {
        Self {
            q,
            k,
            v,
            o,
            n_heads,
            n_kv_heads,
            head_dim,
            q_norm: None,
            k_norm: None,
            scale: 1.0 / (head_dim as f64).sqrt(),
            q_lora: None,
            k_lora: None,
            v_lora: None,
            o_lora: None,
        }
    }

    /// Sets the QK-norms.
    pub fn with_qk_norm(mut self, q_norm: Option<Norm>, k_norm: Option<Norm>) -> Self {
        self.q_norm = q_norm;
        self.k_norm = k_norm;
        self
    }

    /// Sets the score scale `s`.
    pub fn with_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// `x: [B, T, d_model]`; `blocked: [B, 1, T, S]` (true = may not attend), where
    /// `S = cached + T`; `rope` tables for the T new positions; `cache` with this layer's
    /// index when decoding incrementally.
    pub fn forward(
        &self,
        x: Tensor<3>,
        blocked: &Tensor<4, Bool>,
        rope: Option<&RopeTables>,
        cache: Option<(&mut KvCache, usize)>,
    ) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let (h, hkv, hd) = (self.n_heads, self.n_kv_heads, self.head_dim);
        let heads = |y: Tensor<3>, n: usize| y.reshape([b, t, n, hd]).swap_dims(1, 2);
        let proj = |lin: &Linear, lora: &Option<LoraAdapter>, x: Tensor<3>| {
            linear_with_lora(lin, lora.as_ref(), x)
        };
        let mut q = heads(proj(&self.q, &self.q_lora, x.clone()), h);
        let mut k = heads(proj(&self.k, &self.k_lora, x.clone()), hkv);
        let v = heads(proj(&self.v, &self.v_lora, x), hkv);
        if let Some(norm) = &self.q_norm {
            q = norm.forward(q);
        }
        if let Some(norm) = &self.k_norm {
            k = norm.forward(k);
        }
        if let Some(tables) = rope {
            q = Rope::apply(q, tables);
            k = Rope::apply(k, tables);
        }
        let (k, v) = match cache {
            Some((cache, layer)) => cache.append(layer, k, v),
            None => (k, v),
        };
        let s = k.dims()[2];
        // Query heads grouped by the key/value head they read, [B, H, T, hd] →
        // [B, H_kv, n_rep·T, hd] (query head i reads key head i / n_rep, the layout of
        // Hugging Face's `repeat_kv`), so keys and values are never repeated in memory.
        let n_rep = h / hkv;
        let q = q.reshape([b, hkv, n_rep * t, hd]);
        let scores = q.matmul(k.swap_dims(2, 3)).reshape([b, h, t, s]);
        let probs = crate::softmax_op::masked_softmax(scores, blocked, self.scale).reshape([
            b,
            hkv,
            n_rep * t,
            s,
        ]);
        let ctx = probs.matmul(v).reshape([b, h, t, hd]);
        proj(
            &self.o,
            &self.o_lora,
            ctx.swap_dims(1, 2).reshape([b, t, h * hd]),
        )
    }
}
