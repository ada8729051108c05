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

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokenizers::AddedToken;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

/// Number of symbols in the byte-level alphabet (one per byte value).
const BYTE_ALPHABET_SIZE: usize = 256;

/// Origin reported in errors for tokenizers that do not come from a file.
const IN_MEMORY: &str = "<in-memory>";

/// Origin reported in errors for freshly trained tokenizers.
const TRAINED: &str = "<trained>";

/// Maximum number of characters of input text quoted in an error message.
const PREVIEW_CHARS: usize = 32;

/// The role a special token plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialTokenRole {
    /// Beginning of sequence.
    Bos,
    /// End of sequence.
    Eos,
    /// Padding.
    Pad,
}

impl SpecialTokenRole {
    /// All roles, in the order `bos`, `eos`, `pad`.
    pub const ALL: [SpecialTokenRole; 3] = [Self::Bos, Self::Eos, Self::Pad];

    /// Lower-case name of the role: `"bos"`, `"eos"` or `"pad"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bos => "bos",
            Self::Eos => "eos",
            Self::Pad => "pad",
        }
    }
}

impl fmt::Display for SpecialTokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of the special tokens a [`Tokenizer`] needs.
///
/// Two roles may share one token (e.g. GPT-2 uses `<|endoftext|>` for all
/// three); attention masks are built from lengths, never by comparing ids with
/// [`Tokenizer::pad_id`], so that is safe. No token may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct SpecialTokens {
    /// Beginning-of-sequence token, default [`SpecialTokens::DEFAULT_BOS`].
    pub bos: String,
    /// End-of-sequence token, default [`SpecialTokens::DEFAULT_EOS`].
    pub eos: String,
    /// Padding token, default [`SpecialTokens::DEFAULT_PAD`].
    pub pad: String,
}

impl SpecialTokens {
    /// Default beginning-of-sequence token.
    pub const DEFAULT_BOS: &'static str = "<|bos|>";
    /// Default end-of-sequence token.
    pub const DEFAULT_EOS: &'static str = "<|eos|>";
    /// Default padding token.
    pub const DEFAULT_PAD: &'static str = "<|pad|>";

    /// The token playing `role`.
    pub fn get(&self, role: SpecialTokenRole) -> &str {
        match role {
            SpecialTokenRole::Bos => &self.bos,
            SpecialTokenRole::Eos => &self.eos,
            SpecialTokenRole::Pad => &self.pad,
        }
    }

    /// `(role, token)` pairs in the order `bos`, `eos`, `pad`.
    pub fn iter(&self) -> impl Iterator<Item = (SpecialTokenRole, &str)> {
        SpecialTokenRole::ALL
            .into_iter()
            .map(|role| (role, self.get(role)))
    }

    /// The distinct tokens, in the order `bos`, `eos`, `pad`.
    fn distinct(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(3);
        for (_, token) in self.iter() {
            if !out.contains(&token) {
                out.push(token);
            }
        }
        out
    }

    /// Errors if any token is empty; `origin` names the tokenizer in the error.
    fn validate(&self, origin: &Path) -> Result<(), TokenizerError> {
        match self.iter().find(|(_, token)| token.is_empty()) {
            Some((role, _)) => Err(TokenizerError::InvalidSpecialToken {
                path: origin.to_path_buf(),
                role,
                message: "the token is empty".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

impl Default for SpecialTokens {
    fn default() -> Self {
        Self {
            bos: Self::DEFAULT_BOS.to_owned(),
            eos: Self::DEFAULT_EOS.to_owned(),
            pad: Self::DEFAULT_PAD.to_owned(),
        }
    }
}

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
    /// An argument or [`EncodeOptions`] field has an invalid value.
    #[error("invalid `{option}`: {message}")]
    InvalidOption {
        /// Name of the argument or field.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Which end of a too-long sequence is cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TruncationSide {
    /// Drop tokens from the start, keeping the end (as TRL does for prompts).
    Left,
    /// Drop tokens from the end, keeping the start.
    #[default]
    Right,
}

/// Which end of a short sequence receives padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PaddingSide {
    /// Pad before the tokens (for prompts that generation continues).
    Left,
    /// Pad after the tokens.
    #[default]
    Right,
}

/// How [`Tokenizer::encode_batch`] builds its rows.
///
/// The default adds no BOS/EOS, does not truncate and pads on the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct EncodeOptions {
    /// Prepend [`Tokenizer::bos_id`] to every sequence.
    pub add_bos: bool,
    /// Append [`Tokenizer::eos_id`] to every sequence.
    pub add_eos: bool,
    /// Maximum sequence length, BOS/EOS included. Longer sequences lose text
    /// tokens on the [`truncation`](Self::truncation) side; BOS and EOS are
    /// always kept. Must be at least the number of BOS/EOS tokens added, and at
    /// least 1.
    pub max_length: Option<usize>,
    /// Which end of a too-long sequence is dropped.
    pub truncation: TruncationSide,
    /// Which end of a short sequence receives padding.
    pub padding: PaddingSide,
    /// Round the padded length up to a multiple of this (must be non-zero).
    /// This may exceed `max_length` when `max_length` is not such a multiple.
    pub pad_to_multiple_of: Option<usize>,
}

/// A padded batch of token ids, as returned by [`Tokenizer::encode_batch`].
///
/// All rows of `ids` and `attention_mask` have the same length
/// ([`BatchEncoding::seq_len`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchEncoding {
    /// Token ids, one row per input, padded with [`Tokenizer::pad_id`].
    pub ids: Vec<Vec<u32>>,
    /// `1` for real tokens (BOS/EOS included), `0` for padding.
    pub attention_mask: Vec<Vec<u8>>,
    /// Number of real tokens in each row (the row sum of `attention_mask`).
    pub lengths: Vec<usize>,
    /// How many inputs were truncated to fit `max_length`.
    pub truncated: usize,
}

impl BatchEncoding {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Padded length shared by all rows (0 for an empty batch).
    pub fn seq_len(&self) -> usize {
        self.ids.first().map_or(0, Vec::len)
    }

    /// The real (unpadded) tokens of row `row`.
    ///
    /// # Panics
    ///
    /// If `row >= self.len()`.
    pub fn unpadded(&self, row: usize) -> Vec<u32> {
        self.ids[row]
            .iter()
            .zip(&self.attention_mask[row])
            .filter(|&(_, &m)| m == 1)
            .map(|(&id, _)| id)
            .collect()
    }
}

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

    /// Trains a GPT-2 style byte-level BPE tokenizer on the lines of `files`
    /// (line endings included, as Hugging Face does).
    ///
    /// See [`Tokenizer::train_bpe_from_iter`] for the other arguments.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Io`] naming the file if one cannot be opened or read
    /// (including invalid UTF-8), and the errors of
    /// [`Tokenizer::train_bpe_from_iter`].
    pub fn train_bpe<P: AsRef<Path>>(
        files: &[P],
        vocab_size: usize,
        special: &SpecialTokens,
        min_frequency: u64,
    ) -> Result<Self, TokenizerError> {
        // Fail fast, naming the file, before any training work; files are
        // opened one at a time while training reads them.
        let mut paths = Vec::with_capacity(files.len());
        for path in files {
            let path = path.as_ref();
            fs::metadata(path).map_err(|source| TokenizerError::Io {
                action: "opening training file",
                path: path.to_path_buf(),
                source,
            })?;
            paths.push(path.to_path_buf());
        }
        let corpus = describe_files(files);
        let failure: Mutex<Option<TokenizerError>> = Mutex::new(None);
        let lines = paths.into_iter().flat_map(|path| FileLines {
            path,
            reader: None,
            failure: &failure,
        });
        let trained = Self::train_impl(lines, vocab_size, special, min_frequency, corpus);
        let failure = failure.into_inner().unwrap_or_else(|p| p.into_inner());
        match failure {
            Some(err) => Err(err),
            None => trained,
        }
    }

    /// Trains a GPT-2 style byte-level BPE tokenizer on in-memory texts.
    ///
    /// The tokenizer has a `ByteLevel` pre-tokenizer (`add_prefix_space =
    /// false`, GPT-2 regex), a `ByteLevel` decoder and a `ByteLevel`
    /// post-processor (`trim_offsets = true`). The full 256-symbol byte alphabet
    /// is always in the vocabulary, so any text can be encoded. The distinct
    /// special tokens get the first ids, in the order `bos`, `eos`, `pad`.
    ///
    /// `vocab_size` counts the special tokens and the byte alphabet; pairs seen
    /// fewer than `min_frequency` times are not merged.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::InvalidOption`] if `vocab_size` is smaller than 256
    /// plus the number of distinct special tokens,
    /// [`TokenizerError::InvalidSpecialToken`] if a special token is empty, and
    /// [`TokenizerError::Training`] if training fails.
    pub fn train_bpe_from_iter<I, S>(
        texts: I,
        vocab_size: usize,
        special: &SpecialTokens,
        min_frequency: u64,
    ) -> Result<Self, TokenizerError>
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: Send,
        S: AsRef<str> + Send,
    {
        Self::train_impl(
            texts.into_iter(),
            vocab_size,
            special,
            min_frequency,
            "an in-memory corpus".to_owned(),
        )
    }

    fn train_impl<I, S>(
        texts: I,
        vocab_size: usize,
        special: &SpecialTokens,
        min_frequency: u64,
        corpus: String,
    ) -> Result<Self, TokenizerError>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let origin = Path::new(TRAINED);
        special.validate(origin)?;
        let distinct = special.distinct();
        let min_vocab = BYTE_ALPHABET_SIZE + distinct.len();
        if vocab_size < min_vocab {
            return Err(TokenizerError::InvalidOption {
                option: "vocab_size",
                message: format!(
                    "{vocab_size} is smaller than the byte alphabet ({BYTE_ALPHABET_SIZE}) plus \
                     the {} distinct special tokens ({min_vocab})",
                    distinct.len()
                ),
            });
        }

        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(min_frequency)
            .show_progress(false)
            .special_tokens(
                distinct
                    .iter()
                    .map(|t| AddedToken::from(*t, true))
                    .collect(),
            )
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect::<HashSet<char>>())
            .build()
            .into();

        let byte_level = ByteLevel::new(false, true, true);
        let mut inner = tokenizers::Tokenizer::new(BPE::default());
        inner
            .with_pre_tokenizer(Some(byte_level))
            .with_decoder(Some(byte_level))
            .with_post_processor(Some(byte_level));
        inner
            .train(&mut trainer, texts)
            .map_err(|e| TokenizerError::Training {
                corpus,
                message: e.to_string(),
            })?;
        Self::wrap(inner, special, origin)
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

    /// Encodes `text`, optionally with BOS prepended and EOS appended.
    ///
    /// No truncation is applied.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::Encode`] if the wrapped tokenizer fails.
    pub fn encode(
        &self,
        text: &str,
        add_bos: bool,
        add_eos: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        let encoding = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| TokenizerError::Encode {
                input: describe_text("text", text),
                message: e.to_string(),
            })?;
        let body = encoding.get_ids();
        let mut ids = Vec::with_capacity(body.len() + usize::from(add_bos) + usize::from(add_eos));
        if add_bos {
            ids.push(self.bos_id);
        }
        ids.extend_from_slice(body);
        if add_eos {
            ids.push(self.eos_id);
        }
        Ok(ids)
    }

    /// Encodes a batch of texts into equal-length rows (see [`EncodeOptions`]).
    ///
    /// Each row is BOS (optional) + text tokens + EOS (optional). If
    /// `max_length` is set and a row is longer, text tokens are removed from
    /// the [`truncation`](EncodeOptions::truncation) side until it fits (BOS
    /// and EOS stay). Rows are then padded with [`Tokenizer::pad_id`] on the
    /// [`padding`](EncodeOptions::padding) side to the longest row's length,
    /// rounded up to `pad_to_multiple_of`.
    ///
    /// # Errors
    ///
    /// [`TokenizerError::InvalidOption`] for an invalid `max_length` or
    /// `pad_to_multiple_of`, and [`TokenizerError::Encode`] naming the batch
    /// item if encoding fails.
    pub fn encode_batch<S>(
        &self,
        texts: &[S],
        options: &EncodeOptions,
    ) -> Result<BatchEncoding, TokenizerError>
    where
        S: AsRef<str> + Sync,
    {
        let n_special = usize::from(options.add_bos) + usize::from(options.add_eos);
        if let Some(max_length) = options.max_length
            && (max_length == 0 || max_length < n_special)
        {
            return Err(TokenizerError::InvalidOption {
                option: "max_length",
                message: format!(
                    "{max_length} leaves no room for the {n_special} BOS/EOS tokens requested \
                     (must be at least {})",
                    n_special.max(1)
                ),
            });
        }
        if options.pad_to_multiple_of == Some(0) {
            return Err(TokenizerError::InvalidOption {
                option: "pad_to_multiple_of",
                message: "must be non-zero".to_owned(),
            });
        }

        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = match self.inner.encode_batch_fast(inputs.clone(), false) {
            Ok(encodings) => encodings,
            Err(batch_err) => {
                // Find the failing item to name it; fall back to the batch error.
                for (i, text) in inputs.iter().enumerate() {
                    if let Err(e) = self.inner.encode_fast(*text, false) {
                        return Err(TokenizerError::Encode {
                            input: describe_text(&format!("batch item {i}"), text),
                            message: e.to_string(),
                        });
                    }
                }
                return Err(TokenizerError::Encode {
                    input: format!("a batch of {} texts", inputs.len()),
                    message: batch_err.to_string(),
                });
            }
        };

        let budget = options.max_length.map(|m| m - n_special);
        let mut truncated = 0;
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(encodings.len());
        for encoding in &encodings {
            let mut body = encoding.get_ids();
            if let Some(budget) = budget
                && body.len() > budget
            {
                truncated += 1;
                body = match options.truncation {
                    TruncationSide::Left => &body[body.len() - budget..],
                    TruncationSide::Right => &body[..budget],
                };
            }
            let mut row = Vec::with_capacity(body.len() + n_special);
            if options.add_bos {
                row.push(self.bos_id);
            }
            row.extend_from_slice(body);
            if options.add_eos {
                row.push(self.eos_id);
            }
            rows.push(row);
        }

        let lengths: Vec<usize> = rows.iter().map(Vec::len).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let target = match options.pad_to_multiple_of {
            Some(m) => longest.div_ceil(m) * m,
            None => longest,
        };

        let mut attention_mask = Vec::with_capacity(rows.len());
        for row in &mut rows {
            let real = row.len();
            let pad = target - real;
            match options.padding {
                PaddingSide::Right => {
                    row.resize(target, self.pad_id);
                    attention_mask.push([vec![1u8; real], vec![0u8; pad]].concat());
                }
                PaddingSide::Left => {
                    row.splice(0..0, std::iter::repeat_n(self.pad_id, pad));
                    attention_mask.push([vec![0u8; pad], vec![1u8; real]].concat());
                }
            }
        }

        Ok(BatchEncoding {
            ids: rows,
            attention_mask,
            lengths,
            truncated,
        })
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

/// Lines (with their endings) of one training file, opened on first use; on
/// an open or read error the error is stored in `failure` and iteration stops
/// (for this and every later file).
struct FileLines<'a> {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    failure: &'a Mutex<Option<TokenizerError>>,
}

impl Iterator for FileLines<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if failure.is_some() {
            return None;
        }
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => match File::open(&self.path) {
                Ok(file) => self.reader.insert(BufReader::new(file)),
                Err(source) => {
                    *failure = Some(TokenizerError::Io {
                        action: "opening training file",
                        path: self.path.clone(),
                        source,
                    });
                    return None;
                }
            },
        };
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line),
            Err(source) => {
                *failure = Some(TokenizerError::Io {
                    action: "reading training file",
                    path: self.path.clone(),
                    source,
                });
                None
            }
        }
    }
}

/// Describes a list of training files for error messages.
fn describe_files<P: AsRef<Path>>(files: &[P]) -> String {
    const SHOWN: usize = 3;
    let mut names: Vec<String> = files
        .iter()
        .take(SHOWN)
        .map(|p| format!("`{}`", p.as_ref().display()))
        .collect();
    if files.len() > SHOWN {
        names.push(format!("and {} more", files.len() - SHOWN));
    }
    format!("{} file(s) [{}]", files.len(), names.join(", "))
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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const VOCAB: usize = 400;

    /// A few hundred deterministic dialogue-like lines, with some non-ASCII.
    fn corpus() -> Vec<String> {
        const WORDS: &[&str] = &[
            "the",
            "a",
            "model",
            "human",
            "assistant",
            "please",
            "help",
            "me",
            "with",
            "this",
            "question",
            "answer",
            "is",
            "not",
            "safe",
            "harmless",
            "honest",
            "why",
            "how",
            "what",
            "can",
            "you",
            "tell",
            "about",
            "café",
            "naïve",
            "déjà",
            "vu",
            "日本",
            "東京",
            "über",
            "straße",
            "—",
            "emoji",
            "🙂",
            "42",
            "2024",
            "reward",
            "policy",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        (0..400)
            .map(|i| {
                let speaker = if i % 2 == 0 { "Human" } else { "Assistant" };
                let len = 3 + next(12);
                let words: Vec<&str> = (0..len).map(|_| WORDS[next(WORDS.len())]).collect();
                let end = [".", "?", "!", ","][next(4)];
                format!("\n\n{speaker}: {}{end}", words.join(" "))
            })
            .collect()
    }

    /// One BPE tokenizer trained on [`corpus`], shared by all tests.
    fn trained() -> &'static Tokenizer {
        static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
        TOKENIZER.get_or_init(|| {
            Tokenizer::train_bpe_from_iter(corpus(), VOCAB, &SpecialTokens::default(), 2)
                .expect("training on the test corpus")
        })
    }

    /// A hand-written word-level `tokenizer.json` with known ids; its special
    /// tokens are only in the model vocabulary, not registered as added tokens.
    const WORD_LEVEL_JSON: &str = r#"{
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": { "type": "WhitespaceSplit" },
        "post_processor": null,
        "decoder": null,
        "model": {
            "type": "WordLevel",
            "vocab": {
                "<|bos|>": 0, "<|eos|>": 1, "<|pad|>": 2,
                "a": 3, "b": 4, "c": 5, "d": 6, "e": 7, "[UNK]": 8
            },
            "unk_token": "[UNK]"
        }
    }"#;

    fn word_level() -> Tokenizer {
        Tokenizer::from_json_str(WORD_LEVEL_JSON, &SpecialTokens::default()).unwrap()
    }

    /// Checks the shape invariants every batch must satisfy.
    fn assert_batch_invariants(batch: &BatchEncoding, pad_id: u32, padding: PaddingSide) {
        let n = batch.len();
        assert_eq!(batch.attention_mask.len(), n);
        assert_eq!(batch.lengths.len(), n);
        let width = batch.seq_len();
        for i in 0..n {
            let (ids, mask, len) = (&batch.ids[i], &batch.attention_mask[i], batch.lengths[i]);
            assert_eq!(ids.len(), width, "row {i} width");
            assert_eq!(mask.len(), width, "row {i} mask width");
            assert_eq!(
                mask.iter().map(|&m| usize::from(m)).sum::<usize>(),
                len,
                "row {i}"
            );
            let real = match padding {
                PaddingSide::Right => 0..len,
                PaddingSide::Left => width - len..width,
            };
            for (j, (&id, &m)) in ids.iter().zip(mask).enumerate() {
                if real.contains(&j) {
                    assert_eq!(m, 1, "row {i} pos {j} should be real");
                } else {
                    assert_eq!(m, 0, "row {i} pos {j} should be padding");
                    assert_eq!(id, pad_id, "row {i} pos {j} should hold pad_id");
                }
            }
        }
    }

    #[test]
    fn train_bpe_from_iter_resolves_distinct_special_ids() {
        let tok = trained();
        let ids = [tok.bos_id(), tok.eos_id(), tok.pad_id()];
        assert_eq!(ids, [0, 1, 2], "special tokens get the first ids");
        for (role, token) in SpecialTokens::default().iter() {
            assert_eq!(tok.token_to_id(token), Some(tok.special_id(role)));
            assert_eq!(
                tok.id_to_token(tok.special_id(role)).as_deref(),
                Some(token)
            );
        }
        assert!(tok.vocab_size() > BYTE_ALPHABET_SIZE + 3);
        assert!(tok.vocab_size() <= VOCAB);
        // Merges were learned: a frequent word is one token.
        assert_eq!(tok.encode("Assistant", false, false).unwrap().len(), 1);
    }

    #[test]
    fn round_trip_ascii_and_unicode() {
        let tok = trained();
        for text in [
            "",
            "hello world",
            "naïve café — 日本",
            "\n\nHuman: what is 2+2?\n\nAssistant: 4 🙂",
            "  leading and trailing spaces  ",
            "tabs\tand\r\nCRLF and \u{0} nul",
            "never-seen ℵ₀ ∑ Ελληνικά",
        ] {
            let ids = tok.encode(text, false, false).unwrap();
            assert_eq!(tok.decode(&ids, false).unwrap(), text);

            let with = tok.encode(text, true, true).unwrap();
            assert_eq!(with.first(), Some(&tok.bos_id()));
            assert_eq!(with.last(), Some(&tok.eos_id()));
            assert_eq!(&with[1..with.len() - 1], &ids[..]);
            assert_eq!(tok.decode(&with, true).unwrap(), text);
            assert_eq!(
                tok.decode(&with, false).unwrap(),
                format!("<|bos|>{text}<|eos|>")
            );
        }
    }

    #[test]
    fn special_token_text_in_input_encodes_to_its_id() {
        let tok = trained();
        let ids = tok.encode("hi<|eos|>", false, false).unwrap();
        assert_eq!(ids.last(), Some(&tok.eos_id()));
    }

    #[test]
    fn decode_batch_and_unknown_ids() {
        let tok = trained();
        let texts = ["one café", "two 日本"];
        let seqs: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| tok.encode(t, true, false).unwrap())
            .collect();
        assert_eq!(tok.decode_batch(&seqs, true).unwrap(), texts);

        let bad = u32::try_from(tok.vocab_size()).unwrap() + 7;
        let err = tok.decode(&[tok.bos_id(), bad], false).unwrap_err();
        assert!(matches!(
            err,
            TokenizerError::UnknownTokenId { position: 1, id, .. } if id == bad
        ));
        let err = tok
            .decode_batch(&[vec![3], vec![4, bad]], false)
            .unwrap_err();
        assert!(err.to_string().contains("batch item 1"), "{err}");
    }

    #[test]
    fn save_then_from_file_gives_identical_ids() {
        let tok = trained();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        tok.save(&path).unwrap();
        // Saving again overwrites atomically.
        tok.save(&path).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tokenizer.json"], "no temporary file left behind");

        let loaded = Tokenizer::from_file(&path, &SpecialTokens::default()).unwrap();
        assert_eq!(loaded.vocab_size(), tok.vocab_size());
        assert_eq!(
            [loaded.bos_id(), loaded.eos_id(), loaded.pad_id()],
            [tok.bos_id(), tok.eos_id(), tok.pad_id()]
        );
        let mut texts = corpus();
        texts.push("naïve café — 日本".to_owned());
        for text in &texts {
            assert_eq!(
                loaded.encode(text, true, true).unwrap(),
                tok.encode(text, true, true).unwrap()
            );
        }
        let json = tok.to_json_string().unwrap();
        let from_str = Tokenizer::from_json_str(&json, &SpecialTokens::default()).unwrap();
        assert_eq!(
            from_str.encode(&texts[0], false, false).unwrap(),
            tok.encode(&texts[0], false, false).unwrap()
        );
    }

    #[test]
    fn missing_pad_token_is_a_load_error_naming_file_role_and_token() {
        let mut json: serde_json::Value =
            serde_json::from_str(&trained().to_json_string().unwrap()).unwrap();
        json["added_tokens"]
            .as_array_mut()
            .unwrap()
            .retain(|t| t["content"] != "<|pad|>");
        json["model"]["vocab"]
            .as_object_mut()
            .unwrap()
            .remove("<|pad|>");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-pad.json");
        fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();

        let err = Tokenizer::from_file(&path, &SpecialTokens::default()).unwrap_err();
        match &err {
            TokenizerError::MissingSpecialToken {
                path: p,
                role,
                token,
            } => {
                assert_eq!(p, &path);
                assert_eq!(*role, SpecialTokenRole::Pad);
                assert_eq!(token, "<|pad|>");
            }
            other => panic!("expected MissingSpecialToken, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("no-pad.json"), "{msg}");
        assert!(msg.contains("pad token"), "{msg}");
        assert!(msg.contains("\"<|pad|>\""), "{msg}");

        // A custom pad token missing from a valid file is reported the same way.
        let special = SpecialTokens {
            pad: "<|my_pad|>".to_owned(),
            ..SpecialTokens::default()
        };
        let msg = Tokenizer::from_json_str(WORD_LEVEL_JSON, &special)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("<in-memory>") && msg.contains("pad token \"<|my_pad|>\""),
            "{msg}"
        );
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.json");
        let err = Tokenizer::from_file(&missing, &SpecialTokens::default()).unwrap_err();
        assert!(matches!(err, TokenizerError::Io { .. }));
        assert!(err.to_string().contains("absent.json"), "{err}");

        let garbage = dir.path().join("garbage.json");
        fs::write(&garbage, "{ not json").unwrap();
        let err = Tokenizer::from_file(&garbage, &SpecialTokens::default()).unwrap_err();
        assert!(matches!(err, TokenizerError::Load { .. }));
        assert!(err.to_string().contains("garbage.json"), "{err}");

        let empty_bos = SpecialTokens {
            bos: String::new(),
            ..SpecialTokens::default()
        };
        let err = Tokenizer::from_json_str(WORD_LEVEL_JSON, &empty_bos).unwrap_err();
        assert!(matches!(
            err,
            TokenizerError::InvalidSpecialToken {
                role: SpecialTokenRole::Bos,
                ..
            }
        ));
    }

    #[test]
    fn training_rejects_bad_arguments() {
        let err =
            Tokenizer::train_bpe_from_iter(["abc"], 258, &SpecialTokens::default(), 1).unwrap_err();
        assert!(matches!(
            err,
            TokenizerError::InvalidOption {
                option: "vocab_size",
                ..
            }
        ));

        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("absent.txt");
        let err = Tokenizer::train_bpe(&[&absent], 300, &SpecialTokens::default(), 1).unwrap_err();
        assert!(err.to_string().contains("absent.txt"), "{err}");

        let bad_utf8 = dir.path().join("latin1.txt");
        fs::write(&bad_utf8, b"caf\xe9\n").unwrap();
        let err =
            Tokenizer::train_bpe(&[&bad_utf8], 300, &SpecialTokens::default(), 1).unwrap_err();
        assert!(matches!(err, TokenizerError::Io { .. }));
        assert!(err.to_string().contains("latin1.txt"), "{err}");
    }

    #[test]
    fn train_bpe_from_files_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let lines = corpus();
        let (first, second) = lines.split_at(lines.len() / 2);
        let files = [dir.path().join("a.txt"), dir.path().join("b.txt")];
        fs::write(&files[0], first.concat()).unwrap();
        fs::write(&files[1], second.concat()).unwrap();
        let special = SpecialTokens {
            bos: "<s>".to_owned(),
            eos: "</s>".to_owned(),
            pad: "</s>".to_owned(),
        };
        let tok = Tokenizer::train_bpe(&files, 320, &special, 2).unwrap();
        assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (0, 1, 1));
        assert!(tok.vocab_size() <= 320);
        let text = "\n\nHuman: naïve café — 日本?";
        let ids = tok.encode(text, true, true).unwrap();
        assert_eq!(tok.decode(&ids, true).unwrap(), text);
    }

    #[test]
    fn word_level_json_registers_special_tokens() {
        let tok = word_level();
        assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (0, 1, 2));
        assert_eq!(tok.encode("a b c", true, true).unwrap(), [0, 3, 4, 5, 1]);
        // The vocab-only specials are now special: skipped when asked.
        assert_eq!(tok.decode(&[0, 3, 4, 1, 2], true).unwrap(), "a b");
        assert_eq!(
            tok.decode(&[0, 3, 4, 1, 2], false).unwrap(),
            "<|bos|> a b <|eos|> <|pad|>"
        );
    }

    #[test]
    fn right_truncation_right_padding_exact_rows() {
        let tok = word_level();
        let opts = EncodeOptions {
            add_bos: true,
            add_eos: true,
            max_length: Some(5),
            truncation: TruncationSide::Right,
            padding: PaddingSide::Right,
            pad_to_multiple_of: None,
        };
        let batch = tok
            .encode_batch(&["a b c d e", "d", "", "a b c"], &opts)
            .unwrap();
        assert_eq!(
            batch.ids,
            [
                vec![0, 3, 4, 5, 1],
                vec![0, 6, 1, 2, 2],
                vec![0, 1, 2, 2, 2],
                vec![0, 3, 4, 5, 1],
            ]
        );
        assert_eq!(
            batch.attention_mask,
            [
                vec![1, 1, 1, 1, 1],
                vec![1, 1, 1, 0, 0],
                vec![1, 1, 0, 0, 0],
                vec![1, 1, 1, 1, 1],
            ]
        );
        assert_eq!(batch.lengths, [5, 3, 2, 5]);
        assert_eq!(batch.truncated, 1, "only the first row lost tokens");
        assert_eq!(batch.unpadded(1), [0, 6, 1]);
        assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Right);
    }

    #[test]
    fn left_truncation_left_padding_exact_rows() {
        let tok = word_level();
        let opts = EncodeOptions {
            add_bos: true,
            add_eos: false,
            max_length: Some(4),
            truncation: TruncationSide::Left,
            padding: PaddingSide::Left,
            pad_to_multiple_of: None,
        };
        let batch = tok
            .encode_batch(&["a b c d e", "e d", "a b c d"], &opts)
            .unwrap();
        assert_eq!(
            batch.ids,
            [vec![0, 5, 6, 7], vec![2, 0, 7, 6], vec![0, 4, 5, 6]]
        );
        assert_eq!(
            batch.attention_mask,
            [vec![1, 1, 1, 1], vec![0, 1, 1, 1], vec![1, 1, 1, 1]]
        );
        assert_eq!(batch.lengths, [4, 3, 4]);
        assert_eq!(batch.truncated, 2);
        assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Left);

        // Without BOS/EOS, left truncation keeps exactly the last tokens.
        let opts = EncodeOptions {
            max_length: Some(2),
            truncation: TruncationSide::Left,
            ..EncodeOptions::default()
        };
        let batch = tok.encode_batch(&["a b c", "d"], &opts).unwrap();
        assert_eq!(batch.ids, [vec![4, 5], vec![6, 2]]);
        assert_eq!(batch.truncated, 1);
    }

    #[test]
    fn pad_to_multiple_of_rounds_up_the_width() {
        let tok = word_level();
        let opts = EncodeOptions {
            add_eos: true,
            pad_to_multiple_of: Some(4),
            padding: PaddingSide::Left,
            ..EncodeOptions::default()
        };
        let batch = tok.encode_batch(&["a b c d e", "a"], &opts).unwrap();
        assert_eq!(
            batch.ids,
            [vec![2, 2, 3, 4, 5, 6, 7, 1], vec![2, 2, 2, 2, 2, 2, 3, 1]]
        );
        assert_eq!(batch.lengths, [6, 2]);
        assert_eq!(batch.truncated, 0);
        assert_batch_invariants(&batch, tok.pad_id(), PaddingSide::Left);

        let empty = tok.encode_batch::<&str>(&[], &opts).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.seq_len(), 0);
    }

    #[test]
    fn invalid_encode_options_are_rejected() {
        let tok = word_level();
        let too_short = EncodeOptions {
            add_bos: true,
            add_eos: true,
            max_length: Some(1),
            ..EncodeOptions::default()
        };
        let err = tok.encode_batch(&["a"], &too_short).unwrap_err();
        assert!(matches!(
            err,
            TokenizerError::InvalidOption {
                option: "max_length",
                ..
            }
        ));
        let zero_multiple = EncodeOptions {
            pad_to_multiple_of: Some(0),
            ..EncodeOptions::default()
        };
        let err = tok.encode_batch(&["a"], &zero_multiple).unwrap_err();
        assert!(err.to_string().contains("pad_to_multiple_of"), "{err}");
    }

    /// ASCII (control characters included) or arbitrary Unicode text.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[\\x00-\\x7f]{0,48}",
            proptest::collection::vec(any::<char>(), 0..32)
                .prop_map(|chars| chars.into_iter().collect()),
            "(naïve|café|—|日本|🙂| |\n|Human:|the){0,12}",
        ]
    }

    fn any_options() -> impl Strategy<Value = EncodeOptions> {
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(2usize..24),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(1usize..8),
        )
            .prop_map(
                |(add_bos, add_eos, max_length, left_trunc, left_pad, multiple)| EncodeOptions {
                    add_bos,
                    add_eos,
                    max_length,
                    truncation: if left_trunc {
                        TruncationSide::Left
                    } else {
                        TruncationSide::Right
                    },
                    padding: if left_pad {
                        PaddingSide::Left
                    } else {
                        PaddingSide::Right
                    },
                    pad_to_multiple_of: multiple,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_decode_encode_is_identity(text in any_text()) {
            let tok = trained();
            let ids = tok.encode(&text, false, false).unwrap();
            prop_assert_eq!(tok.decode(&ids, false).unwrap(), text.clone());
            let ids = tok.encode(&text, true, true).unwrap();
            prop_assert_eq!(tok.decode(&ids, true).unwrap(), text);
        }

        #[test]
        fn prop_batch_padding_invariants(
            texts in proptest::collection::vec(any_text(), 0..6),
            opts in any_options(),
        ) {
            let tok = trained();
            let batch = tok.encode_batch(&texts, &opts).unwrap();
            prop_assert_eq!(batch.len(), texts.len());
            assert_batch_invariants(&batch, tok.pad_id(), opts.padding);
            let longest = batch.lengths.iter().copied().max().unwrap_or(0);
            let multiple = opts.pad_to_multiple_of.unwrap_or(1);
            prop_assert_eq!(batch.seq_len(), longest.div_ceil(multiple) * multiple);

            let n_special = usize::from(opts.add_bos) + usize::from(opts.add_eos);
            let mut truncated = 0;
            for (i, text) in texts.iter().enumerate() {
                let mut body = tok.encode(text, false, false).unwrap();
                if let Some(max) = opts.max_length
                    && body.len() + n_special > max
                {
                    truncated += 1;
                    let keep = max - n_special;
                    body = match opts.truncation {
                        TruncationSide::Left => body[body.len() - keep..].to_vec(),
                        TruncationSide::Right => body[..keep].to_vec(),
                    };
                }
                let mut expected = Vec::new();
                if opts.add_bos {
                    expected.push(tok.bos_id());
                }
                expected.extend(body);
                if opts.add_eos {
                    expected.push(tok.eos_id());
                }
                prop_assert_eq!(batch.unpadded(i), expected);
                if let Some(max) = opts.max_length {
                    prop_assert!(batch.lengths[i] <= max);
                }
            }
            prop_assert_eq!(batch.truncated, truncated);
        }
    }
}
