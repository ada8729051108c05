//! Synthetic preference data and a tiny reward model for the integration tests.

#![allow(dead_code)]

use burn::tensor::Device;
use lm::{Transformer, TransformerConfig};
use pref_data::{
    BatchConfig, PaddingSide, PairBatches, RankedBatches, TokenizedPair, TokenizedRanked,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reward_model::ScalarRewardModel;

pub const VOCAB: usize = 24;
pub const PAD: u32 = 0;
pub const BOS: u32 = 1;
pub const EOS: u32 = 2;
/// A token that makes a completion good.
pub const GOOD: u32 = 21;
/// A token that makes a completion bad.
pub const BAD: u32 = 22;

pub fn device() -> Device {
    lm::select_device().unwrap()
}

fn filler(rng: &mut StdRng, n: usize) -> Vec<u32> {
    (0..n).map(|_| rng.random_range(3..20u32)).collect()
}

/// A completion of filler tokens with `marker` inserted somewhere, then EOS.
fn completion(rng: &mut StdRng, marker: u32) -> Vec<u32> {
    let n = rng.random_range(2..6);
    let mut c = filler(rng, n);
    let at = rng.random_range(0..=c.len());
    c.insert(at, marker);
    c.push(EOS);
    c
}

/// `n` pairs whose chosen completion holds [`GOOD`] and rejected one [`BAD`].
pub fn pairs(n: usize, seed: u64) -> Vec<TokenizedPair> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|group| {
            let mut prompt = vec![BOS];
            let n = rng.random_range(1..5);
            prompt.extend(filler(&mut rng, n));
            TokenizedPair {
                chosen: completion(&mut rng, GOOD),
                rejected: completion(&mut rng, BAD),
                prompt,
                p_chosen: 1.0,
                margin: None,
                weight: 1.0,
                group,
            }
        })
        .collect()
}

pub fn batch_config(batch_size: usize, seed: u64, padding_side: PaddingSide) -> BatchConfig {
    BatchConfig {
        batch_size,
        padding_side,
        seed,
        group_by_length: true,
    }
}

pub fn pair_batches(n: usize, seed: u64) -> PairBatches {
    PairBatches::new(
        pairs(n, seed),
        PAD,
        &batch_config(4, seed, PaddingSide::Right),
    )
    .unwrap()
}

/// `n` rankings of `k` completions, best first: completion `i` holds `k − 1 − i` [`GOOD`]
/// tokens.
pub fn rankings(n: usize, k: usize, seed: u64) -> RankedBatches {
    let mut rng = StdRng::seed_from_u64(seed);
    let rankings = (0..n)
        .map(|group| {
            let mut prompt = vec![BOS];
            let n = rng.random_range(1..4);
            prompt.extend(filler(&mut rng, n));
            let completions = (0..k)
                .map(|i| {
                    let n = rng.random_range(2..5);
                    let mut c = filler(&mut rng, n);
                    for _ in 0..(k - 1 - i) {
                        let at = rng.random_range(0..=c.len());
                        c.insert(at, GOOD);
                    }
                    c.push(EOS);
                    c
                })
                .collect();
            let implied = (0..k)
                .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
                .collect();
            TokenizedRanked {
                prompt,
                completions,
                implied,
                group,
            }
        })
        .collect();
    RankedBatches::new(rankings, PAD, &batch_config(4, seed, PaddingSide::Left)).unwrap()
}

pub fn tiny_config() -> TransformerConfig {
    TransformerConfig::llama(VOCAB, 32, 2, 4, 2, 64).with_max_seq_len(32)
}

/// A tiny reward model on the autodiff device.
pub fn tiny_rm(seed: u64) -> ScalarRewardModel<Transformer> {
    let ad = device().autodiff();
    ScalarRewardModel::new(
        Transformer::new(&tiny_config(), seed, &ad).unwrap(),
        seed,
        &ad,
    )
}
