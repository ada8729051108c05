//! [`GgufTokenizerError`]: why a tokenizer could not be built from a GGUF file.

use std::path::PathBuf;

use super::MODEL_KEY;
use crate::tokenizer::TokenizerError;

/// Why a tokenizer could not be built from a GGUF file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufTokenizerError {
    /// A metadata key is missing or has the wrong type.
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),
    /// The file describes a tokenizer this module does not build.
    #[error(
        "GGUF file `{path}`: cannot build tokenizer `{MODEL_KEY}` = {model:?} for architecture \
         {architecture:?}: only \"llama\" (SentencePiece BPE) with architecture gemma, gemma2 or \
         gemma3 is supported"
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// `tokenizer.ggml.model`.
        model: String,
        /// `general.architecture`.
        architecture: String,
    },
    /// A per-token array does not have one entry per token.
    #[error("GGUF file `{path}`: `{key}` has {got} entries, expected {expected} (one per token)")]
    LengthMismatch {
        /// The file.
        path: PathBuf,
        /// The array's key.
        key: &'static str,
        /// Its length.
        got: usize,
        /// The number of tokens.
        expected: usize,
    },
    /// A special-token id is outside the vocabulary.
    #[error(
        "GGUF file `{path}`: `{key}` = {id} is not a token id (the vocabulary has {vocab_size})"
    )]
    BadTokenId {
        /// The file.
        path: PathBuf,
        /// The id's key.
        key: String,
        /// The id.
        id: u64,
        /// Number of tokens.
        vocab_size: usize,
    },
    /// Two ids have the same token (after respelling whitespace tokens).
    #[error("GGUF file `{path}`: token {token:?} appears at ids {first} and {second}")]
    DuplicateToken {
        /// The file.
        path: PathBuf,
        /// The token, as respelled.
        token: String,
        /// Its first id.
        first: u32,
        /// Its second id.
        second: u32,
    },
    /// The `tokenizers` crate refused a component.
    #[error("GGUF file `{path}`: building the tokenizer's {part} failed: {message}")]
    Build {
        /// The file.
        path: PathBuf,
        /// Which part, e.g. `"BPE model"`.
        part: &'static str,
        /// The underlying message.
        message: String,
    },
    /// Wrapping into [`Tokenizer`](crate::tokenizer::Tokenizer) failed (e.g. a special token is missing).
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}
