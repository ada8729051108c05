//! Architecture configuration of the reference decoder-only transformer.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::error::LmError;
use crate::model::RopeScaling;
use crate::model::gemma::LayerKind;

/// Normalisation layer used before attention, before the MLP and at the end of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// RMSNorm (Zhang & Sennrich 2019), as in Llama: `x / sqrt(mean(x²) + ε) · γ`.
    Rms,
    /// LayerNorm with bias (Ba et al. 2016), as in GPT-2.
    Layer,
}

/// Feed-forward block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MlpKind {
    /// `down(silu(gate(x)) ⊙ up(x))` (Shazeer 2020), as in Llama.
    SwiGlu,
    /// `proj(gelu_tanh(fc(x)))`, as in GPT-2 (`gelu_new`).
    Gelu,
}

/// How token positions enter the model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PositionKind {
    /// Rotary embeddings (Su et al. 2021) in the rotate-half layout Hugging Face Llama uses.
    Rope {
        /// Base θ of the inverse frequencies `θ^(-2i/d)`.
        theta: f64,
    },
    /// A learned absolute position table, as in GPT-2.
    Learned,
}

/// Hyper-parameters of [`Transformer`](crate::Transformer).
///
/// Build one with [`TransformerConfig::llama`] or [`TransformerConfig::gpt2`] and adjust
/// fields; [`TransformerConfig::validate`] (called by every constructor that consumes a
/// config) rejects inconsistent values with an error naming the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerConfig {
    /// Vocabulary size (rows of the embedding table).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Number of decoder blocks.
    pub n_layers: usize,
    /// Number of query heads.
    pub n_heads: usize,
    /// Number of key/value heads (grouped-query attention); must divide `n_heads`.
    pub n_kv_heads: usize,
    /// Hidden width of the feed-forward block.
    pub d_ff: usize,
    /// Longest sequence (prompt + completion) the model accepts.
    pub max_seq_len: usize,
    /// Normalisation layer.
    pub norm: NormKind,
    /// Epsilon of the normalisation layers.
    pub norm_eps: f64,
    /// Feed-forward block.
    pub mlp: MlpKind,
    /// Position encoding.
    pub positions: PositionKind,
    /// Whether the output projection reuses the token embedding matrix.
    pub tie_embeddings: bool,
    /// Whether the attention and MLP projections carry biases (GPT-2: yes, Llama: no).
    pub bias: bool,
    /// Width of one attention head when it is not `d_model / n_heads` (Qwen3, Mistral
    /// Nemo); `None`: `d_model / n_heads`. Read it through [`head_dim()`](Self::head_dim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    /// Biases on the query, key and value projections (Qwen2; implied by `bias`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub qkv_bias: bool,
    /// Bias on the attention output projection (Llama's `attention_bias`; implied by `bias`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub o_bias: bool,
    /// Biases on the feed-forward projections (Llama's `mlp_bias`; implied by `bias`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub mlp_bias: bool,
    /// RMSNorm over `head_dim` on every query and key head before RoPE (Qwen3's QK-norm).
    #[serde(default, skip_serializing_if = "is_false")]
    pub qk_norm: bool,
    /// Sliding-window attention (Mistral): a query sees itself and the `window − 1` real
    /// tokens before it, on the layers `layer_kinds` marks as sliding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<usize>,
    /// Which layers use the window (Qwen2/Qwen3 `layer_types`); `None`: every layer when
    /// `sliding_window` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_kinds: Option<Vec<LayerKind>>,
    /// RoPE scaling (Llama 3.1's `llama3`, `linear`, `dynamic`); `None`: plain RoPE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<RopeScaling>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TransformerConfig {
    /// A Llama-style configuration: RoPE (θ = 10 000), RMSNorm (ε = 1e-6), SwiGLU, no biases.
    pub fn llama(
        vocab_size: usize,
        d_model: usize,
        n_layers: usize,
        n_heads: usize,
        n_kv_heads: usize,
        d_ff: usize,
    ) -> Self {
        Self {
            vocab_size,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads,
            d_ff,
            max_seq_len: 2048,
            norm: NormKind::Rms,
            norm_eps: 1e-6,
            mlp: MlpKind::SwiGlu,
            positions: PositionKind::Rope { theta: 10_000.0 },
            tie_embeddings: true,
            bias: false,
            head_dim: None,
            qkv_bias: false,
            o_bias: false,
            mlp_bias: false,
            qk_norm: false,
            sliding_window: None,
            layer_kinds: None,
            rope_scaling: None,
        }
    }

    /// A GPT-2-style configuration: learned positions, LayerNorm (ε = 1e-5), GELU (tanh),
    /// biases, tied embeddings, `d_ff = 4·d_model`.
    pub fn gpt2(vocab_size: usize, d_model: usize, n_layers: usize, n_heads: usize) -> Self {
        Self {
            vocab_size,
            d_model,
            n_layers,
            n_heads,
            n_kv_heads: n_heads,
            d_ff: 4 * d_model,
            max_seq_len: 1024,
            norm: NormKind::Layer,
            norm_eps: 1e-5,
            mlp: MlpKind::Gelu,
            positions: PositionKind::Learned,
            tie_embeddings: true,
            bias: true,
            head_dim: None,
            qkv_bias: false,
            o_bias: false,
            mlp_bias: false,
            qk_norm: false,
            sliding_window: None,
            layer_kinds: None,
            rope_scaling: None,
        }
    }

    /// Sets [`max_seq_len`](Self::max_seq_len).
    pub fn with_max_seq_len(mut self, max_seq_len: usize) -> Self {
        self.max_seq_len = max_seq_len;
        self
    }

    /// Sets [`tie_embeddings`](Self::tie_embeddings).
    pub fn with_tie_embeddings(mut self, tie: bool) -> Self {
        self.tie_embeddings = tie;
        self
    }

    /// Width of one attention head: [`head_dim`](Self::head_dim) if set, else
    /// `d_model / n_heads`.
    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.d_model / self.n_heads.max(1))
    }

    /// Whether the query, key and value projections carry biases.
    pub fn has_qkv_bias(&self) -> bool {
        self.bias || self.qkv_bias
    }

    /// Whether the attention output projection carries a bias.
    pub fn has_o_bias(&self) -> bool {
        self.bias || self.o_bias
    }

    /// Whether the feed-forward projections carry biases.
    pub fn has_mlp_bias(&self) -> bool {
        self.bias || self.mlp_bias
    }

    /// The attention span of layer `i`: sliding when a window is set and `layer_kinds`
    /// (if given) marks the layer so.
    pub fn layer_kind(&self, i: usize) -> LayerKind {
        match (&self.sliding_window, &self.layer_kinds) {
            (None, _) => LayerKind::Global,
            (Some(_), None) => LayerKind::Sliding,
            (Some(_), Some(kinds)) => kinds.get(i).copied().unwrap_or(LayerKind::Global),
        }
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
            ("d_ff", self.d_ff),
            ("max_seq_len", self.max_seq_len),
        ])?;
        if self.head_dim == Some(0) {
            return bad("head_dim", "at least 1".into(), "0".into());
        }
        if self.head_dim.is_none() && !self.d_model.is_multiple_of(self.n_heads) {
            return bad(
                "n_heads",
                format!("a divisor of d_model = {}", self.d_model),
                self.n_heads.to_string(),
            );
        }
        check_kv_heads(self.n_heads, self.n_kv_heads)?;
        if let PositionKind::Rope { theta } = self.positions {
            if !self.head_dim().is_multiple_of(2) {
                return bad(
                    "positions",
                    "RoPE only with an even head_dim".into(),
                    format!("RoPE with head_dim {}", self.head_dim()),
                );
            }
            if !(theta.is_finite() && theta > 1.0) {
                return bad(
                    "positions.theta",
                    "a finite value > 1".into(),
                    theta.to_string(),
                );
            }
        }
        if self.sliding_window == Some(0) {
            return bad("sliding_window", "at least 1".into(), "0".into());
        }
        if let Some(kinds) = &self.layer_kinds
            && kinds.len() != self.n_layers
        {
            return bad(
                "layer_kinds",
                format!("one entry per layer ({})", self.n_layers),
                format!("{} entries", kinds.len()),
            );
        }
        if let Some(scaling) = &self.rope_scaling {
            if self.positions == PositionKind::Learned {
                return bad(
                    "rope_scaling",
                    "no scaling with learned positions (it needs RoPE)".into(),
                    "a scaling with learned positions".into(),
                );
            }
            scaling.validate()?;
        }
        if self.qk_norm && self.norm != NormKind::Rms {
            return bad(
                "qk_norm",
                "false unless norm = rms".into(),
                "true with LayerNorm".into(),
            );
        }
        check_positive("norm_eps", self.norm_eps)
    }

    /// Number of trainable parameters a model of this configuration has.
    pub fn num_params(&self) -> usize {
        let d = self.d_model;
        let hd = self.head_dim();
        let (qkv_b, o_b, mlp_b) = (
            usize::from(self.has_qkv_bias()),
            usize::from(self.has_o_bias()),
            usize::from(self.has_mlp_bias()),
        );
        let norm = if self.norm == NormKind::Layer {
            2 * d
        } else {
            d
        };
        let attn = d * self.n_heads * hd
            + 2 * d * self.n_kv_heads * hd
            + self.n_heads * hd * d
            + qkv_b * (self.n_heads * hd + 2 * self.n_kv_heads * hd)
            + o_b * d
            + 2 * hd * usize::from(self.qk_norm);
        let mlp = match self.mlp {
            MlpKind::SwiGlu => 3 * d * self.d_ff + mlp_b * (2 * self.d_ff + d),
            MlpKind::Gelu => 2 * d * self.d_ff + mlp_b * (self.d_ff + d),
        };
        let pos = match self.positions {
            PositionKind::Learned => self.max_seq_len * d,
            PositionKind::Rope { .. } => 0,
        };
        let head = if self.tie_embeddings {
            0
        } else {
            self.vocab_size * d
        };
        self.vocab_size * d + pos + self.n_layers * (attn + mlp + 2 * norm) + norm + head
    }
}

/// `Err` naming the first field whose value is 0 (shared by every model configuration).
pub(crate) fn check_nonzero(fields: &[(&'static str, usize)]) -> Result<(), LmError> {
    match fields.iter().find(|(_, v)| *v == 0) {
        Some(&(field, _)) => Err(ConfigError::new(field, "at least 1", 0).into()),
        None => Ok(()),
    }
}

/// Grouped-query attention needs `n_kv_heads` to divide `n_heads`.
pub(crate) fn check_kv_heads(n_heads: usize, n_kv_heads: usize) -> Result<(), LmError> {
    if n_heads.is_multiple_of(n_kv_heads) {
        return Ok(());
    }
    Err(ConfigError::new(
        "n_kv_heads",
        format_args!("a divisor of n_heads = {n_heads}"),
        n_kv_heads,
    )
    .into())
}

/// A finite value above 0 (epsilons, scales).
pub(crate) fn check_positive(field: &'static str, value: f64) -> Result<(), LmError> {
    Ok(rlhf_core::config::check_positive(field, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_field() {
        let mut c = TransformerConfig::llama(100, 64, 2, 4, 3, 128);
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("n_kv_heads"), "{err}");
        c.n_kv_heads = 2;
        c.validate().unwrap();
        c.d_model = 66;
        assert!(c.validate().unwrap_err().to_string().contains("n_heads"));
    }

    /// Configs written before the Qwen/Mistral/Llama 3 options existed still load, and
    /// a config without them serialises exactly as before.
    #[test]
    fn old_json_loads_and_new_fields_are_omitted_when_off() {
        let c = TransformerConfig::llama(100, 64, 2, 4, 2, 128);
        let s = serde_json::to_string(&c).unwrap();
        for key in [
            "head_dim",
            "qkv_bias",
            "qk_norm",
            "sliding_window",
            "rope_scaling",
        ] {
            assert!(!s.contains(key), "{s}");
        }
        let old = r#"{"vocab_size":100,"d_model":64,"n_layers":2,"n_heads":4,"n_kv_heads":2,
            "d_ff":128,"max_seq_len":2048,"norm":"rms","norm_eps":1e-6,"mlp":"swi_glu",
            "positions":{"kind":"rope","theta":10000.0},"tie_embeddings":true,"bias":false}"#;
        assert_eq!(serde_json::from_str::<TransformerConfig>(old).unwrap(), c);
        let mut q = c.clone();
        q.head_dim = Some(32);
        q.qk_norm = true;
        q.sliding_window = Some(8);
        q.rope_scaling = Some(RopeScaling::Linear { factor: 2.0 });
        let s = serde_json::to_string(&q).unwrap();
        assert_eq!(serde_json::from_str::<TransformerConfig>(&s).unwrap(), q);
        q.validate().unwrap();
        assert_eq!(q.head_dim(), 32);
    }

    #[test]
    fn json_round_trip() {
        let c = TransformerConfig::gpt2(50, 32, 2, 4);
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<TransformerConfig>(&s).unwrap(), c);
    }
}
