//! The prompts online methods sample from, and which of them each iteration uses.

use lm::tokenizer::Tokenizer;
use pref_data::{
    ChatTemplate, PromptExample, PromptRecord, RftExample, TokenizeConfig, TokenizeReport,
    tokenize_prompts,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rlhf_core::ConfigError;
use serde_json::{Map, Value};

use super::RolloutError;

/// A prompt ready for generation.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutPrompt {
    /// The prompt as the policy sees it (after the chat template).
    pub text: String,
    /// Its token ids (BOS included when the tokenizer adds one).
    pub ids: Vec<u32>,
    /// The dataset row's fields, passed to rewards and graders with every sample (e.g.
    /// `reference_answer`); empty when the row has none.
    pub item: Map<String, Value>,
}

/// Tokenises prompt records for rollouts with `pref-data`'s tokenisation (chat template,
/// BOS, keep-end truncation to `cfg.max_prompt_len`); a record's reference answer becomes the
/// item field `reference_answer`. Returns the prompts and the tokenisation report (dropped
/// empty prompts are counted there, not lost silently).
pub fn rollout_prompts(
    examples: &[PromptExample],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<RolloutPrompt>, TokenizeReport), RolloutError> {
    let records: Vec<PromptRecord> = examples.iter().cloned().map(Into::into).collect();
    record_prompts(&records, tokenizer, template, cfg)
}

/// Tokenises reinforcement-fine-tuning rows ([`RftExample`]: chat messages plus the row's
/// fields) for rollouts, as [`record_prompts`] does; every prompt carries its row's fields as
/// the item graders read (`{{ item.reference_answer }}` …).
pub fn rft_prompts(
    rows: &[RftExample],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<RolloutPrompt>, TokenizeReport), RolloutError> {
    let records: Vec<PromptRecord> = rows.iter().cloned().map(Into::into).collect();
    record_prompts(&records, tokenizer, template, cfg)
}

/// Tokenises prompt records ([`PromptRecord`], e.g. from [`pref_data::load_prompt_data`])
/// for rollouts with `pref-data`'s tokenisation (chat template, BOS when `cfg.add_bos`,
/// keep-end truncation to `cfg.max_prompt_len`); each prompt carries its record's item.
/// Records dropped by tokenisation (empty prompts) are counted in the report.
pub fn record_prompts(
    records: &[PromptRecord],
    tokenizer: &Tokenizer,
    template: &ChatTemplate,
    cfg: &TokenizeConfig,
) -> Result<(Vec<RolloutPrompt>, TokenizeReport), RolloutError> {
    let examples: Vec<PromptExample> = records
        .iter()
        .map(|r| PromptExample {
            prompt: r.prompt.clone(),
            reference: None,
        })
        .collect();
    let (tokenized, report) = tokenize_prompts(&examples, tokenizer, template, cfg)
        .map_err(|e| RolloutError::Prompts(e.to_string()))?;
    let mut out = Vec::with_capacity(tokenized.len());
    for t in tokenized {
        let text = template
            .render_prompt(&records[t.group].prompt)
            .map_err(|e| RolloutError::Prompts(format!("record {}: {e}", t.group)))?;
        out.push(RolloutPrompt {
            text,
            ids: t.prompt,
            item: records[t.group].item.clone(),
        });
    }
    Ok((out, report))
}

/// Which prompts each iteration draws: the prompt indices are visited in a seeded
/// permutation per epoch, and iteration `k` takes positions `k·n .. (k+1)·n` of that endless
/// stream. The order is a pure function of `(seed, k)`, so a resumed run draws exactly the
/// prompts the uninterrupted run would have.
#[derive(Clone, Debug)]
pub struct PromptOrder {
    prompts: usize,
    per_iteration: usize,
    seed: u64,
}

impl PromptOrder {
    /// An order over `prompts` prompts, `per_iteration` per iteration.
    pub fn new(prompts: usize, per_iteration: usize, seed: u64) -> Result<Self, RolloutError> {
        if prompts == 0 {
            return Err(ConfigError::new("prompts", "at least one prompt", "none").into());
        }
        if per_iteration == 0 {
            return Err(ConfigError::new("prompts_per_iteration", "at least 1", 0).into());
        }
        Ok(Self {
            prompts,
            per_iteration,
            seed,
        })
    }

    /// The prompt indices of iteration `iteration` (0-based).
    pub fn indices(&self, iteration: usize) -> Vec<usize> {
        let start = iteration * self.per_iteration;
        let mut out = Vec::with_capacity(self.per_iteration);
        let mut cached: Option<(usize, Vec<usize>)> = None;
        for k in start..start + self.per_iteration {
            let (epoch, pos) = (k / self.prompts, k % self.prompts);
            if cached.as_ref().is_none_or(|(e, _)| *e != epoch) {
                let mut perm: Vec<usize> = (0..self.prompts).collect();
                let mut rng = StdRng::seed_from_u64(
                    self.seed
                        ^ 0x5052_4F4D_5054
                        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                perm.shuffle(&mut rng);
                cached = Some((epoch, perm));
            }
            out.push(cached.as_ref().expect("filled above").1[pos]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prompt_once_per_epoch_and_resumable() {
        let order = PromptOrder::new(10, 4, 7).unwrap();
        let first: Vec<usize> = (0..5).flat_map(|k| order.indices(k)).collect();
        let mut epoch0 = first[..10].to_vec();
        epoch0.sort();
        assert_eq!(epoch0, (0..10).collect::<Vec<_>>());
        let again = PromptOrder::new(10, 4, 7).unwrap();
        assert_eq!(again.indices(3), first[12..16].to_vec());
        assert_ne!(first[..10], first[10..20]);
        assert!(PromptOrder::new(0, 4, 7).is_err());
    }
}
