//! One-call entry points of the RLAIF stages, each from a serde configuration (TOML for the
//! `rlhf` command line):
//!
//! - [`run_feedback`]: AI feedback — pairs of responses (sampled from a policy, or read from a
//!   preference file) labelled by the multiple-choice judge under a constitution, written as
//!   soft pairs (RLAIF, Lee et al. 2023; Constitutional AI's RL stage, Bai et al. 2022);
//! - [`run_sl_cai`]: critique → revision (Constitutional AI's SL stage), written as SFT data;
//! - [`compare_policies`]: a judge's ratings of two policies' responses and the win rate of
//!   one over the other;
//! - [`JudgeModelSource`]: the model a judge or critic runs on, local or over HTTP.

mod compare;
mod error;
mod feedback_run;
mod model_source;
mod sl_cai_run;

pub use compare::{PolicyComparison, compare_policies};
pub use error::JudgeRunError;
pub use feedback_run::{FeedbackRunConfig, FeedbackRunReport, PairSource, run_feedback};
pub use model_source::{HttpSource, JudgeModelSource};
pub use sl_cai_run::{SlCaiReport, SlCaiRunConfig, run_sl_cai};

use std::path::Path;

use pref_data::{PromptDataConfig, PromptRecord, Text};

/// Training prompts `first .. first + max` of `cfg` (seeded split, held-out prompts left
/// out) no longer than `max_chars` characters (0: any length); also returns how many were
/// skipped for length.
pub(crate) fn prompt_slice(
    cfg: &PromptDataConfig,
    seed: u64,
    first: usize,
    max: usize,
    max_chars: usize,
) -> Result<(Vec<Text>, usize), JudgeRunError> {
    let data = pref_data::load_prompt_data(cfg, seed)?;
    let mut long = 0;
    let mut fits = |r: &PromptRecord| {
        let ok =
            max_chars == 0 || crate::feedback::text_content(&r.prompt).chars().count() <= max_chars;
        long += usize::from(!ok);
        ok
    };
    let kept: Vec<Text> = data
        .train
        .iter()
        .filter(|r| fits(r))
        .map(|r| r.prompt.clone())
        .collect();
    let end = (first + max).min(kept.len());
    Ok((kept[first.min(end)..end].to_vec(), long))
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub(crate) fn write_json<T: serde::Serialize>(value: &T, path: &Path) -> Result<(), JudgeRunError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| JudgeRunError::write(path, e))?;
    rlhf_core::write_atomic(path, &bytes).map_err(|e| JudgeRunError::write(path, e))
}
