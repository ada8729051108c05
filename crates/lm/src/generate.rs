//! Batched sampling from a [`CausalLm`] with a KV cache.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rlhf_core::ConfigError;
use rlhf_core::config::check_non_negative;
use serde::{Deserialize, Serialize};

use crate::causal_lm::CausalLm;
use crate::error::LmError;
use crate::fused_head::{Pick, next_tokens, next_tokens_available};
use crate::mask::positions_from_mask;
use crate::model::MASKED_SCORE;

/// How the next token is chosen from the logits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// Softmax temperature; `0` means greedy (argmax).
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None`: all).
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches `p`
    /// (nucleus sampling, Holtzman et al. 2020); `1.0` keeps all.
    pub top_p: f32,
}

impl SamplingConfig {
    /// Argmax decoding.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: None,
            top_p: 1.0,
        }
    }

    /// Plain sampling at `temperature`.
    pub fn sample(temperature: f32) -> Self {
        Self {
            temperature,
            top_k: None,
            top_p: 1.0,
        }
    }
}

/// Settings of one [`generate`] call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationConfig {
    /// Most tokens generated per sequence.
    pub max_new_tokens: usize,
    /// Token choice.
    pub sampling: SamplingConfig,
    /// A sequence stops after emitting any of these.
    pub eos_token_ids: Vec<u32>,
    /// Written after a sequence has stopped.
    pub pad_token_id: u32,
    /// Seed of the sampler: the same seed, model and prompts give the same tokens.
    pub seed: u64,
    /// Reuse keys and values of earlier positions (`false` re-runs the whole sequence at
    /// every step; kept for benchmarks and tests).
    pub use_cache: bool,
}

impl GenerationConfig {
    /// `max_new_tokens` greedy tokens with a KV cache and no EOS.
    pub fn new(max_new_tokens: usize) -> Self {
        Self {
            max_new_tokens,
            sampling: SamplingConfig::greedy(),
            eos_token_ids: vec![],
            pad_token_id: 0,
            seed: 0,
            use_cache: true,
        }
    }

    fn validate(&self) -> Result<(), LmError> {
        let s = &self.sampling;
        let within = |e: ConfigError| LmError::from(e.within("sampling"));
        check_non_negative("temperature", s.temperature).map_err(within)?;
        if !(s.top_p > 0.0 && s.top_p <= 1.0) {
            return Err(within(ConfigError::new(
                "top_p",
                "a value in (0, 1]",
                s.top_p,
            )));
        }
        if s.top_k == Some(0) {
            return Err(within(ConfigError::new(
                "top_k",
                "at least 1 (or unset)",
                0,
            )));
        }
        Ok(())
    }
}

/// What [`generate`] returns. `N` is the number of steps actually run (`≤ max_new_tokens`;
/// fewer when every sequence stopped early).
#[derive(Clone, Debug)]
pub struct Generation {
    /// Prompt and completion, `[B, P + N]` (prompt left-padded as given).
    pub sequences: Tensor<2, Int>,
    /// Padding mask of `sequences` (0 on prompt padding and after a sequence stopped).
    pub attention_mask: Tensor<2, Int>,
    /// Completion mask aligned with `sequences`: 1 on generated tokens up to and including
    /// the EOS, 0 elsewhere (prompt included). This is the `target_mask` of
    /// [`CausalLm::sequence_logprobs`].
    pub completion_mask: Tensor<2, Int>,
    /// Log-prob of each generated token under the tempered policy `softmax(logits / τ)`
    /// (`τ` the sampling temperature; the raw logits when greedy), `[B, N]`, 0 after a
    /// sequence stopped. Top-k and top-p are not applied, as TRL and verl define the
    /// policy's log-probs; they equal
    /// [`CausalLm::token_stats`] at the same temperature up to floating-point error.
    pub logprobs: Tensor<2>,
    /// Generated tokens per sequence, EOS included, padding excluded.
    pub completions: Vec<Vec<u32>>,
    /// Prompt width `P`.
    pub prompt_len: usize,
}

/// Samples up to `config.max_new_tokens` tokens after each left-padded prompt.
///
/// On a plain Flex device with a model that exposes its
/// [`output_projection`](CausalLm::output_projection), each step's logits and token are
/// computed on the host by [`crate::fused_head::next_tokens`] (one pass over the output
/// weights, no device-side softmax); elsewhere, and with top-p, on the device. Both draw the
/// same uniforms from the same seeded RNG.
///
/// `prompt_ids: [B, P]` and `prompt_mask: [B, P]` (1 = token) must be left-padded: each row's
/// last column is a real token. Run it on a `model.valid()` copy with tensors on a device
/// without autodiff. Sampling draws one uniform number per row and step from a seeded
/// `StdRng` on the host and inverts the CDF on the device, so results do not depend on the
/// backend's random number generator.
pub fn generate<M: CausalLm + ?Sized>(
    model: &M,
    prompt_ids: Tensor<2, Int>,
    prompt_mask: Tensor<2, Int>,
    config: &GenerationConfig,
) -> Result<Generation, LmError> {
    config.validate()?;
    let device = prompt_ids.device();
    let [b, p] = prompt_ids.dims();
    if prompt_mask.dims() != [b, p] {
        return Err(LmError::Input {
            what: "prompt_mask",
            expected: format!("shape [{b}, {p}] like prompt_ids"),
            got: format!("{:?}", prompt_mask.dims()),
        });
    }
    if b == 0 || p == 0 {
        return Err(LmError::Input {
            what: "prompt_ids",
            expected: "at least one prompt of at least one token".into(),
            got: format!("shape [{b}, {p}]"),
        });
    }
    let mask_host: Vec<i64> = to_i64(prompt_mask.clone().into_data());
    if (0..b).any(|r| mask_host[r * p + p - 1] == 0) {
        return Err(LmError::Input {
            what: "prompt_mask",
            expected: "left padding (last column 1 in every row)".into(),
            got: "a row ending in padding".into(),
        });
    }
    let total = p + config.max_new_tokens;
    if total > model.max_seq_len() {
        return Err(LmError::Input {
            what: "max_new_tokens",
            expected: format!("prompt + new tokens <= max_seq_len {}", model.max_seq_len()),
            got: format!("{p} + {}", config.max_new_tokens),
        });
    }

    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut seq = prompt_ids;
    let mut mask = prompt_mask.clone();
    let mut next_pos = prompt_mask.clone().sum_dim(1); // [B, 1]: position of the next token
    let mut cache = config.use_cache.then(|| model.new_cache(total));
    let mut last_hidden = {
        let h = match cache.as_mut() {
            Some(c) => model.hidden_cached(
                seq.clone(),
                mask.clone(),
                positions_from_mask(mask.clone()),
                c,
            ),
            None => model.hidden(seq.clone(), mask.clone()),
        };
        h.narrow(1, p - 1, 1)
    };

    let mut done = vec![false; b];
    let mut completions = vec![Vec::new(); b];
    let mut step_tokens: Vec<Tensor<2, Int>> = Vec::new();
    let mut step_logprobs: Vec<Tensor<2>> = Vec::new();
    let mut step_alive: Vec<Tensor<2, Int>> = Vec::new();
    // The host path (flex): logits of the last positions in one pass over the output weights
    // and sampling without a device-side softmax (see `fused_head::next_tokens`). Top-p keeps
    // the device path.
    let fast = model.output_projection().filter(|proj| {
        config.sampling.top_p >= 1.0 && next_tokens_available(last_hidden.dtype(), &device, proj)
    });
    let t = config.sampling.temperature;
    for step in 0..config.max_new_tokens {
        let alive: Vec<i64> = done.iter().map(|&d| i64::from(!d)).collect();
        let (chosen_host, lp) = match &fast {
            Some(proj) => {
                let pick = if t == 0.0 {
                    Pick::Greedy
                } else {
                    Pick::Sample {
                        temperature: t,
                        top_k: config.sampling.top_k,
                        uniforms: (0..b).map(|_| rng.random::<f32>()).collect(),
                    }
                };
                let hidden = last_hidden.reshape([b, model.d_model()]);
                let next =
                    next_tokens(hidden, proj, &pick).expect("checked by next_tokens_available");
                let lp: Vec<f32> = next
                    .logprobs
                    .iter()
                    .zip(&alive)
                    .map(|(lp, &a)| lp * a as f32)
                    .collect();
                let tokens = next.tokens.iter().map(|&x| x as i64).collect::<Vec<_>>();
                (
                    tokens,
                    Tensor::<2>::from_data(TensorData::new(lp, [b, 1]), &device),
                )
            }
            None => {
                let logits = model
                    .logits_from_hidden(last_hidden)
                    .reshape([b, model.vocab_size()]);
                let chosen = choose(logits.clone(), &config.sampling, &mut rng); // [B, 1]
                let chosen_host = to_i64(chosen.clone().into_data());
                let tempered = if t > 0.0 && t != 1.0 {
                    logits / t as f64
                } else {
                    logits
                };
                let alive_t =
                    Tensor::<2, Int>::from_data(TensorData::new(alive.clone(), [b, 1]), &device);
                let lp = log_softmax(tempered, 1).gather(1, chosen) * alive_t.float();
                (chosen_host, lp)
            }
        };
        let mut tokens = Vec::with_capacity(b);
        for r in 0..b {
            if done[r] {
                tokens.push(config.pad_token_id as i64);
                continue;
            }
            let tok = chosen_host[r] as u32;
            completions[r].push(tok);
            tokens.push(tok as i64);
            if config.eos_token_ids.contains(&tok) {
                done[r] = true;
            }
        }
        let alive_t = Tensor::<2, Int>::from_data(TensorData::new(alive, [b, 1]), &device);
        let token_t = Tensor::<2, Int>::from_data(TensorData::new(tokens, [b, 1]), &device);
        step_tokens.push(token_t.clone());
        step_logprobs.push(lp);
        step_alive.push(alive_t.clone());
        if done.iter().all(|&d| d) || step + 1 == config.max_new_tokens {
            break;
        }
        seq = Tensor::cat(vec![seq, token_t.clone()], 1);
        mask = Tensor::cat(vec![mask, alive_t.clone()], 1);
        last_hidden = match cache.as_mut() {
            Some(c) => model.hidden_cached(token_t, mask.clone(), next_pos.clone(), c),
            None => {
                let t = p + step + 1;
                model.hidden(seq.clone(), mask.clone()).narrow(1, t - 1, 1)
            }
        };
        next_pos = next_pos + alive_t;
    }

    let new_tokens = Tensor::cat(step_tokens, 1);
    let alive = Tensor::cat(step_alive, 1);
    Ok(Generation {
        sequences: Tensor::cat(vec![seq.narrow(1, 0, p), new_tokens], 1),
        attention_mask: Tensor::cat(vec![prompt_mask.clone(), alive.clone()], 1),
        completion_mask: Tensor::cat(vec![prompt_mask.zeros_like(), alive], 1),
        logprobs: Tensor::cat(step_logprobs, 1),
        completions,
        prompt_len: p,
    })
}

/// The next token of every row, `[B, V] → [B, 1]`.
fn choose(logits: Tensor<2>, s: &SamplingConfig, rng: &mut StdRng) -> Tensor<2, Int> {
    let [b, v] = logits.dims();
    if s.temperature == 0.0 {
        return logits.argmax(1);
    }
    let mut scaled = logits / s.temperature as f64;
    if let Some(k) = s.top_k.filter(|&k| k < v) {
        let kth = scaled.clone().topk(k, 1).narrow(1, k - 1, 1); // [B, 1]
        let drop = scaled.clone().lower(kth.expand([b, v]));
        scaled = scaled.mask_fill(drop, MASKED_SCORE);
    }
    if s.top_p < 1.0 {
        let sorted = scaled.clone().sort_descending(1);
        let probs = softmax(sorted.clone(), 1);
        let before = probs.clone().cumsum(1) - probs; // mass strictly before each token
        let kept = before.lower_elem(s.top_p).int().sum_dim(1); // ≥ 1
        let threshold = sorted.gather(1, kept.sub_scalar(1));
        let drop = scaled.clone().lower(threshold.expand([b, v]));
        scaled = scaled.mask_fill(drop, MASKED_SCORE);
    }
    let cdf = softmax(scaled, 1).cumsum(1);
    let total = cdf.clone().narrow(1, v - 1, 1);
    let u: Vec<f32> = (0..b).map(|_| rng.random::<f32>()).collect();
    let u = Tensor::<2>::from_data(TensorData::new(u, [b, 1]), &cdf.device()) * total;
    let below = cdf.lower_equal(u.expand([b, v])).int().sum_dim(1);
    below.clamp_max(v as i64 - 1)
}

fn to_i64(data: TensorData) -> Vec<i64> {
    data.try_into_vec_as::<i64>().unwrap_or_default()
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use crate::fused_head::OutputProjection;
    use burn::tensor::Device;

    fn randn(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
            .collect()
    }

    /// The host sampler (`fused_head::next_tokens`) picks the tokens the device path
    /// (`choose`) picks from the same uniforms, with the same log-probs, for greedy, plain
    /// and top-k sampling, tied and untied (biased) projections, batch 1 and 8.
    #[test]
    fn host_sampler_matches_the_device_path() {
        let dev = Device::flex();
        let (d, v) = (24, 301);
        for b in [1, 8] {
            let h = Tensor::<2>::from_data(TensorData::new(randn(b * d, 1, 1.0), [b, d]), &dev);
            let e = Tensor::<2>::from_data(TensorData::new(randn(v * d, 2, 1.5), [v, d]), &dev);
            let w = Tensor::<2>::from_data(TensorData::new(randn(v * d, 3, 1.5), [d, v]), &dev);
            let bias = Tensor::<1>::from_data(TensorData::new(randn(v, 4, 1.0), [v]), &dev);
            let projs = [
                OutputProjection::Tied(e),
                OutputProjection::Linear {
                    weight: w,
                    bias: Some(bias),
                },
            ];
            for proj in &projs {
                let logits = proj.logits(h.clone().reshape([b, 1, d])).reshape([b, v]);
                for (temperature, top_k) in [(0.0, None), (1.0, None), (0.7, None), (0.9, Some(5))]
                {
                    let s = SamplingConfig {
                        temperature,
                        top_k,
                        top_p: 1.0,
                    };
                    for seed in 0..20 {
                        let mut rng = StdRng::seed_from_u64(seed);
                        let want = to_i64(choose(logits.clone(), &s, &mut rng).into_data());
                        let mut rng = StdRng::seed_from_u64(seed);
                        let pick = if temperature == 0.0 {
                            Pick::Greedy
                        } else {
                            Pick::Sample {
                                temperature,
                                top_k,
                                uniforms: (0..b).map(|_| rng.random::<f32>()).collect(),
                            }
                        };
                        let got = next_tokens(h.clone(), proj, &pick).expect("flex");
                        let got_tokens: Vec<i64> = got.tokens.iter().map(|&x| x as i64).collect();
                        assert_eq!(got_tokens, want, "τ={temperature} top_k={top_k:?} b={b}");
                        let t = if temperature == 0.0 { 1.0 } else { temperature };
                        let lp: Vec<f32> = log_softmax(logits.clone() / t as f64, 1)
                            .gather(
                                1,
                                Tensor::<2, Int>::from_data(
                                    TensorData::new(want.clone(), [b, 1]),
                                    &dev,
                                ),
                            )
                            .try_into_vec_as::<f32>()
                            .unwrap();
                        for (a, w) in got.logprobs.iter().zip(&lp) {
                            assert!((a - w).abs() < 1e-5, "{a} vs {w}");
                        }
                    }
                }
            }
        }
    }
}
