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

pub mod causal_lm;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod error;
pub mod fused_head;
pub mod generate;
pub mod gguf_tokenizer;
pub mod head;
pub mod kv_cache;
pub mod logprobs;
pub mod lora;
pub mod mask;
pub mod model;
pub mod tokenizer;

pub use causal_lm::CausalLm;
pub use config::{MlpKind, NormKind, PositionKind, TransformerConfig};
pub use device::select_device;
pub use error::LmError;
pub use generate::{Generation, GenerationConfig, SamplingConfig, generate};
pub use head::ScalarHead;
pub use kv_cache::KvCache;
pub use logprobs::{SequenceLogProbs, TokenStats};
pub use model::Transformer;
pub use model::gemma::LayerKind;
pub use model::{Gemma3, Gemma3Config, LanguageModel, RopeScaling};
