//! Saving and loading model weights.
//!
//! - [`save_model`] / [`load_model`]: this crate's own checkpoints, a folder with
//!   `model.safetensors` (written by burn-store) and `config.json`, each written atomically
//!   (temporary file in the same folder, then rename), so a crash never leaves a torn file.
//! - [`load_hf`]: Hugging Face Llama and GPT-2 checkpoints (`config.json` +
//!   `model.safetensors`), mapping their key names and layouts onto [`Transformer`](crate::Transformer).
//! - [`load_gemma3_hf`]: Hugging Face Gemma 3 text checkpoints onto [`Gemma3`](crate::Gemma3).
//! - [`load_gemma3_gguf`]: Gemma 3 from a GGUF file (llama.cpp's format, quantised or not).

mod gemma_gguf;
mod gemma_hf;
mod hf;
mod native;

pub use gemma_gguf::{gemma3_config_from_gguf, load_gemma3_gguf};
pub use gemma_hf::{gemma3_config_from_hf, load_gemma3_hf};
pub use hf::{HfArchitecture, config_from_hf, load_hf};
pub use native::{CONFIG_FILE, WEIGHTS_FILE, load_model, save_model};

use std::path::Path;

use crate::error::LmError;

/// `t` transposed into a fresh row-major buffer. A plain `transpose()` is a strided view, and
/// a `Linear` whose weight is such a view runs tens of times slower on the CPU backend (the
/// matmul re-lays the weight out at every call), so loaders materialise it once.
pub(crate) fn transposed(t: burn::tensor::Tensor<2>) -> burn::tensor::Tensor<2> {
    let device = t.device();
    burn::tensor::Tensor::from_data(t.transpose().into_data(), &device)
}

/// Writes `bytes` to `path` atomically (see [`rlhf_core::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LmError> {
    rlhf_core::write_atomic(path, bytes).map_err(|e| LmError::io("writing", e.path, e.source))
}
