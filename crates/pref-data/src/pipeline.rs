//! The pipeline every pairwise method runs before training: read a preference file →
//! split by prompt → render with the chat template and tokenise → cut into `[2B, T]`
//! batches. [`PairDataConfig`] is the `[data]` table of the reward-model and DPO run
//! configurations; [`load_pair_data`] runs the pipeline.

use std::path::{Path, PathBuf};

use lm::tokenizer::Tokenizer;
use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::batch::{
    BatchConfig, BatchError, PaddingSide, PairBatches, TokenizedPrompt, split_by_prompt_text,
};
use crate::error::DataError;
use crate::formats::{Mode, ReadOptions, read_hh, read_pairs, read_soft_pairs};
use crate::record::{PreferencePair, PromptExample};
use crate::split::{SplitFractions, Splits};
use crate::template::{ChatTemplate, TemplateError};
use crate::tokenize::{
    TokenizeConfig, TokenizeError, TokenizeReport, tokenize_pairs, tokenize_prompts,
};

/// The file format of a preference file (see [`formats`](crate::formats)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairFormat {
    /// TRL's pairwise format: `prompt` (optional), `chosen`, `rejected`, `margin`.
    Pairwise,
    /// Soft pairs: `prompt`, `a`, `b`, `p_a`.
    SoftPairwise,
    /// Anthropic HH-RLHF: full `chosen` and `rejected` dialogues.
    Hh,
}

/// The `[data]` table of a pairwise run: which file, how it is split and truncated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairDataConfig {
    /// The JSONL file (plain or gzip). Required; relative paths are relative to the
    /// current directory.
    pub path: PathBuf,
    /// `pairwise` (TRL's format), `soft_pairwise` or `hh`. Default `pairwise`.
    pub format: PairFormat,
    /// Fail on the first invalid record instead of skipping and counting it. Default
    /// false.
    pub strict: bool,
    /// Share of prompts held out for evaluation (no prompt in both splits), in `[0, 1)`.
    /// Default 0.1 (not a TRL knob: TRL takes a separate evaluation dataset).
    pub valid_fraction: f64,
    /// Use at most this many records of the file (after skipping invalid ones); 0: all.
    /// Default 0.
    pub max_records: usize,
    /// Longest prompt in tokens (BOS included); longer prompts keep their end. Default 512
    /// (TRL's `max_prompt_length`).
    pub max_prompt_len: usize,
    /// Longest completion in tokens (EOS included); longer ones keep their start. Default
    /// 512 (TRL sets `max_length` 1024 for prompt + completion).
    pub max_completion_len: usize,
}

impl Default for PairDataConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            format: PairFormat::Pairwise,
            strict: false,
            valid_fraction: 0.1,
            max_records: 0,
            max_prompt_len: 512,
            max_completion_len: 512,
        }
    }
}

impl PairDataConfig {
    /// The file `path` in `format`, every other setting at its default.
    pub fn new(path: impl Into<PathBuf>, format: PairFormat) -> Self {
        Self {
            path: path.into(),
            format,
            ..Self::default()
        }
    }

    /// Checks the settings, and that `path` is a file (cheap checks, before any loading).
    /// The error's field is relative to the `[data]` table (prefix it with
    /// [`ConfigError::within`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_path(&self.path)?;
        check_fraction(self.valid_fraction)?;
        if self.max_prompt_len < 2 {
            return Err(invalid(
                "max_prompt_len",
                "at least 2 (BOS and one token)",
                self.max_prompt_len,
            ));
        }
        if self.max_completion_len == 0 {
            return Err(invalid("max_completion_len", "at least 1", 0));
        }
        Ok(())
    }
}

fn invalid(field: &str, expected: &str, got: impl std::fmt::Display) -> ConfigError {
    ConfigError::new(field, expected, got)
}

/// `path` names an existing file.
pub fn check_path(path: &Path) -> Result<(), ConfigError> {
    if path.as_os_str().is_empty() {
        return Err(invalid("path", "the data file", "nothing (it is required)"));
    }
    if !path.is_file() {
        return Err(invalid(
            "path",
            "an existing file",
            format!("{} (not found)", path.display()),
        ));
    }
    Ok(())
}

/// `f` is a held-out share in `[0, 1)`.
pub fn check_fraction(f: f64) -> Result<(), ConfigError> {
    if !(0.0..1.0).contains(&f) {
        return Err(invalid("valid_fraction", "a number in [0, 1)", f));
    }
    Ok(())
}

/// Why the pipeline failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading the file failed.
    #[error(transparent)]
    Read(#[from] DataError),
    /// Tokenisation failed (a template error, a tokenizer error).
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// Batching failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// Nothing is left to train on.
    #[error("{}: {what}", path.display())]
    Empty {
        /// The data file.
        path: PathBuf,
        /// What is empty, and why.
        what: String,
    },
}

/// The batches of a run and what reading and tokenising did.
#[derive(Clone, Debug)]
pub struct PairData {
    /// Training batches.
    pub train: PairBatches,
    /// Held-out batches (`None` when `valid_fraction` is 0 or no prompt fell there).
    pub valid: Option<PairBatches>,
    /// What the reader skipped, as text.
    pub read_report: String,
    /// What tokenisation cut or dropped, training split.
    pub train_report: TokenizeReport,
    /// The same, held-out split.
    pub valid_report: TokenizeReport,
}

/// What a pairwise run (a reward model, DPO) reports about its folder, its data and its
/// steps. The runs' reports flatten it (`#[serde(flatten)]`), so in `report.json` these are
/// top-level keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairRunSummary {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The trained model's folder (`<out>/model`).
    pub model_dir: PathBuf,
    /// Training pairs.
    pub train_pairs: usize,
    /// Held-out pairs (0 without a held-out split).
    pub valid_pairs: usize,
    /// What the reader skipped.
    pub read_report: String,
    /// What tokenisation cut or dropped (training split).
    pub tokenize_report: String,
    /// Optimizer steps in total.
    pub steps: usize,
    /// The step the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
}

/// Reads the pairs of `cfg.path` (keeping at most `max_records`).
pub fn read_pair_file(cfg: &PairDataConfig) -> Result<(Vec<PreferencePair>, String), DataError> {
    let mode = if cfg.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let opts = ReadOptions::default().mode(mode);
    let (mut pairs, report) = match cfg.format {
        PairFormat::Pairwise => {
            let (p, r) = read_pairs(&cfg.path, &opts)?;
            (p, r.to_string())
        }
        PairFormat::SoftPairwise => {
            let (p, r) = read_soft_pairs(&cfg.path, &opts)?;
            (p, r.to_string())
        }
        PairFormat::Hh => {
            let (p, r) = read_hh(&cfg.path, &opts)?;
            (p.into_iter().map(Into::into).collect(), r.to_string())
        }
    };
    if cfg.max_records > 0 {
        pairs.truncate(cfg.max_records);
    }
    Ok((pairs, report))
}

/// Reads the pairs of `cfg.path` and splits them by prompt with `seed` into training and
/// held-out pairs (`cfg.valid_fraction`; the split [`load_pair_data`] makes), with the
/// reader's report as text.
pub fn split_pair_file(
    cfg: &PairDataConfig,
    seed: u64,
) -> Result<(Splits<PreferencePair>, String), DataError> {
    let (pairs, report) = read_pair_file(cfg)?;
    let fractions = SplitFractions {
        valid: cfg.valid_fraction,
        test: 0.0,
    };
    Ok((
        split_by_prompt_text(pairs, |p| &p.prompt, fractions, seed),
        report,
    ))
}

/// Runs the pipeline: reads `cfg.path`, splits by prompt with `seed` (the same split as
/// [`split_by_prompt`](crate::split_by_prompt) on the prompt text), renders and tokenises
/// with `template` and `tokenizer` (BOS prepended if `add_bos`), and cuts length-grouped
/// batches of `batch_size` pairs, right-padded.
pub fn load_pair_data(
    cfg: &PairDataConfig,
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    add_bos: bool,
    batch_size: usize,
    seed: u64,
) -> Result<PairData, PipelineError> {
    let (splits, read_report) = split_pair_file(cfg, seed)?;
    if splits.train.is_empty() && splits.valid.is_empty() {
        return Err(PipelineError::Empty {
            path: cfg.path.clone(),
            what: format!("no valid record ({read_report})"),
        });
    }
    let tok = TokenizeConfig {
        max_prompt_len: cfg.max_prompt_len,
        max_completion_len: cfg.max_completion_len,
        add_bos,
        add_eos: true,
    };
    let (train_tok, train_report) = tokenize_pairs(&splits.train, tokenizer, template, &tok)?;
    let (valid_tok, valid_report) = tokenize_pairs(&splits.valid, tokenizer, template, &tok)?;
    if train_tok.is_empty() {
        return Err(PipelineError::Empty {
            path: cfg.path.clone(),
            what: format!(
                "no training pair left after the split and tokenisation ({train_report})"
            ),
        });
    }
    let batch = BatchConfig {
        batch_size,
        padding_side: PaddingSide::Right,
        seed,
        group_by_length: true,
    };
    let pad = tokenizer.pad_id();
    let train = PairBatches::new(train_tok, pad, &batch)?;
    let valid = if valid_tok.is_empty() {
        None
    } else {
        Some(PairBatches::new(valid_tok, pad, &batch)?)
    };
    Ok(PairData {
        train,
        valid,
        read_report,
        train_report,
        valid_report,
    })
}

/// The chat template of a model folder: the Jinja template of its `tokenizer_config.json`
/// (or of `chat_template.jinja` beside it) when it has one, else [`ChatTemplate::Plain`].
/// `None` (a GGUF file, a folder without the file) gives [`ChatTemplate::Plain`].
pub fn model_chat_template(tokenizer_config: Option<&Path>) -> Result<ChatTemplate, TemplateError> {
    let Some(path) = tokenizer_config else {
        return Ok(ChatTemplate::Plain);
    };
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let has_key = serde_json::from_str::<serde_json::Value>(&text)
        .map(|v| v.get("chat_template").is_some())
        .unwrap_or(true); // malformed: let the loader name the problem
    if has_key || path.with_file_name("chat_template.jinja").is_file() {
        ChatTemplate::from_tokenizer_config(path)
    } else {
        Ok(ChatTemplate::Plain)
    }
}

/// The prompts of the held-out split [`load_pair_data`] makes with the same `cfg` and
/// `seed` (at most `n`, in file order), tokenised for generation (BOS prepended if
/// `add_bos`): what a policy is sampled on to estimate its KL to the reference or its reward
/// on prompts it never trained on.
pub fn held_out_prompts(
    cfg: &PairDataConfig,
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    add_bos: bool,
    seed: u64,
    n: usize,
) -> Result<Vec<TokenizedPrompt>, PipelineError> {
    let prompts: Vec<PromptExample> = split_pair_file(cfg, seed)?
        .0
        .valid
        .into_iter()
        .take(n)
        .map(|p| PromptExample {
            prompt: p.prompt,
            reference: None,
        })
        .collect();
    let tok = TokenizeConfig {
        max_prompt_len: cfg.max_prompt_len,
        max_completion_len: cfg.max_completion_len,
        add_bos,
        add_eos: true,
    };
    Ok(tokenize_prompts(&prompts, tokenizer, template, &tok)?.0)
}
