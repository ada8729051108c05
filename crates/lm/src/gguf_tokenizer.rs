//! The Gemma tokenizer rebuilt from a GGUF file's metadata, as Hugging Face transformers
//! builds it (`transformers/integrations/gguf/gguf_tokenizer_mapping.py`, `gemma_tokenizer`).
//!
//! A GGUF file carries no `tokenizer.json`. Gemma files (`tokenizer.ggml.model = "llama"`,
//! `general.architecture` gemma, gemma2 or gemma3) store the SentencePiece vocabulary as
//! `tokenizer.ggml.tokens` with `token_type`s and special ids, and no merges. The tokenizer is:
//!
//! ```text
//! vocabulary  token → id, where a token made only of whitespace that contains a space
//!             ("  ", "   ", …) is respelled as that many "▁"
//! merges      for each token t in id order, every split t = l + r (at char boundaries,
//!             longest l first) with l and r both in the vocabulary; rank = list position
//!             (Gemma's scores do not follow its merge order; the order of the file does)
//! model       BPE(vocab, merges, unk = tokens[unknown_token_id], fuse_unk, byte_fallback)
//! normalizer  Replace(" " → "▁")          pre-tokenizer  Split(" ", merged with previous)
//! decoder     Replace("▁" → " "), ByteFallback, Fuse
//! added       token_type 3 (control) as special tokens, 4 (user-defined, e.g. "\n") as
//!             plain added tokens; none normalised
//! ```
//!
//! [`tokenizer_from_gguf`] returns the crate's [`Tokenizer`] with `bos`/`eos`/`pad` from
//! `tokenizer.ggml.{bos,eos,padding}_token_id`. Gemma prepends BOS
//! (`tokenizer.ggml.add_bos_token`, see [`add_bos_token`]): encode with
//! `tokenizer.encode(text, add_bos_token(&file)?, false)`.
//!
//! ```no_run
//! let file = gguf::GgufFile::open(".cache/gemma3/gemma-3-270m-q4_k_m.gguf")?;
//! let tok = lm::gguf_tokenizer::tokenizer_from_gguf(&file)?;
//! let ids = tok.encode("Hello, world!", lm::gguf_tokenizer::add_bos_token(&file)?, false)?;
//! assert_eq!(ids, [2, 9259, 236764, 1902, 236888]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::path::PathBuf;

use gguf::GgufFile;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::split::Split;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, DecoderWrapper, SplitDelimiterBehavior};

use crate::tokenizer::{SpecialTokens, Tokenizer, TokenizerError};

/// Metadata key of the tokenizer model name.
pub const MODEL_KEY: &str = "tokenizer.ggml.model";
/// Metadata key of the vocabulary.
pub const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
/// Metadata key of the token types.
pub const TOKEN_TYPE_KEY: &str = "tokenizer.ggml.token_type";

/// `token_type` of control tokens (`<bos>`, `<start_of_turn>`, …): added as special.
const TOKEN_TYPE_CONTROL: i32 = 3;
/// `token_type` of user-defined tokens (`"\n"`, `[multimodal]`, …): added, not special.
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// SentencePiece's word-boundary symbol.
const METASPACE: char = '▁';

/// Architectures whose `"llama"` tokenizer is built the Gemma way.
const GEMMA_ARCHITECTURES: [&str; 3] = ["gemma", "gemma2", "gemma3"];

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
    /// Wrapping into [`Tokenizer`] failed (e.g. a special token is missing).
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}

/// Whether Gemma's tokenizer prepends BOS: `tokenizer.ggml.add_bos_token`, `true` when
/// absent (as llama.cpp and transformers assume for SentencePiece vocabularies).
///
/// # Errors
///
/// [`GgufTokenizerError::Gguf`] if the key holds something other than a bool.
pub fn add_bos_token(file: &GgufFile) -> Result<bool, GgufTokenizerError> {
    optional_bool(file, "tokenizer.ggml.add_bos_token", true)
}

/// Whether the tokenizer appends EOS: `tokenizer.ggml.add_eos_token`, `false` when absent.
///
/// # Errors
///
/// [`GgufTokenizerError::Gguf`] if the key holds something other than a bool.
pub fn add_eos_token(file: &GgufFile) -> Result<bool, GgufTokenizerError> {
    optional_bool(file, "tokenizer.ggml.add_eos_token", false)
}

fn optional_bool(file: &GgufFile, key: &str, default: bool) -> Result<bool, GgufTokenizerError> {
    match file.get(key) {
        None => Ok(default),
        Some(_) => Ok(file.get_bool(key)?),
    }
}

/// Builds the Gemma tokenizer described by `file`'s metadata (see the module docs).
///
/// # Errors
///
/// [`GgufTokenizerError::Unsupported`] unless the file is a Gemma SentencePiece vocabulary;
/// [`GgufTokenizerError::Gguf`] if a required key (`tokenizer.ggml.tokens`, the special
/// ids) is missing or mistyped; [`GgufTokenizerError::LengthMismatch`],
/// [`GgufTokenizerError::BadTokenId`] or [`GgufTokenizerError::DuplicateToken`] for
/// inconsistent metadata.
pub fn tokenizer_from_gguf(file: &GgufFile) -> Result<Tokenizer, GgufTokenizerError> {
    let path = file.path().to_path_buf();
    let model = file.get_str(MODEL_KEY)?;
    let architecture = file.get_str("general.architecture")?;
    if model != "llama" || !GEMMA_ARCHITECTURES.contains(&architecture) {
        return Err(GgufTokenizerError::Unsupported {
            path,
            model: model.to_owned(),
            architecture: architecture.to_owned(),
        });
    }
    let tokens = file.get_str_array(TOKENS_KEY)?;
    let token_types: &[i32] = match file.get(TOKEN_TYPE_KEY) {
        None => &[],
        Some(_) => {
            let types = file.get_i32_array(TOKEN_TYPE_KEY)?;
            if types.len() != tokens.len() {
                return Err(GgufTokenizerError::LengthMismatch {
                    path,
                    key: TOKEN_TYPE_KEY,
                    got: types.len(),
                    expected: tokens.len(),
                });
            }
            types
        }
    };
    let token_of = |key: &str| -> Result<(u32, &str), GgufTokenizerError> {
        let id = file.get_uint(key)?;
        u32::try_from(id)
            .ok()
            .and_then(|i| Some((i, tokens.get(usize::try_from(i).ok()?)?.as_str())))
            .ok_or_else(|| GgufTokenizerError::BadTokenId {
                path: path.clone(),
                key: key.to_owned(),
                id,
                vocab_size: tokens.len(),
            })
    };
    let (bos_id, bos) = token_of("tokenizer.ggml.bos_token_id")?;
    let special = SpecialTokens {
        bos: bos.to_owned(),
        eos: token_of("tokenizer.ggml.eos_token_id")?.1.to_owned(),
        pad: token_of("tokenizer.ggml.padding_token_id")?.1.to_owned(),
    };
    let unk = token_of("tokenizer.ggml.unknown_token_id")?.1.to_owned();

    let build = |part: &'static str| {
        let path = path.clone();
        move |e: tokenizers::Error| GgufTokenizerError::Build {
            path,
            part,
            message: e.to_string(),
        }
    };

    let respelled: Vec<String> = tokens.iter().map(|t| respell(t)).collect();
    let vocab = vocabulary(&respelled).map_err(|(token, first, second)| {
        GgufTokenizerError::DuplicateToken {
            path: path.clone(),
            token,
            first,
            second,
        }
    })?;
    let merges = gemma_merges(&respelled, &vocab);
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
        .unk_token(unk)
        .fuse_unk(true)
        .byte_fallback(true)
        .build()
        .map_err(build("BPE model"))?;

    let mut inner = tokenizers::Tokenizer::new(bpe);
    inner
        .with_normalizer(Some(
            Replace::new(" ", METASPACE.to_string()).map_err(build("normalizer"))?,
        ))
        .map_err(build("normalizer"))?;
    inner.with_pre_tokenizer(Some(
        Split::new(" ", SplitDelimiterBehavior::MergedWithPrevious, false)
            .map_err(build("pre-tokenizer"))?,
    ));
    let decoder = DecoderSequence::new(vec![
        DecoderWrapper::Replace(
            Replace::new(METASPACE.to_string(), " ").map_err(build("decoder"))?,
        ),
        DecoderWrapper::ByteFallback(ByteFallback::new()),
        DecoderWrapper::Fuse(Fuse::new()),
    ]);
    inner.with_decoder(Some(decoder));
    if add_bos_token(file)? {
        // Only used by callers of the wrapped tokenizer with `add_special_tokens = true`;
        // `Tokenizer::encode` adds BOS itself.
        let processor = TemplateProcessing::builder()
            .try_single(format!("{} $A", special.bos))
            .and_then(|b| b.try_pair(format!("{0} $A {0} $B:1", special.bos)))
            .map_err(|e| GgufTokenizerError::Build {
                path: path.clone(),
                part: "post-processor",
                message: e,
            })?
            .special_tokens(vec![(special.bos.clone(), bos_id)])
            .build()
            .map_err(|e| GgufTokenizerError::Build {
                path: path.clone(),
                part: "post-processor",
                message: e.to_string(),
            })?;
        inner.with_post_processor(Some(processor));
    }

    // Added tokens: control tokens as special, user-defined ones as plain, none normalised.
    // As in transformers, a user-defined token is added only if its spelling in the file is
    // in the (respelled) vocabulary, which leaves out the respelled whitespace tokens.
    let control: Vec<AddedToken> = tokens
        .iter()
        .zip(token_types)
        .filter(|&(_, &ty)| ty == TOKEN_TYPE_CONTROL)
        .map(|(t, _)| AddedToken::from(t.as_str(), true).normalized(false))
        .collect();
    let user_defined: Vec<AddedToken> = tokens
        .iter()
        .zip(token_types)
        .filter(|&(t, &ty)| ty == TOKEN_TYPE_USER_DEFINED && inner.token_to_id(t).is_some())
        .map(|(t, _)| AddedToken::from(t.as_str(), false).normalized(false))
        .collect();
    inner
        .add_special_tokens(control)
        .map_err(build("control tokens"))?;
    inner
        .add_tokens(user_defined)
        .map_err(build("user-defined tokens"))?;

    Ok(Tokenizer::from_tokenizer(inner, &special)?)
}

/// Python's `str.isspace` for one char: Unicode `White_Space` plus U+001C..U+001F, which
/// Python counts as whitespace and Rust does not.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A token of only whitespace that contains a space is spelled with "▁" (one per char).
fn respell(token: &str) -> String {
    if token.contains(' ') && token.chars().all(is_python_space) {
        METASPACE.to_string().repeat(token.chars().count())
    } else {
        token.to_owned()
    }
}

/// token → id; `Err((token, first, second))` on a duplicate.
fn vocabulary(tokens: &[String]) -> Result<HashMap<String, u32>, (String, u32, u32)> {
    let mut vocab = HashMap::with_capacity(tokens.len());
    for (id, token) in tokens.iter().enumerate() {
        // GGUF arrays index tokens by u32 ids in practice; larger vocabularies cannot be
        // addressed by the tokenizers crate anyway.
        let id = id as u32;
        if let Some(first) = vocab.insert(token.clone(), id) {
            return Err((token.clone(), first, id));
        }
    }
    Ok(vocab)
}

/// The merges transformers derives for Gemma (`generate_merges` with the negated id as the
/// score): every split of every token into two vocabulary tokens, ordered by the token's
/// id, then by the left part's length, longest first.
pub(crate) fn gemma_merges(
    tokens: &[String],
    vocab: &HashMap<String, u32>,
) -> Vec<(String, String)> {
    let mut merges = Vec::new();
    for token in tokens {
        // Split points at char boundaries, from the end: longest left part first.
        let cuts: Vec<usize> = token.char_indices().skip(1).map(|(i, _)| i).collect();
        for &cut in cuts.iter().rev() {
            let (left, right) = token.split_at(cut);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                merges.push((left.to_owned(), right.to_owned()));
            }
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian GGUF writer for metadata-only files.
    #[derive(Default)]
    struct Gguf {
        kvs: Vec<u8>,
        n: u64,
    }

    impl Gguf {
        fn key(&mut self, key: &str, ty: u32) {
            self.n += 1;
            self.kvs.extend((key.len() as u64).to_le_bytes());
            self.kvs.extend(key.as_bytes());
            self.kvs.extend(ty.to_le_bytes());
        }
        fn str(mut self, key: &str, v: &str) -> Self {
            self.key(key, 8);
            self.kvs.extend((v.len() as u64).to_le_bytes());
            self.kvs.extend(v.as_bytes());
            self
        }
        fn u32(mut self, key: &str, v: u32) -> Self {
            self.key(key, 4);
            self.kvs.extend(v.to_le_bytes());
            self
        }
        fn bool(mut self, key: &str, v: bool) -> Self {
            self.key(key, 7);
            self.kvs.push(u8::from(v));
            self
        }
        fn strs(mut self, key: &str, v: &[&str]) -> Self {
            self.key(key, 9);
            self.kvs.extend(8u32.to_le_bytes());
            self.kvs.extend((v.len() as u64).to_le_bytes());
            for s in v {
                self.kvs.extend((s.len() as u64).to_le_bytes());
                self.kvs.extend(s.as_bytes());
            }
            self
        }
        fn i32s(mut self, key: &str, v: &[i32]) -> Self {
            self.key(key, 9);
            self.kvs.extend(5u32.to_le_bytes());
            self.kvs.extend((v.len() as u64).to_le_bytes());
            for x in v {
                self.kvs.extend(x.to_le_bytes());
            }
            self
        }
        fn file(self) -> GgufFile {
            let mut bytes = b"GGUF".to_vec();
            bytes.extend(3u32.to_le_bytes());
            bytes.extend(0u64.to_le_bytes());
            bytes.extend(self.n.to_le_bytes());
            bytes.extend(self.kvs);
            GgufFile::from_bytes(bytes).unwrap()
        }
    }

    /// A small Gemma-like vocabulary: specials, user-defined "\n" and "  ", words, bytes.
    fn vocab() -> (Vec<String>, Vec<i32>) {
        let mut tokens: Vec<String> = [
            "<pad>",
            "<eos>",
            "<bos>",
            "<unk>",
            "<mask>",
            "<start_of_turn>",
            "\n",
            "\n\n",
            "  ",
            "▁",
            "a",
            "b",
            "ab",
            "▁a",
            "▁ab",
            "▁▁▁",
            "é",
        ]
        .map(String::from)
        .to_vec();
        let mut types = vec![3, 3, 3, 3, 3, 3, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1];
        for b in 0..=255u8 {
            tokens.push(format!("<0x{b:02X}>"));
            types.push(6);
        }
        (tokens, types)
    }

    fn gemma_file(tokens: &[String], types: &[i32]) -> Gguf {
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        Gguf::default()
            .str("general.architecture", "gemma3")
            .str(MODEL_KEY, "llama")
            .strs(TOKENS_KEY, &refs)
            .i32s(TOKEN_TYPE_KEY, types)
            .u32("tokenizer.ggml.bos_token_id", 2)
            .u32("tokenizer.ggml.eos_token_id", 1)
            .u32("tokenizer.ggml.unknown_token_id", 3)
            .u32("tokenizer.ggml.padding_token_id", 0)
            .bool("tokenizer.ggml.add_bos_token", true)
    }

    fn tokenizer() -> Tokenizer {
        let (tokens, types) = vocab();
        tokenizer_from_gguf(&gemma_file(&tokens, &types).file()).unwrap()
    }

    fn id(tok: &Tokenizer, t: &str) -> u32 {
        tok.token_to_id(t)
            .unwrap_or_else(|| panic!("{t:?} not in vocab"))
    }

    #[test]
    fn merges_follow_token_order_then_longest_left_part() {
        let tokens: Vec<String> = ["a", "b", "c", "ab", "abc", "bc", "cab"]
            .map(String::from)
            .to_vec();
        let vocab = vocabulary(&tokens).unwrap();
        let merges = gemma_merges(&tokens, &vocab);
        let pairs: Vec<(&str, &str)> = merges
            .iter()
            .map(|(l, r)| (l.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "b"),  // ab
                ("ab", "c"), // abc, longest left first
                ("a", "bc"), // abc
                ("b", "c"),  // bc
                ("c", "ab"), // cab ("ca" is not a token)
            ]
        );
    }

    #[test]
    fn whitespace_tokens_with_a_space_are_respelled() {
        assert_eq!(respell("  "), "▁▁");
        assert_eq!(respell(" \t "), "▁▁▁");
        assert_eq!(respell(" \u{1c}"), "▁▁"); // Python's isspace counts U+001C
        assert_eq!(respell("\n\n"), "\n\n"); // no space: kept
        assert_eq!(respell(" a"), " a"); // not all whitespace: kept
        assert_eq!(respell("\t"), "\t");
    }

    #[test]
    fn special_ids_and_bos() {
        let tok = tokenizer();
        assert_eq!((tok.bos_id(), tok.eos_id(), tok.pad_id()), (2, 1, 0));
        assert_eq!(tok.vocab_size(), 17 + 256);
        let ids = tok.encode("ab", true, true).unwrap();
        assert_eq!(ids, [2, id(&tok, "ab"), 1]);
    }

    #[test]
    fn spaces_become_metaspace_and_merge() {
        let tok = tokenizer();
        // "ab ab" → "ab▁ab" → ab, ▁ab.
        assert_eq!(
            tok.encode("ab ab", false, false).unwrap(),
            [id(&tok, "ab"), id(&tok, "▁ab")]
        );
        // Two spaces → "▁▁" (the respelled user-defined "  ", id 8), then "a".
        assert_eq!(tok.encode("  a", false, false).unwrap(), [8, id(&tok, "a")]);
        assert_eq!(
            tok.decode(&tok.encode("  a b", false, false).unwrap(), false)
                .unwrap(),
            "  a b"
        );
    }

    #[test]
    fn unknown_chars_fall_back_to_bytes_and_round_trip() {
        let tok = tokenizer();
        // "ü" is not in the vocabulary: its UTF-8 bytes C3 BC.
        let ids = tok.encode("aü", false, false).unwrap();
        assert_eq!(ids, [id(&tok, "a"), id(&tok, "<0xC3>"), id(&tok, "<0xBC>")]);
        assert_eq!(tok.decode(&ids, false).unwrap(), "aü");
        assert_eq!(tok.encode("é", false, false).unwrap(), [id(&tok, "é")]);
    }

    #[test]
    fn control_and_user_defined_tokens_are_matched_whole() {
        let tok = tokenizer();
        let ids = tok.encode("<start_of_turn>a\n\nb", false, false).unwrap();
        assert_eq!(ids, [5, id(&tok, "a"), 7, id(&tok, "b")]);
        // Control tokens are special (skipped when asked), user-defined ones are not.
        assert_eq!(tok.decode(&ids, true).unwrap(), "a\n\nb");
        assert_eq!(tok.decode(&ids, false).unwrap(), "<start_of_turn>a\n\nb");
    }

    #[test]
    fn add_bos_and_eos_flags() {
        let (tokens, types) = vocab();
        let file = gemma_file(&tokens, &types).file();
        assert!(add_bos_token(&file).unwrap());
        assert!(!add_eos_token(&file).unwrap());
        let file = gemma_file(&tokens, &types)
            .str("tokenizer.ggml.add_eos_token", "yes")
            .file();
        let err = add_eos_token(&file).unwrap_err().to_string();
        assert!(err.contains("expected bool, got string"), "{err}");
    }

    #[test]
    fn other_tokenizer_models_are_refused() {
        let (tokens, types) = vocab();
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let file = Gguf::default()
            .str("general.architecture", "llama")
            .str(MODEL_KEY, "gpt2")
            .strs(TOKENS_KEY, &refs)
            .i32s(TOKEN_TYPE_KEY, &types)
            .file();
        let err = tokenizer_from_gguf(&file).unwrap_err();
        assert!(
            matches!(err, GgufTokenizerError::Unsupported { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("\"gpt2\""), "{err}");
    }

    #[test]
    fn inconsistent_metadata_is_refused() {
        let (tokens, types) = vocab();
        let err = tokenizer_from_gguf(&gemma_file(&tokens, &types[1..]).file()).unwrap_err();
        assert!(
            matches!(
                err,
                GgufTokenizerError::LengthMismatch {
                    got: 272,
                    expected: 273,
                    ..
                }
            ),
            "{err}"
        );

        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let file = Gguf::default()
            .str("general.architecture", "gemma3")
            .str(MODEL_KEY, "llama")
            .strs(TOKENS_KEY, &refs)
            .u32("tokenizer.ggml.bos_token_id", 9999)
            .u32("tokenizer.ggml.eos_token_id", 1)
            .u32("tokenizer.ggml.unknown_token_id", 3)
            .u32("tokenizer.ggml.padding_token_id", 0)
            .file();
        let err = tokenizer_from_gguf(&file).unwrap_err().to_string();
        assert!(
            err.contains("bos_token_id` = 9999 is not a token id (the vocabulary has 273)"),
            "{err}"
        );

        let mut dup = tokens.clone();
        dup[15] = "▁▁".into(); // collides with the respelled "  " at id 8
        let err = tokenizer_from_gguf(&gemma_file(&dup, &types).file())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("token \"▁▁\" appears at ids 8 and 15"),
            "{err}"
        );

        let file = Gguf::default()
            .str("general.architecture", "gemma3")
            .str(MODEL_KEY, "llama")
            .file();
        let err = tokenizer_from_gguf(&file).unwrap_err().to_string();
        assert!(
            err.contains("tokenizer.ggml.tokens") && err.contains("missing"),
            "{err}"
        );
    }
}
