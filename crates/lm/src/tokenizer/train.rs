//! Byte-level BPE training from files or from an in-memory iterator of strings.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokenizers::AddedToken;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use super::{BYTE_ALPHABET_SIZE, SpecialTokens, TRAINED, Tokenizer, TokenizerError};

impl Tokenizer {
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
