//! The reference of a LoRA policy costs no second copy of the base weights:
//! `policy.valid().with_lora_enabled(false)` shares the frozen base's tensor storage, also
//! after optimizer steps (frozen parameters get no gradient, so AdamW leaves their tensors
//! as they are). Measured with the process's resident set (Linux), alone in its test binary
//! so that no other test allocates meanwhile.

mod common;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use common::*;
use lm::lora::{LoraConfig, LoraModel};
use lm::{CausalLm, Transformer, TransformerConfig};

fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

#[test]
fn reference_views_share_the_base_weights() {
    if rss_mib().is_none() {
        eprintln!("skipped: no /proc/self/status");
        return;
    }
    let dev = device().autodiff();
    // ≈ 200 MiB of f32 weights, mostly the untied 32 768 × 768 embedding and head.
    let config = TransformerConfig::llama(32_768, 768, 2, 4, 4, 1024)
        .with_max_seq_len(16)
        .with_tie_embeddings(false);
    let weights_mib = config.num_params() as f64 * 4.0 / (1 << 20) as f64;
    let policy = Transformer::new(&config, 0, &dev)
        .unwrap()
        .with_lora(&LoraConfig::new(4, 8.0).with_all_targets())
        .unwrap();
    let ids = ints(&[vec![1, 2, 3, 4]], &dev);
    let mask = ids.clone().ones_like();
    let mut optim = AdamWConfig::new().with_weight_decay(0.1).init();
    let mut policy = policy;
    for _ in 0..2 {
        let loss = -policy.token_logprobs(ids.clone(), mask.clone()).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &policy);
        policy = optim.step(1e-3, policy, grads);
    }
    let before = rss_mib().unwrap();
    let references: Vec<Transformer> = (0..4)
        .map(|_| policy.valid().with_lora_enabled(false))
        .collect();
    // Use them, so that nothing is lazily deferred.
    let plain = device();
    for r in &references {
        let _ = r
            .logits(ints(&[vec![1, 2]], &plain), ints(&[vec![1, 1]], &plain))
            .into_data();
    }
    let grown = rss_mib().unwrap() - before;
    assert!(
        grown < 0.25 * weights_mib,
        "4 reference views grew the resident set by {grown:.0} MiB (weights: {weights_mib:.0} MiB)"
    );
}
