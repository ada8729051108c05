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
