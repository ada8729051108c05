//! Hyper-parameters of [`Gemma3`](super::Gemma3).

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::config::{check_kv_heads, check_nonzero, check_positive};
use crate::error::LmError;

/// Attention span of one Gemma 3 layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Local layer: a query sees itself and the `sliding_window − 1` tokens before it, with
    /// the local RoPE base (`sliding_attention` in Hugging Face).
    Sliding,
    /// Global layer: a query sees every earlier token, with the global RoPE base
    /// (`full_attention` in Hugging Face).
    Global,
}

/// The published Gemma 3 interleaving: five local layers to each global one, i.e. layer `i`
/// (from 0) is global when `(i + 1)` is a multiple of 6 (`sliding_window_pattern = 6`; Gemma
/// Team 2025, "Gemma 3 Technical Report", §2.1 "5:1 interleaving of local/global layers";
/// Hugging Face `Gemma3TextConfig`).
pub const SLIDING_WINDOW_PATTERN: usize = 6;

/// RoPE base of the global layers in the published Gemma 3 configuration (1 000 000; Gemma 3
/// Technical Report §2.1 "we increase RoPE base frequency from 10k to 1M on global
/// self-attention layers"; `rope_theta` of google/gemma-3-270m's `config.json`).
pub const ROPE_THETA_GLOBAL: f64 = 1_000_000.0;

/// RoPE base of the local (sliding-window) layers in the published Gemma 3 configuration
/// (10 000; Gemma 3 Technical Report §2.1; `rope_local_base_freq` of google/gemma-3-270m's
/// `config.json`).
pub const ROPE_THETA_LOCAL: f64 = 10_000.0;

/// The layer kinds of `n_layers` layers interleaved with period `period`: every
/// `period`-th layer (1-based) is global, the others local.
pub fn layer_pattern(n_layers: usize, period: usize) -> Vec<LayerKind> {
    (0..n_layers)
        .map(|i| {
            if period > 0 && (i + 1).is_multiple_of(period) {
                LayerKind::Global
            } else {
                LayerKind::Sliding
            }
        })
        .collect()
}

/// Hyper-parameters of [`Gemma3`](super::Gemma3), the Gemma 3 text decoder (Gemma Team
/// 2025, "Gemma 3 Technical Report").
///
/// The architecture is fixed by the paper; these are its sizes: embeddings scaled by
/// `√d_model`, RMSNorm with `(1 + γ)` before and after attention and the MLP, QK-norm,
/// grouped-query attention with explicit `head_dim`, interleaved sliding-window and global
/// layers with their own RoPE bases, GeGLU (gelu-tanh) MLP, output tied to the embedding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gemma3Config {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream (`hidden_size`).
    pub d_model: usize,
    /// Number of decoder layers.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads; must divide `n_heads`.
    pub n_kv_heads: usize,
    /// Width of one head (Gemma 3: 256, independent of `d_model / n_heads`).
    pub head_dim: usize,
    /// Hidden width of the MLP (`intermediate_size`).
    pub d_ff: usize,
    /// Longest sequence the model accepts (`max_position_embeddings` / `context_length`).
    pub max_seq_len: usize,
    /// ε of every RMSNorm.
    pub norm_eps: f64,
    /// RoPE base of global layers.
    pub rope_theta_global: f64,
    /// RoPE base of sliding-window layers.
    pub rope_theta_local: f64,
    /// Keys a sliding-window query sees, itself included.
    pub sliding_window: usize,
    /// Kind of each layer, `n_layers` entries.
    pub layer_kinds: Vec<LayerKind>,
    /// Attention scores are scaled by `query_pre_attn_scalar^−½`.
    pub query_pre_attn_scalar: f64,
}

impl Gemma3Config {
    /// Given sizes, with the published Gemma 3 values for the rest: RMSNorm ε 1e-6, RoPE
    /// bases 1 M (global) and 10 k (local), a window of 512, five local layers to each
    /// global one, `query_pre_attn_scalar = head_dim`, 32 768 positions.
    pub fn new(
        vocab_size: usize,
        d_model: usize,
        n_layers: usize,
        n_heads: usize,
        n_kv_heads: usize,
        head_dim: usize,
        d_ff: usize,
    ) -> Self {
        Self {
            vocab_size,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads,
            head_dim,
            d_ff,
            max_seq_len: 32_768,
            norm_eps: 1e-6,
            rope_theta_global: ROPE_THETA_GLOBAL,
            rope_theta_local: ROPE_THETA_LOCAL,
            sliding_window: 512,
            layer_kinds: layer_pattern(n_layers, SLIDING_WINDOW_PATTERN),
            query_pre_attn_scalar: head_dim as f64,
        }
    }

    /// The published Gemma 3 270M configuration (google/gemma-3-270m `config.json`):
    /// vocabulary 262 144, width 640, 18 layers, 4 query heads and 1 key/value head of
    /// width 256, MLP 2 048, window 512, 32 768 positions.
    pub fn gemma3_270m() -> Self {
        Self::new(262_144, 640, 18, 4, 1, 256, 2048)
    }

    /// Sets [`sliding_window`](Self::sliding_window).
    pub fn with_sliding_window(mut self, window: usize) -> Self {
        self.sliding_window = window;
        self
    }

    /// Sets [`max_seq_len`](Self::max_seq_len).
    pub fn with_max_seq_len(mut self, max_seq_len: usize) -> Self {
        self.max_seq_len = max_seq_len;
        self
    }

    /// `√d_model`, the factor the token embeddings are multiplied by (rounded to f32 as
    /// Hugging Face casts it to the weights' dtype).
    pub fn embed_scale(&self) -> f32 {
        (self.d_model as f64).sqrt() as f32
    }

    /// Checks that the numbers fit together.
    pub fn validate(&self) -> Result<(), LmError> {
        let bad = |field: &str, expected: String, got: String| {
            Err(ConfigError::new(field, expected, got).into())
        };
        check_nonzero(&[
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("head_dim", self.head_dim),
            ("d_ff", self.d_ff),
            ("max_seq_len", self.max_seq_len),
            ("sliding_window", self.sliding_window),
        ])?;
        check_kv_heads(self.n_heads, self.n_kv_heads)?;
        if !self.head_dim.is_multiple_of(2) {
            return bad(
                "head_dim",
                "an even number (RoPE rotates pairs)".into(),
                self.head_dim.to_string(),
            );
        }
        for (field, theta) in [
            ("rope_theta_global", self.rope_theta_global),
            ("rope_theta_local", self.rope_theta_local),
        ] {
            if !(theta.is_finite() && theta > 1.0) {
                return bad(field, "a finite value > 1".into(), theta.to_string());
            }
        }
        check_positive("norm_eps", self.norm_eps)?;
        check_positive("query_pre_attn_scalar", self.query_pre_attn_scalar)?;
        if self.layer_kinds.len() != self.n_layers {
            return bad(
                "layer_kinds",
                format!("one entry per layer ({})", self.n_layers),
                format!("{} entries", self.layer_kinds.len()),
            );
        }
        Ok(())
    }

    /// Number of trainable parameters (the output projection is the embedding).
    pub fn num_params(&self) -> usize {
        let (d, hd) = (self.d_model, self.head_dim);
        let attn = 2 * d * self.n_heads * hd + 2 * d * self.n_kv_heads * hd + 2 * hd;
        let mlp = 3 * d * self.d_ff;
        self.vocab_size * d + self.n_layers * (attn + mlp + 4 * d) + d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_pattern_has_five_local_layers_per_global() {
        let kinds = Gemma3Config::gemma3_270m().layer_kinds;
        let globals: Vec<usize> = (0..kinds.len())
            .filter(|&i| kinds[i] == LayerKind::Global)
            .collect();
        assert_eq!(globals, vec![5, 11, 17]);
    }

    /// 270M: 268 098 176 parameters (Hugging Face `num_parameters()` of google/gemma-3-270m,
    /// = 170 M embedding + 98 M transformer parameters as the model card states).
    #[test]
    fn gemma3_270m_parameter_count() {
        assert_eq!(Gemma3Config::gemma3_270m().num_params(), 268_098_176);
    }

    #[test]
    fn validate_names_the_field() {
        let mut c = Gemma3Config::new(100, 64, 2, 4, 3, 16, 128);
        assert!(c.validate().unwrap_err().to_string().contains("n_kv_heads"));
        c.n_kv_heads = 1;
        c.validate().unwrap();
        c.layer_kinds.pop();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("layer_kinds")
        );
    }
}
