//! One rollout from sampling to scores: completions of the prompts, their texts, their
//! reward, and the scoring passes that give per-token log-probs.

use burn::tensor::{Device, Tensor};
use lm::CausalLm;
use lm::tokenizer::Tokenizer;
use rlhf_core::{Reward, RewardInput, Sample, SampleTensors, Scores};

use super::{RolloutConfig, RolloutError, RolloutPrompt, collate, sample_completions};

/// Completions with their texts, tensors and scores.
pub struct Collected {
    /// One sample per row (`samples_per_prompt` consecutive rows per prompt).
    pub samples: Vec<Sample>,
    /// Their padded tensors (`[N, T]`).
    pub tensors: SampleTensors,
    /// The sampler's log-probs on the next-token grid `[N, T − 1]`.
    pub sampler_logprobs: Tensor<2>,
    /// The reward's output, validated (one finite score per sample; dense rewards aligned
    /// with `tensors.ids`).
    pub scores: Scores,
}

impl Collected {
    /// The completion mask on the next-token grid, `[N, T − 1]`, as floats.
    pub fn completion_grid(&self) -> Tensor<2> {
        let [_, t] = self.tensors.completion_mask.dims();
        self.tensors
            .completion_mask
            .clone()
            .narrow(1, 1, t - 1)
            .float()
    }

    /// Dense rewards moved to the next-token grid (the reward on token `j` lands on column
    /// `j − 1`, where that token's log-prob is), if any.
    pub fn dense_grid(&self) -> Option<Tensor<2>> {
        self.scores.dense.as_ref().map(|d| {
            let [_, t] = d.dims();
            d.clone().narrow(1, 1, t - 1)
        })
    }

    /// Mean completion length in tokens, and the fraction that ended with a stop token.
    pub fn length_and_eos_rate(&self) -> (f64, f64) {
        let n = self.samples.len().max(1) as f64;
        let len = self
            .samples
            .iter()
            .map(|s| s.completion_ids.len())
            .sum::<usize>() as f64;
        let eos = self.samples.iter().filter(|s| s.finished).count() as f64;
        (len / n, eos / n)
    }
}

/// The stop tokens of `config` (the tokenizer's EOS when none are set).
pub fn stop_tokens(config: &RolloutConfig, tokenizer: &Tokenizer) -> Vec<u32> {
    if config.stop_token_ids.is_empty() {
        vec![tokenizer.eos_id()]
    } else {
        config.stop_token_ids.clone()
    }
}

/// Samples `config.samples_per_prompt` completions per prompt from `policy` (a `valid()`
/// copy), decodes them, and scores them with `reward`, whose output is validated (a NaN score
/// is an error naming the reward and the sample, never a silent NaN in training).
pub fn collect(
    policy: &dyn CausalLm,
    prompts: &[&RolloutPrompt],
    config: &RolloutConfig,
    tokenizer: &Tokenizer,
    reward: &mut dyn Reward,
    seed: u64,
    device: &Device,
) -> Result<Collected, RolloutError> {
    let stop = stop_tokens(config, tokenizer);
    let pad = tokenizer.pad_id();
    let sampled = sample_completions(policy, prompts, config, &stop, pad, seed, device)?;
    let row_prompts: Vec<&[u32]> = sampled
        .prompt_index
        .iter()
        .map(|&p| prompts[p].ids.as_slice())
        .collect();
    let (tensors, sampler_logprobs) = collate(
        &row_prompts,
        &sampled.completions,
        &sampled.sampler_logprobs,
        pad,
        device,
    );
    let mut samples = Vec::with_capacity(sampled.completions.len());
    for (index, completion) in sampled.completions.iter().enumerate() {
        let p = prompts[sampled.prompt_index[index]];
        let text = tokenizer
            .decode(completion, true)
            .map_err(|e| RolloutError::Decode {
                index,
                message: e.to_string(),
            })?;
        samples.push(Sample {
            prompt: p.text.clone(),
            completion: text,
            prompt_ids: p.ids.clone(),
            completion_ids: completion.clone(),
            item: p.item.clone(),
            group: sampled.prompt_index[index],
            finished: sampled.finished[index],
        });
    }
    let input = RewardInput::with_tensors(&samples, &tensors);
    let scores = reward.score(&input)?;
    scores.validate(reward.name(), &input)?;
    Ok(Collected {
        samples,
        tensors,
        sampler_logprobs,
        scores,
    })
}

/// Per-token log-probs `[N, T − 1]` of `tensors` under `model` at `temperature`, in forward
/// passes of at most `chunk` rows (no graph: pass a `valid()` model).
pub fn logprobs_in_chunks(
    model: &dyn CausalLm,
    tensors: &SampleTensors,
    temperature: f32,
    chunk: usize,
) -> Tensor<2> {
    let [n, _] = tensors.ids.dims();
    let mut parts = Vec::with_capacity(n.div_ceil(chunk.max(1)));
    let mut start = 0;
    while start < n {
        let len = chunk.max(1).min(n - start);
        let ids = tensors.ids.clone().narrow(0, start, len);
        let mask = tensors.attention_mask.clone().narrow(0, start, len);
        parts.push(model.token_stats(ids, mask, temperature, false).logprobs);
        start += len;
    }
    Tensor::cat(parts, 0)
}
