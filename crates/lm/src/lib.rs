//! # lm — the causal language model layer of the workspace
//!
//! - [`CausalLm`]: the trait every trainer is written against (hidden states, logits,
//!   masked and shifted per-token log-probs, entropies, KV-cached steps).
//! - [`Transformer`]: the configurable decoder-only transformer ([`TransformerConfig`]):
//!   GPT-2, Llama 2/3.x, SmolLM, Mistral, Qwen2/2.5, Qwen3.
//! - [`Gemma3`]: the Gemma 3 text decoder ([`Gemma3Config`]), loadable from Hugging Face
//!   weights or a GGUF file.
//! - [`generate()`]: batched, left-padded, KV-cached sampling that returns the sampled tokens'
//!   log-probs under the model.
//! - [`ScalarHead`]: a scalar head for reward models and value functions over a shared
//!   backbone.
//! - [`LanguageModel`]: either of them, what [`checkpoint::load_pretrained`] returns for any
//!   supported Hugging Face folder.
//! - [`lora`]: LoRA adapters on every family, PEFT-compatible (train, switch off for the
//!   reference, merge, save/load in PEFT's format).
//! - [`checkpoint`]: Hugging Face folders (sharded, bf16/f16), GGUF, and this crate's own
//!   safetensors checkpoints.
//! - [`tokenizer`]: a thin wrapper over the `tokenizers` crate.
//! - [`gguf_tokenizer`]: the Gemma tokenizer rebuilt from a GGUF file's metadata.
//! - [`device`]: the one helper that picks the backend from features or `RLHF_DEVICE`.
//!
//! A small Llama-style model, its per-token log-probs, and seeded sampling with the KV cache:
//!
//! ```
//! use burn::tensor::{Int, Tensor};
//! use lm::{CausalLm, GenerationConfig, SamplingConfig, Transformer, TransformerConfig};
//!
//! let device = lm::select_device().unwrap();
//! // vocab 64, d_model 32, 2 layers, 4 heads, 2 key/value heads, SwiGLU width 64
//! let config = TransformerConfig::llama(64, 32, 2, 4, 2, 64);
//! let model = Transformer::new(&config, 0, &device).unwrap();
//! let ids = Tensor::<2, Int>::from_ints([[1, 2, 3, 4]], &device);
//! let mask = Tensor::<2, Int>::ones([1, 4], &device);
//! // log p(token t+1 | tokens ≤ t)
//! assert_eq!(model.token_logprobs(ids.clone(), mask.clone()).dims(), [1, 3]);
//!
//! let config = GenerationConfig {
//!     sampling: SamplingConfig::sample(0.7),
//!     seed: 1,
//!     ..GenerationConfig::new(5)
//! };
//! let out = lm::generate(&model, ids, mask, &config).unwrap();
//! assert_eq!(out.sequences.dims(), [1, 9]); // the prompt and 5 new tokens
//! assert_eq!(out.logprobs.dims(), [1, 5]); // log-probs of the sampled tokens under softmax(logits / 0.7)
//! ```

pub mod causal_lm;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod embedding_op;
pub mod error;
#[cfg(feature = "flex")]
mod flex_buffers;
pub mod fused_head;
pub mod generate;
mod generate_text;
pub mod gguf_tokenizer;
pub mod glu_op;
pub mod head;
pub mod kv_cache;
pub mod linear_op;
pub mod logprobs;
pub mod lora;
pub mod mask;
pub mod model;
pub mod rms_norm_op;
pub mod rope_op;
#[cfg(feature = "flex")]
mod simd;
pub mod softmax_op;
pub mod tokenizer;

pub use causal_lm::CausalLm;
pub use config::{MlpKind, NormKind, PositionKind, TransformerConfig};
pub use device::select_device;
pub use error::LmError;
pub use generate::{Generation, GenerationConfig, SamplingConfig, generate};
pub use generate_text::generate_text;
pub use head::ScalarHead;
pub use kv_cache::KvCache;
pub use logprobs::{SequenceLogProbs, TokenStats};
pub use model::Transformer;
pub use model::gemma::LayerKind;
pub use model::{Gemma3, Gemma3Config, LanguageModel, RopeScaling};
pub use simd::SIMD_LEVEL_ENV;
