//! [`RolloutConfig`]: how the policy samples completions during online training.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use super::RolloutError;

/// Where the "old" log-probs of the PPO ratio `π_θ / π_old` come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OldLogprobs {
    /// One scoring pass of the policy over the finished sequences, with the same forward code
    /// as training, so the first update starts at ratio 1 exactly (TRL and verl recompute
    /// them too). The sampler's own log-probs are kept to report the gap.
    #[default]
    Scoring,
    /// The log-probs returned by generation (KV-cached decoding): saves one forward pass;
    /// the ratio then also carries the numeric gap between decoding and a full forward.
    Sampler,
}

/// How completions are sampled and scored in each iteration.
///
/// Defaults follow TRL's GRPO/RLOO where they apply (temperature 1, no top-k/top-p), with
/// short completions suited to the CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// Prompts drawn per iteration (default 8).
    pub prompts_per_iteration: usize,
    /// Completions per prompt: 1 for PPO and REINFORCE++, `G ≥ 2` for group methods (TRL's
    /// `num_generations`; default 1).
    pub samples_per_prompt: usize,
    /// Most tokens per completion (TRL's `max_completion_length`; default 64).
    pub max_new_tokens: usize,
    /// Sampling temperature `τ > 0`: the policy trained is `softmax(logits / τ)` in the old,
    /// new and reference log-probs alike (default 1.0, TRL GRPO's; TRL PPO used 0.7).
    pub temperature: f32,
    /// Sample only among the `k` likeliest tokens (default none).
    pub top_k: Option<usize>,
    /// Nucleus sampling mass (default 1.0: off).
    pub top_p: f32,
    /// Tokens that end a completion; empty means the tokenizer's EOS (default empty).
    pub stop_token_ids: Vec<u32>,
    /// Subtracted from the score of completions that never emit a stop token (TRL's
    /// `missing_eos_penalty`; default none).
    pub missing_eos_penalty: Option<f32>,
    /// Exclude completions cut at `max_new_tokens` from the loss (DAPO, Yu et al. 2025, §3.3;
    /// TRL's `mask_truncated_completions`; default false).
    pub mask_truncated_completions: bool,
    /// Rows per generation call, to bound memory (default 64).
    pub generation_batch_size: usize,
    /// Rows per scoring forward pass (old/reference log-probs, values; default 16).
    pub score_batch_size: usize,
    /// Where the old log-probs come from (default: a scoring pass).
    pub old_logprobs: OldLogprobs,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        Self {
            prompts_per_iteration: 8,
            samples_per_prompt: 1,
            max_new_tokens: 64,
            temperature: 1.0,
            top_k: None,
            top_p: 1.0,
            stop_token_ids: Vec::new(),
            missing_eos_penalty: None,
            mask_truncated_completions: false,
            generation_batch_size: 64,
            score_batch_size: 16,
            old_logprobs: OldLogprobs::Scoring,
        }
    }
}

impl RolloutConfig {
    /// Samples per iteration: `prompts_per_iteration × samples_per_prompt`.
    pub fn rows(&self) -> usize {
        self.prompts_per_iteration * self.samples_per_prompt
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), RolloutError> {
        let bad = |field: &str, expected: &str, got: String| {
            Err(RolloutError::Config(ConfigError::new(field, expected, got)))
        };
        for (field, v) in [
            ("prompts_per_iteration", self.prompts_per_iteration),
            ("samples_per_prompt", self.samples_per_prompt),
            ("max_new_tokens", self.max_new_tokens),
            ("generation_batch_size", self.generation_batch_size),
            ("score_batch_size", self.score_batch_size),
        ] {
            if v == 0 {
                return bad(field, "at least 1", "0".into());
            }
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad(
                "temperature",
                "a finite number > 0 (online methods sample)",
                self.temperature.to_string(),
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", "a number in (0, 1]", self.top_p.to_string());
        }
        if self.top_k == Some(0) {
            return bad("top_k", "at least 1 when set", "0".into());
        }
        if let Some(p) = self.missing_eos_penalty
            && !p.is_finite()
        {
            return bad("missing_eos_penalty", "a finite number", p.to_string());
        }
        Ok(())
    }
}
