//! Saving and loading model weights.
//!
//! - [`load_bundle`] / [`save_bundle`]: a model with its tokenizer and special tokens, from
//!   a Hugging Face folder, a GGUF file or this crate's own folder.
//! - [`load_pretrained`]: any supported Hugging Face folder (Llama 2/3.x, SmolLM, Mistral,
//!   Qwen2/2.5, Qwen3, GPT-2, Gemma 3 text) as a [`LanguageModel`](crate::LanguageModel),
//!   with the EOS/BOS/pad ids of `generation_config.json`.
//! - [`load_hf`]: the same folders of the [`Transformer`](crate::Transformer) families.
//! - [`load_gemma3_hf`]: Hugging Face Gemma 3 text checkpoints onto [`Gemma3`](crate::Gemma3).
//! - [`load_gemma3_gguf`]: Gemma 3 from a GGUF file (llama.cpp's format, quantised or not).
//! - [`save_model`] / [`load_model`], [`save_language_model`] / [`load_language_model`]:
//!   this crate's own checkpoints, a folder with `model.safetensors` (written by
//!   burn-store), `config.json` and, for a model with LoRA adapters, `lora.json`; each file
//!   written atomically (temporary file in the same folder, then rename), so a crash never
//!   leaves a torn file.
//!
//! Hugging Face weights may be one `model.safetensors` or shards listed by
//! `model.safetensors.index.json`, in f32, bf16, f16 or f64; they are cast to f32.
//! LoRA adapters in PEFT's format: [`crate::lora::save_peft`] / [`crate::lora::load_peft`].

mod bundle;
mod gemma_gguf;
mod gemma_hf;
mod hf;
mod hf_config;
pub(crate) mod hf_json;
mod native;
mod pretrained;
mod row_blocks;
pub(crate) mod weights;

pub use bundle::{
    BundleFormat, ModelBundle, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, load_bundle, load_tokenizer,
    model_path_problem, save_bundle, save_tokenizer,
};
pub use gemma_gguf::{gemma3_config_from_gguf, load_gemma3_gguf};
pub use gemma_hf::{gemma3_config_from_hf, load_gemma3_hf};
pub use hf::load_hf;
pub use hf_config::{HfArchitecture, config_from_hf};
pub use native::{
    CONFIG_FILE, FAMILY_KEY, LORA_FILE, WEIGHTS_FILE, load_config, load_language_model, load_model,
    save_language_model, save_model,
};
pub use pretrained::{GenerationDefaults, Pretrained, load_pretrained, read_generation_defaults};
pub use row_blocks::{load_module_file, module_to_bytes};
pub use weights::{HF_INDEX_FILE, HF_WEIGHTS_FILE};

use std::path::Path;

use crate::error::LmError;

/// Writes `bytes` to `path` atomically (see [`rlhf_core::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LmError> {
    rlhf_core::write_atomic(path, bytes).map_err(|e| LmError::io("writing", e.path, e.source))
}
