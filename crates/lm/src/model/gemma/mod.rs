//! Gemma 3 (Gemma Team 2025, "Gemma 3 Technical Report"), text decoder, behind
//! [`CausalLm`](crate::CausalLm).
//!
//! Built from the same [`Block`](super::Block), [`Attention`](super::Attention),
//! [`Norm`](super::Norm), [`Mlp`](super::Mlp) and [`Rope`](super::Rope) as the reference
//! [`Transformer`](super::Transformer), configured the Gemma way (post-norms, QK-norm,
//! `(1 + γ)` RMSNorm, GeGLU, per-layer RoPE base and sliding window). Checked against Hugging
//! Face `Gemma3ForCausalLM` (`transformers` 5.23, `modeling_gemma3.py`) by
//! `tests/gemma_hf_parity.rs`.

mod config;
mod model;
mod window;

pub use config::{
    Gemma3Config, LayerKind, ROPE_THETA_GLOBAL, ROPE_THETA_LOCAL, SLIDING_WINDOW_PATTERN,
    layer_pattern,
};
pub use model::{Gemma3, Gemma3LayerWeights};
pub use window::sliding_window_blocked;
