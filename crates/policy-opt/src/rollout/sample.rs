//! The sampling half of a rollout: completions of every prompt from a no-grad copy of the
//! policy, collated into the padded tensors the scoring passes and the updates read.

use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::{CausalLm, GenerationConfig, SamplingConfig, generate};
use rlhf_core::SampleTensors;

use super::{RolloutConfig, RolloutError, RolloutPrompt};

/// Completions sampled for a list of prompts, on the host.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sampled {
    /// For each row, the index of its prompt in the list given to [`sample_completions`];
    /// rows of one prompt are consecutive (`samples_per_prompt` of them).
    pub prompt_index: Vec<usize>,
    /// For each row, the generated tokens, the stop token included when one was emitted.
    pub completions: Vec<Vec<u32>>,
    /// For each row, the sampler's log-prob of each generated token under the tempered policy.
    pub sampler_logprobs: Vec<Vec<f32>>,
    /// For each row, whether it ended with a stop token.
    pub finished: Vec<bool>,
}

/// Samples `config.samples_per_prompt` completions for each prompt with `policy` (a
/// `valid()` copy: no graph is recorded), `config.generation_batch_size` rows per call of
/// [`lm::generate()`] (KV cache, per-row stop tokens `stop`, padding `pad_id`). The sampler is
/// seeded with `seed` and the chunk number, so the same seed gives the same completions.
pub fn sample_completions(
    policy: &dyn CausalLm,
    prompts: &[&RolloutPrompt],
    config: &RolloutConfig,
    stop: &[u32],
    pad_id: u32,
    seed: u64,
    device: &Device,
) -> Result<Sampled, RolloutError> {
    let rows: Vec<usize> = (0..prompts.len())
        .flat_map(|p| std::iter::repeat_n(p, config.samples_per_prompt))
        .collect();
    let mut out = Sampled::default();
    for (chunk, idx) in rows.chunks(config.generation_batch_size).enumerate() {
        let ids: Vec<&[u32]> = idx.iter().map(|&p| prompts[p].ids.as_slice()).collect();
        let (ids_t, mask_t) = left_padded(&ids, pad_id, device);
        let gen_cfg = GenerationConfig {
            max_new_tokens: config.max_new_tokens,
            sampling: SamplingConfig {
                temperature: config.temperature,
                top_k: config.top_k,
                top_p: config.top_p,
            },
            eos_token_ids: stop.to_vec(),
            pad_token_id: pad_id,
            seed: seed ^ (chunk as u64).wrapping_mul(0xA076_1D64_78BD_642F),
            use_cache: true,
        };
        let g = generate(policy, ids_t, mask_t, &gen_cfg)?;
        let n = g.logprobs.dims()[1];
        let lps: Vec<f32> = g
            .logprobs
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| RolloutError::Device {
                what: "sampler log-probs",
                message: format!("{e:?}"),
            })?;
        for (r, completion) in g.completions.into_iter().enumerate() {
            let finished = completion.last().is_some_and(|t| stop.contains(t));
            out.sampler_logprobs
                .push(lps[r * n..r * n + completion.len()].to_vec());
            out.completions.push(completion);
            out.finished.push(finished);
            out.prompt_index.push(idx[r]);
        }
    }
    Ok(out)
}

/// `rows` left-padded with `pad` into `[B, max_len]` ids and mask.
pub fn left_padded(rows: &[&[u32]], pad: u32, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(rows.len() * width);
    let mut mask = Vec::with_capacity(rows.len() * width);
    for r in rows {
        let padding = width - r.len();
        ids.extend(std::iter::repeat_n(pad as i64, padding));
        mask.extend(std::iter::repeat_n(0i64, padding));
        ids.extend(r.iter().map(|&t| t as i64));
        mask.extend(std::iter::repeat_n(1i64, r.len()));
    }
    let shape = [rows.len(), width];
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}

/// The rows `prompt ++ completion` of every sample in one `[N, P + C]` layout: prompts
/// left-padded to the longest prompt `P`, completions right-padded to the longest completion
/// `C`, so every completion starts at column `P` — with the sampler's log-probs placed on the
/// next-token grid `[N, P + C − 1]` (completion token `j` at column `P + j − 1`).
pub fn collate(
    prompts: &[&[u32]],
    completions: &[Vec<u32>],
    sampler_logprobs: &[Vec<f32>],
    pad: u32,
    device: &Device,
) -> (SampleTensors, Tensor<2>) {
    let n = prompts.len();
    let p = prompts.iter().map(|r| r.len()).max().unwrap_or(1).max(1);
    let c = completions.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let w = p + c;
    let mut ids = vec![pad as i64; n * w];
    let mut attn = vec![0i64; n * w];
    let mut comp = vec![0i64; n * w];
    let mut lps = vec![0f32; n * (w - 1)];
    for r in 0..n {
        let pr = prompts[r];
        for (j, &t) in pr.iter().enumerate() {
            let at = r * w + p - pr.len() + j;
            ids[at] = t as i64;
            attn[at] = 1;
        }
        for (j, &t) in completions[r].iter().enumerate() {
            let at = r * w + p + j;
            ids[at] = t as i64;
            attn[at] = 1;
            comp[at] = 1;
            if let Some(&lp) = sampler_logprobs.get(r).and_then(|l| l.get(j)) {
                lps[r * (w - 1) + p + j - 1] = lp;
            }
        }
    }
    let t = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [n, w]), device);
    (
        SampleTensors {
            ids: t(ids),
            attention_mask: t(attn),
            completion_mask: t(comp),
        },
        Tensor::from_data(TensorData::new(lps, [n, w - 1]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collate_aligns_completions_and_logprobs() {
        let d = Device::flex();
        let prompts: Vec<&[u32]> = vec![&[5, 6], &[7]];
        let completions = vec![vec![8], vec![9, 2]];
        let lps = vec![vec![-0.5], vec![-0.25, -1.0]];
        let (t, grid) = collate(&prompts, &completions, &lps, 0, &d);
        let ids: Vec<i64> = t.ids.try_into_vec_as().unwrap();
        assert_eq!(ids, vec![5, 6, 8, 0, 0, 7, 9, 2]);
        let attn: Vec<i64> = t.attention_mask.try_into_vec_as().unwrap();
        assert_eq!(attn, vec![1, 1, 1, 0, 0, 1, 1, 1]);
        let comp: Vec<i64> = t.completion_mask.try_into_vec_as().unwrap();
        assert_eq!(comp, vec![0, 0, 1, 0, 0, 0, 1, 1]);
        let g: Vec<f32> = grid.try_into_vec_as().unwrap();
        assert_eq!(g, vec![0.0, -0.5, 0.0, 0.0, -0.25, -1.0]);
    }

    #[test]
    fn left_padding() {
        let d = Device::flex();
        let (ids, mask) = left_padded(&[&[1, 2, 3], &[4]], 0, &d);
        assert_eq!(
            ids.try_into_vec_as::<i64>().unwrap(),
            vec![1, 2, 3, 0, 0, 4]
        );
        assert_eq!(
            mask.try_into_vec_as::<i64>().unwrap(),
            vec![1, 1, 1, 0, 0, 1]
        );
    }
}
