//! `Gemma3` is an ordinary burn module: its no-grad `valid()` copy computes the same logits,
//! it round-trips through a safetensors store, and AdamW steps on `sequence_logprobs` train it.

mod common;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use common::*;
use lm::{CausalLm, Gemma3, Gemma3Config};

fn config() -> Gemma3Config {
    Gemma3Config::new(53, 32, 6, 4, 1, 16, 48)
        .with_sliding_window(3)
        .with_max_seq_len(64)
}

fn batch() -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    left_pad(&[vec![2, 9, 14, 3, 27, 5, 8, 30], vec![2, 40, 6, 7, 11]], 0)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn valid_copy_and_store_round_trip_keep_the_logits() {
    let dev = device();
    let (ids, mask) = batch();
    let m = Gemma3::new(&config(), 1, &dev.clone().autodiff()).unwrap();
    let want = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));

    let v = m.valid();
    let got = floats(v.logits(ints(&ids, &dev), ints(&mask, &dev)));
    assert!(max_diff(&got, &want) < 1e-6);

    let mut store = SafetensorsStore::from_bytes(None);
    m.save_into(&mut store).unwrap();
    let mut other = Gemma3::new(&config(), 2, &dev).unwrap();
    assert!(
        max_diff(
            &floats(other.logits(ints(&ids, &dev), ints(&mask, &dev))),
            &want
        ) > 1e-3
    );
    let mut store = SafetensorsStore::from_bytes(Some(store.get_bytes().unwrap()));
    let result = other.load_from(&mut store).unwrap();
    assert!(result.missing.is_empty() && result.unused.is_empty() && result.errors.is_empty());
    let got = floats(other.logits(ints(&ids, &dev), ints(&mask, &dev)));
    assert!(max_diff(&got, &want) < 1e-6);
}

#[test]
fn adamw_steps_raise_the_log_likelihood() {
    let dev = device().autodiff();
    let (ids, mask) = batch();
    let mut model = Gemma3::new(&config(), 3, &dev).unwrap();
    let mut optim: ModuleOptimizer = AdamWConfig::new().with_weight_decay(0.0).init();
    let nll = |m: &Gemma3| {
        let lp = m.sequence_logprobs(ints(&ids, &dev), ints(&mask, &dev), ints(&mask, &dev));
        -lp.mean().mean()
    };
    let before: f32 = nll(&model).into_scalar();
    for _ in 0..10 {
        let loss = nll(&model);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let after: f32 = nll(&model).into_scalar();
    assert!(after < before - 0.5, "NLL {before} -> {after}");
}

/// An embedding held in row blocks (as on wgpu, whose buffers are capped at 128 MiB) gives
/// the same log-probs, gradients, greedy continuation and training step as the whole table,
/// and its folder loads into either layout.
#[test]
fn blocked_embedding_equals_the_whole_table() {
    let dev = device().autodiff();
    let (ids, mask) = batch();
    let whole = Gemma3::new(&config(), 4, &dev).unwrap();
    let blocked = whole.clone().with_embedding_block_rows(10);
    assert_eq!(blocked.embed.row_blocks.len(), 5, "53 rows in blocks of 10");
    assert!(blocked.output_projection().is_none() && whole.output_projection().is_some());

    let grads_of = |m: &Gemma3| {
        let lp = m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev));
        let values = floats(lp.clone());
        let grads = (lp * ints(&mask, &dev).slice([0..2, 1..8]).float())
            .sum()
            .backward();
        let g: Vec<f32> = m
            .embed
            .blocks()
            .into_iter()
            .flat_map(|b| floats(b.grad(&grads).unwrap()))
            .collect();
        let q = floats(m.blocks[0].attn.q.weight.val().grad(&grads).unwrap());
        (values, g, q)
    };
    let (a, b) = (grads_of(&whole), grads_of(&blocked));
    assert!(max_diff(&a.0, &b.0) < 1e-5, "log-probs");
    assert!(max_diff(&a.1, &b.1) < 1e-5, "embedding gradient");
    assert!(max_diff(&a.2, &b.2) < 1e-5, "q gradient");

    let greedy = |m: &Gemma3| {
        let cfg = lm::GenerationConfig::new(6);
        let out = lm::generate(
            &m.valid(),
            ints(&ids, &device()),
            ints(&mask, &device()),
            &cfg,
        );
        out.unwrap().completions
    };
    assert_eq!(greedy(&whole), greedy(&blocked));

    let dir = tempfile::tempdir().unwrap();
    let lm_blocked = lm::LanguageModel::Gemma3(blocked.valid());
    lm::checkpoint::save_language_model(&lm_blocked, dir.path()).unwrap();
    let loaded = lm::checkpoint::load_language_model(dir.path(), &device()).unwrap();
    let lm::LanguageModel::Gemma3(loaded) = loaded else {
        panic!("family")
    };
    let want = floats(
        whole
            .valid()
            .logits(ints(&ids, &device()), ints(&mask, &device())),
    );
    let got = floats(loaded.logits(ints(&ids, &device()), ints(&mask, &device())));
    assert!(max_diff(&got, &want) < 1e-6, "blocked folder loads whole");
    // And the whole table's folder fills a blocked model.
    let other = dir.path().join("whole");
    lm::checkpoint::save_language_model(&lm::LanguageModel::Gemma3(whole.valid()), &other).unwrap();
    let weights = other.join(lm::checkpoint::WEIGHTS_FILE);
    let target = Gemma3::new(&config(), 9, &device())
        .unwrap()
        .with_embedding_block_rows(7);
    let refilled = lm::checkpoint::load_module_file(target, &weights).unwrap();
    assert_eq!(refilled.embed.row_blocks.len(), 7);
    let got = floats(refilled.logits(ints(&ids, &device()), ints(&mask, &device())));
    assert!(max_diff(&got, &want) < 1e-6, "whole folder loads blocked");
}
