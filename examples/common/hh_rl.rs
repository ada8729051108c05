//! Prompts and reports shared by the online-RL examples (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset

use std::collections::HashSet;

use lm::tokenizer::Tokenizer;
use policy_opt::online::PolicyEval;
use policy_opt::rollout::{RolloutPrompt, rollout_prompts};
use pref_data::{ChatTemplate, HhPair, PromptExample, Text, TokenizeConfig};

/// The first `n` distinct prompts of `pairs`, tokenised for rollouts (BOS, the last
/// `max_prompt_len` tokens kept).
pub fn hh_prompts(
    pairs: &[HhPair],
    n: usize,
    tokenizer: &Tokenizer,
    max_prompt_len: usize,
) -> Result<Vec<RolloutPrompt>, Box<dyn std::error::Error>> {
    let mut seen = HashSet::new();
    let examples: Vec<PromptExample> = pairs
        .iter()
        .filter(|p| seen.insert(p.prompt.clone()))
        .take(n)
        .map(|p| PromptExample {
            prompt: Text::Plain(p.prompt.clone()),
            reference: None,
        })
        .collect();
    let cfg = TokenizeConfig {
        max_prompt_len,
        ..TokenizeConfig::default()
    };
    Ok(rollout_prompts(&examples, tokenizer, &ChatTemplate::Plain, &cfg)?.0)
}

/// The figures of an evaluation, without its samples.
pub fn summary(e: &PolicyEval) -> serde_json::Value {
    serde_json::json!({
        "reward_mean": e.reward_mean, "reward_std": e.reward_std, "kl": e.kl, "kl_k3": e.kl_k3,
        "completion_len": e.completion_len, "eos_rate": e.eos_rate,
    })
}

/// The last `n` characters of `s` on one line.
pub fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(n)..]
        .iter()
        .collect::<String>()
        .replace('\n', " ")
}
