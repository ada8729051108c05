//! Reward models as sources of reward for online RL ([`rlhf_core::Reward`]): a single model
//! ([`ModelReward`]) and a weighted ensemble with segment-level dense rewards
//! ([`RewardEnsemble`], fine-grained RLHF).

use burn::tensor::{Int, Tensor, TensorData};
use lm::tokenizer::Tokenizer;
use rlhf_core::{Reward, RewardError, RewardInput, Scores};

use crate::dense::{Granularity, RewardEnsemble, segment_end_mask, segment_rewards};
use crate::model::RewardModel;

/// A reward model scoring each sample (prompt + completion) at its last token.
///
/// By default it reads the token tensors the policy produced (the reward model shares the
/// policy's tokenizer, as in the InstructGPT recipe where both start from the SFT model). With
/// [`with_tokenizer`](Self::with_tokenizer) it re-encodes `prompt + completion` text with its
/// own tokenizer instead. Rows are scored `batch_size` at a time (no graph: pass a `valid()`
/// model).
pub struct ModelReward<R> {
    name: String,
    model: R,
    tokenizer: Option<Tokenizer>,
    batch_size: usize,
}

impl<R: RewardModel> ModelReward<R> {
    /// `model` named `name` (e.g. `"rm"`), 16 rows per forward pass.
    pub fn new(name: impl Into<String>, model: R) -> Self {
        Self {
            name: name.into(),
            model,
            tokenizer: None,
            batch_size: 16,
        }
    }

    /// Re-encode `prompt + completion` with `tokenizer` (BOS added) instead of reading the
    /// policy's token ids: for a reward model with a vocabulary of its own.
    pub fn with_tokenizer(mut self, tokenizer: Tokenizer) -> Self {
        self.tokenizer = Some(tokenizer);
        self
    }

    /// Rows per forward pass (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The model.
    pub fn model(&self) -> &R {
        &self.model
    }

    fn scores_of(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
    ) -> Result<Vec<f32>, RewardError> {
        let [n, _] = ids.dims();
        let mut out = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let len = self.batch_size.min(n - start);
            let s = self.model.score(
                ids.clone().narrow(0, start, len),
                mask.clone().narrow(0, start, len),
            );
            let v = s
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|e| RewardError::failed(&self.name, format!("reading scores: {e:?}")))?;
            out.extend(v);
            start += len;
        }
        Ok(out)
    }
}

impl<R: RewardModel> Reward for ModelReward<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        let scores = match &self.tokenizer {
            None => {
                let t = input.require_tensors(&self.name)?;
                self.scores_of(t.ids.clone(), t.attention_mask.clone())?
            }
            Some(tok) => {
                let device = match input.tensors {
                    Some(t) => t.ids.device(),
                    None => burn::tensor::Device::default(),
                };
                let mut rows = Vec::with_capacity(input.len());
                for s in input.samples {
                    let text = format!("{}{}", s.prompt, s.completion);
                    rows.push(
                        tok.encode(&text, true, false)
                            .map_err(|e| RewardError::failed(&self.name, e))?,
                    );
                }
                let (ids, mask) = right_padded(&rows, tok.pad_id(), &device);
                self.scores_of(ids, mask)?
            }
        };
        let out = Scores::new(scores);
        out.validate(&self.name, input)?;
        Ok(out)
    }
}

fn right_padded(
    rows: &[Vec<u32>],
    pad: u32,
    device: &burn::tensor::Device,
) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let w = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut ids = vec![pad as i64; rows.len() * w];
    let mut mask = vec![0i64; rows.len() * w];
    for (r, row) in rows.iter().enumerate() {
        for (j, &t) in row.iter().enumerate() {
            ids[r * w + j] = t as i64;
            mask[r * w + j] = 1;
        }
    }
    let shape = [rows.len(), w];
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}

/// The ensemble as an online reward (Wu et al. 2023, fine-grained RLHF):
///
/// - members with [`Granularity::Sequence`] give the sequence score
///   `Σ_k w_k R_k(x, y)`;
/// - members with [`Granularity::Segments`] give dense rewards `Σ_k w_k R_k(x, y_{≤t})` on the
///   tokens that end each segment of the completion ([`Scores::dense`]), which PPO and
///   REINFORCE++ add to their per-token rewards (sequence-level methods credit their sum to
///   the sequence).
///
/// Each member's mean score over the batch is logged as `reward/<name>`.
impl Reward for RewardEnsemble<'_> {
    fn name(&self) -> &str {
        "ensemble"
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        let t = input.require_tensors("ensemble")?;
        let (ids, mask) = (t.ids.clone(), t.attention_mask.clone());
        let completion = t.completion_mask.clone() * mask.clone();
        let n = input.len();
        let device = ids.device();
        let mut sequence = Tensor::<1>::zeros([n], &device);
        let mut dense: Option<Tensor<2>> = None;
        let mut metrics = Vec::new();
        for c in self.components() {
            let whole = c.model.score(ids.clone(), mask.clone());
            metrics.push((
                format!("reward/{}", c.name),
                whole.clone().mean().into_scalar::<f32>() as f64,
            ));
            match &c.granularity {
                Granularity::Sequence => sequence = sequence + whole.mul_scalar(c.weight),
                Granularity::Segments { boundary_ids } => {
                    let ends = segment_end_mask(ids.clone(), completion.clone(), boundary_ids);
                    let r = segment_rewards(c.model, ids.clone(), mask.clone(), ends)
                        .mul_scalar(c.weight);
                    dense = Some(match dense {
                        Some(d) => d + r,
                        None => r,
                    });
                }
            }
        }
        let sequence = sequence
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| RewardError::failed("ensemble", format!("reading scores: {e:?}")))?;
        let out = Scores {
            sequence,
            dense,
            metrics,
            reasons: Vec::new(),
        };
        out.validate("ensemble", input)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScalarRewardModel;
    use burn::tensor::Device;
    use lm::{Transformer, TransformerConfig};
    use rlhf_core::{Sample, SampleTensors};

    #[test]
    fn model_reward_scores_the_last_token_and_re_encodes_text() {
        let d = Device::flex();
        let corpus = (0..50).map(|i| format!("hello world {i}"));
        let tok = Tokenizer::train_bpe_from_iter(
            corpus,
            280,
            &lm::tokenizer::SpecialTokens::default(),
            1,
        )
        .unwrap();
        let cfg = TransformerConfig::llama(tok.vocab_size(), 16, 1, 2, 1, 32).with_max_seq_len(32);
        let rm = ScalarRewardModel::new(Transformer::new(&cfg, 1, &d).unwrap(), 2, &d);
        let texts = [("hello", " world 1"), ("hello world", " 22")];
        let rows: Vec<Vec<u32>> = texts
            .iter()
            .map(|(p, c)| tok.encode(&format!("{p}{c}"), true, false).unwrap())
            .collect();
        let (ids, mask) = right_padded(&rows, tok.pad_id(), &d);
        let want: Vec<f32> = rm
            .score(ids.clone(), mask.clone())
            .try_into_vec_as()
            .unwrap();
        let samples: Vec<Sample> = texts
            .iter()
            .map(|(p, c)| Sample::from_text(*p, *c))
            .collect();
        let tensors = SampleTensors {
            ids,
            attention_mask: mask.clone(),
            completion_mask: mask,
        };
        let mut by_ids = ModelReward::new("rm", rm.clone()).with_batch_size(1);
        let got = by_ids
            .score(&RewardInput::with_tensors(&samples, &tensors))
            .unwrap();
        assert_eq!(got.sequence, want);
        let mut by_text = ModelReward::new("rm", rm).with_tokenizer(tok);
        let got = by_text
            .score(&RewardInput::with_tensors(&samples, &tensors))
            .unwrap();
        for (a, b) in got.sequence.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let e = by_ids.score(&RewardInput::new(&samples)).unwrap_err();
        assert!(e.to_string().contains("token tensors"), "{e}");
    }
}
