//! Byte-level BPE tokenizer: a thin wrapper over the [`tokenizers`] crate.
//!
//! [`Tokenizer`] wraps a Hugging Face [`tokenizers::Tokenizer`] and adds what the
//! rest of this library needs from it:
//!
//! * the three special tokens (`bos`, `eos`, `pad`, see [`SpecialTokens`]) are
//!   resolved to ids **when the tokenizer is built**, so a `tokenizer.json` that
//!   lacks one of them fails at load time with an error naming the file, the role
//!   and the token, instead of failing later in the middle of training;
//! * GPT-2 style byte-level BPE training from files or from an in-memory iterator
//!   of strings ([`Tokenizer::train_bpe`], [`Tokenizer::train_bpe_from_iter`]);
//! * encoding with explicit control over BOS/EOS, and batch encoding with
//!   truncation and padding done on id vectors ([`Tokenizer::encode_batch`],
//!   [`EncodeOptions`], [`BatchEncoding`]);
//! * atomic saving ([`Tokenizer::save`]);
//! * errors ([`TokenizerError`]) that always name where things went wrong.
//!
//! Byte-level BPE is lossless: for any `&str` `s`,
//! `decode(&encode(s, false, false)?, false)? == s`.
//!
//! # Special tokens in input text
//!
//! As in Hugging Face `tokenizers`, a special token's literal text occurring in
//! the input (e.g. `"<|eos|>"`) is encoded as that special token's id.
//!
//! # Example
//!
//! ```
//! use lm::tokenizer::{EncodeOptions, PaddingSide, SpecialTokens, Tokenizer};
//!
//! let corpus = ["hello world", "hello there", "a naïve café"];
//! let tok = Tokenizer::train_bpe_from_iter(corpus, 300, &SpecialTokens::default(), 1)?;
//! let ids = tok.encode("hello café", true, true)?;
//! assert_eq!(ids[0], tok.bos_id());
//! assert_eq!(*ids.last().unwrap(), tok.eos_id());
//! assert_eq!(tok.decode(&ids, true)?, "hello café");
//!
//! let opts = EncodeOptions { add_bos: true, padding: PaddingSide::Left, ..Default::default() };
//! let batch = tok.encode_batch(&["hi", "hello world"], &opts)?;
//! assert_eq!(batch.ids[0].len(), batch.ids[1].len());
//! # Ok::<(), lm::tokenizer::TokenizerError>(())
//! ```

mod encode;
mod error;
mod special;
mod train;

pub use encode::{BatchEncoding, EncodeOptions, PaddingSide, TruncationSide};
pub use error::TokenizerError;
pub use special::{SpecialTokenRole, SpecialTokens};

use std::fs;
use std::path::{Path, PathBuf};

use tokenizers::AddedToken;

/// Number of symbols in the byte-level alphabet (one per byte value).
const BYTE_ALPHABET_SIZE: usize = 256;

/// Origin reported in errors for tokenizers that do not come from a file.
const IN_MEMORY: &str = "<in-memory>";

/// Origin reported in errors for freshly trained tokenizers.
const TRAINED: &str = "<trained>";

/// Maximum number of characters of input text quoted in an error message.
const PREVIEW_CHARS: usize = 32;

/// A byte-level BPE tokenizer with resolved BOS/EOS/PAD ids.
///
/// Built by [`Tokenizer::from_file`], [`Tokenizer::from_bytes`],
/// [`Tokenizer::from_json_str`], [`Tokenizer::train_bpe`] or
/// [`Tokenizer::train_bpe_from_iter`]. On construction the special tokens are
/// registered as special (so `skip_special_tokens` drops them) and any
/// truncation or padding configured in the wrapped tokenizer is switched off:
/// this type does truncation and padding itself, in [`Tokenizer::encode_batch`].
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    special: SpecialTokens,
    bos_id: u32,
    eos_id: u32,
    pad_id: u32,
}

impl Tokenizer {
    /// Loads a Hugging Face `tokenizer.json`.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Io`] if the file cannot be read,
    /// [`TokenizerError::Load`] if it is not a valid tokenizer definition, and
    /// [`TokenizerError::MissingSpecialToken`] /
    /// [`TokenizerError::InvalidSpecialToken`] if one of `special` is not in the
    /// vocabulary or is empty. All name `path`.
    pub fn from_file(
        path: impl AsRef<Path>,
        special: &SpecialTokens,
    ) -> Result<Self, TokenizerError> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| TokenizerError::Io {
            action: "reading tokenizer",
            path: path.to_path_buf(),
            source,
        })?;
        Self::load(&bytes, special, path)
    }

    /// Loads a tokenizer from the bytes of a `tokenizer.json`.
    ///
    /// Errors are as for [`Tokenizer::from_file`], with the path reported as
    /// `<in-memory>`.
    pub fn from_bytes(
        json: impl AsRef<[u8]>,
        special: &SpecialTokens,
    ) -> Result<Self, TokenizerError> {
        Self::load(json.as_ref(), special, Path::new(IN_MEMORY))
    }

    /// Loads a tokenizer from the text of a `tokenizer.json`.
    ///
    /// Errors are as for [`Tokenizer::from_file`], with the path reported as
    /// `<in-memory>`.
    pub fn from_json_str(json: &str, special: &SpecialTokens) -> Result<Self, TokenizerError> {
        Self::from_bytes(json, special)
    }

    /// Wraps an existing [`tokenizers::Tokenizer`], resolving `special`.
    ///
    /// Errors are as for [`Tokenizer::from_file`], with the path reported as
    /// `<in-memory>`.
    pub fn from_tokenizer(
        inner: tokenizers::Tokenizer,
        special: &SpecialTokens,
    ) -> Result<Self, TokenizerError> {
        Self::wrap(inner, special, Path::new(IN_MEMORY))
    }

    fn load(bytes: &[u8], special: &SpecialTokens, origin: &Path) -> Result<Self, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::Load {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::wrap(inner, special, origin)
    }

    /// Resolves and registers the special tokens, and disables the wrapped
    /// tokenizer's own truncation and padding.
    fn wrap(
        mut inner: tokenizers::Tokenizer,
        special: &SpecialTokens,
        origin: &Path,
    ) -> Result<Self, TokenizerError> {
        special.validate(origin)?;
        let resolve = |inner: &tokenizers::Tokenizer, role: SpecialTokenRole| {
            let token = special.get(role);
            inner
                .token_to_id(token)
                .ok_or_else(|| TokenizerError::MissingSpecialToken {
                    path: origin.to_path_buf(),
                    role,
                    token: token.to_owned(),
                })
        };
        let before = [
            resolve(&inner, SpecialTokenRole::Bos)?,
            resolve(&inner, SpecialTokenRole::Eos)?,
            resolve(&inner, SpecialTokenRole::Pad)?,
        ];

        // Tokens present only in the model vocabulary are registered as special,
        // so that they are matched in input text and skipped on request when
        // decoding. Registration keeps their ids.
        let unregistered: Vec<AddedToken> = special
            .distinct()
            .into_iter()
            .filter(|t| !inner.get_added_vocabulary().is_special_token(t))
            .map(|t| AddedToken::from(t, true))
            .collect();
        if !unregistered.is_empty() {
            inner
                .add_special_tokens(unregistered)
                .map_err(|e| TokenizerError::Load {
                    path: origin.to_path_buf(),
                    message: format!("registering special tokens: {e}"),
                })?;
        }
        for (role, &id) in SpecialTokenRole::ALL.iter().zip(&before) {
            if resolve(&inner, *role)? != id {
                return Err(TokenizerError::InvalidSpecialToken {
                    path: origin.to_path_buf(),
                    role: *role,
                    message: format!("its id changed from {id} when registered as special"),
                });
            }
        }

        inner
            .with_truncation(None)
            .map_err(|e| TokenizerError::Load {
                path: origin.to_path_buf(),
                message: format!("disabling truncation: {e}"),
            })?;
        inner.with_padding(None);

        let [bos_id, eos_id, pad_id] = before;
        Ok(Self {
            inner,
            special: special.clone(),
            bos_id,
            eos_id,
            pad_id,
        })
    }

    /// Saves the tokenizer as a Hugging Face `tokenizer.json` at `path`.
    ///
    /// The file is written atomically: to a temporary file in the same
    /// directory, synced, then renamed over `path`.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Serialize`] or [`TokenizerError::Io`], naming `path`
    /// (or the temporary file).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TokenizerError> {
        let path = path.as_ref();
        let json = self
            .inner
            .to_string(true)
            .map_err(|e| TokenizerError::Serialize {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        write_atomically(path, json.as_bytes())
    }

    /// The tokenizer as `tokenizer.json` text.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Serialize`] (reported path `<in-memory>`).
    pub fn to_json_string(&self) -> Result<String, TokenizerError> {
        self.inner
            .to_string(true)
            .map_err(|e| TokenizerError::Serialize {
                path: PathBuf::from(IN_MEMORY),
                message: e.to_string(),
            })
    }

    /// Id of the beginning-of-sequence token.
    pub fn bos_id(&self) -> u32 {
        self.bos_id
    }

    /// Id of the end-of-sequence token.
    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// Id of the padding token.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Id of the token playing `role`.
    pub fn special_id(&self, role: SpecialTokenRole) -> u32 {
        match role {
            SpecialTokenRole::Bos => self.bos_id,
            SpecialTokenRole::Eos => self.eos_id,
            SpecialTokenRole::Pad => self.pad_id,
        }
    }

    /// The special tokens this tokenizer was built with.
    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    /// Vocabulary size, added tokens included. Every id below it that the
    /// model vocabulary defines is valid.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of `token`, if it is in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The token with id `id`, if any.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The wrapped [`tokenizers::Tokenizer`].
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// Decodes `ids` to text, dropping special tokens if `skip_special_tokens`.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::UnknownTokenId`] if an id is not in the vocabulary
    /// (the wrapped tokenizer would silently drop it), and
    /// [`TokenizerError::Decode`] if the wrapped decoder fails.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, TokenizerError> {
        self.check_ids(ids, || "sequence".to_owned())?;
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| TokenizerError::Decode {
                input: format!("a sequence of {} ids", ids.len()),
                message: e.to_string(),
            })
    }

    /// Decodes several id sequences (in parallel), like [`Tokenizer::decode`].
    ///
    /// # Errors
    ///
    /// As for [`Tokenizer::decode`], naming the batch item.
    pub fn decode_batch<S>(
        &self,
        sequences: &[S],
        skip_special_tokens: bool,
    ) -> Result<Vec<String>, TokenizerError>
    where
        S: AsRef<[u32]>,
    {
        let slices: Vec<&[u32]> = sequences.iter().map(AsRef::as_ref).collect();
        for (i, ids) in slices.iter().enumerate() {
            self.check_ids(ids, || format!("batch item {i}"))?;
        }
        self.inner
            .decode_batch(&slices, skip_special_tokens)
            .map_err(|e| TokenizerError::Decode {
                input: format!("a batch of {} sequences", slices.len()),
                message: e.to_string(),
            })
    }

    /// Errors on the first id the tokenizer cannot map to a token.
    fn check_ids(&self, ids: &[u32], input: impl FnOnce() -> String) -> Result<(), TokenizerError> {
        match ids
            .iter()
            .enumerate()
            .find(|&(_, &id)| self.inner.id_to_token(id).is_none())
        {
            Some((position, &id)) => Err(TokenizerError::UnknownTokenId {
                input: input(),
                position,
                id,
                vocab_size: self.vocab_size(),
            }),
            None => Ok(()),
        }
    }
}

/// Describes an input text for error messages: a label, a short preview and
/// the length in bytes.
fn describe_text(label: &str, text: &str) -> String {
    let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
    if preview.len() < text.len() {
        preview.push('…');
    }
    format!("{label} ({preview:?}, {} bytes)", text.len())
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it
/// over `path`. The temporary file is removed on failure.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TokenizerError> {
    if path.file_name().is_none() {
        return Err(TokenizerError::InvalidOption {
            option: "path",
            message: format!("`{}` does not name a file", path.display()),
        });
    }
    rlhf_core::write_atomic(path, bytes).map_err(|e| TokenizerError::Io {
        action: "writing",
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests;
