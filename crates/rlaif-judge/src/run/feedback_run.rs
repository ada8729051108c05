//! [`run_feedback`]: AI feedback from a [`FeedbackRunConfig`] — pairs of responses labelled
//! by the multiple-choice judge, written as soft pairs, checked against human labels.

use std::path::PathBuf;

use burn::tensor::Device;
use pref_data::{PairDataConfig, PromptDataConfig};
use serde::{Deserialize, Serialize};

use super::{JudgeModelSource, JudgeRunError, prompt_slice, write_json};
use crate::backend::GenerateOptions;
use crate::constitution::Constitution;
use crate::feedback::{
    FeedbackReport, HumanAgreement, ResponsePair, human_agreement, label_pairs,
    sample_response_pairs, text_content, write_soft_pairs,
};
use crate::judge::{JudgeConfig, MultipleChoiceJudge};

/// Where the pairs to label come from (`kind = "sample" | "file"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PairSource {
    /// Two responses per prompt sampled from a policy (RLAIF on the policy's own outputs,
    /// as Constitutional AI's RL stage).
    Sample {
        /// The policy: a model folder, a `.gguf` file, or a server.
        policy: JudgeModelSource,
        /// The prompt file; its training split is used (the held-out split is left out).
        prompts: PromptDataConfig,
        /// Skip this many training prompts first (to keep sets of prompts disjoint between
        /// stages). Default 0.
        first_prompt: usize,
        /// Prompts to sample. Default 256.
        max_prompts: usize,
        /// Skip prompts longer than this many characters; 0: none. Default 0.
        max_prompt_chars: usize,
        /// Sampling (use a temperature above 0 so that the two responses differ).
        generation: GenerateOptions,
    },
    /// The pairs of a preference file, relabelled by the judge (RLAIF on human-collected
    /// pairs, Lee et al. 2023).
    File {
        /// The file (`path`, `format`, `max_records`, ...).
        data: PairDataConfig,
    },
}

impl Default for PairSource {
    fn default() -> Self {
        Self::File {
            data: PairDataConfig::default(),
        }
    }
}

/// An AI-feedback run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackRunConfig {
    /// Run folder: `ai_pairs.jsonl` (soft pairs: `prompt`, `a`, `b`, `p_a`) and
    /// `report.json`. Default `runs/feedback`.
    pub out: PathBuf,
    /// The judge's model. Required.
    pub judge: JudgeModelSource,
    /// A constitution file (TOML or JSON); unset: Constitutional AI's harmlessness
    /// principles. Default unset.
    pub constitution: Option<PathBuf>,
    /// The judge's settings (principle selection, both orders, ...).
    pub judge_config: JudgeConfig,
    /// The pairs to label.
    pub source: PairSource,
    /// Human-labelled pairs the judge is checked against (agreement rate); unset: none.
    pub human_pairs: Option<PairDataConfig>,
    /// Pairs per judge call. Default 16.
    pub batch_size: usize,
    /// Seed of the split and of the human-pair check. Default 0.
    pub seed: u64,
}

impl Default for FeedbackRunConfig {
    fn default() -> Self {
        Self {
            out: PathBuf::from("runs/feedback"),
            judge: JudgeModelSource::default(),
            constitution: None,
            judge_config: JudgeConfig::default(),
            source: PairSource::default(),
            human_pairs: None,
            batch_size: 16,
            seed: 0,
        }
    }
}

impl FeedbackRunConfig {
    /// Checks every setting and that the paths exist, without loading anything.
    pub fn validate(&self) -> Result<(), JudgeRunError> {
        self.judge.validate("judge")?;
        if let Some(c) = &self.constitution
            && !c.is_file()
        {
            return Err(JudgeRunError::config(
                "constitution",
                "a TOML or JSON file",
                c.display(),
            ));
        }
        let data = |field: &str, e: rlhf_core::ConfigError| JudgeRunError::Config(e.within(field));
        match &self.source {
            PairSource::Sample {
                policy,
                prompts,
                max_prompts,
                ..
            } => {
                policy.validate("source.policy")?;
                prompts.validate().map_err(|e| data("source.prompts", e))?;
                if *max_prompts == 0 {
                    return Err(JudgeRunError::config("source.max_prompts", "at least 1", 0));
                }
            }
            PairSource::File { data: d } => d.validate().map_err(|e| data("source.data", e))?,
        }
        if let Some(h) = &self.human_pairs {
            h.validate().map_err(|e| data("human_pairs", e))?;
        }
        if self.batch_size == 0 {
            return Err(JudgeRunError::config("batch_size", "at least 1", 0));
        }
        Ok(())
    }
}

/// What [`run_feedback`] did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct FeedbackRunReport {
    /// The soft pairs written (`<out>/ai_pairs.jsonl`).
    pub pairs_file: PathBuf,
    /// The judge's name.
    pub judge: String,
    /// Pairs labelled.
    pub pairs: usize,
    /// Sampled prompts dropped because both responses were the same.
    pub identical: usize,
    /// Sampled prompts dropped because a response was blank.
    pub blank: usize,
    /// Prompts skipped for length.
    pub long_prompts: usize,
    /// Label statistics (histogram of `p(a)`, order agreement, ...).
    pub labels: FeedbackReport,
    /// Agreement with the human labels, when `human_pairs` is set.
    pub human_agreement: Option<HumanAgreement>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Labels pairs with the multiple-choice judge as `config` says on `device`: builds the
/// judge (model, constitution, settings), takes the pairs (sampled from a policy, or read
/// from a file), labels each with `p(a)` (both orders averaged by default), writes them as
/// soft pairs in `<out>/ai_pairs.jsonl` — the training data of a soft-label reward model
/// (`reward_model`'s `SoftLabel` loss) — and, with `human_pairs`, measures how often the
/// judge agrees with human labels.
pub fn run_feedback(
    config: &FeedbackRunConfig,
    device: &Device,
) -> Result<FeedbackRunReport, JudgeRunError> {
    config.validate()?;
    let t0 = std::time::Instant::now();
    let constitution = match &config.constitution {
        Some(path) => Constitution::load(path)?,
        None => Constitution::harmlessness(),
    };
    let model = config.judge.build(device)?;
    let judge = MultipleChoiceJudge::new(model, constitution, config.judge_config.clone())?;
    let (mut identical, mut blank, mut long_prompts) = (0, 0, 0);
    let pairs: Vec<ResponsePair> = match &config.source {
        PairSource::Sample {
            policy,
            prompts,
            first_prompt,
            max_prompts,
            max_prompt_chars,
            generation,
        } => {
            let (texts, long) = prompt_slice(
                prompts,
                config.seed,
                *first_prompt,
                *max_prompts,
                *max_prompt_chars,
            )?;
            long_prompts = long;
            let policy = policy.build(device)?;
            let s = sample_response_pairs(policy.as_ref(), &texts, generation, config.batch_size)?;
            (identical, blank) = (s.identical, s.blank);
            s.pairs
        }
        PairSource::File { data } => pref_data::read_pair_file(data)?
            .0
            .into_iter()
            .map(|p| ResponsePair {
                prompt: p.prompt,
                a: text_content(&p.chosen),
                b: text_content(&p.rejected),
            })
            .collect(),
    };
    let feedback = label_pairs(&judge, &pairs, config.batch_size)?;
    std::fs::create_dir_all(&config.out).map_err(|e| JudgeRunError::write(&config.out, e))?;
    let pairs_file = config.out.join("ai_pairs.jsonl");
    write_soft_pairs(&pairs_file, &feedback)?;
    let human = match &config.human_pairs {
        Some(h) => {
            let human = pref_data::read_pair_file(h)?.0;
            Some(human_agreement(
                &judge,
                &human,
                config.seed,
                config.batch_size,
            )?)
        }
        None => None,
    };
    let report = FeedbackRunReport {
        pairs_file,
        judge: crate::judge::PairwiseJudge::name(&judge).to_string(),
        pairs: feedback.pairs.len(),
        identical,
        blank,
        long_prompts,
        labels: feedback.report,
        human_agreement: human,
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_json(&report, &config.out.join("report.json"))?;
    Ok(report)
}
