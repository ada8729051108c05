//! [`write_ranked_pairs`]: on-policy preference data — two completions of the model per
//! prompt, ranked by a reward, written as a pairwise file.

use std::path::Path;

use burn::tensor::Device;
use pref_data::{PreferencePair, load_prompt_data};
use rlhf_core::Reward;

use super::run_config::OnlineRunConfig;
use crate::rollout::{RolloutPrompt, sample_ranked_pairs};
use crate::run_error::{RunError, load_model};

/// What [`write_ranked_pairs`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankedPairsReport {
    /// Pairs written.
    pub pairs: usize,
    /// Prompts skipped because both completions scored the same.
    pub ties: usize,
    /// Pairs skipped because a completion was blank (a preference file holds no empty
    /// completion).
    pub blank: usize,
}

/// Samples two completions of `config.model` for each of the first `max_prompts` training
/// prompts of `config.prompts` (the held-out split is left out, as [`run`](super::run())
/// splits it) with `config.train.rollout`'s sampling settings and seed `config.train.seed`,
/// ranks each pair by `reward` (ties and pairs with a blank completion are skipped and
/// counted) and writes the pairs to `path`
/// in TRL's pairwise format — the data of the DPO paper's controlled experiments (a policy's
/// own samples labelled by a known reward) and of reward models that learn such a reward.
pub fn write_ranked_pairs(
    config: &OnlineRunConfig,
    reward: &mut dyn Reward,
    max_prompts: usize,
    path: &Path,
    device: &Device,
) -> Result<RankedPairsReport, RunError> {
    config.validate_without_reward()?;
    let (bundle, template) = load_model(&config.model, device)?;
    let data = load_prompt_data(&config.prompts, config.train.seed)?;
    let records = &data.train[..max_prompts.min(data.train.len())];
    let tok = &bundle.tokenizer;
    let (prompts, _) =
        super::run::tokenize_prompts(records, tok, &template, bundle.add_bos, config)?;
    let refs: Vec<&RolloutPrompt> = prompts.iter().collect();
    let policy = burn::module::Module::valid(&bundle.model);
    let rollout = &config.train.rollout;
    let seed = config.train.seed;
    let (ranked, ties) = sample_ranked_pairs(&policy, &refs, rollout, tok, reward, seed, device)?;
    let total = ranked.len();
    let pairs: Vec<PreferencePair> = ranked
        .into_iter()
        .filter(|p| !p.chosen.trim().is_empty() && !p.rejected.trim().is_empty())
        .map(|p| PreferencePair::new(p.prompt, p.chosen, p.rejected))
        .collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::run_error::create_dir(dir)?;
    }
    pref_data::write_pairs(path, &pairs).map_err(|e| RunError::write(path, e))?;
    Ok(RankedPairsReport {
        pairs: pairs.len(),
        ties,
        blank: total - pairs.len(),
    })
}
