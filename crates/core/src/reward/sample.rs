//! What a [`Reward`](super::Reward) reads ([`RewardInput`]: [`Sample`]s and optionally their
//! [`SampleTensors`]) and returns ([`Scores`]).

use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::RewardError;

/// One completion sampled for a prompt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The prompt as the policy saw it (after any chat template).
    pub prompt: String,
    /// The completion's text (decoded without special tokens).
    pub completion: String,
    /// The prompt's token ids.
    pub prompt_ids: Vec<u32>,
    /// The completion's token ids, its stop token included when it emitted one.
    pub completion_ids: Vec<u32>,
    /// The fields of the dataset row the prompt came from (e.g. `reference_answer`), for
    /// graders; empty when the prompt has none.
    #[serde(default)]
    pub item: Map<String, Value>,
    /// Which prompt of the batch this is a sample of: samples of the same prompt (group
    /// methods draw several) share it.
    pub group: usize,
    /// Whether the completion ended with a stop token (`false`: cut at the length limit).
    pub finished: bool,
}

impl Sample {
    /// A sample known only by its texts (no token ids, no item, group 0, finished), for
    /// text-only rewards and tests.
    pub fn from_text(prompt: impl Into<String>, completion: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            completion: completion.into(),
            finished: true,
            ..Self::default()
        }
    }

    /// The same sample with the dataset row's fields `item`.
    pub fn with_item(mut self, item: Map<String, Value>) -> Self {
        self.item = item;
        self
    }
}

/// The padded token tensors of a batch of `N` samples, on the device the policy ran on.
#[derive(Clone, Debug)]
pub struct SampleTensors {
    /// Prompt and completion ids, `[N, T]`.
    pub ids: Tensor<2, Int>,
    /// 1 on real tokens, 0 on padding, `[N, T]`.
    pub attention_mask: Tensor<2, Int>,
    /// 1 on completion tokens (stop token included), `[N, T]`.
    pub completion_mask: Tensor<2, Int>,
}

/// A batch to score.
#[derive(Clone, Copy, Debug)]
pub struct RewardInput<'a> {
    /// The samples.
    pub samples: &'a [Sample],
    /// Their tensors, when the caller has them (online trainers always do).
    pub tensors: Option<&'a SampleTensors>,
}

impl<'a> RewardInput<'a> {
    /// Samples without tensors.
    pub fn new(samples: &'a [Sample]) -> Self {
        Self {
            samples,
            tensors: None,
        }
    }

    /// Samples with their tensors.
    pub fn with_tensors(samples: &'a [Sample], tensors: &'a SampleTensors) -> Self {
        Self {
            samples,
            tensors: Some(tensors),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The tensors, or [`RewardError::Missing`] naming `reward`.
    pub fn require_tensors(&self, reward: &str) -> Result<&'a SampleTensors, RewardError> {
        self.tensors.ok_or_else(|| RewardError::Missing {
            reward: reward.to_string(),
            what: "the samples' token tensors",
        })
    }
}

/// What a reward returns for a batch of `N` samples.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// One score per sample.
    pub sequence: Vec<f32>,
    /// Optional per-token rewards `[N, T]`, aligned with the input's
    /// [`SampleTensors::ids`] (a reward placed on the token it concerns, 0 elsewhere), added
    /// to PPO's per-token rewards (fine-grained RLHF, Wu et al. 2023).
    pub dense: Option<Tensor<2>>,
    /// Batch statistics to log, e.g. `("reward/helpful", 0.31)`.
    pub metrics: Vec<(String, f64)>,
    /// Optional explanation per sample (a grader's reason, a judge's answer), empty or `N` long.
    pub reasons: Vec<String>,
}

impl Scores {
    /// Sequence scores only.
    pub fn new(sequence: Vec<f32>) -> Self {
        Self {
            sequence,
            ..Self::default()
        }
    }

    /// Checks the scores of the reward named `reward` against `input`: one finite score per
    /// sample; dense rewards, if any, `[N, T]` like the input's tensors and finite; reasons
    /// empty or one per sample.
    pub fn validate(&self, reward: &str, input: &RewardInput<'_>) -> Result<(), RewardError> {
        let n = input.len();
        if self.sequence.len() != n {
            return Err(RewardError::Count {
                reward: reward.into(),
                expected: n,
                got: self.sequence.len(),
            });
        }
        if let Some((index, &value)) = self
            .sequence
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(RewardError::NonFinite {
                reward: reward.into(),
                index,
                value,
            });
        }
        if !self.reasons.is_empty() && self.reasons.len() != n {
            return Err(RewardError::Count {
                reward: format!("{reward} (reasons)"),
                expected: n,
                got: self.reasons.len(),
            });
        }
        if let Some(dense) = &self.dense {
            let tensors = input.require_tensors(reward)?;
            let expected = tensors.ids.dims();
            if dense.dims() != expected {
                return Err(RewardError::DenseShape {
                    reward: reward.into(),
                    expected,
                    got: dense.dims(),
                });
            }
            let values = dense.clone().into_data();
            let t = expected[1].max(1);
            if let Some((i, value)) = values
                .iter::<f32>()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(RewardError::NonFinite {
                    reward: format!("{reward} (dense, position {})", i % t),
                    index: i / t,
                    value,
                });
            }
        }
        Ok(())
    }

    /// Mean of the sequence scores (0 for none).
    pub fn mean(&self) -> f64 {
        if self.sequence.is_empty() {
            return 0.0;
        }
        self.sequence.iter().map(|&v| v as f64).sum::<f64>() / self.sequence.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn validate_names_the_fault() {
        let samples = vec![Sample::from_text("p", "a"), Sample::from_text("p", "b")];
        let input = RewardInput::new(&samples);
        assert!(Scores::new(vec![1.0, 2.0]).validate("r", &input).is_ok());
        let e = Scores::new(vec![1.0]).validate("r", &input).unwrap_err();
        assert_eq!(e.to_string(), "reward `r`: returned 1 scores for 2 samples");
        let e = Scores::new(vec![1.0, f32::NAN])
            .validate("r", &input)
            .unwrap_err();
        assert!(e.to_string().contains("sample 1 is NaN"), "{e}");
        let dense = Scores {
            dense: Some(Tensor::zeros([2, 3], &Device::flex())),
            ..Scores::new(vec![0.0, 0.0])
        };
        let e = dense.validate("r", &input).unwrap_err();
        assert!(e.to_string().contains("token tensors"), "{e}");
    }

    #[test]
    fn dense_rewards_are_checked_against_the_tensors() {
        let d = Device::flex();
        let samples = vec![Sample::from_text("p", "a"), Sample::from_text("p", "b")];
        let tensors = SampleTensors {
            ids: Tensor::zeros([2, 3], &d),
            attention_mask: Tensor::ones([2, 3], &d),
            completion_mask: Tensor::ones([2, 3], &d),
        };
        let input = RewardInput::with_tensors(&samples, &tensors);
        let ok = Scores {
            dense: Some(Tensor::zeros([2, 3], &d)),
            ..Scores::new(vec![0.0, 0.0])
        };
        assert!(ok.validate("r", &input).is_ok());
        let bad = Scores {
            dense: Some(Tensor::zeros([2, 4], &d)),
            ..Scores::new(vec![0.0, 0.0])
        };
        assert!(matches!(
            bad.validate("r", &input),
            Err(RewardError::DenseShape { .. })
        ));
        let nan = Scores {
            dense: Some(Tensor::<2>::from_floats(
                [[0.0, 0.0, 0.0], [0.0, f32::NAN, 0.0]],
                &d,
            )),
            ..Scores::new(vec![0.0, 0.0])
        };
        let e = nan.validate("r", &input).unwrap_err().to_string();
        assert!(e.contains("position 1") && e.contains("sample 1"), "{e}");
    }
}
