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

mod error;
mod vocab;

use gguf::GgufFile;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::split::Split;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, DecoderWrapper, SplitDelimiterBehavior};

use crate::tokenizer::{SpecialTokens, Tokenizer};

pub use error::GgufTokenizerError;
use vocab::{METASPACE, gemma_merges, respell, vocabulary};

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

/// Architectures whose `"llama"` tokenizer is built the Gemma way.
const GEMMA_ARCHITECTURES: [&str; 3] = ["gemma", "gemma2", "gemma3"];

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

#[cfg(test)]
mod tests;
