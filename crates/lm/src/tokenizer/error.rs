//! [`TokenizerError`]: every error names the file, role, item or option involved.

use std::io;
use std::path::PathBuf;

use super::SpecialTokenRole;

/// Errors from loading, saving, training, encoding and decoding.
///
/// Every message names the place: the file (or `<in-memory>` / `<trained>`
/// for tokenizers not read from a file), the special-token role, the batch item
/// or the option involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerError {
    /// Reading or writing a file failed.
    #[error("I/O error while {action} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. `"reading tokenizer"`.
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A tokenizer definition could not be parsed or built.
    #[error("failed to load tokenizer `{path}`: {message}")]
    Load {
        /// Where the definition came from.
        path: PathBuf,
        /// The underlying error message.
        message: String,
    },
    /// A tokenizer could not be serialized for saving.
    #[error("failed to serialize tokenizer for `{path}`: {message}")]
    Serialize {
        /// The destination file.
        path: PathBuf,
        /// The underlying error message.
        message: String,
    },
    /// A required special token is not in the vocabulary.
    #[error("tokenizer `{path}`: {role} token {token:?} is not in the vocabulary")]
    MissingSpecialToken {
        /// Where the tokenizer came from.
        path: PathBuf,
        /// The role the token was meant to play.
        role: SpecialTokenRole,
        /// The missing token.
        token: String,
    },
    /// A special token is unusable (e.g. empty).
    #[error("tokenizer `{path}`: invalid {role} token: {message}")]
    InvalidSpecialToken {
        /// Where the tokenizer came from.
        path: PathBuf,
        /// The role of the offending token.
        role: SpecialTokenRole,
        /// What is wrong with it.
        message: String,
    },
    /// BPE training failed.
    #[error("BPE training on {corpus} failed: {message}")]
    Training {
        /// Description of the training corpus (file list or in-memory).
        corpus: String,
        /// The underlying error message.
        message: String,
    },
    /// Encoding text failed.
    #[error("failed to encode {input}: {message}")]
    Encode {
        /// Which input failed, e.g. `batch item 3 ("Hello…", 120 bytes)`.
        input: String,
        /// The underlying error message.
        message: String,
    },
    /// Decoding ids failed.
    #[error("failed to decode {input}: {message}")]
    Decode {
        /// Which input failed, e.g. `batch item 3`.
        input: String,
        /// The underlying error message.
        message: String,
    },
    /// An id passed to a decode function is not in the vocabulary.
    #[error(
        "failed to decode {input}: token id {id} at position {position} is not in the \
         vocabulary (size {vocab_size})"
    )]
    UnknownTokenId {
        /// Which input held the id, e.g. `batch item 3`.
        input: String,
        /// Index of the id in its sequence.
        position: usize,
        /// The unknown id.
        id: u32,
        /// The tokenizer's vocabulary size.
        vocab_size: usize,
    },
    /// An argument or [`EncodeOptions`](super::EncodeOptions) field has an invalid value.
    #[error("invalid `{option}`: {message}")]
    InvalidOption {
        /// Name of the argument or field.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
