//! Records → token ids: chat template, separate prompt and completion tokenisation,
//! truncation, and a report of what was cut or dropped.
//!
//! Every record type goes through the same steps:
//!
//! 1. **Render** prompt and completion(s) to strings with a [`ChatTemplate`]
//!    ([`ChatTemplate::render_pair`]; plain strings pass through unchanged).
//! 2. **Tokenise** prompt and each completion separately (so the completion mask is exact),
//!    without special tokens except those the rendered text spells out.
//! 3. **Prompt**: `BOS + prompt tokens`. BOS is prepended when [`TokenizeConfig::add_bos`]
//!    is set and the rendered prompt does not already start with it (a template such as
//!    Llama 3's writes `<|begin_of_text|>` itself). A prompt longer than
//!    [`TokenizeConfig::max_prompt_len`] (BOS included) keeps its **end** (TRL's
//!    `prompt_input_ids[-max_prompt_length:]`); unlike TRL, a leading BOS is kept and the
//!    tokens after it are cut.
//! 4. **Completion**: `completion tokens + EOS` ([`TokenizeConfig::add_eos`]), then, if
//!    longer than [`TokenizeConfig::max_completion_len`], its **start** is kept
//!    (TRL's `chosen_input_ids[:max_completion_length]`, applied after appending EOS as TRL
//!    does). So a truncated completion loses its EOS: it did not end there, and the model
//!    is not taught to stop there. The completion mask covers EOS whenever it survives.
//! 5. **Drop**, never silently: a record whose prompt has no token (empty text and no BOS),
//!    or one of whose completions has no token (empty text and no EOS), is dropped and
//!    counted by reason in the [`TokenizeReport`].
//!
//! Truncation counts are over kept records.

mod pairs;
mod prompts;
mod ranked;
mod report;
mod stream;
mod unpaired;

use lm::tokenizer::{Tokenizer, TokenizerError};
use rlhf_core::ConfigError;
use rlhf_core::config::check_non_zero;
use serde::{Deserialize, Serialize};

use crate::template::TemplateError;

pub use pairs::tokenize_pairs;
pub use prompts::tokenize_prompts;
pub use ranked::{ranked_to_pairs, tokenize_ranked};
pub use report::TokenizeReport;
pub use stream::{PairChunkError, PairChunks};
pub use unpaired::tokenize_unpaired;

#[cfg(doc)]
use crate::template::ChatTemplate;

/// Length limits and special tokens of tokenisation (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizeConfig {
    /// Longest prompt in tokens, BOS included; longer prompts keep their end.
    pub max_prompt_len: usize,
    /// Longest completion in tokens, EOS included; longer completions keep their start.
    pub max_completion_len: usize,
    /// Prepend BOS to prompts (unless the rendered prompt already starts with it).
    pub add_bos: bool,
    /// Append EOS to completions.
    pub add_eos: bool,
}

impl Default for TokenizeConfig {
    /// TRL's DPO default prompt length (512), and 512 completion tokens.
    fn default() -> Self {
        Self {
            max_prompt_len: 512,
            max_completion_len: 512,
            add_bos: true,
            add_eos: true,
        }
    }
}

impl TokenizeConfig {
    /// Checks the limits: `max_prompt_len ≥ 1` (≥ 2 with BOS, so a prompt keeps a token
    /// besides BOS) and `max_completion_len ≥ 1`.
    pub fn validate(&self) -> Result<(), TokenizeError> {
        let min_prompt = 1 + usize::from(self.add_bos);
        if self.max_prompt_len < min_prompt {
            return Err(ConfigError::new(
                "max_prompt_len",
                format_args!("at least {min_prompt} (add_bos = {})", self.add_bos),
                self.max_prompt_len,
            )
            .into());
        }
        check_non_zero("max_completion_len", self.max_completion_len)?;
        Ok(())
    }
}

/// Errors of tokenisation; each names the record (0-based index in the input, counting
/// across chunks when streaming) and its field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizeError {
    /// A [`TokenizeConfig`] limit is out of range.
    #[error("tokenize config: {0}")]
    Config(#[from] ConfigError),
    /// The chat template failed on a record.
    #[error("record #{record}, field `{field}`: {source}")]
    Template {
        /// Index of the record.
        record: usize,
        /// The field being rendered (`chosen`, `completions[2]`, ...).
        field: String,
        /// The template's error.
        source: Box<TemplateError>,
    },
    /// The tokenizer failed on a record.
    #[error("record #{record}, field `{field}`: {source}")]
    Tokenizer {
        /// Index of the record.
        record: usize,
        /// The field being tokenised.
        field: String,
        /// The tokenizer's error.
        source: Box<TokenizerError>,
    },
    /// A record is inconsistent (e.g. a ranking whose scores do not match its completions).
    #[error("record #{record}, field `{field}`: expected {expected}, got {got}")]
    InvalidRecord {
        /// Index of the record.
        record: usize,
        /// The field.
        field: String,
        /// What is required.
        expected: String,
        /// What was found.
        got: String,
    },
}

/// Prompt and completion encoding with the truncation policy of the [module docs](self).
pub(crate) struct Encoder<'a> {
    tokenizer: &'a Tokenizer,
    cfg: &'a TokenizeConfig,
}

impl<'a> Encoder<'a> {
    pub(crate) fn new(
        tokenizer: &'a Tokenizer,
        cfg: &'a TokenizeConfig,
    ) -> Result<Self, TokenizeError> {
        cfg.validate()?;
        Ok(Self { tokenizer, cfg })
    }

    fn encode(&self, text: &str, record: usize, field: &str) -> Result<Vec<u32>, TokenizeError> {
        self.tokenizer
            .encode(text, false, false)
            .map_err(|source| TokenizeError::Tokenizer {
                record,
                field: field.to_string(),
                source: Box::new(source),
            })
    }

    /// `BOS + prompt`, keeping the end; returns the ids and whether they were cut.
    pub(crate) fn prompt(
        &self,
        text: &str,
        record: usize,
        field: &str,
    ) -> Result<(Vec<u32>, bool), TokenizeError> {
        let mut ids = self.encode(text, record, field)?;
        let bos = self.tokenizer.bos_id();
        let has_bos = ids.first() == Some(&bos);
        let lead = usize::from(has_bos || self.cfg.add_bos);
        let body_start = usize::from(has_bos);
        let budget = self.cfg.max_prompt_len.saturating_sub(lead);
        let body_len = ids.len() - body_start;
        let truncated = body_len > budget;
        if truncated {
            ids.drain(body_start..body_start + (body_len - budget));
        }
        if lead == 1 && !has_bos {
            ids.insert(0, bos);
        }
        Ok((ids, truncated))
    }

    /// `completion + EOS`, keeping the start; returns the ids and whether they were cut.
    pub(crate) fn completion(
        &self,
        text: &str,
        record: usize,
        field: &str,
    ) -> Result<(Vec<u32>, bool), TokenizeError> {
        let mut ids = self.encode(text, record, field)?;
        if self.cfg.add_eos {
            ids.push(self.tokenizer.eos_id());
        }
        let truncated = ids.len() > self.cfg.max_completion_len;
        ids.truncate(self.cfg.max_completion_len);
        Ok((ids, truncated))
    }
}

/// Wraps a template error with its record and field.
pub(crate) fn template_err(
    record: usize,
    field: &str,
) -> impl FnOnce(TemplateError) -> TokenizeError {
    let field = field.to_string();
    move |source| TokenizeError::Template {
        record,
        field,
        source: Box::new(source),
    }
}
