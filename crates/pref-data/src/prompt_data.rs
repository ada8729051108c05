//! The prompts of an online run (PPO, GRPO, RLOO, RFT): [`PromptDataConfig`] is the
//! `[prompts]` table of its configuration and [`load_prompt_data`] reads the file, keeps
//! each prompt once (pair files repeat them) and splits train from held-out by prompt.
//! Tokenising for generation is the rollout's business (`policy_opt::rollout`).

use rlhf_core::ConfigError;
use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DataError;
use crate::formats::{Mode, ReadOptions, read_prompts, read_rft};
use crate::pipeline::{
    PairDataConfig, PairFormat, PipelineError, check_fraction, check_path, read_pair_file,
};
use crate::record::{PromptExample, RftExample, Text};
use crate::split::{SplitFractions, split_by_prompt};
use crate::template::prompt_key;

/// The file format a run's prompts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFormat {
    /// TRL's prompt-only format: `prompt` (text or conversation) and an optional reference
    /// answer (`reference`, `answer`, `solution` or `ground_truth`), which graders read as
    /// `{{ item.reference_answer }}`.
    #[default]
    Prompt,
    /// OpenAI's reinforcement fine-tuning rows: `messages` plus any fields, every field the
    /// graders' `item`.
    Rft,
    /// The prompts of a TRL pairwise preference file.
    Pairwise,
    /// The prompts of a soft-pair file (`prompt`, `a`, `b`, `p_a`).
    SoftPairwise,
    /// The prompts of Anthropic HH-RLHF dialogues (everything before the last assistant turn).
    Hh,
}

/// The `[prompts]` table of an online run: which file, how it is split and truncated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromptDataConfig {
    /// The JSONL file (plain or gzip). Required; relative paths are relative to the current
    /// directory.
    pub path: PathBuf,
    /// `prompt` (TRL's prompt-only format), `rft`, `pairwise`, `soft_pairwise` or `hh`.
    /// Default `prompt`.
    pub format: PromptFormat,
    /// Fail on the first invalid record instead of skipping and counting it. Default false.
    pub strict: bool,
    /// Share of prompts held out for evaluation, in `[0, 1)`. Default 0.1 (TRL takes a
    /// separate evaluation dataset instead).
    pub valid_fraction: f64,
    /// Use at most this many records of the file (after skipping invalid ones); 0: all.
    /// Default 0.
    pub max_records: usize,
    /// Longest prompt in tokens (BOS included); longer prompts keep their end. Default 512
    /// (TRL's `max_prompt_length`).
    pub max_prompt_len: usize,
}

impl Default for PromptDataConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            format: PromptFormat::Prompt,
            strict: false,
            valid_fraction: 0.1,
            max_records: 0,
            max_prompt_len: 512,
        }
    }
}

impl PromptDataConfig {
    /// Checks the settings, and that `path` is a file (cheap checks, before any loading).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_path(&self.path)?;
        check_fraction(self.valid_fraction)?;
        if self.max_prompt_len < 2 {
            return Err(ConfigError::new(
                "max_prompt_len",
                "at least 2 (BOS and one token)",
                self.max_prompt_len,
            ));
        }
        Ok(())
    }
}

/// A prompt and the fields a reward or grader reads with it (its `item`).
#[derive(Clone, Debug, PartialEq)]
pub struct PromptRecord {
    /// The prompt, plain text or a conversation ending with a user turn.
    pub prompt: Text,
    /// The record's other fields: every field of an RFT row; `reference_answer` for a
    /// prompt-only record with a reference; empty otherwise.
    pub item: Map<String, Value>,
}

impl From<RftExample> for PromptRecord {
    fn from(e: RftExample) -> Self {
        Self {
            prompt: e.prompt,
            item: e.item,
        }
    }
}

impl From<PromptExample> for PromptRecord {
    fn from(e: PromptExample) -> Self {
        let mut item = Map::new();
        if let Some(r) = e.reference {
            item.insert("reference_answer".into(), Value::String(r));
        }
        Self {
            prompt: e.prompt,
            item,
        }
    }
}

/// The prompts of a run, split.
#[derive(Clone, Debug)]
pub struct PromptData {
    /// Prompts to train on.
    pub train: Vec<PromptRecord>,
    /// Held-out prompts (no prompt text in both splits).
    pub valid: Vec<PromptRecord>,
    /// What the reader skipped, as text.
    pub read_report: String,
    /// Records dropped because their prompt repeated an earlier one (pair files hold
    /// several pairs per prompt; prompt and RFT files are kept as they are).
    pub repeated: usize,
}

/// Reads the prompts of `cfg.path` in `cfg.format` (at most `max_records` records), each
/// prompt of a pair file once. Returns the records, the reader's report and how many
/// repeated prompts were dropped.
pub fn read_prompt_file(
    cfg: &PromptDataConfig,
) -> Result<(Vec<PromptRecord>, String, usize), DataError> {
    let mode = if cfg.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let opts = ReadOptions::default().mode(mode);
    let pair_format = |format| PairDataConfig {
        path: cfg.path.clone(),
        format,
        strict: cfg.strict,
        max_records: cfg.max_records,
        ..PairDataConfig::default()
    };
    let (mut records, report, dedupe): (Vec<PromptRecord>, String, bool) = match cfg.format {
        PromptFormat::Prompt => {
            let (p, r) = read_prompts(&cfg.path, &opts)?;
            (
                p.into_iter().map(Into::into).collect(),
                r.to_string(),
                false,
            )
        }
        PromptFormat::Rft => {
            let (p, r) = read_rft(&cfg.path, &opts)?;
            (
                p.into_iter().map(Into::into).collect(),
                r.to_string(),
                false,
            )
        }
        PromptFormat::Pairwise | PromptFormat::SoftPairwise | PromptFormat::Hh => {
            let format = match cfg.format {
                PromptFormat::Pairwise => PairFormat::Pairwise,
                PromptFormat::SoftPairwise => PairFormat::SoftPairwise,
                _ => PairFormat::Hh,
            };
            let (pairs, report) = read_pair_file(&pair_format(format))?;
            let records = pairs
                .into_iter()
                .map(|p| PromptRecord {
                    prompt: p.prompt,
                    item: Map::new(),
                })
                .collect();
            (records, report, true)
        }
    };
    if cfg.max_records > 0 {
        records.truncate(cfg.max_records);
    }
    let mut repeated = 0;
    if dedupe {
        let mut seen = HashSet::new();
        records.retain(|r| {
            let fresh = seen.insert(prompt_key(&r.prompt).into_owned());
            repeated += usize::from(!fresh);
            fresh
        });
    }
    Ok((records, report, repeated))
}

/// Reads the prompts ([`read_prompt_file`]) and splits them by prompt text with `seed`
/// (the same split function as the pairwise pipeline). Fails when no prompt is left to
/// train on.
pub fn load_prompt_data(cfg: &PromptDataConfig, seed: u64) -> Result<PromptData, PipelineError> {
    let (records, read_report, repeated) = read_prompt_file(cfg)?;
    if records.is_empty() {
        return Err(PipelineError::Empty {
            path: cfg.path.clone(),
            what: format!("no valid record ({read_report})"),
        });
    }
    let keyed: Vec<(String, PromptRecord)> = records
        .into_iter()
        .map(|r| (prompt_key(&r.prompt).into_owned(), r))
        .collect();
    let fractions = SplitFractions {
        valid: cfg.valid_fraction,
        test: 0.0,
    };
    let splits = split_by_prompt(keyed, |(k, _)| k.as_str(), fractions, seed);
    let strip = |v: Vec<(String, PromptRecord)>| v.into_iter().map(|(_, r)| r).collect();
    let data = PromptData {
        train: strip(splits.train),
        valid: strip(splits.valid),
        read_report,
        repeated,
    };
    if data.train.is_empty() {
        return Err(PipelineError::Empty {
            path: cfg.path.clone(),
            what: "no training prompt left after the split".into(),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(lines: &[&str]) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(".jsonl")
            .tempfile()
            .unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    #[test]
    fn prompt_only_records_carry_their_reference_as_the_item() {
        let f = file(&[
            r#"{"prompt": "2+2?", "reference": "4"}"#,
            r#"{"prompt": "Hi"}"#,
            r#"{"nothing": 1}"#,
        ]);
        let cfg = PromptDataConfig {
            path: f.path().into(),
            ..PromptDataConfig::default()
        };
        let (records, report, repeated) = read_prompt_file(&cfg).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(repeated, 0);
        assert_eq!(records[0].item["reference_answer"], "4");
        assert!(records[1].item.is_empty());
        assert!(
            report.contains('1'),
            "the skipped record is reported: {report}"
        );
    }

    #[test]
    fn pair_files_give_each_prompt_once_and_the_split_is_disjoint() {
        let mut lines = Vec::new();
        for i in 0..40 {
            for _ in 0..3 {
                lines.push(format!(
                    r#"{{"prompt": "question {i}", "chosen": "yes", "rejected": "no"}}"#
                ));
            }
        }
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let f = file(&refs);
        let cfg = PromptDataConfig {
            path: f.path().into(),
            format: PromptFormat::Pairwise,
            valid_fraction: 0.25,
            ..PromptDataConfig::default()
        };
        let data = load_prompt_data(&cfg, 3).unwrap();
        assert_eq!(data.repeated, 80);
        assert_eq!(data.train.len() + data.valid.len(), 40);
        assert!(!data.valid.is_empty());
        let train: HashSet<_> = data.train.iter().map(|r| prompt_key(&r.prompt)).collect();
        assert!(
            data.valid
                .iter()
                .all(|r| !train.contains(&prompt_key(&r.prompt)))
        );
    }

    #[test]
    fn an_empty_file_and_a_bad_setting_are_named() {
        let f = file(&[r#"{"nothing": 1}"#]);
        let cfg = PromptDataConfig {
            path: f.path().into(),
            ..PromptDataConfig::default()
        };
        let err = load_prompt_data(&cfg, 0).unwrap_err().to_string();
        assert!(err.contains("no valid record"), "{err}");
        let bad = PromptDataConfig {
            max_prompt_len: 1,
            ..cfg.clone()
        };
        assert_eq!(bad.validate().unwrap_err().field, "max_prompt_len");
        let missing = PromptDataConfig::default();
        assert_eq!(missing.validate().unwrap_err().field, "path");
    }
}
