//! [`run_sl_cai`]: critique → revision (Constitutional AI's supervised stage) from a
//! [`SlCaiRunConfig`], written as SFT data.

use std::path::PathBuf;

use burn::tensor::Device;
use pref_data::PromptDataConfig;
use serde::{Deserialize, Serialize};

use super::{JudgeModelSource, JudgeRunError, prompt_slice, write_json};
use crate::constitution::Constitution;
use crate::critique::{
    CritiqueConfig, RevisionRecord, critique_and_revise, distinct_word_ratio, write_revision_log,
    write_sft_dataset,
};

/// A critique → revision run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlCaiRunConfig {
    /// Run folder: `revisions.jsonl` (every round), `sft.jsonl` (prompt → final revision,
    /// TRL's prompt-completion format) and `report.json`. Default `runs/sl-cai`.
    pub out: PathBuf,
    /// The model that answers, critiques and revises (Bai et al. use the helpful model
    /// itself). Required.
    pub model: JudgeModelSource,
    /// A constitution file (TOML or JSON); unset: the harmlessness principles. Default
    /// unset.
    pub constitution: Option<PathBuf>,
    /// The red-team prompts; their training split is used.
    pub prompts: PromptDataConfig,
    /// Skip this many training prompts first. Default 0.
    pub first_prompt: usize,
    /// Prompts to revise. Default 64.
    pub max_prompts: usize,
    /// Skip prompts longer than this many characters; 0: none. Default 0.
    pub max_prompt_chars: usize,
    /// Rounds, generation settings and few-shot text ([`CritiqueConfig`]).
    pub critique: CritiqueConfig,
    /// Revisions whose share of distinct words is below this are left out of the SFT data
    /// (a small model's degenerate loops, "a a a a"); 0 keeps all. Default 0.5.
    pub min_distinct_ratio: f64,
}

impl Default for SlCaiRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/sl-cai"),
            model: JudgeModelSource::default(),
            constitution: None,
            prompts: PromptDataConfig::default(),
            first_prompt: 0,
            max_prompts: 64,
            max_prompt_chars: 0,
            critique: CritiqueConfig::default(),
            min_distinct_ratio: 0.5,
        }
    }
}

/// What [`run_sl_cai`] did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct SlCaiReport {
    /// The SFT data (`<out>/sft.jsonl`).
    pub sft_file: PathBuf,
    /// Prompts revised.
    pub prompts: usize,
    /// Prompts skipped for length.
    pub long_prompts: usize,
    /// SFT examples written.
    pub sft_examples: usize,
    /// Revisions left out as degenerate.
    pub degenerate: usize,
    /// The first record, every round (an example for the reader).
    pub example: Option<RevisionRecord>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs critique → revision as `config` says on `device`: every prompt is answered,
/// critiqued under a principle drawn from the constitution and revised, `rounds` times;
/// every round goes to `<out>/revisions.jsonl`, and (prompt, final revision) pairs whose
/// revision is not degenerate to `<out>/sft.jsonl` for the SL-CAI fine-tune
/// (`policy_opt::sft::run` with `data.format = "prompt_completion"`).
pub fn run_sl_cai(config: &SlCaiRunConfig, device: &Device) -> Result<SlCaiReport, JudgeRunError> {
    config.model.validate("model")?;
    config
        .prompts
        .validate()
        .map_err(|e| JudgeRunError::Config(e.within("prompts")))?;
    if !(0.0..=1.0).contains(&config.min_distinct_ratio) {
        return Err(JudgeRunError::config(
            "min_distinct_ratio",
            "a number in [0, 1]",
            config.min_distinct_ratio,
        ));
    }
    let t0 = std::time::Instant::now();
    let constitution = match &config.constitution {
        Some(path) => Constitution::load(path)?,
        None => Constitution::harmlessness(),
    };
    let (prompts, long_prompts) = prompt_slice(
        &config.prompts,
        config.critique.seed,
        config.first_prompt,
        config.max_prompts,
        config.max_prompt_chars,
    )?;
    let model = config.model.build(device)?;
    let records = critique_and_revise(model.as_ref(), &constitution, &prompts, &config.critique)?;
    std::fs::create_dir_all(&config.out).map_err(|e| JudgeRunError::write(&config.out, e))?;
    write_revision_log(config.out.join("revisions.jsonl"), &records)?;
    let kept: Vec<RevisionRecord> = records
        .iter()
        .filter(|r| distinct_word_ratio(r.final_response()) >= config.min_distinct_ratio)
        .cloned()
        .collect();
    let sft_file = config.out.join("sft.jsonl");
    let sft_examples = write_sft_dataset(&sft_file, &kept)?;
    let report = SlCaiReport {
        sft_file,
        prompts: records.len(),
        long_prompts,
        sft_examples,
        degenerate: records.len() - kept.len(),
        example: records.first().cloned(),
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_json(&report, &config.out.join("report.json"))?;
    Ok(report)
}
