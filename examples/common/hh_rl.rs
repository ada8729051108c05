//! Prompts and reports shared by the online-RL examples (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset

use std::collections::HashSet;

use kl_control::{AdaptiveKlConfig, KlControllerConfig};
use lm::tokenizer::Tokenizer;
use policy_opt::online::{Algorithm, OnlineConfig, PolicyEval, PpoConfig};
use policy_opt::rollout::{RolloutConfig, RolloutPrompt, rollout_prompts};
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

/// Up to `n` distinct prompts of `pairs` (in order, skipping those in `skip`) whose
/// tokens number at most `max_tokens`: short red-team prompts for SL-CAI and AI feedback.
pub fn short_prompts(
    pairs: &[HhPair],
    n: usize,
    tokenizer: &Tokenizer,
    max_tokens: usize,
    skip: &HashSet<String>,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for p in pairs {
        if out.len() == n {
            break;
        }
        if skip.contains(&p.prompt) || !seen.insert(p.prompt.clone()) {
            continue;
        }
        if tokenizer.encode(&p.prompt, false, false)?.len() <= max_tokens {
            out.push(p.prompt.clone());
        }
    }
    Ok(out)
}

/// `texts` tokenised for rollouts (BOS, the last `max_prompt_len` tokens kept).
pub fn rollout_prompts_of(
    texts: &[String],
    tokenizer: &Tokenizer,
    max_prompt_len: usize,
) -> Result<Vec<RolloutPrompt>, Box<dyn std::error::Error>> {
    let examples: Vec<PromptExample> = texts
        .iter()
        .map(|t| PromptExample {
            prompt: Text::Plain(t.clone()),
            reference: None,
        })
        .collect();
    let cfg = TokenizeConfig {
        max_prompt_len,
        ..TokenizeConfig::default()
    };
    Ok(rollout_prompts(&examples, tokenizer, &ChatTemplate::Plain, &cfg)?.0)
}

/// The examples' PPO recipe: adaptive KL controller (Ziegler et al. 2019) from `beta`
/// toward `kl_target` nats per completion (horizon 400), 2 minibatches, 5 % warmup, a
/// checkpoint every 10 iterations.
pub fn ppo_config(
    rollout: &RolloutConfig,
    iterations: usize,
    beta: f64,
    kl_target: f64,
    lr: f64,
    seed: u64,
) -> OnlineConfig {
    let kl = AdaptiveKlConfig::new(beta, kl_target, 400);
    OnlineConfig {
        algorithm: Algorithm::Ppo(PpoConfig {
            kl: KlControllerConfig::Adaptive(kl),
            ..PpoConfig::default()
        }),
        rollout: rollout.clone(),
        iterations,
        minibatches: 2,
        lr,
        warmup_ratio: 0.05,
        save_every: 10,
        seed,
        ..OnlineConfig::default()
    }
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
