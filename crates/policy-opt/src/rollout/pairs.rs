//! Preference pairs from a policy's own samples, ranked by a reward (an oracle, a grader, a
//! reward model, an AI judge): the data of RLAIF and of controlled experiments.

use burn::tensor::Device;
use lm::CausalLm;
use lm::tokenizer::Tokenizer;
use rlhf_core::Reward;

use super::{RolloutConfig, RolloutError, RolloutPrompt, collect};

/// Two completions of one prompt, the higher-scored one chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct RankedPair {
    /// The prompt text.
    pub prompt: String,
    /// The completion with the higher score.
    pub chosen: String,
    /// The other completion.
    pub rejected: String,
    /// Their scores.
    pub scores: (f32, f32),
}

/// Samples two completions per prompt from `policy` (`config.samples_per_prompt` is set to
/// 2) and ranks each pair by `reward`. Pairs with equal scores carry no preference: they are
/// skipped and counted (the second value returned).
#[allow(clippy::too_many_arguments)]
pub fn sample_ranked_pairs(
    policy: &dyn CausalLm,
    prompts: &[&RolloutPrompt],
    config: &RolloutConfig,
    tokenizer: &Tokenizer,
    reward: &mut dyn Reward,
    seed: u64,
    device: &Device,
) -> Result<(Vec<RankedPair>, usize), RolloutError> {
    let config = RolloutConfig {
        samples_per_prompt: 2,
        ..config.clone()
    };
    let c = collect(policy, prompts, &config, tokenizer, reward, seed, device)?;
    let mut pairs = Vec::with_capacity(prompts.len());
    let mut ties = 0;
    for (s, r) in c.samples.chunks(2).zip(c.scores.sequence.chunks(2)) {
        if r[0] == r[1] {
            ties += 1;
            continue;
        }
        let (w, l) = if r[0] > r[1] { (0, 1) } else { (1, 0) };
        pairs.push(RankedPair {
            prompt: s[0].prompt.clone(),
            chosen: s[w].completion.clone(),
            rejected: s[l].completion.clone(),
            scores: (r[w], r[l]),
        });
    }
    Ok((pairs, ties))
}
