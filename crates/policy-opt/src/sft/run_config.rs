//! [`SftRunConfig`]: everything one SFT run needs, as one TOML/serde document.

use std::path::PathBuf;

use lm::TransformerConfig;
use pref_data::pipeline::{check_fraction, check_path};
use serde::{Deserialize, Serialize};

use crate::run_error::check_model_path;
use crate::train::{ConfigError, TrainingConfig};

/// TRL's `SFTConfig.learning_rate`, the default peak learning rate of an SFT run.
pub const SFT_DEFAULT_LR: f64 = 2e-5;

/// The file format of SFT data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftFormat {
    /// TRL's prompt-completion format: `prompt`, `completion` (strings or conversations,
    /// rendered with the model's chat template).
    PromptCompletion,
    /// Anthropic HH-RLHF: the prompt and the chosen reply of each pair.
    Hh,
}

/// The `[data]` table of an SFT run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftRunData {
    /// The JSONL file (plain or gzip). Required; relative paths are relative to the
    /// current directory.
    pub path: PathBuf,
    /// `prompt_completion` (TRL's format) or `hh`. Default `prompt_completion`.
    pub format: SftFormat,
    /// Fail on the first invalid record instead of skipping and counting it. Default
    /// false.
    pub strict: bool,
    /// Share of prompts held out for validation perplexity, in `[0, 1)`. Default 0.1 (not a
    /// TRL knob: TRL takes a separate evaluation dataset).
    pub valid_fraction: f64,
    /// Use at most this many records (after skipping invalid ones); 0: all. Default 0.
    pub max_records: usize,
    /// Longest sequence in tokens (BOS, prompt, completion, EOS); prompts are cut from the
    /// left, completions from the right. Default 1024 (TRL's `max_length`).
    pub max_len: usize,
    /// Take the loss on completion tokens only. Default true (TRL's `completion_only_loss`
    /// for prompt-completion data).
    pub completion_only_loss: bool,
}

impl Default for SftRunData {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            format: SftFormat::PromptCompletion,
            strict: false,
            valid_fraction: 0.1,
            max_records: 0,
            max_len: 1024,
            completion_only_loss: true,
        }
    }
}

/// The `[scratch]` table: the tokenizer and Llama-style model trained from scratch when no
/// `model` is given (the architecture of the `sft` example). The model's vocabulary is the
/// trained tokenizer's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScratchModel {
    /// Byte-level BPE vocabulary size, special tokens and the 256 bytes included (≥ 259).
    /// Default 4096.
    pub vocab_size: usize,
    /// Model width. Default 256.
    pub d_model: usize,
    /// Decoder blocks. Default 4.
    pub layers: usize,
    /// Attention heads. Default 4.
    pub heads: usize,
    /// Key/value heads (grouped-query attention). Default 2.
    pub kv_heads: usize,
    /// SwiGLU hidden width. Default 768.
    pub d_ff: usize,
    /// Longest sequence the model supports (RoPE positions); at least `data.max_len`.
    /// Default 1024.
    pub max_seq_len: usize,
}

impl Default for ScratchModel {
    fn default() -> Self {
        Self {
            vocab_size: 4096,
            d_model: 256,
            layers: 4,
            heads: 4,
            kv_heads: 2,
            d_ff: 768,
            max_seq_len: 1024,
        }
    }
}

impl ScratchModel {
    /// The model's config for a tokenizer of `vocab` tokens.
    pub fn transformer_config(&self, vocab: usize) -> TransformerConfig {
        TransformerConfig::llama(
            vocab,
            self.d_model,
            self.layers,
            self.heads,
            self.kv_heads,
            self.d_ff,
        )
        .with_max_seq_len(self.max_seq_len)
    }
}

/// An SFT run (Ouyang et al. 2022, §3.5; TRL's `SFTTrainer`): maximum likelihood of the
/// completions given the prompts, from `model` or from scratch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftRunConfig {
    /// Run folder: `checkpoints/`, `metrics.jsonl`, `curves.png`, `report.json`, the trained
    /// `model/` (and `tokenizer.json` of a scratch run). Rerunning with the same folder
    /// resumes. Default `runs/sft`.
    pub out: PathBuf,
    /// The model to fine-tune: a Hugging Face folder, a `.gguf` file or a folder of this
    /// project. Unset: a tokenizer and a model are trained from scratch (`[scratch]`).
    pub model: Option<PathBuf>,
    /// The from-scratch architecture (used only when `model` is unset).
    pub scratch: ScratchModel,
    /// The data file, its split and truncation.
    pub data: SftRunData,
    /// Optimizer, schedule and loop (learning rate default 2e-5, TRL's).
    pub train: TrainingConfig,
}

impl Default for SftRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/sft"),
            model: None,
            scratch: ScratchModel::default(),
            data: SftRunData::default(),
            train: TrainingConfig::default(),
        }
    }
}

impl SftRunConfig {
    /// Checks every field, and that the paths exist, without loading anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.out.as_os_str().is_empty() {
            return Err(ConfigError::new("out", "a run folder", "nothing"));
        }
        if let Some(model) = &self.model {
            check_model_path("model", model)?;
        }
        let data_err = |e: ConfigError| e.within("data");
        check_path(&self.data.path).map_err(data_err)?;
        check_fraction(self.data.valid_fraction).map_err(data_err)?;
        if self.data.max_len < 3 {
            return Err(ConfigError::new(
                "data.max_len",
                "at least 3 (BOS, one token, EOS)",
                self.data.max_len,
            ));
        }
        self.train.validate().map_err(|e| e.within("train"))?;
        if self.model.is_none() {
            let s = &self.scratch;
            if s.vocab_size < 259 {
                return Err(ConfigError::new(
                    "scratch.vocab_size",
                    "at least 259 (256 bytes and 3 special tokens)",
                    s.vocab_size,
                ));
            }
            if s.max_seq_len < self.data.max_len {
                return Err(ConfigError::new(
                    "scratch.max_seq_len",
                    format!("at least data.max_len ({})", self.data.max_len),
                    s.max_seq_len,
                ));
            }
            s.transformer_config(s.vocab_size)
                .validate()
                .map_err(|e| match e {
                    lm::LmError::Config(e) => e.within("scratch"),
                    other => ConfigError::new("scratch", "a valid model shape", other),
                })?;
        }
        Ok(())
    }
}
