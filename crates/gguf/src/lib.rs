//! # gguf — a small reader for GGUF model files
//!
//! [GGUF](https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) is llama.cpp's file
//! format: a header, typed metadata (architecture hyper-parameters, the tokenizer's
//! vocabulary), tensor infos, and aligned tensor data, often quantised.
//!
//! - [`GgufFile`]: opens (memory-maps) and parses a file, checks every tensor against it,
//!   and gives typed metadata lookups ([`GgufFile::get_str`], [`GgufFile::get_uint`], …),
//!   tensor infos ([`TensorInfo`]: name, GGUF dims, row-major [`TensorInfo::shape`], type)
//!   and dequantised tensors ([`GgufFile::tensor_f32`]).
//! - [`dequantize`]: GGML blocks to `f32` for F32, F16, BF16, Q8_0, Q5_0, Q4_K and Q6_K,
//!   bit-identical to llama.cpp's reference code.
//! - Errors ([`GgufError`], [`FormatError`]) name the file, the byte offset and the field,
//!   with what was expected and what was found. Malformed or truncated input is an error,
//!   never a panic, and never makes the reader allocate much more than the input's size.
//!
//! Only little-endian files of GGUF versions 2 and 3 are read.
//!
//! ```no_run
//! let file = gguf::GgufFile::open("gemma-3-270m-q4_k_m.gguf")?;
//! let layers = file.get_uint("gemma3.block_count")?;
//! let q = file.tensor_f32("blk.0.attn_q.weight")?;
//! // GGUF dims [640, 1024] (fastest first) → row-major shape [1024, 640] = [out, in].
//! assert_eq!(q.shape, [1024, 640]);
//! # let _ = layers;
//! # Ok::<(), gguf::GgufError>(())
//! ```

#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod dequant;
pub mod error;
pub mod file;
pub mod parse;
pub mod tensor;
pub mod types;
pub mod value;

pub use dequant::dequantize;
pub use error::{DequantError, FormatError, GgufError};
pub use file::{GgufFile, TensorF32};
pub use parse::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, MAGIC, MAX_ARRAY_NESTING, MAX_DIMS};
pub use tensor::TensorInfo;
pub use types::{GgmlType, QK_K};
pub use value::{Array, Metadata, Value, ValueType};
