//! [`load_reward`]: a saved reward-model folder as a source of reward for online RL.

use std::path::Path;

use burn::tensor::Device;
use lm::LanguageModel;
use lm::checkpoint::load_tokenizer;
use lm::tokenizer::Tokenizer;

use crate::error::RmResult;
use crate::model::ScalarRewardModel;
use crate::normalize::{NormalizedRewardModel, RewardNormalizer};
use crate::online::ModelReward;

/// File of the reward statistics [`run`](crate::run()) saves beside the weights.
pub const NORMALIZER_FILE: &str = "normalizer.json";

/// The reward a saved reward-model folder gives: its scalar model, normalised or not.
pub type FolderReward = ModelReward<NormalizedRewardModel<ScalarRewardModel<LanguageModel>>>;

/// Loads the reward-model folder `dir` (as [`run`](crate::run()) writes it, `<out>/model`)
/// as a [`rlhf_core::Reward`] named `"rm"` on `device` (the plain device: rewards are scored
/// without a graph).
///
/// - `normalize`: subtract the mean and divide by the standard deviation of the rewards in
///   `normalizer.json` (the held-out rewards of the trained model), so scores have mean 0 and
///   std 1 on the data, as TRL's and OpenRLHF's reward normalisation intends; without it the
///   raw head output is the score.
/// - `policy_tokenizer`: when it differs from the folder's own tokenizer, the reward model
///   re-encodes `prompt + completion` text with its own; when it is the same (the InstructGPT
///   recipe, both models from one SFT model), the policy's token ids are scored directly.
pub fn load_reward(
    dir: &Path,
    normalize: bool,
    policy_tokenizer: Option<&Tokenizer>,
    device: &Device,
) -> RmResult<FolderReward> {
    let model = ScalarRewardModel::load_any(dir, device)?;
    let stats = if normalize {
        Some(RewardNormalizer::load(&dir.join(NORMALIZER_FILE))?)
    } else {
        None
    };
    let model = match &stats {
        Some(s) => NormalizedRewardModel::new(model, s)?,
        None => NormalizedRewardModel::identity(model),
    };
    let reward = ModelReward::new("rm", model);
    let Some(policy_tokenizer) = policy_tokenizer else {
        return Ok(reward);
    };
    let (own, _, _) = load_tokenizer(dir)?;
    let same = match (own.to_json_string(), policy_tokenizer.to_json_string()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    Ok(if same {
        reward
    } else {
        reward.with_tokenizer(own)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Int, Tensor, TensorData};
    use lm::checkpoint::save_tokenizer;
    use lm::tokenizer::SpecialTokens;
    use lm::{Transformer, TransformerConfig};
    use rlhf_core::{Reward, RewardInput, Sample, SampleTensors};

    fn tokenizer(texts: &[&str], vocab: usize) -> Tokenizer {
        Tokenizer::train_bpe_from_iter(texts.iter(), vocab, &SpecialTokens::default(), 1).unwrap()
    }

    #[test]
    fn a_saved_folder_scores_normalised_and_raw_and_reencodes_a_foreign_vocabulary() {
        let device = lm::select_device().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(&["hello world", "good answer", "bad answer"], 300);
        let cfg = TransformerConfig::llama(tok.vocab_size(), 32, 1, 2, 1, 64);
        let backbone = Transformer::new(&cfg, 1, &device).unwrap();
        ScalarRewardModel::new(backbone, 2, &device)
            .save(dir.path())
            .unwrap();
        save_tokenizer(&tok, true, None, dir.path()).unwrap();
        let stats = RewardNormalizer {
            count: 10,
            mean: 0.5,
            m2: 9.0 * 4.0,
        };
        stats.save(&dir.path().join(NORMALIZER_FILE)).unwrap();

        // A foreign policy vocabulary: the folder re-encodes the text with its own.
        let other = tokenizer(&["completely different words here"], 280);
        let samples = vec![Sample::from_text("hello", " good answer")];
        let mut raw = load_reward(dir.path(), false, Some(&other), &device).unwrap();
        let mut norm = load_reward(dir.path(), true, Some(&other), &device).unwrap();
        let r = raw.score(&RewardInput::new(&samples)).unwrap().sequence[0];
        let n = norm.score(&RewardInput::new(&samples)).unwrap().sequence[0];
        approx::assert_relative_eq!(n, (r - 0.5) / 2.0, epsilon = 1e-5);

        // The same vocabulary: the policy's token ids are scored as they are.
        let ids = tok.encode("hello good answer", true, false).unwrap();
        let row = |v: Vec<i64>| {
            Tensor::<2, Int>::from_data(TensorData::new(v.clone(), [1, v.len()]), &device)
        };
        let tensors = SampleTensors {
            ids: row(ids.iter().map(|&x| x as i64).collect()),
            attention_mask: row(vec![1; ids.len()]),
            completion_mask: row(vec![1; ids.len()]),
        };
        let mut same = load_reward(dir.path(), false, Some(&tok), &device).unwrap();
        assert!(
            same.score(&RewardInput::new(&samples)).is_err(),
            "ids are read"
        );
        let s = same
            .score(&RewardInput::with_tensors(&samples, &tensors))
            .unwrap()
            .sequence[0];
        approx::assert_relative_eq!(s, r, epsilon = 1e-5);

        let missing = tempfile::tempdir().unwrap();
        assert!(load_reward(missing.path(), false, None, &device).is_err());
    }
}
